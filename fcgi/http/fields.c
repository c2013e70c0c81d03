/* fields.c - the field table and validation of raw pairs against it. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/fields.h"
#include "base/valid.h"

enum kind {
	K_INT, K_TEXT, K_PATH, K_METHOD, K_KEY, K_ITEMS, K_WORD, K_SECRET, K_VERBATIM, K_MONEY,
	K__MAX
};

/* The field table: wire name, validator kind and bounds. */
static const struct field_def {
	const char *name;
	enum kind kind;
	int64_t min, max;
	int into;		/* K_MONEY: the cents field its value goes to */
} fields[F__MAX] = {
	[F_NAME] =	  { "name", K_TEXT, 1, 200 },
	[F_PRICE] =	  { "price", K_INT, 0, 1000000000000LL },
	[F_STOCK] =	  { "stock", K_INT, 0, 1000000000LL },
	[F_GOODS] =	  { "goods", K_INT, 1, INT64_MAX },
	[F_PRODUCT] =	  { "product", K_INT, 1, INT64_MAX },
	[F_QUANTITY] =	  { "quantity", K_INT, 1, 1000000000LL },
	[F_LIMIT] =	  { "limit", K_INT, 1, 200 },
	[F_AFTER] =	  { "after", K_INT, 0, INT64_MAX },
	[F_NEXT] =	  { "next", K_PATH, 0, 512 },
	[F_METHOD] =	  { "_method", K_METHOD, 0, 0 },
	[F_IDEMPOTENCY] = { "idempotency_key", K_KEY, 1, 200 },
	[F_ITEMS] =	  { "items", K_ITEMS, 1, REQ_ITEMS_MAX },
	[F_PAY_METHOD] =  { "pay_method", K_WORD, 1, 16 },
	[F_USERNAME] =	  { "username", K_VERBATIM, 1, 64 },
	[F_PASSWORD] =	  { "password", K_SECRET, 1, 1024 },
	[F_AMOUNT] =	  { "amount", K_INT, 1, 1000000000000LL },
	[F_TO] =	  { "to", K_VERBATIM, 1, 64 },
	[F_CSRF] =	  { "csrf_token", K_KEY, 0, 200 },	/* empty = absent: 403 */
	[F_FORMAT] =	  { "format", K_WORD, 1, 10 },
	/* The pages' money inputs: a decimal amount, taken as the integer
	 * field of cents it names (amount=1250 stays 1250 cents). */
	[F_AMOUNT_DEC] =  { "amount_decimal", K_MONEY, 1, 1000000000000LL, F_AMOUNT },
	[F_PRICE_DEC] =	  { "price_decimal", K_MONEY, 0, 1000000000000LL, F_PRICE },
	[F_HISTORY] =	  { "history", K_INT, 0, 600 },
	[F_TOP] =	  { "top", K_INT, 0, 20 },
};

/* Bounds of the fields inside one element of items. */
static const struct field_def item_product = { "product", K_INT, 1, INT64_MAX, 0 };
static const struct field_def item_quantity = { "quantity", K_INT, 1, 1000000000LL, 0 };

const char *
req_field_name(enum field f)
{
	return (int)f >= 0 && f < F__MAX ? fields[f].name : "?";
}

static int
lookup_field(const char *name)
{
	int i;

	for (i = 0; i < F__MAX; i++)
		if (strcmp(fields[i].name, name) == 0)
			return i;
	return -1;
}

/* --- one validator per kind ---------------------------------------------- */

/* What a validator works on: one raw pair, the definition of the field it
 * names, and where its value goes. */
struct check {
	struct req *r;
	const struct field_def *def;
	const struct raw *raw;
	struct field_val *fv;
	char buf[96];		/* a reason that is not a constant */
};

/* Each returns NULL when the value passes (fv filled), else the reason,
 * which follows the field's name in the 422's detail. */
typedef const char *(*check_fn)(struct check *);

static const char *
check_int(struct check *c)
{
	return valid_int(c->raw->val, c->raw->len, c->def->min, c->def->max, &c->fv->i);
}

static const char *
check_text(struct check *c)
{
	const char *why;

	why = valid_text(c->raw->val, c->raw->len, (size_t)c->def->min, (size_t)c->def->max,
	    &c->fv->s, &c->fv->len);
	if (why == NULL && (c->fv->s = arena_strndup(c->r->arena, c->fv->s, c->fv->len)) == NULL)
		why = "is too long";
	return why;
}

/* Money as a person writes it ("12.50") into cents, bounded like the
 * cents field it stands for. */
