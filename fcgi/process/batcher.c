/* batcher.c - the batcher of --lock queue (batcher.h). */
#include "config.h"

#include <signal.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#include "api/api.h"
#include "base/arena.h"
#include "base/log.h"
#include "domain/orders.h"
#include "process/batcher.h"
#include "shm/queue.h"
#include "shm/shared.h"
#include "store/db.h"

#define BATCHER_ARENA	(8u << 20)	/* a batch: its statements' arguments, its answers */
#define BATCHER_WAIT_MS	100		/* between looks at the master and the signals */
#define BATCHER_DRAIN_MS 500		/* stopping: the queue empty this long, it ends */

/* A stop signal (blocked; taken between batches) is pending. */
static int
stop_pending(void)
{
	sigset_t pending;

	return sigpending(&pending) == 0 &&
	    (sigismember(&pending, SIGTERM) || sigismember(&pending, SIGINT));
}

int
batcher_run(const struct conf *c, pid_t master)
{
	sigset_t stopset;
	struct api_ctx ctx;
	struct arena arena;
	struct db db;
	int64_t idle_since = 0;
	int stopping = 0;

	sigemptyset(&stopset);
	sigaddset(&stopset, SIGTERM);
	sigaddset(&stopset, SIGINT);
	sigprocmask(SIG_BLOCK, &stopset, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	prctl(PR_SET_NAME, BATCHER_NAME);
	if (getppid() != master)
		return 0;
	if (mysql_library_init(0, NULL, NULL) != 0) {
		log_error("batcher: mysql_library_init failed");
		return 1;
	}
	order_hold_set(c->hold);
	arena_init(&arena, BATCHER_ARENA);
	db_init(&db, c);
	ctx.db = &db;
	ctx.conf = c;
	ctx.arena = &arena;
	queue_lead();
	log_info("batcher: placing queued orders in batches of up to %d", QUEUE_BATCH_MAX);
	while (getppid() == master) {
		if (!stopping && stop_pending())
			stopping = 1;
		if (queue_serve(&ctx, BATCHER_WAIT_MS) > 0) {
			idle_since = 0;
			continue;
		}
		if (!stopping)
			continue;
		/* Stopping: the workers finish the requests in hand, and
		 * those may still queue orders; end once none came for a
		 * while (the master's grace bounds it). */
		if (idle_since == 0)
			idle_since = mono_ms();
		else if (mono_ms() - idle_since >= BATCHER_DRAIN_MS)
			break;
	}
	db_close(&db);
	arena_free(&arena);
	mysql_library_end();
	return 0;
}
