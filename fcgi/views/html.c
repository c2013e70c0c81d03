/* html.c - the product, order and ledger lists as HTML fragments, for the
 * pages' server-side includes (GET /product/?format=html, GET
 * /order/?format=html, GET /account/ledger/?format=html).
 *
 * The markup matches what htdocs/app.js renders from the JSON API, so a page
 * looks the same with and without JavaScript and nothing moves when the
 * script takes over. Every value from the database or the request is escaped;
 * numbers are formatted here. Output grows in the request's arena, bounded by
 * HTML_MAX; a list that would pass HTML_SOFT_MAX stops early and links to the
 * rest ("More"). */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "base/fmt.h"
#include "views/html.h"

#define HTML_MAX	(1u << 20)	/* bytes of one fragment, at most */
#define HTML_SOFT_MAX	(1u << 19)	/* stop adding list entries past this */
#define HTML_FIRST	4096		/* first buffer */
#define KEY_BYTES	16		/* random bytes of an idempotency key */

/* A string that grows in the arena. The old buffer is left to the arena
 * (freed with the request), so the waste is below the final size. */
struct hb {
	struct arena *a;
	char *s;
	size_t len;
	size_t cap;
	int failed;
};

static void
hb_init(struct hb *b, struct arena *a)
{
	b->a = a;
	b->len = 0;
	b->failed = 0;
	b->cap = HTML_FIRST;
	if ((b->s = arena_alloc(a, b->cap)) == NULL)
		b->failed = 1;
}

/* Makes room for n more bytes and the NUL. */
static int
hb_room(struct hb *b, size_t n)
{
	size_t cap;
	char *s;

	if (b->failed)
		return -1;
	if (n < b->cap - b->len)
		return 0;
	if (n >= HTML_MAX - b->len) {
		b->failed = 1;
		return -1;
	}
	for (cap = b->cap; n >= cap - b->len; cap *= 2)
		;
	if (cap > HTML_MAX)
		cap = HTML_MAX;
	if ((s = arena_alloc(b->a, cap)) == NULL) {
		b->failed = 1;
		return -1;
	}
	memcpy(s, b->s, b->len);
	b->s = s;
	b->cap = cap;
	return 0;
}

static void
hb_put(struct hb *b, const char *s, size_t n)
{
	if (hb_room(b, n) != 0)
		return;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
hb_str(struct hb *b, const char *s)
{
	hb_put(b, s, strlen(s));
}

static void hb_fmt(struct hb *, const char *, ...) __attribute__((format(printf, 2, 3)));

/* Formatted output of bounded size (numbers and fixed words only: never
 * text from the request or the database, which goes through hb_esc). */
static void
hb_fmt(struct hb *b, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		b->failed = 1;
		return;
	}
	hb_put(b, buf, (size_t)n);
}

/* Text escaped for element content and quoted attribute values. */
static void
hb_esc(struct hb *b, const char *s)
{
	const char *run = s, *rep;

	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		hb_put(b, run, (size_t)(s - run));
		hb_str(b, rep);
		run = s + 1;
	}
	hb_put(b, run, (size_t)(s - run));
}

/* Integer cents as "1234.50" (no floating point). */
static void
hb_money(struct hb *b, int64_t cents)
{
	uint64_t a = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;

	hb_fmt(b, "%s%" PRIu64 ".%02u", cents < 0 ? "-" : "", a / 100, (unsigned)(a % 100));
}

/* The hidden fields every form carries: csrf_token, a fresh random
 * idempotency_key (so a double click is one effect), and next. */
static void
hb_form_common(struct hb *b, const char *csrf, const char *next_path)
{
	unsigned char raw[KEY_BYTES];
	char hex[2 * KEY_BYTES + 1];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
	hb_str(b, "<input type=\"hidden\" name=\"csrf_token\" value=\"");
	hb_esc(b, csrf != NULL ? csrf : "");
	hb_str(b, "\"><input type=\"hidden\" name=\"idempotency_key\" value=\"");
	hb_str(b, hex);
	hb_str(b, "\"><input type=\"hidden\" name=\"next\" value=\"");
	hb_esc(b, next_path != NULL ? next_path : "/");
	hb_str(b, "\">");
}

static char *
hb_done(struct hb *b)
{
	return b->failed ? NULL : b->s;
}

