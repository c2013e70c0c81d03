#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "log.h"
#include "soldout.h"
#include "response.h"

#define OPTIMISTIC_TRIES	64	/* re-reads of one row before giving up */

static int
line_cmp(const void *a, const void *b)
{
	const struct line *x = a, *y = b;

	return (x->product > y->product) - (x->product < y->product);
}

long
inv_merge_lines(struct line *lines, size_t n, int64_t max_quantity)
{
	size_t i, out = 0;

	if (n == 0)
		return 0;
	qsort(lines, n, sizeof(*lines), line_cmp);
	for (i = 1; i < n; i++) {
		if (lines[i].product == lines[out].product) {
			if (lines[out].quantity > max_quantity - lines[i].quantity)
				return -1;
			lines[out].quantity += lines[i].quantity;
		} else
			lines[++out] = lines[i];
	}
	return (long)out + 1;
}

void
inv_out_of_stock(struct problem *p, int64_t product, int64_t available, int64_t wanted)
{
	if (available == 0)
		soldout_mark(product);
	problem_set(p, PROB_OUT_OF_STOCK, "only %lld left of product %lld, %lld wanted",
	    (long long)available, (long long)product, (long long)wanted);
	problem_add_int(p, "product", product);
	problem_add_int(p, "available", available);
}

/* Reads price, stock, goods and version of one product, locking it when
 * lock is set. DB_ABORT with a 404 when there is no such product. */
static enum db_rc
read_row(struct db *db, int64_t id, int lock, int64_t *price, int64_t *stock,
    int64_t *goods, int64_t *version, struct problem *p)
{
	enum stmt st = lock ? ST_PRODUCT_LOCK : ST_PRODUCT_READ;
	struct db_val in[] = { DBV_I64(id) };
	struct db_col out[] = { DBC_I64(price), DBC_I64(stock), DBC_I64(goods), DBC_I64(version) };
	enum db_rc rc;
	int found;

	if ((rc = db_one(db, st, in, 1, out, 4, &found)) != DB_OK)
		return rc;
	if (!found) {
		problem_set(p, PROB_NOT_FOUND, "no product %lld", (long long)id);
		problem_add_int(p, "product", id);
		return DB_ABORT;
	}
	if (out[2].is_null)
		*goods = 0;
	return DB_OK;
}

/* Adds delta to the sales of each goods row the lines belong to, in
 * ascending goods id (after all product rows: rule 4). */
static enum db_rc
goods_sales(struct db *db, const struct line *lines, size_t n, int sign)
{
	int64_t done = 0;

	for (;;) {
		int64_t next = 0, sum = 0;
		size_t i;
		enum db_rc rc;

		for (i = 0; i < n; i++)
			if (lines[i].goods > done && (next == 0 || lines[i].goods < next))
				next = lines[i].goods;
		if (next == 0)
			return DB_OK;
		for (i = 0; i < n; i++)
			if (lines[i].goods == next)
				sum += lines[i].quantity;
		{
			struct db_val in[] = { DBV_I64(sign * sum), DBV_I64(next) };

			if ((rc = db_exec(db, ST_GOODS_SALES, in, 2)) != DB_OK)
				return rc;
		}
		done = next;
	}
}

static enum db_rc
take_forupdate(struct db *db, struct line *l, struct problem *p)
{
	int64_t stock, version;
	enum db_rc rc;

	if ((rc = read_row(db, l->product, 1, &l->price, &stock, &l->goods, &version, p)) != DB_OK)
		return rc;
	if (stock < l->quantity) {
		inv_out_of_stock(p, l->product, stock, l->quantity);
		return DB_ABORT;
	}
	{
		struct db_val in[] = { DBV_I64(l->quantity), DBV_I64(l->quantity), DBV_I64(l->product) };

		return db_exec(db, ST_PRODUCT_TAKE, in, 3);
	}
}

static enum db_rc
take_optimistic(struct db *db, struct line *l, struct problem *p)
{
	int64_t stock, version;
	enum db_rc rc;
	int tries;

	for (tries = 0; tries < OPTIMISTIC_TRIES; tries++) {
		if ((rc = read_row(db, l->product, 0, &l->price, &stock, &l->goods, &version, p)) != DB_OK)
			return rc;
		if (stock < l->quantity) {
			inv_out_of_stock(p, l->product, stock, l->quantity);
			return DB_ABORT;
		}
		{
			struct db_val in[] = { DBV_I64(l->quantity), DBV_I64(l->quantity),
			    DBV_I64(l->product), DBV_I64(version), DBV_I64(l->quantity) };

			if ((rc = db_exec(db, ST_PRODUCT_TAKE_VERSIONED, in, 5)) != DB_OK)
				return rc;
		}
		if (db->affected == 1)
			return DB_OK;
		/* Someone changed the row since we read it: read it again. */
	}
	db->last_errno = 0;
	strcpy(db->last_error, "optimistic update kept losing the race");
	return DB_RETRY;
}

enum db_rc
inv_take(struct db *db, enum lock_mode mode, struct line *lines, size_t n, struct problem *p)
{
	enum db_rc rc;
	size_t i;

	for (i = 0; i < n; i++) {
		rc = mode == LOCK_OPTIMISTIC ? take_optimistic(db, &lines[i], p) :
		    take_forupdate(db, &lines[i], p);
		if (rc != DB_OK)
			return rc;
	}
	return goods_sales(db, lines, n, 1);
}

enum db_rc
inv_give(struct db *db, const struct line *lines, size_t n)
{
	enum db_rc rc;
	size_t i;

	for (i = 0; i < n; i++) {
		struct db_val in[] = { DBV_I64(lines[i].quantity), DBV_I64(lines[i].quantity),
		    DBV_I64(lines[i].product) };

		if ((rc = db_exec(db, ST_PRODUCT_GIVE, in, 3)) != DB_OK)
			return rc;
		soldout_clear(lines[i].product);
		if (db->affected != 1) {
			log_error("abort: product %lld of an order is missing",
			    (long long)lines[i].product);
			return DB_ERR;
		}
	}
	return goods_sales(db, lines, n, -1);
}

enum db_rc
inv_get(struct db *db, int64_t id, struct product *pr, struct problem *p)
{
	struct db_val in[] = { DBV_I64(id) };
	struct db_col out[] = { DBC_I64(&pr->id), DBC_I64(&pr->goods),
	    DBC_STR(pr->name, sizeof(pr->name)), DBC_I64(&pr->price), DBC_I64(&pr->stock),
	    DBC_I64(&pr->sales) };
	enum db_rc rc;
	int found;

	if ((rc = db_one(db, ST_PRODUCT_GET, in, 1, out, 6, &found)) != DB_OK)
		return rc;
	if (!found) {
		problem_set(p, PROB_NOT_FOUND, "no product %lld", (long long)id);
		return DB_ABORT;
	}
	if (out[1].is_null)
		pr->goods = 0;
	return DB_OK;
}

cJSON *
inv_product_json(const struct product *pr)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	resp_add_int(o, "id", pr->id);
	cJSON_AddStringToObject(o, "name", pr->name);
	if (pr->goods > 0)
		resp_add_int(o, "goods", pr->goods);
	else
		cJSON_AddNullToObject(o, "goods");
	resp_add_int(o, "price", pr->price);
	resp_add_int(o, "stock", pr->stock);
	resp_add_int(o, "sales", pr->sales);
	return o;
}
