#include "config.h"

#include <stdio.h>
#include <string.h>

#include "domain/accounts.h"
#include "base/log.h"
#include "domain/dberr.h"
#include "base/valid.h"

static enum db_rc
read_account(struct db *db, enum stmt st, int64_t id, struct account *a, struct problem *p)
{
	struct db_val in[] = { DBV_I64(id) };
	struct db_col out[] = { DBC_I64(&a->id), DBC_STR(a->username, sizeof(a->username)),
	    DBC_STR(a->role, sizeof(a->role)), DBC_I64(&a->balance) };
	enum db_rc rc;
	int found;

	if ((rc = db_one(db, st, in, 1, out, 4, &found)) != DB_OK)
		return rc;
	if (!found) {
		problem_set(p, PROB_NOT_FOUND, "no account %lld", (long long)id);
		return DB_ABORT;
	}
	return DB_OK;
}

enum db_rc
acct_get(struct db *db, int64_t id, struct account *a, struct problem *p)
{
	return read_account(db, ST_USER_GET, id, a, p);
}

enum db_rc
acct_lock(struct db *db, int64_t id, struct account *a, struct problem *p)
{
	return read_account(db, ST_USER_LOCK, id, a, p);
}

static enum db_rc
ledger(struct db *db, int64_t user, const char *kind, int64_t amount, int64_t order_id,
    int64_t counterparty)
{
	struct db_val in[] = { DBV_I64(user), DBV_STR(kind, strlen(kind)), DBV_I64(amount),
	    order_id > 0 ? DBV_I64(order_id) : DBV_NULL,
	    counterparty > 0 ? DBV_I64(counterparty) : DBV_NULL };

	return db_exec(db, ST_LEDGER_INSERT, in, 5);
}

static enum db_rc
move(struct db *db, int64_t user, int64_t delta, const char *kind, int64_t order_id,
    int64_t counterparty, struct account *after)
{
	struct db_val in[] = { DBV_I64(delta), DBV_I64(user) };
	enum db_rc rc;

	if ((rc = db_exec(db, ST_USER_ADD_BALANCE, in, 2)) != DB_OK)
		return rc;
	if (db->affected != 1)
		return DB_ERR;
	if ((rc = ledger(db, user, kind, delta, order_id, counterparty)) != DB_OK)
		return rc;
	after->balance += delta;
	return DB_OK;
}

enum db_rc
acct_debit(struct db *db, int64_t user, int64_t amount, const char *kind, int64_t order_id,
    int64_t counterparty, struct account *after, struct problem *p)
{
	enum db_rc rc;

	if ((rc = acct_lock(db, user, after, p)) != DB_OK)
		return rc;
	if (after->balance < amount) {
		problem_set(p, PROB_FUNDS, "the balance of %lld is %lld short of %lld",
		    (long long)after->balance, (long long)(amount - after->balance),
		    (long long)amount);
		problem_add_int(p, "balance", after->balance);
		problem_add_int(p, "shortfall", amount - after->balance);
		return DB_ABORT;
	}
	return move(db, user, -amount, kind, order_id, counterparty, after);
}

enum db_rc
acct_credit_locked(struct db *db, int64_t user, int64_t amount, const char *kind,
    int64_t order_id, int64_t counterparty, struct account *after, struct problem *p)
{
	enum db_rc rc;

	if ((rc = acct_lock(db, user, after, p)) != DB_OK)
		return rc;
	return move(db, user, amount, kind, order_id, counterparty, after);
}

/* The id of the user named name, who is to receive money: DB_OK and *id;
 * DB_ABORT with a 404 naming them (and field, when not NULL) when there is
 * none; or a db_rc. A name outside the username alphabet names nobody and
 * never reaches the database as a lookup key (an accented letter or an emoji
 * there is an error, 1267 illegal mix of collations, against the ASCII
 * column). */
static enum db_rc
user_named(struct db *db, const char *name, const char *field, int64_t *id,
    struct problem *p)
{
	char uname[AUTH_USERNAME_MAX + 1], hash[256], role[16];
	int64_t balance;
	struct db_val in[] = { DBV_STR(name, strlen(name)) };
	struct db_col out[] = { DBC_I64(id), DBC_STR(uname, sizeof(uname)),
	    DBC_STR(hash, sizeof(hash)), DBC_STR(role, sizeof(role)), DBC_I64(&balance) };
	enum db_rc rc;
	int found = 0;

