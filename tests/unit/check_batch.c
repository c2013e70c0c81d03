/* check_batch.c - batch_grant(), the decision of a batch of --lock queue:
 * oldest first while stock lasts, each order whole or not at all, the
 * first failing line named, the open-orders limit counted across the
 * batch, prices and totals from the locked rows. */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "domain/batch.h"

#define FREIGHT	1000

static struct qslot *slots[8];
static struct batch_product pr[4];
static struct batch_user users[2];

static void
setup(void)
{
	size_t i;

	for (i = 0; i < 8; i++)
		ck_assert_ptr_nonnull(slots[i] = calloc(1, sizeof(struct qslot)));
	memset(pr, 0, sizeof(pr));
	memset(users, 0, sizeof(users));
	/* products 10, 20, 30 (price 100, 200, 300; goods 7 for 20); 40 missing */
	for (i = 0; i < 4; i++) {
		pr[i].id = (int64_t)(i + 1) * 10;
		pr[i].found = i < 3;
		pr[i].price = (int64_t)(i + 1) * 100;
		pr[i].goods = i == 1 ? 7 : 0;
	}
}

static void
teardown(void)
{
	size_t i;

	for (i = 0; i < 8; i++)
		free(slots[i]);
}

static void
stock(size_t i, int64_t n)
{
	pr[i].stock = pr[i].left = n;
}

/* Order i: cod by user 5, lines (product, quantity) pairs ascending. */
static void
order(size_t i, const char *pm, int64_t user, size_t nlines, ...)
{
	struct qorder *o = &slots[i]->in;
	va_list ap;
	size_t k;

	memset(slots[i], 0, sizeof(*slots[i]));
	o->user = user;
	strcpy(o->pay_method, pm);
	o->nlines = (uint32_t)nlines;
	va_start(ap, nlines);
	for (k = 0; k < nlines; k++) {
		o->lines[k].product = va_arg(ap, int64_t);
		o->lines[k].quantity = va_arg(ap, int64_t);
	}
	va_end(ap);
}

static int64_t
extra(const struct problem *p, const char *name)
{
	size_t i;

	for (i = 0; i < PROBLEM_EXTRA_MAX; i++)
		if (p->extra[i].name != NULL && strcmp(p->extra[i].name, name) == 0)
			return p->extra[i].i;
	return -1;
}

START_TEST(orders_are_granted_oldest_first_while_stock_lasts)
{
	stock(0, 5);
	order(0, "cod", 5, 1, (int64_t)10, (int64_t)3);
	order(1, "cod", 5, 1, (int64_t)10, (int64_t)3);
	order(2, "cod", 5, 1, (int64_t)10, (int64_t)2);
	order(3, "cod", 5, 1, (int64_t)10, (int64_t)1);
	batch_grant(slots, 4, pr, 4, users, 0, 20, FREIGHT, 1000);
	ck_assert_int_eq(slots[0]->out.outcome, QO_PLACED);
	ck_assert_int_eq(slots[1]->out.outcome, QO_REFUSED);
	ck_assert_int_eq(slots[1]->out.p.kind, PROB_OUT_OF_STOCK);
	ck_assert_int_eq(extra(&slots[1]->out.p, "product"), 10);
	ck_assert_int_eq(extra(&slots[1]->out.p, "available"), 2);
	/* a later order that fits what is left still gets it */
	ck_assert_int_eq(slots[2]->out.outcome, QO_PLACED);
	ck_assert_int_eq(slots[3]->out.outcome, QO_REFUSED);
	ck_assert_int_eq(extra(&slots[3]->out.p, "available"), 0);
	ck_assert_int_eq(pr[0].left, 0);
}
END_TEST

START_TEST(an_order_is_granted_whole_or_not_at_all)
{
	stock(0, 10);
	stock(1, 1);
	order(0, "cod", 5, 2, (int64_t)10, (int64_t)4, (int64_t)20, (int64_t)2);
	order(1, "cod", 5, 2, (int64_t)10, (int64_t)4, (int64_t)20, (int64_t)1);
	batch_grant(slots, 2, pr, 4, users, 0, 20, FREIGHT, 1000);
	/* the first is short of product 20: nothing of product 10 taken for it */
	ck_assert_int_eq(slots[0]->out.outcome, QO_REFUSED);
	ck_assert_int_eq(extra(&slots[0]->out.p, "product"), 20);
	ck_assert_int_eq(slots[1]->out.outcome, QO_PLACED);
	ck_assert_int_eq(pr[0].left, 6);
	ck_assert_int_eq(pr[1].left, 0);
}
END_TEST

START_TEST(the_first_failing_line_by_product_id_is_named)
{
	stock(0, 0);
	stock(2, 5);
	order(0, "cod", 5, 3, (int64_t)10, (int64_t)1, (int64_t)30, (int64_t)1,
	    (int64_t)40, (int64_t)1);
	order(1, "cod", 5, 2, (int64_t)30, (int64_t)1, (int64_t)40, (int64_t)1);
	order(2, "cod", 5, 1, (int64_t)50, (int64_t)1);
	batch_grant(slots, 3, pr, 4, users, 0, 20, FREIGHT, 1000);
	ck_assert_int_eq(slots[0]->out.p.kind, PROB_OUT_OF_STOCK);
	ck_assert_int_eq(extra(&slots[0]->out.p, "product"), 10);
	ck_assert_int_eq(slots[1]->out.p.kind, PROB_NOT_FOUND);
	ck_assert_int_eq(extra(&slots[1]->out.p, "product"), 40);
	/* a product no lock saw (not in pr at all) is not found either */
	ck_assert_int_eq(slots[2]->out.p.kind, PROB_NOT_FOUND);
	ck_assert_int_eq(pr[2].left, 5);
}
END_TEST

