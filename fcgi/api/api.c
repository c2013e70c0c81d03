#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "domain/accounts.h"
#include "api/api.h"
#include "domain/auth.h"
#include "views/html.h"
#include "views/json.h"
#include "domain/idem.h"
#include "domain/inventory.h"
#include "base/log.h"
#include "http/response.h"
#include "domain/orders.h"
#include "http/router.h"
#include "shm/prodcache.h"
#include "shm/soldout.h"

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
};

/* The caller's scope over orders: their own, or (admin) everyone's. */
static int64_t
owner(const struct call *c)
{
	return c->who.admin ? 0 : c->who.id;
}

/* --- writes and idempotency ------------------------------------------------ */

typedef int (*run_fn)(struct call *, void *ctx, const struct db_hooks *h);
typedef void (*render_fn)(struct call *, void *ctx);

struct write {
	struct call *c;
	render_fn render;
	void *ctx;
};

static enum db_rc
claim_key(struct db *db, void *arg, struct problem *p)
{
	struct write *w = arg;

	return idem_claim(db, &w->c->idem, p);
}

/* Renders the answer inside the transaction and stores it with the key:
 * the effect and its answer commit together. */
static enum db_rc
store_answer(struct db *db, void *arg, struct problem *p)
{
	struct write *w = arg;

	(void)p;
	w->render(w->c, w->ctx);
	if (w->c->resp->status >= 400)
		return DB_ERR;
	return idem_store(db, &w->c->idem, w->c->resp);
}

/* A write whose COMMIT went out unanswered (503 /problems/outcome-unknown)
 * names what it acted on, so that the client can read it and settle the
 * outcome (README: "An unknown outcome"). */
static void
name_unknown(struct call *c, const char *member, int64_t id)
{
	if (c->p.kind == PROB_OUTCOME_UNKNOWN && id > 0)
		problem_add_int(&c->p, member, id);
}

/* Runs a write: run() performs it (one transaction, given the hooks), and
 * render() fills the answer. With an Idempotency-Key, the key is claimed
 * first in that transaction and the answer stored last; a request whose
 * key another request holds waits for it and replays its answer. Returns
 * 0 with the answer in c->resp, or -1 with c->p. */
static int
write_call(struct call *c, run_fn run, render_fn render, void *ctx)
{
	struct write w = { c, render, ctx };
	struct db_hooks h = { claim_key, store_answer, &w };
	int tries, r;

	if (!c->use_idem) {
		if (run(c, ctx, NULL) != 0)
			return -1;
		render(c, ctx);
		return 0;
	}
	for (tries = 0; tries < 3; tries++) {
		c->idem.taken = 0;
		if (run(c, ctx, &h) == 0)
			return 0;
		if (!c->idem.taken) {
			/* The answer rendered for the key is not the answer. */
			resp_init(c->resp);
			return -1;
		}
		resp_init(c->resp);
		if ((r = idem_replay(c->ctx->db, c->ctx->arena, &c->idem, c->resp, &c->p)) != 0)
			return r > 0 ? 0 : -1;
		/* The holder rolled back: the key is free again. */
	}
	problem_set(&c->p, PROB_UNAVAILABLE, "this Idempotency-Key is busy; try again");
	return -1;
}

/* Rejects body fields the handler does not take, and missing required
 * ones. Returns 0, or -1 with a 422 in c->p. */
static int
fields(struct call *c, unsigned allowed, unsigned required)
{
	int f;

	for (f = 0; f < F__MAX; f++) {
		if (c->req->f[f].set && !(BIT(f) & (allowed | required | GLOBAL_FIELDS))) {
			problem_set(&c->p, PROB_FIELD, "field '%s' is not accepted here",
			    req_field_name((enum field)f));
			problem_add_str(&c->p, "field", req_field_name((enum field)f));
			return -1;
		}
		if ((BIT(f) & required) && !c->req->f[f].set) {
			problem_set(&c->p, PROB_FIELD, "field '%s' is required",
			    req_field_name((enum field)f));
			problem_add_str(&c->p, "field", req_field_name((enum field)f));
			return -1;
		}
	}
	return 0;
}

