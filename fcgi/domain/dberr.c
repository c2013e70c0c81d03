#include "config.h"

#include <string.h>

#include "domain/dberr.h"
#include "base/log.h"

enum problem_kind
db_problem_kind(enum db_rc rc, enum db_stage stage)
{
	switch (rc) {
	case DB_OK:
	case DB_ABORT:
		return PROB_NONE;
	case DB_LOST:
		/* Only a COMMIT that went out unanswered may have happened; a
		 * connection lost before it rolls the transaction back. */
		return stage == DB_STAGE_COMMIT ? PROB_OUTCOME_UNKNOWN : PROB_UNAVAILABLE;
	case DB_RETRY:
		/* The server answered with an error: the transaction is rolled
		 * back, also when the answer was to COMMIT. */
		return PROB_UNAVAILABLE;
	case DB_ERR:
	default:
		return PROB_INTERNAL;
	}
}

void
db_problem(struct db *db, enum db_rc rc, struct problem *p)
{
	/* Not at COMMIT (db_txn() answers that itself): nothing was done. */
	enum problem_kind k = db_problem_kind(rc, DB_STAGE_OUTSIDE);

	if (k == PROB_NONE)
		k = PROB_INTERNAL;
	switch (rc) {
	case DB_LOST:
		if (db->last_errno == DB_ER_SUSPECT) {
			/* Refused without asking: the connection is as it was. */
			log_debug("database suspect: refused without asking");
			problem_set(p, k, "the database is not answering; nothing was done; "
			    "try again shortly");
			break;
		}
		log_warn("database unreachable: %u %s", db->last_errno, db->last_error);
		db_close(db);
		problem_set(p, k, db->timed_out ?
		    "the database is not answering; nothing was done; try again shortly" :
		    "the database is not reachable; nothing was done; try again shortly");
		break;
	case DB_RETRY:
		log_warn("database busy: %u %s", db->last_errno, db->last_error);
		problem_set(p, k, "the database is busy; nothing was done; try again shortly");
		break;
	default:
		if (db_input_error(db)) {
			/* Validation should have stopped the value: say so in the
			 * log, but it is the client's value, not a server fault. */
			log_warn("database refused a value: %u %s", db->last_errno,
			    db->last_error);
			problem_set(p, PROB_FIELD, "a value in the request cannot be stored "
			    "or compared");
			break;
		}
		log_error("database error: %u %s", db->last_errno, db->last_error);
		problem_set(p, k, "a database operation failed");
		break;
	}
}

int
db_done(struct db *db, enum db_rc rc, struct problem *p)
{
	if (rc == DB_OK)
		return 0;
	if (rc != DB_ABORT)
		db_problem(db, rc, p);
	return -1;
}

/* Every attempt starts with a clean problem, then the caller's first hook. */
static enum db_rc
first_hook(struct db *db, void *arg, struct problem *p)
{
	const struct db_hooks *h = arg;

	memset(p, 0, sizeof(*p));
	return h->first != NULL ? h->first(db, h->arg, p) : DB_OK;
}

static enum db_rc
last_hook(struct db *db, void *arg, struct problem *p)
{
	const struct db_hooks *h = arg;

	return h->last != NULL ? h->last(db, h->arg, p) : DB_OK;
}

int
db_txn_hooked(struct db *db, db_txn_fn fn, void *ctx, const struct db_hooks *h,
    struct problem *p)
{
	struct db_hooks inner = { NULL, NULL, NULL }, outer = { first_hook, last_hook, &inner };
	enum db_stage stage;
	enum db_rc rc;

	if (h != NULL)
		inner = *h;
	if ((rc = db_txn_run(db, fn, ctx, &outer, p, &stage)) == DB_OK)
		return 0;
	if (rc == DB_ABORT)
		return -1;
	if (stage == DB_STAGE_COMMIT) {
		/* Rule 6: the COMMIT may or may not have happened; never say
		 * "nothing was done". The caller adds what was acted on. */
		problem_set(p, db_problem_kind(rc, stage),
		    "the database connection was lost while committing: this "
		    "request may or may not have been carried out; read what it "
		    "acted on, or repeat it with the same Idempotency-Key");
		return -1;
	}
	db_problem(db, rc, p);
	return -1;
}

int
db_txn(struct db *db, db_txn_fn fn, void *ctx, struct problem *p)
{
	return db_txn_hooked(db, fn, ctx, NULL, p);
}

enum db_rc
db_page(struct db *db, enum stmt id, const struct db_val *params, unsigned n,
    struct db_col *cols, unsigned ncols, struct arena *a, struct db_page *pg,
    struct problem *p)
{
	enum db_rc rc = db_page_read(db, id, params, n, cols, ncols, a, pg);

	if (rc == DB_ABORT && pg->rows == NULL)
		problem_set(p, PROB_INTERNAL, "out of memory");
	return rc;
}
