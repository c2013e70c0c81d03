#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "request.h"
#include "valid.h"

enum kind { K_INT, K_TEXT, K_PATH, K_METHOD, K_KEY, K_ITEMS, K_WORD, K_SECRET, K_VERBATIM };

/* The field table: wire name, validator kind and bounds (style.md 1). */
static const struct field_def {
	const char *name;
	enum kind kind;
	int64_t min, max;
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
	[F_FORMAT] =	  { "format", K_WORD, 1, 8 },
};

/* Bounds of the fields inside one element of items. */
static const struct field_def item_product = { "product", K_INT, 1, INT64_MAX };
static const struct field_def item_quantity = { "quantity", K_INT, 1, 1000000000LL };

static const char *const method_names[M__MAX] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OTHER"
};

enum method
req_method(const char *s)
{
	int i;

	if (s == NULL)
		return M_OTHER;
	for (i = 0; i < M_OTHER; i++)
		if (strcmp(s, method_names[i]) == 0)
			return (enum method)i;
	return M_OTHER;
}

/* The method an override names: PUT, DELETE, PATCH or POST, in any case
 * (a form's _method=put is a person's spelling, not a new method). */
static enum method
override_method(const char *s, size_t len)
{
	static const enum method ok[] = { M_PUT, M_DELETE, M_PATCH, M_POST };
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strlen(method_names[ok[i]]) == len &&
		    strncasecmp(s, method_names[ok[i]], len) == 0)
			return ok[i];
	return M_OTHER;
}

const char *
req_method_name(enum method m)
{
	return (int)m >= 0 && m < M__MAX ? method_names[m] : "OTHER";
}

const char *
req_field_name(enum field f)
{
	return (int)f >= 0 && f < F__MAX ? fields[f].name : "?";
}

/* --- Accept negotiation ------------------------------------------------ */

/* Quality of the most specific range in accept matching type/sub; -1 when
 * none matches. Specificity: type/sub (2) > type/ * (1) > * / * (0). */
static double
accept_q(const char *accept, const char *type, const char *sub)
{
	const char *p = accept;
	double best_q = -1;
	int best_spec = -1;

	while (*p != '\0') {
		char range[128];
		const char *end = strchr(p, ','), *semi, *q;
		size_t n;
		double qv = 1.0;
		int spec;
		char *slash;

		if (end == NULL)
			end = p + strlen(p);
		semi = memchr(p, ';', (size_t)(end - p));
		n = (size_t)((semi != NULL ? semi : end) - p);
		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n > 0 && n < sizeof(range)) {
			memcpy(range, p, n);
			range[n] = '\0';
			if (semi != NULL) {
				for (q = semi; q < end; q++)
					if ((q[0] == 'q' || q[0] == 'Q') && q[1] == '=' &&
					    (q == semi || q[-1] == ';' || q[-1] == ' ')) {
						qv = strtod(q + 2, NULL);
						break;
					}
			}
			if (qv < 0 || qv > 1 || isnan(qv))
				qv = 0;
			slash = strchr(range, '/');
			spec = -1;
			if (slash != NULL) {
				*slash = '\0';
				if (strcmp(range, "*") == 0 && strcmp(slash + 1, "*") == 0)
					spec = 0;
				else if (strcasecmp(range, type) == 0 && strcmp(slash + 1, "*") == 0)
					spec = 1;
				else if (strcasecmp(range, type) == 0 && strcasecmp(slash + 1, sub) == 0)
					spec = 2;
			}
			if (spec > best_spec) {
				best_spec = spec;
				best_q = qv;
			}
		}
		p = *end == ',' ? end + 1 : end;
	}
	return best_q;
}

int
req_prefers_html(const char *accept)
{
	double html, json;

	if (accept == NULL || strlen(accept) > 2048)
		return 0;
	html = accept_q(accept, "text", "html");
	json = accept_q(accept, "application", "json");
	return html > 0 && html > json;
}

/* --- raw pairs ----------------------------------------------------------- */

enum rawtype { RAW_STR, RAW_NUM, RAW_OTHER };

struct raw {
	const char *name;
	const char *val;
	size_t len;
	enum rawtype type;
};

/* A field of one element of items, before validation. */
struct rawitem {
	size_t idx;		/* element index */
	int quantity;		/* 0 = product, 1 = quantity */
	struct raw raw;
};

