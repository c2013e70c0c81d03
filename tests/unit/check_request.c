/* check_request.c - req_parse() from raw CGI pieces to a validated field table.
 *
 * Every case goes through req_parse() with a real arena (reset between
 * cases). Bodies are copied into a heap buffer of exactly body_len bytes, not
 * NUL-terminated, so AddressSanitizer catches any read past the body. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "base/arena.h"
#include "base/problem.h"
#include "http/request.h"
#include "base/valid.h"

#define JSON	"application/json"
#define FORM	"application/x-www-form-urlencoded"
#define BROWSER_ACCEPT \
	"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

/* A body literal with its length (embedded NULs included). */
#define B(x)	.body = (x), .body_len = sizeof(x) - 1
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

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

/* req_parse() on a private, exact-length copy of the body. */
static int
parse(const struct req_input *in0, struct req *r, struct problem *p)
{
	struct req_input in = *in0;
	char *copy = NULL;
	int rc;

	if (in.body != NULL && in.body_len > 0 && in.body_len <= REQ_BODY_MAX) {
		copy = malloc(in.body_len);
		ck_assert_ptr_nonnull(copy);
		memcpy(copy, in.body, in.body_len);
		in.body = copy;
	}
	memset(p, 0, sizeof(*p));
	rc = req_parse(r, &arena, &in, p);
	free(copy);
	return rc;
}

static const char *
extra_str(const struct problem *p, const char *name)
{
	size_t i;

	for (i = 0; i < PROBLEM_EXTRA_MAX; i++)
		if (p->extra[i].name != NULL && strcmp(p->extra[i].name, name) == 0)
			return p->extra[i].is_int ? "(an integer)" : p->extra[i].s;
	return NULL;
}

/* status 0: must succeed; else must fail with that status, a detail, and
 * (for 422) the "field" member naming field. */
static void
expect(const char *label, int rc, const struct problem *p, int status,
    const char *field)
{
	const char *got;

	if (status == 0) {
		ck_assert_msg(rc == 0, "%s: rejected with %d: %s", label,
		    problem_status(p->kind), p->detail);
		return;
	}
	ck_assert_msg(rc == -1, "%s: accepted, want %d", label, status);
	ck_assert_msg(problem_status(p->kind) == status, "%s: got %d (%s), want %d",
	    label, problem_status(p->kind), p->detail, status);
	ck_assert_msg(p->detail[0] != '\0', "%s: problem has no detail", label);
	if (field != NULL) {
		got = extra_str(p, "field");
		ck_assert_msg(got != NULL && strcmp(got, field) == 0,
		    "%s: field member is %s, want %s", label, got ? got : "absent", field);
	}
}

struct rcase {
	const char *label;
	struct req_input in;
	int status;		/* 0 = accepted */
	const char *field;	/* the "field" member of a 422 */
};

static void
run_cases(const struct rcase *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct req r;
		struct problem p;
		struct req_input in = c[i].in;
		int rc;

		if (in.method == NULL)
			in.method = "POST";
		if (in.path == NULL)
			in.path = "/order/";
		rc = parse(&in, &r, &p);
		expect(c[i].label, rc, &p, c[i].status, c[i].field);
		arena_reset(&arena);
	}
}

/* --- bodies: both encodings, same fields ----------------------------------- */

static void
same_fields(const char *label, const struct req *a, const struct req *b)
{
	int f;

	ck_assert_msg(a->method == b->method, "%s: methods differ", label);
	for (f = 0; f < F__MAX; f++) {
		const struct field_val *x = &a->f[f], *y = &b->f[f];
		const char *name = req_field_name((enum field)f);

		ck_assert_msg(x->set == y->set, "%s: %s set %d vs %d", label, name,
		    x->set, y->set);
		if (!x->set)
			continue;
		ck_assert_msg(x->i == y->i, "%s: %s %lld vs %lld", label, name,
		    (long long)x->i, (long long)y->i);
		ck_assert_msg((x->s == NULL) == (y->s == NULL), "%s: %s string vs none",
		    label, name);
		if (x->s != NULL)
			ck_assert_msg(x->len == y->len && memcmp(x->s, y->s, x->len) == 0,
			    "%s: %s \"%s\" vs \"%s\"", label, name, x->s, y->s);
	}
}

START_TEST(form_and_json_give_same_fields)
{
	static const struct {
		const char *label, *form, *json;
	} c[] = {
		{ "product create", "name=Tea+cup&price=250&stock=10&goods=1",
		    "{\"name\":\"Tea cup\",\"price\":250,\"stock\":10,\"goods\":1}" },
		{ "order create", "product=3&quantity=2&next=%2Fshop%3Ftab%3D1&idempotency_key=k-1",
		    "{\"product\":\"3\",\"quantity\":2,\"next\":\"/shop?tab=1\","
		    "\"idempotency_key\":\"k-1\"}" },
		{ "UTF-8 name", "name=caf%C3%A9+%E2%98%95",
		    "{\"name\":\"caf\\u00e9 \\u2615\"}" },
		{ "raw UTF-8 name", "name=caf\xc3\xa9", "{\"name\":\"caf\xc3\xa9\"}" },
		{ "padded integer", "quantity=+7+", "{\"quantity\":\" 7 \"}" },
		{ "method field", "_method=PUT", "{\"_method\":\"PUT\"}" },
		{ "max price", "price=1000000000000", "{\"price\":1000000000000}" },
		{ "max after as string", "after=9223372036854775807",
		    "{\"after\":\"9223372036854775807\"}" },
	};
	size_t i;

	for (i = 0; i < NELEM(c); i++) {
		struct req a, b;
		struct problem p;
		struct req_input fin = { .method = "POST", .path = "/product/",
		    .content_type = FORM, .body = c[i].form, .body_len = strlen(c[i].form) };
		struct req_input jin = { .method = "POST", .path = "/product/",
		    .content_type = JSON, .body = c[i].json, .body_len = strlen(c[i].json) };

		expect(c[i].label, parse(&fin, &a, &p), &p, 0, NULL);
		ck_assert_msg(a.json == 0, "%s: form marked as JSON", c[i].label);
		expect(c[i].label, parse(&jin, &b, &p), &p, 0, NULL);
		ck_assert_msg(b.json == 1, "%s: JSON not marked as JSON", c[i].label);
		same_fields(c[i].label, &a, &b);
		arena_reset(&arena);
	}
}
END_TEST

START_TEST(form_fields_have_their_parsed_values)
{
	struct req r;
	struct problem p;
	struct req_input in = { .method = "POST", .path = "/product/",
	    .content_type = FORM,
	    B("name=++Tea+cup++&price=250&stock=0&goods=9223372036854775807") };

	expect("product create", parse(&in, &r, &p), &p, 0, NULL);
	ck_assert_int_eq(r.f[F_NAME].set, 1);
	ck_assert_str_eq(r.f[F_NAME].s, "Tea cup");
	ck_assert_uint_eq(r.f[F_NAME].len, 7);
	ck_assert_int_eq(r.f[F_PRICE].set, 1);
	ck_assert_int_eq(r.f[F_PRICE].i, 250);
	ck_assert_int_eq(r.f[F_STOCK].set, 1);
	ck_assert_int_eq(r.f[F_STOCK].i, 0);
	ck_assert_int_eq(r.f[F_GOODS].i, INT64_MAX);
	ck_assert_int_eq(r.f[F_QUANTITY].set, 0);
	ck_assert_int_eq(r.method, M_POST);
	ck_assert_int_eq(r.wire_method, M_POST);
	ck_assert_str_eq(r.path, "/product/");
}
END_TEST

/* The pages' money fields arrive as written and leave as the cents field
 * they stand for: handlers never see amount_decimal or price_decimal. */