static const char *
check_money(struct check *c)
{
	return valid_money(c->raw->val, c->raw->len, c->def->min, c->def->max, &c->fv->i);
}

/* items arrives as JSON or as items[N][...] (body.c): a plain "items" pair
 * is neither. */
static const char *
check_items(struct check *c)
{
	(void)c;
	return "must be sent as items[N][product] and items[N][quantity]";
}

/* A value kept byte for byte, not trimmed (K_VERBATIM: a username, " bob"
 * is not "bob"; K_SECRET: a password): def->min..def->max bytes of UTF-8
 * without NUL. The reason states the bounds and never quotes the value, so
 * the same words serve a secret. */
static const char *
check_verbatim(struct check *c)
{
	const struct field_def *def = c->def;
	const struct raw *raw = c->raw;

	c->fv->s = raw->val;
	c->fv->len = raw->len;
	if (raw->len >= (size_t)def->min && raw->len <= (size_t)def->max &&
	    memchr(raw->val, '\0', raw->len) == NULL && valid_utf8(raw->val, raw->len))
		return NULL;
	snprintf(c->buf, sizeof(c->buf), "must be %lld to %lld bytes of UTF-8 text without NUL",
	    (long long)def->min, (long long)def->max);
	return c->buf;
}

/* A value kept as sent: def->min..def->max bytes, each one ok() takes. */
static const char *
check_bytes(struct check *c, int (*ok)(unsigned char), const char *len_why,
    const char *byte_why)
{
	const struct raw *raw = c->raw;
	size_t k;

	c->fv->s = raw->val;
	c->fv->len = raw->len;
	if (raw->len < (size_t)c->def->min || raw->len > (size_t)c->def->max)
		return len_why;
	for (k = 0; k < raw->len; k++)
		if (!ok((unsigned char)raw->val[k]))
			return byte_why;
	return NULL;
}

static int
word_byte(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || ch == '_';
}

static int
key_byte(unsigned char ch)
{
	return ch >= 0x21 && ch <= 0x7e;
}

/* A word of a-z and _: the handler knows which words it takes. */
static const char *
check_word(struct check *c)
{
	return check_bytes(c, word_byte, "is not one of the accepted words",
	    "is not one of the accepted words");
}

/* A key or token of printable ASCII. */
static const char *
check_key(struct check *c)
{
	return check_bytes(c, key_byte, "must be 1 to 200 characters", "must be printable ASCII");
}

/* _method: the method it names goes into fv->i. */
static const char *
check_method(struct check *c)
{
	enum method m = req_override_method(c->raw->val, c->raw->len);

	if (m == M_OTHER)
		return "must be PUT, DELETE, PATCH or POST";
	c->fv->i = m;
	return NULL;
}

/* The validator of each kind. K_PATH has none: `next` is taken in the
 * first pass of fields_validate(), where an unsafe target is dropped (the
 * answer goes back to "/"), and a later `next` is left unset. */
static const check_fn checks[K__MAX] = {
	[K_INT] = check_int,
	[K_TEXT] = check_text,
	[K_PATH] = NULL,
	[K_METHOD] = check_method,
	[K_KEY] = check_key,
	[K_ITEMS] = check_items,
	[K_WORD] = check_word,
	[K_SECRET] = check_verbatim,
	[K_VERBATIM] = check_verbatim,
	[K_MONEY] = check_money,
};

/* The JSON type a kind takes: a number for K_INT, a string for the others
 * (a form's values are all strings, and K_INT parses them). NULL when raw
 * has the right type. */
static const char *
type_why(const struct field_def *def, const struct raw *raw)
{
	if (raw->type == RAW_OTHER)
		return def->kind == K_INT ? "must be a number" : "must be a string";
	if (raw->type == RAW_NUM && def->kind != K_INT)
		return "must be a string";
	return NULL;
}

/* --- the field set ------------------------------------------------------- */

/* `next` first: a browser form whose other fields fail still goes back to
 * the page it came from. */
static void
take_next(struct req *r, const struct rawset *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++) {
		const struct raw *raw = &rs->v[i];

		if (strcmp(raw->name, fields[F_NEXT].name) == 0 && !r->f[F_NEXT].set &&
		    raw->type == RAW_STR && memchr(raw->val, '\0', raw->len) == NULL &&
		    valid_local_path(raw->val)) {
			r->f[F_NEXT].set = 1;
			r->f[F_NEXT].s = raw->val;
			r->f[F_NEXT].len = raw->len;
		}
	}
}

