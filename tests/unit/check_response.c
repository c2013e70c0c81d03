/* check_response.c - JSON bodies, problem+json (RFC 9457), browser 303s and
 * the CGI header block. Bodies are parsed back with cJSON, never compared
 * only as text, so escaping mistakes show up as parse or value failures. */
#include "config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <cJSON.h>

#include "base/arena.h"
#include "base/problem.h"
#include "http/request.h"
#include "http/response.h"
#include "base/valid.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define PROBLEM_CT	"application/problem+json"
#define JSON_CT		"application/json; charset=utf-8"

static struct arena arena;

static void
setup(void)
{
	arena_init(&arena, 1 << 20);
}

static void
teardown(void)
{
	arena_free(&arena);
}

/* A request as req_parse() leaves it for a form post; next NULL = unset. */
static void
make_req(struct req *q, int browser, const char *next)
{
	memset(q, 0, sizeof(*q));
	q->arena = &arena;
	q->method = q->wire_method = M_POST;
	q->path = "/order/";
	q->browser = browser;
	if (next != NULL) {
		q->f[F_NEXT].set = 1;
		q->f[F_NEXT].s = next;
		q->f[F_NEXT].len = strlen(next);
	}
}

/* Parses r's body; fails the test unless it is one JSON object. */
static cJSON *
body_json(const char *label, const struct resp *r)
{
	cJSON *o;

	ck_assert_msg(r->body != NULL, "%s: no body", label);
	ck_assert_msg(strlen(r->body) == r->body_len, "%s: body_len %zu, strlen %zu",
	    label, r->body_len, strlen(r->body));
	ck_assert_msg(valid_utf8(r->body, r->body_len), "%s: body is not UTF-8", label);
	o = cJSON_ParseWithLength(r->body, r->body_len);
	ck_assert_msg(o != NULL && cJSON_IsObject(o), "%s: body is not a JSON object: %s",
	    label, r->body);
	return o;
}

static const char *
member_str(const char *label, const cJSON *o, const char *name)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);

	ck_assert_msg(cJSON_IsString(m), "%s: member %s is not a string", label, name);
	return m->valuestring;
}

static double
member_num(const char *label, const cJSON *o, const char *name)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);

	ck_assert_msg(cJSON_IsNumber(m), "%s: member %s is not a number", label, name);
	return m->valuedouble;
}

/* The value of header name in a CGI header block, copied to out; 0 if absent. */
static int
header(const char *head, const char *name, char *out, size_t size)
{
	const char *p = head;
	size_t n = strlen(name);

	while (*p != '\0') {
		const char *eol = strstr(p, "\r\n");

		if (eol == NULL)
			return 0;
		if ((size_t)(eol - p) > n + 1 && strncmp(p, name, n) == 0 &&
		    p[n] == ':' && p[n + 1] == ' ') {
			snprintf(out, size, "%.*s", (int)(eol - p - (ptrdiff_t)n - 2), p + n + 2);
			return 1;
		}
		p = eol + 2;
	}
	return 0;
}

/* --- resp_json ----------------------------------------------------------- */

START_TEST(json_sets_status_body_and_type)
{
	static const struct {
		int status;
		const char *in;
	} c[] = {
		{ 200, "{\"items\":[],\"next\":null}" },
		{ 201, "{\"id\":12,\"name\":\"Tea \\\"cup\\\"\",\"price\":250}" },
		{ 200, "{\"name\":\"caf\xc3\xa9 <b>\"}" },
	};
	size_t i;

	for (i = 0; i < NELEM(c); i++) {
		struct resp r;
		cJSON *in = cJSON_Parse(c[i].in), *out;

		ck_assert_ptr_nonnull(in);
		resp_init(&r);
		ck_assert_int_eq(resp_json(&r, &arena, c[i].status, in), 0);
		ck_assert_int_eq(r.status, c[i].status);
		ck_assert_str_eq(r.ctype, JSON_CT);
		ck_assert_msg(strcmp(r.body, c[i].in) == 0, "body %s, want %s", r.body, c[i].in);
		out = body_json(c[i].in, &r);
		ck_assert_msg(cJSON_Compare(in, out, 1), "%s: body differs", c[i].in);
		ck_assert_int_eq(r.location[0], '\0');
		cJSON_Delete(in);
		cJSON_Delete(out);
		arena_reset(&arena);
	}
}
END_TEST