START_TEST(decimal_money_fields_become_cents)
{
	static const struct {
		const char *ctype, *body;
		int field;
		int64_t want;
	} ok[] = {
		{ FORM, "to=bob&amount_decimal=12.5", F_AMOUNT, 1250 },
		{ FORM, "to=bob&amount_decimal=12.50", F_AMOUNT, 1250 },
		{ FORM, "to=bob&amount_decimal=+12+", F_AMOUNT, 1200 },
		{ JSON, "{\"to\":\"bob\",\"amount_decimal\":\"0.07\"}", F_AMOUNT, 7 },
		{ FORM, "name=x&stock=1&price_decimal=0", F_PRICE, 0 },
		{ FORM, "name=x&stock=1&price_decimal=19.99", F_PRICE, 1999 },
	};
	static const struct rcase bad[] = {
		{ "three decimals", { .content_type = FORM, B("amount_decimal=12.505") }, 422,
		    "amount_decimal" },
		{ "decimal comma", { .content_type = FORM, B("amount_decimal=1%2C2") }, 422,
		    "amount_decimal" },
		{ "negative", { .content_type = FORM, B("price_decimal=-1") }, 422, "price_decimal" },
		{ "exponent", { .content_type = FORM, B("amount_decimal=1e3") }, 422,
		    "amount_decimal" },
		{ "empty", { .content_type = FORM, B("amount_decimal=") }, 422, "amount_decimal" },
		{ "zero amount", { .content_type = FORM, B("amount_decimal=0.00") }, 422,
		    "amount_decimal" },
		{ "JSON number", { .content_type = JSON, B("{\"amount_decimal\":12.5}") }, 422,
		    "amount_decimal" },
		{ "both", { .content_type = FORM, B("amount=1250&amount_decimal=12.50") }, 422,
		    "amount_decimal" },
		{ "both, decimal first", { .content_type = FORM,
		    B("price_decimal=1&price=100") }, 422, "price_decimal" },
		{ "twice", { .content_type = FORM, B("amount_decimal=1&amount_decimal=1") }, 422,
		    "amount_decimal" },
		{ "cents stay integers", { .content_type = FORM, B("amount=12.50") }, 422, "amount" },
	};
	size_t i;

	for (i = 0; i < NELEM(ok); i++) {
		struct req r;
		struct problem p;
		struct req_input in = { .method = "POST", .path = "/transfer/",
		    .content_type = ok[i].ctype, .body = ok[i].body, .body_len = strlen(ok[i].body) };

		expect(ok[i].body, parse(&in, &r, &p), &p, 0, NULL);
		ck_assert_msg(r.f[ok[i].field].set && r.f[ok[i].field].i == ok[i].want,
		    "%s: got %lld, want %lld", ok[i].body, (long long)r.f[ok[i].field].i,
		    (long long)ok[i].want);
		ck_assert_msg(!r.f[F_AMOUNT_DEC].set && !r.f[F_PRICE_DEC].set,
		    "%s: a decimal field is left set", ok[i].body);
		arena_reset(&arena);
	}
	run_cases(bad, NELEM(bad));
}
END_TEST

START_TEST(int_field_takes_json_number_or_decimal_string)
{
	static const struct {
		const char *body;
		int64_t want;
	} c[] = {
		{ "{\"quantity\":5}", 5 },
		{ "{\"quantity\":\"5\"}", 5 },
		{ "{\"quantity\":\" 5 \"}", 5 },
		{ "{\"quantity\":1000000000}", 1000000000 },
		{ "{\"quantity\":\"1000000000\"}", 1000000000 },
		{ "{\"stock\":0}", 0 },
		{ "{\"stock\":-0}", 0 },
		{ "{\"product\":9007199254740992}", 9007199254740992LL },
		{ "{\"product\":\"9223372036854775807\"}", INT64_MAX },
	};
	size_t i;

	for (i = 0; i < NELEM(c); i++) {
		struct req r;
		struct problem p;
		struct req_input in = { .method = "POST", .path = "/order/",
		    .content_type = JSON, .body = c[i].body, .body_len = strlen(c[i].body) };
		int f;

		expect(c[i].body, parse(&in, &r, &p), &p, 0, NULL);
		f = r.f[F_QUANTITY].set ? F_QUANTITY : r.f[F_STOCK].set ? F_STOCK : F_PRODUCT;
		ck_assert_msg(r.f[f].set && r.f[f].i == c[i].want, "%s: got %lld, want %lld",
		    c[i].body, (long long)r.f[f].i, (long long)c[i].want);
		arena_reset(&arena);
	}
}
END_TEST

START_TEST(int_field_non_integer_json_is_422)
{
	static const struct rcase c[] = {
		{ "1.5", { .content_type = JSON, B("{\"quantity\":1.5}") }, 422, "quantity" },
		{ "1e300", { .content_type = JSON, B("{\"quantity\":1e300}") }, 422, "quantity" },
		{ "-1e300", { .content_type = JSON, B("{\"quantity\":-1e300}") }, 422, "quantity" },
		{ "1e-5", { .content_type = JSON, B("{\"quantity\":1e-5}") }, 422, "quantity" },
		{ "\"abc\"", { .content_type = JSON, B("{\"quantity\":\"abc\"}") }, 422, "quantity" },
		{ "\"1.5\"", { .content_type = JSON, B("{\"quantity\":\"1.5\"}") }, 422, "quantity" },
		{ "\"1e3\"", { .content_type = JSON, B("{\"quantity\":\"1e3\"}") }, 422, "quantity" },
		{ "\"+5\"", { .content_type = JSON, B("{\"quantity\":\"+5\"}") }, 422, "quantity" },
		{ "\"0x10\"", { .content_type = JSON, B("{\"quantity\":\"0x10\"}") }, 422, "quantity" },
		{ "\"\"", { .content_type = JSON, B("{\"quantity\":\"\"}") }, 422, "quantity" },
		{ "true", { .content_type = JSON, B("{\"quantity\":true}") }, 422, "quantity" },
		{ "false", { .content_type = JSON, B("{\"quantity\":false}") }, 422, "quantity" },
		{ "null", { .content_type = JSON, B("{\"quantity\":null}") }, 422, "quantity" },
		{ "[]", { .content_type = JSON, B("{\"quantity\":[]}") }, 422, "quantity" },
		{ "[1]", { .content_type = JSON, B("{\"quantity\":[1]}") }, 422, "quantity" },
		{ "{}", { .content_type = JSON, B("{\"quantity\":{}}") }, 422, "quantity" },
		{ "0 below min", { .content_type = JSON, B("{\"quantity\":0}") }, 422, "quantity" },
		{ "-1 below min", { .content_type = JSON, B("{\"quantity\":-1}") }, 422, "quantity" },
		{ "above max", { .content_type = JSON, B("{\"quantity\":1000000001}") }, 422, "quantity" },
		{ "price above max", { .content_type = JSON, B("{\"price\":1000000000001}") }, 422, "price" },
		{ "negative stock", { .content_type = JSON, B("{\"stock\":-1}") }, 422, "stock" },
		{ "1e2", { .content_type = JSON, B("{\"quantity\":1e2}") }, 422, "quantity" },
		{ "1E+2", { .content_type = JSON, B("{\"quantity\":1E+2}") }, 422, "quantity" },
		{ "1.0", { .content_type = JSON, B("{\"quantity\":1.0}") }, 422, "quantity" },
		{ "-0.0", { .content_type = JSON, B("{\"stock\":-0.0}") }, 422, "stock" },
		{ "form 1.5", { .content_type = FORM, B("quantity=1.5") }, 422, "quantity" },
		{ "form empty", { .content_type = FORM, B("quantity=") }, 422, "quantity" },
		{ "form no '='", { .content_type = FORM, B("quantity") }, 422, "quantity" },
		{ "form id 0", { .content_type = FORM, B("product=0") }, 422, "product" },
		{ "form id overflow", { .content_type = FORM,
		    B("product=9223372036854775808") }, 422, "product" },
	};

	run_cases(c, NELEM(c));
}
END_TEST

START_TEST(json_big_integer_is_not_silently_rounded)
{
	/* Above 2^53 a double cannot hold every integer: the parser must give
	 * the exact value or a 422, never a neighbouring id. */
	static const struct {
		const char *body;
		int64_t exact;
	} c[] = {
		{ "{\"product\":9007199254740993}", 9007199254740993LL },
		{ "{\"product\":12345678901234567}", 12345678901234567LL },
		{ "{\"product\":9007199254740995}", 9007199254740995LL },
		{ "{\"product\":9223372036854775807}", INT64_MAX },
	};
	char bad[512] = "";
	size_t i;

	for (i = 0; i < NELEM(c); i++) {
		struct req r;
		struct problem p;
		struct req_input in = { .method = "POST", .path = "/order/",
		    .content_type = JSON, .body = c[i].body, .body_len = strlen(c[i].body) };

		if (parse(&in, &r, &p) == 0) {
			if (r.f[F_PRODUCT].i != c[i].exact)
				snprintf(bad + strlen(bad), sizeof(bad) - strlen(bad),
				    "\n  %s accepted as product %lld", c[i].body,
				    (long long)r.f[F_PRODUCT].i);
		} else
			expect(c[i].body, -1, &p, 422, "product");
		arena_reset(&arena);
	}
	ck_assert_msg(bad[0] == '\0', "JSON integers silently changed:%s", bad);
}
END_TEST

