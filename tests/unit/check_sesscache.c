/* check_sesscache.c - the shared session cache (fcgi/shm/sesscache.c) and the
 * sequence lock of shared.c that guards its slots: hits, a fill that began
 * before a sign-out is refused, forgetting every token, and a slot whose
 * writer was killed halfway (its lock left held) - readers miss at once,
 * forget and put complete, and the slot works again (also when the dead
 * writer's pid was reused: the master releases what it held).
 *
 * sesscache.c is included, not linked, to reach its table. */
#include "config.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "shm/sesscache.c"

/* Every step that might wait on a slot must be done well within this. */
#define BOUND_MS	200

static void
token(unsigned char h[32], unsigned seed)
{
	unsigned i;

	for (i = 0; i < 32; i++)
		h[i] = (unsigned char)(seed * 131 + i * 7 + 1);
}

static void
setup(void)
{
	ck_assert_int_eq(sesscache_init(), 0);
}

START_TEST(miss_then_hit_with_who_it_is)
{
	unsigned char h[32];
	int64_t id = 0;
	int admin = -1;
	char name[33];

	token(h, 1);
	ck_assert_int_eq(sesscache_get(h, &id, &admin, name), 0);
	sesscache_put(h, sesscache_begin(h), 42, 1, "alice");
	ck_assert_int_eq(sesscache_get(h, &id, &admin, name), 1);
	ck_assert_int_eq(id, 42);
	ck_assert_int_eq(admin, 1);
	ck_assert_str_eq(name, "alice");
}
END_TEST

START_TEST(forget_hides_the_token_at_once)
{
	unsigned char h[32];
	int64_t id;
	int admin;
	char name[33];

	token(h, 2);
	sesscache_put(h, sesscache_begin(h), 7, 0, "bob");
	ck_assert_int_eq(sesscache_get(h, &id, &admin, name), 1);
	sesscache_forget(h);
	ck_assert_int_eq(sesscache_get(h, &id, &admin, name), 0);
}
END_TEST

/* request A reads the session from the database (valid), the
 * owner signs out (revoke + forget), then A stores what it read. The
 * revoked token must not come back into the cache. */
START_TEST(fill_begun_before_a_sign_out_is_refused)
{
	unsigned char h[32];
	uint64_t gen;
	int64_t id;
	int admin;
	char name[33];

	token(h, 3);
	gen = sesscache_begin(h);	/* A: before its database read */
	sesscache_forget(h);		/* sign-out, after A's read */
	sesscache_put(h, gen, 9, 0, "carol");	/* A fills */
	ck_assert_msg(sesscache_get(h, &id, &admin, name) == 0,
	    "a token revoked after the fill's read began is served from the cache");
	/* A lookup that begins after the forget fills as usual. */
	sesscache_put(h, sesscache_begin(h), 9, 0, "carol");
	ck_assert_int_eq(sesscache_get(h, &id, &admin, name), 1);
}
END_TEST