/* Answers obj with status (freeing obj), or 303 for a browser form. */
static void
answer(struct call *c, int status, cJSON *obj, const char *what, int64_t id)
{
	if (obj == NULL) {
		problem_set(&c->p, PROB_INTERNAL, "out of memory");
		resp_problem(c->resp, c->ctx->arena, c->req, &c->p);
		return;
	}
	if (c->req->browser && what != NULL)
		resp_see_other_ok(c->resp, c->ctx->arena, c->req, what, id);
	else
		resp_json(c->resp, c->ctx->arena, status, obj);
	cJSON_Delete(obj);
}

/* Whether a GET list asks for the HTML fragment (?format=html). Returns 1
 * for html, 0 for JSON, -1 with a 422 for another format. */
static int
want_html(struct call *c)
{
	const struct field_val *f = &c->req->f[F_FORMAT];

	if (!f->set || strcmp(f->s, "json") == 0)
		return 0;
	if (strcmp(f->s, "html") == 0)
		return 1;
	problem_set(&c->p, PROB_FIELD, "format must be json or html");
	problem_add_str(&c->p, "field", "format");
	return -1;
}

/* Answers an HTML fragment (html_*) for the pages' SSI includes. */
static int
answer_html(struct call *c, const char *html)
{
	if (html == NULL) {
		problem_set(&c->p, PROB_INTERNAL, "out of memory");
		return -1;
	}
	c->resp->status = 200;
	c->resp->ctype = "text/html; charset=utf-8";
	c->resp->body = html;
	c->resp->body_len = strlen(html);
	return 0;
}

/* The caller's CSRF token for forms in fragments ("" when anonymous or
 * signed in by bearer token). */
static const char *
form_csrf(struct call *c)
{
	char *t;

	if (!c->who.via_cookie || c->who.id == 0 ||
	    (t = arena_alloc(c->ctx->arena, AUTH_TOKEN_LEN + 1)) == NULL)
		return "";
	auth_csrf_token(c->who.token, t);
	return t;
}

static const char *
form_next(struct call *c)
{
	return c->req->f[F_NEXT].set ? c->req->f[F_NEXT].s : "/";
}

static void
set_location(struct call *c, const char *kind, int64_t id)
{
	snprintf(c->resp->location, sizeof(c->resp->location), "/%s/%" PRId64 "/", kind, id);
}

/* A list answer's object: {"items": [json(row) for each row of the page],
 * "next": next or null (0 = no further page)}. */
static cJSON *
page_json(const struct db_page *pg, int64_t next, cJSON *(*json)(const void *row))
{
	cJSON *o = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(o, "items");
	long i;

	for (i = 0; i < pg->n; i++)
		cJSON_AddItemToArray(items, json((const char *)pg->rows + (size_t)i * pg->row_size));
	if (next > 0)
		resp_add_int(o, "next", next);
	else
		cJSON_AddNullToObject(o, "next");
	return o;
}

static int
answer_page(struct call *c, const struct db_page *pg, int64_t next,
    cJSON *(*json)(const void *row))
{
	answer(c, 200, page_json(pg, next, json), NULL, 0);
	return 0;
}

/* The page a list read asks for: limit (LIST_LIMIT_DEFAULT when absent)
 * and after, or dflt when absent. */
static void
page_args(struct call *c, int64_t dflt, int64_t *after, long *limit)
{
	*after = c->req->f[F_AFTER].set ? c->req->f[F_AFTER].i : dflt;
	*limit = (long)(c->req->f[F_LIMIT].set ? c->req->f[F_LIMIT].i : LIST_LIMIT_DEFAULT);
}

/* --- products ------------------------------------------------------------ */

/* A fetched ST_PRODUCT_LIST row: the product and its goods column. */
struct product_row {
	struct product pr;
	const struct db_col *goods;
};

static enum db_rc
product_take(void *arg, void *slot)
{
	struct product_row *r = arg;

	if (r->goods->is_null)
		r->pr.goods = 0;
	*(struct product *)slot = r->pr;
	return DB_OK;
}

static cJSON *
product_item(const void *row)
{
	return inv_product_json(row);
}