START_TEST(text_field_validation_is_422)
{
	static const struct rcase c[] = {
		{ "empty name", { .content_type = FORM, B("name=") }, 422, "name" },
		{ "blank name", { .content_type = FORM, B("name=+++") }, 422, "name" },
		{ "tab in name", { .content_type = FORM, B("name=a%09b") }, 422, "name" },
		{ "DEL in name", { .content_type = FORM, B("name=a%7F") }, 422, "name" },
		{ "C1 in name", { .content_type = FORM, B("name=a%C2%85") }, 422, "name" },
		{ "number as name", { .content_type = JSON, B("{\"name\":5}") }, 422, "name" },
		{ "null name", { .content_type = JSON, B("{\"name\":null}") }, 422, "name" },
		{ "escaped newline", { .content_type = JSON, B("{\"name\":\"a\\nb\"}") }, 422, "name" },
		{ "bad idempotency key", { .content_type = FORM, B("idempotency_key=a+b") }, 422,
		    "idempotency_key" },
		{ "empty idempotency key", { .content_type = FORM, B("idempotency_key=") }, 422,
		    "idempotency_key" },
		{ "non-ASCII idempotency key", { .content_type = FORM,
		    B("idempotency_key=%C3%A9") }, 422, "idempotency_key" },
		{ "ok key", { .content_type = FORM, B("idempotency_key=Abc-123_~") }, 0, NULL },
	};

	run_cases(c, NELEM(c));
}
END_TEST

START_TEST(name_length_is_counted_in_characters)
{
	static const struct {
		size_t count;
		int status;
	} c[] = { { 200, 0 }, { 201, 422 } };
	size_t i, k;

	for (i = 0; i < NELEM(c); i++) {
		char body[16 + 201 * 6];
		size_t n = 0;
		struct req r;
		struct problem p;
		struct req_input in = { .method = "POST", .path = "/product/",
		    .content_type = FORM };
		char label[32];

		n += (size_t)sprintf(body, "name=");
		for (k = 0; k < c[i].count; k++)
			n += (size_t)sprintf(body + n, "%%C3%%A9");
		in.body = body;
		in.body_len = n;
		snprintf(label, sizeof(label), "%zu x e-acute", c[i].count);
		expect(label, parse(&in, &r, &p), &p, c[i].status, "name");
		if (c[i].status == 0)
			ck_assert_uint_eq(r.f[F_NAME].len, 2 * c[i].count);
		arena_reset(&arena);
	}
}
END_TEST

START_TEST(name_with_markup_is_kept_verbatim)
{
	static const struct {
		const char *ctype, *body, *want;
	} c[] = {
		{ FORM, "name=%3Cb%3Ex%3C%2Fb%3E", "<b>x</b>" },
		{ JSON, "{\"name\":\"<b>x</b>\"}", "<b>x</b>" },
		{ JSON, "{\"name\":\"<script>alert(1)</script>\"}", "<script>alert(1)</script>" },
		{ FORM, "name=%22q%22+%26+%27a%27", "\"q\" & 'a'" },
		{ JSON, "{\"name\":\"\\\"q\\\" & 'a'\"}", "\"q\" & 'a'" },
	};
	size_t i;

	for (i = 0; i < NELEM(c); i++) {
		struct req r;
		struct problem p;
		struct req_input in = { .method = "POST", .path = "/product/",
		    .content_type = c[i].ctype, .body = c[i].body, .body_len = strlen(c[i].body) };

		expect(c[i].body, parse(&in, &r, &p), &p, 0, NULL);
		ck_assert_msg(r.f[F_NAME].set && strcmp(r.f[F_NAME].s, c[i].want) == 0,
		    "%s: name is \"%s\", want \"%s\"", c[i].body,
		    r.f[F_NAME].s ? r.f[F_NAME].s : "(unset)", c[i].want);
		arena_reset(&arena);
	}
}
END_TEST

/* --- values kept as sent: username, to (K_VERBATIM), password (K_SECRET) --- */

/* The three fields share one check; its 422 names the field and its bounds
 * in bytes, and never quotes the value (a password's would leak). */
START_TEST(verbatim_and_secret_422_names_bounds_not_value)
{
	static const char user_why[] = "username must be 1 to 64 bytes of UTF-8 text without NUL";
	static const char to_why[] = "to must be 1 to 64 bytes of UTF-8 text without NUL";
	static const char pw_why[] = "password must be 1 to 1024 bytes of UTF-8 text without NUL";
	static const struct {
		const char *ctype, *field;
		const char *unit, *kept;	/* the value is unit x count, kept as kept x count */
		size_t count;
		const char *detail;		/* NULL: accepted */
	} c[] = {
		{ FORM, "username", "a", "a", 64, NULL },
		{ FORM, "username", "a", "a", 65, user_why },
		{ FORM, "username", "", "", 0, user_why },
		{ FORM, "username", "%C3%A9", "\xc3\xa9", 32, NULL },	/* 64 bytes */
		{ FORM, "username", "%C3%A9", "\xc3\xa9", 33, user_why }, /* 33 characters */
		{ FORM, "username", "+", " ", 3, NULL },		/* not trimmed */
		{ JSON, "username", "\\u00e9", "\xc3\xa9", 33, user_why },
		{ JSON, "username", "", "", 0, user_why },
		{ FORM, "to", "b", "b", 64, NULL },
		{ FORM, "to", "b", "b", 65, to_why },
		{ JSON, "to", " b", " b", 2, NULL },
		{ JSON, "to", "", "", 0, to_why },
		{ FORM, "password", "s3cr3t%21", "s3cr3t!", 1, NULL },
		{ FORM, "password", "x", "x", 1024, NULL },
		{ FORM, "password", "s3cr3t%21", "s3cr3t!", 147, pw_why },	/* 1029 bytes */
		{ FORM, "password", "x", "x", 1025, pw_why },
		{ FORM, "password", "", "", 0, pw_why },
		{ JSON, "password", "s3cr3t!", "s3cr3t!", 147, pw_why },
		{ JSON, "password", "", "", 0, pw_why },
	};
	size_t i, k;

	for (i = 0; i < NELEM(c); i++) {
		char body[32 + 1025 * 9], label[64], want[1025 * 7 + 1];
		size_t n, wn = 0;
		struct req r;
		struct problem p;
		struct req_input in = { .method = "POST", .path = "/auth/login/",
		    .content_type = c[i].ctype };
		int json = strcmp(c[i].ctype, JSON) == 0;
		int f = strcmp(c[i].field, "username") == 0 ? F_USERNAME :
		    strcmp(c[i].field, "to") == 0 ? F_TO : F_PASSWORD;

		n = (size_t)sprintf(body, json ? "{\"%s\":\"" : "%s=", c[i].field);
		for (k = 0; k < c[i].count; k++) {
			n += (size_t)sprintf(body + n, "%s", c[i].unit);
			wn += (size_t)sprintf(want + wn, "%s", c[i].kept);
		}
		if (json)
			n += (size_t)sprintf(body + n, "\"}");
		in.body = body;
		in.body_len = n;
		snprintf(label, sizeof(label), "%s %s = %zu x '%s'", json ? "JSON" : "form",
		    c[i].field, c[i].count, c[i].unit);
		if (c[i].detail == NULL) {
			expect(label, parse(&in, &r, &p), &p, 0, NULL);
			ck_assert_msg(r.f[f].set && r.f[f].len == wn &&
			    memcmp(r.f[f].s, want, wn) == 0, "%s: not kept as sent", label);
		} else {
			expect(label, parse(&in, &r, &p), &p, 422, c[i].field);
			ck_assert_msg(strcmp(p.detail, c[i].detail) == 0,
			    "%s: detail \"%s\", want \"%s\"", label, p.detail, c[i].detail);
			ck_assert_msg(strstr(p.detail, "s3cr3t") == NULL,
			    "%s: the value is echoed", label);
		}
		arena_reset(&arena);
	}
}
END_TEST

/* --- field names: unknown, repeated -------------------------------------- */

START_TEST(unknown_field_is_422)
{
	static const struct rcase c[] = {
		{ "form", { .content_type = FORM, B("colour=red") }, 422, "colour" },
		{ "form after good ones", { .content_type = FORM, B("name=x&price=1&bogus=") },
		    422, "bogus" },
		{ "form, no value", { .content_type = FORM, B("quantity=1&flag") }, 422, "flag" },
		{ "JSON", { .content_type = JSON, B("{\"colour\":\"red\"}") }, 422, "colour" },
		{ "JSON case differs", { .content_type = JSON, B("{\"Name\":\"x\"}") }, 422, "Name" },
		{ "JSON object value", { .content_type = JSON, B("{\"meta\":{}}") }, 422, "meta" },
		{ "JSON with markup name", { .content_type = JSON, B("{\"<i>\":1}") }, 422, "<i>" },
	};

	run_cases(c, NELEM(c));
}
END_TEST

/* A detail that quotes a value cuts it to 64 bytes: never inside a character
 * (é, € and U+1F600 straddling the cut by every possible byte). */
