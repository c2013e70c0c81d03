#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "domain/catalog.h"
#include "shm/prodcache.h"
#include "shm/soldout.h"
#include "shm/stats.h"

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

int
catalog_products(struct db *db, struct arena *a, int64_t after, long limit,
    struct db_page *pg, struct problem *p)
{
	struct product_row r;
	struct db_col out[] = { DBC_I64(&r.pr.id), DBC_I64(&r.pr.goods),
	    DBC_STR(r.pr.name, sizeof(r.pr.name)), DBC_I64(&r.pr.price), DBC_I64(&r.pr.stock),
	    DBC_I64(&r.pr.sales) };
	struct db_val in[] = { DBV_I64(after) };

	*pg = (struct db_page){ limit, sizeof(struct product), product_take, &r, NULL, 0, 0 };
	r.goods = &out[1];
	return db_done(db, db_page(db, ST_PRODUCT_LIST, in, 1, out, 6, a, pg, p), p);
}

int
catalog_product(struct db *db, int64_t id, struct product *out, struct problem *p)
{
	uint64_t version;

	if (prodcache_get(id, out)) {
		stats_add(SC_PROD_HIT, 1);
		return 0;
	}
	stats_add(SC_PROD_MISS, 1);
	version = prodcache_version(id);
	if (db_done(db, inv_get(db, id, out, p), p) != 0)
		return -1;
	prodcache_put(out, version);
	return 0;
}

struct create_ctx {
	const struct product_new *nw;
	struct product *out;
};

static enum db_rc
create_txn(struct db *db, void *arg, struct problem *p)
{
	struct create_ctx *x = arg;
	const struct product_new *nw = x->nw;
	enum db_rc rc;

	if (nw->goods > 0) {
		char name[PRODUCT_NAME_MAX];
		int64_t gid, sales;
		struct db_val in[] = { DBV_I64(nw->goods) };
		struct db_col out[] = { DBC_I64(&gid), DBC_STR(name, sizeof(name)), DBC_I64(&sales) };
		int found;

		if ((rc = db_one(db, ST_GOODS_GET, in, 1, out, 3, &found)) != DB_OK)
			return rc;
		if (!found) {
			problem_set(p, PROB_FIELD, "goods %" PRId64 " does not exist", nw->goods);
			problem_add_str(p, "field", "goods");
			return DB_ABORT;
		}
	}
	{
		struct db_val in[] = { nw->goods > 0 ? DBV_I64(nw->goods) : DBV_NULL,
		    DBV_STR(nw->name, nw->name_len), DBV_I64(nw->price),
		    DBV_I64(nw->stock), DBV_I64(nw->stock) };

		if ((rc = db_exec(db, ST_PRODUCT_INSERT, in, 5)) != DB_OK)
			return rc;
	}
	x->out->id = (int64_t)db->last_insert_id;
	return DB_OK;
}

int
catalog_product_create(struct db *db, const struct product_new *nw,
    const struct db_hooks *h, struct product *out, struct problem *p)
{
	struct create_ctx x = { nw, out };

	memset(out, 0, sizeof(*out));
	out->goods = nw->goods;
	snprintf(out->name, sizeof(out->name), "%s", nw->name);
	out->price = nw->price;
	out->stock = nw->stock;
	return db_txn_hooked(db, create_txn, &x, h, p);
}

struct restock_ctx {
	int64_t quantity;
	struct product *out;
};

static enum db_rc
restock_txn(struct db *db, void *arg, struct problem *p)
{
	struct restock_ctx *x = arg;
	int64_t id = x->out->id;
	enum db_rc rc;

	{
		struct db_val in[] = { DBV_I64(x->quantity), DBV_I64(id) };

		if ((rc = db_exec(db, ST_PRODUCT_RESTOCK, in, 2)) != DB_OK)
			return rc;
	}
	if (db->affected == 0) {
		problem_set(p, PROB_NOT_FOUND, "no product %" PRId64, id);
		return DB_ABORT;
	}
	if ((rc = db_after_commit(db, prodcache_changed, id)) != DB_OK)
		return rc;
	soldout_clear(id);
	{
		struct db_val in[] = { DBV_I64(id), DBV_I64(x->quantity) };

		if ((rc = db_exec(db, ST_RESTOCK_INSERT, in, 2)) != DB_OK)
			return rc;
	}
	return inv_get(db, id, x->out, p);
}

int
catalog_product_restock(struct db *db, int64_t quantity, const struct db_hooks *h,
    struct product *out, struct problem *p)
{
	struct restock_ctx x = { quantity, out };

	return db_txn_hooked(db, restock_txn, &x, h, p);
}

struct goods_new {
	const char *name;
	size_t len;
	int64_t *id;
};

static enum db_rc
goods_create_txn(struct db *db, void *arg, struct problem *p)
{
	struct goods_new *x = arg;
	struct db_val in[] = { DBV_STR(x->name, x->len) };
	enum db_rc rc;

	(void)p;
	if ((rc = db_exec(db, ST_GOODS_INSERT, in, 1)) != DB_OK)
		return rc;
	*x->id = (int64_t)db->last_insert_id;
	return DB_OK;
}

int
catalog_goods_create(struct db *db, const char *name, size_t len,
    const struct db_hooks *h, int64_t *id, struct problem *p)
{
	struct goods_new x = { name, len, id };

	*id = 0;
	return db_txn_hooked(db, goods_create_txn, &x, h, p);
}

/* A fetched ST_GOODS_PRODUCTS row onto the goods' products (the array
 * doubles in the arena as it fills). */
struct goods_products {
	struct goods *g;
	struct arena *a;
	size_t cap;
	int64_t pid;
	struct problem *p;
};

static enum db_rc
goods_product_take(void *arg)
{
	struct goods_products *x = arg;
	struct goods *g = x->g;

	if (g->nproducts == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 16;
		int64_t *v = arena_alloc(x->a, cap * sizeof(*v));

		if (v == NULL) {
			problem_set(x->p, PROB_INTERNAL, "out of memory");
			return DB_ABORT;
		}
		if (g->nproducts > 0)
			memcpy(v, g->products, g->nproducts * sizeof(*v));
		g->products = v;
		x->cap = cap;
	}
	g->products[g->nproducts++] = x->pid;
	return DB_OK;
}

int
catalog_goods(struct db *db, struct arena *a, int64_t id, struct goods *out,
    struct problem *p)
{
	struct goods_products x = { out, a, 0, 0, p };
	struct db_val in[] = { DBV_I64(id) };
	struct db_col g[] = { DBC_I64(&out->id), DBC_STR(out->name, sizeof(out->name)),
	    DBC_I64(&out->sales) };
	struct db_col pc[] = { DBC_I64(&x.pid) };
	enum db_rc rc;
	int found;

	memset(out, 0, sizeof(*out));
	if ((rc = db_one(db, ST_GOODS_GET, in, 1, g, 3, &found)) != DB_OK)
		return db_done(db, rc, p);
	if (!found) {
		problem_set(p, PROB_NOT_FOUND, "no goods %" PRId64, id);
		return -1;
	}
	return db_done(db, db_each(db, ST_GOODS_PRODUCTS, in, 1, pc, 1, goods_product_take, &x),
	    p);
}