START_TEST(fill_begun_before_a_sign_out_in_another_process_is_refused)
{
	unsigned char h[32];
	uint64_t gen;
	int64_t id;
	int admin, st;
	char name[33];
	pid_t pid;

	token(h, 4);
	gen = sesscache_begin(h);
	if ((pid = fork()) == 0) {
		sesscache_forget(h);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	sesscache_put(h, gen, 11, 0, "dave");
	ck_assert_int_eq(sesscache_get(h, &id, &admin, name), 0);
}
END_TEST

START_TEST(forget_all_hides_every_token_and_refuses_earlier_fills)
{
	unsigned char a[32], b[32];
	uint64_t gen;
	int64_t id;
	int admin;
	char name[33];

	token(a, 5);
	token(b, 6);
	sesscache_put(a, sesscache_begin(a), 1, 0, "erin");
	gen = sesscache_begin(b);
	sesscache_forget_all();
	ck_assert_int_eq(sesscache_get(a, &id, &admin, name), 0);
	sesscache_put(b, gen, 2, 0, "frank");
	ck_assert_int_eq(sesscache_get(b, &id, &admin, name), 0);
}
END_TEST

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A writer killed between the two halves of its write: a child takes the
 * slot's lock, scribbles half an entry and dies. */
static void
kill_a_writer_inside(struct entry *e)
{
	pid_t pid;
	int st;

	if ((pid = fork()) == 0) {
		uint64_t held;

		if (!seqlock_lock(&e->lock, &held, NULL))
			_exit(2);
		e->id = 666;	/* half an entry */
		_exit(0);	/* never unlocks */
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child did not take the lock");
	ck_assert_msg(__atomic_load_n(&e->lock, __ATOMIC_ACQUIRE) & 0xffffffffu,
	    "the slot is not left locked");
}

START_TEST(a_slot_left_locked_by_a_killed_writer_is_broken)
{
	unsigned char h[32];
	struct entry *e;
	int64_t id, t;
	int admin;
	char name[33];

	token(h, 7);
	sesscache_put(h, sesscache_begin(h), 5, 0, "gina");
	e = slot_of(h);
	kill_a_writer_inside(e);
	/* Readers miss at once, not the half-written entry. */
	t = now_ms();
	ck_assert_int_eq(sesscache_get(h, &id, &admin, name), 0);
	ck_assert_int_lt(now_ms() - t, BOUND_MS);
	/* A forget completes (it used to spin for ever on a locked slot). */
	t = now_ms();
	sesscache_forget(h);
	ck_assert_int_lt(now_ms() - t, BOUND_MS);
	/* The next fill breaks the dead writer's lock and the slot works. */
	t = now_ms();
	sesscache_put(h, sesscache_begin(h), 5, 0, "gina");
	ck_assert_int_lt(now_ms() - t, BOUND_MS);
	ck_assert_int_eq(sesscache_get(h, &id, &admin, name), 1);
	ck_assert_int_eq(id, 5);
	ck_assert_str_eq(name, "gina");
	ck_assert_int_eq(__atomic_load_n(&e->lock, __ATOMIC_ACQUIRE) & 0xffffffffu, 0);
}
END_TEST

/* A writer died holding the lock and its pid now belongs to a live
 * process: no writer may break it (the owner looks alive), but the master,
 * which reaped the writer, releases it, and the slot works again. */
START_TEST(a_lock_of_a_reaped_writer_whose_pid_was_reused_is_released_by_the_master)
{
	unsigned char h[32];
	struct entry *e;
	uint32_t reused = (uint32_t)getppid();	/* alive, not us */
	int64_t id;
	int admin;
	char name[33];

	token(h, 8);
	sesscache_put(h, sesscache_begin(h), 6, 0, "hana");
	e = slot_of(h);
	__atomic_store_n(&e->lock, (uint64_t)3 << 32 | reused, __ATOMIC_RELEASE);
	sesscache_put(h, sesscache_begin(h), 6, 0, "hana");
	ck_assert_int_eq(sesscache_get(h, &id, &admin, name), 0);
	sesscache_release(reused);
	ck_assert_int_eq(__atomic_load_n(&e->lock, __ATOMIC_ACQUIRE) & 0xffffffffu, 0);
	ck_assert_int_eq(sesscache_get(h, &id, &admin, name), 0);	/* emptied */
	sesscache_put(h, sesscache_begin(h), 6, 0, "hana");
	ck_assert_int_eq(sesscache_get(h, &id, &admin, name), 1);
	ck_assert_int_eq(id, 6);
}
END_TEST

/* The same with a slot whose lock word was set by hand to a pid that does
 * not exist (and to this process's own pid: a dead writer whose pid was
 * reused by the process now asking). */
START_TEST(a_lock_word_naming_a_gone_or_reused_pid_is_broken)
{
	seqlock_t *l = shared_alloc(sizeof(*l));
	uint64_t held, snap;
	int broken;
	pid_t pid;
	int st;

	ck_assert_ptr_nonnull(l);
	if ((pid = fork()) == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);	/* pid is gone now */
	*l = (uint64_t)5 << 32 | (uint32_t)pid;
	ck_assert_int_eq(seqlock_read_begin(l, &snap), 0);
	ck_assert_int_eq(seqlock_lock(l, &held, &broken), 1);
	ck_assert_int_eq(broken, 1);
	seqlock_unlock(l, held);
	ck_assert_int_eq(seqlock_read_begin(l, &snap), 1);
	ck_assert_int_eq(seqlock_read_end(l, snap), 1);

	*l = (uint64_t)9 << 32 | (uint32_t)getpid();
	ck_assert_int_eq(seqlock_lock(l, &held, &broken), 1);
	ck_assert_int_eq(broken, 1);
	seqlock_unlock(l, held);
	ck_assert_int_eq(seqlock_read_begin(l, &snap), 1);
}
END_TEST

/* A live writer's lock is never broken: the others give up at once. */
START_TEST(a_live_writers_lock_is_respected_without_waiting)
{
	seqlock_t *l = shared_alloc(sizeof(*l));
	int go[2], done[2];
	uint64_t held, snap;
	pid_t pid;
	char c;
	int st, broken;
	int64_t t;

	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(done), 0);
	if ((pid = fork()) == 0) {
		uint64_t mine;

		if (!seqlock_lock(l, &mine, NULL))
			_exit(2);
		if (write(go[1], "x", 1) != 1 || read(done[0], &c, 1) != 1)
			_exit(3);
		seqlock_unlock(l, mine);
		_exit(0);
	}
	ck_assert_int_eq(read(go[0], &c, 1), 1);
	t = now_ms();
	ck_assert_int_eq(seqlock_read_begin(l, &snap), 0);
	ck_assert_int_eq(seqlock_lock(l, &held, &broken), 0);
	ck_assert_int_eq(broken, 0);
	ck_assert_int_lt(now_ms() - t, BOUND_MS);
	ck_assert_int_eq(write(done[1], "x", 1), 1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert_int_eq(seqlock_lock(l, &held, &broken), 1);
	ck_assert_int_eq(broken, 0);
	seqlock_unlock(l, held);
	close(go[0]);
	close(go[1]);
	close(done[0]);
	close(done[1]);
}
END_TEST

/* A read that overlaps a lock and unlock sees the word move. */
START_TEST(a_read_across_a_write_is_refused)
{
	seqlock_t *l = shared_alloc(sizeof(*l));
	uint64_t held, snap;

	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(seqlock_read_begin(l, &snap), 1);
	ck_assert_int_eq(seqlock_lock(l, &held, NULL), 1);
	seqlock_unlock(l, held);
	ck_assert_int_eq(seqlock_read_end(l, snap), 0);
}
END_TEST

static Suite *
sesscache_suite(void)
{
	Suite *s = suite_create("sesscache");
	TCase *tc = tcase_create("cache");
	TCase *lk = tcase_create("seqlock");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, miss_then_hit_with_who_it_is);
	tcase_add_test(tc, forget_hides_the_token_at_once);
	tcase_add_test(tc, fill_begun_before_a_sign_out_is_refused);
	tcase_add_test(tc, fill_begun_before_a_sign_out_in_another_process_is_refused);
	tcase_add_test(tc, forget_all_hides_every_token_and_refuses_earlier_fills);
	tcase_add_test(tc, a_slot_left_locked_by_a_killed_writer_is_broken);
	tcase_add_test(tc, a_lock_of_a_reaped_writer_whose_pid_was_reused_is_released_by_the_master);
	suite_add_tcase(s, tc);
	tcase_add_test(lk, a_lock_word_naming_a_gone_or_reused_pid_is_broken);
	tcase_add_test(lk, a_live_writers_lock_is_respected_without_waiting);
	tcase_add_test(lk, a_read_across_a_write_is_refused);
	suite_add_tcase(s, lk);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sesscache_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
