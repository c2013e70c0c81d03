/* batch.h - --lock queue: the orders a leader took from the queue
 * (shm/queue.h), placed in one transaction.
 *
 * One attempt: the Idempotency-Keys claimed (new rows), the balance payers'
 * account rows locked in ascending id with their open orders counted, every
 * product row of the batch locked in ascending id by one SELECT ... FOR
 * UPDATE; then batch_grant() decides, in arrival order, which orders the
 * stock covers (each whole or not at all); each product is UPDATEd once by
 * the batch's total, the goods' sales once each, the granted orders and
 * their lines go in by one multi-row INSERT each, and each key stores its
 * order's answer (a refused order's key is given back). A deadlock or a
 * lost connection retries the whole batch; an order that cannot be had
 * (no such product, short stock, too many open orders) fails alone. */
#ifndef ORDERD_BATCH_H
#define ORDERD_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/conf.h"
#include "domain/orders.h"
#include "shm/queue.h"
#include "store/db.h"

/* The answer an order's Idempotency-Key stores, as its waiter will answer
 * it (api/queue.c). 0 with *status, location (size bytes) and *body (from
 * the arena); -1 when it cannot be rendered. */
typedef int (*batch_answer_fn)(const struct qorder *in, const struct order *o,
    struct arena *a, int *status, char *location, size_t size, const char **body,
    size_t *body_len);

/* Places the orders of s[0..n) (oldest first) and writes every slot's
 * ->out: QO_PLACED (order id, totals; the lines' prices set), QO_REFUSED
 * (p), QO_KEY_TAKEN, or - for the batch as a whole - QO_FAILED (p: 503,
 * 500; nothing was done) or QO_SETTLE (the COMMIT went out unanswered: each
 * placed order's id and the connection are kept for its waiter to look). */
void	batch_place(struct db *, const struct conf *, struct arena *, struct qslot **s,
	    size_t n, batch_answer_fn answer);

/* The order of a placed slot (QO_PLACED, or QO_SETTLE found there), as
 * its answer shows it: lines (QUEUE_LINES_MAX at the most) hold its lines. */
void	batch_order_of(const struct qslot *s, struct line *lines, struct order *o);

/* A product of a batch, as its locked row says. */
struct batch_product {
	int64_t id;
	int found;		/* locked by this batch */
	int busy;		/* there, but locked by another transaction */
	int64_t price;
	int64_t goods;
	int64_t stock;		/* at the lock */
	int64_t left;		/* after the orders granted so far */
};

/* A balance payer of a batch. */
struct batch_user {
	int64_t id;
	int limited;		/* not an administrator */
	int64_t open;		/* placed balance orders, with those granted so far */
	struct problem p;	/* its account could not be had (p.kind set) */
};

/* How long an order waits, batch after batch, for a product another
 * transaction holds locked before it is refused (503, nothing done): the
 * bound of the pool's gate on a stuck row. */
#define BATCH_BUSY_MS	250

/* Decides, oldest first, every order of s[0..n) whose ->out.outcome is
 * still QO_NONE: QO_BUSY when a product of it is busy (locked elsewhere;
 * for BATCH_BUSY_MS since now_ms first saw it so, then refused 503);
 * granted when every line's product exists and has the
 * quantity left (and a limited balance payer has fewer than max_open open
 * orders), else refused naming the first line, by product id, that fails.
 * pr (sorted by id) and u (sorted by id) hold what the locks saw; grants
 * take from pr[].left and add to u[].open. Sets the lines' prices and
 * goods and the totals (freight per order). Pure: no database. */
void	batch_grant(struct qslot **s, size_t n, struct batch_product *pr, size_t np,
	    struct batch_user *u, size_t nu, long max_open, int64_t freight, int64_t now_ms);

#endif