char *
html_escape(struct arena *a, const char *s)
{
	struct hb b;

	hb_init(&b, a);
	hb_esc(&b, s);
	return hb_done(&b);
}

/* What the rows' forms carry and whom they are for. */
struct forms {
	const char *csrf;
	const char *next_path;
	int64_t viewer;
	int admin;
	html_name_fn name;	/* a product's name, or NULL */
	void *name_ctx;
};

/* The frame of a list fragment and how to write one of its rows. */
struct list {
	const char *empty;	/* the whole fragment when there are no rows */
	const char *head;	/* before the first row */
	const char *foot;	/* after the last */
	const char *more;	/* the "more" link: more<id> */
	const char *more_text;
	/* Writes row (an element of the rows) and returns its id. */
	int64_t	(*row)(struct hb *, const void *row, const struct forms *);
};

/* rows[0..n), each size bytes, framed by l; then, when more_after > 0, a
 * link to the rows after it. A list that passes HTML_SOFT_MAX stops early
 * and links to the rows after the last one written. */
static char *
hb_list(struct arena *a, const struct list *l, const void *rows, size_t size, size_t n,
    int64_t more_after, const struct forms *f)
{
	struct hb b;
	int64_t last = 0;
	size_t i;

	hb_init(&b, a);
	if (n == 0) {
		hb_str(&b, l->empty);
		return hb_done(&b);
	}
	hb_str(&b, l->head);
	for (i = 0; i < n && !b.failed; i++) {
		if (b.len > HTML_SOFT_MAX && i > 0) {
			more_after = last;
			break;
		}
		last = l->row(&b, (const char *)rows + i * size, f);
	}
	hb_str(&b, l->foot);
	if (more_after > 0)
		hb_fmt(&b, "<p class=\"more\"><a href=\"%s%" PRId64 "\">%s</a></p>\n", l->more,
		    more_after, l->more_text);
	return hb_done(&b);
}

/* --- products ------------------------------------------------------------ */

static int64_t
product_row(struct hb *b, const void *row, const struct forms *f)
{
	const struct product *p = row;
	int64_t id = p->id;
	int sold_out = p->stock <= 0;

	hb_fmt(b, "<tr id=\"product-%" PRId64 "\" data-product=\"%" PRId64 "\" data-price=\"%"
	    PRId64 "\" data-stock=\"%" PRId64 "\"%s>", id, id, p->price, p->stock,
	    sold_out ? " class=\"sold-out\"" : "");
	hb_fmt(b, "<th scope=\"row\"><span class=\"pname\" id=\"pn-%" PRId64 "\">", id);
	hb_esc(b, p->name);
	hb_fmt(b, "</span> <span class=\"pid\">No.&nbsp;%" PRId64 "</span></th>", id);
	hb_str(b, "<td class=\"num price\" data-label=\"Price\">");
	hb_money(b, p->price);
	/* The note takes its room even when hidden (CSS visibility), so a
	 * row does not move when its stock runs out or comes back. */
	hb_fmt(b, "</td><td class=\"num stock\" data-label=\"In stock\"><span class=\"stock-n\">%"
	    PRId64 "</span> <span class=\"sold-out-note\">sold out</span></td>", p->stock);
	hb_str(b, "<td class=\"act\"><form class=\"row-form\" method=\"post\" action=\"/order/\""
	    " data-kind=\"order\">");
	hb_fmt(b, "<input type=\"hidden\" name=\"product\" value=\"%" PRId64 "\">", id);
	hb_form_common(b, f->csrf, f->next_path);
	hb_fmt(b, "<label for=\"qty-%" PRId64 "\">Quantity<span class=\"vh\"> of ", id);
	hb_esc(b, p->name);
	hb_fmt(b, "</span></label><input id=\"qty-%" PRId64 "\" name=\"quantity\" type=\"number\""
	    " min=\"1\" max=\"%d\" step=\"1\" value=\"1\" inputmode=\"numeric\" required>", id,
	    ORDER_QUANTITY_MAX);
	hb_fmt(b, "<button type=\"submit\" aria-describedby=\"pn-%" PRId64 "\"%s>Order</button>",
	    id, sold_out ? " disabled" : "");
	/* Without JavaScript it posts the same form to the cart (a cookie). */
	hb_fmt(b, "<button type=\"submit\" formaction=\"/cart/\" class=\"secondary add-cart\""
	    " aria-describedby=\"pn-%" PRId64 "\"%s>Add to cart</button>", id,
	    sold_out ? " disabled" : "");
	hb_str(b, "<p class=\"msg\" role=\"status\"></p></form></td></tr>\n");
	return id;
}

