/* html.h - HTML fragments for the pages, so that they work without
 * JavaScript: nginx's SSI includes GET /product/?format=html and
 * GET /order/?format=html into the pages.
 *
 * Every string from the database is escaped (& < > " '). Each form carries
 * the caller's CSRF token (empty for anonymous callers), a fresh random
 * idempotency_key, and next = next_path, so that a plain form post comes back
 * to the page it was sent from. Functions return NUL-terminated HTML in the
 * arena, or NULL when out of memory. */
#ifndef ORDERD_HTML_H
#define ORDERD_HTML_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "domain/accounts.h"
#include "domain/inventory.h"
#include "domain/orders.h"

/* Writes s escaped for HTML text and attribute values. */
char	*html_escape(struct arena *, const char *s);

/* A table of products (name, price, stock) with an order form per row
 * (product, quantity 1..10000, Order button); more_after > 0 adds a "More"
 * link to ?format=html&after=more_after. */
char	*html_products(struct arena *, const struct product *ps, size_t n, int64_t more_after,
	    const char *csrf, const char *next_path);

/* A list of orders (id, lines by product id with quantity and price, total,
 * status) with Pay (placed balance orders, owner only), Cancel (placed or
 * paid) and, for an administrator, Ship forms. */
char	*html_orders(struct arena *, const struct order *os, size_t n, int64_t more_after,
	    const char *csrf, const char *next_path, int64_t viewer, int admin);

/* A table of ledger entries (when, what, amount), newest first; more_after
 * > 0 adds an "Older entries" link to ?after=more_after. */
char	*html_ledger(struct arena *, const struct ledger_entry *es, size_t n,
	    int64_t more_after);

#endif
