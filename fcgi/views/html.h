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

/* A product's name for a line, or NULL (shown as "Product No. N"). */
typedef const char *(*html_name_fn)(void *ctx, int64_t product);

/* A list of orders (id, lines by product name(name_ctx, id) with quantity
 * and price, total, status) with Pay (placed balance orders, owner only),
 * Cancel (placed or paid) and, for an administrator, Ship forms. name may be
 * NULL. */
char	*html_orders(struct arena *, const struct order *os, size_t n, int64_t more_after,
	    const char *csrf, const char *next_path, int64_t viewer, int admin, html_name_fn name,
	    void *name_ctx);

#define HTML_CART_QUANTITY	10000

/* A line of the cart cookie with its product (found 0: no such product). */
struct html_cart_line {
	int64_t product;
	int64_t quantity;
	int found;
	struct product p;
};

/* The cart: a table of its lines (name, price, a quantity form posting to
 * /cart/<id>/, the amount, a Remove form posting to /cart/<id>/remove/),
 * the items, freight and total, and hidden items[i][product] /
 * items[i][quantity] inputs of the form whose id is checkout_form. An empty
 * cart is a sentence with a link to the shop. */
char	*html_cart(struct arena *, const struct html_cart_line *ls, size_t n, int64_t freight,
	    const char *csrf, const char *next_path, const char *checkout_form);

/* A table of ledger entries (when, what, amount), newest first; more_after
 * > 0 adds an "Older entries" link to ?after=more_after. */
char	*html_ledger(struct arena *, const struct ledger_entry *es, size_t n,
	    int64_t more_after);

#endif