START_TEST(detail_quoting_a_long_name_is_valid_utf8)
{
	static const char *const wide[] = { "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80" };
	size_t w, o;

	for (w = 0; w < NELEM(wide); w++) {
		size_t n = strlen(wide[w]);

		for (o = 1; o < n; o++) {
			char body[256];
			struct req_input in = { .method = "POST", .path = "/checkout/",
			    .content_type = JSON };
			struct req r;
			struct problem p;
			int len;

			/* An unknown member of an item: its name is quoted. */
			len = snprintf(body, sizeof(body), "{\"items\":[{\"%.*s%sz\":1}]}",
			    (int)(64 - o), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
			    wide[w]);
			in.body = body;
			in.body_len = (size_t)len;
			ck_assert_int_eq(parse(&in, &r, &p), -1);
			ck_assert_int_eq(problem_status(p.kind), 422);
			ck_assert_msg(valid_utf8(p.detail, strlen(p.detail)),
			    "%zu-byte character %zu bytes over the cut: detail is not UTF-8: %s",
			    n, o, p.detail);
			ck_assert_msg(strstr(p.detail, "aaaa'") != NULL,
			    "%zu-byte character %zu bytes over the cut: %s", n, o, p.detail);
			arena_reset(&arena);
		}
	}
}
END_TEST

START_TEST(duplicate_field_is_422)
{
	static const struct rcase c[] = {
		{ "form different values", { .content_type = FORM, B("quantity=1&quantity=2") },
		    422, "quantity" },
		{ "form same values", { .content_type = FORM, B("quantity=1&quantity=1") },
		    422, "quantity" },
		{ "form name twice", { .content_type = FORM, B("name=a&price=1&name=b") },
		    422, "name" },
		{ "form encoded name", { .content_type = FORM, B("quantity=1&quantit%79=2") },
		    422, "quantity" },
		{ "form next twice", { .content_type = FORM, B("next=/a&next=/b") }, 422, "next" },
		{ "JSON different values", { .content_type = JSON,
		    B("{\"quantity\":1,\"quantity\":2}") }, 422, "quantity" },
		{ "JSON number and string", { .content_type = JSON,
		    B("{\"quantity\":1,\"quantity\":\"1\"}") }, 422, "quantity" },
		{ "JSON escaped key", { .content_type = JSON,
		    B("{\"name\":\"a\",\"n\\u0061me\":\"a\"}") }, 422, "name" },
	};

	run_cases(c, NELEM(c));
}
END_TEST

/* --- malformed bodies: 400 ------------------------------------------------ */

START_TEST(bad_percent_escape_is_400)
{
	static const struct rcase c[] = {
		{ "lone %", { .content_type = FORM, B("name=%") }, 400, NULL },
		{ "one hex digit at end", { .content_type = FORM, B("name=%4") }, 400, NULL },
		{ "one hex digit inside", { .content_type = FORM, B("name=a%4&price=1") }, 400, NULL },
		{ "non-hex", { .content_type = FORM, B("name=%zz") }, 400, NULL },
		{ "G", { .content_type = FORM, B("name=%G1") }, 400, NULL },
		{ "in the name", { .content_type = FORM, B("na%me=x") }, 400, NULL },
		{ "trailing %", { .content_type = FORM, B("name=100%25%") }, 400, NULL },
		{ "GET query", { .method = "GET", .path = "/product/", .query = "limit=%zz" },
		    400, NULL },
		{ "GET unknown param", { .method = "GET", .path = "/product/", .query = "x=%" },
		    400, NULL },
		{ "good escapes", { .content_type = FORM, B("name=100%25+%2B%2b") }, 0, NULL },
	};

	run_cases(c, NELEM(c));
}
END_TEST

START_TEST(invalid_utf8_is_400)
{
	static const struct rcase c[] = {
		{ "form escaped lone C3", { .content_type = FORM, B("name=%C3") }, 400, NULL },
		{ "form escaped overlong", { .content_type = FORM, B("name=%C0%80") }, 400, NULL },
		{ "form escaped surrogate", { .content_type = FORM, B("name=%ED%A0%80") }, 400, NULL },
		{ "form raw FF", { .content_type = FORM, B("name=\xff") }, 400, NULL },
		{ "form Latin-1", { .content_type = FORM, B("name=caf%E9") }, 400, NULL },
		{ "form bad name", { .content_type = FORM, B("%FF=1") }, 400, NULL },
		{ "JSON lone C3", { .content_type = JSON, B("{\"name\":\"\xc3\"}") }, 400, NULL },
		{ "JSON surrogate bytes", { .content_type = JSON,
		    B("{\"name\":\"\xed\xa0\x80\"}") }, 400, NULL },
		{ "JSON bad key", { .content_type = JSON, B("{\"\xff\":1}") }, 400, NULL },
		{ "JSON bad byte outside strings", { .content_type = JSON, B("{}\xff") }, 400, NULL },
		{ "JSON escaped lone high surrogate", { .content_type = JSON,
		    B("{\"name\":\"\\ud800\"}") }, 400, NULL },
		{ "JSON escaped lone low surrogate", { .content_type = JSON,
		    B("{\"name\":\"\\udc00\"}") }, 400, NULL },
		{ "GET query", { .method = "GET", .path = "/product/", .query = "limit=%FF" },
		    400, NULL },
		{ "JSON escaped pair is fine", { .content_type = JSON,
		    B("{\"name\":\"\\ud83d\\ude00\"}") }, 0, NULL },
	};

	run_cases(c, NELEM(c));
}
END_TEST

START_TEST(nul_in_json_body_is_400)
{
	static const struct rcase c[] = {
		{ "NUL inside a string", { .content_type = JSON, B("{\"name\":\"a\0b\"}") },
		    400, NULL },
		{ "NUL after the object", { .content_type = JSON, B("{\"name\":\"ab\"}\0") },
		    400, NULL },
		{ "NUL first", { .content_type = JSON, B("\0{}") }, 400, NULL },
		{ "NUL in a key", { .content_type = JSON, B("{\"na\0me\":\"x\"}") }, 400, NULL },
	};

	run_cases(c, NELEM(c));
}
END_TEST

START_TEST(json_escaped_nul_is_400)
{
	static const struct rcase c[] = {
		{ "\\u0000 in a value", { .content_type = JSON, B("{\"name\":\"a\\u0000b\"}") },
		    400, NULL },
		{ "\\u0000 alone", { .content_type = JSON, B("{\"name\":\"\\u0000\"}") }, 400, NULL },
		{ "\\u0000 in a key", { .content_type = JSON, B("{\"na\\u0000me\":\"x\"}") },
		    400, NULL },
		{ "\\u0000 in an unknown field", { .content_type = JSON,
		    B("{\"x\":\"\\u0000\"}") }, 400, NULL },
		/* An escaped backslash followed by "u0000" is six ordinary characters. */
		{ "\\\\u0000 is text", { .content_type = JSON, B("{\"name\":\"a\\\\u0000b\"}") },
		    0, NULL },
		{ "\\u0001 is a control character", { .content_type = JSON,
		    B("{\"name\":\"a\\u0001\"}") }, 422, "name" },
	};

	run_cases(c, NELEM(c));
}
END_TEST

START_TEST(form_value_with_nul_is_400)
{
	/* request.h: "400 malformed body (..., invalid UTF-8, NUL, ...)", and
	 * SPEC-internal: "a NUL -> 400", whichever encoding carries it. */
	static const struct rcase c[] = {
		{ "NUL in name", { .content_type = FORM, B("name=a%00b") }, 400, NULL },
		{ "NUL in quantity", { .content_type = FORM, B("quantity=1%00") }, 400, NULL },
		{ "NUL in key name", { .content_type = FORM, B("na%00me=x") }, 400, NULL },
		{ "raw NUL in value", { .content_type = FORM, B("name=a\0b") }, 400, NULL },
	};

	run_cases(c, NELEM(c));
}
END_TEST

/* Builds {"name": [[...]]} with depth levels counting the outer object. */
static char *
nested(int depth, const char *key)
{
	char *s = malloc(64 + 2 * (size_t)depth);
	size_t n;
	int i;

	ck_assert_ptr_nonnull(s);
	n = (size_t)sprintf(s, "{\"%s\":", key);
	for (i = 1; i < depth; i++)
		s[n++] = '[';
	for (i = 1; i < depth; i++)
		s[n++] = ']';
	s[n++] = '}';
	s[n] = '\0';
	return s;
}

START_TEST(json_nested_too_deep_is_400)
{
	static const struct {
		int depth;
		const char *key;
		int status;
		const char *field;
	} c[] = {
		/* Within the limit the parse succeeds; an array is then the wrong
		 * shape for a scalar field (422), or an unknown field (422). */
		{ 2, "name", 422, "name" },
		{ REQ_JSON_DEPTH_MAX, "name", 422, "name" },
		{ REQ_JSON_DEPTH_MAX, "x", 422, "x" },
		{ REQ_JSON_DEPTH_MAX + 1, "name", 400, NULL },
		{ REQ_JSON_DEPTH_MAX + 1, "x", 400, NULL },
		{ 1000, "name", 400, NULL },
		{ 100000, "name", 413, NULL },
	};
	size_t i;

	for (i = 0; i < NELEM(c); i++) {
		char *body = nested(c[i].depth, c[i].key);
		char label[64];
		struct req r;
		struct problem p;
		struct req_input in = { .method = "POST", .path = "/product/",
		    .content_type = JSON, .body = body, .body_len = strlen(body) };

		snprintf(label, sizeof(label), "depth %d, key %s", c[i].depth, c[i].key);
		expect(label, parse(&in, &r, &p), &p, c[i].status, c[i].field);
		free(body);
		arena_reset(&arena);
	}
}
END_TEST

