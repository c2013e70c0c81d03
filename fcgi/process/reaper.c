#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#include "base/arena.h"
#include "store/db.h"
#include "base/log.h"
#include "domain/orders.h"
#include "process/reaper.h"

#define REAPER_BATCH	100		/* due orders selected at once */
#define REAPER_ARENA	(1u << 20)	/* lines of one order, read to give them back */

int
child_stop_pending(void)
{
	sigset_t pending;

	return sigpending(&pending) == 0 &&
	    (sigismember(&pending, SIGTERM) || sigismember(&pending, SIGINT));
}

int
child_begin(const char *name, pid_t master, sigset_t *stopset)
{
	/* SIGTERM/SIGINT stay blocked: they are taken between transactions
	 * (sigtimedwait, sigpending), never in the middle of one. */
	sigemptyset(stopset);
	sigaddset(stopset, SIGTERM);
	sigaddset(stopset, SIGINT);
	sigprocmask(SIG_BLOCK, stopset, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	prctl(PR_SET_NAME, name);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != master)
		return 0;
	if (mysql_library_init(0, NULL, NULL) != 0) {
		log_error("%s: mysql_library_init failed", name);
		return -1;
	}
	return 1;
}

/* Selects up to REAPER_BATCH due orders into ids. Returns the count, or -1
 * (the connection is closed when lost; the next round reconnects). */
static int
due_orders(struct db *db, int64_t now, int64_t *ids)
{
	int64_t id;
	struct db_val in[] = { DBV_I64(now - (int64_t)db->conf->hold), DBV_I64(REAPER_BATCH) };
	struct db_col c[] = { DBC_I64(&id) };
	enum db_rc rc;
	int n = 0, r;

	if ((rc = db_query(db, ST_ORDER_DUE, in, 2, c, 1)) != DB_OK) {
		if (rc == DB_LOST)
			db_close(db);
		return -1;
	}
	while ((r = db_fetch(db, ST_ORDER_DUE)) == 1)
		if (n < REAPER_BATCH)
			ids[n++] = id;
	db_end(db, ST_ORDER_DUE);
	if (r < 0) {
		if (db_failure(db) == DB_LOST)
			db_close(db);
		return -1;
	}
	return n;
}

/* One round: expires every due order (several batches when many are due).
 * Returns how many it expired, or -1 when the database could not be read. */
static long
round_once(struct db *db, struct arena *a)
{
	int64_t ids[REAPER_BATCH];
	long expired = 0;
	int n, i;

	do {
		long before = expired;

		if ((n = due_orders(db, (int64_t)time(NULL), ids)) < 0)
			return expired > 0 ? expired : -1;
		for (i = 0; i < n && !child_stop_pending(); i++) {
			struct order o;
			struct problem p;

			/* A pay, a cancel or another reaper may have come
			 * first: that is a 409 here, and nothing changes. */
			if (order_expire(db, a, ids[i], &o, &p) == 0) {
				expired++;
				log_debug("order %lld expired (not paid within %lld s)",
				    (long long)ids[i], (long long)db->conf->hold);
			} else if (p.kind != PROB_ORDER_STATE && p.kind != PROB_NOT_FOUND) {
				log_warn("could not expire order %lld: %s", (long long)ids[i],
				    p.detail);
				arena_reset(a);
				return expired > 0 ? expired : -1;
			}
			arena_reset(a);
		}
		/* A full batch of which none could be expired (they all
		 * changed meanwhile) ends the round: never spin on it. */
		if (expired == before)
			break;
	} while (n == REAPER_BATCH && !child_stop_pending());
	return expired;
}

int
reaper_run(const struct conf *c, pid_t master)
{
	struct timespec tick = { 1, 0 };
	sigset_t stopset;
	struct arena arena;
	struct db db;
	int down = 0, r;

	if ((r = child_begin(REAPER_NAME, master, &stopset)) <= 0)
		return r < 0;
	order_hold_set(c->hold);
	arena_init(&arena, REAPER_ARENA);
	db_init(&db, c);
	log_info("reaper: expiring balance orders not paid within %lld s", (long long)c->hold);
	while (getppid() == master && !child_stop_pending()) {
		long n = round_once(&db, &arena);

		if (n < 0 && !down) {
			log_warn("reaper: database not reachable (%u %s); trying every second",
			    db.last_errno, db.last_error);
			down = 1;
		} else if (n >= 0) {
			if (down)
				log_info("reaper: database reachable again");
			down = 0;
			if (n > 0)
				log_info("reaper: %ld order%s expired", n, n == 1 ? "" : "s");
		}
		if (sigtimedwait(&stopset, NULL, &tick) > 0)
			break;
	}
	db_close(&db);
	arena_free(&arena);
	mysql_library_end();
	return 0;
}
