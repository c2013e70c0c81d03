/* orders.h - orders: create (take stock), abort (give it back, once), read.
 *
 * Each write is one transaction through db_txn(); stock moves only through
 * inv_take()/inv_give(). */
#ifndef ORDERD_ORDERS_H
#define ORDERD_ORDERS_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/conf.h"
#include "store/db.h"
#include "domain/inventory.h"
#include "base/problem.h"

#define ORDER_LINES_MAX		100	/* distinct products in one order */
#define ORDER_QUANTITY_MAX	10000	/* units of one product in one order */

/* The states of an order (the orders.status column). order_status_name()
 * gives the wire name ("placed", ...) the database and the API use. */
enum order_status {
	ORDER_PLACED,
	ORDER_PAID,
	ORDER_SHIPPED,
	ORDER_ABORTED,
	ORDER_EXPIRED
};

struct order {
	int64_t id;
	int64_t user;		/* 0 = none */
	enum order_status status;
	char pay_method[16];	/* balance | cod */
	int64_t total_count;
	int64_t freight;
	int64_t total_amount;
	int64_t created_at;	/* Unix seconds, UTC */
	struct line *lines;	/* sorted by product; in the request's arena */
	size_t nlines;
};

/* Places an order for lines (any order, repeats allowed) with pay_method.
 * Returns 0 and fills o (lines from a); -1 with p set: 404 no such
 * product, 409 out of stock (nothing changed), 422 too many lines or a
 * merged quantity too large, 503, 500. */
int	order_create(struct db *, const struct conf *, struct arena *a, struct line *lines,
	    size_t n, const char *pay_method, int64_t user, const struct db_hooks *h,
	    struct order *o, struct problem *p);

/* Sorts and merges lines (repeats of a product added up) as an order
 * holds them: the count of distinct products, or -1 with a 422 (a merged
 * quantity too large, none or more than ORDER_LINES_MAX products). */
long	order_lines_merge(struct line *lines, size_t n, struct problem *p);

/* owner: the caller's user id, or 0 for an administrator who may act on
 * any order. An order of someone else answers 404: existence is not leaked. */

/* Aborts order id: locks the order row, checks its state, gives back the
 * stock of every line and, when it was paid, refunds the owner - all once.
 * product: 0, or a product the client names (the original client sends the
 * one it ordered); it must be one of the locked order's lines, else 422
 * (field "product") and nothing changes. Returns 0 and fills o; -1 with p:
 * 404, 422, 409 /problems/order-state (already aborted, or shipped). */
int	order_abort(struct db *, struct arena *a, int64_t id, int64_t owner, int64_t product,
	    const struct db_hooks *h, struct order *o, struct problem *p);

/* Pays a placed balance order from its owner's balance. owner is the
 * caller's id, never 0: nobody else pays it, an administrator included
 * (owner 0 is refused with a 404). 0, or -1 with p: 404, 409
 * /problems/order-state (not placed, or cash on delivery, or its payment
 * window has ended: then it is expired on the spot), 409
 * /problems/insufficient-funds. */
int	order_pay(struct db *, struct arena *a, int64_t id, int64_t owner,
	    const struct db_hooks *h, struct order *o, struct problem *p);

/* The payment window: --hold seconds (set once per process). A placed
 * balance order's deadline is created_at + hold; order_pay_by() gives it
 * (Unix seconds), or 0 for any other order. */
void	order_hold_set(int64_t seconds);
int64_t	order_pay_by(const struct order *);

/* Expires order id (the pool's reaper, or a pay that came too late): locks
 * the order row, checks it is still placed, a balance order and past its
 * deadline, gives back its stock and marks it expired - the path of a
 * cancel. 0 (o filled), or -1 with p: 404, 409 /problems/order-state (no
 * longer placed, or not due: nothing changed), 503, 500. */
int	order_expire(struct db *, struct arena *a, int64_t id, struct order *o,
	    struct problem *p);

/* Ships a paid order, or a placed cash-on-delivery one. 0, or -1 with p:
 * 404, 409 /problems/order-state. */
int	order_ship(struct db *, struct arena *a, int64_t id, const struct db_hooks *h,
	    struct order *o, struct problem *p);

/* Reads one order with its lines. 0, or -1 with p (404, 503, 500). */
int	order_get(struct db *, struct arena *a, int64_t id, int64_t owner, struct order *o,
	    struct problem *p);

/* Reads up to limit orders of owner (0 = everyone's) with id < before,
 * newest first, with lines, into pg (rows: struct order, from a). 0, or -1
 * with p. */
int	order_list(struct db *, struct arena *a, int64_t owner, int64_t before, long limit,
	    struct db_page *pg, struct problem *p);

/* The wire name of s ("placed", "paid", "shipped", "aborted", "expired"). */
const char *order_status_name(enum order_status s);

/* The state named name: 0 and *s set, or -1 for a name that is none. */
int	order_status_parse(const char *name, enum order_status *s);

#endif
