/* check_hdr.c - table-driven tests for the header parsers in fcgi/http/hdr.c:
 * Cookie, Authorization: Bearer, Origin / Referer against host:port.
 *
 * Every header is copied into a heap buffer of exactly its length plus the
 * NUL before the call, so AddressSanitizer catches any read past its end. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "http/hdr.h"

#define NELEM(x)	(sizeof(x) / sizeof((x)[0]))

static char *
dup_str(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);

	ck_assert_ptr_nonnull(d);
	memcpy(d, s, n + 1);
	return d;
}

/* --- hdr_cookie ---------------------------------------------------------- */

static const struct {
	const char *hdr, *name;
	const char *want;	/* NULL = absent */
} cookie_cases[] = {
	{ "orderd_session=abc", "orderd_session", "abc" },
	{ "a=1; orderd_session=abc; b=2", "orderd_session", "abc" },
	{ "a=1;orderd_session=abc;b=2", "orderd_session", "abc" },
	{ "a=1;   orderd_session=abc", "orderd_session", "abc" },
	{ "  ;; orderd_session=abc", "orderd_session", "abc" },
	{ "orderd_session=abc; orderd_csrf=xyz", "orderd_csrf", "xyz" },
	/* Quotes are part of the value (the token check then refuses it). */
	{ "orderd_session=\"abc\"", "orderd_session", "\"abc\"" },
	/* Trailing spaces are kept: the token check refuses them. */
	{ "orderd_session=abc ; b=2", "orderd_session", "abc " },
	/* The first of duplicates wins. */
	{ "orderd_session=first; orderd_session=second", "orderd_session", "first" },
	{ "orderd_session=; x=1", "orderd_session", "" },
	{ "orderd_session=", "orderd_session", "" },
	/* The value runs to ';', so '=' inside it is kept. */
	{ "orderd_session=a=b", "orderd_session", "a=b" },
	{ "", "orderd_session", NULL },
	{ ";;;   ", "orderd_session", NULL },
	{ "orderd_session", "orderd_session", NULL },
	{ "orderd_session; x=1", "orderd_session", NULL },
	{ "orderd_session abc", "orderd_session", NULL },
	{ "orderd_session =abc", "orderd_session", NULL },
	/* A longer or shorter name is not the cookie. */
	{ "orderd_sessionx=abc", "orderd_session", NULL },
	{ "xorderd_session=abc", "orderd_session", NULL },
	{ "orderd_sessio=abc", "orderd_session", NULL },
	/* Names are case-sensitive. */
	{ "ORDERD_SESSION=abc", "orderd_session", NULL },
	/* A name inside another cookie's value is not a cookie. */
	{ "a=orderd_session=abc", "orderd_session", NULL },
	{ "a=x orderd_session=abc", "orderd_session", NULL },
	/* A comma does not separate cookies. */
	{ "a=1, orderd_session=abc", "orderd_session", NULL },
};

START_TEST(test_cookie_table)
{
	const char *val = NULL;
	char *h = dup_str(cookie_cases[_i].hdr);
	long n = hdr_cookie(h, cookie_cases[_i].name, &val);

	if (cookie_cases[_i].want == NULL)
		ck_assert_msg(n == -1, "case %d '%s': found %ld bytes", _i, cookie_cases[_i].hdr, n);
	else {
		ck_assert_msg(n == (long)strlen(cookie_cases[_i].want), "case %d '%s': length %ld",
		    _i, cookie_cases[_i].hdr, n);
		ck_assert(val >= h && val + n <= h + strlen(h));
		ck_assert_msg(memcmp(val, cookie_cases[_i].want, (size_t)n) == 0, "case %d '%s'",
		    _i, cookie_cases[_i].hdr);
	}
	free(h);
}
END_TEST

START_TEST(test_cookie_long)
{
	size_t big = 64 * 1024, i;
	char *h = malloc(big + 64), *p = h;
	const char *val = NULL;
	long n;

	ck_assert_ptr_nonnull(h);
	/* Many cookies, then ours with a long value. */
	for (i = 0; i < 2000; i++)
		p += sprintf(p, "c%zu=v; ", i);
	p += sprintf(p, "orderd_session=");
	memset(p, 'x', big - (size_t)(p - h));
	h[big] = '\0';
	n = hdr_cookie(h, "orderd_session", &val);
	ck_assert_int_eq(n, (long)(h + big - val));
	ck_assert(val[-1] == '=' && val[n] == '\0');
	ck_assert_int_eq(hdr_cookie(h, "orderd_csrf", &val), -1);
	free(h);
}
END_TEST

/* --- hdr_bearer ---------------------------------------------------------- */

