/* product.h - a product row as the product cache (prodcache.h) holds it and
 * the domain (domain/inventory.h, domain/catalog.h) reads and writes it. */
#ifndef ORDERD_PRODUCT_H
#define ORDERD_PRODUCT_H

#include <stdint.h>

#define PRODUCT_NAME_MAX	(200 * 4 + 1)	/* 200 characters of utf8mb4 */

struct product {
	int64_t id;
	int64_t goods;		/* 0 = none */
	char name[PRODUCT_NAME_MAX];
	int64_t price;
	int64_t stock;
	int64_t sales;
};

#endif
