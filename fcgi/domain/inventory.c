#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysqld_error.h>

#include "domain/inventory.h"
#include "base/log.h"
#include "shm/prodcache.h"
#include "shm/soldout.h"

#define OPTIMISTIC_TRIES	8	/* conditional UPDATEs of one row before giving up */

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
	problem_set(p, PROB_OUT_OF_STOCK, "only %lld left of product %lld, %lld wanted",
	    (long long)available, (long long)product, (long long)wanted);
	problem_add_int(p, "product", product);
	problem_add_int(p, "available", available);
}

/* Price and goods of each product this worker has seen. No statement
 * changes either once the product exists, so an order can be priced and
 * its order row inserted before any product row is locked: the rows then
 * stay locked only for the stock UPDATE, the line INSERTs and COMMIT
 * (design.md rule 7). Both lock paths still check the price under the
 * lock, so a stale entry costs one retry, never a wrong price. */
#define PRICE_SLOTS	4096
#define PRICE_UNKNOWN	(-1)	/* inv_price() found no such product */

static struct priced {
	int64_t product;	/* 0 = empty */
	int64_t price;
	int64_t goods;
} prices[PRICE_SLOTS];

static struct priced *
price_slot(int64_t product)
{
	return &prices[(uint64_t)product % PRICE_SLOTS];
}

static void
price_note(int64_t product, int64_t price, int64_t goods)
{
	struct priced *e = price_slot(product);

	e->product = product;
	e->price = price;
	e->goods = goods;
}

/* Reads price, stock and goods of one product, without a lock or (locked)
 * with SELECT ... FOR UPDATE; *found = 0 when there is none. */
static enum db_rc
lookup(struct db *db, int64_t id, int locked, int64_t *price, int64_t *stock, int64_t *goods,
    int *found)
{
	struct db_val in[] = { DBV_I64(id) };
	struct db_col out[] = { DBC_I64(price), DBC_I64(stock), DBC_I64(goods) };
	enum db_rc rc;

	if ((rc = db_one(db, locked ? ST_PRODUCT_READ_LOCKED : ST_PRODUCT_READ, in, 1, out, 3,
	    found)) != DB_OK || !*found)
		return rc;
	if (out[2].is_null)
		*goods = 0;
	price_note(id, *price, *goods);
	return DB_OK;
}

static enum db_rc
no_product(struct problem *p, int64_t id)
{
	problem_set(p, PROB_NOT_FOUND, "no product %lld", (long long)id);
	problem_add_int(p, "product", id);
	return DB_ABORT;
}

/* lookup(), with DB_ABORT and a 404 when there is no such product. */
static enum db_rc
read_row(struct db *db, int64_t id, int locked, int64_t *price, int64_t *stock,
    int64_t *goods, struct problem *p)
{
	enum db_rc rc;
	int found;

	if ((rc = lookup(db, id, locked, price, stock, goods, &found)) != DB_OK)
		return rc;
	return found ? DB_OK : no_product(p, id);
}

enum db_rc
inv_price(struct db *db, struct line *lines, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct line *l = &lines[i];
		const struct priced *e = price_slot(l->product);
		int64_t stock;
		enum db_rc rc;
		int found;

		if (e->product == l->product) {
			l->price = e->price;
			l->goods = e->goods;
			continue;
		}
		if ((rc = lookup(db, l->product, 0, &l->price, &stock, &l->goods, &found)) != DB_OK)
			return rc;
		if (!found) {
			/* inv_take() answers 404 when it comes to this line:
			 * a short product with a lower id is named first. */
			l->price = PRICE_UNKNOWN;
			l->goods = 0;
		}
	}
	return DB_OK;
}

/* The row's price or goods differ from what the order was priced with:
 * remember the row's and start the transaction again. */