START_TEST(out_of_memory_gives_static_500)
{
	struct arena tiny;
	struct resp r;
	struct problem p;
	cJSON *o = cJSON_CreateObject(), *b;

	arena_init(&tiny, 16);
	cJSON_AddStringToObject(o, "name", "a name longer than sixteen bytes");
	resp_init(&r);
	ck_assert_int_eq(resp_json(&r, &tiny, 200, o), -1);
	ck_assert_int_eq(r.status, 500);
	ck_assert_str_eq(r.ctype, PROBLEM_CT);
	b = body_json("resp_json OOM", &r);
	ck_assert_str_eq(member_str("resp_json OOM", b, "type"), "/problems/internal");
	cJSON_Delete(b);

	resp_init(&r);
	problem_set(&p, PROB_NOT_FOUND, "no product %d exists in this shop", 42);
	resp_problem(&r, &tiny, NULL, &p);
	ck_assert_int_eq(r.status, 500);
	ck_assert_str_eq(r.ctype, PROBLEM_CT);
	b = body_json("resp_problem OOM", &r);
	ck_assert_int_eq((int)member_num("resp_problem OOM", b, "status"), 500);
	cJSON_Delete(b);
	cJSON_Delete(o);
	arena_free(&tiny);
}
END_TEST

/* --- resp_problem as problem+json --------------------------------------- */

START_TEST(problem_has_type_title_status_detail)
{
	static const struct {
		enum problem_kind kind;
		int status;
		const char *type;
	} c[] = {
		{ PROB_MALFORMED, 400, "/problems/malformed-body" },
		{ PROB_NOT_FOUND, 404, "/problems/not-found" },
		{ PROB_METHOD, 405, "/problems/method-not-allowed" },
		{ PROB_TOO_LARGE, 413, "/problems/body-too-large" },
		{ PROB_MEDIA, 415, "/problems/unsupported-media-type" },
		{ PROB_FIELD, 422, "/problems/invalid-field" },
		{ PROB_OUT_OF_STOCK, 409, "/problems/out-of-stock" },
		{ PROB_ORDER_STATE, 409, "/problems/order-state" },
		{ PROB_UNAVAILABLE, 503, "/problems/unavailable" },
		{ PROB_INTERNAL, 500, "/problems/internal" },
	};
	size_t i;

	for (i = 0; i < NELEM(c); i++) {
		struct resp r;
		struct problem p;
		struct req q;
		cJSON *o;
		const char *label = c[i].type;

		make_req(&q, 0, "/shop");
		resp_init(&r);
		problem_set(&p, c[i].kind, "detail for %s", c[i].type);
		resp_problem(&r, &arena, &q, &p);
		ck_assert_msg(r.status == c[i].status, "%s: status %d", label, r.status);
		ck_assert_msg(strcmp(r.ctype, PROBLEM_CT) == 0, "%s: type %s", label, r.ctype);
		ck_assert_msg(r.location[0] == '\0', "%s: Location %s", label, r.location);
		o = body_json(label, &r);
		ck_assert_str_eq(member_str(label, o, "type"), c[i].type);
		ck_assert_str_eq(member_str(label, o, "title"), problem_title(c[i].kind));
		ck_assert_msg(member_num(label, o, "status") == c[i].status, "%s: status member",
		    label);
		ck_assert_str_eq(member_str(label, o, "detail"), p.detail);
		ck_assert_int_eq(cJSON_GetArraySize(o), 4);
		cJSON_Delete(o);
		arena_reset(&arena);
	}
}
END_TEST

START_TEST(problem_extras_keep_their_types)
{
	struct resp r;
	struct problem p;
	cJSON *o;
	const char *l = "out-of-stock";

	resp_init(&r);
	problem_set(&p, PROB_OUT_OF_STOCK, "only %d left of product %d", 0, 3);
	problem_add_int(&p, "product", 3);
	problem_add_int(&p, "available", 0);
	problem_add_int(&p, "delta", -7);
	problem_add_str(&p, "field", "quantity");
	problem_add_str(&p, "dropped", "a fifth extra is ignored");
	resp_problem(&r, &arena, NULL, &p);
	ck_assert_int_eq(r.status, 409);
	o = body_json(l, &r);
	ck_assert(member_num(l, o, "product") == 3);
	ck_assert(member_num(l, o, "available") == 0);
	ck_assert(member_num(l, o, "delta") == -7);
	ck_assert_str_eq(member_str(l, o, "field"), "quantity");
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(o, "dropped"));
	ck_assert_str_eq(member_str(l, o, "detail"), "only 0 left of product 3");
	/* Integers are written as plain JSON integers, not strings or floats. */
	ck_assert_msg(strstr(r.body, "\"product\":3") != NULL &&
	    strstr(r.body, "\"available\":0") != NULL &&
	    strstr(r.body, "\"delta\":-7") != NULL, "integer members: %s", r.body);
	cJSON_Delete(o);
}
END_TEST

