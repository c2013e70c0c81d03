/* products.c - the catalog's calls: /product/ and /goods/. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "api/apiint.h"
#include "domain/catalog.h"
#include "views/answers.h"
#include "views/catalog_json.h"
#include "views/html.h"

static cJSON *
product_item(const void *row)
{
	return inv_product_json(row);
}

int
product_list_h(struct call *c)
{
	struct db_page pg;
	int64_t after, next;
	long limit;
	int html;

	if ((html = want_html(c)) < 0)
		return -1;
	page_args(c, 0, &after, &limit);
	if (catalog_products(c->ctx->db, c->ctx->arena, after, limit, &pg, &c->p) != 0)
		return -1;
	next = page_next(&pg);
	if (html)
		return answer_html(c, html_products(c->ctx->arena, pg.rows, (size_t)pg.n, next,
		    form_csrf(c), form_next(c)));
	return answer_page(c, &pg, next, product_item);
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

/* A catalog write that ends in one product: op does it (one transaction,
 * given the hooks) and leaves the product in *out, whose id names it also
 * when the outcome is unknown. */
typedef int (*product_op)(struct call *, const struct db_hooks *h, struct product *out);

struct product_write {
	product_op op;
	int status;		/* 201 for a new product, 200 otherwise */
	const char *what;	/* browser outcome */
	struct product pr;
};

static int
product_run(struct call *c, void *ctx, const struct db_hooks *h)
{
	struct product_write *w = ctx;
	int r = w->op(c, h, &w->pr);

	if (r != 0)
		name_unknown(c, "product", w->pr.id);
	return r;
}

static void
product_render(struct call *c, void *ctx)
{
	struct product_write *w = ctx;

	answer_write(c, w->status, "product", w->pr.id, inv_product_json(&w->pr), w->what);
}

static int
product_write(struct call *c, product_op op, int status, const char *what)
{
	struct product_write w;

	memset(&w, 0, sizeof(w));
	w.op = op;
	w.status = status;
	w.what = what;
	return write_call(c, product_run, product_render, &w);
}

static int
create_op(struct call *c, const struct db_hooks *h, struct product *out)
{
	const struct field_val *f = c->req->f;
	struct product_new nw = { f[F_GOODS].set ? f[F_GOODS].i : 0, f[F_NAME].s,
	    f[F_NAME].len, f[F_PRICE].i, f[F_STOCK].i };

	return catalog_product_create(c->ctx->db, &nw, h, out, &c->p);
}

int
product_create_h(struct call *c)
{
	if (fields(c, BIT(F_GOODS), BIT(F_NAME) | BIT(F_PRICE) | BIT(F_STOCK)) != 0)
		return -1;
	return product_write(c, create_op, 201, "product-created");
}

static int
restock_op(struct call *c, const struct db_hooks *h, struct product *out)
{
	out->id = c->route->id;
	return catalog_product_restock(c->ctx->db, c->req->f[F_QUANTITY].i, h, out, &c->p);
}

int
product_restock_h(struct call *c)
{
	if (fields(c, 0, BIT(F_QUANTITY)) != 0)
		return -1;
	return product_write(c, restock_op, 200, "product-restocked");
}

int
goods_create_h(struct call *c)
{
	const struct field_val *name = &c->req->f[F_NAME];
	struct goods g;

	if (fields(c, 0, BIT(F_NAME)) != 0)
		return -1;
	memset(&g, 0, sizeof(g));
	if (catalog_goods_create(c->ctx->db, name->s, name->len, &g.id, &c->p) != 0) {
		name_unknown(c, "goods", g.id);
		return -1;
	}
	snprintf(g.name, sizeof(g.name), "%s", name->s);
	answer_write(c, 201, "goods", g.id, goods_json(&g), "goods-created");
	return 0;
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