static const struct list products_frame = {
	"<p class=\"empty\">No products yet.</p>\n",
	"<table class=\"list products\" data-list=\"products\">\n"
	    "<colgroup><col><col class=\"c-price\"><col class=\"c-stock\"><col class=\"c-order\">"
	    "</colgroup>\n"
	    "<thead><tr><th scope=\"col\">Product</th><th scope=\"col\" class=\"num\">Price</th>"
	    "<th scope=\"col\" class=\"num\">In stock</th><th scope=\"col\">Order</th></tr></thead>\n"
	    "<tbody>\n",
	"</tbody>\n</table>\n",
	"?format=html&amp;after=", "More products",
	product_row
};

char *
html_products(struct arena *a, const struct product *ps, size_t n, int64_t more_after,
    const char *csrf, const char *next_path)
{
	struct forms f = { csrf, next_path, 0, 0, NULL, NULL };

	return hb_list(a, &products_frame, ps, sizeof(*ps), n, more_after, &f);
}

/* --- orders -------------------------------------------------------------- */

static const char *
status_text(enum order_status status)
{
	switch (status) {
	case ORDER_PLACED:
		return "Placed";
	case ORDER_PAID:
		return "Paid";
	case ORDER_SHIPPED:
		return "Shipped";
	case ORDER_ABORTED:
		return "Cancelled";
	case ORDER_EXPIRED:
		return "Expired";
	}
	return "Unknown";
}

/* "12 min left" for the seconds until a payment deadline (as app.js's
 * timeLeft() writes it). */
static void
hb_time_left(struct hb *b, int64_t left)
{
	if (left <= 0)
		hb_str(b, "time is up");
	else if (left < 60)
		hb_fmt(b, "%" PRId64 " s left", left);
	else if (left < 3600)
		hb_fmt(b, "%" PRId64 " min left", (left + 59) / 60);
	else
		hb_fmt(b, "%" PRId64 " h %" PRId64 " min left", left / 3600, (left % 3600 + 59) / 60);
}

/* The payment window of a placed balance order (deadline and time left), or
 * the note that an order expired. */
static void
order_pay_by_note(struct hb *b, const struct order *o)
{
	char by[FMT_UTC_SIZE];
	int64_t t = order_pay_by(o);

	if (o->status == ORDER_EXPIRED) {
		hb_str(b, "<p class=\"pay-by expired\">Not paid in time: the order expired and its "
		    "items went back to stock.</p>");
		return;
	}
	if (t == 0 || fmt_utc(t, by) != 0)
		return;
	hb_fmt(b, "<p class=\"pay-by\" data-pay-by=\"%s\">Pay by <time datetime=\"%s\">", by, by);
	by[10] = ' ';
	by[16] = '\0';
	hb_fmt(b, "%s UTC</time> &middot; <span class=\"left\">", by);
	hb_time_left(b, t - (int64_t)time(NULL));
	hb_str(b, "</span></p>");
}

/* An action form of order id: action /order/<id>/<what>/; the button says
 * label (and amount, unless negative), and to screen readers also hidden id. */
static void
order_form(struct hb *b, int64_t id, const char *what, const char *cls, const char *label,
    int64_t amount, const char *hidden, const char *csrf, const char *next_path)
{
	hb_fmt(b, "<form method=\"post\" action=\"/order/%" PRId64 "/%s/\" data-kind=\"%s\">",
	    id, what, what);
	hb_form_common(b, csrf, next_path);
	hb_fmt(b, "<button type=\"submit\"%s>%s", cls, label);
	if (amount >= 0) {
		hb_str(b, " ");
		hb_money(b, amount);
	}
	hb_fmt(b, "<span class=\"vh\">%s%" PRId64 "</span></button></form>", hidden, id);
}