START_TEST(json_brackets_in_strings_do_not_nest)
{
	static const struct rcase c[] = {
		{ "many [ in a string", { .content_type = JSON,
		    B("{\"name\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}") }, 0, NULL },
		{ "escaped quote then [", { .content_type = JSON,
		    B("{\"name\":\"\\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}") }, 0, NULL },
		{ "17 [ at root", { .content_type = JSON,
		    B("[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]") }, 400, NULL },
		{ "17 { at root", { .content_type = JSON,
		    B("{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":"
		    "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{}}}}}}}}}}}}}}}}}") }, 400, NULL },
	};

	run_cases(c, NELEM(c));
}
END_TEST

START_TEST(json_non_object_root_is_400)
{
	static const struct rcase c[] = {
		{ "empty array", { .content_type = JSON, B("[]") }, 400, NULL },
		{ "array of object", { .content_type = JSON, B("[{\"name\":\"x\"}]") }, 400, NULL },
		{ "string", { .content_type = JSON, B("\"name\"") }, 400, NULL },
		{ "number", { .content_type = JSON, B("1") }, 400, NULL },
		{ "true", { .content_type = JSON, B("true") }, 400, NULL },
		{ "null", { .content_type = JSON, B("null") }, 400, NULL },
		{ "only whitespace", { .content_type = JSON, B("  ") }, 400, NULL },
	};

	run_cases(c, NELEM(c));
}
END_TEST

START_TEST(json_broken_is_400)
{
	static const struct rcase c[] = {
		{ "unclosed", { .content_type = JSON, B("{") }, 400, NULL },
		{ "unclosed string", { .content_type = JSON, B("{\"name\":\"x") }, 400, NULL },
		{ "missing value", { .content_type = JSON, B("{\"name\":}") }, 400, NULL },
		{ "single quotes", { .content_type = JSON, B("{'name':'x'}") }, 400, NULL },
		{ "bare key", { .content_type = JSON, B("{name:\"x\"}") }, 400, NULL },
		{ "trailing comma", { .content_type = JSON, B("{\"name\":\"x\",}") }, 400, NULL },
		{ "NaN", { .content_type = JSON, B("{\"quantity\":NaN}") }, 400, NULL },
		{ "Infinity", { .content_type = JSON, B("{\"quantity\":Infinity}") }, 400, NULL },
		{ "hex number", { .content_type = JSON, B("{\"quantity\":0x10}") }, 400, NULL },
		{ "lone minus", { .content_type = JSON, B("{\"quantity\":-}") }, 400, NULL },
		{ "leading zero", { .content_type = JSON, B("{\"quantity\":01}") }, 400, NULL },
		{ "negative leading zero", { .content_type = JSON, B("{\"quantity\":-01}") },
		    400, NULL },
		{ "plus sign", { .content_type = JSON, B("{\"quantity\":+1}") }, 400, NULL },
		{ "bare fraction", { .content_type = JSON, B("{\"quantity\":.5}") }, 400, NULL },
		{ "dot without digits", { .content_type = JSON, B("{\"quantity\":1.}") }, 400, NULL },
		{ "exponent without digits", { .content_type = JSON, B("{\"quantity\":1e}") },
		    400, NULL },
		{ "bad escape", { .content_type = JSON, B("{\"name\":\"\\x41\"}") }, 400, NULL },
		{ "form body labelled JSON", { .content_type = JSON, B("name=x") }, 400, NULL },
	};

	run_cases(c, NELEM(c));
}
END_TEST

START_TEST(json_trailing_garbage_is_400)
{
	static const struct rcase c[] = {
		{ "word", { .content_type = JSON, B("{} x") }, 400, NULL },
		{ "second object", { .content_type = JSON, B("{}{}") }, 400, NULL },
		{ "comma", { .content_type = JSON, B("{\"quantity\":1},") }, 400, NULL },
		{ "bracket", { .content_type = JSON, B("{}]") }, 400, NULL },
		{ "comment", { .content_type = JSON, B("{} // c") }, 400, NULL },
		{ "trailing whitespace is fine", { .content_type = JSON,
		    B("{\"quantity\":1} \r\n\t") }, 0, NULL },
		{ "leading whitespace is fine", { .content_type = JSON,
		    B(" \n{\"quantity\":1}") }, 0, NULL },
	};

	run_cases(c, NELEM(c));
}
END_TEST

/* --- media types and sizes ------------------------------------------------ */

START_TEST(content_type_decides_the_parser)
{
	static const struct rcase c[] = {
		{ "JSON with charset", { .content_type = "application/json; charset=utf-8",
		    B("{\"quantity\":1}") }, 0, NULL },
		{ "JSON upper case", { .content_type = "APPLICATION/JSON",
		    B("{\"quantity\":1}") }, 0, NULL },
		{ "JSON mixed case, no space", { .content_type = "Application/Json;charset=UTF-8",
		    B("{\"quantity\":1}") }, 0, NULL },
		{ "form", { .content_type = FORM, B("quantity=1") }, 0, NULL },
		{ "form with charset", { .content_type = FORM "; charset=UTF-8",
		    B("quantity=1") }, 0, NULL },
		{ "no type, empty body", { .content_type = NULL, .body = NULL }, 0, NULL },
		{ "text/plain, empty body", { .content_type = "text/plain", B("") }, 0, NULL },
		{ "text/plain with body", { .content_type = "text/plain", B("quantity=1") },
		    415, NULL },
		{ "no type with body", { .content_type = NULL, B("quantity=1") }, 415, NULL },
		{ "empty type with body", { .content_type = "", B("quantity=1") }, 415, NULL },
		{ "multipart", { .content_type = "multipart/form-data; boundary=xyz",
		    B("--xyz\r\nContent-Disposition: form-data; name=\"quantity\"\r\n\r\n1\r\n"
		    "--xyz--\r\n") }, 415, NULL },
		{ "JSON prefix", { .content_type = "application/jsonx",
		    B("{\"quantity\":1}") }, 415, NULL },
		{ "JSON patch", { .content_type = "application/json-patch+json",
		    B("[]") }, 415, NULL },
		{ "XML", { .content_type = "application/xml", B("<q>1</q>") }, 415, NULL },
		{ "form prefix", { .content_type = FORM "x", B("quantity=1") }, 415, NULL },
	};

	run_cases(c, NELEM(c));
}
END_TEST

START_TEST(body_over_limit_is_413_before_reading)
{
	/* body_len is what CONTENT_LENGTH claimed; the buffer behind it is
	 * tiny, so reading it would trip AddressSanitizer. */
	static const struct {
		const char *ctype;
		size_t len;
	} c[] = {
		{ JSON, REQ_BODY_MAX + 1 },
		{ FORM, REQ_BODY_MAX + 1 },
		{ "text/plain", REQ_BODY_MAX + 1 },
		{ NULL, REQ_BODY_MAX + 1 },
		{ JSON, SIZE_MAX },
	};
	char *tiny = malloc(2);
	size_t i;

	ck_assert_ptr_nonnull(tiny);
	memcpy(tiny, "{}", 2);
	for (i = 0; i < NELEM(c); i++) {
		struct req r;
		struct problem p;
		struct req_input in = { .method = "POST", .path = "/order/",
		    .content_type = c[i].ctype, .body = tiny, .body_len = c[i].len };
		char label[64];

		snprintf(label, sizeof(label), "%s, %zu bytes", c[i].ctype ? c[i].ctype : "none",
		    c[i].len);
		memset(&p, 0, sizeof(p));
		expect(label, req_parse(&r, &arena, &in, &p), &p, 413, NULL);
		arena_reset(&arena);
	}
	free(tiny);
}
END_TEST

START_TEST(body_at_limit_is_accepted)
{
	static const char obj[] = "{\"quantity\":1}";
	char *body = malloc(REQ_BODY_MAX);
	struct req r;
	struct problem p;
	struct req_input in = { .method = "POST", .path = "/order/", .content_type = JSON,
	    .body = body, .body_len = REQ_BODY_MAX };

	ck_assert_ptr_nonnull(body);
	memset(body, ' ', REQ_BODY_MAX);
	memcpy(body, obj, sizeof(obj) - 1);
	expect("65536-byte JSON", parse(&in, &r, &p), &p, 0, NULL);
	ck_assert_int_eq(r.f[F_QUANTITY].i, 1);
	free(body);
}
END_TEST