static const struct {
	const char *hdr;
	int rc;
	const char *want;	/* the token when rc is 0 */
} bearer_cases[] = {
	{ "Bearer abc", 0, "abc" },
	{ "bearer abc", 0, "abc" },
	{ "BEARER abc", 0, "abc" },
	{ "BeArEr abc", 0, "abc" },
	{ "Bearer    abc   ", 0, "abc" },
	{ "Bearer ", 0, "" },
	{ "Bearer      ", 0, "" },
	/* Only spaces are trimmed; what is inside stays (the token check refuses it). */
	{ "Bearer a b", 0, "a b" },
	{ "Bearer \tabc", 0, "\tabc" },
	{ "Bearer abc\t", 0, "abc\t" },
	{ "Bearer", -1, NULL },
	{ "Bearerabc", -1, NULL },
	{ "Bearer\tabc", -1, NULL },
	{ " Bearer abc", -1, NULL },
	{ "Basic YWxpY2U6cHc=", -1, NULL },
	{ "Token abc", -1, NULL },
	{ "Bear abc", -1, NULL },
	{ "", -1, NULL },
};

START_TEST(test_bearer_table)
{
	const char *tok = NULL;
	long n = -7;
	char *h = dup_str(bearer_cases[_i].hdr);
	int rc = hdr_bearer(h, &tok, &n);

	ck_assert_msg(rc == bearer_cases[_i].rc, "case %d '%s': rc %d", _i, bearer_cases[_i].hdr,
	    rc);
	if (rc == 0) {
		ck_assert_msg(n == (long)strlen(bearer_cases[_i].want), "case %d '%s': length %ld",
		    _i, bearer_cases[_i].hdr, n);
		ck_assert(memcmp(tok, bearer_cases[_i].want, (size_t)n) == 0);
	}
	free(h);
}
END_TEST

/* --- hdr_same_origin ----------------------------------------------------- */

static const struct {
	const char *url, *host;
	int same;
} origin_cases[] = {
	/* Origins. */
	{ "http://127.0.0.1:8080", "127.0.0.1:8080", 1 },
	{ "https://shop.example", "shop.example", 1 },
	{ "http://shop.example", "shop.example", 1 },
	{ "http://shop.example:80", "shop.example", 1 },
	{ "http://shop.example", "shop.example:80", 1 },
	{ "https://shop.example:443", "shop.example", 1 },
	{ "https://shop.example", "shop.example:443", 1 },
	/* The default port is the url's scheme's, for both sides. */
	{ "https://shop.example", "shop.example:80", 0 },
	{ "http://shop.example", "shop.example:443", 0 },
	{ "http://shop.example:8080", "shop.example", 0 },
	{ "http://127.0.0.1:8081", "127.0.0.1:8080", 0 },
	{ "http://127.0.0.1", "127.0.0.1:8080", 0 },
	{ "http://127.0.0.2:8080", "127.0.0.1:8080", 0 },
	{ "http://127.0.0.1:8080/", "127.0.0.1:8080", 1 },
	/* Hosts compare case-insensitively, schemes do not. */
	{ "http://SHOP.Example", "shop.example", 1 },
	{ "http://shop.example", "Shop.EXAMPLE:80", 1 },
	{ "HTTP://shop.example", "shop.example", 0 },
	{ "Https://shop.example", "shop.example", 0 },
	/* Userinfo is part of the host, so it never matches. */
	{ "http://a@127.0.0.1:8080", "127.0.0.1:8080", 0 },
	{ "http://127.0.0.1:8080@evil.com", "127.0.0.1:8080", 0 },
	{ "http://a:b@127.0.0.1:8080", "127.0.0.1:8080", 0 },
	/* Opaque and other schemes. */
	{ "null", "127.0.0.1:8080", 0 },
	{ "", "127.0.0.1:8080", 0 },
	{ "file:///etc/passwd", "127.0.0.1:8080", 0 },
	{ "ftp://127.0.0.1:8080", "127.0.0.1:8080", 0 },
	{ "//127.0.0.1:8080", "127.0.0.1:8080", 0 },
	{ "127.0.0.1:8080", "127.0.0.1:8080", 0 },
	{ "http:/127.0.0.1:8080", "127.0.0.1:8080", 0 },
	/* IPv6 literals do not parse (the first ':' ends the host): never same. */
	{ "http://[::1]:8080", "[::1]:8080", 0 },
	{ "http://[::1]", "[::1]", 0 },
	/* Empty host or bad ports. */
	{ "http://", "127.0.0.1:8080", 0 },
	{ "http://:8080", ":8080", 0 },
	{ "http://127.0.0.1:", "127.0.0.1:80", 0 },
	{ "http://127.0.0.1:0", "127.0.0.1:0", 0 },
	{ "http://127.0.0.1:65536", "127.0.0.1:65536", 0 },
	{ "http://127.0.0.1:-80", "127.0.0.1:-80", 0 },
	{ "http://127.0.0.1:8080x", "127.0.0.1:8080", 0 },
	{ "http://127.0.0.1:80:80", "127.0.0.1:80", 0 },
	{ "http://127.0.0.1:99999999999999999999", "127.0.0.1:80", 0 },
	{ "http://127.0.0.1:8080", "", 0 },
	{ "http://127.0.0.1:8080", "127.0.0.1:8080/", 1 },
	{ "http://127.0.0.1:8080", "127.0.0.1:x", 0 },
	/* Referers: path, query and fragment end the authority. */
	{ "http://127.0.0.1:8080/cart.html", "127.0.0.1:8080", 1 },
	{ "http://127.0.0.1:8080/a/b?c=http://evil.com/", "127.0.0.1:8080", 1 },
	{ "http://127.0.0.1:8080?x=1", "127.0.0.1:8080", 1 },
	{ "http://127.0.0.1:8080#top", "127.0.0.1:8080", 1 },
	{ "http://127.0.0.1:9090/cart.html", "127.0.0.1:8080", 0 },
	{ "http://evil.com/127.0.0.1:8080", "127.0.0.1:8080", 0 },
	{ "http://evil.com/?h=127.0.0.1:8080", "127.0.0.1:8080", 0 },
	/* Prefix and suffix attacks. */
	{ "http://127.0.0.1:8080.evil.com/", "127.0.0.1:8080", 0 },
	{ "http://127.0.0.1.evil.com:8080/", "127.0.0.1:8080", 0 },
	{ "http://127.0.0.1:80800/", "127.0.0.1:8080", 0 },
	{ "http://127.0.0.1:808/", "127.0.0.1:8080", 0 },
	{ "http://127.0.0.10:8080/", "127.0.0.1:8080", 0 },
	{ "http://x127.0.0.1:8080/", "127.0.0.1:8080", 0 },
	{ "http://shop.example.evil.com", "shop.example", 0 },
	{ "http://evilshop.example", "shop.example", 0 },
	{ "http://shop.exampl", "shop.example", 0 },
	{ "http://127.0.0.1\\@evil.com:8080/", "127.0.0.1:8080", 0 },
};