static int
product_list(struct call *c)
{
	struct product_row r;
	struct product *ps;
	struct db_col out[] = { DBC_I64(&r.pr.id), DBC_I64(&r.pr.goods),
	    DBC_STR(r.pr.name, sizeof(r.pr.name)), DBC_I64(&r.pr.price), DBC_I64(&r.pr.stock),
	    DBC_I64(&r.pr.sales) };
	struct db_page pg = { 0, sizeof(*ps), product_take, &r, NULL, 0, 0 };
	struct db_val in[1];
	int64_t after, next;
	enum db_rc rc;
	int html;

	if ((html = want_html(c)) < 0)
		return -1;
	page_args(c, 0, &after, &pg.limit);
	in[0] = DBV_I64(after);
	r.goods = &out[1];
	if ((rc = db_page(c->ctx->db, ST_PRODUCT_LIST, in, 1, out, 6, c->ctx->arena, &pg,
	    &c->p)) != DB_OK) {
		if (rc != DB_ABORT)
			db_problem(c->ctx->db, rc, &c->p);
		return -1;
	}
	ps = pg.rows;
	next = pg.more && pg.n > 0 ? ps[pg.n - 1].id : 0;
	if (html)
		return answer_html(c, html_products(c->ctx->arena, ps, (size_t)pg.n, next,
		    form_csrf(c), form_next(c)));
	return answer_page(c, &pg, next, product_item);
}

static int
product_get(struct call *c)
{
	struct product pr;
	enum db_rc rc;

	if (!prodcache_get(c->route->id, &pr)) {
		uint64_t version = prodcache_version(c->route->id);

		if ((rc = inv_get(c->ctx->db, c->route->id, &pr, &c->p)) != DB_OK) {
			if (rc != DB_ABORT)
				db_problem(c->ctx->db, rc, &c->p);
			return -1;
		}
		prodcache_put(&pr, version);
	}
	answer(c, 200, inv_product_json(&pr), NULL, 0);
	return 0;
}

struct product_ctx {
	struct req *req;
	int64_t id;
	struct product pr;
};

static enum db_rc
product_create_txn(struct db *db, void *arg, struct problem *p)
{
	struct product_ctx *x = arg;
	const struct field_val *f = x->req->f;
	enum db_rc rc;

	if (f[F_GOODS].set) {
		char name[PRODUCT_NAME_MAX];
		int64_t gid, sales;
		struct db_val in[] = { DBV_I64(f[F_GOODS].i) };
		struct db_col out[] = { DBC_I64(&gid), DBC_STR(name, sizeof(name)), DBC_I64(&sales) };
		int found;

		if ((rc = db_one(db, ST_GOODS_GET, in, 1, out, 3, &found)) != DB_OK)
			return rc;
		if (!found) {
			problem_set(p, PROB_FIELD, "goods %" PRId64 " does not exist", f[F_GOODS].i);
			problem_add_str(p, "field", "goods");
			return DB_ABORT;
		}
	}
	{
		struct db_val in[] = { f[F_GOODS].set ? DBV_I64(f[F_GOODS].i) : DBV_NULL,
		    DBV_STR(f[F_NAME].s, f[F_NAME].len), DBV_I64(f[F_PRICE].i),
		    DBV_I64(f[F_STOCK].i), DBV_I64(f[F_STOCK].i) };

		if ((rc = db_exec(db, ST_PRODUCT_INSERT, in, 5)) != DB_OK)
			return rc;
	}
	x->id = (int64_t)db->last_insert_id;
	return DB_OK;
}

static int
product_create_run(struct call *c, void *ctx, const struct db_hooks *h)
{
	struct product_ctx *x = ctx;
	int r = db_txn_hooked(c->ctx->db, product_create_txn, ctx, h, &c->p);

	if (r != 0)
		name_unknown(c, "product", x->id);
	return r;
}

static void
product_create_render(struct call *c, void *ctx)
{
	struct product_ctx *x = ctx;
	const struct field_val *f = c->req->f;

	x->pr.id = x->id;
	x->pr.goods = f[F_GOODS].set ? f[F_GOODS].i : 0;
	snprintf(x->pr.name, sizeof(x->pr.name), "%s", f[F_NAME].s);
	x->pr.price = f[F_PRICE].i;
	x->pr.stock = f[F_STOCK].i;
	x->pr.sales = 0;
	set_location(c, "product", x->id);
	answer(c, 201, inv_product_json(&x->pr), "product-created", x->id);
}