struct rawset {
	struct raw v[REQ_FIELDS_MAX];
	size_t n;
	struct rawitem *items;	/* allocated on the first one */
	size_t nitems;
	size_t nelems;		/* elements seen (max idx + 1) */
	int items_seen;		/* an "items" field was present */
};

static int
add_item(struct arena *a, struct rawset *rs, size_t idx, int quantity, const struct raw *raw,
    struct problem *p)
{
	if (idx >= REQ_ITEMS_MAX) {
		problem_set(p, PROB_FIELD, "items has more than %d elements", REQ_ITEMS_MAX);
		problem_add_str(p, "field", "items");
		return -1;
	}
	if (rs->items == NULL &&
	    (rs->items = arena_alloc(a, 2 * REQ_ITEMS_MAX * sizeof(*rs->items))) == NULL) {
		problem_set(p, PROB_TOO_LARGE, "request needs more memory than allowed");
		return -1;
	}
	if (rs->nitems >= 2 * REQ_ITEMS_MAX) {
		problem_set(p, PROB_FIELD, "items has too many fields");
		problem_add_str(p, "field", "items");
		return -1;
	}
	rs->items[rs->nitems].idx = idx;
	rs->items[rs->nitems].quantity = quantity;
	rs->items[rs->nitems].raw = *raw;
	rs->nitems++;
	if (idx + 1 > rs->nelems)
		rs->nelems = idx + 1;
	rs->items_seen = 1;
	return 0;
}

/* Recognises the form encoding of a checkout line, items[N][product] or
 * items[N][quantity] (N decimal, 0..REQ_ITEMS_MAX-1). Returns 1 and sets
 * idx/quantity when name is one, else 0. */
static int
form_item_name(const char *name, size_t *idx, int *quantity)
{
	const char *p = name + 6;
	size_t n = 0, digits = 0;

	if (strncmp(name, "items[", 6) != 0)
		return 0;
	for (; *p >= '0' && *p <= '9' && digits < 4; p++, digits++)
		n = n * 10 + (size_t)(*p - '0');
	if (digits == 0 || (digits > 1 && name[6] == '0'))
		return 0;
	if (strcmp(p, "][product]") == 0)
		*quantity = 0;
	else if (strcmp(p, "][quantity]") == 0)
		*quantity = 1;
	else
		return 0;
	*idx = n;
	return 1;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes application/x-www-form-urlencoded text (WHATWG URL 5.1) into the
 * arena. Returns the decoded length, or -1 on a bad escape or ENOMEM. */
static long
urldecode(struct arena *a, const char *s, size_t n, char **out)
{
	char *d;
	size_t i, j = 0;

	if ((d = arena_alloc(a, n + 1)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] == '+')
			d[j++] = ' ';
		else if (s[i] == '%') {
			int h, l;

			if (i + 2 >= n || (h = hexval((unsigned char)s[i + 1])) < 0 ||
			    (l = hexval((unsigned char)s[i + 2])) < 0)
				return -1;
			d[j++] = (char)(h * 16 + l);
			i += 2;
		} else
			d[j++] = s[i];
	}
	d[j] = '\0';
	*out = d;
	return (long)j;
}

static int
parse_urlencoded(struct arena *a, const char *s, size_t n, struct rawset *rs,
    struct problem *p)
{
	size_t i = 0;

	while (i < n) {
		const char *pair = s + i, *amp, *eq;
		size_t plen, klen;
		char *k, *v;
		long kl, vl;

		amp = memchr(pair, '&', n - i);
		plen = amp != NULL ? (size_t)(amp - pair) : n - i;
		i += plen + 1;
		if (plen == 0)
			continue;
		if (rs->n >= REQ_FIELDS_MAX) {
			problem_set(p, PROB_MALFORMED, "more than %d fields", REQ_FIELDS_MAX);
			return -1;
		}
		eq = memchr(pair, '=', plen);
		klen = eq != NULL ? (size_t)(eq - pair) : plen;
		if (klen > REQ_NAME_MAX * 3 || plen - klen > REQ_VALUE_MAX * 3 + 1) {
			problem_set(p, PROB_MALFORMED, "a field name or value is too long");
			return -1;
		}
		kl = urldecode(a, pair, klen, &k);
		vl = eq != NULL ? urldecode(a, eq + 1, plen - klen - 1, &v) :
		    urldecode(a, "", 0, &v);
		if (kl < 0 || vl < 0) {
			problem_set(p, PROB_MALFORMED, "bad percent-encoding");
			return -1;
		}
		if (kl == 0 || (size_t)kl > REQ_NAME_MAX || (size_t)vl > REQ_VALUE_MAX ||
		    memchr(k, '\0', (size_t)kl) != NULL || !valid_utf8(k, (size_t)kl)) {
			problem_set(p, PROB_MALFORMED, "a field name is empty, too long or not text");
			return -1;
		}
		if (!valid_utf8(v, (size_t)vl) || memchr(v, '\0', (size_t)vl) != NULL) {
			problem_set(p, PROB_MALFORMED, "field '%.*s' is not valid UTF-8 text",
			    UTF8_CUT(k, 64));
			return -1;
		}
		{
			struct raw raw = { k, v, (size_t)vl, RAW_STR };
			size_t idx;
			int qty;

			if (form_item_name(k, &idx, &qty)) {
				if (add_item(a, rs, idx, qty, &raw, p) != 0)
					return -1;
				continue;
			}
			rs->v[rs->n++] = raw;
		}
	}
	return 0;
}

