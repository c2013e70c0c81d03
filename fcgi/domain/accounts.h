/* accounts.h - balances and the ledger: every movement of money is a
 * ledger entry written in the same transaction as the balance change, and
 * a balance never goes below zero (docs/design.md, invariants). */
#ifndef ORDERD_ACCOUNTS_H
#define ORDERD_ACCOUNTS_H

#include <stdint.h>

#include "base/arena.h"
#include "domain/auth.h"
#include "store/db.h"
#include "base/problem.h"

#define AMOUNT_MAX	1000000000000LL	/* cents in one movement */

struct account {
	int64_t id;
	char username[AUTH_USERNAME_MAX + 1];
	char role[16];
	int64_t balance;
};

/* Reads an account (no lock). DB_OK, DB_ABORT with 404, or a db_rc. */
enum db_rc acct_get(struct db *, int64_t id, struct account *out, struct problem *p);

/* Inside the caller's transaction: locks the account row (SELECT ... FOR
 * UPDATE; rule 4: after the order row, before any product row for a
 * balance checkout or a refund). DB_ABORT with 404 when there is none. */
enum db_rc acct_lock(struct db *, int64_t id, struct account *out, struct problem *p);

/* Inside the caller's transaction (after the order row, rule 4): locks
 * the account row, checks the balance covers
 * amount, debits it and writes a ledger entry of kind with order_id (0 =
 * none) and counterparty (0 = none). DB_ABORT with 409
 * /problems/insufficient-funds (balance, shortfall) when it does not. */
enum db_rc acct_debit(struct db *, int64_t user, int64_t amount, const char *kind,
	    int64_t order_id, int64_t counterparty, struct account *after, struct problem *p);

/* Inside the caller's transaction: credits amount with a ledger entry. */
enum db_rc acct_credit_locked(struct db *, int64_t user, int64_t amount, const char *kind,
	    int64_t order_id, int64_t counterparty, struct account *after, struct problem *p);

/* Transactions of their own. Each returns 0 (filling out), or -1 with p. */
int	acct_credit(struct db *, const char *username, int64_t amount,
	    const struct db_hooks *h, struct account *out, struct problem *p);
int	acct_transfer(struct db *, int64_t from, const char *to, int64_t amount,
	    const struct db_hooks *h, struct account *from_after, struct problem *p);

/* A ledger entry; no order or no counterparty when has_order or has_who
 * is 0. */
struct ledger_entry {
	int64_t id;
	char kind[16];
	int64_t amount;
	int64_t order_id;
	char who[AUTH_USERNAME_MAX + 1];
	int64_t at;
	int has_order;
	int has_who;
};

/* Reads up to limit entries of user's ledger with id < before, newest
 * first, into pg (rows: struct ledger_entry, from a). 0, or -1 with p. */
int	acct_ledger(struct db *, struct arena *a, int64_t user, int64_t before, long limit,
	    struct db_page *pg, struct problem *p);

#endif