/* n pairs "<key><i>=1" joined by '&' (key "a" unnumbered when plain). */
static char *
pairs(size_t n, int numbered, int json)
{
	char *s = malloc(16 + n * 16);
	size_t i, len = 0;

	ck_assert_ptr_nonnull(s);
	if (json)
		s[len++] = '{';
	for (i = 0; i < n; i++) {
		const char *sep = i == 0 ? "" : json ? "," : "&";

		if (json)
			len += (size_t)sprintf(s + len, "%s\"a%zu\":1", sep, i);
		else if (numbered)
			len += (size_t)sprintf(s + len, "%sa%zu=1", sep, i);
		else
			len += (size_t)sprintf(s + len, "%sa=1", sep);
	}
	if (json)
		s[len++] = '}';
	s[len] = '\0';
	return s;
}

START_TEST(more_than_fields_max_is_400)
{
	static const struct {
		const char *method, *ctype;
		size_t n;
		int json, status;
	} c[] = {
		/* At the limit the body parses; the first field is unknown. */
		{ "POST", FORM, REQ_FIELDS_MAX, 0, 422 },
		{ "POST", FORM, REQ_FIELDS_MAX + 1, 0, 400 },
		{ "POST", JSON, REQ_FIELDS_MAX, 1, 422 },
		{ "POST", JSON, REQ_FIELDS_MAX + 1, 1, 400 },
		{ "POST", FORM, 1000, 0, 400 },
		/* A query's unknown parameters are ignored, but still counted. */
		{ "GET", NULL, REQ_FIELDS_MAX, 0, 0 },
		{ "GET", NULL, REQ_FIELDS_MAX + 1, 0, 400 },
	};
	size_t i;

	for (i = 0; i < NELEM(c); i++) {
		char *s = pairs(c[i].n, 1, c[i].json);
		struct req r;
		struct problem p;
		struct req_input in = { .method = c[i].method, .path = "/product/",
		    .content_type = c[i].ctype };
		char label[64];

		if (strcmp(c[i].method, "GET") == 0)
			in.query = s;
		else {
			in.body = s;
			in.body_len = strlen(s);
		}
		snprintf(label, sizeof(label), "%s %s %zu fields", c[i].method,
		    c[i].json ? "JSON" : "form", c[i].n);
		expect(label, parse(&in, &r, &p), &p, c[i].status, NULL);
		free(s);
		arena_reset(&arena);
	}
}
END_TEST

START_TEST(empty_pairs_are_not_fields)
{
	char body[REQ_FIELDS_MAX * 3 + 32];
	struct req r;
	struct problem p;
	struct req_input in = { .method = "POST", .path = "/order/", .content_type = FORM };
	size_t n = REQ_FIELDS_MAX * 3;

	memset(body, '&', n);
	memcpy(body + n, "quantity=4&&", 12);
	in.body = body;
	in.body_len = n + 12;
	expect("many '&'", parse(&in, &r, &p), &p, 0, NULL);
	ck_assert_int_eq(r.f[F_QUANTITY].i, 4);
}
END_TEST

/* "<name>=<value>" with name and value of the given sizes. */
static char *
pair_of(const char *name_fill, size_t name_len, const char *name,
    size_t value_len, int json)
{
	char *s;
	size_t n = 0;

	if (name != NULL)
		name_len = strlen(name);
	s = malloc(name_len + value_len + 16);
	ck_assert_ptr_nonnull(s);
	if (json)
		n += (size_t)sprintf(s, "{\"");
	if (name != NULL) {
		memcpy(s + n, name, strlen(name));
		n += strlen(name);
	} else {
		memset(s + n, name_fill[0], name_len);
		n += name_len;
	}
	memcpy(s + n, json ? "\":\"" : "=", json ? 3 : 1);
	n += json ? 3 : 1;
	memset(s + n, 'v', value_len);
	n += value_len;
	if (json) {
		memcpy(s + n, "\"}", 2);
		n += 2;
	}
	s[n] = '\0';
	return s;
}

START_TEST(long_field_name_or_value_is_400)
{
	static const struct {
		const char *label;
		size_t name_len;
		const char *name;
		size_t value_len;
		int json, status;
		const char *field;
	} c[] = {
		{ "form name 64", REQ_NAME_MAX, NULL, 1, 0, 422, NULL },
		{ "form name 65", REQ_NAME_MAX + 1, NULL, 1, 0, 400, NULL },
		{ "form value 4096", 0, "idempotency_key", REQ_VALUE_MAX, 0, 422,
		    "idempotency_key" },
		{ "form value 4097", 0, "idempotency_key", REQ_VALUE_MAX + 1, 0, 400, NULL },
		{ "JSON name 64", REQ_NAME_MAX, NULL, 1, 1, 422, NULL },
		{ "JSON name 65", REQ_NAME_MAX + 1, NULL, 1, 1, 400, NULL },
		{ "JSON value 4096", 0, "name", REQ_VALUE_MAX, 1, 422, "name" },
		{ "JSON value 4097", 0, "name", REQ_VALUE_MAX + 1, 1, 400, NULL },
	};
	size_t i;

	for (i = 0; i < NELEM(c); i++) {
		char *s = pair_of("k", c[i].name_len, c[i].name, c[i].value_len, c[i].json);
		struct req r;
		struct problem p;
		struct req_input in = { .method = "POST", .path = "/product/",
		    .content_type = c[i].json ? JSON : FORM, .body = s, .body_len = strlen(s) };

		expect(c[i].label, parse(&in, &r, &p), &p, c[i].status, c[i].field);
		free(s);
		arena_reset(&arena);
	}
}
END_TEST

START_TEST(percent_encoded_name_counts_decoded_bytes)
{
	char body[REQ_NAME_MAX * 3 + 8];
	struct req r;
	struct problem p;
	struct req_input in = { .method = "POST", .path = "/order/", .content_type = FORM };
	size_t i, n = 0;

	for (i = 0; i < REQ_NAME_MAX; i++)
		n += (size_t)sprintf(body + n, "%%6B");
	n += (size_t)sprintf(body + n, "=1");
	in.body = body;
	in.body_len = n;
	/* 64 decoded bytes: parsed, then an unknown field. */
	expect("64 x %6B", parse(&in, &r, &p), &p, 422, NULL);
}
END_TEST

/* --- GET query ----------------------------------------------------------- */

START_TEST(get_ignores_unknown_params_but_checks_known_ones)
{
	static const struct rcase c[] = {
		{ "unknown ignored", { .method = "GET", .path = "/product/",
		    .query = "x=1&_=123&limit=5" }, 0, NULL },
		{ "no query", { .method = "GET", .path = "/product/" }, 0, NULL },
		{ "empty query", { .method = "GET", .path = "/product/", .query = "" }, 0, NULL },
		{ "max limit and after", { .method = "GET", .path = "/product/",
		    .query = "limit=200&after=9223372036854775807" }, 0, NULL },
		{ "body ignored on GET", { .method = "GET", .path = "/product/",
		    .content_type = "text/plain", B("junk\xff") }, 0, NULL },
		{ "limit 0", { .method = "GET", .path = "/product/", .query = "limit=0" },
		    422, "limit" },
		{ "limit 201", { .method = "GET", .path = "/product/", .query = "limit=201" },
		    422, "limit" },
		{ "limit abc", { .method = "GET", .path = "/product/", .query = "limit=abc" },
		    422, "limit" },
		{ "limit -1", { .method = "GET", .path = "/product/", .query = "limit=-1" },
		    422, "limit" },
		{ "limit 1.5", { .method = "GET", .path = "/product/", .query = "limit=1.5" },
		    422, "limit" },
		{ "limit empty", { .method = "GET", .path = "/product/", .query = "limit=" },
		    422, "limit" },
		{ "limit twice", { .method = "GET", .path = "/product/",
		    .query = "limit=5&limit=6" }, 422, "limit" },
		{ "after -1", { .method = "GET", .path = "/order/", .query = "after=-1" },
		    422, "after" },
		{ "after overflow", { .method = "GET", .path = "/order/",
		    .query = "after=9223372036854775808" }, 422, "after" },
		{ "HEAD limit 0", { .method = "HEAD", .path = "/product/", .query = "limit=0" },
		    422, "limit" },
	};

	run_cases(c, NELEM(c));
}
END_TEST

START_TEST(get_query_values_are_parsed)
{
	struct req r;
	struct problem p;
	struct req_input in = { .method = "GET", .path = "/product/?limit=7&after=3",
	    .query = "limit=+7&after=3&utm=x" };

	expect("query", parse(&in, &r, &p), &p, 0, NULL);
	ck_assert_int_eq(r.f[F_LIMIT].set, 1);
	ck_assert_int_eq(r.f[F_LIMIT].i, 7);
	ck_assert_int_eq(r.f[F_AFTER].i, 3);
	ck_assert_str_eq(r.path, "/product/");
	ck_assert_int_eq(r.browser, 0);
}
END_TEST

/* --- method override and browser detection -------------------------------- */