START_TEST(int_extra_keeps_all_64_bits)
{
	/* Ids reach 2^63-1 (router.h); a member must carry the id exactly, as
	 * JSON integer text, not a rounded double ("1.23456789012346e+15"). */
	static const struct {
		int64_t v;
		const char *text;
	} c[] = {
		{ 2147483647, "\"product\":2147483647" },
		{ 2147483648LL, "\"product\":2147483648" },
		{ 1000000000000LL, "\"product\":1000000000000" },
		{ 1234567890123456LL, "\"product\":1234567890123456" },
		{ 5000000000000001LL, "\"product\":5000000000000001" },
		{ 9007199254740992LL, "\"product\":9007199254740992" },
		{ 9007199254740993LL, "\"product\":9007199254740993" },
		{ INT64_MAX, "\"product\":9223372036854775807" },
		{ -1234567890123456LL, "\"product\":-1234567890123456" },
	};
	char bad[1024] = "";
	size_t i;

	for (i = 0; i < NELEM(c); i++) {
		struct resp r;
		struct problem p;
		const char *got;

		resp_init(&r);
		problem_set(&p, PROB_NOT_FOUND, "no such product");
		problem_add_int(&p, "product", c[i].v);
		resp_problem(&r, &arena, NULL, &p);
		if (strstr(r.body, c[i].text) == NULL) {
			got = strstr(r.body, "\"product\":");
			snprintf(bad + strlen(bad), sizeof(bad) - strlen(bad), "\n  %lld as %.40s",
			    (long long)c[i].v, got ? got : r.body);
		}
		arena_reset(&arena);
	}
	ck_assert_msg(bad[0] == '\0', "integer members not written exactly:%s", bad);
}
END_TEST

START_TEST(problem_strings_are_escaped_in_json)
{
	static const char *const c[] = {
		"say \"hi\"",
		"</script><script>alert(1)</script>",
		"caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x98\x80",
		"back\\slash \\u0041 \\\"",
		"tab\there\nnewline\rreturn",
		"\x01\x1f control \x7f del",
		"{\"injected\":1}",
		"'single' & <amp>",
	};
	size_t i;

	for (i = 0; i < NELEM(c); i++) {
		struct resp r;
		struct problem p;
		cJSON *o;
		size_t k;

		resp_init(&r);
		problem_set(&p, PROB_FIELD, "%s", c[i]);
		problem_add_str(&p, "field", c[i]);
		resp_problem(&r, &arena, NULL, &p);
		o = body_json(c[i], &r);
		ck_assert_msg(strcmp(member_str(c[i], o, "detail"), c[i]) == 0,
		    "detail round trip of \"%s\": %s", c[i], r.body);
		ck_assert_msg(strcmp(member_str(c[i], o, "field"), c[i]) == 0,
		    "extra round trip of \"%s\": %s", c[i], r.body);
		ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(o, "injected"));
		for (k = 0; k < r.body_len; k++)
			ck_assert_msg((unsigned char)r.body[k] >= 0x20,
			    "raw control byte 0x%02x in body for \"%s\"",
			    (unsigned char)r.body[k], c[i]);
		cJSON_Delete(o);
		arena_reset(&arena);
	}
}
END_TEST

/* --- browser form posts: 303 ------------------------------------------- */

struct extra_def {
	const char *name;
	int is_int;
	int64_t i;
	const char *s;
};