/* The raw text of every number in the body, in order of appearance (cJSON
 * keeps members and elements in that order too, so a walk of its tree in
 * document order meets them in the same order). Integer
 * fields are validated from this text, so 1.0, 1e3 and 2^53+1 are judged
 * as written, not as a double rounded them. */
struct numtoks {
	const char *s[REQ_NUMBERS_MAX];
	size_t len[REQ_NUMBERS_MAX];
	size_t n;
	size_t next;		/* the next one to hand out */
};

/* Length of the JSON number at s (RFC 8259 section 6), or 0 if what starts
 * there is not one. */
static size_t
json_number(const char *s, size_t n)
{
	size_t i = 0, d;

	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if (i < n && s[i] >= '1' && s[i] <= '9')
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return 0;
	if (i < n && s[i] == '.') {
		for (d = ++i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	/* "01" and "1x": the token must end here. */
	if (i < n && ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
	    (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '.' || s[i] == '_'))
		return 0;
	return i;
}

/* Scans JSON text before cJSON parses it: rejects nesting deeper than
 * REQ_JSON_DEPTH_MAX, the escape \u0000 (cJSON would truncate at it) and
 * numbers outside the JSON grammar (cJSON takes "01"), and records every
 * number token. Returns NULL when acceptable, else a
 * reason. */
static const char *
json_prescan(const char *s, size_t n, struct numtoks *nt)
{
	size_t i, depth = 0, len;
	int in_str = 0;

	nt->n = nt->next = 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\') {
				if (i + 5 < n && s[i + 1] == 'u' && s[i + 2] == '0' &&
				    s[i + 3] == '0' && s[i + 4] == '0' && s[i + 5] == '0')
					return "JSON string contains \\u0000";
				i++;
			} else if (c == '"')
				in_str = 0;
		} else if (c == '"')
			in_str = 1;
		else if (c == '{' || c == '[') {
			if (++depth > REQ_JSON_DEPTH_MAX)
				return "JSON nested too deeply";
		} else if (c == '}' || c == ']') {
			if (depth > 0)
				depth--;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			if ((len = json_number(s + i, n - i)) == 0)
				return "malformed JSON number";
			if (nt->n >= REQ_NUMBERS_MAX)
				return "too many numbers in the JSON body";
			nt->s[nt->n] = s + i;
			nt->len[nt->n++] = len;
			i += len - 1;
		}
	}
	return NULL;
}

/* Number tokens inside a subtree, to keep the token cursor in step when a
 * value is not looked into. */
static size_t
count_numbers(const cJSON *it)
{
	const cJSON *c;
	size_t n = 0;

	if (cJSON_IsNumber(it))
		return 1;
	for (c = it->child; c != NULL; c = c->next)
		n += count_numbers(c);
	return n;
}

/* Fills raw from a scalar JSON value (string or number); other values
 * become RAW_OTHER, their numbers skipped. Returns 0, or -1 with p set. */