START_TEST(method_override_applies_to_post_only)
{
	static const struct {
		const char *label;
		struct req_input in;
		int status;
		enum method method, wire;
	} c[] = {
		{ "_method=PUT", { .method = "POST", .content_type = FORM, B("_method=PUT") },
		    0, M_PUT, M_POST },
		{ "_method=DELETE", { .method = "POST", .content_type = FORM,
		    B("_method=DELETE") }, 0, M_DELETE, M_POST },
		{ "_method=PATCH", { .method = "POST", .content_type = FORM,
		    B("_method=PATCH") }, 0, M_PATCH, M_POST },
		{ "_method=POST", { .method = "POST", .content_type = FORM,
		    B("_method=POST") }, 0, M_POST, M_POST },
		{ "JSON _method", { .method = "POST", .content_type = JSON,
		    B("{\"_method\":\"PUT\"}") }, 0, M_PUT, M_POST },
		{ "header DELETE", { .method = "POST", .override = "DELETE" }, 0, M_DELETE, M_POST },
		{ "header PUT with body", { .method = "POST", .override = "PUT",
		    .content_type = FORM, B("quantity=1") }, 0, M_PUT, M_POST },
		{ "empty header", { .method = "POST", .override = "" }, 0, M_POST, M_POST },
		{ "form wins over header", { .method = "POST", .override = "DELETE",
		    .content_type = FORM, B("_method=PUT") }, 0, M_PUT, M_POST },
		{ "header on GET ignored", { .method = "GET", .override = "DELETE" },
		    0, M_GET, M_GET },
		{ "query _method on GET ignored", { .method = "GET", .query = "_method=DELETE" },
		    0, M_GET, M_GET },
		{ "header on PUT ignored", { .method = "PUT", .override = "DELETE" },
		    0, M_PUT, M_PUT },
		{ "form on PUT ignored", { .method = "PUT", .content_type = FORM,
		    B("_method=DELETE") }, 0, M_PUT, M_PUT },
		{ "header GET on POST", { .method = "POST", .override = "GET" }, 400, 0, 0 },
		{ "header junk on POST", { .method = "POST", .override = "FOO" }, 400, 0, 0 },
	};
	size_t i;

	for (i = 0; i < NELEM(c); i++) {
		struct req r;
		struct problem p;
		struct req_input in = c[i].in;

		in.path = "/order/1/abort/";
		expect(c[i].label, parse(&in, &r, &p), &p, c[i].status, NULL);
		if (c[i].status == 0) {
			ck_assert_msg(r.method == c[i].method, "%s: method %s, want %s",
			    c[i].label, req_method_name(r.method), req_method_name(c[i].method));
			ck_assert_msg(r.wire_method == c[i].wire, "%s: wire method %s, want %s",
			    c[i].label, req_method_name(r.wire_method),
			    req_method_name(c[i].wire));
		}
		arena_reset(&arena);
	}
}
END_TEST

START_TEST(method_field_other_than_put_delete_patch_post_is_422)
{
	static const struct rcase c[] = {
		{ "GET", { .content_type = FORM, B("_method=GET") }, 422, "_method" },
		{ "HEAD", { .content_type = FORM, B("_method=HEAD") }, 422, "_method" },
		{ "TRACE", { .content_type = FORM, B("_method=TRACE") }, 422, "_method" },
		{ "empty", { .content_type = FORM, B("_method=") }, 422, "_method" },
		{ "JSON number", { .content_type = JSON, B("{\"_method\":1}") }, 422, "_method" },
		{ "JSON GET", { .content_type = JSON, B("{\"_method\":\"GET\"}") }, 422, "_method" },
	};

	run_cases(c, NELEM(c));
}
END_TEST

START_TEST(browser_is_a_post_preferring_html)
{
	static const struct {
		const char *label, *method, *accept;
		int want;
	} c[] = {
		{ "browser Accept", "POST", BROWSER_ACCEPT, 1 },
		{ "text/html", "POST", "text/html", 1 },
		{ "*/*", "POST", "*/*", 0 },
		{ "application/json", "POST", "application/json", 0 },
		{ "missing Accept", "POST", NULL, 0 },
		{ "empty Accept", "POST", "", 0 },
		{ "GET with browser Accept", "GET", BROWSER_ACCEPT, 0 },
		{ "PUT with browser Accept", "PUT", BROWSER_ACCEPT, 0 },
	};
	size_t i;

	for (i = 0; i < NELEM(c); i++) {
		struct req r;
		struct problem p;
		struct req_input in = { .method = c[i].method, .path = "/order/",
		    .accept = c[i].accept, .content_type = FORM, B("quantity=1") };

		expect(c[i].label, parse(&in, &r, &p), &p, 0, NULL);
		ck_assert_msg(r.browser == c[i].want, "%s: browser %d, want %d",
		    c[i].label, r.browser, c[i].want);
		arena_reset(&arena);
	}
}
END_TEST

START_TEST(browser_and_next_survive_a_failed_parse)
{
	/* A failed browser form post must still be answered with a 303 back to
	 * its page: browser and next are known even when req_parse fails. */
	static const struct {
		const char *label, *body;
		size_t len;
		int status;
		const char *next;	/* NULL: next unset */
	} c[] = {
		{ "bad field after next", "next=%2Fshop&quantity=0", 23, 422, "/shop" },
		{ "bad field before next", "quantity=0&next=%2Fshop", 23, 422, "/shop" },
		{ "unknown field", "next=%2Fshop&colour=red", 23, 422, "/shop" },
		{ "duplicate field", "quantity=1&quantity=2&next=/o", 29, 422, "/o" },
		{ "bad escape", "next=%2Fshop&name=%zz", 21, 400, NULL },
		{ "too large", "next=%2Fshop", REQ_BODY_MAX + 1, 413, NULL },
	};
	size_t i;

	for (i = 0; i < NELEM(c); i++) {
		struct req r;
		struct problem p;
		struct req_input in = { .method = "POST", .path = "/order/",
		    .accept = BROWSER_ACCEPT, .content_type = FORM, .body = c[i].body,
		    .body_len = c[i].len };

		expect(c[i].label, parse(&in, &r, &p), &p, c[i].status, NULL);
		ck_assert_msg(r.browser == 1, "%s: browser flag lost", c[i].label);
		if (c[i].next != NULL)
			ck_assert_msg(r.f[F_NEXT].set && strcmp(r.f[F_NEXT].s, c[i].next) == 0,
			    "%s: next %s, want %s", c[i].label,
			    r.f[F_NEXT].set ? r.f[F_NEXT].s : "(unset)", c[i].next);
		arena_reset(&arena);
	}
}
END_TEST

START_TEST(prefers_html_follows_quality_values)
{
	static const struct {
		const char *accept;
		int want;
	} c[] = {
		{ BROWSER_ACCEPT, 1 },
		{ "text/html", 1 },
		{ "TEXT/HTML", 1 },
		{ "text/html;level=1", 1 },
		{ "text/*", 1 },
		{ "text/*, application/json;q=0.9", 1 },
		{ "application/json", 0 },
		{ "*/*", 0 },
		{ "text/html, application/json", 0 },
		{ "application/json, text/html", 0 },
		{ "text/html;q=0.5, application/json", 0 },
		{ "text/html, application/json;q=0.5", 1 },
		{ "application/json;q=0.5, text/html", 1 },
		{ "text/html ; q=0.5, application/json;q=0.4", 1 },
		{ "text/html;Q=0.4, application/json;q=0.5", 0 },
		{ "*/*;q=0.1, text/html;q=0.2", 1 },
		{ "text/html;q=0", 0 },
		{ "text/html;q=0.000", 0 },
		{ "text/html;q=0, */*", 0 },
		{ "text/*;q=0.9, text/html;q=0", 0 },
		{ "text/html;q=0, text/*", 0 },
		{ "application/json;q=0, text/html;q=0.1", 1 },
		{ "application/*;q=0.2, text/html;q=0.3", 1 },
		{ "text/plain", 0 },
		{ "text/htmlx", 0 },
		{ "xtext/html", 0 },
		/* garbage */
		{ NULL, 0 },
		{ "", 0 },
		{ ",,,", 0 },
		{ ";;;", 0 },
		{ "/", 0 },
		{ "text/html;q=abc", 0 },
		{ "text/html;q=2", 0 },
		{ "text/html;q=-1", 0 },
		{ "text/html;q=nan", 0 },
		{ "text/html;q=", 0 },
		{ "text/html;foo=q=1;q=0", 0 },
		{ "\xff\xfe", 0 },
	};
	size_t i;

	for (i = 0; i < NELEM(c); i++)
		ck_assert_msg(req_prefers_html(c[i].accept) == c[i].want,
		    "req_prefers_html(\"%s\") should be %d", c[i].accept ? c[i].accept : "NULL",
		    c[i].want);
}
END_TEST

