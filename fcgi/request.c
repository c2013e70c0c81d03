#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "request.h"
#include "valid.h"

enum kind { K_INT, K_TEXT, K_PATH, K_METHOD, K_KEY };

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
};

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

struct rawset {
	struct raw v[REQ_FIELDS_MAX];
	size_t n;
};

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
			problem_set(p, PROB_MALFORMED, "field '%.64s' is not valid UTF-8 text", k);
			return -1;
		}
		rs->v[rs->n].name = k;
		rs->v[rs->n].val = v;
		rs->v[rs->n].len = (size_t)vl;
		rs->v[rs->n].type = RAW_STR;
		rs->n++;
	}
	return 0;
}

/* The raw text of the numbers that are members of the top-level object, in
 * order of appearance (cJSON keeps members in that order too). Integer
 * fields are validated from this text, so 1.0, 1e3 and 2^53+1 are judged
 * as written, not as a double rounded them. */
struct numtoks {
	const char *s[REQ_FIELDS_MAX];
	size_t len[REQ_FIELDS_MAX];
	size_t n;
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
 * numbers outside the JSON grammar (cJSON takes "01"), and records the
 * top-level members' number tokens. Returns NULL when acceptable, else a
 * reason. */
static const char *
json_prescan(const char *s, size_t n, struct numtoks *nt)
{
	size_t i, depth = 0, len;
	int in_str = 0;

	nt->n = 0;
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
			if (depth == 1 && nt->n < REQ_FIELDS_MAX) {
				nt->s[nt->n] = s + i;
				nt->len[nt->n++] = len;
			}
			i += len - 1;
		}
	}
	return NULL;
}

static int
parse_json(struct arena *a, const char *s, size_t n, struct rawset *rs,
    struct problem *p)
{
	const char *why, *end = NULL;
	struct numtoks nt;
	size_t nextnum = 0;
	cJSON *root, *it;
	int rc = -1;

	if ((why = json_prescan(s, n, &nt)) != NULL) {
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
		struct raw *r;
		size_t klen = strlen(it->string);

		if (rs->n >= REQ_FIELDS_MAX) {
			problem_set(p, PROB_MALFORMED, "more than %d fields", REQ_FIELDS_MAX);
			goto out;
		}
		if (klen == 0 || klen > REQ_NAME_MAX) {
			problem_set(p, PROB_MALFORMED, "a field name is empty or too long");
			goto out;
		}
		r = &rs->v[rs->n++];
		if ((r->name = arena_strndup(a, it->string, klen)) == NULL)
			goto nomem;
		if (cJSON_IsString(it)) {
			r->type = RAW_STR;
			r->len = strlen(it->valuestring);
			if (r->len > REQ_VALUE_MAX) {
				problem_set(p, PROB_MALFORMED, "field '%.64s' is too long", r->name);
				goto out;
			}
			if ((r->val = arena_strndup(a, it->valuestring, r->len)) == NULL)
				goto nomem;
		} else if (cJSON_IsNumber(it)) {
			if (nextnum >= nt.n) {
				problem_set(p, PROB_MALFORMED, "body is not valid JSON");
				goto out;
			}
			r->type = RAW_NUM;
			r->len = nt.len[nextnum];
			if ((r->val = arena_strndup(a, nt.s[nextnum++], r->len)) == NULL)
				goto nomem;
		} else {
			r->type = RAW_OTHER;
			r->val = "";
			r->len = 0;
		}
	}
	rc = 0;
	goto out;
nomem:
	problem_set(p, PROB_TOO_LARGE, "request needs more memory than allowed");
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
		int f = lookup_field(raw->name);

		if (f < 0) {
			if (!strict)
				continue;
			problem_set(p, PROB_FIELD, "unknown field '%.64s'", raw->name);
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
		case K_METHOD: {
			enum method m = req_method(raw->val);

			if (memchr(raw->val, '\0', raw->len) != NULL ||
			    (m != M_PUT && m != M_DELETE && m != M_PATCH && m != M_POST))
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

	/* Method override (api.md): only a POST may become another method. */
	if (r->wire_method == M_POST) {
		if (r->f[F_METHOD].set)
			r->method = (enum method)r->f[F_METHOD].i;
		else if (in->override != NULL && in->override[0] != '\0') {
			enum method m = req_method(in->override);

			if (m != M_PUT && m != M_DELETE && m != M_PATCH && m != M_POST) {
				problem_set(p, PROB_MALFORMED,
				    "X-HTTP-Method-Override must be PUT, DELETE, PATCH or POST");
				return -1;
			}
			r->method = m;
		}
	}
	return 0;
}