static int
product_create(struct call *c)
{
	struct product_ctx x;

	if (fields(c, BIT(F_GOODS), BIT(F_NAME) | BIT(F_PRICE) | BIT(F_STOCK)) != 0)
		return -1;
	memset(&x, 0, sizeof(x));
	x.req = c->req;
	return write_call(c, product_create_run, product_create_render, &x);
}

static enum db_rc
product_restock_txn(struct db *db, void *arg, struct problem *p)
{
	struct product_ctx *x = arg;
	int64_t q = x->req->f[F_QUANTITY].i;
	enum db_rc rc;

	{
		struct db_val in[] = { DBV_I64(q), DBV_I64(x->id) };

		if ((rc = db_exec(db, ST_PRODUCT_RESTOCK, in, 2)) != DB_OK)
			return rc;
	}
	if (db->affected == 0) {
		problem_set(p, PROB_NOT_FOUND, "no product %" PRId64, x->id);
		return DB_ABORT;
	}
	if ((rc = db_after_commit(db, prodcache_changed, x->id)) != DB_OK)
		return rc;
	soldout_clear(x->id);
	{
		struct db_val in[] = { DBV_I64(x->id), DBV_I64(q) };

		if ((rc = db_exec(db, ST_RESTOCK_INSERT, in, 2)) != DB_OK)
			return rc;
	}
	return inv_get(db, x->id, &x->pr, p);
}

static int
restock_run(struct call *c, void *ctx, const struct db_hooks *h)
{
	struct product_ctx *x = ctx;
	int r = db_txn_hooked(c->ctx->db, product_restock_txn, ctx, h, &c->p);

	if (r != 0)
		name_unknown(c, "product", x->id);
	return r;
}

static void
restock_render(struct call *c, void *ctx)
{
	struct product_ctx *x = ctx;

	answer(c, 200, inv_product_json(&x->pr), "product-restocked", x->id);
}

static int
product_restock(struct call *c)
{
	struct product_ctx x;

	if (fields(c, 0, BIT(F_QUANTITY)) != 0)
		return -1;
	memset(&x, 0, sizeof(x));
	x.req = c->req;
	x.id = c->route->id;
	return write_call(c, restock_run, restock_render, &x);
}

/* --- orders -------------------------------------------------------------- */

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
	int r = order_create(c->ctx->db, c->ctx->conf, c->ctx->arena, w->lines, w->n,
	    w->pay_method, c->who.id, h, &w->o, &c->p);

	/* The order row is inserted first: its id is known at COMMIT. */
	if (r != 0)
		name_unknown(c, "order", w->o.id);
	return r;
}

static void
order_render(struct call *c, void *ctx)
{
	struct order_write *w = ctx;

	if (w->status == 201)
		set_location(c, "order", w->o.id);
	answer(c, w->status, order_json(&w->o), w->what, w->o.id);
}

static int
order_create_one(struct call *c)
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
	/* A product marked sold out is refused without its row lock. */
	if (soldout_is(l.product)) {
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
	return write_call(c, create_run, order_render, &w);
}

static cJSON *
order_item(const void *row)
{
	return order_json(row);
}

static int
order_list_h(struct call *c)
{
	struct db_page pg;
	struct order *os;
	int64_t before, next;
	long limit;
	int html;

	if ((html = want_html(c)) < 0)
		return -1;
	page_args(c, INT64_MAX, &before, &limit);
	if (order_list(c->ctx->db, c->ctx->arena, owner(c), before, limit, &pg, &c->p) != 0)
		return -1;
	os = pg.rows;
	next = pg.more && pg.n > 0 ? os[pg.n - 1].id : 0;
	if (html)
		return answer_html(c, html_orders(c->ctx->arena, os, (size_t)pg.n, next,
		    form_csrf(c), form_next(c), c->who.id, c->who.admin));
	return answer_page(c, &pg, next, order_item);
}

