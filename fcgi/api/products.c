/* products.c - the catalog's calls: /product/ and /goods/. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "api/apiint.h"
#include "domain/catalog.h"
#include "views/answers.h"
#include "views/catalog_json.h"
#include "views/html.h"
#include "views/json.h"

static cJSON *
product_item(const void *row)
{
	return inv_product_json(row);
}

static int
product_page(struct call *c, int64_t after, long limit, struct db_page *pg)
{
	return catalog_products(c->ctx->db, c->ctx->arena, after, limit, pg, &c->p);
}

static const char *
product_html(struct call *c, const struct db_page *pg, int64_t next)
{
	return html_products(c->ctx->arena, pg->rows, (size_t)pg->n, next, form_csrf(c),
	    form_next(c));
}

/* GET /product/: ascending ids after `after`. */
int
product_list_h(struct call *c)
{
	static const struct list_call l = { 0, product_page, product_html, product_item };

	return answer_list(c, &l);
}

int
product_get_h(struct call *c)
{
	struct product pr;

	if (catalog_product(c->ctx->db, c->route->id, &pr, &c->p) != 0)
		return -1;
	answer(c, 200, inv_product_json(&pr), NULL, 0);
	return 0;
}

/* A catalog write that ends in one product: run (create or restock) does
 * it in one transaction and leaves the product in pr, whose id names it
 * also when the outcome is unknown. */
struct product_write {
	int status;		/* 201 for a new product, 200 otherwise */
	const char *what;	/* browser outcome */
	struct product pr;
};

static void
product_render(struct call *c, void *ctx)
{
	struct product_write *w = ctx;

	answer_write(c, w->status, "product", w->pr.id, inv_product_json(&w->pr), w->what);
}

static int
product_write(struct call *c, run_fn run, int status, const char *what)
{
	struct product_write w;

	memset(&w, 0, sizeof(w));
	w.status = status;
	w.what = what;
	return write_call(c, run, product_render, &w, "product", &w.pr.id);
}

static int
create_run(struct call *c, void *ctx, const struct db_hooks *h)
{
	struct product_write *w = ctx;
	const struct field_val *f = c->req->f;
	struct product_new nw = { f[F_GOODS].set ? f[F_GOODS].i : 0, f[F_NAME].s,
	    f[F_NAME].len, f[F_PRICE].i, f[F_STOCK].i };

	return catalog_product_create(c->ctx->db, &nw, h, &w->pr, &c->p);
}

int
product_create_h(struct call *c)
{
	if (fields(c, BIT(F_GOODS), BIT(F_NAME) | BIT(F_PRICE) | BIT(F_STOCK)) != 0)
		return -1;
	return product_write(c, create_run, 201, "product-created");
}

static int
restock_run(struct call *c, void *ctx, const struct db_hooks *h)
{
	struct product_write *w = ctx;

	w->pr.id = c->route->id;
	return catalog_product_restock(c->ctx->db, c->req->f[F_QUANTITY].i, h, &w->pr, &c->p);
}

int
product_restock_h(struct call *c)
{
	if (fields(c, 0, BIT(F_QUANTITY)) != 0)
		return -1;
	call_key(c, GATE_PRODUCT, c->route->id);
	return product_write(c, restock_run, 200, "product-restocked");
}

static int
goods_run(struct call *c, void *ctx, const struct db_hooks *h)
{
	struct goods *g = ctx;
	const struct field_val *name = &c->req->f[F_NAME];

	return catalog_goods_create(c->ctx->db, name->s, name->len, h, &g->id, &c->p);
}

static void
goods_render(struct call *c, void *ctx)
{
	struct goods *g = ctx;

	snprintf(g->name, sizeof(g->name), "%s", c->req->f[F_NAME].s);
	answer_write(c, 201, "goods", g->id, goods_json(g), "goods-created");
}

int
goods_create_h(struct call *c)
{
	struct goods g;

	if (fields(c, 0, BIT(F_NAME)) != 0)
		return -1;
	memset(&g, 0, sizeof(g));
	return write_call(c, goods_run, goods_render, &g, "goods", &g.id);
}

int
goods_get_h(struct call *c)
{
	struct goods g;

	if (catalog_goods(c->ctx->db, c->ctx->arena, c->route->id, &g, &c->p) != 0)
		return -1;
	answer(c, 200, goods_json(&g), NULL, 0);
	return 0;
}
