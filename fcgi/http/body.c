/* body.c - body decoding: urlencoded and JSON into raw pairs, with the
 * limits. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "http/body.h"
#include "base/valid.h"

/* --- urlencoded ------------------------------------------------------------ */

/* One field of an element of items (both encodings). */
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

int
body_decode_form(struct arena *a, const char *s, size_t n, struct rawset *rs,
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

/* --- JSON ------------------------------------------------------------------ */

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

int
body_decode_json(struct arena *a, const char *s, size_t n, struct rawset *rs,
    struct problem *p)
{
	if (!valid_utf8(s, n)) {
		problem_set(p, PROB_MALFORMED, "body is not valid UTF-8");
		return -1;
	}
	if (memchr(s, '\0', n) != NULL) {
		problem_set(p, PROB_MALFORMED, "body contains a NUL byte");
		return -1;
	}
	return parse_json(a, s, n, rs, p);
}
