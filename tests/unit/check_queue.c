/* check_queue.c - the order queue of --lock queue: a batch is taken oldest
 * first, outcomes reach their waiters, a queued order wakes the batcher, a
 * queued order keeps its place when queued again, and a batcher that dies
 * leaves every order it took to be settled. */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "shm/queue.h"

static void
setup(void)
{
	ck_assert_int_eq(queue_init(), 0);
}

static struct qslot *
queued(int64_t product)
{
	struct qslot *s = queue_reserve();

	ck_assert_ptr_nonnull(s);
	s->in.nlines = 1;
	s->in.lines[0].product = product;
	queue_submit(s, 0);
	return s;
}

START_TEST(a_batch_is_taken_oldest_first_and_outcomes_reach_their_waiters)
{
	struct qslot *a = queued(1), *b = queued(2), *c = queued(3), *got[QUEUE_BATCH_MAX];
	struct queue_stats st;

	queue_lead();
	ck_assert_int_eq(queue_wait(a, 0), QT_WAIT);
	ck_assert_uint_eq(queue_take(got, 2), 2);
	ck_assert_ptr_eq(got[0], a);
	ck_assert_ptr_eq(got[1], b);
	got[0]->out.outcome = QO_PLACED;
	got[1]->out.outcome = QO_REFUSED;
	queue_done(got, 2);
	ck_assert_int_eq(queue_wait(a, 0), QT_DONE);
	ck_assert_int_eq(a->out.outcome, QO_PLACED);
	ck_assert_int_eq(queue_wait(b, 0), QT_DONE);
	ck_assert_int_eq(queue_wait(c, 0), QT_WAIT);	/* still queued */
	ck_assert_uint_eq(queue_take(got, QUEUE_BATCH_MAX), 1);
	ck_assert_ptr_eq(got[0], c);
	queue_done(got, 1);
	ck_assert_uint_eq(queue_take(got, QUEUE_BATCH_MAX), 0);
	queue_stats_read(&st);
	ck_assert_uint_eq(st.batches, 2);
	ck_assert_uint_eq(st.orders, 3);
	ck_assert_uint_eq(st.largest, 2);
	ck_assert_uint_eq(st.hist[0], 1);	/* one batch of 1 */
	ck_assert_uint_eq(st.hist[1], 1);	/* one of 2-3 */
	ck_assert_uint_eq(st.queued, 0);
	ck_assert_uint_eq(st.leader, (uint32_t)getpid());
	queue_free(a);
	queue_free(b);
	queue_free(c);
}
END_TEST

/* The batcher sleeps while nothing is queued and is woken by an order at
 * once, not at the end of its wait. */
START_TEST(a_queued_order_wakes_the_batcher)
{
	struct timespec t0, t1;
	pid_t pid;
	int st;

	if ((pid = fork()) == 0) {
		struct timespec d = { 0, 100 * 1000000L };

		nanosleep(&d, NULL);
		(void)queued(1);
		_exit(0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	queue_await_work(5000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 3);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	/* with an order queued it does not sleep at all */
	(void)queued(2);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	queue_await_work(5000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 3);
}
END_TEST

START_TEST(an_order_queued_again_keeps_its_place)
{
	struct qslot *a = queued(1), *b = queued(2), *got[QUEUE_BATCH_MAX];

	queue_lead();
	ck_assert_uint_eq(queue_take(got, 1), 1);
	ck_assert_ptr_eq(got[0], a);
	got[0]->out.outcome = QO_SETTLE;
	queue_done(got, 1);
	/* its batch vanished: queued again, still ahead of b */
	queue_submit(a, 1);
	ck_assert_uint_eq(queue_take(got, 1), 1);
	ck_assert_ptr_eq(got[0], a);
	ck_assert_int_eq(got[0]->out.outcome, QO_NONE);
	queue_done(got, 1);
	/* withdrawn while queued: taken by nobody */
	ck_assert_int_eq(queue_withdraw(b), 1);
	ck_assert_int_eq(queue_wait(a, 0), QT_DONE);
	ck_assert_uint_eq(queue_take(got, QUEUE_BATCH_MAX), 0);
	queue_free(a);
}
END_TEST

START_TEST(a_batcher_killed_mid_batch_leaves_its_orders_to_be_settled)
{
	struct qslot *a = queued(1), *b = queued(2), *c = queued(3);
	int fds[2], st;
	pid_t pid;
	char ch;

	ck_assert_int_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		struct qslot *got[QUEUE_BATCH_MAX];

		queue_lead();
		if (queue_take(got, 2) != 2)
			_exit(1);
		got[0]->out.order = 41;
		got[0]->out.conn = 7;
		(void)write(fds[1], "x", 1);
		pause();
		_exit(0);
	}
	ck_assert_int_eq(read(fds[0], &ch, 1), 1);
	ck_assert_int_eq(queue_wait(a, 0), QT_WAIT);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	queue_release((uint32_t)pid);
	ck_assert_int_eq(queue_wait(a, 0), QT_DONE);
	ck_assert_int_eq(a->out.outcome, QO_SETTLE);
	ck_assert_int_eq(a->out.order, 41);
	ck_assert_uint_eq(a->out.conn, 7);
	ck_assert_int_eq(queue_wait(b, 0), QT_DONE);
	ck_assert_int_eq(b->out.outcome, QO_SETTLE);
	ck_assert_int_eq(b->out.order, 0);
	ck_assert_int_eq(queue_wait(c, 0), QT_WAIT);	/* still queued for the next batcher */
	{
		struct queue_stats qs;

		queue_stats_read(&qs);
		ck_assert_uint_eq(qs.leader, 0);
	}
	queue_free(a);
	queue_free(b);
	queue_free(c);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

START_TEST(a_dead_waiters_order_is_dropped_or_freed_by_its_leader)
{
	struct qslot *got[QUEUE_BATCH_MAX], *s;
	struct queue_stats st;
	pid_t pid;
	int wst, i;

	if ((pid = fork()) == 0) {
		(void)queued(1);
		(void)queued(2);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &wst, 0), pid);
	s = queued(3);
	queue_lead();
	/* one of the dead one's orders is taken, then it is found dead */
	ck_assert_uint_eq(queue_take(got, 1), 1);
	queue_release((uint32_t)pid);
	queue_stats_read(&st);
	ck_assert_uint_eq(st.queued, 1);	/* its other order is gone; mine waits */
	queue_done(got, 1);
	ck_assert_uint_eq(queue_take(got, QUEUE_BATCH_MAX), 1);
	ck_assert_ptr_eq(got[0], s);
	queue_done(got, 1);
	queue_free(s);
	/* every slot is free again */
	for (i = 0; i < QUEUE_SLOTS; i++)
		ck_assert_ptr_nonnull(queue_reserve());
	ck_assert_ptr_null(queue_reserve());
}
END_TEST

static Suite *
queue_suite(void)
{
	Suite *s = suite_create("queue");
	TCase *tc = tcase_create("queue");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, a_batch_is_taken_oldest_first_and_outcomes_reach_their_waiters);
	tcase_add_test(tc, a_queued_order_wakes_the_batcher);
	tcase_add_test(tc, an_order_queued_again_keeps_its_place);
	tcase_add_test(tc, a_batcher_killed_mid_batch_leaves_its_orders_to_be_settled);
	tcase_add_test(tc, a_dead_waiters_order_is_dropped_or_freed_by_its_leader);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(queue_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
