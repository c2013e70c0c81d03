/* check_gate.c - the bound on workers inside writes: per key, for the pool,
 * the wait for a place, the at-once refusal on a stuck row, and the place of
 * a killed worker freed by the master. Each "worker" is a forked process,
 * as in the pool (a worker's place is claimed by its pid). */
#include "config.h"

#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "shm/gate.h"
#include "shm/shared.h"

#define P(id)	gate_key(GATE_PRODUCT, (id))

struct holder {
	pid_t pid;
	int release;	/* write end: one byte = leave and exit */
};

/* A worker that enters a write naming keys[0..n) and stays inside until
 * released (or killed). */
static struct holder
hold(const uint64_t *keys, size_t n)
{
	int up[2], down[2];
	struct holder h;
	char c = 0;

	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_eq(pipe(down), 0);
	h.pid = fork();
	ck_assert_int_ge(h.pid, 0);
	if (h.pid == 0) {
		uint64_t key;

		c = gate_enter(keys, n, &key) == GATE_IN ? 'i' : 'r';
		if (write(up[1], &c, 1) != 1 || read(down[0], &c, 1) < 0)
			_exit(2);
		gate_leave();
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	ck_assert_int_eq(read(up[0], &c, 1), 1);
	ck_assert_msg(c == 'i', "the holder was refused");
	close(up[0]);
	h.release = down[1];
	return h;
}

static void
let_go(struct holder h)
{
	int st;

	ck_assert_int_eq(write(h.release, "x", 1), 1);
	close(h.release);
	ck_assert_int_eq(waitpid(h.pid, &st, 0), h.pid);
}

/* gate_enter in this process: its result and how long it took. */
static enum gate_rc
enter(const uint64_t *keys, size_t n, uint64_t *key, int64_t *ms)
{
	int64_t t0 = mono_ms();
	enum gate_rc rc = gate_enter(keys, n, key);

	*ms = mono_ms() - t0;
	return rc;
}

static void
sleep_ms(long ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
}

static void
setup(void)
{
	ck_assert_int_eq(gate_init(8), 0);	/* writers 6, per key 4 */
}

START_TEST(a_key_takes_half_the_pool_and_the_next_waits_until_the_row_stands_still)
{
	uint64_t k = P(7), other = P(8), key;
	struct holder h[4];
	int64_t ms;
	int i;

	for (i = 0; i < 4; i++)
		h[i] = hold(&k, 1);
	ck_assert_int_eq(enter(&k, 1, &key, &ms), GATE_ROW_BUSY);
	ck_assert_uint_eq(key, k);
	ck_assert_int_ge(ms, GATE_STUCK_MS - 10);	/* nobody got in meanwhile */
	ck_assert_int_lt(ms, GATE_STUCK_MS + 200);
	/* another product is not held up */
	ck_assert_int_eq(enter(&other, 1, &key, &ms), GATE_IN);
	gate_leave();
	for (i = 0; i < 4; i++)
		let_go(h[i]);
	ck_assert_int_eq(enter(&k, 1, &key, &ms), GATE_IN);
	gate_leave();
}
END_TEST

START_TEST(a_stuck_key_is_refused_at_once)
{
	uint64_t k = P(9), key;
	struct holder h[4];
	int64_t ms;
	int i;

	for (i = 0; i < 4; i++)
		h[i] = hold(&k, 1);
	sleep_ms(GATE_STUCK_MS + 20);
	ck_assert_int_eq(enter(&k, 1, &key, &ms), GATE_ROW_BUSY);
	ck_assert_int_lt(ms, 5);
	for (i = 0; i < 4; i++)
		let_go(h[i]);
}
END_TEST

START_TEST(a_row_found_stuck_refuses_at_once_when_full_again)
{
	uint64_t k = P(11), key;
	struct holder h[4];
	int64_t ms;
	int i;

	for (i = 0; i < 4; i++)
		h[i] = hold(&k, 1);
	ck_assert_int_eq(enter(&k, 1, &key, &ms), GATE_ROW_BUSY);	/* found stuck */
	let_go(h[0]);				/* a lock waiter gives up ... */
	h[0] = hold(&k, 1);			/* ... and the next one gets in */
	ck_assert_int_eq(enter(&k, 1, &key, &ms), GATE_ROW_BUSY);
	ck_assert_int_lt(ms, 5);		/* no second wait of GATE_STUCK_MS */
	for (i = 0; i < 4; i++)
		let_go(h[i]);
	ck_assert_int_eq(enter(&k, 1, &key, &ms), GATE_IN);	/* not full: in */
	gate_leave();
}
END_TEST

START_TEST(a_place_freed_while_waiting_is_taken)
{
	uint64_t k = P(10), key;
	struct holder h[4];
	pid_t p;
	int64_t ms;
	int i, st;

	for (i = 0; i < 4; i++)
		h[i] = hold(&k, 1);
	p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0) {
		/* Releases the first holder (the parent reaps it). */
		sleep_ms(5);
		_exit(write(h[0].release, "x", 1) == 1 ? 0 : 1);
	}
	ck_assert_int_eq(enter(&k, 1, &key, &ms), GATE_IN);
	ck_assert_int_lt(ms, GATE_STUCK_MS);
	gate_leave();
	ck_assert_int_eq(waitpid(p, &st, 0), p);
	ck_assert_int_eq(waitpid(h[0].pid, &st, 0), h[0].pid);
	close(h[0].release);
	for (i = 1; i < 4; i++)
		let_go(h[i]);
}
END_TEST