START_TEST(browser_problem_redirects_with_query)
{
	static const struct {
		const char *label, *next;
		enum problem_kind kind;
		const char *detail;
		struct extra_def x[2];
		const char *want;
	} c[] = {
		{ "out of stock, default next", NULL, PROB_OUT_OF_STOCK, "only 0 left",
		    { { "product", 1, 3, NULL }, { "available", 1, 0, NULL } },
		    "/?error=out-of-stock&status=409&product=3&available=0&detail=only+0+left" },
		{ "next without query", "/shop", PROB_OUT_OF_STOCK, "only 0 left",
		    { { "product", 1, 3, NULL }, { "available", 1, 0, NULL } },
		    "/shop?error=out-of-stock&status=409&product=3&available=0&detail=only+0+left" },
		{ "next with query", "/shop?tab=2", PROB_OUT_OF_STOCK, "only 0 left",
		    { { "product", 1, 3, NULL }, { "available", 1, 0, NULL } },
		    "/shop?tab=2&error=out-of-stock&status=409&product=3&available=0"
		    "&detail=only+0+left" },
		{ "invalid field", NULL, PROB_FIELD, "name must not be empty",
		    { { "field", 0, 0, "name" }, { NULL, 0, 0, NULL } },
		    "/?error=invalid-field&status=422&field=name&detail=name+must+not+be+empty" },
		{ "detail escaping", NULL, PROB_NOT_FOUND, "a&b=c #d/\xc3\xa9?%+~._-",
		    { { NULL, 0, 0, NULL }, { NULL, 0, 0, NULL } },
		    "/?error=not-found&status=404&detail=a%26b%3Dc+%23d%2F%C3%A9%3F%25%2B~._-" },
		{ "string extra escaping", "/", PROB_FIELD, "bad",
		    { { "field", 0, 0, "<i>&x=1" }, { NULL, 0, 0, NULL } },
		    "/?error=invalid-field&status=422&field=%3Ci%3E%26x%3D1&detail=bad" },
		{ "negative and large ints", NULL, PROB_OUT_OF_STOCK, "x",
		    { { "product", 1, INT64_MAX, NULL }, { "available", 1, -1, NULL } },
		    "/?error=out-of-stock&status=409&product=9223372036854775807&available=-1"
		    "&detail=x" },
		{ "CRLF in detail", NULL, PROB_MALFORMED, "x\r\nSet-Cookie: a=b",
		    { { NULL, 0, 0, NULL }, { NULL, 0, 0, NULL } },
		    "/?error=malformed-body&status=400&detail=x%0D%0ASet-Cookie%3A+a%3Db" },
		{ "unavailable", "/order/", PROB_UNAVAILABLE, "try again",
		    { { NULL, 0, 0, NULL }, { NULL, 0, 0, NULL } },
		    "/order/?error=unavailable&status=503&detail=try+again" },
	};
	size_t i, k;

	for (i = 0; i < NELEM(c); i++) {
		struct resp r;
		struct problem p;
		struct req q;

		make_req(&q, 1, c[i].next);
		resp_init(&r);
		problem_set(&p, c[i].kind, "%s", c[i].detail);
		for (k = 0; k < NELEM(c[i].x); k++) {
			if (c[i].x[k].name == NULL)
				continue;
			if (c[i].x[k].is_int)
				problem_add_int(&p, c[i].x[k].name, c[i].x[k].i);
			else
				problem_add_str(&p, c[i].x[k].name, c[i].x[k].s);
		}
		resp_problem(&r, &arena, &q, &p);
		ck_assert_msg(r.status == 303, "%s: status %d", c[i].label, r.status);
		ck_assert_msg(strcmp(r.location, c[i].want) == 0,
		    "%s:\n Location %s\n want     %s", c[i].label, r.location, c[i].want);
		ck_assert_msg(strncmp(r.ctype, "text/plain", 10) == 0, "%s: type %s",
		    c[i].label, r.ctype);
		ck_assert_msg(r.body != NULL && strlen(r.body) == r.body_len,
		    "%s: body_len", c[i].label);
		arena_reset(&arena);
	}
}
END_TEST

START_TEST(browser_405_is_redirected_not_json)
{
	/* api.md: a browser form post gets a 303 for errors too, "never a JSON
	 * page in front of a person". */
	struct resp r;
	struct problem p;
	struct req q;

	make_req(&q, 1, NULL);
	resp_init(&r);
	snprintf(r.allow, sizeof(r.allow), "GET, HEAD");
	problem_set(&p, PROB_METHOD, "use GET");
	resp_problem(&r, &arena, &q, &p);
	ck_assert_msg(r.status == 303, "status %d, type %s", r.status, r.ctype);
	ck_assert_str_eq(r.location, "/?error=method-not-allowed&status=405&detail=use+GET");
}
END_TEST

