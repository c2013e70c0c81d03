/* check_idemcache.c - the shared memory of committed Idempotency-Key
 * answers: matched on user, key and request hash, kept for its time only,
 * too large answers not kept, and seen by another process. */
#include "config.h"

#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "shm/idemcache.h"

static const unsigned char H1[32] = { 1 }, H2[32] = { 2 };
static const char BODY[] = "{\"id\":7,\"status\":\"placed\"}";

static void
put(int64_t user, const char *key, const unsigned char *h, int64_t ttl_ms)
{
	idemcache_put(user, key, strlen(key), h, 201, "/order/7/", BODY, sizeof(BODY) - 1, ttl_ms);
}

static int
get(int64_t user, const char *key, const unsigned char *h, struct idemcache_answer *a)
{
	return idemcache_get(user, key, strlen(key), h, a);
}

static void
setup(void)
{
	ck_assert_int_eq(idemcache_init(), 0);
}

START_TEST(a_committed_answer_is_replayed_whole)
{
	struct idemcache_answer a;

	ck_assert_int_eq(get(5, "k-1", H1, &a), 0);
	put(5, "k-1", H1, 60000);
	ck_assert_int_eq(get(5, "k-1", H1, &a), 1);
	ck_assert_int_eq(a.status, 201);
	ck_assert_str_eq(a.location, "/order/7/");
	ck_assert_uint_eq(a.body_len, sizeof(BODY) - 1);
	ck_assert_int_eq(memcmp(a.body, BODY, a.body_len), 0);
}
END_TEST

START_TEST(another_user_key_or_request_is_a_miss)
{
	struct idemcache_answer a;

	put(5, "k-2", H1, 60000);
	ck_assert_int_eq(get(6, "k-2", H1, &a), 0);	/* another user's same key */
	ck_assert_int_eq(get(5, "k-3", H1, &a), 0);
	ck_assert_int_eq(get(5, "k-2x", H1, &a), 0);
	ck_assert_int_eq(get(5, "k-2", H2, &a), 0);	/* reused for another request: the database says 422 */
	ck_assert_int_eq(get(5, "k-2", H1, &a), 1);
}
END_TEST

START_TEST(an_answer_is_kept_for_its_time_only)
{
	struct idemcache_answer a;

	put(5, "k-4", H1, 30);
	ck_assert_int_eq(get(5, "k-4", H1, &a), 1);
	nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	ck_assert_int_eq(get(5, "k-4", H1, &a), 0);
	put(5, "k-5", H1, 0);			/* the key's day is over */
	ck_assert_int_eq(get(5, "k-5", H1, &a), 0);
}
END_TEST

START_TEST(too_large_an_answer_is_not_kept)
{
	static char big[IDEMCACHE_BODY_MAX + 1];
	char key[IDEMCACHE_KEY_MAX + 2];
	struct idemcache_answer a;

	memset(big, 'x', sizeof(big));
	idemcache_put(5, "k-6", 3, H1, 201, NULL, big, sizeof(big), 60000);
	ck_assert_int_eq(get(5, "k-6", H1, &a), 0);
	idemcache_put(5, "k-7", 3, H1, 201, NULL, big, IDEMCACHE_BODY_MAX, 60000);
	ck_assert_int_eq(get(5, "k-7", H1, &a), 1);
	ck_assert_str_eq(a.location, "");
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	put(5, key, H1, 60000);
	ck_assert_int_eq(get(5, key, H1, &a), 0);
}
END_TEST

START_TEST(an_answer_put_by_another_process_is_seen)
{
	struct idemcache_answer a;
	pid_t p = fork();
	int st;

	ck_assert_int_ge(p, 0);
	if (p == 0) {
		put(9, "k-8", H1, 60000);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(p, &st, 0), p);
	ck_assert_int_eq(get(9, "k-8", H1, &a), 1);
	idemcache_release((uint32_t)p);		/* held nothing: still there */
	ck_assert_int_eq(get(9, "k-8", H1, &a), 1);
}
END_TEST

static Suite *
idemcache_suite(void)
{
	Suite *s = suite_create("idemcache");
	TCase *tc = tcase_create("idemcache");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, a_committed_answer_is_replayed_whole);
	tcase_add_test(tc, another_user_key_or_request_is_a_miss);
	tcase_add_test(tc, an_answer_is_kept_for_its_time_only);
	tcase_add_test(tc, too_large_an_answer_is_not_kept);
	tcase_add_test(tc, an_answer_put_by_another_process_is_seen);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(idemcache_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
