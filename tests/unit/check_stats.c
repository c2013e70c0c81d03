/* check_stats.c - the status counters in shared memory (shm/stats.h):
 * quantiles from the latency histogram, the per-second ring across
 * seconds nobody wrote in and across its wrap, exact totals from forked
 * processes counting at once, and counters that outlive a worker's slot. */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "shm/stats.h"

#define MONO0	100000
#define WALL0	1800000000

static void
setup(void)
{
	stats_test_clock(MONO0, WALL0);
	ck_assert_int_eq(stats_init(), 0);
	stats_self(0);
}

START_TEST(buckets_are_found_by_their_upper_bound)
{
	ck_assert_uint_eq(stats_bucket_of(0), 0);
	ck_assert_uint_eq(stats_bucket_of(50), 0);
	ck_assert_uint_eq(stats_bucket_of(51), 1);
	ck_assert_uint_eq(stats_bucket_of(1000), 13);
	ck_assert_uint_eq(stats_bucket_us(13), 1000);
	ck_assert_uint_eq(stats_bucket_of(10000000), STATS_BUCKETS - 1);
	ck_assert_uint_eq(stats_bucket_of(10000001), STATS_BUCKETS);
}
END_TEST

START_TEST(quantiles_come_from_the_histogram)
{
	uint64_t h[STATS_BUCKETS + 1];
	struct stats_totals t;
	int64_t us;
	double q;

	memset(h, 0, sizeof(h));
	ck_assert(stats_quantile(h, 0.5, 0) < 0);	/* empty */
	/* 100 requests between 0.8 and 1 ms: the median is interpolated. */
	h[stats_bucket_of(1000)] = 100;
	q = stats_quantile(h, 0.5, 1000);
	ck_assert_msg(q > 0.89 && q < 0.91, "p50 %f", q);
	/* 90 fast, 10 slow: p50 among the fast, p99 among the slow. */
	memset(h, 0, sizeof(h));
	h[stats_bucket_of(100)] = 90;
	h[stats_bucket_of(20000)] = 10;
	ck_assert(stats_quantile(h, 0.5, 20000) <= 0.1);
	q = stats_quantile(h, 0.99, 20000);
	ck_assert_msg(q > 16.0 && q <= 20.0, "p99 %f", q);
	/* Past the last bound: the largest seen bounds it. */
	memset(h, 0, sizeof(h));
	h[STATS_BUCKETS] = 1;
	q = stats_quantile(h, 0.5, 12000000);
	ck_assert_msg(q > 10000.0 && q <= 12000.0, "p50 %f", q);

	/* Requests of 1 .. 2000 µs: each quantile within its bucket (25 %). */
	for (us = 1; us <= 2000; us++)
		stats_request(1, 200, us);
	stats_read(&t);
	ck_assert_uint_eq(t.count, 2000);
	ck_assert_uint_eq(t.max_us, 2000);
	ck_assert_uint_eq(t.sum_us, 2000 * 2001 / 2);
	q = stats_quantile(t.hist, 0.5, t.max_us);
	ck_assert_msg(q > 0.8 && q < 1.25, "p50 %f", q);
	q = stats_quantile(t.hist, 0.99, t.max_us);
	ck_assert_msg(q > 1.6 && q <= 2.0, "p99 %f", q);
}
END_TEST

START_TEST(the_ring_advances_across_skipped_seconds)
{
	static struct stats_second s[STATS_HISTORY_MAX];
	size_t n, i;

	stats_request(1, 200, 100);
	stats_request(1, 200, 100);
	stats_request(1, 503, 100);
	stats_test_clock(MONO0 + 1, WALL0 + 1);
	stats_request(1, 200, 5000);
	stats_retry(1213);
	stats_order();
	/* Nothing in +2..+4. */
	stats_test_clock(MONO0 + 5, WALL0 + 5);
	stats_request(1, 200, 100);
	stats_request(1, 200, 100);
	stats_test_clock(MONO0 + 6, WALL0 + 6);
	n = stats_history(s, 10);	/* the tables are 6 s old: 6 complete seconds */
	ck_assert_uint_eq(n, 6);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(s[i].t, WALL0 + (int64_t)i);
	ck_assert_uint_eq(s[0].requests, 3);
	ck_assert_uint_eq(s[0].errors, 1);
	ck_assert_uint_eq(s[1].requests, 1);
	ck_assert_uint_eq(s[1].retries, 1);
	ck_assert_uint_eq(s[1].orders, 1);
	ck_assert_uint_eq(s[2].requests, 0);
	ck_assert(stats_quantile(s[2].hist, 0.5, 0) < 0);
	ck_assert_uint_eq(s[3].requests, 0);
	ck_assert_uint_eq(s[4].requests, 0);
	ck_assert_uint_eq(s[5].requests, 2);
	/* Only complete seconds: this one is not shown yet. */
	stats_request(1, 200, 100);
	n = stats_history(s, 1);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(s[0].requests, 2);

	/* A whole ring later the same places count from zero again. */
	stats_test_clock(MONO0 + STATS_RING, WALL0 + STATS_RING);
	stats_request(1, 200, 100);
	stats_test_clock(MONO0 + STATS_RING + 2, WALL0 + STATS_RING + 2);
	n = stats_history(s, 2);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(s[0].requests, 1);
	ck_assert_uint_eq(s[1].requests, 0);	/* +641 shares its place with +1 */
	n = stats_history(s, STATS_HISTORY_MAX);
	ck_assert_uint_eq(n, STATS_HISTORY_MAX);
	{
		uint64_t sum = 0;

		for (i = 0; i < n; i++)
			sum += s[i].requests;
		ck_assert_uint_eq(sum, 1);
	}
}
END_TEST