START_TEST(prefers_html_survives_huge_accept)
{
	char *s = malloc(100000);
	size_t i;

	ck_assert_ptr_nonnull(s);
	for (i = 0; i + 1 < 100000; i++)
		s[i] = i % 2 ? ',' : 'a';
	s[i] = '\0';
	ck_assert_int_eq(req_prefers_html(s), 0);
	/* A single range longer than any buffer the parser may keep. */
	memset(s, 'x', 1500);
	memcpy(s + 1500, "/html, text/html", 17);
	ck_assert_int_eq(req_prefers_html(s), 1);
	free(s);
}
END_TEST

/* --- path and next ------------------------------------------------------- */

START_TEST(path_has_its_query_stripped)
{
	static const struct {
		const char *path, *want;
		int status;
	} c[] = {
		{ "/product/?x=1", "/product/", 0 },
		{ "/product/", "/product/", 0 },
		{ "/a?", "/a", 0 },
		{ "/?a=1?b=2", "/", 0 },
		{ NULL, "/", 0 },
	};
	size_t i;

	for (i = 0; i < NELEM(c); i++) {
		struct req r;
		struct problem p;
		struct req_input in = { .method = "GET", .path = c[i].path };

		expect(c[i].path ? c[i].path : "NULL", parse(&in, &r, &p), &p, c[i].status, NULL);
		ck_assert_msg(strcmp(r.path, c[i].want) == 0, "%s: path \"%s\", want \"%s\"",
		    c[i].path, r.path, c[i].want);
		arena_reset(&arena);
	}
}
END_TEST

START_TEST(path_over_limit_is_404)
{
	static const struct {
		size_t len;
		int query_at;	/* 0 = no query */
		int status;
	} c[] = {
		{ REQ_PATH_MAX, 0, 0 },
		{ REQ_PATH_MAX + 1, 0, 404 },
		{ REQ_PATH_MAX + 100, 100, 0 },
	};
	size_t i;

	for (i = 0; i < NELEM(c); i++) {
		char *path = malloc(c[i].len + 1);
		struct req r;
		struct problem p;
		struct req_input in = { .method = "GET" };
		char label[32];

		ck_assert_ptr_nonnull(path);
		memset(path, 'a', c[i].len);
		path[0] = '/';
		if (c[i].query_at)
			path[c[i].query_at] = '?';
		path[c[i].len] = '\0';
		in.path = path;
		snprintf(label, sizeof(label), "%zu-byte path", c[i].len);
		expect(label, parse(&in, &r, &p), &p, c[i].status, NULL);
		free(path);
		arena_reset(&arena);
	}
}
END_TEST

START_TEST(unsafe_next_falls_back_to_root)
{
	static const struct {
		const char *ctype, *body, *want;	/* want NULL: next unset */
	} c[] = {
		{ FORM, "next=%2Fshop%3Ftab%3D1", "/shop?tab=1" },
		{ FORM, "next=/", "/" },
		{ JSON, "{\"next\":\"/order/1/\"}", "/order/1/" },
		{ FORM, "next=%2F%2Fevil.example", NULL },
		{ FORM, "next=//evil", NULL },
		{ FORM, "next=%2F%5Cevil", NULL },
		{ FORM, "next=http://evil.example/", NULL },
		{ FORM, "next=javascript:alert(1)", NULL },
		{ FORM, "next=shop", NULL },
		{ FORM, "next=", NULL },
		{ FORM, "next=%2Fa%0D%0ASet-Cookie:+x%3D1", NULL },
		{ FORM, "next=/caf%C3%A9", NULL },
		{ JSON, "{\"next\":\"//evil\"}", NULL },
		{ JSON, "{\"next\":\"/\\\\evil\"}", NULL },
		{ JSON, "{\"next\":5}", NULL },
		{ JSON, "{\"next\":null}", NULL },
		{ JSON, "{\"next\":[\"/shop\"]}", NULL },
	};
	size_t i;

	for (i = 0; i < NELEM(c); i++) {
		struct req r;
		struct problem p;
		struct req_input in = { .method = "POST", .path = "/order/",
		    .content_type = c[i].ctype, .body = c[i].body, .body_len = strlen(c[i].body) };

		expect(c[i].body, parse(&in, &r, &p), &p, 0, NULL);
		if (c[i].want == NULL)
			ck_assert_msg(!r.f[F_NEXT].set, "%s: unsafe next kept as \"%s\"",
			    c[i].body, r.f[F_NEXT].s);
		else
			ck_assert_msg(r.f[F_NEXT].set && strcmp(r.f[F_NEXT].s, c[i].want) == 0,
			    "%s: next \"%s\", want \"%s\"", c[i].body,
			    r.f[F_NEXT].set ? r.f[F_NEXT].s : "(unset)", c[i].want);
		arena_reset(&arena);
	}
}
END_TEST

START_TEST(method_and_field_names_are_exact)
{
	static const struct {
		const char *s;
		enum method m;
	} c[] = {
		{ "GET", M_GET }, { "HEAD", M_HEAD }, { "POST", M_POST }, { "PUT", M_PUT },
		{ "DELETE", M_DELETE }, { "PATCH", M_PATCH }, { "get", M_OTHER },
		{ "OPTIONS", M_OTHER }, { "", M_OTHER }, { "OTHER", M_OTHER }, { NULL, M_OTHER },
	};
	size_t i;

	for (i = 0; i < NELEM(c); i++)
		ck_assert_msg(req_method(c[i].s) == c[i].m, "req_method(%s)",
		    c[i].s ? c[i].s : "NULL");
	ck_assert_str_eq(req_method_name(M_DELETE), "DELETE");
	ck_assert_str_eq(req_method_name((enum method)99), "OTHER");
	ck_assert_str_eq(req_field_name(F_QUANTITY), "quantity");
	ck_assert_str_eq(req_field_name(F_METHOD), "_method");
	ck_assert_str_eq(req_field_name(F__MAX), "?");
}
END_TEST

static Suite *
request_suite(void)
{
	Suite *s = suite_create("request");
	TCase *tc;

	tc = tcase_create("fields");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, form_and_json_give_same_fields);
	tcase_add_test(tc, form_fields_have_their_parsed_values);
	tcase_add_test(tc, decimal_money_fields_become_cents);
	tcase_add_test(tc, int_field_takes_json_number_or_decimal_string);
	tcase_add_test(tc, int_field_non_integer_json_is_422);
	tcase_add_test(tc, json_big_integer_is_not_silently_rounded);
	tcase_add_test(tc, text_field_validation_is_422);
	tcase_add_test(tc, name_length_is_counted_in_characters);
	tcase_add_test(tc, name_with_markup_is_kept_verbatim);
	tcase_add_test(tc, verbatim_and_secret_422_names_bounds_not_value);
	tcase_add_test(tc, unknown_field_is_422);
	tcase_add_test(tc, duplicate_field_is_422);
	tcase_add_test(tc, detail_quoting_a_long_name_is_valid_utf8);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, bad_percent_escape_is_400);
	tcase_add_test(tc, invalid_utf8_is_400);
	tcase_add_test(tc, nul_in_json_body_is_400);
	tcase_add_test(tc, json_escaped_nul_is_400);
	tcase_add_test(tc, form_value_with_nul_is_400);
	tcase_add_test(tc, json_nested_too_deep_is_400);
	tcase_add_test(tc, json_brackets_in_strings_do_not_nest);
	tcase_add_test(tc, json_non_object_root_is_400);
	tcase_add_test(tc, json_broken_is_400);
	tcase_add_test(tc, json_trailing_garbage_is_400);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, content_type_decides_the_parser);
	tcase_add_test(tc, body_over_limit_is_413_before_reading);
	tcase_add_test(tc, body_at_limit_is_accepted);
	tcase_add_test(tc, more_than_fields_max_is_400);
	tcase_add_test(tc, empty_pairs_are_not_fields);
	tcase_add_test(tc, long_field_name_or_value_is_400);
	tcase_add_test(tc, percent_encoded_name_counts_decoded_bytes);
	tcase_add_test(tc, path_over_limit_is_404);
	suite_add_tcase(s, tc);

	tc = tcase_create("query");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, get_ignores_unknown_params_but_checks_known_ones);
	tcase_add_test(tc, get_query_values_are_parsed);
	tcase_add_test(tc, path_has_its_query_stripped);
	suite_add_tcase(s, tc);

	tc = tcase_create("method");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, method_override_applies_to_post_only);
	tcase_add_test(tc, method_field_other_than_put_delete_patch_post_is_422);
	tcase_add_test(tc, browser_is_a_post_preferring_html);
	tcase_add_test(tc, browser_and_next_survive_a_failed_parse);
	tcase_add_test(tc, prefers_html_follows_quality_values);
	tcase_add_test(tc, prefers_html_survives_huge_accept);
	tcase_add_test(tc, unsafe_next_falls_back_to_root);
	tcase_add_test(tc, method_and_field_names_are_exact);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(request_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
