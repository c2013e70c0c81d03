/* check_db.c - what a database failure means to the client: which MariaDB
 * error at which stage of a transaction becomes which problem (a lost
 * COMMIT is an unknown outcome, everything else that is lost or busy means
 * nothing was done), and the pool's shared "database suspect" mark (one
 * probe at a time, a gap after a failed one, cleared by any answer), and
 * what a list page (db_page) refuses before it asks the server. The mapping
 * is domain/dberr.c's; the rest the store's. */
#include "config.h"

#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <errmsg.h>
#include <mysqld_error.h>

#include "base/arena.h"
#include "domain/dberr.h"
#include "store/db.h"

static const struct {
	unsigned err;
	enum db_stage stage;
	enum problem_kind want;
} cases[] = {
	/* The COMMIT went out and no answer came: it may have committed. */
	{ CR_SERVER_LOST, DB_STAGE_COMMIT, PROB_OUTCOME_UNKNOWN },	/* 2013, also a read timeout */
	{ CR_SERVER_GONE_ERROR, DB_STAGE_COMMIT, PROB_OUTCOME_UNKNOWN },	/* 2006 */
	{ CR_SERVER_LOST_EXTENDED, DB_STAGE_COMMIT, PROB_OUTCOME_UNKNOWN },	/* 2055 */
	{ ER_CONNECTION_KILLED, DB_STAGE_COMMIT, PROB_OUTCOME_UNKNOWN },	/* 1927 */
	{ ER_SERVER_SHUTDOWN, DB_STAGE_COMMIT, PROB_OUTCOME_UNKNOWN },	/* 1053 */
	{ CR_COMMANDS_OUT_OF_SYNC, DB_STAGE_COMMIT, PROB_OUTCOME_UNKNOWN },	/* 2014 */
	/* Lost before COMMIT: the server rolls the transaction back. */
	{ CR_SERVER_LOST, DB_STAGE_BODY, PROB_UNAVAILABLE },
	{ CR_SERVER_GONE_ERROR, DB_STAGE_BODY, PROB_UNAVAILABLE },
	{ CR_CONNECTION_ERROR, DB_STAGE_BODY, PROB_UNAVAILABLE },	/* 2002 */
	{ CR_CONN_HOST_ERROR, DB_STAGE_OUTSIDE, PROB_UNAVAILABLE },	/* 2003 */
	{ CR_SERVER_LOST, DB_STAGE_OUTSIDE, PROB_UNAVAILABLE },
	{ DB_ER_SUSPECT, DB_STAGE_OUTSIDE, PROB_UNAVAILABLE },	/* refused without asking */
	{ DB_ER_SUSPECT, DB_STAGE_BODY, PROB_UNAVAILABLE },
	/* The server answered with an error: rolled back, even at COMMIT. */
	{ ER_LOCK_DEADLOCK, DB_STAGE_COMMIT, PROB_UNAVAILABLE },	/* 1213 */
	{ ER_LOCK_WAIT_TIMEOUT, DB_STAGE_BODY, PROB_UNAVAILABLE },	/* 1205 */
	{ ER_CHECKREAD, DB_STAGE_BODY, PROB_UNAVAILABLE },	/* 1020 */
	{ ER_DUP_ENTRY, DB_STAGE_BODY, PROB_INTERNAL },		/* 1062 */
	{ ER_DUP_ENTRY, DB_STAGE_COMMIT, PROB_INTERNAL },
	{ ER_PARSE_ERROR, DB_STAGE_OUTSIDE, PROB_INTERNAL },
	{ 1267, DB_STAGE_OUTSIDE, PROB_INTERNAL },		/* illegal mix of collations */
	{ 0, DB_STAGE_COMMIT, PROB_NONE },
	/* Galera: a node not ready (1047) before COMMIT did nothing, the
	 * caller goes to another node (it was a 500); a commit that failed
	 * on its way (1180) may have happened on the others. */
	{ ER_UNKNOWN_COM_ERROR, DB_STAGE_BODY, PROB_UNAVAILABLE },	/* 1047 */
	{ ER_UNKNOWN_COM_ERROR, DB_STAGE_OUTSIDE, PROB_UNAVAILABLE },
	{ ER_ERROR_DURING_COMMIT, DB_STAGE_COMMIT, PROB_OUTCOME_UNKNOWN },	/* 1180 */
};

START_TEST(each_error_at_each_stage_maps_to_its_problem)
{
	enum problem_kind got = db_problem_kind(db_classify(cases[_i].err), cases[_i].stage);

	ck_assert_msg(got == cases[_i].want, "error %u at stage %d: %s, want %s",
	    cases[_i].err, (int)cases[_i].stage, problem_type(got),
	    problem_type(cases[_i].want));
}
END_TEST

