/* inventory.h - products and their stock.
 *
 * inv_take() and inv_give() are the one path by which stock moves for
 * orders: every caller (single order, checkout, abort) goes through them,
 * inside a transaction the caller opened (docs/design.md rules 1-4). */
#ifndef ORDERD_INVENTORY_H
#define ORDERD_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include "base/conf.h"
#include "store/db.h"
#include "base/problem.h"
#include "shm/product.h"

/* One order line. product and quantity come from the caller; price (at the
 * time of purchase) and goods are filled by inv_price(). */
struct line {
	int64_t product;
	int64_t quantity;
	int64_t price;
	int64_t goods;
};

/* Sorts lines by product id and merges repeats (rule 4). Returns the new
 * count, or -1 when a merged quantity exceeds max_quantity. */
long	inv_merge_lines(struct line *lines, size_t n, int64_t max_quantity);

/* Fills in price and goods of every line without locking anything: from
 * what this worker has already read (a product's price and goods never
 * change), else with a plain read. A product that does not exist gets a
 * price no row has, for inv_take() to answer 404 in its turn. DB_OK or a
 * db_rc. */
enum db_rc inv_price(struct db *, struct line *lines, size_t n);

/* Takes quantity of every line (priced, sorted, merged) from stock, adds
 * it to product and goods sales and inserts the lines of order, inside the
 * caller's transaction. forupdate: per line, one CALL orderd_take_line
 * (db/migrations/003) locks the row with SELECT ... FOR UPDATE, checks price
 * and stock, UPDATEs stock = stock - n and inserts the line. optimistic:
 * per line, one conditional UPDATE ... WHERE id = ? AND stock >= ? AND
 * price = ? locks, checks and takes at once (when it changes nothing a plain
 * read says why), then the line is inserted. Either way a row whose price
 * differs from the line's gives DB_RETRY (the caller's transaction starts
 * again, priced anew). Returns DB_OK; DB_ABORT with p = 404 (no such
 * product) or 409 /problems/out-of-stock naming the first short product;
 * or a db_rc. */
enum db_rc inv_take(struct db *, enum lock_mode, int64_t order, const struct line *lines,
	    size_t n, struct problem *p);

/* Gives back stock and sales of every line (sorted) inside the caller's
 * transaction, which already holds the order row's lock. */
enum db_rc inv_give(struct db *, const struct line *lines, size_t n);

/* Sets p to 409 /problems/out-of-stock (product, available). (The callers
 * that saw the stock under the row's lock mark the product sold out.) */
void	inv_out_of_stock(struct problem *p, int64_t product, int64_t available, int64_t wanted);

/* Reads (no lock). Return DB_OK, DB_ABORT with p = 404, or a db_rc. */
enum db_rc inv_get(struct db *, int64_t id, struct product *out, struct problem *p);

#endif
