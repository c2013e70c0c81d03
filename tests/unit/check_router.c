/* check_router.c - router_match(): (path, method) -> (result, handler, id, Allow). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "http/request.h"
#include "http/router.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

struct rcase {
	const char *path;
	enum method m;
	enum route_result want;
	enum handler h;
	int64_t id;
	const char *allow;	/* ROUTE_METHOD: the methods, space-separated */
};

static const char *const result_names[] = { "ROUTE_OK", "ROUTE_NOT_FOUND", "ROUTE_METHOD" };

/* Compares allow ("GET, HEAD, POST") with want ("GET HEAD POST") as sets. */
static int
allow_is(const char *allow, const char *want)
{
	char buf[128], *tok, *save = NULL;
	size_t n_allow = 0, n_want = 0;

	snprintf(buf, sizeof(buf), "%s", want);
	for (tok = strtok_r(buf, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
		char needle[32];
		const char *p;
		size_t len = strlen(tok);
		int found = 0;

		n_want++;
		snprintf(needle, sizeof(needle), "%s", tok);
		for (p = allow; (p = strstr(p, needle)) != NULL; p += len)
			if ((p == allow || p[-1] == ' ') && (p[len] == '\0' || p[len] == ','))
				found = 1;
		if (!found)
			return 0;
	}
	snprintf(buf, sizeof(buf), "%s", allow);
	for (tok = strtok_r(buf, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save))
		n_allow++;
	return n_allow == n_want;
}

static void
run(const struct rcase *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct route_match m;
		enum route_result got;
		const char *method = req_method_name(c[i].m);

		memset(&m, 0xa5, sizeof(m));
		got = router_match(c[i].path, c[i].m, &m);
		ck_assert_msg(got == c[i].want, "%s %s: %s, want %s", method,
		    c[i].path ? c[i].path : "NULL", result_names[got], result_names[c[i].want]);
		if (c[i].want == ROUTE_OK) {
			ck_assert_msg(m.h == c[i].h, "%s %s: handler %d, want %d", method,
			    c[i].path, (int)m.h, (int)c[i].h);
			ck_assert_msg(m.id == c[i].id, "%s %s: id %lld, want %lld", method,
			    c[i].path, (long long)m.id, (long long)c[i].id);
		} else
			ck_assert_msg(m.h == H_NONE, "%s %s: handler %d on failure", method,
			    c[i].path ? c[i].path : "NULL", (int)m.h);
		if (c[i].want == ROUTE_METHOD)
			ck_assert_msg(allow_is(m.allow, c[i].allow),
			    "%s %s: Allow \"%s\", want %s", method, c[i].path, m.allow,
			    c[i].allow);
	}
}

START_TEST(both_trailing_slash_forms_match)
{
	static const struct rcase c[] = {
		{ "/product", M_GET, ROUTE_OK, H_PRODUCT_LIST, 0, NULL },
		{ "/product/", M_GET, ROUTE_OK, H_PRODUCT_LIST, 0, NULL },
		{ "/product", M_POST, ROUTE_OK, H_PRODUCT_CREATE, 0, NULL },
		{ "/product/", M_POST, ROUTE_OK, H_PRODUCT_CREATE, 0, NULL },
		{ "/product/3", M_GET, ROUTE_OK, H_PRODUCT_GET, 3, NULL },
		{ "/product/3/", M_GET, ROUTE_OK, H_PRODUCT_GET, 3, NULL },
		{ "/product/3/restock", M_POST, ROUTE_OK, H_PRODUCT_RESTOCK, 3, NULL },
		{ "/product/3/restock/", M_POST, ROUTE_OK, H_PRODUCT_RESTOCK, 3, NULL },
		{ "/order", M_GET, ROUTE_OK, H_ORDER_LIST, 0, NULL },
		{ "/order/", M_GET, ROUTE_OK, H_ORDER_LIST, 0, NULL },
		{ "/order", M_POST, ROUTE_OK, H_ORDER_CREATE, 0, NULL },
		{ "/order/", M_POST, ROUTE_OK, H_ORDER_CREATE, 0, NULL },
		{ "/order/12", M_GET, ROUTE_OK, H_ORDER_GET, 12, NULL },
		{ "/order/12/", M_GET, ROUTE_OK, H_ORDER_GET, 12, NULL },
		{ "/order/12/abort", M_PUT, ROUTE_OK, H_ORDER_ABORT, 12, NULL },
		{ "/order/12/abort/", M_PUT, ROUTE_OK, H_ORDER_ABORT, 12, NULL },
	};

	run(c, NELEM(c));
}
END_TEST

