/* cart.c - the pages' cart: /cart/. It lives in the browser's cookie
 * orderd_cart ("3:2-5:1": product:quantity pairs, http/hdr.h), so that a
 * cart works without JavaScript and app.js reads and writes the same one.
 * Nothing is stored on the server; a cookie that does not parse strictly
 * is an empty cart. A browser form post is answered 303 with the new cookie. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/apiint.h"
#include "base/conf.h"
#include "domain/catalog.h"
#include "http/hdr.h"
#include "views/html.h"

#define CART_MAX_AGE	(30 * 24 * 3600)	/* seconds the cookie is kept */
#define CART_VALUE_MAX	(HDR_CART_LINES * 26 + 1)	/* 19 digits ':' 5 digits '-' */

struct cart {
	struct hdr_cart_line l[HDR_CART_LINES];
	size_t n;
};

/* The request's cart (empty when absent or malformed). */
static void
cart_read(const struct call *c, struct cart *cart)
{
	const struct req_input *in = c->req->in;
	const char *v;
	long len;
	int n;

	cart->n = 0;
	if (in == NULL || in->cookie == NULL ||
	    (len = hdr_cookie(in->cookie, HDR_CART_COOKIE, &v)) < 0)
		return;
	if ((n = hdr_cart(v, (size_t)len, cart->l, HDR_CART_LINES)) > 0)
		cart->n = (size_t)n;
}

/* Sets the cookie to cart (removes it when empty). */
static void
cart_cookie(struct call *c, const struct cart *cart)
{
	char v[CART_VALUE_MAX], h[CART_VALUE_MAX + 96];

	if (cart->n == 0 || hdr_cart_format(cart->l, cart->n, v, sizeof(v)) < 0)
		snprintf(h, sizeof(h), "%s=; Path=/; SameSite=Strict; Max-Age=0", HDR_CART_COOKIE);
	else
		snprintf(h, sizeof(h), "%s=%s; Path=/; SameSite=Strict; Max-Age=%d",
		    HDR_CART_COOKIE, v, CART_MAX_AGE);
	resp_header(c->resp, "Set-Cookie", h);
}

void
cart_clear_cookie(struct call *c)
{
	const struct req_input *in = c->req->in;
	const char *v;
	struct cart empty = { .n = 0 };

	if (in != NULL && in->cookie != NULL && hdr_cookie(in->cookie, HDR_CART_COOKIE, &v) >= 0)
		cart_cookie(c, &empty);
}