START_TEST(test_same_origin_table)
{
	char *u = dup_str(origin_cases[_i].url), *h = dup_str(origin_cases[_i].host);

	ck_assert_msg(hdr_same_origin(u, h) == origin_cases[_i].same, "case %d: '%s' vs '%s'",
	    _i, origin_cases[_i].url, origin_cases[_i].host);
	free(u);
	free(h);
}
END_TEST

START_TEST(test_same_origin_null)
{
	ck_assert_int_eq(hdr_same_origin(NULL, "127.0.0.1:8080"), 0);
	ck_assert_int_eq(hdr_same_origin("http://127.0.0.1:8080", NULL), 0);
	ck_assert_int_eq(hdr_same_origin(NULL, NULL), 0);
}
END_TEST

/* A host of 255 bytes fits, 256 does not (not even against itself). */
START_TEST(test_same_origin_long_host)
{
	char url[600], host[300];

	memset(host, 'a', 255);
	host[255] = '\0';
	snprintf(url, sizeof(url), "http://%s", host);
	ck_assert_int_eq(hdr_same_origin(url, host), 1);
	memset(host, 'a', 256);
	host[256] = '\0';
	snprintf(url, sizeof(url), "http://%s", host);
	ck_assert_int_eq(hdr_same_origin(url, host), 0);
}
END_TEST

/* --- hdr_split_hostport -------------------------------------------------- */

START_TEST(test_split_hostport)
{
	char host[16];
	long port = 0;

	ck_assert_int_eq(hdr_split_hostport("Shop.example:8080/x", host, sizeof(host), &port, 80), 0);
	ck_assert_str_eq(host, "Shop.example");
	ck_assert_int_eq(port, 8080);
	ck_assert_int_eq(hdr_split_hostport("a", host, sizeof(host), &port, 443), 0);
	ck_assert_str_eq(host, "a");
	ck_assert_int_eq(port, 443);
	ck_assert_int_eq(hdr_split_hostport("a:65535", host, sizeof(host), &port, 80), 0);
	ck_assert_int_eq(port, 65535);
	ck_assert_int_eq(hdr_split_hostport("0123456789abcde", host, sizeof(host), &port, 80), 0);
	ck_assert_int_eq(hdr_split_hostport("0123456789abcdef", host, sizeof(host), &port, 80), -1);
	ck_assert_int_eq(hdr_split_hostport("", host, sizeof(host), &port, 80), -1);
	ck_assert_int_eq(hdr_split_hostport("/a", host, sizeof(host), &port, 80), -1);
	ck_assert_int_eq(hdr_split_hostport("a:", host, sizeof(host), &port, 80), -1);
	ck_assert_int_eq(hdr_split_hostport("a:0", host, sizeof(host), &port, 80), -1);
	ck_assert_int_eq(hdr_split_hostport("a:65536", host, sizeof(host), &port, 80), -1);
	ck_assert_int_eq(hdr_split_hostport("a:1x", host, sizeof(host), &port, 80), -1);
}
END_TEST