/* A decimal money field becomes the cents field it names: handlers see
 * only cents. Both at once is a 422 naming the decimal one. */
static int
money_into_cents(struct req *r, struct problem *p)
{
	int f;

	for (f = 0; f < F__MAX; f++) {
		struct field_val *to;

		if (fields[f].kind != K_MONEY || !r->f[f].set)
			continue;
		to = &r->f[fields[f].into];
		if (to->set) {
			problem_set(p, PROB_FIELD, "give %s or %s, not both", fields[fields[f].into].name,
			    fields[f].name);
			problem_add_str(p, "field", fields[f].name);
			return -1;
		}
		to->set = 1;
		to->i = r->f[f].i;
		memset(&r->f[f], 0, sizeof(r->f[f]));
	}
	return 0;
}

int
fields_validate(struct req *r, const struct rawset *rs, int strict, struct problem *p)
{
	size_t i;
	int seen_next = 0;

	take_next(r, rs);
	for (i = 0; i < rs->n; i++) {
		struct check c = { .r = r, .raw = &rs->v[i] };
		const char *why;
		int f = lookup_field(c.raw->name);

		if (f < 0) {
			if (!strict)
				continue;
			problem_set(p, PROB_FIELD, "unknown field '%.*s'",
			    UTF8_CUT(c.raw->name, 64));
			problem_add_str(p, "field", c.raw->name);
			return -1;
		}
		c.def = &fields[f];
		c.fv = &r->f[f];
		if (f == F_NEXT && !seen_next) {
			seen_next = 1;	/* taken in the first pass */
			continue;
		}
		if (c.fv->set) {
			problem_set(p, PROB_FIELD, "field '%s' is given more than once", c.def->name);
			problem_add_str(p, "field", c.def->name);
			return -1;
		}
		if ((why = type_why(c.def, c.raw)) == NULL) {
			if (c.def->kind == K_PATH)
				continue;	/* `next`: see checks[] */
			why = checks[c.def->kind](&c);
		}
		if (why != NULL) {
			problem_set(p, PROB_FIELD, "%s %s", c.def->name, why);
			problem_add_str(p, "field", c.def->name);
			return -1;
		}
		c.fv->set = 1;
	}
	return money_into_cents(r, p);
}

/* Validates the elements of items into r->items, in element order.
 * Returns 0, or -1 with a 422 naming items[N].product / items[N].quantity. */
int
fields_validate_items(struct req *r, const struct rawset *rs, struct problem *p)
{
	unsigned char *seen;
	size_t i, k, n = 0;

	if (rs->nelems == 0) {
		problem_set(p, PROB_FIELD, "items must not be empty");
		problem_add_str(p, "field", "items");
		return -1;
	}
	if ((r->items = arena_alloc(r->arena, rs->nelems * sizeof(*r->items))) == NULL ||
	    (seen = arena_alloc(r->arena, rs->nelems)) == NULL) {
		problem_set(p, PROB_TOO_LARGE, "request needs more memory than allowed");
		return -1;
	}
	for (i = 0; i < rs->nitems; i++) {
		const struct rawitem *it = &rs->items[i];
		const struct field_def *def = it->quantity ? &item_quantity : &item_product;
		unsigned char bit = it->quantity ? 2 : 1;
		const char *why = NULL;
		char name[48];
		int64_t v = 0;

		snprintf(name, sizeof(name), "items[%zu].%s", it->idx, def->name);
		if (seen[it->idx] & bit)
			why = "is given more than once";
		else if (it->raw.type == RAW_OTHER)
			why = "must be a number";
		else
			why = valid_int(it->raw.val, it->raw.len, def->min, def->max, &v);
		if (why != NULL) {
			problem_set(p, PROB_FIELD, "%s %s", name, why);
			problem_add_str(p, "field", name);
			return -1;
		}
		seen[it->idx] |= bit;
		if (it->quantity)
			r->items[it->idx].quantity = v;
		else
			r->items[it->idx].product = v;
	}
	/* Compact: form indices may have gaps; an element needs a product. */
	for (k = 0; k < rs->nelems; k++) {
		if (seen[k] == 0)
			continue;
		if (!(seen[k] & 1)) {
			problem_set(p, PROB_FIELD, "items[%zu].product is required", k);
			problem_add_str(p, "field", "items");
			return -1;
		}
		if (!(seen[k] & 2))
			r->items[k].quantity = 1;
		r->items[k].idx = k;
		r->items[n++] = r->items[k];
	}
	r->nitems = n;
	r->f[F_ITEMS].set = 1;
	return 0;
}
