/* check_prodcache.c - the shared product cache: hits, invalidation by
 * prodcache_changed() (also from another process), versions, age, slots,
 * and a slot whose writer was killed halfway. prodcache.c is included, not
 * linked, to reach its table. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "shm/prodcache.c"

static struct product
product(int64_t id, int64_t stock)
{
	struct product p;

	memset(&p, 0, sizeof(p));
	p.id = id;
	p.price = 100;
	p.stock = stock;
	snprintf(p.name, sizeof(p.name), "product %lld", (long long)id);
	return p;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void
setup(void)
{
	ck_assert_int_eq(prodcache_init(), 0);
}

START_TEST(miss_then_hit_with_the_same_answer)
{
	struct product in = product(41, 7), out;

	ck_assert_int_eq(prodcache_get(41, &out), 0);
	prodcache_put(&in, prodcache_version(41));
	ck_assert_int_eq(prodcache_get(41, &out), 1);
	ck_assert_int_eq(out.id, 41);
	ck_assert_int_eq(out.stock, 7);
	ck_assert_str_eq(out.name, "product 41");
	ck_assert_int_eq(prodcache_get(42, &out), 0);
}
END_TEST

START_TEST(a_change_hides_what_was_read_before_it)
{
	struct product in = product(51, 3), out;
	uint64_t v = prodcache_version(51);

	prodcache_put(&in, v);
	ck_assert_int_eq(prodcache_get(51, &out), 1);
	prodcache_changed(51);
	ck_assert_int_eq(prodcache_get(51, &out), 0);
	/* a read that began before the change is not remembered as fresh */
	prodcache_put(&in, v);
	ck_assert_int_eq(prodcache_get(51, &out), 0);
	/* one that began after it is */
	in.stock = 2;
	prodcache_put(&in, prodcache_version(51));
	ck_assert_int_eq(prodcache_get(51, &out), 1);
	ck_assert_int_eq(out.stock, 2);
}
END_TEST

START_TEST(a_change_in_another_process_is_seen)
{
	struct product in = product(61, 9), out;
	pid_t pid;
	int st;

	prodcache_put(&in, prodcache_version(61));
	ck_assert_int_eq(prodcache_get(61, &out), 1);
	if ((pid = fork()) == 0) {
		prodcache_changed(61);
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(prodcache_get(61, &out), 0);
}
END_TEST

START_TEST(an_entry_is_served_for_its_ttl_only)
{
	struct product in = product(71, 1), out;

	prodcache_put(&in, prodcache_version(71));
	ck_assert_int_eq(prodcache_get(71, &out), 1);
	sleep_ms(PRODCACHE_TTL_MS + 50);
	ck_assert_int_eq(prodcache_get(71, &out), 0);
}
END_TEST

START_TEST(products_sharing_a_slot_replace_each_other)
{
	struct product a, b, out;
	int64_t other = 0, id;

	/* find a second id that maps to 81's slot: a change to it bumps 81's */
	for (id = 82; id < 82 + 64 * PRODCACHE_SLOTS && other == 0; id++) {
		uint64_t before = prodcache_version(81);

		prodcache_changed(id);
		if (prodcache_version(81) != before)
			other = id;
	}
	ck_assert_int_ne(other, 0);
	a = product(81, 5);
	b = product(other, 6);
	prodcache_put(&a, prodcache_version(81));
	prodcache_put(&b, prodcache_version(other));
	ck_assert_int_eq(prodcache_get(81, &out), 0);
	ck_assert_int_eq(prodcache_get(other, &out), 1);
	ck_assert_int_eq(out.stock, 6);
}
END_TEST

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* a worker killed between the two halves of its write leaves
 * the slot's lock held. Readers miss at once, the next writer breaks the
 * lock, and the slot serves again. */
START_TEST(a_slot_left_locked_by_a_killed_writer_is_broken)
{
	struct product in = product(91, 4), out;
	struct slot *s;
	pid_t pid;
	int st;
	int64_t t;

	prodcache_put(&in, prodcache_version(91));
	s = slot_of(91);
	if ((pid = fork()) == 0) {
		uint64_t held;

		if (!seqlock_lock(&s->lock, &held, NULL))
			_exit(2);
		s->pr.stock = 666;	/* half an entry */
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	t = now_ms();
	ck_assert_int_eq(prodcache_get(91, &out), 0);
	in.stock = 5;
	prodcache_put(&in, prodcache_version(91));
	ck_assert_int_lt(now_ms() - t, 200);
	ck_assert_int_eq(prodcache_get(91, &out), 1);
	ck_assert_int_eq(out.stock, 5);
}
END_TEST

/* The dead writer's pid was reused by a live process: the master, which
 * reaped the writer, frees its slot. */
START_TEST(a_lock_of_a_reaped_writer_whose_pid_was_reused_is_released_by_the_master)
{
	struct product in = product(93, 2), out;
	struct slot *s = slot_of(93);
	uint32_t reused = (uint32_t)getppid();

	prodcache_put(&in, prodcache_version(93));
	__atomic_store_n(&s->lock, (uint64_t)7 << 32 | reused, __ATOMIC_RELEASE);
	in.stock = 1;
	prodcache_put(&in, prodcache_version(93));
	ck_assert_int_eq(prodcache_get(93, &out), 0);
	prodcache_release(reused);
	ck_assert_int_eq(prodcache_get(93, &out), 0);	/* emptied */
	prodcache_put(&in, prodcache_version(93));
	ck_assert_int_eq(prodcache_get(93, &out), 1);
	ck_assert_int_eq(out.stock, 1);
}
END_TEST

static Suite *
prodcache_suite(void)
{
	Suite *s = suite_create("prodcache");
	TCase *tc = tcase_create("cache");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, miss_then_hit_with_the_same_answer);
	tcase_add_test(tc, a_change_hides_what_was_read_before_it);
	tcase_add_test(tc, a_change_in_another_process_is_seen);
	tcase_add_test(tc, an_entry_is_served_for_its_ttl_only);
	tcase_add_test(tc, products_sharing_a_slot_replace_each_other);
	tcase_add_test(tc, a_slot_left_locked_by_a_killed_writer_is_broken);
	tcase_add_test(tc, a_lock_of_a_reaped_writer_whose_pid_was_reused_is_released_by_the_master);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(prodcache_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