static int
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
	int r;

	if (fields(c, extra, 0) != 0)
		return -1;
	memset(&w, 0, sizeof(w));
	w.status = 200;
	w.what = what;
	w.product = c->req->f[F_PRODUCT].set ? c->req->f[F_PRODUCT].i : 0;
	if ((r = write_call(c, run, order_render, &w)) != 0)
		name_unknown(c, "order", c->route->id);
	return r;
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
static int
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

static int
order_pay_h(struct call *c)
{
	return order_change(c, "order-paid", pay_run, 0);
}

static int
ship_run(struct call *c, void *ctx, const struct db_hooks *h)
{
	struct order_write *w = ctx;

	return order_ship(c->ctx->db, c->ctx->arena, c->route->id, h, &w->o, &c->p);
}

static int
order_ship_h(struct call *c)
{
	return order_change(c, "order-shipped", ship_run, 0);
}

/* POST /checkout/: items [{product, quantity}] and pay_method. */
static int
checkout(struct call *c)
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
	}
	w.n = r->nitems;
	w.pay_method = pm;
	w.status = 201;
	w.what = "order-created";
	return write_call(c, create_run, order_render, &w);
}

/* --- goods --------------------------------------------------------------- */

struct goods_ctx {
	const struct req *req;
	int64_t id;
};

static enum db_rc
goods_create_txn(struct db *db, void *arg, struct problem *p)
{
	struct goods_ctx *x = arg;
	const struct field_val *name = &x->req->f[F_NAME];
	struct db_val in[] = { DBV_STR(name->s, name->len) };
	enum db_rc rc;

	(void)p;
	if ((rc = db_exec(db, ST_GOODS_INSERT, in, 1)) != DB_OK)
		return rc;
	x->id = (int64_t)db->last_insert_id;
	return DB_OK;
}

static cJSON *
goods_json(int64_t id, const char *name, int64_t sales)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	resp_add_int(o, "id", id);
	cJSON_AddStringToObject(o, "name", name);
	resp_add_int(o, "sales", sales);
	cJSON_AddArrayToObject(o, "products");
	return o;
}

static int
goods_create(struct call *c)
{
	struct goods_ctx x = { c->req, 0 };

	if (fields(c, 0, BIT(F_NAME)) != 0)
		return -1;
	if (db_txn(c->ctx->db, goods_create_txn, &x, &c->p) != 0) {
		name_unknown(c, "goods", x.id);
		return -1;
	}
	set_location(c, "goods", x.id);
	answer(c, 201, goods_json(x.id, c->req->f[F_NAME].s, 0), "goods-created", x.id);
	return 0;
}

/* A fetched ST_GOODS_PRODUCTS row onto the goods' "products" array. */
struct goods_products {
	cJSON *arr;
	int64_t pid;
};

static enum db_rc
goods_product_take(void *arg)
{
	struct goods_products *g = arg;

	resp_append_int(g->arr, g->pid);
	return DB_OK;
}

static int
goods_get(struct call *c)
{
	struct db *db = c->ctx->db;
	char name[PRODUCT_NAME_MAX];
	int64_t id, sales;
	struct goods_products gp;
	struct db_val in[] = { DBV_I64(c->route->id) };
	struct db_col g[] = { DBC_I64(&id), DBC_STR(name, sizeof(name)), DBC_I64(&sales) };
	struct db_col pc[] = { DBC_I64(&gp.pid) };
	cJSON *o;
	enum db_rc rc;
	int r;

	if ((rc = db_one(db, ST_GOODS_GET, in, 1, g, 3, &r)) != DB_OK)
		goto fail;
	if (r == 0) {
		problem_set(&c->p, PROB_NOT_FOUND, "no goods %" PRId64, c->route->id);
		return -1;
	}
	o = goods_json(id, name, sales);
	gp.arr = cJSON_GetObjectItemCaseSensitive(o, "products");
	if ((rc = db_each(db, ST_GOODS_PRODUCTS, in, 1, pc, 1, goods_product_take, &gp)) !=
	    DB_OK) {
		cJSON_Delete(o);
		goto fail;
	}
	answer(c, 200, o, NULL, 0);
	return 0;
fail:
	db_problem(db, rc, &c->p);
	return -1;
}

/* --- accounts -------------------------------------------------------------- */