static cJSON *
cart_json(const struct cart *cart)
{
	cJSON *o = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(o, "items");
	size_t i;

	if (o == NULL || items == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	for (i = 0; i < cart->n; i++) {
		cJSON *it = cJSON_CreateObject();

		if (it == NULL || cJSON_AddNumberToObject(it, "product",
		    (double)cart->l[i].product) == NULL ||
		    cJSON_AddNumberToObject(it, "quantity", (double)cart->l[i].quantity) == NULL) {
			cJSON_Delete(it);
			cJSON_Delete(o);
			return NULL;
		}
		cJSON_AddItemToArray(items, it);
	}
	return o;
}

/* The answer of a change: the cookie, then 200 with the cart or a
 * browser's 303 (what: the outcome, product: what it acted on). */
static int
cart_answer(struct call *c, const struct cart *cart, const char *what, int64_t product)
{
	cart_cookie(c, cart);
	answer(c, 200, cart_json(cart), what, product);
	return 0;
}

static long
cart_find(const struct cart *cart, int64_t product)
{
	size_t i;

	for (i = 0; i < cart->n; i++)
		if (cart->l[i].product == product)
			return (long)i;
	return -1;
}

static int
quantity_ok(struct call *c, int64_t q)
{
	if (q >= 1 && q <= HDR_CART_QUANTITY)
		return 0;
	problem_set(&c->p, PROB_FIELD, "quantity must be 1 to %d", HDR_CART_QUANTITY);
	problem_add_str(&c->p, "field", "quantity");
	return -1;
}

/* GET /cart/: the cart as JSON {"items":[{"product","quantity"}]}, or with
 * ?format=html the fragment of cart.html (names, prices, forms). */
int
cart_get_h(struct call *c)
{
	struct html_cart_line *ls;
	struct cart cart;
	const char *html;
	size_t i;
	int h;

	cart_read(c, &cart);
	if ((h = want_html(c)) < 0)
		return -1;
	if (h == 0) {
		answer(c, 200, cart_json(&cart), NULL, 0);
		return 0;
	}
	if ((ls = arena_alloc(c->ctx->arena, (cart.n + 1) * sizeof(*ls))) == NULL) {
		problem_set(&c->p, PROB_INTERNAL, "out of memory");
		return -1;
	}
	for (i = 0; i < cart.n; i++) {
		struct problem p;

		memset(&ls[i], 0, sizeof(ls[i]));
		memset(&p, 0, sizeof(p));
		ls[i].product = cart.l[i].product;
		ls[i].quantity = cart.l[i].quantity;
		if (catalog_product(c->ctx->db, cart.l[i].product, &ls[i].p, &p) == 0)
			ls[i].found = 1;
		else if (p.kind != PROB_NOT_FOUND) {
			c->p = p;	/* 503: the page shows its stub */
			return -1;
		}
	}
	html = html_cart(c->ctx->arena, ls, cart.n, c->ctx->conf->freight, form_csrf(c),
	    form_next(c), "checkout");
	return answer_html(c, html);
}

/* POST /cart/ product[, quantity=1]: adds to the product's line (at most
 * HDR_CART_QUANTITY of it); an unknown product is a 404. */
int
cart_add_h(struct call *c)
{
	const struct field_val *f = c->req->f;
	struct cart cart;
	struct product p;
	int64_t q;
	long i;

	if (fields(c, BIT(F_QUANTITY), BIT(F_PRODUCT)) != 0)
		return -1;
	q = f[F_QUANTITY].set ? f[F_QUANTITY].i : 1;
	if (quantity_ok(c, q) != 0)
		return -1;
	if (catalog_product(c->ctx->db, f[F_PRODUCT].i, &p, &c->p) != 0) {
		if (c->p.kind == PROB_NOT_FOUND)
			problem_add_int(&c->p, "product", f[F_PRODUCT].i);
		return -1;
	}
	cart_read(c, &cart);
	if ((i = cart_find(&cart, p.id)) >= 0) {
		q += cart.l[i].quantity;
		cart.l[i].quantity = q > HDR_CART_QUANTITY ? HDR_CART_QUANTITY : q;
	} else if (cart.n == HDR_CART_LINES) {
		problem_set(&c->p, PROB_FIELD, "the cart holds at most %d products",
		    HDR_CART_LINES);
		problem_add_str(&c->p, "field", "product");
		return -1;
	} else {
		cart.l[cart.n].product = p.id;
		cart.l[cart.n++].quantity = q;
	}
	return cart_answer(c, &cart, "cart-added", p.id);
}

/* POST /cart/<product>/ quantity: sets the quantity of a line in the cart
 * (404 when the cart has none of it). */
int
cart_set_h(struct call *c)
{
	struct cart cart;
	long i;

	if (fields(c, 0, BIT(F_QUANTITY)) != 0 || quantity_ok(c, c->req->f[F_QUANTITY].i) != 0)
		return -1;
	cart_read(c, &cart);
	if ((i = cart_find(&cart, c->route->id)) < 0) {
		problem_set(&c->p, PROB_NOT_FOUND, "product %" PRId64 " is not in the cart",
		    c->route->id);
		problem_add_int(&c->p, "product", c->route->id);
		return -1;
	}
	cart.l[i].quantity = c->req->f[F_QUANTITY].i;
	return cart_answer(c, &cart, "cart-updated", c->route->id);
}

/* POST /cart/<product>/remove/: the line goes (none there: the same). */
int
cart_remove_h(struct call *c)
{
	struct cart cart;
	long i;

	if (fields(c, 0, 0) != 0)
		return -1;
	cart_read(c, &cart);
	if ((i = cart_find(&cart, c->route->id)) >= 0) {
		memmove(&cart.l[i], &cart.l[i + 1], (cart.n - (size_t)i - 1) * sizeof(cart.l[0]));
		cart.n--;
	}
	return cart_answer(c, &cart, "cart-removed", c->route->id);
}