START_TEST(only_a_lost_commit_is_an_unknown_outcome)
{
	enum db_rc rc;
	enum db_stage st;

	for (rc = DB_OK; rc <= DB_ABORT; rc++)
		for (st = DB_STAGE_OUTSIDE; st <= DB_STAGE_COMMIT; st++)
			ck_assert_int_eq(db_problem_kind(rc, st) == PROB_OUTCOME_UNKNOWN,
			    rc == DB_LOST && st == DB_STAGE_COMMIT);
	ck_assert_int_eq(db_problem_kind(DB_ABORT, DB_STAGE_BODY), PROB_NONE);
	ck_assert_int_eq(problem_status(PROB_OUTCOME_UNKNOWN), 503);
	ck_assert_str_eq(problem_type(PROB_OUTCOME_UNKNOWN), "/problems/outcome-unknown");
	ck_assert_str_eq(problem_slug(PROB_OUTCOME_UNKNOWN), "outcome-unknown");
}
END_TEST

START_TEST(a_read_timeout_outlasts_a_lock_wait)
{
	/* innodb_lock_wait_timeout = 3 (db_connect); a legitimate wait must
	 * end in 1205, not in a timeout, and a timeout must come within 5 s. */
	ck_assert_int_gt(DB_READ_TIMEOUT_S, 3);
	ck_assert_int_le(DB_READ_TIMEOUT_S, 4);
	ck_assert_int_lt(DB_SLOW_FAIL_MS, DB_CONNECT_TIMEOUT_S * 1000);
}
END_TEST

static int after_ran;

static void
count_after(int64_t arg)
{
	after_ran += (int)arg;
}

START_TEST(an_after_commit_step_outside_a_transaction_is_refused_not_run)
{
	struct db db;

	db_init(&db, NULL);
	after_ran = 0;
	ck_assert_int_eq(db_after_commit(&db, count_after, 1), DB_ERR);
	ck_assert_int_eq((int)db.nafter, 0);
	ck_assert_int_eq(after_ran, 0);
}
END_TEST

START_TEST(after_commit_steps_wait_for_the_commit_and_are_bounded)
{
	struct db db;
	int i;

	db_init(&db, NULL);
	db.in_txn = 1;
	after_ran = 0;
	for (i = 0; i < DB_AFTER_MAX; i++)
		ck_assert_int_eq(db_after_commit(&db, count_after, 1), DB_OK);
	ck_assert_int_eq(db_after_commit(&db, count_after, 1), DB_ERR);
	ck_assert_int_eq((int)db.nafter, DB_AFTER_MAX);
	ck_assert_int_eq(after_ran, 0);
}
END_TEST

static int page_takes;

static enum db_rc
count_take(void *arg, void *slot)
{
	(void)arg;
	(void)slot;
	page_takes++;
	return DB_OK;
}

START_TEST(a_page_past_the_arena_is_out_of_memory_before_any_query)
{
	struct db db;
	struct arena a;
	struct problem p;
	struct db_val in[] = { DBV_I64(0) };
	struct db_col cols[] = { DBC_I64(NULL) };
	struct db_page pg = { 200, 1024, count_take, NULL, NULL, 7, 1 };

	db_init(&db, NULL);	/* not connected: a query would fail otherwise */
	arena_init(&a, 4096);
	page_takes = 0;
	ck_assert_int_eq(db_page(&db, ST_PRODUCT_LIST, in, 1, cols, 1, &a, &pg, &p), DB_ABORT);
	ck_assert_int_eq(p.kind, PROB_INTERNAL);
	ck_assert_str_eq(p.detail, "out of memory");
	ck_assert_int_eq((int)pg.n, 0);
	ck_assert_int_eq(pg.more, 0);
	ck_assert_ptr_null(pg.rows);
	ck_assert_int_eq(page_takes, 0);
	arena_free(&a);
}
END_TEST

START_TEST(a_page_without_room_for_its_size_is_refused)
{
	struct db db;
	struct arena a;
	struct problem p;
	struct db_val in[DB_PARAMS_MAX];
	struct db_col cols[] = { DBC_I64(NULL) };
	struct db_page pg = { 0, 8, count_take, NULL, NULL, 0, 0 };
	unsigned i;

	for (i = 0; i < DB_PARAMS_MAX; i++)
		in[i] = DBV_I64(0);
	db_init(&db, NULL);
	arena_init(&a, 0);
	page_takes = 0;
	/* A page of no rows, and params leaving no slot for the page size. */
	ck_assert_int_eq(db_page(&db, ST_PRODUCT_LIST, in, 1, cols, 1, &a, &pg, &p), DB_ERR);
	pg.limit = 10;
	ck_assert_int_eq(db_page(&db, ST_PRODUCT_LIST, in, DB_PARAMS_MAX, cols, 1, &a, &pg, &p),
	    DB_ERR);
	ck_assert_int_eq(page_takes, 0);
	arena_free(&a);
}
END_TEST

