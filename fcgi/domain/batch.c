/* batch.c - --lock queue: a batch of orders in one transaction (batch.h). */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "domain/accounts.h"
#include "domain/batch.h"
#include "shm/stats.h"
#include "domain/dberr.h"
#include "domain/idem.h"
#include "shm/prodcache.h"
#include "shm/shared.h"
#include "shm/soldout.h"

_Static_assert(QUEUE_LINES_MAX == ORDER_LINES_MAX, "a queued order holds every line an order may");
_Static_assert(QUEUE_KEY_MAX >= IDEM_KEY_MAX, "a queued order holds every Idempotency-Key");

static struct batch_product *
product_of(struct batch_product *pr, size_t np, int64_t id)
{
	size_t lo = 0, hi = np;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pr[mid].id == id)
			return &pr[mid];
		if (pr[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static struct batch_user *
user_of(struct batch_user *u, size_t nu, int64_t id)
{
	size_t i;

	for (i = 0; i < nu; i++)
		if (u[i].id == id)
			return &u[i];
	return NULL;
}

static int
is_balance(const struct qorder *o)
{
	return strcmp(o->pay_method, "balance") == 0 && o->user > 0;
}

/* The first line of o whose product is locked by another transaction. */
static const struct qline *
busy_line(const struct qorder *o, struct batch_product *pr, size_t np)
{
	size_t i;

	for (i = 0; i < o->nlines; i++) {
		const struct batch_product *p = product_of(pr, np, o->lines[i].product);

		if (p != NULL && p->busy)
			return &o->lines[i];
	}
	return NULL;
}

/* The first line of o, by product id, that the stock left does not cover:
 * out set to 404 or 409. NULL when every line is covered. */
static const struct qline *
short_line(const struct qorder *o, struct batch_product *pr, size_t np, struct qresult *out)
{
	size_t i;

	for (i = 0; i < o->nlines; i++) {
		const struct qline *l = &o->lines[i];
		struct batch_product *p = product_of(pr, np, l->product);

		if (p == NULL || !p->found) {
			problem_set(&out->p, PROB_NOT_FOUND, "no product %" PRId64, l->product);
			problem_add_int(&out->p, "product", l->product);
			return l;
		}
		if (p->left < l->quantity) {
			inv_out_of_stock(&out->p, l->product, p->left, l->quantity);
			return l;
		}
	}
	return NULL;
}

void
batch_grant(struct qslot **s, size_t n, struct batch_product *pr, size_t np,
    struct batch_user *u, size_t nu, long max_open, int64_t freight, int64_t now_ms)
{
	const struct qline *busy;
	size_t i, k;

	for (i = 0; i < n; i++) {
		struct qorder *o = &s[i]->in;
		struct qresult *out = &s[i]->out;
		struct batch_user *bu = is_balance(o) ? user_of(u, nu, o->user) : NULL;

		if (out->outcome != QO_NONE)
			continue;
		out->outcome = QO_REFUSED;
		if (bu != NULL && bu->p.kind != PROB_NONE) {
			out->p = bu->p;
			continue;
		}
		if ((busy = busy_line(o, pr, np)) != NULL) {
			if (o->busy_since == 0)
				o->busy_since = now_ms;
			if (now_ms - o->busy_since < BATCH_BUSY_MS) {
				out->outcome = QO_BUSY;
				continue;
			}
			problem_set(&out->p, PROB_UNAVAILABLE, "product %" PRId64 " is held locked "
			    "by another transaction; nothing was done; try again", busy->product);
			problem_add_int(&out->p, "product", busy->product);
			continue;
		}
		if (bu != NULL && bu->limited && bu->open >= max_open) {
			problem_set(&out->p, PROB_TOO_MANY_OPEN, "you already have %" PRId64
			    " unpaid orders to pay from your balance, the most one may hold; pay or "
			    "cancel one first", bu->open);
			problem_add_int(&out->p, "limit", max_open);
			problem_add_int(&out->p, "open", bu->open);
			continue;
		}
		if (short_line(o, pr, np, out) != NULL)
			continue;
		/* Every line is covered: the order is granted whole. */
		out->outcome = QO_PLACED;
		out->total_count = 0;
		out->freight = freight;
		out->total_amount = freight;
		for (k = 0; k < o->nlines; k++) {
			struct qline *l = &o->lines[k];
			struct batch_product *p = product_of(pr, np, l->product);

			p->left -= l->quantity;
			l->price = p->price;
			l->goods = p->goods;
			out->total_count += l->quantity;
			out->total_amount += l->quantity * l->price;
		}
		if (bu != NULL)
			bu->open++;
	}
}

/* --- the transaction ------------------------------------------------------ */

struct batch {
	const struct conf *conf;
	struct arena *a;
	struct qslot **s;
	size_t n;
	batch_answer_fn answer;
	struct batch_product *pr;	/* distinct products, ascending */
	size_t np;
	struct batch_user *u;		/* distinct balance payers, ascending */
	size_t nu;
	struct idem *keys;		/* per order; user 0 and key NULL = none */
	char *json;			/* a statement's JSON argument */
	size_t json_cap;
};

static int
id_cmp(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;

	return (*x > *y) - (*x < *y);
}

static enum db_rc
oom(struct problem *p)
{
	problem_set(p, PROB_INTERNAL, "out of memory");
	return DB_ABORT;
}

/* The distinct products and balance payers of the batch, ascending. */
static int
collect(struct batch *b)
{
	size_t i, k, nids = 0, nusers = 0;
	int64_t *ids, *users;

	for (i = 0; i < b->n; i++)
		nids += b->s[i]->in.nlines;
	ids = arena_alloc(b->a, (nids + 1) * sizeof(*ids));
	users = arena_alloc(b->a, (b->n + 1) * sizeof(*users));
	b->keys = arena_alloc(b->a, b->n * sizeof(*b->keys));
	if (ids == NULL || users == NULL || b->keys == NULL)
		return -1;
	nids = 0;
	for (i = 0; i < b->n; i++) {
		const struct qorder *o = &b->s[i]->in;

		for (k = 0; k < o->nlines; k++)
			ids[nids++] = o->lines[k].product;
		if (is_balance(o))
			users[nusers++] = o->user;
		memset(&b->keys[i], 0, sizeof(b->keys[i]));
		if (o->keylen > 0) {
			b->keys[i].user = o->key_user;
			b->keys[i].key = o->key;
			b->keys[i].keylen = o->keylen;
			memcpy(b->keys[i].hash, o->hash, sizeof(o->hash));
		}
	}
	qsort(ids, nids, sizeof(*ids), id_cmp);
	qsort(users, nusers, sizeof(*users), id_cmp);
	if ((b->pr = arena_alloc(b->a, (nids + 1) * sizeof(*b->pr))) == NULL ||
	    (b->u = arena_alloc(b->a, (nusers + 1) * sizeof(*b->u))) == NULL)
		return -1;
	b->np = b->nu = 0;
	for (i = 0; i < nids; i++)
		if (b->np == 0 || b->pr[b->np - 1].id != ids[i]) {
			memset(&b->pr[b->np], 0, sizeof(b->pr[0]));
			b->pr[b->np++].id = ids[i];
		}
	for (i = 0; i < nusers; i++)
		if (b->nu == 0 || b->u[b->nu - 1].id != users[i]) {
			memset(&b->u[b->nu], 0, sizeof(b->u[0]));
			b->u[b->nu++].id = users[i];
		}
	/* the largest argument: lines of [order, product, quantity, price] */
	b->json_cap = (nids + b->n + 1) * 96 + 16;
	return (b->json = arena_alloc(b->a, b->json_cap)) == NULL ? -1 : 0;
}

/* Appends to the JSON argument; -1 when it does not fit (cannot happen:
 * json_cap holds the largest). */
static int
json_add(struct batch *b, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
json_add(struct batch *b, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(b->json + *len, b->json_cap - *len, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= b->json_cap - *len)
		return -1;
	*len += (size_t)k;
	return 0;
}

/* Claims every order's Idempotency-Key (new rows: before any lock). A key
 * another request holds makes its order QO_KEY_TAKEN. */
static enum db_rc
claim_keys(struct db *db, struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		struct qresult *out = &b->s[i]->out;
		struct problem kp;
		enum db_rc rc;

		if (b->keys[i].key == NULL)
			continue;
		b->keys[i].taken = 0;
		memset(&kp, 0, sizeof(kp));
		rc = idem_claim(db, &b->keys[i], &kp);
		if (rc == DB_ABORT && b->keys[i].taken)
			out->outcome = QO_KEY_TAKEN;
		else if (rc != DB_OK)
			return rc;
	}
	return DB_OK;
}

/* Rule 4: the payers' account rows before any product row, ascending;
 * each one's placed balance orders counted under its lock. */
static enum db_rc
lock_payers(struct db *db, struct batch *b)
{
	size_t i;

	for (i = 0; i < b->nu; i++) {
		struct batch_user *u = &b->u[i];
		struct db_val in[] = { DBV_I64(u->id) };
		struct db_col cnt[] = { DBC_I64(&u->open) };
		struct account acct;
		enum db_rc rc;
		int found;

		memset(&u->p, 0, sizeof(u->p));
		u->open = 0;
		if ((rc = acct_lock(db, u->id, &acct, &u->p)) == DB_ABORT)
			continue;
		if (rc != DB_OK)
			return rc;
		u->limited = strcmp(acct.role, "admin") != 0;
		if (u->limited &&
		    (rc = db_one(db, ST_ORDER_OPEN_COUNT, in, 1, cnt, 1, &found)) != DB_OK)
			return rc;
	}
	return DB_OK;
}

/* The products the lock skipped: busy (locked by another transaction) if
 * they exist, else not found. */
static enum db_rc
find_busy(struct db *db, struct batch *b)
{
	int64_t id = 0;
	struct db_col c[] = { DBC_I64(&id) };
	size_t len = 0, i, missing = 0;
	enum db_rc rc;
	int r;

	if (json_add(b, &len, "[") != 0)
		return DB_ERR;
	for (i = 0; i < b->np; i++) {
		b->pr[i].busy = 0;
		if (!b->pr[i].found &&
		    json_add(b, &len, "%s%" PRId64, missing++ ? "," : "", b->pr[i].id) != 0)
			return DB_ERR;
	}
	if (missing == 0)
		return DB_OK;
	if (json_add(b, &len, "]") != 0)
		return DB_ERR;
	{
		struct db_val in[] = { DBV_STR(b->json, len) };

		if ((rc = db_query(db, ST_BATCH_EXISTS, in, 1, c, 1)) != DB_OK)
			return rc;
	}
	while ((r = db_fetch(db, ST_BATCH_EXISTS)) == 1) {
		struct batch_product *p = product_of(b->pr, b->np, id);

		if (p != NULL && !p->found)
			p->busy = 1;
	}
	db_end(db, ST_BATCH_EXISTS);
	return r < 0 ? db_failure(db) : DB_OK;
}

/* Every product row of the batch, locked by one statement in ascending id
 * (those another transaction holds skipped: find_busy()). */
static enum db_rc
lock_products(struct db *db, struct batch *b)
{
	int64_t id = 0, price = 0, stock = 0, goods = 0;
	struct db_col c[] = { DBC_I64(&id), DBC_I64(&price), DBC_I64(&stock), DBC_I64(&goods) };
	size_t len = 0, i;
	enum db_rc rc;
	int r;

	if (json_add(b, &len, "[") != 0)
		return DB_ERR;
	for (i = 0; i < b->np; i++) {
		b->pr[i].found = 0;
		if (json_add(b, &len, "%s%" PRId64, i ? "," : "", b->pr[i].id) != 0)
			return DB_ERR;
	}
	if (json_add(b, &len, "]") != 0)
		return DB_ERR;
	{
		struct db_val in[] = { DBV_STR(b->json, len) };

		if ((rc = db_query(db, ST_BATCH_LOCK, in, 1, c, 4)) != DB_OK)
			return rc;
	}
	while ((r = db_fetch(db, ST_BATCH_LOCK)) == 1) {
		struct batch_product *p = product_of(b->pr, b->np, id);

		if (p == NULL)
			continue;
		p->found = 1;
		p->price = price;
		p->stock = p->left = stock;
		p->goods = c[3].is_null ? 0 : goods;
	}
	db_end(db, ST_BATCH_LOCK);
	if (r < 0)
		return db_failure(db);
	return find_busy(db, b);
}

/* Ends the JSON array of len bytes and runs st, a statement on its
 * rows, which must change exactly rows rows. */
static enum db_rc
run_json(struct db *db, struct batch *b, size_t len, enum stmt st, size_t rows,
    const char *what)
{
	enum db_rc rc;

	if (json_add(b, &len, "]") != 0)
		return DB_ERR;
	{
		struct db_val in[] = { DBV_STR(b->json, len) };

		if ((rc = db_exec(db, st, in, 1)) != DB_OK)
			return rc;
	}
	if (db->affected != rows) {
		log_error("batch: %zu %s, %llu rows changed", rows, what,
		    (unsigned long long)db->affected);
		return DB_ERR;
	}
	return DB_OK;
}

/* The batch whose COMMIT is under way in this worker (one at a time). */
static const struct batch *committing;

/* db_after_fn, once the batch committed: no product entry read before is
 * served. One step for the batch, however many products. */
static void
products_committed(int64_t unused)
{
	size_t i;

	(void)unused;
	for (i = 0; i < committing->np; i++) {
		const struct batch_product *p = &committing->pr[i];

		if (p->found && p->stock != p->left)
			prodcache_changed(p->id);
	}
}

/* Each product once, by what the batch took of it; each goods row once
 * after them (rule 4: ascending goods id). */
static enum db_rc
take_stock(struct db *db, struct batch *b)
{
	int64_t done = 0;
	size_t i, len = 0, taken = 0;
	enum db_rc rc;

	committing = b;
	if ((rc = db_after_commit(db, products_committed, 0)) != DB_OK)
		return rc;
	if (json_add(b, &len, "[") != 0)
		return DB_ERR;
	for (i = 0; i < b->np; i++) {
		const struct batch_product *p = &b->pr[i];

		/* No stock left, seen under the lock the batch holds until it
		 * ends: marked now, so that orders for it are refused before the
		 * queue. A restock clears the mark after its own UPDATE, which
		 * waits for this COMMIT: the mark never outlives it. (Should the
		 * batch roll back after all, the mark refuses for
		 * SOLDOUT_TTL_MS at most; it never sells.) */
		if (p->found && p->left == 0)
			soldout_mark(p->id);
		if (!p->found || p->stock == p->left)
			continue;
		if (json_add(b, &len, "%s[%" PRId64 ",%" PRId64 "]", taken ? "," : "", p->id,
		    p->stock - p->left) != 0)
			return DB_ERR;
		taken++;
	}
	if (taken == 0)
		return DB_OK;
	/* Every row must have had what was seen under its lock, which we
	 * hold: never commit if one did not. */
	if ((rc = run_json(db, b, len, ST_BATCH_TAKE, taken, "products to take from")) != DB_OK)
		return rc;
	for (;;) {
		int64_t next = 0, sum = 0;

		for (i = 0; i < b->np; i++)
			if (b->pr[i].found && b->pr[i].goods > done &&
			    b->pr[i].stock != b->pr[i].left && (next == 0 || b->pr[i].goods < next))
				next = b->pr[i].goods;
		if (next == 0)
			return DB_OK;
		for (i = 0; i < b->np; i++)
			if (b->pr[i].found && b->pr[i].goods == next)
				sum += b->pr[i].stock - b->pr[i].left;
		{
			struct db_val in[] = { DBV_I64(sum), DBV_I64(next) };

			if ((rc = db_exec(db, ST_GOODS_SALES, in, 2)) != DB_OK)
				return rc;
		}
		done = next;
	}
}

/* How the server numbers a multi-row INSERT: step between consecutive
 * ids, or 0 when they may interleave with other inserts
 * (innodb_autoinc_lock_mode 2, as Galera needs): then one INSERT each. */
static enum db_rc
id_step(struct db *db, int64_t *step)
{
	static long connects = -1;
	static int node = -1;
	static int64_t known;
	int64_t mode = 2, inc = 1;
	struct db_col c[] = { DBC_I64(&mode), DBC_I64(&inc) };
	enum db_rc rc;
	int found;

	if (connects == db->connects && node == db->node) {
		*step = known;
		return DB_OK;
	}
	if ((rc = db_one(db, ST_AUTOINC, NULL, 0, c, 2, &found)) != DB_OK)
		return rc;
	known = found && mode != 2 && inc >= 1 ? inc : 0;
	connects = db->connects;
	node = db->node;
	*step = known;
	return DB_OK;
}

static enum db_rc
insert_orders(struct db *db, struct batch *b)
{
	size_t i, len = 0, placed = 0;
	int64_t step, first;
	enum db_rc rc;

	if ((rc = id_step(db, &step)) != DB_OK)
		return rc;
	if (json_add(b, &len, "[") != 0)
		return DB_ERR;
	for (i = 0; i < b->n; i++) {
		const struct qorder *o = &b->s[i]->in;
		struct qresult *out = &b->s[i]->out;

		if (out->outcome != QO_PLACED)
			continue;
		if (step == 0) {
			struct db_val in[] = { o->user > 0 ? DBV_I64(o->user) : DBV_NULL,
			    DBV_STR(o->pay_method, strlen(o->pay_method)),
			    DBV_I64(out->total_count), DBV_I64(out->freight),
			    DBV_I64(out->total_amount), DBV_I64(o->created_at) };

			if ((rc = db_exec(db, ST_ORDER_INSERT, in, 6)) != DB_OK)
				return rc;
			out->order = (int64_t)db->last_insert_id;
			continue;
		}
		if (json_add(b, &len, "%s[%s%" PRId64 ",\"%s\",%" PRId64 ",%" PRId64 ",%" PRId64
		    ",%" PRId64 "]", placed ? "," : "", o->user > 0 ? "" : "null",
		    o->user > 0 ? o->user : 0, o->pay_method, out->total_count, out->freight,
		    out->total_amount, o->created_at) != 0)
			return DB_ERR;
		placed++;
	}
	if (step == 0 || placed == 0)
		return DB_OK;
	if ((rc = run_json(db, b, len, ST_BATCH_ORDERS, placed, "orders to insert")) != DB_OK)
		return rc;
	/* One statement under the AUTO-INC lock: consecutive ids, in the
	 * order of the rows (ORDER BY their place in the argument). */
	first = (int64_t)db->last_insert_id;
	for (i = 0; i < b->n; i++)
		if (b->s[i]->out.outcome == QO_PLACED) {
			b->s[i]->out.order = first;
			first += step;
		}
	return DB_OK;
}

static enum db_rc
insert_lines(struct db *db, struct batch *b)
{
	size_t i, k, len = 0, nlines = 0;

	if (json_add(b, &len, "[") != 0)
		return DB_ERR;
	for (i = 0; i < b->n; i++) {
		const struct qorder *o = &b->s[i]->in;
		const struct qresult *out = &b->s[i]->out;

		if (out->outcome != QO_PLACED)
			continue;
		for (k = 0; k < o->nlines; k++, nlines++)
			if (json_add(b, &len, "%s[%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "]",
			    nlines ? "," : "", out->order, o->lines[k].product, o->lines[k].quantity,
			    o->lines[k].price) != 0)
				return DB_ERR;
	}
	if (nlines == 0)
		return DB_OK;
	return run_json(db, b, len, ST_BATCH_LINES, nlines, "lines to insert");
}

void
batch_order_of(const struct qslot *s, struct line *lines, struct order *o)
{
	size_t k;

	memset(o, 0, sizeof(*o));
	o->id = s->out.order;
	o->user = s->in.user;
	o->status = ORDER_PLACED;
	snprintf(o->pay_method, sizeof(o->pay_method), "%s", s->in.pay_method);
	o->total_count = s->out.total_count;
	o->freight = s->out.freight;
	o->total_amount = s->out.total_amount;
	o->created_at = s->in.created_at;
	for (k = 0; k < s->in.nlines; k++) {
		lines[k].product = s->in.lines[k].product;
		lines[k].quantity = s->in.lines[k].quantity;
		lines[k].price = s->in.lines[k].price;
		lines[k].goods = s->in.lines[k].goods;
	}
	o->lines = lines;
	o->nlines = s->in.nlines;
}

/* A placed order's key stores its answer; a refused order's key is free
 * again (only successful answers are stored). */
static enum db_rc
settle_keys(struct db *db, struct batch *b)
{
	static struct line lines[QUEUE_LINES_MAX];
	size_t i;
	enum db_rc rc;

	for (i = 0; i < b->n; i++) {
		const struct qslot *s = b->s[i];
		const struct idem *k = &b->keys[i];

		if (k->key == NULL || s->out.outcome == QO_KEY_TAKEN)
			continue;
		if (s->out.outcome == QO_PLACED) {
			struct order o;
			char location[IDEM_LOCATION_MAX];
			const char *body;
			size_t body_len;
			int status;

			batch_order_of(s, lines, &o);
			if (b->answer(&s->in, &o, b->a, &status, location, sizeof(location), &body,
			    &body_len) != 0) {
				db->last_errno = 0;
				snprintf(db->last_error, sizeof(db->last_error),
				    "the answer of order %" PRId64 " could not be rendered", o.id);
				return DB_ERR;
			}
			if ((rc = idem_store(db, k, status, location, body, body_len)) != DB_OK)
				return rc;
		} else {
			struct db_val in[] = { DBV_I64(k->user), DBV_STR(k->key, k->keylen) };

			if ((rc = db_exec(db, ST_IDEM_RELEASE, in, 2)) != DB_OK)
				return rc;
		}
	}
	return DB_OK;
}

static enum db_rc
batch_txn(struct db *db, void *arg, struct problem *p)
{
	struct batch *b = arg;
	uint32_t conn;
	enum db_rc rc;
	size_t i;

	(void)p;
	for (i = 0; i < b->n; i++) {
		memset(&b->s[i]->out, 0, sizeof(b->s[i]->out));
		b->s[i]->out.outcome = QO_NONE;
	}
	if ((rc = claim_keys(db, b)) != DB_OK || (rc = lock_payers(db, b)) != DB_OK ||
	    (rc = lock_products(db, b)) != DB_OK)
		return rc;
	batch_grant(b->s, b->n, b->pr, b->np, b->u, b->nu, b->conf->max_open, b->conf->freight,
	    mono_ms());
	if ((rc = take_stock(db, b)) != DB_OK || (rc = insert_orders(db, b)) != DB_OK ||
	    (rc = insert_lines(db, b)) != DB_OK || (rc = settle_keys(db, b)) != DB_OK)
		return rc;
	/* Before COMMIT goes out: should this worker die now, each waiter
	 * knows its order's id and the connection to wait out. */
	conn = db->my != NULL ? (uint32_t)mysql_thread_id(db->my) : 0;
	for (i = 0; i < b->n; i++)
		__atomic_store_n(&b->s[i]->out.conn, conn, __ATOMIC_SEQ_CST);
	return DB_OK;
}

void
batch_place(struct db *db, const struct conf *conf, struct arena *a, struct qslot **s,
    size_t n, batch_answer_fn answer)
{
	struct batch b;
	struct problem p;
	size_t i;

	memset(&b, 0, sizeof(b));
	b.conf = conf;
	b.a = a;
	b.s = s;
	b.n = n;
	b.answer = answer;
	memset(&p, 0, sizeof(p));
	if (collect(&b) != 0) {
		(void)oom(&p);
		for (i = 0; i < n; i++) {
			memset(&s[i]->out, 0, sizeof(s[i]->out));
			s[i]->out.outcome = QO_FAILED;
			s[i]->out.p = p;
		}
		return;
	}
	if (db_txn(db, batch_txn, &b, &p) == 0) {
		for (i = 0; i < n; i++) {
			const struct qorder *in = &s[i]->in;
			uint32_t k;

			if (s[i]->out.outcome != QO_PLACED)
				continue;
			stats_order();
			for (k = 0; k < in->nlines; k++)
				stats_sold(in->lines[k].product, in->lines[k].quantity);
		}
		return;
	}
	for (i = 0; i < n; i++) {
		struct qresult *out = &s[i]->out;

		if (p.kind == PROB_OUTCOME_UNKNOWN) {
			/* Placed orders may or may not be there; refusals stand. */
			if (out->outcome == QO_PLACED)
				out->outcome = QO_SETTLE;
			continue;
		}
		out->outcome = QO_FAILED;
		out->order = 0;
		out->p = p;
	}
}