START_TEST(the_pool_keeps_a_quarter_out_of_writes)
{
	uint64_t keys[6], k = P(100), key;
	struct holder h[6];
	int64_t ms;
	int i;

	for (i = 0; i < 6; i++) {
		keys[i] = P(20 + i);
		h[i] = hold(&keys[i], 1);
	}
	ck_assert_int_eq(enter(&k, 1, &key, &ms), GATE_POOL_BUSY);
	ck_assert_uint_eq(key, 0);
	ck_assert_int_eq(enter(NULL, 0, &key, &ms), GATE_POOL_BUSY);
	let_go(h[5]);
	ck_assert_int_eq(enter(NULL, 0, &key, &ms), GATE_IN);
	gate_leave();
	for (i = 0; i < 5; i++)
		let_go(h[i]);
}
END_TEST

START_TEST(a_write_of_several_keys_is_refused_when_one_is_full)
{
	uint64_t k = P(30), both[2] = { P(31), P(30) }, key;
	struct holder h[4];
	int64_t ms;
	int i;

	for (i = 0; i < 4; i++)
		h[i] = hold(&k, 1);
	ck_assert_int_eq(enter(both, 2, &key, &ms), GATE_ROW_BUSY);
	ck_assert_uint_eq(key, P(30));
	for (i = 0; i < 4; i++)
		let_go(h[i]);
	/* the refused write holds no place: four more fit */
	for (i = 0; i < 4; i++)
		h[i] = hold(&k, 1);
	for (i = 0; i < 4; i++)
		let_go(h[i]);
}
END_TEST

START_TEST(a_killed_workers_place_is_freed_by_the_master)
{
	uint64_t k = P(40), key;
	struct holder h[4];
	int64_t ms;
	int i, st;

	for (i = 0; i < 4; i++)
		h[i] = hold(&k, 1);
	kill(h[0].pid, SIGKILL);
	ck_assert_int_eq(waitpid(h[0].pid, &st, 0), h[0].pid);
	close(h[0].release);
	/* dead, but still counted until the master reaps it */
	ck_assert_int_eq(enter(&k, 1, &key, &ms), GATE_ROW_BUSY);
	gate_release((uint32_t)h[0].pid);
	ck_assert_int_eq(enter(&k, 1, &key, &ms), GATE_IN);
	gate_leave();
	for (i = 1; i < 4; i++)
		let_go(h[i]);
}
END_TEST

START_TEST(a_small_pool_still_writes)
{
	uint64_t k = P(50), key;
	int64_t ms;

	gate_bounds(0, 0);
	ck_assert_int_eq(enter(&k, 1, &key, &ms), GATE_IN);
	gate_leave();
}
END_TEST

static Suite *
gate_suite(void)
{
	Suite *s = suite_create("gate");
	TCase *tc = tcase_create("gate");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, a_key_takes_half_the_pool_and_the_next_waits_until_the_row_stands_still);
	tcase_add_test(tc, a_stuck_key_is_refused_at_once);
	tcase_add_test(tc, a_row_found_stuck_refuses_at_once_when_full_again);
	tcase_add_test(tc, a_place_freed_while_waiting_is_taken);
	tcase_add_test(tc, the_pool_keeps_a_quarter_out_of_writes);
	tcase_add_test(tc, a_write_of_several_keys_is_refused_when_one_is_full);
	tcase_add_test(tc, a_killed_workers_place_is_freed_by_the_master);
	tcase_add_test(tc, a_small_pool_still_writes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(gate_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