static int64_t
order_item(struct hb *b, const void *row, const struct forms *f)
{
	const struct order *o = row;
	const char *csrf = f->csrf, *next_path = f->next_path;
	int64_t viewer = f->viewer;
	int admin = f->admin;
	char when[FMT_UTC_SIZE];
	int placed = o->status == ORDER_PLACED;
	int paid = o->status == ORDER_PAID;
	int cod = strcmp(o->pay_method, "cod") == 0;
	int can_pay = placed && !cod && o->user == viewer && viewer != 0 &&
	    order_pay_by(o) > (int64_t)time(NULL);
	int can_cancel = placed || paid;
	int can_ship = admin && (paid || (placed && cod));
	size_t i;

	if (fmt_utc(o->created_at, when) != 0)
		snprintf(when, sizeof(when), "1970-01-01T00:00:00Z");
	hb_fmt(b, "<li class=\"order\" id=\"order-%" PRId64 "\" data-order=\"%" PRId64 "\""
	    " data-status=\"", o->id, o->id);
	hb_esc(b, order_status_name(o->status));
	hb_str(b, "\" data-pay-method=\"");
	hb_esc(b, o->pay_method);
	hb_fmt(b, "\" data-user=\"%" PRId64 "\" data-total=\"%" PRId64 "\">", o->user,
	    o->total_amount);
	hb_fmt(b, "<div class=\"order-head\"><h3>Order %" PRId64 "</h3> <span class=\"status"
	    " status-", o->id);
	hb_esc(b, order_status_name(o->status));
	hb_fmt(b, "\">%s</span></div>", status_text(o->status));
	hb_str(b, "<p class=\"order-meta\"><time datetime=\"");
	hb_str(b, when);
	hb_str(b, "\">");
	when[10] = ' ';
	when[16] = '\0';
	hb_str(b, when);
	hb_fmt(b, " UTC</time> &middot; %s", cod ? "Cash on delivery" : "Balance");
	if (admin)
		hb_fmt(b, " &middot; user %" PRId64, o->user);
	hb_str(b, "</p>");
	order_pay_by_note(b, o);
	hb_str(b, "<table class=\"lines\"><thead><tr><th scope=\"col\">Product</th>"
	    "<th scope=\"col\" class=\"num\">Qty</th><th scope=\"col\" class=\"num\">Price</th>"
	    "<th scope=\"col\" class=\"num\">Amount</th></tr></thead><tbody>");
	for (i = 0; i < o->nlines; i++) {
		const struct line *l = &o->lines[i];
		const char *pname = f->name != NULL ? f->name(f->name_ctx, l->product) : NULL;

		hb_fmt(b, "<tr data-product=\"%" PRId64 "\"><td class=\"pname\">", l->product);
		if (pname != NULL) {
			hb_esc(b, pname);
			hb_fmt(b, " <span class=\"pid\">No.&nbsp;%" PRId64 "</span>", l->product);
		} else
			hb_fmt(b, "Product No.&nbsp;%" PRId64, l->product);
		hb_fmt(b, "</td><td class=\"num\">%" PRId64 "</td><td class=\"num\">", l->quantity);
		hb_money(b, l->price);
		hb_str(b, "</td><td class=\"num\">");
		/* quantity <= 10^4 and price <= 10^12: no overflow. */
		hb_money(b, l->quantity * l->price);
		hb_str(b, "</td></tr>");
	}
	hb_str(b, "</tbody><tfoot><tr><th scope=\"row\" colspan=\"3\">Freight</th><td class=\"num\">");
	hb_money(b, o->freight);
	hb_fmt(b, "</td></tr><tr class=\"total\"><th scope=\"row\" colspan=\"3\">Total, %" PRId64
	    " item%s</th><td class=\"num\">", o->total_count, o->total_count == 1 ? "" : "s");
	hb_money(b, o->total_amount);
	hb_str(b, "</td></tr></tfoot></table>");
	if (can_pay || can_cancel || can_ship) {
		hb_str(b, "<div class=\"order-actions\">");
		if (can_pay)
			order_form(b, o->id, "pay", "", "Pay", o->total_amount, " for order ",
			    csrf, next_path);
		if (can_ship)
			order_form(b, o->id, "ship", "", "Ship", -1, " order ", csrf, next_path);
		if (can_cancel)
			order_form(b, o->id, "abort", " class=\"secondary\"", "Cancel", -1,
			    " order ", csrf, next_path);
		hb_str(b, "</div>");
	}
	hb_str(b, "<p class=\"msg\" role=\"status\"></p></li>\n");
	return o->id;
}

static const struct list orders_frame = {
	"<p class=\"empty\">No orders yet.</p>\n",
	"<ol class=\"orders\" data-list=\"orders\">\n",
	"</ol>\n",
	"?format=html&amp;after=", "Older orders",
	order_item
};

