/* orders.c - the orders' calls: /order/ and /checkout/. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/apiint.h"
#include "domain/catalog.h"
#include "domain/orders.h"
#include "shm/soldout.h"
#include "views/html.h"
#include "views/json.h"

/* A write that ends in one order: create, checkout, abort, pay, ship. */
struct order_write {
	struct line *lines;
	size_t n;
	const char *pay_method;
	struct order o;
	int status;		/* 201 for a new order, 200 otherwise */
	const char *what;	/* browser outcome: order-created, order-aborted ... */
	int64_t product;	/* abort: the product the client named, or 0 */
};

static int
create_run(struct call *c, void *ctx, const struct db_hooks *h)
{
	struct order_write *w = ctx;

	/* The order row is inserted first: its id is known at COMMIT. */
	return order_create(c->ctx->db, c->ctx->conf, c->ctx->arena, w->lines, w->n,
	    w->pay_method, c->who.id, h, &w->o, &c->p);
}

static void
order_render(struct call *c, void *ctx)
{
	struct order_write *w = ctx;

	answer_write(c, w->status, "order", w->o.id, order_json(&w->o), w->what);
}

int
order_create_h(struct call *c)
{
	struct order_write w;
	struct line l;
	const struct field_val *f = c->req->f;

	if (fields(c, BIT(F_QUANTITY), BIT(F_PRODUCT)) != 0)
		return -1;
	memset(&l, 0, sizeof(l));
	l.product = f[F_PRODUCT].i;
	l.quantity = f[F_QUANTITY].set ? f[F_QUANTITY].i : 1;
	if (l.quantity > ORDER_QUANTITY_MAX) {
		problem_set(&c->p, PROB_FIELD, "quantity must be 1 to %d", ORDER_QUANTITY_MAX);
		problem_add_str(&c->p, "field", "quantity");
		return -1;
	}
	/* A product marked sold out is refused without its row lock; not a
	 * request with an Idempotency-Key, which may be the repeat of an order
	 * that took the last unit (write_call replays it). */
	if (!c->use_idem && soldout_is(l.product)) {
		problem_set(&c->p, PROB_OUT_OF_STOCK, "only 0 left of product %" PRId64
		    ", %" PRId64 " wanted", l.product, l.quantity);
		problem_add_int(&c->p, "product", l.product);
		problem_add_int(&c->p, "available", 0);
		return -1;
	}
	memset(&w, 0, sizeof(w));
	w.lines = &l;
	w.n = 1;
	w.pay_method = "cod";
	w.status = 201;
	w.what = "order-created";
	if (queue_on(c))
		return queue_call(c, w.lines, w.n, w.pay_method, &w.o);
	call_key(c, GATE_PRODUCT, l.product);
	return write_call(c, create_run, order_render, &w, "order", &w.o.id);
}

static cJSON *
order_item(const void *row)
{
	return order_json(row);
}

static int
order_page(struct call *c, int64_t before, long limit, struct db_page *pg)
{
	return order_list(c->ctx->db, c->ctx->arena, owner(c), before, limit, pg, &c->p);
}

/* The product names of an order page's lines, each looked up once
 * (through the product cache). */
#define NAMES_MAX	256
struct names {
	struct call *c;
	size_t n;
	int64_t id[NAMES_MAX];
	const char *name[NAMES_MAX];	/* NULL: not found */
};

static const char *
line_name(void *ctx, int64_t product)
{
	struct names *nm = ctx;
	struct product p;
	struct problem prob;
	const char *name = NULL;
	size_t i;

	for (i = 0; i < nm->n; i++)
		if (nm->id[i] == product)
			return nm->name[i];
	memset(&prob, 0, sizeof(prob));
	if (catalog_product(nm->c->ctx->db, product, &p, &prob) == 0)
		name = arena_strndup(nm->c->ctx->arena, p.name, strlen(p.name));
	if (nm->n < NAMES_MAX) {
		nm->id[nm->n] = product;
		nm->name[nm->n++] = name;
	}
	return name;
}

static const char *
order_html(struct call *c, const struct db_page *pg, int64_t next)
{
	struct names *nm = arena_alloc(c->ctx->arena, sizeof(*nm));

	if (nm != NULL) {
		nm->c = c;
		nm->n = 0;
	}
	return html_orders(c->ctx->arena, pg->rows, (size_t)pg->n, next, form_csrf(c),
	    form_next(c), c->who.id, c->who.admin, nm != NULL ? line_name : NULL, nm);
}

/* GET /order/: the caller's (an administrator's: all), newest first. */
int
order_list_h(struct call *c)
{
	static const struct list_call l = { INT64_MAX, order_page, order_html, order_item };

	return answer_list(c, &l);
}

