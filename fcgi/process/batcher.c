/* batcher.c - the batcher of --lock queue (batcher.h). */
#include "config.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#include "api/api.h"
#include "base/arena.h"
#include "base/log.h"
#include "domain/orders.h"
#include "process/batcher.h"
#include "process/reaper.h"
#include "shm/queue.h"
#include "shm/shared.h"
#include "store/db.h"

#define BATCHER_ARENA	(8u << 20)	/* a batch: its statements' arguments, its answers */
#define BATCHER_WAIT_MS	100		/* between looks at the master and the signals */
#define BATCHER_DRAIN_MS 500		/* stopping: the queue empty this long, it ends */

int
batcher_run(const struct conf *c, pid_t master)
{
	sigset_t stopset;
	struct api_ctx ctx;
	struct arena arena;
	struct db db;
	int64_t idle_since = 0;
	int stopping = 0, r;

	if ((r = child_begin(BATCHER_NAME, master, &stopset)) <= 0)
		return r < 0;
	order_hold_set(c->hold);
	arena_init(&arena, BATCHER_ARENA);
	db_init(&db, c);
	ctx.db = &db;
	ctx.conf = c;
	ctx.arena = &arena;
	queue_lead();
	log_info("batcher: placing queued orders in batches of up to %d", QUEUE_BATCH_MAX);
	while (getppid() == master) {
		if (!stopping && child_stop_pending())
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