	if (auth_username_ok(name, strlen(name)) &&
	    (rc = db_one(db, ST_USER_BY_NAME, in, 1, out, 5, &found)) != DB_OK)
		return rc;
	if (!found) {
		problem_set(p, PROB_NOT_FOUND, "no user '%.*s'", UTF8_CUT(name, 40));
		if (field != NULL)
			problem_add_str(p, "field", field);
		return DB_ABORT;
	}
	return DB_OK;
}

/* Money for the user named to: a credit (from 0, out the receiver's
 * account after it) or a transfer from user from (out the sender's). */
struct money_ctx {
	int64_t from;
	const char *to;
	int64_t amount;
	struct account *out;
};

static enum db_rc
money_txn(struct db *db, void *arg, struct problem *p)
{
	struct money_ctx *c = arg;
	struct account to;
	enum db_rc rc;
	int64_t to_id;

	if ((rc = user_named(db, c->to, c->from != 0 ? "to" : NULL, &to_id, p)) != DB_OK)
		return rc;
	if (c->from == 0)
		return acct_credit_locked(db, to_id, c->amount, "credit", 0, 0, c->out, p);
	if (to_id == c->from) {
		problem_set(p, PROB_FIELD, "a transfer to yourself moves nothing");
		problem_add_str(p, "field", "to");
		return DB_ABORT;
	}
	/* Rule 4: both account rows, in ascending id (the debit locks the
	 * sender's). */
	if (to_id < c->from && (rc = read_account(db, ST_USER_LOCK, to_id, &to, p)) != DB_OK)
		return rc;
	if ((rc = acct_debit(db, c->from, c->amount, "transfer_out", 0, to_id, c->out, p)) !=
	    DB_OK)
		return rc;
	if (to_id > c->from && (rc = read_account(db, ST_USER_LOCK, to_id, &to, p)) != DB_OK)
		return rc;
	return move(db, to_id, c->amount, "transfer_in", 0, c->from, &to);
}

int
acct_credit(struct db *db, const char *username, int64_t amount, const struct db_hooks *h,
    struct account *out, struct problem *p)
{
	struct money_ctx c = { 0, username, amount, out };

	return db_txn_hooked(db, money_txn, &c, h, p);
}

int
acct_transfer(struct db *db, int64_t from, const char *to, int64_t amount,
    const struct db_hooks *h, struct account *from_after, struct problem *p)
{
	struct money_ctx c = { from, to, amount, from_after };

	return db_txn_hooked(db, money_txn, &c, h, p);
}

/* A fetched ST_LEDGER_LIST row: the entry and its nullable columns. */
struct ledger_row {
	struct ledger_entry e;
	const struct db_col *order, *who;
};

static enum db_rc
ledger_take(void *arg, void *slot)
{
	struct ledger_row *r = arg;

	r->e.has_order = !r->order->is_null;
	r->e.has_who = !r->who->is_null;
	*(struct ledger_entry *)slot = r->e;
	return DB_OK;
}

int
acct_ledger(struct db *db, struct arena *a, int64_t user, int64_t before, long limit,
    struct db_page *pg, struct problem *p)
{
	struct ledger_row r;
	struct db_val in[] = { DBV_I64(user), DBV_I64(before) };
	struct db_col cols[] = { DBC_I64(&r.e.id), DBC_STR(r.e.kind, sizeof(r.e.kind)),
	    DBC_I64(&r.e.amount), DBC_I64(&r.e.order_id), DBC_STR(r.e.who, sizeof(r.e.who)),
	    DBC_I64(&r.e.at) };
	enum db_rc rc;

	*pg = (struct db_page){ limit, sizeof(struct ledger_entry), ledger_take, &r, NULL, 0, 0 };
	r.order = &cols[3];
	r.who = &cols[4];
	rc = db_page(db, ST_LEDGER_LIST, in, 2, cols, 6, a, pg, p);
	return db_done(db, rc, p);
}