START_TEST(healthy_admits_everyone_without_a_probe)
{
	int probing = 0;

	ck_assert_int_eq(db_health_init(), 0);
	ck_assert_int_eq(db_health_admit(1000, &probing), 1);
	ck_assert_int_eq(probing, 0);
	ck_assert_int_eq(db_health_is_suspect(), 0);
}
END_TEST

START_TEST(suspect_admits_one_probe_at_a_time)
{
	int a = 0, b = 0, c = 0;

	ck_assert_int_eq(db_health_init(), 0);
	db_health_suspect(10000);
	ck_assert_int_eq(db_health_is_suspect(), 1);
	/* Within the gap after the timeout: nobody. */
	ck_assert_int_eq(db_health_admit(10000 + DB_PROBE_GAP_MS - 1, &a), 0);
	/* After it: one probe; the others are refused while it runs. */
	ck_assert_int_eq(db_health_admit(10000 + DB_PROBE_GAP_MS, &a), 1);
	ck_assert_int_eq(a, 1);
	ck_assert_int_eq(db_health_admit(10000 + DB_PROBE_GAP_MS + 1, &b), 0);
	ck_assert_int_eq(b, 0);
	/* The probe's further statements go on. */
	ck_assert_int_eq(db_health_admit(10000 + DB_PROBE_GAP_MS + 2, &a), 1);
	/* It times out: another gap, then the next probe. */
	db_health_suspect(15000);
	ck_assert_int_eq(db_health_admit(15000 + 10, &b), 0);
	ck_assert_int_eq(db_health_admit(15000 + DB_PROBE_GAP_MS, &b), 1);
	ck_assert_int_eq(b, 1);
	/* It is answered: everyone again, no probe needed. */
	db_health_ok();
	ck_assert_int_eq(db_health_is_suspect(), 0);
	ck_assert_int_eq(db_health_admit(15000 + DB_PROBE_GAP_MS + 1, &c), 1);
	ck_assert_int_eq(c, 0);
}
END_TEST

START_TEST(a_probe_that_dies_loses_its_lease)
{
	int a = 0, b = 0;
	int64_t t = 50000;

	ck_assert_int_eq(db_health_init(), 0);
	db_health_suspect(t);
	ck_assert_int_eq(db_health_admit(t + DB_PROBE_GAP_MS, &a), 1);
	/* a never reports (its worker was killed). */
	ck_assert_int_eq(db_health_admit(t + DB_PROBE_GAP_MS + DB_PROBE_LEASE_MS - 1, &b), 0);
	ck_assert_int_eq(db_health_admit(t + DB_PROBE_GAP_MS + DB_PROBE_LEASE_MS, &b), 1);
}
END_TEST

START_TEST(the_mark_is_shared_with_forked_workers)
{
	pid_t pid;
	int status, probing = 0;

	ck_assert_int_eq(db_health_init(), 0);
	if ((pid = fork()) == 0) {
		db_health_suspect(70000);
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	waitpid(pid, &status, 0);
	ck_assert_int_eq(db_health_is_suspect(), 1);
	ck_assert_int_eq(db_health_admit(70000 + 1, &probing), 0);
	if ((pid = fork()) == 0) {
		db_health_ok();
		_exit(0);
	}
	waitpid(pid, &status, 0);
	ck_assert_int_eq(db_health_is_suspect(), 0);
}
END_TEST

static Suite *
db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("outcome");

	tcase_add_loop_test(tc, each_error_at_each_stage_maps_to_its_problem, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, only_a_lost_commit_is_an_unknown_outcome);
	tcase_add_test(tc, a_read_timeout_outlasts_a_lock_wait);
	tcase_add_test(tc, an_after_commit_step_outside_a_transaction_is_refused_not_run);
	tcase_add_test(tc, after_commit_steps_wait_for_the_commit_and_are_bounded);
	tcase_add_test(tc, a_page_past_the_arena_is_out_of_memory_before_any_query);
	tcase_add_test(tc, a_page_without_room_for_its_size_is_refused);
	suite_add_tcase(s, tc);
	tc = tcase_create("health");
	tcase_add_test(tc, healthy_admits_everyone_without_a_probe);
	tcase_add_test(tc, suspect_admits_one_probe_at_a_time);
	tcase_add_test(tc, a_probe_that_dies_loses_its_lease);
	tcase_add_test(tc, the_mark_is_shared_with_forked_workers);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(db_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