int
order_get_h(struct call *c)
{
	struct order o;

	if (order_get(c->ctx->db, c->ctx->arena, c->route->id, owner(c), &o, &c->p) != 0)
		return -1;
	answer(c, 200, order_json(&o), NULL, 0);
	return 0;
}

/* A change of one order (/order/<id>/...): the handler's run does it in
 * one transaction; an unknown outcome names the order. extra: the body
 * fields the change takes beyond the global ones. */
static int
order_change(struct call *c, const char *what, run_fn run, unsigned extra)
{
	struct order_write w;

	if (fields(c, extra, 0) != 0)
		return -1;
	memset(&w, 0, sizeof(w));
	w.status = 200;
	w.what = what;
	w.product = c->req->f[F_PRODUCT].set ? c->req->f[F_PRODUCT].i : 0;
	call_key(c, GATE_ORDER, c->route->id);
	return write_call(c, run, order_render, &w, "order", &c->route->id);
}

static int
abort_run(struct call *c, void *ctx, const struct db_hooks *h)
{
	struct order_write *w = ctx;

	return order_abort(c->ctx->db, c->ctx->arena, c->route->id, owner(c), w->product, h,
	    &w->o, &c->p);
}

/* The original client sends the product it ordered with its cancel
 * (product=<id>&_method=PUT): accepted when it is one of the order's
 * products, which the abort checks against the order it has locked. */
int
order_abort_h(struct call *c)
{
	return order_change(c, "order-aborted", abort_run, BIT(F_PRODUCT));
}

/* Pay is the owner's alone: the caller's own id, an administrator's too
 * (someone else's order is a 404 as for any owner-only call). */
static int
pay_run(struct call *c, void *ctx, const struct db_hooks *h)
{
	struct order_write *w = ctx;

	return order_pay(c->ctx->db, c->ctx->arena, c->route->id, c->who.id, h, &w->o, &c->p);
}

int
order_pay_h(struct call *c)
{
	call_key(c, GATE_ACCOUNT, c->who.id);
	return order_change(c, "order-paid", pay_run, 0);
}

static int
ship_run(struct call *c, void *ctx, const struct db_hooks *h)
{
	struct order_write *w = ctx;

	return order_ship(c->ctx->db, c->ctx->arena, c->route->id, h, &w->o, &c->p);
}

int
order_ship_h(struct call *c)
{
	return order_change(c, "order-shipped", ship_run, 0);
}

/* POST /checkout/: items [{product, quantity}] and pay_method. */
int
checkout_h(struct call *c)
{
	const struct req *r = c->req;
	struct order_write w;
	const char *pm;
	size_t i;

	if (fields(c, 0, BIT(F_ITEMS) | BIT(F_PAY_METHOD)) != 0)
		return -1;
	pm = r->f[F_PAY_METHOD].s;
	if (strcmp(pm, "balance") != 0 && strcmp(pm, "cod") != 0) {
		problem_set(&c->p, PROB_FIELD, "pay_method must be balance or cod");
		problem_add_str(&c->p, "field", "pay_method");
		return -1;
	}
	memset(&w, 0, sizeof(w));
	if ((w.lines = arena_alloc(c->ctx->arena, r->nitems * sizeof(*w.lines))) == NULL) {
		problem_set(&c->p, PROB_INTERNAL, "out of memory");
		return -1;
	}
	for (i = 0; i < r->nitems; i++) {
		if (r->items[i].quantity > ORDER_QUANTITY_MAX) {
			char name[48];

			snprintf(name, sizeof(name), "items[%zu].quantity", r->items[i].idx);
			problem_set(&c->p, PROB_FIELD, "%s must be 1 to %d", name, ORDER_QUANTITY_MAX);
			problem_add_str(&c->p, "field", name);
			return -1;
		}
		w.lines[i].product = r->items[i].product;
		w.lines[i].quantity = r->items[i].quantity;
		call_key(c, GATE_PRODUCT, w.lines[i].product);
	}
	if (strcmp(pm, "balance") == 0)
		call_key(c, GATE_ACCOUNT, c->who.id);
	w.n = r->nitems;
	w.pay_method = pm;
	w.status = 201;
	w.what = "order-created";
	if ((queue_on(c) ? queue_call(c, w.lines, w.n, w.pay_method, &w.o) :
	    write_call(c, create_run, order_render, &w, "order", &w.o.id)) != 0)
		return -1;
	/* The pages check out the cart: it is empty once the order is in. */
	cart_clear_cookie(c);
	return 0;
}