START_TEST(long_location_is_cut_between_escapes)
{
	char next[513], detail[PROBLEM_DETAIL_MAX];
	struct resp r;
	struct problem p;
	struct req q;
	size_t i, n;

	memset(next, 'a', 512);
	next[0] = '/';
	next[512] = '\0';
	for (i = 0; i + 2 < sizeof(detail); i += 2)
		memcpy(detail + i, "\xc3\xa9", 2);
	detail[i] = '\0';
	make_req(&q, 1, next);
	resp_init(&r);
	problem_set(&p, PROB_FIELD, "%s", detail);
	problem_add_str(&p, "field", "name");
	resp_problem(&r, &arena, &q, &p);
	n = strlen(r.location);
	ck_assert_int_eq(r.status, 303);
	ck_assert_uint_lt(n, RESP_LOCATION_MAX);
	ck_assert_msg(strncmp(r.location, next, 512) == 0 && r.location[512] == '?',
	    "Location does not start with next");
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)r.location[i];

		ck_assert_msg(ch > 0x20 && ch < 0x7f, "byte 0x%02x at %zu", ch, i);
		if (ch == '%')
			ck_assert_msg(i + 2 < n && isxdigit((unsigned char)r.location[i + 1]) &&
			    isxdigit((unsigned char)r.location[i + 2]),
			    "cut escape at %zu: %s", i, r.location + i);
	}
}
END_TEST

START_TEST(see_other_ok_appends_outcome)
{
	static const struct {
		const char *next, *what;
		int64_t id;
		const char *want;
	} c[] = {
		{ NULL, "order-created", 12, "/?ok=order-created&id=12" },
		{ "/x", "order-created", 12, "/x?ok=order-created&id=12" },
		{ "/x?y=1", "product-restocked", INT64_MAX,
		    "/x?y=1&ok=product-restocked&id=9223372036854775807" },
		{ "/order/5/", "order-aborted", 5, "/order/5/?ok=order-aborted&id=5" },
		{ "/", "product-created", 1, "/?ok=product-created&id=1" },
	};
	size_t i;

	for (i = 0; i < NELEM(c); i++) {
		struct resp r;
		struct req q;

		make_req(&q, 1, c[i].next);
		resp_init(&r);
		resp_see_other_ok(&r, &arena, &q, c[i].what, c[i].id);
		ck_assert_int_eq(r.status, 303);
		ck_assert_msg(strcmp(r.location, c[i].want) == 0, "Location %s, want %s",
		    r.location, c[i].want);
		arena_reset(&arena);
	}
}
END_TEST

/* --- resp_head ------------------------------------------------------------ */

/* Builds the head into a buffer with room to spare and checks its framing:
 * every line ends in CRLF, no bare CR or LF, one blank line at the end. */
static size_t
head_of(const struct resp *r, char *buf, size_t size)
{
	size_t n = resp_head(r, buf, size), i;
	char val[64];

	ck_assert_uint_gt(n, 0);
	ck_assert_uint_eq(n, strlen(buf));
	ck_assert_msg(n >= 4 && strcmp(buf + n - 4, "\r\n\r\n") == 0,
	    "head does not end with a blank line: %s", buf);
	ck_assert_ptr_eq(strstr(buf, "\r\n\r\n"), buf + n - 4);
	for (i = 0; i < n; i++) {
		if (buf[i] == '\r')
			ck_assert_msg(buf[i + 1] == '\n', "bare CR at %zu", i);
		if (buf[i] == '\n')
			ck_assert_msg(i > 0 && buf[i - 1] == '\r', "bare LF at %zu", i);
	}
	ck_assert_msg(header(buf, "Content-Length", val, sizeof(val)), "no Content-Length");
	ck_assert_msg(strtoull(val, NULL, 10) == r->body_len && val[0] != '\0',
	    "Content-Length %s, body_len %zu", val, r->body_len);
	ck_assert_msg(header(buf, "Content-Type", val, sizeof(val)) &&
	    strcmp(val, r->ctype) == 0, "Content-Type %s, want %s", val, r->ctype);
	return n;
}