static void
set_cookies(struct call *c, const char *token, int max_age)
{
	char v[160], csrf[AUTH_TOKEN_LEN + 1] = "";

	if (token[0] != '\0')
		auth_csrf_token(token, csrf);
	snprintf(v, sizeof(v), "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d",
	    AUTH_SESSION_COOKIE, token, max_age);
	resp_header(c->resp, "Set-Cookie", v);
	snprintf(v, sizeof(v), "%s=%s; Path=/; SameSite=Strict; Max-Age=%d", AUTH_CSRF_COOKIE,
	    csrf, max_age);
	resp_header(c->resp, "Set-Cookie", v);
}

static int
register_h(struct call *c)
{
	const struct field_val *f = c->req->f;
	cJSON *o, *u;
	int64_t id;

	if (fields(c, 0, BIT(F_USERNAME) | BIT(F_PASSWORD)) != 0)
		return -1;
	if (auth_register(c->ctx->db, f[F_USERNAME].s, f[F_USERNAME].len, f[F_PASSWORD].s,
	    f[F_PASSWORD].len, "user", &id, &c->p) != 0)
		return -1;
	o = cJSON_CreateObject();
	u = cJSON_AddObjectToObject(o, "user");
	resp_add_int(u, "id", id);
	cJSON_AddStringToObject(u, "username", f[F_USERNAME].s);
	snprintf(c->resp->location, sizeof(c->resp->location), "/account/");
	answer(c, 201, o, "registered", id);
	return 0;
}

static int
login_h(struct call *c)
{
	const struct field_val *f = c->req->f;
	struct principal who;
	char csrf[AUTH_TOKEN_LEN + 1];
	cJSON *o, *u;

	if (fields(c, 0, BIT(F_USERNAME) | BIT(F_PASSWORD)) != 0)
		return -1;
	if (auth_login(c->ctx->db, f[F_USERNAME].s, f[F_USERNAME].len, f[F_PASSWORD].s,
	    f[F_PASSWORD].len, &who, &c->p) != 0)
		return -1;
	auth_csrf_token(who.token, csrf);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "token", who.token);
	u = cJSON_AddObjectToObject(o, "user");
	resp_add_int(u, "id", who.id);
	cJSON_AddStringToObject(u, "username", who.username);
	cJSON_AddStringToObject(u, "role", who.admin ? "admin" : "user");
	cJSON_AddStringToObject(o, "csrf_token", csrf);
	set_cookies(c, who.token, AUTH_SESSION_DAYS * 86400);
	answer(c, 200, o, "signed-in", who.id);
	return 0;
}

static int
logout_h(struct call *c)
{
	cJSON *o;

	if (fields(c, 0, 0) != 0)
		return -1;
	if (auth_logout(c->ctx->db, &c->who, &c->p) != 0)
		return -1;
	o = cJSON_CreateObject();
	cJSON_AddTrueToObject(o, "ok");
	set_cookies(c, "", 0);
	answer(c, 200, o, "signed-out", c->who.id);
	return 0;
}

static int
account_h(struct call *c)
{
	struct account a;
	enum db_rc rc;
	cJSON *o;

	if ((rc = acct_get(c->ctx->db, c->who.id, &a, &c->p)) != DB_OK) {
		if (rc != DB_ABORT)
			db_problem(c->ctx->db, rc, &c->p);
		return -1;
	}
	o = acct_json(&a);
	if (o != NULL && c->who.via_cookie) {
		char csrf[AUTH_TOKEN_LEN + 1];

		auth_csrf_token(c->who.token, csrf);
		cJSON_AddStringToObject(o, "csrf_token", csrf);
	}
	answer(c, 200, o, NULL, 0);
	return 0;
}

static cJSON *
ledger_item(const void *row)
{
	return acct_ledger_json(row);
}

static int
ledger_h(struct call *c)
{
	struct db_page pg;
	struct ledger_entry *es;
	int64_t before, next;
	long limit;
	int html;

	if ((html = want_html(c)) < 0)
		return -1;
	page_args(c, INT64_MAX, &before, &limit);
	if (acct_ledger(c->ctx->db, c->ctx->arena, c->who.id, before, limit, &pg, &c->p) != 0)
		return -1;
	es = pg.rows;
	next = pg.more && pg.n > 0 ? es[pg.n - 1].id : 0;
	if (!html)
		return answer_page(c, &pg, next, ledger_item);
	return answer_html(c, html_ledger(c->ctx->arena, es, (size_t)pg.n, next));
}

