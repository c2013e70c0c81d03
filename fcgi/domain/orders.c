#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "domain/accounts.h"
#include "base/log.h"
#include "domain/dberr.h"
#include "domain/orders.h"
#include "shm/stats.h"

/* The payment window (--hold) of the pool: a placed balance order created
 * at t may be paid before t + order_hold; from then on it is due to expire. */
static int64_t order_hold = 900;

/* The one table between the states and their wire names. */
static const char *const status_names[] = {
	[ORDER_PLACED] = "placed",
	[ORDER_PAID] = "paid",
	[ORDER_SHIPPED] = "shipped",
	[ORDER_ABORTED] = "aborted",
	[ORDER_EXPIRED] = "expired",
};

const char *
order_status_name(enum order_status s)
{
	if ((size_t)s >= sizeof(status_names) / sizeof(status_names[0]))
		return "unknown";
	return status_names[s];
}

int
order_status_parse(const char *name, enum order_status *s)
{
	size_t i;

	for (i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (strcmp(name, status_names[i]) == 0) {
			*s = (enum order_status)i;
			return 0;
		}
	return -1;
}

void
order_hold_set(int64_t seconds)
{
	order_hold = seconds;
}

int64_t
order_pay_by(const struct order *o)
{
	if (o->status != ORDER_PLACED || strcmp(o->pay_method, "balance") != 0)
		return 0;
	return o->created_at + order_hold;
}

/* An order row as ST_ORDER_GET/LOCK/LIST/LIST_USER return it (db.c's
 * ORDER_COL_LIST): order_row_bind() binds its columns, the one binding of
 * them; order_row_take() makes the fetched row an order. */
struct order_row {
	struct order o;
	char status[16];
	struct db_col c[ORDER_NCOLS];
};

static void
order_row_bind(struct order_row *r)
{
	const struct db_col c[] = {
		DBC_I64(&r->o.id),
		DBC_I64(&r->o.user),
		DBC_STR(r->status, sizeof(r->status)),
		DBC_STR(r->o.pay_method, sizeof(r->o.pay_method)),
		DBC_I64(&r->o.total_count),
		DBC_I64(&r->o.freight),
		DBC_I64(&r->o.total_amount),
		DBC_I64(&r->o.created_at),
	};

	_Static_assert(sizeof(c) / sizeof(c[0]) == ORDER_NCOLS,
	    "order_row_bind() binds every column of ORDER_COL_LIST (db.c)");
	memset(r, 0, sizeof(*r));
	memcpy(r->c, c, sizeof(c));
}

/* The fetched row r into o (its lines untouched). DB_ERR for a status that
 * is no state. */
static enum db_rc
order_row_take(struct order_row *r, struct order *o)
{
	struct line *lines = o->lines;
	size_t nlines = o->nlines;

	if (r->c[1].is_null)
		r->o.user = 0;
	if (order_status_parse(r->status, &r->o.status) != 0) {
		log_error("order %lld: unknown status '%s'", (long long)r->o.id, r->status);
		return DB_ERR;
	}
	*o = r->o;
	o->lines = lines;
	o->nlines = nlines;
	return DB_OK;
}

/* p: 404, no order id (also for an order of someone else: its existence is
 * not leaked). DB_ABORT. */
static enum db_rc
no_order(struct problem *p, int64_t id)
{
	problem_set(p, PROB_NOT_FOUND, "no order %lld", (long long)id);
	return DB_ABORT;
}

/* The members of a /problems/order-state: the order and its state. */
static void
state_members(struct problem *p, int64_t id, enum order_status s)
{
	problem_add_int(p, "order", id);
	problem_add_str(p, "state", order_status_name(s));
}

/* Reads one order row with st (ST_ORDER_GET or ST_ORDER_LOCK). DB_ABORT
 * with a 404 when there is none. */
static enum db_rc
read_order(struct db *db, enum stmt st, int64_t id, struct order *o, struct problem *p)
{
	struct db_val in[] = { DBV_I64(id) };
	struct order_row row;
	enum db_rc rc;
	int found;

	order_row_bind(&row);
	if ((rc = db_one(db, st, in, 1, row.c, ORDER_NCOLS, &found)) != DB_OK)
		return rc;
	if (!found)
		return no_order(p, id);
	return order_row_take(&row, o);
}

/* Reads the lines of the orders os[0..n) - newest first, as a list holds
 * them - and hands each line to its order in one walk: the lines come
 * ordered by order id descending (products ascending within an order).
 * owner: the user whose orders these all are (only that user's lines are
 * read), or 0 when os is a run of consecutive orders of everyone (an
 * administrator's list: the ids lo..hi are exactly the listed orders). A
 * line of an order not in os (one committed after the list was read) is
 * skipped. */
static enum db_rc
read_lines(struct db *db, struct arena *a, struct order *os, size_t n, int64_t owner,
    struct problem *p)
{
	struct line l;
	int64_t oid, lo, hi;
	struct db_col c[] = { DBC_I64(&oid), DBC_I64(&l.product), DBC_I64(&l.quantity),
	    DBC_I64(&l.price), DBC_I64(&l.goods) };
	struct db_val in[3];
	size_t i, k, nin;
	enum stmt st;
	enum db_rc rc;
	int r;

	if (n == 0)
		return DB_OK;
	for (i = 0; i < n; i++) {
		os[i].nlines = 0;
		/* total_count bounds the number of lines: each has quantity >= 1 */
		k = os[i].total_count > ORDER_LINES_MAX ? ORDER_LINES_MAX : (size_t)os[i].total_count;
		if ((os[i].lines = arena_alloc(a, (k + 1) * sizeof(struct line))) == NULL) {
			problem_set(p, PROB_INTERNAL, "out of memory");
			return DB_ABORT;
		}
	}
	/* newest first: os[0] has the highest id */
	hi = os[0].id;
	lo = os[n - 1].id;
	if (n == 1) {
		st = ST_ORDER_LINES;
		in[0] = DBV_I64(hi);
		nin = 1;
	} else if (owner != 0) {
		st = ST_ORDER_LINES_USER;
		in[0] = DBV_I64(owner);
		in[1] = DBV_I64(lo);
		in[2] = DBV_I64(hi);
		nin = 3;
	} else {
		st = ST_ORDER_LINES_RANGE;
		in[0] = DBV_I64(lo);
		in[1] = DBV_I64(hi);
		nin = 2;
	}
	if ((rc = db_query(db, st, in, nin, c, 5)) != DB_OK)
		return rc;
	k = 0;
	while ((r = db_fetch(db, st)) == 1) {
		if (c[4].is_null)
			l.goods = 0;
		while (k < n && os[k].id > oid)
			k++;
		if (k < n && os[k].id == oid && os[k].nlines <= ORDER_LINES_MAX &&
		    (int64_t)os[k].nlines < os[k].total_count)
			os[k].lines[os[k].nlines++] = l;
	}
	db_end(db, st);
	if (r < 0)
		return db_failure(db);
	return DB_OK;
}

/* --- create -------------------------------------------------------------- */

struct create_ctx {
	const struct conf *conf;
	int64_t user;
	struct line *lines;
	size_t n;
	const char *pay_method;
	struct order *o;
};

/* --max-open: before the order row goes in, lock the user's account row
 * and count their placed balance orders. Every balance checkout of the user
 * holds that lock until it commits, and READ COMMITTED counts what they
 * committed: two checkouts at max - 1 open cannot both pass. (Pay, cancel
 * and expiry only lower the count.) An administrator's own orders are not
 * limited.
 *
 * The lock comes first because the order row's INSERT takes a shared lock
 * on the same users row (its foreign key): taken after it, two checkouts of
 * one user each held that shared lock and waited for the other's to go -
 * a deadlock every time they overlapped (with 64 workers, retries ran out
 * under the bank storm: 8,660 deadlocks in 20 s). */
static enum db_rc
open_orders_check(struct db *db, const struct conf *conf, int64_t user, struct problem *p)
{
	int64_t open = 0;
	struct db_val in[] = { DBV_I64(user) };
	struct db_col cnt[] = { DBC_I64(&open) };
	struct account acct;
	enum db_rc rc;
	int found;

	if ((rc = acct_lock(db, user, &acct, p)) != DB_OK)
		return rc;
	/* An administrator can credit itself and pay: not limited. */
	if (strcmp(acct.role, "admin") == 0)
		return DB_OK;
	if ((rc = db_one(db, ST_ORDER_OPEN_COUNT, in, 1, cnt, 1, &found)) != DB_OK)
		return rc;
	if (open >= conf->max_open) {
		problem_set(p, PROB_TOO_MANY_OPEN, "you already have %lld unpaid orders to pay from "
		    "your balance, the most one may hold; pay or cancel one first",
		    (long long)open);
		problem_add_int(p, "limit", conf->max_open);
		problem_add_int(p, "open", open);
		return DB_ABORT;
	}
	return DB_OK;
}

/* The order row goes in first, priced from inv_price(): it is a new row
 * nobody else can want, so the product rows, locked next by inv_take(),
 * stay locked only for taking the stock, inserting the lines and COMMIT
 * (design.md rule 7). */
static enum db_rc
create_txn(struct db *db, void *arg, struct problem *p)
{
	struct create_ctx *c = arg;
	struct order *o = c->o;
	enum db_rc rc;
	size_t i;

	if ((rc = inv_price(db, c->lines, c->n)) != DB_OK)
		return rc;
	if (strcmp(c->pay_method, "balance") == 0 && c->user > 0 &&
	    (rc = open_orders_check(db, c->conf, c->user, p)) != DB_OK)
		return rc;
	o->total_count = 0;
	o->total_amount = o->freight = c->conf->freight;
	for (i = 0; i < c->n; i++) {
		o->total_count += c->lines[i].quantity;
		o->total_amount += c->lines[i].quantity * c->lines[i].price;
	}
	{
		struct db_val in[] = { c->user > 0 ? DBV_I64(c->user) : DBV_NULL,
		    DBV_STR(c->pay_method, strlen(c->pay_method)),
		    DBV_I64(o->total_count), DBV_I64(o->freight), DBV_I64(o->total_amount),
		    DBV_I64(o->created_at) };

		if ((rc = db_exec(db, ST_ORDER_INSERT, in, 6)) != DB_OK)
			return rc;
		o->id = (int64_t)db->last_insert_id;
	}
	return inv_take(db, c->conf->lock, o->id, c->lines, c->n, p);
}

long
order_lines_merge(struct line *lines, size_t n, struct problem *p)
{
	long merged;

	if ((merged = inv_merge_lines(lines, n, ORDER_QUANTITY_MAX)) < 0) {
		problem_set(p, PROB_FIELD, "the quantity of one product, added up over the "
		    "items naming it, must be 1 to %d", ORDER_QUANTITY_MAX);
		problem_add_str(p, "field", "quantity");
		return -1;
	}
	if (merged == 0 || merged > ORDER_LINES_MAX) {
		problem_set(p, PROB_FIELD, "an order has 1 to %d distinct products",
		    ORDER_LINES_MAX);
		problem_add_str(p, "field", "items");
		return -1;
	}
	return merged;
}

int
order_create(struct db *db, const struct conf *conf, struct arena *a, struct line *lines,
    size_t n, const char *pay_method, int64_t user, const struct db_hooks *h,
    struct order *o, struct problem *p)
{
	struct create_ctx c;
	long merged;

	if ((merged = order_lines_merge(lines, n, p)) < 0)
		return -1;
	memset(o, 0, sizeof(*o));
	o->created_at = (int64_t)time(NULL);
	o->status = ORDER_PLACED;
	snprintf(o->pay_method, sizeof(o->pay_method), "%s", pay_method);
	(void)a;
	c.conf = conf;
	c.user = user;
	o->user = user;
	c.lines = lines;
	c.n = (size_t)merged;
	c.pay_method = pay_method;
	c.o = o;
	/* The answer may be rendered inside the transaction (idempotency):
	 * the lines are the order's from the start. */
	o->lines = lines;
	o->nlines = c.n;
	if (db_txn_hooked(db, create_txn, &c, h, p) != 0)
		return -1;
	stats_order();
	for (merged = 0; (size_t)merged < c.n; merged++)
		stats_sold(lines[merged].product, lines[merged].quantity);
	return 0;
}

/* --- state changes -------------------------------------------------------- */

struct state_ctx {
	struct arena *a;
	int64_t id;
	int64_t owner;
	int64_t product;	/* abort: a product the client named, or 0 */
	struct order *o;
	int due;		/* pay: the order's payment window had ended */
};

/* Locks the order row (rule 3: first) and checks who may touch it. */
static enum db_rc
lock_order(struct db *db, struct state_ctx *c, struct problem *p)
{
	enum db_rc rc;

	if ((rc = read_order(db, ST_ORDER_LOCK, c->id, c->o, p)) != DB_OK)
		return rc;
	if (c->owner != 0 && c->o->user != c->owner)
		return no_order(p, c->id);
	return DB_OK;
}

static enum db_rc
wrong_state(struct problem *p, const struct order *o, enum order_status to)
{
	problem_set(p, PROB_ORDER_STATE, "order %lld is %s%s and cannot be %s",
	    (long long)o->id, order_status_name(o->status),
	    strcmp(o->pay_method, "cod") == 0 && o->status == ORDER_PLACED &&
	    to == ORDER_PAID ? " (cash on delivery)" : "", order_status_name(to));
	state_members(p, o->id, o->status);
	return DB_ABORT;
}

/* The one UPDATE of a transition must change exactly the row we hold. */
static enum db_rc
transition(struct db *db, enum stmt st, struct order *o, enum order_status to)
{
	struct db_val in[] = { DBV_I64(o->id) };
	enum db_rc rc;

	if ((rc = db_exec(db, st, in, 1)) != DB_OK)
		return rc;
	if (db->affected != 1) {
		/* Cannot happen while we hold the row lock; never commit if it does. */
		log_error("order %lld: moving to %s changed %llu rows", (long long)o->id,
		    order_status_name(to),
		    (unsigned long long)db->affected);
		return DB_ERR;
	}
	o->status = to;
	return DB_OK;
}

static enum db_rc
abort_txn(struct db *db, void *arg, struct problem *p)
{
	struct state_ctx *c = arg;
	struct order *o = c->o;
	struct account acct;
	enum db_rc rc;
	int paid;
	size_t i;

	if ((rc = lock_order(db, c, p)) != DB_OK)
		return rc;
	if ((rc = read_lines(db, c->a, o, 1, 0, p)) != DB_OK)
		return rc;
	/* The original client names the product it ordered: checked against
	 * the lines of the order we hold, before anything changes. */
	if (c->product != 0) {
		for (i = 0; i < o->nlines && o->lines[i].product != c->product; i++)
			;
		if (i == o->nlines) {
			problem_set(p, PROB_FIELD, "product %lld is not in order %lld",
			    (long long)c->product, (long long)o->id);
			problem_add_str(p, "field", "product");
			return DB_ABORT;
		}
	}
	if (o->status != ORDER_PLACED && o->status != ORDER_PAID)
		return wrong_state(p, o, ORDER_ABORTED);
	paid = o->status == ORDER_PAID;
	/* Rule 4: the account to refund before the products, as a balance
	 * checkout takes it (the other way round the two deadlocked). */
	if (paid && (rc = acct_lock(db, o->user, &acct, p)) != DB_OK)
		return rc;
	if ((rc = inv_give(db, o->lines, o->nlines)) != DB_OK)
		return rc;
	if (paid && (rc = acct_credit_locked(db, o->user, o->total_amount, "refund", o->id, 0,
	    &acct, p)) != DB_OK)
		return rc;
	return transition(db, ST_ORDER_ABORT, o, ORDER_ABORTED);
}

static enum db_rc
pay_txn(struct db *db, void *arg, struct problem *p)
{
	struct state_ctx *c = arg;
	struct order *o = c->o;
	struct account acct;
	enum db_rc rc;

	if ((rc = lock_order(db, c, p)) != DB_OK)
		return rc;
	if (o->status != ORDER_PLACED || strcmp(o->pay_method, "balance") != 0)
		return wrong_state(p, o, ORDER_PAID);
	if ((int64_t)time(NULL) >= order_pay_by(o)) {
		/* Too late: nothing here; order_pay() expires it. */
		c->due = 1;
		return wrong_state(p, o, ORDER_PAID);
	}
	if ((rc = acct_debit(db, o->user, o->total_amount, "payment", o->id, 0, &acct, p)) != DB_OK)
		return rc;
	if ((rc = transition(db, ST_ORDER_PAY, o, ORDER_PAID)) != DB_OK)
		return rc;
	return read_lines(db, c->a, o, 1, 0, p);
}

/* The expiry of a placed balance order whose payment window has ended: the
 * path of a cancel (order row locked first, its state checked there, the
 * stock given back through inv_give(), one guarded UPDATE that must change
 * the row), so an expiry racing a pay or a cancel gives one outcome. */
static enum db_rc
expire_txn(struct db *db, void *arg, struct problem *p)
{
	struct state_ctx *c = arg;
	struct order *o = c->o;
	enum db_rc rc;

	if ((rc = lock_order(db, c, p)) != DB_OK)
		return rc;
	if (o->status != ORDER_PLACED || strcmp(o->pay_method, "balance") != 0)
		return wrong_state(p, o, ORDER_EXPIRED);
	if ((int64_t)time(NULL) < order_pay_by(o)) {
		problem_set(p, PROB_ORDER_STATE, "order %lld may still be paid",
		    (long long)o->id);
		state_members(p, o->id, o->status);
		return DB_ABORT;
	}
	if ((rc = read_lines(db, c->a, o, 1, 0, p)) != DB_OK)
		return rc;
	if ((rc = inv_give(db, o->lines, o->nlines)) != DB_OK)
		return rc;
	return transition(db, ST_ORDER_EXPIRE, o, ORDER_EXPIRED);
}

static enum db_rc
ship_txn(struct db *db, void *arg, struct problem *p)
{
	struct state_ctx *c = arg;
	struct order *o = c->o;
	enum db_rc rc;

	if ((rc = lock_order(db, c, p)) != DB_OK)
		return rc;
	if (!(o->status == ORDER_PAID ||
	    (o->status == ORDER_PLACED && strcmp(o->pay_method, "cod") == 0)))
		return wrong_state(p, o, ORDER_SHIPPED);
	if ((rc = transition(db, ST_ORDER_SHIP, o, ORDER_SHIPPED)) != DB_OK)
		return rc;
	return read_lines(db, c->a, o, 1, 0, p);
}

static int
state_change(struct db *db, struct arena *a, int64_t id, int64_t owner, int64_t product,
    db_txn_fn fn, const struct db_hooks *h, struct order *o, struct problem *p)
{
	struct state_ctx c = { .a = a, .id = id, .owner = owner, .product = product, .o = o };

	memset(o, 0, sizeof(*o));
	return db_txn_hooked(db, fn, &c, h, p);
}

int
order_abort(struct db *db, struct arena *a, int64_t id, int64_t owner, int64_t product,
    const struct db_hooks *h, struct order *o, struct problem *p)
{
	return state_change(db, a, id, owner, product, abort_txn, h, o, p);
}

int
order_expire(struct db *db, struct arena *a, int64_t id, struct order *o, struct problem *p)
{
	struct state_ctx c = { .a = a, .id = id, .o = o };

	memset(o, 0, sizeof(*o));
	return db_txn(db, expire_txn, &c, p);
}

int
order_pay(struct db *db, struct arena *a, int64_t id, int64_t owner,
    const struct db_hooks *h, struct order *o, struct problem *p)
{
	struct state_ctx c = { .a = a, .id = id, .owner = owner, .o = o };
	struct problem ep;
	struct order e;
	int r;

	memset(o, 0, sizeof(*o));
	/* Pay is the owner's alone: no "any order" scope for it. */
	if (owner <= 0) {
		no_order(p, id);
		return -1;
	}
	if ((r = db_txn_hooked(db, pay_txn, &c, h, p)) == 0 || !c.due)
		return r;
	/* Its time to pay is up: expire it now (the reaper's path) and say
	 * what it became, expired or whatever a racing call made it. */
	if (order_expire(db, a, id, &e, &ep) != 0 && ep.kind != PROB_ORDER_STATE) {
		*p = ep;
		return -1;
	}
	/* e's row was read: order_expire() answered 0 (expired) or the
	 * order-state problem of the state it found. */
	o->status = e.status;
	problem_set(p, PROB_ORDER_STATE, "order %lld was not paid in time (%lld s from "
	    "placing it) and has expired: its items are back in stock; place it again",
	    (long long)id, (long long)order_hold);
	if (o->status != ORDER_EXPIRED)
		problem_set(p, PROB_ORDER_STATE, "order %lld is %s and cannot be paid",
		    (long long)id, order_status_name(o->status));
	state_members(p, id, o->status);
	return -1;
}

int
order_ship(struct db *db, struct arena *a, int64_t id, const struct db_hooks *h,
    struct order *o, struct problem *p)
{
	return state_change(db, a, id, 0, 0, ship_txn, h, o, p);
}

/* --- read ---------------------------------------------------------------- */

int
order_get(struct db *db, struct arena *a, int64_t id, int64_t owner, struct order *o,
    struct problem *p)
{
	enum db_rc rc;

	memset(o, 0, sizeof(*o));
	if ((rc = read_order(db, ST_ORDER_GET, id, o, p)) == DB_OK && owner != 0 &&
	    o->user != owner)
		rc = no_order(p, id);
	if (rc == DB_OK)
		rc = read_lines(db, a, o, 1, 0, p);
	return db_done(db, rc, p);
}

static enum db_rc
order_list_take(void *arg, void *slot)
{
	return order_row_take(arg, slot);
}

int
order_list(struct db *db, struct arena *a, int64_t owner, int64_t before, long limit,
    struct db_page *pg, struct problem *p)
{
	struct order_row row;
	struct db_val in[] = { DBV_I64(owner), DBV_I64(before) };
	enum db_rc rc;

	*pg = (struct db_page){ limit, sizeof(struct order), order_list_take, &row, NULL, 0, 0 };
	order_row_bind(&row);
	if ((rc = owner != 0 ?
	    db_page(db, ST_ORDER_LIST_USER, in, 2, row.c, ORDER_NCOLS, a, pg, p) :
	    db_page(db, ST_ORDER_LIST, in + 1, 1, row.c, ORDER_NCOLS, a, pg, p)) == DB_OK)
		rc = read_lines(db, a, pg->rows, (size_t)pg->n, owner, p);
	return db_done(db, rc, p);
}
