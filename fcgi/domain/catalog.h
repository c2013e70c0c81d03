/* catalog.h - products and goods as the API creates and reads them.
 *
 * Structs in, structs out: the statements are the store's (store/db.c), the
 * JSON is the views' (views/catalog_json.h). Every write is one transaction
 * through db_txn_hooked(); a restock leaves prodcache_changed() for after its
 * COMMIT and clears the product's sold-out mark. */
#ifndef ORDERD_CATALOG_H
#define ORDERD_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/problem.h"
#include "domain/dberr.h"
#include "domain/inventory.h"
#include "store/db.h"

/* A product to create: goods 0 = none; name NUL-terminated, len bytes. */
struct product_new {
	int64_t goods;
	const char *name;
	size_t name_len;
	int64_t price;
	int64_t stock;
};

/* A goods row and the ids of its products (ascending, in the arena). */
struct goods {
	int64_t id;
	char name[PRODUCT_NAME_MAX];
	int64_t sales;
	int64_t *products;
	size_t nproducts;
};

/* One page of products with id > after, at most limit (db_page()): 0 with
 * pg->rows = struct product[pg->n], or -1 with p (503/500). */
int	catalog_products(struct db *, struct arena *, int64_t after, long limit,
	    struct db_page *pg, struct problem *p);

/* Product id, from the pool's product cache when fresh. 0, or -1 with p
 * (404, 503, 500). */
int	catalog_product(struct db *, int64_t id, struct product *out, struct problem *p);

/* A catalog write on the product *out names (one transaction with hooks
 * h): 0 with *out as it is after the write, or -1 with p. out->id is the
 * product acted on also when the outcome is unknown. */

/* Creates nw: out->id is the new product's (known at COMMIT). -1 with p =
 * 422 (field "goods") when nw->goods names no goods, 503, 500. */
int	catalog_product_create(struct db *, const struct product_new *nw,
	    const struct db_hooks *h, struct product *out, struct problem *p);

/* Adds quantity to the stock of product out->id (set by the caller) and
 * records the restock. -1 with p = 404 when there is no such product. */
int	catalog_product_restock(struct db *, int64_t quantity, const struct db_hooks *h,
	    struct product *out, struct problem *p);

/* Creates goods name (len bytes) (one transaction with hooks h): 0 with
 * *id, or -1 with p (503, 500; *id is known when the outcome is unknown). */
int	catalog_goods_create(struct db *, const char *name, size_t len,
	    const struct db_hooks *h, int64_t *id, struct problem *p);

/* Goods id and its products (in the arena). 0, or -1 with p (404, 503,
 * 500). */
int	catalog_goods(struct db *, struct arena *, int64_t id, struct goods *out,
	    struct problem *p);

#endif
