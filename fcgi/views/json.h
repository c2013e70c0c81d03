/* json.h - the JSON renderings of the domain's structs, as the API answers
 * them (docs/api.md gives every field). Each returns a new cJSON object (the
 * caller deletes it), or NULL when out of memory; members come in the order
 * the API documents, integers exact (base/fmt.h), times ISO 8601 UTC. */
#ifndef ORDERD_JSON_H
#define ORDERD_JSON_H

#include <cJSON.h>

#include "domain/accounts.h"
#include "domain/inventory.h"
#include "domain/orders.h"

/* {"id", "name", "goods" (null = none), "price", "stock", "sales"} */
cJSON	*inv_product_json(const struct product *);

/* {"id", "user" (null = none), "status", "pay_method", "lines": [{"product",
 * "quantity", "price"}], "total_count", "freight", "total_amount",
 * "created_at", "pay_by" (null unless a placed balance order)} */
cJSON	*order_json(const struct order *);

/* {"id", "username", "role", "balance"} */
cJSON	*acct_json(const struct account *);

/* {"id", "kind", "amount", "order", "counterparty", "created_at"} */
cJSON	*acct_ledger_json(const struct ledger_entry *);

#endif