START_TEST(concurrent_increments_from_forked_processes_are_all_counted)
{
	enum { PROCS = 8, EACH = 20000 };
	struct stats_totals t;
	struct stats_top top[4];
	static struct stats_second s[2];
	pid_t pid[PROCS];
	size_t i, k;
	int st;

	for (i = 0; i < PROCS; i++) {
		pid[i] = fork();
		ck_assert_int_ge(pid[i], 0);
		if (pid[i] == 0) {
			int j;

			/* Half in slots of their own, half sharing one. */
			stats_self(i % 2 == 0 ? (int)i : STATS_SLOT_OTHER);
			for (j = 0; j < EACH; j++) {
				stats_request(2, j % 10 == 0 ? 500 : 200, 100 + j % 3000);
				stats_add(SC_TRANSACTIONS, 1);
				stats_retry(j % 2 ? 1213 : 1205);
				stats_order();
				stats_sold(7, 1);
				stats_sold(8 + (int64_t)i, 2);
			}
			_exit(0);
		}
	}
	for (i = 0; i < PROCS; i++) {
		ck_assert_int_eq(waitpid(pid[i], &st, 0), pid[i]);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	stats_read(&t);
	ck_assert_uint_eq(t.count, PROCS * EACH);
	ck_assert_uint_eq(t.routes[2][0], PROCS * EACH * 9 / 10);
	ck_assert_uint_eq(t.routes[2][3], PROCS * EACH / 10);
	ck_assert_uint_eq(t.c[SC_TRANSACTIONS], PROCS * EACH);
	ck_assert_uint_eq(t.c[SC_ORDERS], PROCS * EACH);
	for (k = 0; k < STATS_ERRNOS; k++)
		if (t.errnos[k] == 1213 || t.errnos[k] == 1205)
			ck_assert_uint_eq(t.retries[k], PROCS * EACH / 2);
		else
			ck_assert_uint_eq(t.retries[k], 0);
	ck_assert_uint_eq(stats_top(top, 4), 4);
	ck_assert_int_eq(top[0].product, 7);
	ck_assert_uint_eq(top[0].sold, PROCS * EACH);
	ck_assert_uint_eq(top[1].sold, 2 * EACH);
	stats_test_clock(MONO0 + 1, WALL0 + 1);
	ck_assert_uint_eq(stats_history(s, 1), 1);
	ck_assert_uint_eq(s[0].requests, PROCS * EACH);
	ck_assert_uint_eq(s[0].errors, PROCS * EACH / 10);
	ck_assert_uint_eq(s[0].orders, PROCS * EACH);
	ck_assert_uint_eq(s[0].retries, PROCS * EACH);
	/* A minute later nothing counts as sold recently. */
	stats_test_clock(MONO0 + STATS_TOP_SECONDS, WALL0 + STATS_TOP_SECONDS);
	ck_assert_uint_eq(stats_top(top, 4), 0);
}
END_TEST

START_TEST(a_replaced_workers_counts_stay_and_the_new_pid_shows)
{
	struct stats_worker w[4];
	struct stats_totals t;

	stats_slot_start(3, 4242);
	stats_self(3);
	stats_request(1, 200, 100);
	stats_state(STATS_TXN);
	ck_assert_uint_eq(stats_workers(w, 4), 1);
	ck_assert_int_eq(w[0].pid, 4242);
	ck_assert_int_eq(w[0].slot, 3);
	ck_assert_uint_eq(w[0].requests, 1);
	ck_assert_str_eq(stats_state_name(w[0].state), "in-transaction");
	stats_slot_end(3, 4242);
	ck_assert_uint_eq(stats_workers(w, 4), 0);
	stats_slot_start(3, 4343);
	ck_assert_uint_eq(stats_workers(w, 4), 1);
	ck_assert_int_eq(w[0].pid, 4343);
	ck_assert_uint_eq(w[0].requests, 0);
	ck_assert_str_eq(stats_state_name(w[0].state), "idle");
	stats_read(&t);
	ck_assert_uint_eq(t.count, 1);
	ck_assert_uint_eq(t.routes[1][0], 1);
	/* A late end of the old pid does not take the new one out. */
	stats_slot_end(3, 4242);
	ck_assert_uint_eq(stats_workers(w, 4), 1);
}
END_TEST

static Suite *
stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("stats");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, buckets_are_found_by_their_upper_bound);
	tcase_add_test(tc, quantiles_come_from_the_histogram);
	tcase_add_test(tc, the_ring_advances_across_skipped_seconds);
	tcase_add_test(tc, concurrent_increments_from_forked_processes_are_all_counted);
	tcase_add_test(tc, a_replaced_workers_counts_stay_and_the_new_pid_shows);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(stats_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