START_TEST(head_has_status_type_and_length)
{
	char buf[2048], val[256];
	struct resp r;
	cJSON *o = cJSON_Parse("{\"id\":12}");

	resp_init(&r);
	ck_assert_int_eq(resp_json(&r, &arena, 201, o), 0);
	snprintf(r.location, sizeof(r.location), "/order/12/");
	head_of(&r, buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, "Status: 201 Created\r\n", 21) == 0, "head: %s", buf);
	ck_assert(header(buf, "Content-Type", val, sizeof(val)));
	ck_assert_str_eq(val, JSON_CT);
	ck_assert(header(buf, "Content-Length", val, sizeof(val)));
	ck_assert_str_eq(val, "9");
	ck_assert(header(buf, "Location", val, sizeof(val)));
	ck_assert_str_eq(val, "/order/12/");
	ck_assert(!header(buf, "Allow", val, sizeof(val)));
	ck_assert(!header(buf, "Retry-After", val, sizeof(val)));
	cJSON_Delete(o);
}
END_TEST

START_TEST(head_status_line_per_response_kind)
{
	static const struct {
		enum problem_kind kind;
		const char *status_line;
		const char *allow, *retry;	/* expected header values or NULL */
	} c[] = {
		{ PROB_MALFORMED, "Status: 400 Bad Request\r\n", NULL, NULL },
		{ PROB_NOT_FOUND, "Status: 404 Not Found\r\n", NULL, NULL },
		{ PROB_METHOD, "Status: 405 Method Not Allowed\r\n", "GET, HEAD, POST", NULL },
		{ PROB_TOO_LARGE, "Status: 413 Content Too Large\r\n", NULL, NULL },
		{ PROB_MEDIA, "Status: 415 Unsupported Media Type\r\n", NULL, NULL },
		{ PROB_FIELD, "Status: 422 Unprocessable Content\r\n", NULL, NULL },
		{ PROB_OUT_OF_STOCK, "Status: 409 Conflict\r\n", NULL, NULL },
		{ PROB_UNAVAILABLE, "Status: 503 Service Unavailable\r\n", NULL, "2" },
		{ PROB_INTERNAL, "Status: 500 Internal Server Error\r\n", NULL, NULL },
	};
	size_t i;

	for (i = 0; i < NELEM(c); i++) {
		char buf[2048], val[256];
		struct resp r;
		struct problem p;

		resp_init(&r);
		if (c[i].allow != NULL)
			snprintf(r.allow, sizeof(r.allow), "%s", c[i].allow);
		problem_set(&p, c[i].kind, "something");
		resp_problem(&r, &arena, NULL, &p);
		head_of(&r, buf, sizeof(buf));
		ck_assert_msg(strncmp(buf, c[i].status_line, strlen(c[i].status_line)) == 0,
		    "head: %s", buf);
		ck_assert_msg(header(buf, "Allow", val, sizeof(val)) == (c[i].allow != NULL),
		    "%s Allow presence", c[i].status_line);
		if (c[i].allow != NULL)
			ck_assert_str_eq(val, c[i].allow);
		ck_assert_msg(header(buf, "Retry-After", val, sizeof(val)) == (c[i].retry != NULL),
		    "%s Retry-After presence", c[i].status_line);
		if (c[i].retry != NULL)
			ck_assert_str_eq(val, c[i].retry);
		ck_assert(!header(buf, "Location", val, sizeof(val)));
		arena_reset(&arena);
	}
}
END_TEST

START_TEST(head_keeps_callers_retry_after)
{
	char buf[1024], val[32];
	struct resp r;
	struct problem p;

	resp_init(&r);
	r.retry_after = 7;
	problem_set(&p, PROB_UNAVAILABLE, "database restarting");
	resp_problem(&r, &arena, NULL, &p);
	head_of(&r, buf, sizeof(buf));
	ck_assert(header(buf, "Retry-After", val, sizeof(val)));
	ck_assert_str_eq(val, "7");
}
END_TEST