static int
json_scalar(struct arena *a, const cJSON *it, struct numtoks *nt, const char *name,
    struct raw *r, struct problem *p)
{
	r->name = name;
	if (cJSON_IsString(it)) {
		r->type = RAW_STR;
		r->len = strlen(it->valuestring);
		if (r->len > REQ_VALUE_MAX) {
			problem_set(p, PROB_MALFORMED, "field '%.*s' is too long",
			    UTF8_CUT(name, 64));
			return -1;
		}
		r->val = arena_strndup(a, it->valuestring, r->len);
	} else if (cJSON_IsNumber(it)) {
		if (nt->next >= nt->n) {
			problem_set(p, PROB_MALFORMED, "body is not valid JSON");
			return -1;
		}
		r->type = RAW_NUM;
		r->len = nt->len[nt->next];
		r->val = arena_strndup(a, nt->s[nt->next++], r->len);
	} else {
		r->type = RAW_OTHER;
		r->len = 0;
		r->val = "";
		nt->next += count_numbers(it);
		return 0;
	}
	if (r->val == NULL) {
		problem_set(p, PROB_TOO_LARGE, "request needs more memory than allowed");
		return -1;
	}
	return 0;
}

/* items: an array of objects with members product and quantity. */
static int
json_items(struct arena *a, const cJSON *items, struct numtoks *nt, struct rawset *rs,
    struct problem *p)
{
	const cJSON *el, *m;
	size_t idx = 0;

	rs->items_seen = 1;
	if (!cJSON_IsArray(items)) {
		problem_set(p, PROB_FIELD, "items must be an array of {product, quantity}");
		problem_add_str(p, "field", "items");
		return -1;
	}
	for (el = items->child; el != NULL; el = el->next, idx++) {
		if (!cJSON_IsObject(el)) {
			problem_set(p, PROB_FIELD, "items[%zu] must be an object", idx);
			problem_add_str(p, "field", "items");
			return -1;
		}
		for (m = el->child; m != NULL; m = m->next) {
			struct raw raw;
			int qty;

			if (strcmp(m->string, "product") == 0)
				qty = 0;
			else if (strcmp(m->string, "quantity") == 0)
				qty = 1;
			else {
				problem_set(p, PROB_FIELD, "items[%zu] has an unknown member '%.*s'",
				    idx, UTF8_CUT(m->string, 64));
				problem_add_str(p, "field", "items");
				return -1;
			}
			if (json_scalar(a, m, nt, m->string, &raw, p) != 0 ||
			    add_item(a, rs, idx, qty, &raw, p) != 0)
				return -1;
		}
		if (el->child == NULL && add_item(a, rs, idx, 0,
		    &(struct raw){ "product", "", 0, RAW_OTHER }, p) != 0)
			return -1;
	}
	if (idx == 0)
		rs->nelems = 0;
	return 0;
}

static int
parse_json(struct arena *a, const char *s, size_t n, struct rawset *rs,
    struct problem *p)
{
	const char *why, *end = NULL;
	struct numtoks *nt;
	cJSON *root, *it;
	int rc = -1;