char *
html_orders(struct arena *a, const struct order *os, size_t n, int64_t more_after,
    const char *csrf, const char *next_path, int64_t viewer, int admin, html_name_fn name,
    void *name_ctx)
{
	struct forms f = { csrf, next_path, viewer, admin, name, name_ctx };

	return hb_list(a, &orders_frame, os, sizeof(*os), n, more_after, &f);
}

/* --- ledger -------------------------------------------------------------- */

static int64_t
ledger_row(struct hb *b, const void *row, const struct forms *f)
{
	const struct ledger_entry *e = row;
	const char *kind = e->kind, *who = e->has_who ? e->who : NULL;
	char at[FMT_UTC_SIZE], when[24];

	/* "2026-11-26T20:48:54Z" -> "2026-11-26 20:48" */
	if (fmt_utc(e->at, at) == 0 && strlen(at) >= 16 && at[10] == 'T') {
		memcpy(when, at, 16);
		when[10] = ' ';
		when[16] = '\0';
	} else
		snprintf(when, sizeof(when), "-");
	hb_fmt(b, "<tr data-entry=\"%" PRId64 "\"><td data-label=\"When\"><time datetime=\"", e->id);
	hb_esc(b, at);
	hb_str(b, "\">");
	hb_esc(b, when);
	hb_str(b, when[0] == '-' ? "</time></td><td class=\"wide\">" : " UTC</time></td><td class=\"wide\">");
	if (strcmp(kind, "credit") == 0)
		hb_str(b, "Credit");
	else if ((strcmp(kind, "payment") == 0 || strcmp(kind, "refund") == 0) && e->has_order)
		hb_fmt(b, "%s <a href=\"/orders.html#order-%" PRId64 "\">order %" PRId64 "</a>",
		    kind[0] == 'p' ? "Payment for" : "Refund of", e->order_id, e->order_id);
	else if (strcmp(kind, "transfer_in") == 0 || strcmp(kind, "transfer_out") == 0) {
		hb_str(b, kind[9] == 'i' ? "From " : "To ");
		hb_esc(b, who != NULL ? who : "someone");
	} else
		hb_esc(b, kind);
	hb_fmt(b, "</td><td class=\"num %s\" data-label=\"Amount\">%s",
	    e->amount < 0 ? "amount-out" : "amount-in",
	    e->amount < 0 ? "&minus;" : e->amount > 0 ? "+" : "");
	hb_money(b, e->amount < 0 ? -e->amount : e->amount);
	hb_str(b, "</td></tr>\n");
	(void)f;
	return e->id;
}

static const struct list ledger_frame = {
	"<p class=\"empty\">No money has come in or gone out yet.</p>\n",
	"<table class=\"list ledger\"><caption class=\"vh\">Money in and out, newest"
	    " first</caption>\n<colgroup><col class=\"c-when\"><col><col class=\"c-amount\"></colgroup>\n"
	    "<thead><tr><th scope=\"col\">When</th><th scope=\"col\">What</th>"
	    "<th scope=\"col\" class=\"num\">Amount</th></tr></thead>\n<tbody>\n",
	"</tbody>\n</table>\n",
	"?after=", "Older entries",
	ledger_row
};

/* The caller's ledger entries (acct_ledger(), newest first). For GET
 * /account/ledger/?format=html. */
char *
html_ledger(struct arena *a, const struct ledger_entry *es, size_t n, int64_t more_after)
{
	return hb_list(a, &ledger_frame, es, sizeof(*es), n, more_after, NULL);
}

/* --- cart ---------------------------------------------------------------- */

/* One line: name (or that it is no longer sold), a quantity form, its
 * amount and a Remove form. */