struct money_write {
	struct account acct;
	const char *to;
	int64_t amount;
};

static int
credit_run(struct call *c, void *ctx, const struct db_hooks *h)
{
	struct money_write *w = ctx;

	return acct_credit(c->ctx->db, c->route->name, w->amount, h, &w->acct, &c->p);
}

static void
credit_render(struct call *c, void *ctx)
{
	struct money_write *w = ctx;

	answer(c, 200, acct_json(&w->acct), "account-credited", w->acct.id);
}

static int
credit_h(struct call *c)
{
	struct money_write w;

	if (fields(c, 0, BIT(F_AMOUNT)) != 0)
		return -1;
	memset(&w, 0, sizeof(w));
	w.amount = c->req->f[F_AMOUNT].i;
	return write_call(c, credit_run, credit_render, &w);
}

static int
transfer_run(struct call *c, void *ctx, const struct db_hooks *h)
{
	struct money_write *w = ctx;

	return acct_transfer(c->ctx->db, c->who.id, w->to, w->amount, h, &w->acct, &c->p);
}

static void
transfer_render(struct call *c, void *ctx)
{
	struct money_write *w = ctx;
	cJSON *o = cJSON_CreateObject();

	if (o != NULL) {
		cJSON_AddItemToObject(o, "from", acct_json(&w->acct));
		cJSON_AddStringToObject(o, "to", w->to);
		resp_add_int(o, "amount", w->amount);
	}
	answer(c, 200, o, "transferred", w->acct.id);
}

static int
transfer_h(struct call *c)
{
	struct money_write w;

	if (fields(c, 0, BIT(F_TO) | BIT(F_AMOUNT)) != 0)
		return -1;
	memset(&w, 0, sizeof(w));
	w.to = c->req->f[F_TO].s;
	w.amount = c->req->f[F_AMOUNT].i;
	if (strcasecmp(w.to, c->who.username) == 0) {
		problem_set(&c->p, PROB_FIELD, "a transfer to yourself moves nothing");
		problem_add_str(&c->p, "field", "to");
		return -1;
	}
	return write_call(c, transfer_run, transfer_render, &w);
}

/* --- dispatch ------------------------------------------------------------- */

typedef int (*handler_fn)(struct call *);

#define NEED_USER	0x1	/* 401 without credentials */
#define NEED_ADMIN	0x2	/* and 403 for a non-admin */
#define IDEMPOTENT	0x4	/* honours Idempotency-Key */
#define NO_AUTH		0x8	/* credentials are not looked at (sign-in itself) */

static const struct {
	handler_fn fn;
	unsigned flags;
} handlers[H__MAX] = {
	[H_PRODUCT_LIST] =	{ product_list, 0 },
	[H_PRODUCT_CREATE] =	{ product_create, NEED_ADMIN | IDEMPOTENT },
	[H_PRODUCT_GET] =	{ product_get, 0 },
	[H_PRODUCT_RESTOCK] =	{ product_restock, NEED_ADMIN | IDEMPOTENT },
	[H_ORDER_LIST] =	{ order_list_h, NEED_USER },
	[H_ORDER_CREATE] =	{ order_create_one, NEED_USER | IDEMPOTENT },
	[H_ORDER_GET] =		{ order_get_h, NEED_USER },
	[H_ORDER_ABORT] =	{ order_abort_h, NEED_USER | IDEMPOTENT },
	[H_ORDER_PAY] =		{ order_pay_h, NEED_USER | IDEMPOTENT },
	[H_ORDER_SHIP] =	{ order_ship_h, NEED_ADMIN },
	[H_CHECKOUT] =		{ checkout, NEED_USER | IDEMPOTENT },
	[H_GOODS_CREATE] =	{ goods_create, NEED_ADMIN },
	[H_GOODS_GET] =		{ goods_get, 0 },
	[H_REGISTER] =		{ register_h, NO_AUTH },
	[H_LOGIN] =		{ login_h, NO_AUTH },
	[H_LOGOUT] =		{ logout_h, NEED_USER },
	[H_ACCOUNT] =		{ account_h, NEED_USER },
	[H_LEDGER] =		{ ledger_h, NEED_USER },
	[H_CREDIT] =		{ credit_h, NEED_ADMIN | IDEMPOTENT },
	[H_TRANSFER] =		{ transfer_h, NEED_USER | IDEMPOTENT },
};