/* --- the cart cookie ------------------------------------------------------ */

/* Each value and the lines it holds (-1: refused, the cart is empty). */
START_TEST(cart_cookie_is_parsed_strictly)
{
	static const struct {
		const char *v;
		int n;
	} c[] = {
		{ "", 0 },
		{ "3:2", 1 },
		{ "3:2-5:1", 2 },
		{ "1:10000", 1 },
		{ "9223372036854775807:1", 1 },
		{ "3:2-", -1 },
		{ "-3:2", -1 },
		{ "3:2--5:1", -1 },
		{ "3:0", -1 },
		{ "0:1", -1 },
		{ "03:1", -1 },
		{ "3:01", -1 },
		{ "3:10001", -1 },
		{ "3:2-3:1", -1 },		/* a product twice */
		{ "3", -1 },
		{ "3:", -1 },
		{ ":2", -1 },
		{ "3:2,5:1", -1 },
		{ "3:2 ", -1 },
		{ "\"3:2\"", -1 },
		{ "3:+2", -1 },
		{ "3:2x", -1 },
		{ "9223372036854775808:1", -1 },
		{ "99999999999999999999:1", -1 },
	};
	struct hdr_cart_line l[HDR_CART_LINES];
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int n = hdr_cart(c[i].v, strlen(c[i].v), l, HDR_CART_LINES);

		ck_assert_msg(n == c[i].n, "hdr_cart(\"%s\") = %d, want %d", c[i].v, n, c[i].n);
	}
	ck_assert_int_eq(hdr_cart("3:2-5:1", 7, l, HDR_CART_LINES), 2);
	ck_assert(l[0].product == 3 && l[0].quantity == 2 && l[1].product == 5 &&
	    l[1].quantity == 1);
}
END_TEST

/* At most HDR_CART_LINES lines: one more is refused, and the format of the
 * most there can be fits the bound the handler uses. */
START_TEST(cart_cookie_is_bounded_and_round_trips)
{
	struct hdr_cart_line l[HDR_CART_LINES + 1], back[HDR_CART_LINES];
	char v[HDR_CART_LINES * 26 + 1], big[HDR_CART_LINES * 26 + 32];
	size_t i;
	int len;

	for (i = 0; i <= HDR_CART_LINES; i++) {
		l[i].product = 9223372036854775807LL - (int64_t)i;
		l[i].quantity = HDR_CART_QUANTITY;
	}
	len = hdr_cart_format(l, HDR_CART_LINES, v, sizeof(v));
	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(hdr_cart(v, (size_t)len, back, HDR_CART_LINES), HDR_CART_LINES);
	ck_assert(memcmp(back, l, sizeof(back)) == 0);
	ck_assert_int_eq(hdr_cart_format(l, HDR_CART_LINES + 1, v, sizeof(v)), -1);
	snprintf(big, sizeof(big), "%s-1:1", v);
	ck_assert_int_eq(hdr_cart(big, strlen(big), back, HDR_CART_LINES), -1);
}
END_TEST

static Suite *
hdr_suite(void)
{
	Suite *s = suite_create("hdr");
	TCase *tc;

	tc = tcase_create("cookie");
	tcase_add_loop_test(tc, test_cookie_table, 0, (int)NELEM(cookie_cases));
	tcase_add_test(tc, test_cookie_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("cart");
	tcase_add_test(tc, cart_cookie_is_parsed_strictly);
	tcase_add_test(tc, cart_cookie_is_bounded_and_round_trips);
	suite_add_tcase(s, tc);

	tc = tcase_create("bearer");
	tcase_add_loop_test(tc, test_bearer_table, 0, (int)NELEM(bearer_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("origin");
	tcase_add_loop_test(tc, test_same_origin_table, 0, (int)NELEM(origin_cases));
	tcase_add_test(tc, test_same_origin_null);
	tcase_add_test(tc, test_same_origin_long_host);
	tcase_add_test(tc, test_split_hostport);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(hdr_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