static void
cart_row(struct hb *b, const struct html_cart_line *l, const char *csrf, const char *next_path)
{
	int64_t id = l->product;

	hb_fmt(b, "<tr data-product=\"%" PRId64 "\"><th scope=\"row\"><span class=\"pname\""
	    " id=\"cpn-%" PRId64 "\">", id, id);
	if (l->found)
		hb_esc(b, l->p.name);
	else
		hb_fmt(b, "Product No.&nbsp;%" PRId64 " (no longer sold)", id);
	hb_fmt(b, "</span> <span class=\"pid\">No.&nbsp;%" PRId64 "</span>", id);
	if (l->found) {
		hb_fmt(b, "<span class=\"instock\">%" PRId64 " in stock &middot; ", l->p.stock);
		hb_money(b, l->p.price);
		hb_str(b, " each</span>");
	}
	hb_fmt(b, "</th><td class=\"num qty\" data-label=\"Quantity\"><form class=\"inline\""
	    " method=\"post\" action=\"/cart/%" PRId64 "/\">", id);
	hb_form_common(b, csrf, next_path);
	hb_fmt(b, "<label class=\"vh\" for=\"cart-q-%" PRId64 "\">Quantity of ", id);
	if (l->found)
		hb_esc(b, l->p.name);
	else
		hb_fmt(b, "product No. %" PRId64, id);
	hb_fmt(b, "</label><input id=\"cart-q-%" PRId64 "\" name=\"quantity\" type=\"number\""
	    " min=\"1\" max=\"%d\" step=\"1\" value=\"%" PRId64 "\" inputmode=\"numeric\""
	    " required> <button type=\"submit\" class=\"secondary\">Update<span class=\"vh\">"
	    " the quantity</span></button></form></td>", id, HTML_CART_QUANTITY, l->quantity);
	hb_str(b, "<td class=\"num amount\" data-label=\"Amount\">");
	if (l->found)
		hb_money(b, l->quantity * l->p.price);	/* <= 10^4 * 10^12 */
	else
		hb_str(b, "&ndash;");
	hb_fmt(b, "</td><td class=\"rm\"><form class=\"inline\" method=\"post\""
	    " action=\"/cart/%" PRId64 "/remove/\">", id);
	hb_form_common(b, csrf, next_path);
	hb_fmt(b, "<button type=\"submit\" class=\"link\" aria-describedby=\"cpn-%" PRId64
	    "\">Remove</button></form></td></tr>\n", id);
}

char *
html_cart(struct arena *a, const struct html_cart_line *ls, size_t n, int64_t freight,
    const char *csrf, const char *next_path, const char *checkout_form)
{
	struct hb b;
	int64_t items = 0;
	size_t i;

	hb_init(&b, a);
	if (n == 0) {
		hb_str(&b, "<p class=\"empty\">Your cart is empty. <a href=\"/\">Go to the shop</a>"
		    " to add products.</p>\n");
		return hb_done(&b);
	}
	hb_str(&b, "<table class=\"list cart-table\" data-list=\"cart\">"
	    "<caption class=\"vh\">Products in your cart</caption>\n"
	    "<colgroup><col><col class=\"c-qty\"><col class=\"c-amount\"><col class=\"c-rm\">"
	    "</colgroup>\n<thead><tr><th scope=\"col\">Product</th><th scope=\"col\""
	    " class=\"num\">Quantity</th><th scope=\"col\" class=\"num\">Amount</th>"
	    "<th scope=\"col\"><span class=\"vh\">Remove</span></th></tr></thead>\n<tbody>\n");
	for (i = 0; i < n; i++) {
		cart_row(&b, &ls[i], csrf, next_path);
		if (ls[i].found)
			items += ls[i].quantity * ls[i].p.price;
	}
	/* The totals as app.js shows them (cart.html's dl.totals). */
	hb_str(&b, "</tbody></table>\n<dl class=\"totals\"><div><dt>Items</dt><dd>");
	hb_money(&b, items);
	hb_str(&b, "</dd></div><div><dt>Freight</dt><dd>");
	hb_money(&b, freight);
	hb_str(&b, "</dd></div><div class=\"grand\"><dt>Total</dt><dd>");
	hb_money(&b, items + freight);
	hb_str(&b, "</dd></div></dl>\n");
	/* The lines go with the checkout form (form="..."), which cannot
	 * hold the line forms above: HTML forms do not nest. */
	for (i = 0; i < n; i++) {
		hb_fmt(&b, "<input type=\"hidden\" form=\"");
		hb_esc(&b, checkout_form);
		hb_fmt(&b, "\" name=\"items[%zu][product]\" value=\"%" PRId64 "\">", i,
		    ls[i].product);
		hb_fmt(&b, "<input type=\"hidden\" form=\"");
		hb_esc(&b, checkout_form);
		hb_fmt(&b, "\" name=\"items[%zu][quantity]\" value=\"%" PRId64 "\">\n", i,
		    ls[i].quantity);
	}
	return hb_done(&b);
}