START_TEST(head_of_browser_redirect_has_location)
{
	char buf[4096], val[RESP_LOCATION_MAX];
	struct resp r;
	struct problem p;
	struct req q;

	make_req(&q, 1, "/x");
	resp_init(&r);
	resp_see_other_ok(&r, &arena, &q, "order-created", 12);
	head_of(&r, buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, "Status: 303 See Other\r\n", 23) == 0, "head: %s", buf);
	ck_assert(header(buf, "Location", val, sizeof(val)));
	ck_assert_str_eq(val, "/x?ok=order-created&id=12");

	/* A detail with CRLF cannot add a header line. */
	make_req(&q, 1, NULL);
	resp_init(&r);
	problem_set(&p, PROB_FIELD, "x\r\nSet-Cookie: a=b\r\n\r\n<html>");
	resp_problem(&r, &arena, &q, &p);
	head_of(&r, buf, sizeof(buf));
	ck_assert(!header(buf, "Set-Cookie", val, sizeof(val)));
}
END_TEST

START_TEST(head_too_small_buffer_returns_0)
{
	static const enum problem_kind kinds[] = { PROB_NONE, PROB_METHOD, PROB_UNAVAILABLE };
	size_t k;

	for (k = 0; k < NELEM(kinds); k++) {
		char ref[2048];
		struct resp r;
		struct problem p;
		struct req q;
		size_t full, size;

		resp_init(&r);
		if (kinds[k] == PROB_NONE) {
			make_req(&q, 1, "/somewhere");
			resp_see_other_ok(&r, &arena, &q, "order-created", 12);
		} else {
			snprintf(r.allow, sizeof(r.allow), "GET, HEAD");
			problem_set(&p, kinds[k], "x");
			resp_problem(&r, &arena, NULL, &p);
		}
		full = head_of(&r, ref, sizeof(ref));
		/* Exact-size heap buffers: a write past size trips ASan. */
		for (size = 0; size <= full + 1; size++) {
			char *buf = malloc(size > 0 ? size : 1);
			size_t got;

			ck_assert_ptr_nonnull(buf);
			got = resp_head(&r, buf, size);
			if (size <= full)
				ck_assert_msg(got == 0, "status %d: size %zu of %zu gave %zu",
				    r.status, size, full, got);
			else {
				ck_assert_uint_eq(got, full);
				ck_assert_str_eq(buf, ref);
			}
			free(buf);
		}
		arena_reset(&arena);
	}
}
END_TEST

START_TEST(reason_phrases_match_rfc9110)
{
	static const struct {
		int status;
		const char *reason;
	} c[] = {
		{ 200, "OK" }, { 201, "Created" }, { 204, "No Content" }, { 303, "See Other" },
		{ 400, "Bad Request" }, { 404, "Not Found" }, { 405, "Method Not Allowed" },
		{ 409, "Conflict" }, { 413, "Content Too Large" },
		{ 415, "Unsupported Media Type" }, { 422, "Unprocessable Content" },
		{ 500, "Internal Server Error" }, { 503, "Service Unavailable" },
		{ 299, "Unknown" }, { -1, "Unknown" },
	};
	size_t i;

	for (i = 0; i < NELEM(c); i++)
		ck_assert_msg(strcmp(resp_reason(c[i].status), c[i].reason) == 0,
		    "resp_reason(%d) = %s", c[i].status, resp_reason(c[i].status));
}
END_TEST

static Suite *
response_suite(void)
{
	Suite *s = suite_create("response");
	TCase *tc;

	tc = tcase_create("json");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, json_sets_status_body_and_type);
	tcase_add_test(tc, out_of_memory_gives_static_500);
	suite_add_tcase(s, tc);

	tc = tcase_create("problem");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, problem_has_type_title_status_detail);
	tcase_add_test(tc, problem_extras_keep_their_types);
	tcase_add_test(tc, int_extra_keeps_all_64_bits);
	tcase_add_test(tc, problem_strings_are_escaped_in_json);
	suite_add_tcase(s, tc);

	tc = tcase_create("browser");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, browser_problem_redirects_with_query);
	tcase_add_test(tc, browser_405_is_redirected_not_json);
	tcase_add_test(tc, long_location_is_cut_between_escapes);
	tcase_add_test(tc, see_other_ok_appends_outcome);
	suite_add_tcase(s, tc);

	tc = tcase_create("head");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, head_has_status_type_and_length);
	tcase_add_test(tc, head_status_line_per_response_kind);
	tcase_add_test(tc, head_keeps_callers_retry_after);
	tcase_add_test(tc, head_of_browser_redirect_has_location);
	tcase_add_test(tc, head_too_small_buffer_returns_0);
	tcase_add_test(tc, reason_phrases_match_rfc9110);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(response_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
