/* apiint.h - what the API's handlers share (inside fcgi/api/ only).
 *
 * api.c dispatches a request to a handler (route table, admission); write.c
 * runs a handler's write through the transaction wrapper with its
 * Idempotency-Key; call.c holds the answers every handler gives. The
 * handlers (products.c, orders.c, accounts.c) are thin: read the fields,
 * call the domain, call the view, answer. */
#ifndef ORDERD_APIINT_H
#define ORDERD_APIINT_H

#include <stdint.h>

#include <cJSON.h>

#include "api/api.h"
#include "base/problem.h"
#include "domain/auth.h"
#include "domain/dberr.h"
#include "domain/idem.h"
#include "domain/orders.h"
#include "http/request.h"
#include "http/response.h"
#include "http/router.h"
#include "shm/gate.h"
#include "store/db.h"

#define LIST_LIMIT_DEFAULT	50

#define BIT(f)		(1u << (f))
/* Fields every form may carry. */
#define GLOBAL_FIELDS	(BIT(F_NEXT) | BIT(F_METHOD) | BIT(F_IDEMPOTENCY) | BIT(F_CSRF))

struct call {
	struct api_ctx *ctx;
	struct req *req;
	struct resp *resp;
	struct route_match *route;
	struct problem p;
	struct principal who;	/* the caller; who.id 0 = anonymous */
	struct idem idem;
	int use_idem;		/* the call carries an Idempotency-Key */
	uint64_t keys[GATE_KEYS];	/* the rows its write will lock (shm/gate.h) */
	size_t nkeys;
};

typedef int (*handler_fn)(struct call *);

/* --- write.c: writes and idempotency --- */

/* run() performs a write (one transaction, given the hooks: NULL without
 * an Idempotency-Key); render() fills the answer. */
typedef int (*run_fn)(struct call *, void *ctx, const struct db_hooks *h);
typedef void (*render_fn)(struct call *, void *ctx);

/* Runs a write. With an Idempotency-Key, the key is claimed first in its
 * transaction and the answer (rendered inside it) stored last; a request
 * whose key another request holds waits for it and replays its answer.
 * Returns 0 with the answer in c->resp, or -1 with c->p. A write whose
 * COMMIT went out unanswered (503 /problems/outcome-unknown) names what it
 * acted on, member: *id when member is not NULL and *id (read after the
 * write: a new row's id is known at COMMIT) is set, so that the client can
 * read it and settle the outcome (README: "An unknown outcome"). */
int	write_call(struct call *, run_fn run, render_fn render, void *ctx,
	    const char *member, const int64_t *id);

/* The pieces of write_call() a queued order (queue.c) uses too: the
 * answer the pool remembers for the call's Idempotency-Key replayed (1, or
 * 0: none); the call's answer remembered for ttl_s; the answer stored with
 * the key replayed from the database (1; 0: none stored, the key is free;
 * -1 with c->p). */
int	write_remembered(struct call *);
void	write_remember(struct call *, int64_t ttl_s);
int	write_replay(struct call *);

/* --- queue.c: --lock queue --- */

/* Places an order of lines (n, any order) through the pool's queue
 * (shm/queue.h): checked and queued, then placed in a batch by the
 * batcher. A placed order (filled into *o) is answered 201 with it, or a
 * browser's 303, by the code that rendered the answer its
 * Idempotency-Key stored. Returns 0 with the answer in c->resp (rendered
 * or replayed), or -1 with c->p. */
int	queue_call(struct call *, struct line *lines, size_t n, const char *pay_method,
	    struct order *o);

/* Whether orders go through the queue (--lock queue, its table mapped). */
int	queue_on(const struct call *);

/* --- call.c: what every handler shares --- */

/* Names a row the call's write will lock, for the gate (shm/gate.h): a
 * product, order or account id; call_user_key the account of a user name. */
void	call_key(struct call *, enum gate_kind, int64_t id);
void	call_user_key(struct call *, const char *username);

/* The caller's scope over orders: their own, or (admin) everyone's. */
int64_t	owner(const struct call *);

/* Rejects body fields the handler does not take, and missing required
 * ones. Returns 0, or -1 with a 422 in c->p. */
int	fields(struct call *, unsigned allowed, unsigned required);

/* Answers obj with status (freeing obj), or 303 for a browser form
 * (what: the outcome, id: what it acted on; what NULL for a read). */
void	answer(struct call *, int status, cJSON *obj, const char *what, int64_t id);

/* Answers a write that ends in one thing of kind ("order", "product",
 * "goods"): status 201 (a new one, with Location /<kind>/<id>/) or 200,
 * obj as for answer(). */
void	answer_write(struct call *, int status, const char *kind, int64_t id, cJSON *obj,
	    const char *what);

/* Whether a GET asks for the HTML fragment (?format=html): 1, JSON: 0,
 * another format: -1 with a 422 in c->p. */
int	want_html(struct call *);

/* Answers 200 with an HTML fragment (NULL: out of memory, a 500).
 * Returns 0, or -1 with c->p. */
int	answer_html(struct call *, const char *html);

/* The caller's CSRF token for forms in fragments ("" when anonymous or
 * signed in by bearer token), and where a form goes back to. */
const char *form_csrf(struct call *);
const char *form_next(struct call *);

/* A list read (GET /product/, /order/, /account/ledger/): a page of rows
 * after (or before) an id, answered as JSON or, for ?format=html, as the
 * HTML fragment of the pages' SSI includes. */
struct list_call {
	int64_t dflt;	/* the after parameter when absent */
	/* Reads the page: 0, or -1 with c->p. */
	int (*read)(struct call *, int64_t after, long limit, struct db_page *pg);
	/* The fragment (html_*), NULL when out of memory. next: the id the
	 * next page starts after, 0 = none. */
	const char *(*html)(struct call *, const struct db_page *pg, int64_t next);
	cJSON *(*item)(const void *row);	/* one row's JSON */
};

/* Answers the list: 0, or -1 with c->p (422 for a format other than json
 * or html, the read's problem, 500). */
int	answer_list(struct call *, const struct list_call *);

/* --- the handlers --- */

/* products.c */
int	product_list_h(struct call *);
int	product_get_h(struct call *);
int	product_create_h(struct call *);
int	product_restock_h(struct call *);
int	goods_create_h(struct call *);
int	goods_get_h(struct call *);
/* orders.c */
int	order_list_h(struct call *);
int	order_get_h(struct call *);
int	order_create_h(struct call *);
int	order_abort_h(struct call *);
int	order_pay_h(struct call *);
int	order_ship_h(struct call *);
int	checkout_h(struct call *);
/* accounts.c */
int	register_h(struct call *);
int	login_h(struct call *);
int	logout_h(struct call *);
int	account_h(struct call *);
int	ledger_h(struct call *);
int	credit_h(struct call *);
int	transfer_h(struct call *);
/* status.c */
int	status_h(struct call *);
/* cart.c */
int	cart_get_h(struct call *);
int	cart_add_h(struct call *);
int	cart_set_h(struct call *);
int	cart_remove_h(struct call *);
/* Empties the cart cookie in the answer when the request carries one (a
 * checkout that succeeded). */
void	cart_clear_cookie(struct call *);

#endif