START_TEST(id_accepts_one_to_int64_max)
{
	static const struct rcase c[] = {
		{ "/product/1/", M_GET, ROUTE_OK, H_PRODUCT_GET, 1, NULL },
		{ "/product/9/", M_GET, ROUTE_OK, H_PRODUCT_GET, 9, NULL },
		{ "/product/10/", M_GET, ROUTE_OK, H_PRODUCT_GET, 10, NULL },
		{ "/product/9223372036854775807/", M_GET, ROUTE_OK, H_PRODUCT_GET, INT64_MAX, NULL },
		{ "/order/9223372036854775807/abort/", M_POST, ROUTE_OK, H_ORDER_ABORT,
		    INT64_MAX, NULL },
		{ "/product/1000000000000000000/restock/", M_POST, ROUTE_OK, H_PRODUCT_RESTOCK,
		    1000000000000000000LL, NULL },
	};

	run(c, NELEM(c));
}
END_TEST

START_TEST(bad_id_is_404)
{
	static const struct rcase c[] = {
		{ "/product/0/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product/01/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product/00/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product/-1/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product/+1/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product/9223372036854775808/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product/9999999999999999999/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product/18446744073709551617/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product/99999999999999999999/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product/abc/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product/1a/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product/1.0/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product/0x1/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product/%31/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product/ 1/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/order/0/abort/", M_POST, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/order/-5/abort/", M_PUT, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/order/abc/", M_DELETE, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
	};

	run(c, NELEM(c));
}
END_TEST

START_TEST(empty_segments_are_404)
{
	static const struct rcase c[] = {
		{ "//product", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "//product/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product//", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product//3", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product/3//", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product/3//restock", M_POST, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/order/12/abort//", M_PUT, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "//", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
	};

	run(c, NELEM(c));
}
END_TEST

START_TEST(unknown_path_is_404)
{
	char *long_seg = malloc(4096);
	static const struct rcase c[] = {
		{ "/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "product", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "product/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ NULL, M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/products/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/Product/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/PRODUCT/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/prod/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/orders/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product/3/restock/x/", M_POST, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product/3/abort/", M_POST, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/order/3/restock/", M_POST, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product/restock/", M_POST, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/order/abort/", M_PUT, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/a/b/c/d/e/f/g/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product/./", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product/../order/", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product?x=1", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "\\product", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
		{ "/product\\", M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL },
	};
	struct rcase longc[1] = { { NULL, M_GET, ROUTE_NOT_FOUND, H_NONE, 0, NULL } };

	run(c, NELEM(c));
	/* One segment much longer than any the router knows. */
	ck_assert_ptr_nonnull(long_seg);
	memset(long_seg, 'x', 4095);
	long_seg[0] = '/';
	long_seg[4095] = '\0';
	longc[0].path = long_seg;
	run(longc, 1);
	free(long_seg);
}
END_TEST

START_TEST(wrong_method_is_405_with_allow)
{
	static const struct rcase c[] = {
		{ "/product/", M_DELETE, ROUTE_METHOD, H_NONE, 0, "GET HEAD POST" },
		{ "/product", M_PUT, ROUTE_METHOD, H_NONE, 0, "GET HEAD POST" },
		{ "/product/", M_PATCH, ROUTE_METHOD, H_NONE, 0, "GET HEAD POST" },
		{ "/product/", M_OTHER, ROUTE_METHOD, H_NONE, 0, "GET HEAD POST" },
		{ "/order/", M_DELETE, ROUTE_METHOD, H_NONE, 0, "GET HEAD POST" },
		{ "/product/3/", M_POST, ROUTE_METHOD, H_NONE, 0, "GET HEAD" },
		{ "/product/3/", M_DELETE, ROUTE_METHOD, H_NONE, 0, "GET HEAD" },
		{ "/order/3/", M_PUT, ROUTE_METHOD, H_NONE, 0, "GET HEAD" },
		{ "/product/3/restock/", M_GET, ROUTE_METHOD, H_NONE, 0, "POST" },
		{ "/product/3/restock/", M_HEAD, ROUTE_METHOD, H_NONE, 0, "POST" },
		{ "/product/3/restock/", M_PUT, ROUTE_METHOD, H_NONE, 0, "POST" },
		{ "/order/3/abort/", M_GET, ROUTE_METHOD, H_NONE, 0, "PUT POST" },
		{ "/order/3/abort/", M_HEAD, ROUTE_METHOD, H_NONE, 0, "PUT POST" },
		{ "/order/3/abort/", M_DELETE, ROUTE_METHOD, H_NONE, 0, "PUT POST" },
		{ "/order/3/abort/", M_PATCH, ROUTE_METHOD, H_NONE, 0, "PUT POST" },
	};

	run(c, NELEM(c));
}
END_TEST

START_TEST(head_matches_a_get_route)
{
	static const struct rcase c[] = {
		{ "/product/", M_HEAD, ROUTE_OK, H_PRODUCT_LIST, 0, NULL },
		{ "/product/5", M_HEAD, ROUTE_OK, H_PRODUCT_GET, 5, NULL },
		{ "/order/", M_HEAD, ROUTE_OK, H_ORDER_LIST, 0, NULL },
		{ "/order/5/", M_HEAD, ROUTE_OK, H_ORDER_GET, 5, NULL },
	};

	run(c, NELEM(c));
}
END_TEST

START_TEST(abort_takes_put_and_post)
{
	static const struct rcase c[] = {
		{ "/order/7/abort/", M_PUT, ROUTE_OK, H_ORDER_ABORT, 7, NULL },
		{ "/order/7/abort/", M_POST, ROUTE_OK, H_ORDER_ABORT, 7, NULL },
		{ "/order/7/abort", M_POST, ROUTE_OK, H_ORDER_ABORT, 7, NULL },
		{ "/order/7/abort", M_PUT, ROUTE_OK, H_ORDER_ABORT, 7, NULL },
	};

	run(c, NELEM(c));
}
END_TEST

START_TEST(allow_is_listed_once_per_method)
{
	struct route_match m;

	ck_assert_int_eq(router_match("/product/", M_DELETE, &m), ROUTE_METHOD);
	ck_assert_str_eq(m.allow, "GET, HEAD, POST");
	ck_assert_int_eq(router_match("/order/1/abort/", M_GET, &m), ROUTE_METHOD);
	ck_assert_str_eq(m.allow, "PUT, POST");
	ck_assert_int_eq(router_match("/product/1/", M_POST, &m), ROUTE_METHOD);
	ck_assert_str_eq(m.allow, "GET, HEAD");
}
END_TEST

START_TEST(a_match_names_its_route_label_never_the_raw_path)
{
	struct route_match m;
	int r;

	ck_assert_int_eq(router_match("/order/12345/abort/", M_PUT, &m), ROUTE_OK);
	ck_assert_str_eq(router_label(m.route), "PUT /order/{id}/abort/");
	ck_assert_int_eq(router_match("/order/12345/abort", M_POST, &m), ROUTE_OK);
	ck_assert_str_eq(router_label(m.route), "POST /order/{id}/abort/");
	ck_assert_int_eq(router_match("/account/bob/credit/", M_POST, &m), ROUTE_OK);
	ck_assert_str_eq(router_label(m.route), "POST /account/{name}/credit/");
	ck_assert_int_eq(router_match("/product/7/", M_HEAD, &m), ROUTE_OK);
	ck_assert_str_eq(router_label(m.route), "GET /product/{id}/");
	ck_assert_int_eq(router_match("/status/", M_GET, &m), ROUTE_OK);
	ck_assert_str_eq(router_label(m.route), "GET /status/");
	ck_assert_int_eq(router_match("/nowhere/", M_GET, &m), ROUTE_NOT_FOUND);
	ck_assert_int_eq(m.route, 0);
	ck_assert_int_eq(router_match("/status/", M_POST, &m), ROUTE_METHOD);
	ck_assert_int_eq(m.route, 0);
	ck_assert_ptr_null(router_label(0));
	ck_assert_ptr_null(router_label(router_routes() + 1));
	for (r = 1; r <= router_routes(); r++) {
		const char *l = router_label(r);

		ck_assert_ptr_nonnull(l);
		ck_assert_msg(strchr(l, '#') == NULL && strchr(l, '@') == NULL, "label %s", l);
		ck_assert_msg(l[strlen(l) - 1] == '/', "label %s", l);
	}
	/* GET /status/'s counters hold 32 labels (shm/stats.h STATS_ROUTES). */
	ck_assert_int_lt(router_routes(), 32);
}
END_TEST

static Suite *
router_suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("match");

	tcase_add_test(tc, both_trailing_slash_forms_match);
	tcase_add_test(tc, id_accepts_one_to_int64_max);
	tcase_add_test(tc, bad_id_is_404);
	tcase_add_test(tc, empty_segments_are_404);
	tcase_add_test(tc, unknown_path_is_404);
	tcase_add_test(tc, wrong_method_is_405_with_allow);
	tcase_add_test(tc, head_matches_a_get_route);
	tcase_add_test(tc, abort_takes_put_and_post);
	tcase_add_test(tc, allow_is_listed_once_per_method);
	tcase_add_test(tc, a_match_names_its_route_label_never_the_raw_path);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(router_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