	if ((nt = arena_alloc(a, sizeof(*nt))) == NULL) {
		problem_set(p, PROB_TOO_LARGE, "request needs more memory than allowed");
		return -1;
	}
	if ((why = json_prescan(s, n, nt)) != NULL) {
		problem_set(p, PROB_MALFORMED, "%s", why);
		return -1;
	}
	root = cJSON_ParseWithLengthOpts(s, n, &end, 0);
	if (root == NULL) {
		problem_set(p, PROB_MALFORMED, "body is not valid JSON");
		return -1;
	}
	for (; end != NULL && end < s + n; end++)
		if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
			problem_set(p, PROB_MALFORMED, "trailing data after the JSON value");
			goto out;
		}
	if (!cJSON_IsObject(root)) {
		problem_set(p, PROB_MALFORMED, "JSON body must be an object");
		goto out;
	}
	for (it = root->child; it != NULL; it = it->next) {
		size_t klen = strlen(it->string);
		char *name;

		if (rs->n >= REQ_FIELDS_MAX) {
			problem_set(p, PROB_MALFORMED, "more than %d fields", REQ_FIELDS_MAX);
			goto out;
		}
		if (klen == 0 || klen > REQ_NAME_MAX) {
			problem_set(p, PROB_MALFORMED, "a field name is empty or too long");
			goto out;
		}
		if ((name = arena_strndup(a, it->string, klen)) == NULL) {
			problem_set(p, PROB_TOO_LARGE, "request needs more memory than allowed");
			goto out;
		}
		if (strcmp(name, "items") == 0) {
			if (rs->items_seen) {
				problem_set(p, PROB_FIELD, "field 'items' is given more than once");
				problem_add_str(p, "field", "items");
				goto out;
			}
			if (json_items(a, it, nt, rs, p) != 0)
				goto out;
			continue;
		}
		if (json_scalar(a, it, nt, name, &rs->v[rs->n], p) != 0)
			goto out;
		rs->n++;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

/* --- validation ---------------------------------------------------------- */

static int
lookup_field(const char *name)
{
	int i;

	for (i = 0; i < F__MAX; i++)
		if (strcmp(fields[i].name, name) == 0)
			return i;
	return -1;
}

/* The one check of a value kept byte for byte, not trimmed (K_VERBATIM: a
 * username, " bob" is not "bob"; K_SECRET: a password): def->min..def->max
 * bytes of UTF-8 without NUL. Returns NULL when it passes, else the reason,
 * written into buf: it states the bounds and never quotes the value, so the
 * same words serve a secret. */
static const char *
verbatim_why(const struct field_def *def, const struct raw *raw, char *buf, size_t size)
{
	if (raw->len >= (size_t)def->min && raw->len <= (size_t)def->max &&
	    memchr(raw->val, '\0', raw->len) == NULL && valid_utf8(raw->val, raw->len))
		return NULL;
	snprintf(buf, size, "must be %lld to %lld bytes of UTF-8 text without NUL",
	    (long long)def->min, (long long)def->max);
	return buf;
}

static int
validate(struct req *r, const struct rawset *rs, int strict, struct problem *p)
{
	size_t i;
	int seen_next = 0;

	/* `next` first: a browser form whose other fields fail still goes back
	 * to the page it came from. */
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
	for (i = 0; i < rs->n; i++) {
		const struct raw *raw = &rs->v[i];
		const struct field_def *def;
		struct field_val *fv;
		const char *why = NULL;
		char whybuf[96];
		int f = lookup_field(raw->name);

		if (f < 0) {
			if (!strict)
				continue;
			problem_set(p, PROB_FIELD, "unknown field '%.*s'",
			    UTF8_CUT(raw->name, 64));
			problem_add_str(p, "field", raw->name);
			return -1;
		}
		def = &fields[f];
		fv = &r->f[f];
		if (f == F_NEXT && !seen_next) {
			seen_next = 1;	/* taken in the first pass */
			continue;
		}
		if (fv->set) {
			problem_set(p, PROB_FIELD, "field '%s' is given more than once", def->name);
			problem_add_str(p, "field", def->name);
			return -1;
		}
		if (raw->type == RAW_OTHER)
			why = def->kind == K_INT ? "must be a number" : "must be a string";
		else if (raw->type == RAW_NUM && def->kind != K_INT)
			why = "must be a string";
		else switch (def->kind) {
		case K_INT:
			why = valid_int(raw->val, raw->len, def->min, def->max, &fv->i);
			break;
		case K_TEXT:
			why = valid_text(raw->val, raw->len, (size_t)def->min, (size_t)def->max,
			    &fv->s, &fv->len);
			if (why == NULL && (fv->s = arena_strndup(r->arena, fv->s, fv->len)) == NULL)
				why = "is too long";
			break;
		case K_PATH:
			/* Unreachable: `next` is taken in the first pass, where an
			 * unsafe target is dropped (the answer goes back to "/"). */
			continue;
		case K_ITEMS:
			why = "must be sent as items[N][product] and items[N][quantity]";
			break;
		case K_VERBATIM:
		case K_SECRET:
			why = verbatim_why(def, raw, whybuf, sizeof(whybuf));
			fv->s = raw->val;
			fv->len = raw->len;
			break;
		case K_WORD: {
			size_t k;

			if (raw->len < (size_t)def->min || raw->len > (size_t)def->max)
				why = "is not one of the accepted words";
			for (k = 0; why == NULL && k < raw->len; k++)
				if (!(raw->val[k] >= 'a' && raw->val[k] <= 'z') && raw->val[k] != '_')
					why = "is not one of the accepted words";
			fv->s = raw->val;
			fv->len = raw->len;
			break;
		}
		case K_METHOD: {
			enum method m = override_method(raw->val, raw->len);

			if (m == M_OTHER)
				why = "must be PUT, DELETE, PATCH or POST";
			else
				fv->i = m;
			break;
		}
		case K_KEY: {
			size_t k;

			if (raw->len < (size_t)def->min || raw->len > (size_t)def->max)
				why = "must be 1 to 200 characters";
			for (k = 0; why == NULL && k < raw->len; k++)
				if ((unsigned char)raw->val[k] < 0x21 || (unsigned char)raw->val[k] > 0x7e)
					why = "must be printable ASCII";
			fv->s = raw->val;
			fv->len = raw->len;
			break;
		}
		}
		if (why != NULL) {
			problem_set(p, PROB_FIELD, "%s %s", def->name, why);
			problem_add_str(p, "field", def->name);
			return -1;
		}
		fv->set = 1;
	}
	return 0;
}

/* Validates the elements of items into r->items, in element order.
 * Returns 0, or -1 with a 422 naming items[N].product / items[N].quantity. */
static int
validate_items(struct req *r, const struct rawset *rs, struct problem *p)
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

static int
media_is(const char *ct, const char *want)
{
	size_t n = strlen(want);

	while (*ct == ' ')
		ct++;
	return strncasecmp(ct, want, n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

int
req_parse(struct req *r, struct arena *a, const struct req_input *in, struct problem *p)
{
	struct rawset *rs;
	const char *q;

	memset(r, 0, sizeof(*r));
	r->arena = a;
	r->in = in;
	r->wire_method = r->method = req_method(in->method);
	r->path = in->path != NULL ? in->path : "/";
	if ((q = strchr(r->path, '?')) != NULL)
		r->path = arena_strndup(a, r->path, (size_t)(q - r->path));
	if (r->path == NULL || strlen(r->path) > REQ_PATH_MAX) {
		problem_set(p, PROB_NOT_FOUND, "no such path");
		return -1;
	}
	/* Known before the body is read, so that even a malformed form post
	 * goes back to the page as a 303 rather than a JSON page. */
	r->browser = r->wire_method == M_POST && req_prefers_html(in->accept);
	if ((rs = arena_alloc(a, sizeof(*rs))) == NULL) {
		problem_set(p, PROB_TOO_LARGE, "request needs more memory than allowed");
		return -1;
	}

	if (r->method == M_GET || r->method == M_HEAD) {
		/* Query parameters: unknown ones are ignored (cache busters), known
		 * ones must be valid. A body on a GET is ignored. */
		if (in->query != NULL && strlen(in->query) > REQ_FIELDS_MAX * (REQ_VALUE_MAX + 1)) {
			problem_set(p, PROB_MALFORMED, "query string too long");
			return -1;
		}
		if (in->query != NULL &&
		    parse_urlencoded(a, in->query, strlen(in->query), rs, p) != 0)
			return -1;
		return validate(r, rs, 0, p);
	}

	if (in->body_len > REQ_BODY_MAX) {
		problem_set(p, PROB_TOO_LARGE, "body is larger than %d bytes", REQ_BODY_MAX);
		return -1;
	}
	if (in->body_len > 0) {
		const char *ct = in->content_type != NULL ? in->content_type : "";

		if (media_is(ct, "application/json")) {
			r->json = 1;
			if (!valid_utf8(in->body, in->body_len)) {
				problem_set(p, PROB_MALFORMED, "body is not valid UTF-8");
				return -1;
			}
			if (memchr(in->body, '\0', in->body_len) != NULL) {
				problem_set(p, PROB_MALFORMED, "body contains a NUL byte");
				return -1;
			}
			if (parse_json(a, in->body, in->body_len, rs, p) != 0)
				return -1;
		} else if (media_is(ct, "application/x-www-form-urlencoded")) {
			if (parse_urlencoded(a, in->body, in->body_len, rs, p) != 0)
				return -1;
		} else {
			problem_set(p, PROB_MEDIA,
			    "send application/json or application/x-www-form-urlencoded");
			return -1;
		}
	}
	if (validate(r, rs, 1, p) != 0)
		return -1;
	if (rs->items_seen && validate_items(r, rs, p) != 0)
		return -1;

	/* Method override (api.md): only a POST may become another method. */
	if (r->wire_method == M_POST) {
		if (r->f[F_METHOD].set)
			r->method = (enum method)r->f[F_METHOD].i;
		else if (in->override != NULL && in->override[0] != '\0') {
			enum method m = override_method(in->override, strlen(in->override));

			if (m == M_OTHER) {
				problem_set(p, PROB_MALFORMED,
				    "X-HTTP-Method-Override must be PUT, DELETE, PATCH or POST");
				return -1;
			}
			r->method = m;
		}
	}
	return 0;
}
