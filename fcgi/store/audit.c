#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "store/audit.h"
#include "store/db.h"

/* One invariant: a statement returning a row per violation, and how to
 * print it. Columns: id, expected, found[, expected2, found2]. */
static const struct check {
	enum stmt st;
	unsigned ncols;
	const char *fmt;	/* printf with (id, expected, found[, e2, f2]) */
} checks[] = {
	{ ST_AUDIT_STOCK, 3,
	  "product %" PRId64 ": stock should be %" PRId64 " (initial + restocks - held by "
	  "orders not aborted or expired), found %" PRId64 "%s" },
	{ ST_AUDIT_PRODUCT_SALES, 3,
	  "product %" PRId64 ": sales should be %" PRId64 " (units in orders not aborted or "
	  "expired), "
	  "found %" PRId64 "%s" },
	{ ST_AUDIT_GOODS_SALES, 3,
	  "goods %" PRId64 ": sales should be %" PRId64 " (sum of its products' sales), "
	  "found %" PRId64 "%s" },
	{ ST_AUDIT_ORDER_TOTALS, 5, NULL },
	{ ST_AUDIT_STATUS, 3, NULL },
	{ ST_AUDIT_BALANCE, 3,
	  "account %" PRId64 ": balance should be %" PRId64 " (sum of its ledger), "
	  "found %" PRId64 "%s" },
	{ ST_AUDIT_CONSERVATION, 3, NULL },
	{ ST_AUDIT_PAYMENTS, 3, NULL },
};

static const char *const payment_problems[] = {
	[1] = "refunded, but it is not aborted or was never paid",
	[2] = "paid from a balance, but there is no payment in the ledger",
	[3] = "its payment differs from its total_amount",
	[4] = "aborted after payment, but never refunded",
	[5] = "its refund differs from its payment",
	[6] = "paid or refunded more than once",
	[7] = "is cash on delivery, but has a balance payment",
	[8] = "expired (its payment window ran out), but it was paid",
};

int
audit_run(const struct conf *c)
{
	struct db db;
	size_t i;
	long violations = 0;
	enum db_rc rc;

	db_init(&db, c);
	db.batch = 1;
	if (db_connect(&db) != DB_OK) {
		fprintf(stderr, "orderd audit: cannot connect: %s\n", db.last_error);
		return 2;
	}
	/* One consistent snapshot for every check. */
	if ((rc = db_exec(&db, ST_SNAPSHOT_ISOLATION, NULL, 0)) != DB_OK ||
	    (rc = db_exec(&db, ST_SNAPSHOT_BEGIN, NULL, 0)) != DB_OK)
		goto fail;
	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		int64_t v[5];
		struct db_col cols[5];
		unsigned k;
		int r;

		for (k = 0; k < 5; k++)
			cols[k] = DBC_I64(&v[k]);
		if ((rc = db_query(&db, checks[i].st, NULL, 0, cols, checks[i].ncols)) != DB_OK)
			goto fail;
		while ((r = db_fetch(&db, checks[i].st)) == 1) {
			violations++;
			if (checks[i].st == ST_AUDIT_ORDER_TOTALS) {
				if (v[1] != v[2])
					printf("order %" PRId64 ": total_count should be %" PRId64
					    " (sum of line quantities), found %" PRId64 "\n",
					    v[0], v[1], v[2]);
				if (v[3] != v[4])
					printf("order %" PRId64 ": total_amount should be %" PRId64
					    " (lines + freight), found %" PRId64 "\n", v[0], v[3], v[4]);
				if (v[1] == 0)
					printf("order %" PRId64 ": has no lines\n", v[0]);
			} else if (checks[i].st == ST_AUDIT_STATUS) {
				printf("order %" PRId64 ": status and aborted_at disagree, or it expired and is "
				    "not a balance order\n", v[0]);
			} else if (checks[i].st == ST_AUDIT_CONSERVATION) {
				printf("money: credits are %" PRId64 ", but balances + revenue "
				    "(payments - refunds) are %" PRId64 "\n", v[1], v[2]);
			} else if (checks[i].st == ST_AUDIT_PAYMENTS) {
				printf("order %" PRId64 ": %s\n", v[0], v[1] >= 1 && v[1] <= 8 ?
				    payment_problems[v[1]] : "payment records disagree");
			} else
				printf(checks[i].fmt, v[0], v[1], v[2],
				    v[2] < 0 ? " (negative)\n" : "\n");
		}
		db_end(&db, checks[i].st);
		if (r < 0) {
			rc = db_failure(&db);
			goto fail;
		}
	}
	db_exec(&db, ST_ROLLBACK, NULL, 0);
	db_close(&db);
	if (violations > 0) {
		printf("audit: %ld violation%s\n", violations, violations == 1 ? "" : "s");
		return 1;
	}
	printf("audit: clean\n");
	return 0;
fail:
	fprintf(stderr, "orderd audit: %u %s\n", db.last_errno, db.last_error);
	db_close(&db);
	return 2;
}