START_TEST(prices_and_totals_come_from_the_locked_rows)
{
	stock(0, 10);
	stock(1, 10);
	order(0, "cod", 5, 2, (int64_t)10, (int64_t)2, (int64_t)20, (int64_t)3);
	slots[0]->in.lines[0].price = 1;	/* whatever the waiter thought */
	batch_grant(slots, 1, pr, 4, users, 0, 20, FREIGHT, 1000);
	ck_assert_int_eq(slots[0]->out.outcome, QO_PLACED);
	ck_assert_int_eq(slots[0]->in.lines[0].price, 100);
	ck_assert_int_eq(slots[0]->in.lines[1].price, 200);
	ck_assert_int_eq(slots[0]->in.lines[1].goods, 7);
	ck_assert_int_eq(slots[0]->out.total_count, 5);
	ck_assert_int_eq(slots[0]->out.freight, FREIGHT);
	ck_assert_int_eq(slots[0]->out.total_amount, FREIGHT + 2 * 100 + 3 * 200);
}
END_TEST

START_TEST(the_open_orders_limit_counts_the_batch)
{
	stock(0, 100);
	users[0].id = 5;
	users[0].limited = 1;
	users[0].open = 1;
	users[1].id = 6;	/* an administrator: not limited */
	users[1].open = 9;
	order(0, "balance", 5, 1, (int64_t)10, (int64_t)1);
	order(1, "balance", 5, 1, (int64_t)10, (int64_t)1);
	order(2, "cod", 5, 1, (int64_t)10, (int64_t)1);
	order(3, "balance", 6, 1, (int64_t)10, (int64_t)1);
	batch_grant(slots, 4, pr, 4, users, 2, 2, FREIGHT, 1000);
	ck_assert_int_eq(slots[0]->out.outcome, QO_PLACED);
	ck_assert_int_eq(slots[1]->out.p.kind, PROB_TOO_MANY_OPEN);
	ck_assert_int_eq(extra(&slots[1]->out.p, "open"), 2);
	ck_assert_int_eq(slots[2]->out.outcome, QO_PLACED);	/* cash on delivery: not counted */
	ck_assert_int_eq(slots[3]->out.outcome, QO_PLACED);
	ck_assert_int_eq(pr[0].left, 97);
}
END_TEST

START_TEST(decided_orders_are_left_alone)
{
	stock(0, 1);
	order(0, "cod", 5, 1, (int64_t)10, (int64_t)1);
	slots[0]->out.outcome = QO_KEY_TAKEN;
	order(1, "cod", 5, 1, (int64_t)10, (int64_t)1);
	users[0].id = 7;
	users[0].p.kind = PROB_NOT_FOUND;
	order(2, "balance", 7, 1, (int64_t)10, (int64_t)1);
	batch_grant(slots, 3, pr, 4, users, 1, 20, FREIGHT, 1000);
	ck_assert_int_eq(slots[0]->out.outcome, QO_KEY_TAKEN);
	ck_assert_int_eq(slots[1]->out.outcome, QO_PLACED);
	/* a payer whose account could not be had: refused with its problem */
	ck_assert_int_eq(slots[2]->out.outcome, QO_REFUSED);
	ck_assert_int_eq(slots[2]->out.p.kind, PROB_NOT_FOUND);
	ck_assert_int_eq(pr[0].left, 0);
}
END_TEST

START_TEST(an_order_on_a_row_locked_elsewhere_waits_then_is_refused)
{
	stock(0, 5);
	stock(1, 5);
	pr[1].found = 0;
	pr[1].busy = 1;		/* product 20: held by another transaction */
	order(0, "cod", 5, 2, (int64_t)10, (int64_t)1, (int64_t)20, (int64_t)1);
	order(1, "cod", 5, 1, (int64_t)10, (int64_t)2);
	batch_grant(slots, 2, pr, 4, users, 0, 20, FREIGHT, 1000);
	/* left for a later batch, taking nothing; the others go on */
	ck_assert_int_eq(slots[0]->out.outcome, QO_BUSY);
	ck_assert_int_eq(slots[0]->in.busy_since, 1000);
	ck_assert_int_eq(slots[1]->out.outcome, QO_PLACED);
	ck_assert_int_eq(pr[0].left, 3);
	memset(&slots[0]->out, 0, sizeof(slots[0]->out));
	batch_grant(slots, 1, pr, 4, users, 0, 20, FREIGHT, 1000 + BATCH_BUSY_MS - 1);
	ck_assert_int_eq(slots[0]->out.outcome, QO_BUSY);
	memset(&slots[0]->out, 0, sizeof(slots[0]->out));
	batch_grant(slots, 1, pr, 4, users, 0, 20, FREIGHT, 1000 + BATCH_BUSY_MS);
	ck_assert_int_eq(slots[0]->out.outcome, QO_REFUSED);
	ck_assert_int_eq(slots[0]->out.p.kind, PROB_UNAVAILABLE);
	ck_assert_int_eq(extra(&slots[0]->out.p, "product"), 20);
	ck_assert_int_eq(pr[0].left, 3);
}
END_TEST

static Suite *
batch_suite(void)
{
	Suite *s = suite_create("batch");
	TCase *tc = tcase_create("grant");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, orders_are_granted_oldest_first_while_stock_lasts);
	tcase_add_test(tc, an_order_is_granted_whole_or_not_at_all);
	tcase_add_test(tc, the_first_failing_line_by_product_id_is_named);
	tcase_add_test(tc, prices_and_totals_come_from_the_locked_rows);
	tcase_add_test(tc, the_open_orders_limit_counts_the_batch);
	tcase_add_test(tc, decided_orders_are_left_alone);
	tcase_add_test(tc, an_order_on_a_row_locked_elsewhere_waits_then_is_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(batch_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