static enum db_rc
repriced(struct db *db, const struct line *l)
{
	log_info("product %lld: price or goods changed while ordering; retrying",
	    (long long)l->product);
	db->last_errno = 0;
	snprintf(db->last_error, sizeof(db->last_error), "product %lld was repriced",
	    (long long)l->product);
	return DB_RETRY;
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
insert_line(struct db *db, int64_t order, const struct line *l)
{
	struct db_val in[] = { DBV_I64(order), DBV_I64(l->product), DBV_I64(l->quantity),
	    DBV_I64(l->price) };

	return db_exec(db, ST_LINE_INSERT, in, 4);
}

/* orderd_take_line (db/migrations/003) locks the row FOR UPDATE, checks
 * price and stock, takes the stock and inserts the line in one round trip;
 * what stops it comes back as a SIGNAL naming the reason. */
static enum db_rc
take_forupdate(struct db *db, int64_t order, const struct line *l, struct problem *p)
{
	struct db_val in[] = { DBV_I64(order), DBV_I64(l->product), DBV_I64(l->quantity),
	    DBV_I64(l->price) };
	long long product, available;
	enum db_rc rc;

	if ((rc = db_exec(db, ST_TAKE_LINE, in, 4)) != DB_ERR || db->last_errno != ER_SIGNAL_EXCEPTION)
		return rc;
	if (sscanf(db->last_error, "orderd:out-of-stock:%lld:%lld", &product, &available) == 2) {
		/* Seen under the row lock, which this transaction holds until
		 * it ends: a restock (which clears the mark) comes after. */
		if (available == 0)
			soldout_mark(l->product);
		inv_out_of_stock(p, l->product, available, l->quantity);
		return DB_ABORT;
	}
	if (sscanf(db->last_error, "orderd:not-found:%lld", &product) == 1)
		return no_product(p, l->product);
	if (sscanf(db->last_error, "orderd:repriced:%lld", &product) == 1) {
		int64_t price, stock, goods;

		/* Read the row's price (and remember it) for the next attempt. */
		if ((rc = read_row(db, l->product, 0, &price, &stock, &goods, p)) != DB_OK)
			return rc;
		return repriced(db, l);
	}
	return rc;
}

/* One conditional UPDATE locks, checks and takes; only when it changes no
 * row does a read tell why (gone, short, repriced, or restocked in between:
 * then the UPDATE runs again). That read locks the row: a sold-out mark is
 * set only from stock seen under a lock this transaction holds until it
 * ends, so a restock, which clears the mark after its own UPDATE of the
 * row, always comes after the mark. (A failed conditional UPDATE keeps no
 * lock at READ COMMITTED, and a plain read could see the stock just before
 * a restock commits and mark it just after the restock cleared the mark.) */
static enum db_rc
take_optimistic(struct db *db, int64_t order, const struct line *l, struct problem *p)
{
	int64_t price, stock, goods;
	enum db_rc rc;
	int tries;

	for (tries = 0; tries < OPTIMISTIC_TRIES; tries++) {
		struct db_val in[] = { DBV_I64(l->quantity), DBV_I64(l->quantity),
		    DBV_I64(l->product), DBV_I64(l->quantity), DBV_I64(l->price) };

		if ((rc = db_exec(db, ST_PRODUCT_TAKE_IF, in, 5)) != DB_OK)
			return rc;
		if (db->affected == 1)
			return insert_line(db, order, l);
		if ((rc = read_row(db, l->product, 1, &price, &stock, &goods, p)) != DB_OK)
			return rc;
		if (price != l->price || goods != l->goods)
			return repriced(db, l);
		if (stock < l->quantity) {
			if (stock == 0)
				soldout_mark(l->product);
			inv_out_of_stock(p, l->product, stock, l->quantity);
			return DB_ABORT;
		}
	}
	db->last_errno = 0;
	strcpy(db->last_error, "the stock of a product kept changing under the conditional update");
	return DB_RETRY;
}

/* The rows of lines' products change in this transaction: once it has
 * committed, no product entry read before is served (prodcache.h). */
static enum db_rc
products_changed(struct db *db, const struct line *lines, size_t n)
{
	enum db_rc rc;
	size_t i;

	for (i = 0; i < n; i++)
		if ((rc = db_after_commit(db, prodcache_changed, lines[i].product)) != DB_OK)
			return rc;
	return DB_OK;
}

enum db_rc
inv_take(struct db *db, enum lock_mode mode, int64_t order, const struct line *lines,
    size_t n, struct problem *p)
{
	enum db_rc rc;
	size_t i;

	if ((rc = products_changed(db, lines, n)) != DB_OK)
		return rc;
	for (i = 0; i < n; i++) {
		rc = mode == LOCK_OPTIMISTIC ? take_optimistic(db, order, &lines[i], p) :
		    take_forupdate(db, order, &lines[i], p);
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

	if ((rc = products_changed(db, lines, n)) != DB_OK)
		return rc;
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
	price_note(pr->id, pr->price, pr->goods);
	return DB_OK;
}
