/* catalog_json.h - JSON of the catalog's structs (domain/catalog.h). A
 * product's object is inv_product_json(). */
#ifndef ORDERD_CATALOG_JSON_H
#define ORDERD_CATALOG_JSON_H

#include <cJSON.h>

#include "domain/catalog.h"

/* {"id", "name", "sales", "products": [ids]}; NULL when out of memory. */
cJSON	*goods_json(const struct goods *);

#endif
