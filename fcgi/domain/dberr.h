/* dberr.h - what a database failure means to the client: the one place
 * that maps a db_rc and the stage it happened at to a problem (status,
 * type, wording), and the store's transactions and list pages as the
 * domain modules and the API call them (returning problems). */
#ifndef ORDERD_DBERR_H
#define ORDERD_DBERR_H

#include "base/arena.h"
#include "base/problem.h"
#include "store/db.h"

/* The problem a failure at a stage maps to (pure): PROB_NONE for DB_OK and
 * DB_ABORT (the body set its own), /problems/outcome-unknown for a
 * connection lost (or timed out) at COMMIT, /problems/unavailable for a
 * connection lost anywhere else and for a busy database (nothing was done),
 * /problems/internal for any other error. */
enum problem_kind db_problem_kind(enum db_rc, enum db_stage);

/* Maps a failed call outside COMMIT to a problem (503, 500, or 422 for a
 * value the server refused) and logs it; a lost connection is closed. */
void	db_problem(struct db *, enum db_rc, struct problem *p);

/* The end of a read: 0 for DB_OK; else -1, with p mapped by db_problem()
 * unless rc is DB_ABORT (p already says why). */
int	db_done(struct db *, enum db_rc rc, struct problem *p);

/* db_txn_run() with hooks h (NULL = none), p cleared before each attempt.
 * Returns 0 when committed; -1 with p set otherwise: fn's problem on
 * DB_ABORT, 503 /problems/unavailable when the server is unreachable or
 * busy past the retry budget (nothing was done), 503
 * /problems/outcome-unknown when the connection was lost after COMMIT was
 * sent, 500 on any other error. */
int	db_txn_hooked(struct db *, db_txn_fn fn, void *ctx, const struct db_hooks *h,
	    struct problem *p);
int	db_txn(struct db *, db_txn_fn fn, void *ctx, struct problem *p);

/* db_page_read(), with p = 500 "out of memory" when the arena is spent
 * (DB_ABORT). */
enum db_rc db_page(struct db *, enum stmt, const struct db_val *params, unsigned n,
	    struct db_col *cols, unsigned ncols, struct arena *, struct db_page *,
	    struct problem *p);

#endif