/* Who is calling, and may they? 0 = go on; -1 with c->p. */
static int
admit(struct call *c, unsigned flags)
{
	int needs = flags & (NEED_USER | NEED_ADMIN);

	if (flags & NO_AUTH)
		return auth_check_signin_origin(c->req, &c->p);
	if (auth_identify(c->ctx->db, c->req, &c->who, &c->p) != 0) {
		/* A stale session cookie on a public page is no reason to
		 * refuse it: the caller is anonymous there. */
		if (c->p.kind == PROB_UNAUTHORIZED && c->who.via_cookie && !needs) {
			memset(&c->who, 0, sizeof(c->who));
			return 0;
		}
		if (c->p.kind == PROB_UNAUTHORIZED)
			resp_header(c->resp, "WWW-Authenticate", "Bearer realm=\"orderd\"");
		return -1;
	}
	if (needs && c->who.id == 0) {
		problem_set(&c->p, PROB_UNAUTHORIZED, "sign in first");
		resp_header(c->resp, "WWW-Authenticate", "Bearer realm=\"orderd\"");
		return -1;
	}
	if ((flags & NEED_ADMIN) && !c->who.admin) {
		problem_set(&c->p, PROB_FORBIDDEN, "only an administrator may do this");
		return -1;
	}
	if (c->req->method != M_GET && c->req->method != M_HEAD &&
	    auth_check_csrf(c->req, &c->who, &c->p) != 0)
		return -1;
	if ((flags & IDEMPOTENT) && c->who.id != 0 &&
	    (c->use_idem = idem_prepare(&c->idem, c->req, c->who.id, &c->p)) < 0)
		return -1;
	return 0;
}

void
api_handle(struct api_ctx *ctx, const struct req_input *in, struct resp *resp)
{
	struct req req;
	struct route_match route;
	struct call c;

	memset(&c, 0, sizeof(c));
	c.ctx = ctx;
	c.req = &req;
	c.resp = resp;
	c.route = &route;
	resp_init(resp);

	if (req_parse(&req, ctx->arena, in, &c.p) != 0)
		goto problem;
	switch (router_match(req.path, req.method, &route)) {
	case ROUTE_OK:
		break;
	case ROUTE_NOT_FOUND:
		problem_set(&c.p, PROB_NOT_FOUND, "no such resource");
		goto problem;
	case ROUTE_METHOD:
		problem_set(&c.p, PROB_METHOD, "%s is not allowed here; use %s",
		    req_method_name(req.method), route.allow);
		snprintf(resp->allow, sizeof(resp->allow), "%s", route.allow);
		goto problem;
	}
	if (handlers[route.h].fn == NULL) {
		problem_set(&c.p, PROB_INTERNAL, "no handler");
		goto problem;
	}
	if (admit(&c, handlers[route.h].flags) != 0)
		goto problem;
	if (handlers[route.h].fn(&c) == 0)
		return;
problem:
	if (problem_status(c.p.kind) >= 500)
		log_error("%s %s: %d %s", in->method ? in->method : "-", in->path ? in->path : "-",
		    problem_status(c.p.kind), c.p.detail);
	else if (c.p.kind == PROB_MALFORMED || c.p.kind == PROB_FIELD ||
	    c.p.kind == PROB_MEDIA || c.p.kind == PROB_TOO_LARGE)
		/* A client's mistake: info, with the (escaped) detail as sample. */
		log_info("%s %.64s: %d %s", in->method ? in->method : "-",
		    in->path ? in->path : "-", problem_status(c.p.kind), c.p.detail);
	else
		log_debug("%s %.64s: %d %s", in->method ? in->method : "-",
		    in->path ? in->path : "-", problem_status(c.p.kind), c.p.detail);
	resp_problem(resp, ctx->arena, &req, &c.p);
}
