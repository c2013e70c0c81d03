#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <errmsg.h>
#include <mysqld_error.h>

#include "base/arena.h"
#include "store/db.h"
#include "base/log.h"
#include "base/nodes.h"
#include "shm/shared.h"
#include "shm/stats.h"

/* The columns of an order row, written once: ST_ORDER_GET, _LOCK, _LIST and
 * _LIST_USER select ORDER_COLS, and orders.c binds ORDER_NCOLS columns to
 * them in this order; the count is checked here at compile time (and the
 * binder's in orders.c), db_query() checks it against the server's. */
#define ORDER_COL_LIST	id, user_id, status, pay_method, total_count, freight, \
	total_amount, UNIX_TIMESTAMP(created_at)
#define SQL_STR_(...)	#__VA_ARGS__
#define SQL_STR(...)	SQL_STR_(__VA_ARGS__)
#define SQL_NARGS_(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, \
	a16, n, ...)	n
#define SQL_NARGS(...)	SQL_NARGS_(__VA_ARGS__, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, \
	6, 5, 4, 3, 2, 1, 0)
#define ORDER_COLS	SQL_STR(ORDER_COL_LIST)
_Static_assert(SQL_NARGS(ORDER_COL_LIST) == ORDER_NCOLS,
    "ORDER_COL_LIST and ORDER_NCOLS (db.h) must name the same columns");

/* Every statement orderd runs, prepared once per connection. Lock order
 * (design.md rule 4): order row, then products by ascending id, then goods. */
static const char *const sql[ST__MAX] = {
	[ST_BEGIN] = "START TRANSACTION",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_PRODUCT_GET] =
	    "SELECT id, goods_id, name, price, stock, sales FROM products WHERE id = ?",
	[ST_PRODUCT_LIST] =
	    "SELECT id, goods_id, name, price, stock, sales FROM products"
	    " WHERE id > ? ORDER BY id LIMIT ?",
	[ST_PRODUCT_INSERT] =
	    "INSERT INTO products (goods_id, name, price, stock, initial_stock)"
	    " VALUES (?, ?, ?, ?, ?)",
	[ST_PRODUCT_READ] =
	    "SELECT price, stock, goods_id FROM products WHERE id = ?",
	[ST_PRODUCT_READ_LOCKED] =
	    "SELECT price, stock, goods_id FROM products WHERE id = ? FOR UPDATE",
	[ST_TAKE_LINE] = "CALL orderd_take_line(?, ?, ?, ?)",	/* db/migrations/003 */
	[ST_PRODUCT_TAKE_IF] =
	    "UPDATE products SET stock = stock - ?, sales = sales + ?, version = version + 1"
	    " WHERE id = ? AND stock >= ? AND price = ?",
	[ST_PRODUCT_GIVE] =
	    "UPDATE products SET stock = stock + ?, sales = sales - ?, version = version + 1"
	    " WHERE id = ?",
	[ST_PRODUCT_RESTOCK] =
	    "UPDATE products SET stock = stock + ?, version = version + 1 WHERE id = ?",
	[ST_RESTOCK_INSERT] =
	    "INSERT INTO restocks (product_id, quantity) VALUES (?, ?)",
	[ST_GOODS_GET] = "SELECT id, name, sales FROM goods WHERE id = ?",
	[ST_GOODS_SALES] = "UPDATE goods SET sales = sales + ? WHERE id = ?",
	[ST_GOODS_INSERT] = "INSERT INTO goods (name) VALUES (?)",
	[ST_GOODS_PRODUCTS] = "SELECT id FROM products WHERE goods_id = ? ORDER BY id",
	[ST_ORDER_INSERT] =
	    "INSERT INTO orders (user_id, status, pay_method, total_count, freight,"
	    " total_amount, created_at) VALUES (?, 'placed', ?, ?, ?, ?, FROM_UNIXTIME(?))",
	[ST_LINE_INSERT] =
	    "INSERT INTO order_lines (order_id, product_id, quantity, price) VALUES (?, ?, ?, ?)",
	[ST_ORDER_LOCK] =
	    "SELECT " ORDER_COLS " FROM orders WHERE id = ? FOR UPDATE",
	[ST_ORDER_ABORT] =
	    "UPDATE orders SET status = 'aborted', aborted_at = UTC_TIMESTAMP()"
	    " WHERE id = ? AND status IN ('placed', 'paid')",
	[ST_ORDER_GET] =
	    "SELECT " ORDER_COLS " FROM orders WHERE id = ?",
	[ST_ORDER_LIST] =
	    "SELECT " ORDER_COLS " FROM orders WHERE id < ? ORDER BY id DESC LIMIT ?",
	[ST_ORDER_LINES] =
	    "SELECT STRAIGHT_JOIN l.order_id, l.product_id, l.quantity, l.price, p.goods_id"
	    " FROM order_lines l JOIN products p ON p.id = l.product_id"
	    " WHERE l.order_id = ? ORDER BY l.product_id",
	[ST_ORDER_LINES_RANGE] =
	    "SELECT STRAIGHT_JOIN l.order_id, l.product_id, l.quantity, l.price, p.goods_id"
	    " FROM order_lines l JOIN products p ON p.id = l.product_id"
	    " WHERE l.order_id BETWEEN ? AND ? ORDER BY l.order_id DESC, l.product_id",
	[ST_SNAPSHOT_ISOLATION] = "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
	[ST_SNAPSHOT_BEGIN] = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
	/* Audit: each returns (id, expected, found) for every violation. */
	[ST_AUDIT_STOCK] =
	    "SELECT p.id, p.initial_stock + COALESCE(r.q, 0) - COALESCE(l.q, 0), p.stock"
	    " FROM products p"
	    " LEFT JOIN (SELECT product_id, SUM(quantity) q FROM restocks GROUP BY product_id) r"
	    "   ON r.product_id = p.id"
	    " LEFT JOIN (SELECT ol.product_id, SUM(ol.quantity) q FROM order_lines ol"
	    "   JOIN orders o ON o.id = ol.order_id WHERE o.status NOT IN ('aborted', 'expired')"
	    "   GROUP BY ol.product_id) l ON l.product_id = p.id"
	    " WHERE p.stock < 0 OR p.stock <> p.initial_stock + COALESCE(r.q, 0) - COALESCE(l.q, 0)"
	    " ORDER BY p.id",
	[ST_AUDIT_PRODUCT_SALES] =
	    "SELECT p.id, COALESCE(l.q, 0), p.sales FROM products p"
	    " LEFT JOIN (SELECT ol.product_id, SUM(ol.quantity) q FROM order_lines ol"
	    "   JOIN orders o ON o.id = ol.order_id WHERE o.status NOT IN ('aborted', 'expired')"
	    "   GROUP BY ol.product_id) l ON l.product_id = p.id"
	    " WHERE p.sales <> COALESCE(l.q, 0) ORDER BY p.id",
	[ST_AUDIT_GOODS_SALES] =
	    "SELECT g.id, COALESCE(s.q, 0), g.sales FROM goods g"
	    " LEFT JOIN (SELECT goods_id, SUM(sales) q FROM products GROUP BY goods_id) s"
	    "   ON s.goods_id = g.id"
	    " WHERE g.sales <> COALESCE(s.q, 0) ORDER BY g.id",
	[ST_AUDIT_ORDER_TOTALS] =
	    "SELECT o.id, COALESCE(l.c, 0), o.total_count, COALESCE(l.a, 0) + o.freight,"
	    " o.total_amount FROM orders o"
	    " LEFT JOIN (SELECT order_id, SUM(quantity) c, SUM(quantity * price) a"
	    "   FROM order_lines GROUP BY order_id) l ON l.order_id = o.id"
	    " WHERE l.c IS NULL OR o.total_count <> l.c OR o.total_amount <> l.a + o.freight"
	    " ORDER BY o.id",
	[ST_AUDIT_STATUS] =
	    "SELECT id, 0, 0 FROM orders WHERE (status IN ('aborted', 'expired')) <> (aborted_at IS NOT NULL)"
	    " OR (status = 'expired' AND pay_method <> 'balance')"
	    " ORDER BY id",
	/* Accounts. Lock order (rule 4): order row, products, then users by
	 * ascending id; a balance checkout locks its buyer first (its order
	 * row's foreign key would take a shared lock on that row). */
	[ST_USER_INSERT] = "INSERT INTO users (username, pw_hash, role) VALUES (?, ?, ?)",
	[ST_USER_BY_NAME] =
	    "SELECT id, username, pw_hash, role, balance FROM users WHERE username = ?",
	[ST_USER_GET] = "SELECT id, username, role, balance FROM users WHERE id = ?",
	[ST_USER_LOCK] = "SELECT id, username, role, balance FROM users WHERE id = ? FOR UPDATE",
	[ST_USER_ADD_BALANCE] = "UPDATE users SET balance = balance + ? WHERE id = ?",
	[ST_USER_SET_ADMIN] = "UPDATE users SET role = 'admin' WHERE id = ?",
	[ST_LEDGER_INSERT] =
	    "INSERT INTO ledger (user_id, kind, amount, order_id, counterparty) VALUES (?, ?, ?, ?, ?)",
	[ST_LEDGER_LIST] =
	    "SELECT l.id, l.kind, l.amount, l.order_id, u.username, UNIX_TIMESTAMP(l.created_at)"
	    " FROM ledger l LEFT JOIN users u ON u.id = l.counterparty"
	    " WHERE l.user_id = ? AND l.id < ? ORDER BY l.id DESC LIMIT ?",
	[ST_SESSION_INSERT] =
	    "INSERT INTO sessions (token_hash, user_id, expires_at)"
	    " VALUES (?, ?, UTC_TIMESTAMP() + INTERVAL 30 DAY)",
	[ST_SESSION_GET] =
	    "SELECT u.id, u.username, u.role FROM sessions s JOIN users u ON u.id = s.user_id"
	    " WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > UTC_TIMESTAMP()",
	[ST_SESSION_REVOKE] =
	    "UPDATE sessions SET revoked_at = UTC_TIMESTAMP() WHERE token_hash = ? AND revoked_at IS NULL",
	[ST_SESSION_REVOKE_USER] =
	    "UPDATE sessions SET revoked_at = UTC_TIMESTAMP() WHERE user_id = ? AND revoked_at IS NULL",
	[ST_IDEM_GET] =
	    "SELECT request_hash, status, location, body,"
	    " TIMESTAMPDIFF(SECOND, created_at, UTC_TIMESTAMP()) FROM idempotency"
	    " WHERE user_id = ? AND idem_key = ? AND created_at > UTC_TIMESTAMP() - INTERVAL 1 DAY",
	[ST_IDEM_CLAIM] =
	    "INSERT INTO idempotency (user_id, idem_key, request_hash) VALUES (?, ?, ?)",
	[ST_IDEM_DROP_EXPIRED] =
	    "DELETE FROM idempotency WHERE user_id = ? AND idem_key = ?"
	    " AND created_at <= UTC_TIMESTAMP() - INTERVAL 1 DAY",
	[ST_IDEM_STORE] =
	    "UPDATE idempotency SET status = ?, location = ?, body = ? WHERE user_id = ? AND idem_key = ?",
	[ST_ORDER_PAY] =
	    "UPDATE orders SET status = 'paid', paid_at = UTC_TIMESTAMP() WHERE id = ? AND status = 'placed'",
	[ST_ORDER_SHIP] =
	    "UPDATE orders SET status = 'shipped', shipped_at = UTC_TIMESTAMP()"
	    " WHERE id = ? AND status IN ('placed', 'paid')",
	[ST_ORDER_LIST_USER] =
	    "SELECT " ORDER_COLS " FROM orders FORCE INDEX (orders_user)"
	    " WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
	/* The lines of one user's orders lo..hi (the user's list reads no
	 * other user's lines), in the order the list walks them. The plan is
	 * fixed - the user's orders by orders_user, then their lines, then
	 * each line's product - as statistics that lag fresh rows made the
	 * optimizer scan every product instead. */
	[ST_ORDER_LINES_USER] =
	    "SELECT STRAIGHT_JOIN l.order_id, l.product_id, l.quantity, l.price, p.goods_id"
	    " FROM orders o FORCE INDEX (orders_user)"
	    " JOIN order_lines l FORCE INDEX (PRIMARY) ON l.order_id = o.id"
	    " JOIN products p FORCE INDEX (PRIMARY) ON p.id = l.product_id"
	    " WHERE o.user_id = ? AND o.id BETWEEN ? AND ? ORDER BY l.order_id DESC, l.product_id",
	[ST_AUDIT_BALANCE] =
	    "SELECT u.id, COALESCE(l.s, 0), u.balance FROM users u"
	    " LEFT JOIN (SELECT user_id, SUM(amount) s FROM ledger GROUP BY user_id) l"
	    "   ON l.user_id = u.id"
	    " WHERE u.balance < 0 OR u.balance <> COALESCE(l.s, 0) ORDER BY u.id",
	/* Money is conserved: balances + revenue (payments - refunds) = credits. */
	[ST_AUDIT_CONSERVATION] =
	    "SELECT 0, c, b FROM (SELECT"
	    " (SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE kind = 'credit') c,"
	    " (SELECT COALESCE(SUM(balance), 0) FROM users)"
	    "  - (SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE kind IN ('payment', 'refund')) b"
	    ") t WHERE c <> b",
	/* (order, code, 0): 1 refund of an order not aborted or never paid,
	 * 2 paid or shipped balance order without its payment, 3 payment not
	 * equal to the total, 4 aborted after payment without a refund, 5 refund
	 * not equal to the payment, 6 two payments or two refunds, 7 a payment of
	 * a cod order, 8 an expired order that was paid. */
	[ST_AUDIT_PAYMENTS] =
	    "SELECT o.id, 1, 0 FROM orders o JOIN ledger r ON r.order_id = o.id AND r.kind = 'refund'"
	    " WHERE o.status <> 'aborted' OR NOT EXISTS (SELECT 1 FROM ledger p"
	    "   WHERE p.order_id = o.id AND p.kind = 'payment')"
	    " UNION ALL SELECT o.id, 2, 0 FROM orders o WHERE o.pay_method = 'balance'"
	    "   AND o.paid_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ledger p"
	    "   WHERE p.order_id = o.id AND p.kind = 'payment')"
	    " UNION ALL SELECT o.id, 3, 0 FROM orders o JOIN ledger p ON p.order_id = o.id"
	    "   AND p.kind = 'payment' WHERE p.amount <> -o.total_amount"
	    " UNION ALL SELECT o.id, 4, 0 FROM orders o JOIN ledger p ON p.order_id = o.id"
	    "   AND p.kind = 'payment' WHERE o.status = 'aborted' AND NOT EXISTS (SELECT 1"
	    "   FROM ledger r WHERE r.order_id = o.id AND r.kind = 'refund')"
	    " UNION ALL SELECT p.order_id, 5, 0 FROM ledger p JOIN ledger r ON r.order_id = p.order_id"
	    "   AND r.kind = 'refund' WHERE p.kind = 'payment' AND r.amount <> -p.amount"
	    " UNION ALL SELECT order_id, 6, 0 FROM ledger WHERE kind IN ('payment', 'refund')"
	    "   GROUP BY order_id, kind HAVING COUNT(*) > 1"
	    " UNION ALL SELECT o.id, 7, 0 FROM orders o JOIN ledger p ON p.order_id = o.id"
	    "   AND p.kind = 'payment' WHERE o.pay_method <> 'balance'"
	    " UNION ALL SELECT o.id, 8, 0 FROM orders o WHERE o.status = 'expired'"
	    "   AND (o.paid_at IS NOT NULL OR EXISTS (SELECT 1 FROM ledger p"
	    "   WHERE p.order_id = o.id AND p.kind = 'payment'))"
	    " ORDER BY 1, 2",
	[ST_CHECK_FLUSH] = "SELECT @@GLOBAL.innodb_flush_log_at_trx_commit",
	[ST_CHECK_ENGINES] =
	    "SELECT table_name, COALESCE(engine, '') FROM information_schema.tables"
	    " WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'"
	    " AND COALESCE(engine, '') <> 'InnoDB' ORDER BY table_name",
	/* The payment window (--hold): an expiry is a cancel of a placed
	 * balance order, guarded like ST_ORDER_ABORT. */
	[ST_ORDER_EXPIRE] =
	    "UPDATE orders SET status = 'expired', aborted_at = UTC_TIMESTAMP()"
	    " WHERE id = ? AND status = 'placed' AND pay_method = 'balance'",
	/* Placed balance orders created at or before a time (index orders_due). */
	[ST_ORDER_DUE] =
	    "SELECT id FROM orders WHERE status = 'placed' AND pay_method = 'balance'"
	    " AND created_at <= FROM_UNIXTIME(?) ORDER BY created_at, id LIMIT ?",
	/* A user's unpaid balance orders (index orders_open; --max-open). */
	[ST_ORDER_OPEN_COUNT] =
	    "SELECT COUNT(*) FROM orders WHERE user_id = ? AND status = 'placed'"
	    " AND pay_method = 'balance'",
	/* --db-nodes: read on a fresh session, before ST_SYNC_WAIT (a node
	 * stalled by a lost peer would hold a waiting read). A server without
	 * Galera has wsrep_on 0. */
	[ST_NODE_STATE] =
	    "SELECT @@GLOBAL.wsrep_on,"
	    " COALESCE((SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS"
	    "   WHERE VARIABLE_NAME = 'WSREP_READY') = 'ON', 0),"
	    " COALESCE((SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS"
	    "   WHERE VARIABLE_NAME = 'WSREP_LOCAL_STATE'), 0)",
	/* A read (and a transaction's start) first waits until this node has
	 * applied what the cluster committed before it: no stale read after a
	 * write acknowledged through another node or pool. */
	[ST_SYNC_WAIT] = "SET SESSION wsrep_sync_wait = 1",
	/* The other sessions of the pools' account on this node (an account
	 * sees its own sessions without the PROCESS privilege). */
	[ST_NODE_PEERS] =
	    "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
	    " WHERE USER = SUBSTRING_INDEX(CURRENT_USER(), '@', 1) AND ID <> CONNECTION_ID()",
	/* The JSON argument lists the ids ascending; STRAIGHT_JOIN reads it
	 * first, so the rows are locked in that order, each by its key. A row
	 * another transaction holds is skipped, not waited for: the batch
	 * leaves its orders for the next one (domain/batch.c). */
	[ST_BATCH_LOCK] =
	    "SELECT p.id, p.price, p.stock, p.goods_id"
	    " FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$')) AS t"
	    " STRAIGHT_JOIN products AS p ON p.id = t.id FOR UPDATE SKIP LOCKED",
	/* Which of them exist (read without a lock): those the lock skipped */
	[ST_BATCH_EXISTS] =
	    "SELECT p.id FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$')) AS t"
	    " STRAIGHT_JOIN products AS p ON p.id = t.id",
	/* [[id, quantity], ...]: each product once, read through its key */
	[ST_BATCH_TAKE] =
	    "UPDATE JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$[0]',"
	    " q BIGINT PATH '$[1]')) AS t STRAIGHT_JOIN products AS p ON p.id = t.id"
	    " SET p.stock = p.stock - t.q, p.sales = p.sales + t.q, p.version = p.version + 1"
	    " WHERE p.stock >= t.q",
	[ST_BATCH_ORDERS] =
	    "INSERT INTO orders (user_id, status, pay_method, total_count, freight,"
	    " total_amount, created_at)"
	    " SELECT j.u, 'placed', j.pm, j.c, j.f, j.a, FROM_UNIXTIME(j.t)"
	    " FROM JSON_TABLE(?, '$[*]' COLUMNS (n FOR ORDINALITY, u BIGINT UNSIGNED PATH '$[0]',"
	    " pm VARCHAR(16) PATH '$[1]', c BIGINT PATH '$[2]', f BIGINT PATH '$[3]',"
	    " a BIGINT PATH '$[4]', t BIGINT PATH '$[5]')) AS j ORDER BY j.n",
	[ST_BATCH_LINES] =
	    "INSERT INTO order_lines (order_id, product_id, quantity, price)"
	    " SELECT j.o, j.p, j.q, j.pr"
	    " FROM JSON_TABLE(?, '$[*]' COLUMNS (o BIGINT UNSIGNED PATH '$[0]',"
	    " p BIGINT UNSIGNED PATH '$[1]', q BIGINT PATH '$[2]', pr BIGINT PATH '$[3]')) AS j",
	[ST_AUTOINC] = "SELECT @@innodb_autoinc_lock_mode, @@auto_increment_increment",
	[ST_IDEM_RELEASE] = "DELETE FROM idempotency WHERE user_id = ? AND idem_key = ?",
	[ST_CONN_KILL] = "KILL CONNECTION ?",
	[ST_CONN_ALIVE] = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?",
	[ST_ORDER_EXISTS] = "SELECT COUNT(*) FROM orders WHERE id = ?",
};

#define RETRY_MAX	8	/* deadlocks and snapshot conflicts */
#define LOCKWAIT_MAX	2	/* lock wait timeouts: each already waited */

void
db_init(struct db *db, const struct conf *c)
{
	memset(db, 0, sizeof(*db));
	db->conf = c;
}

/* --- health: the pool's shared "database suspect" mark --------------------- */

struct health {
	int64_t suspect_ms;	/* mono_ms() of the last timeout; 0 = healthy */
	int64_t probe_ms;	/* no new probe before this (a probe's lease, or
				 * the gap after a failed one) */
	int node;		/* --db-nodes: 1 + the node a worker of this pool
				 * connected to last; 0 = none yet */
};

static struct health *health;

int
db_health_init(void)
{
	health = shared_alloc(sizeof(*health));
	return health != NULL ? 0 : -1;
}

int
db_health_node(void)
{
	return health != NULL ? __atomic_load_n(&health->node, __ATOMIC_ACQUIRE) : 0;
}

int
db_health_is_suspect(void)
{
	return health != NULL && __atomic_load_n(&health->suspect_ms, __ATOMIC_ACQUIRE) != 0;
}

int
db_health_admit(int64_t now_ms, int *probing)
{
	int64_t next;

	if (health == NULL || __atomic_load_n(&health->suspect_ms, __ATOMIC_ACQUIRE) == 0)
		return 1;
	if (*probing)
		return 1;
	/* One probe at a time: whoever moves probe_ms past now first. A
	 * prober that dies holding it loses it after DB_PROBE_LEASE_MS. */
	next = __atomic_load_n(&health->probe_ms, __ATOMIC_ACQUIRE);
	if (now_ms < next || !__atomic_compare_exchange_n(&health->probe_ms, &next,
	    now_ms + DB_PROBE_LEASE_MS, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return 0;
	*probing = 1;
	return 1;
}

void
db_health_suspect(int64_t now_ms)
{
	if (health == NULL)
		return;
	if (__atomic_exchange_n(&health->suspect_ms, now_ms, __ATOMIC_ACQ_REL) == 0)
		log_warn("the database stopped answering: answering 503 until a probe gets "
		    "through");
	__atomic_store_n(&health->probe_ms, now_ms + DB_PROBE_GAP_MS, __ATOMIC_RELEASE);
}

void
db_health_ok(void)
{
	if (health == NULL || __atomic_load_n(&health->suspect_ms, __ATOMIC_ACQUIRE) == 0)
		return;
	if (__atomic_exchange_n(&health->suspect_ms, 0, __ATOMIC_ACQ_REL) != 0)
		log_warn("the database answers again");
	__atomic_store_n(&health->probe_ms, 0, __ATOMIC_RELEASE);
}

/* --- errors ---------------------------------------------------------------- */

enum db_rc
db_classify(unsigned err)
{
	switch (err) {
	case 0:
		return DB_OK;
	case DB_ER_SUSPECT:
		return DB_LOST;
	case ER_LOCK_DEADLOCK:		/* 1213 */
	case ER_LOCK_WAIT_TIMEOUT:	/* 1205 */
	case ER_CHECKREAD:		/* 1020 */
		return DB_RETRY;
	case CR_SERVER_GONE_ERROR:	/* 2006 */
	case CR_SERVER_LOST:		/* 2013 */
	case CR_CONNECTION_ERROR:	/* 2002 */
	case CR_CONN_HOST_ERROR:	/* 2003 */
	case CR_SERVER_LOST_EXTENDED:	/* 2055 */
	case CR_COMMANDS_OUT_OF_SYNC:	/* 2014: the protocol state is unknown */
	case ER_CONNECTION_KILLED:	/* 1927 */
	case ER_SERVER_SHUTDOWN:	/* 1053 */
	case 4031:			/* ER_CLIENT_INTERACTION_TIMEOUT */
	/* Galera: 1047, the node is not ready (joining, or cut off from the
	 * primary component): nothing was done there, go to another node; 1180
	 * at COMMIT, the commit failed on the way: its outcome is unknown. */
	case ER_UNKNOWN_COM_ERROR:	/* 1047 */
	case ER_ERROR_DURING_COMMIT:	/* 1180 */
		return DB_LOST;
	default:
		return DB_ERR;
	}
}

enum db_rc
db_failure(const struct db *db)
{
	enum db_rc rc = db_classify(db->last_errno);

	return rc == DB_OK ? DB_ERR : rc;
}

static void
note_error(struct db *db, unsigned err, const char *msg)
{
	db->last_errno = err;
	snprintf(db->last_error, sizeof(db->last_error), "%s", msg != NULL ? msg : "");
}

void
db_close(struct db *db)
{
	int i;

	for (i = 0; i < ST__MAX; i++)
		if (db->st[i] != NULL) {
			mysql_stmt_close(db->st[i]);
			db->st[i] = NULL;
		}
	if (db->my != NULL) {
		mysql_close(db->my);
		db->my = NULL;
	}
	db->in_txn = 0;
}

/* After a call that reached for the server (began at t0): a timeout marks
 * the database suspect, an answer clears the mark. */
static enum db_rc
after_call(struct db *db, int64_t t0, enum db_rc rc)
{
	int64_t now = mono_ms();

	if (rc == DB_LOST)
		db->lost_slow = now - t0 >= DB_SLOW_FAIL_MS;
	if (rc == DB_LOST && now - t0 >= DB_SLOW_FAIL_MS) {
		db->timed_out = 1;
		db->probing = 0;
		db_health_suspect(now);
	} else if (rc != DB_LOST) {
		db->probing = 0;
		db_health_ok();
	} else if (db->probing) {
		/* The probe failed at once (a server that is down): the next
		 * one after the gap. */
		db->probing = 0;
		db_health_suspect(now);
	}
	return rc;
}

/* Before a statement outside a transaction (or its START TRANSACTION):
 * while the database is suspect, refuse unless this request probes. */
static enum db_rc
gate(struct db *db)
{
	if (db_health_admit(mono_ms(), &db->probing))
		return DB_OK;
	note_error(db, DB_ER_SUSPECT, "the database stopped answering; not asked");
	return DB_LOST;
}

/* A new handle with orderd's options and session settings. */
static MYSQL *
new_handle(struct db *db)
{
	unsigned timeout = db->batch ? DB_BATCH_TIMEOUT_S : DB_CONNECT_TIMEOUT_S;
	unsigned rw_timeout = db->batch ? DB_BATCH_TIMEOUT_S : DB_READ_TIMEOUT_S;
	my_bool off = 0;
	MYSQL *my;

	if ((my = mysql_init(NULL)) == NULL) {
		note_error(db, CR_OUT_OF_MEMORY, "mysql_init failed");
		return NULL;
	}
	mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(my, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
	mysql_options(my, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
	/* Rule 6: never reconnect silently; we reconnect ourselves, outside any
	 * transaction, and prepare the statements again. */
	mysql_options(my, MYSQL_OPT_RECONNECT, &off);
	mysql_options(my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(my, MYSQL_INIT_COMMAND,
	    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
	mysql_options(my, MYSQL_INIT_COMMAND,
	    "SET SESSION time_zone = '+00:00', innodb_lock_wait_timeout = 3,"
	    " sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_ZERO_DATE'");
	return my;
}

/* Runs one of the statements of a fresh node connection (ST_NODE_STATE
 * with its three columns, or ST_SYNC_WAIT without), prepared and closed at
 * once. 0, or -1 with the error noted. */
static int
node_stmt(struct db *db, enum stmt id, long long *out, unsigned nout)
{
	MYSQL_STMT *st;
	MYSQL_BIND b[3];
	unsigned i;
	int r = -1;

	if ((st = mysql_stmt_init(db->my)) == NULL) {
		note_error(db, mysql_errno(db->my), mysql_error(db->my));
		return -1;
	}
	if (mysql_stmt_prepare(st, sql[id], strlen(sql[id])) != 0 ||
	    mysql_stmt_execute(st) != 0)
		goto fail;
	if (nout > 0) {
		memset(b, 0, sizeof(b));
		for (i = 0; i < nout && i < 3; i++) {
			out[i] = 0;
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = &out[i];
		}
		if (mysql_stmt_bind_result(st, b) != 0 || mysql_stmt_fetch(st) != 0)
			goto fail;
	}
	r = 0;
	goto done;
fail:
	note_error(db, mysql_stmt_errno(st) != 0 ? mysql_stmt_errno(st) : ER_UNKNOWN_COM_ERROR,
	    mysql_stmt_errno(st) != 0 ? mysql_stmt_error(st) : "no node state");
done:
	mysql_stmt_close(st);
	return r;
}

/* Connects db->my to node nd and checks it is usable: 1 usable (state[0]
 * says whether it is a Galera node), 0 not (db->my closed, the error
 * noted; logged at debug level: while every node is down each request
 * would log one line per node, and the caller logs the failure once). */
static int
node_open(struct db *db, const struct db_node *nd, int k, const char *name,
    long long state[3])
{
	const struct conf *c = db->conf;

	if ((db->my = new_handle(db)) == NULL)
		return 0;
	if (mysql_real_connect(db->my, nd->socket[0] ? NULL : nd->host, c->db_user,
	    c->db_password, c->db_name, nd->port, nd->socket[0] ? nd->socket : NULL,
	    0) == NULL) {
		note_error(db, mysql_errno(db->my), mysql_error(db->my));
		log_debug("database node %d (%s) not reachable: %u %s", k + 1, name,
		    db->last_errno, db->last_error);
		goto fail;
	}
	if (node_stmt(db, ST_NODE_STATE, state, 3) != 0) {
		log_debug("database node %d (%s) did not say its state: %u %s", k + 1, name,
		    db->last_errno, db->last_error);
		goto fail;
	}
	if (!nodes_usable(state[0] != 0, state[1] != 0, (long)state[2])) {
		note_error(db, ER_UNKNOWN_COM_ERROR, "node not ready or not synced");
		log_debug("database node %d (%s) is not ready (wsrep_ready %s, "
		    "wsrep_local_state %lld): trying the next", k + 1, name,
		    state[1] ? "ON" : "OFF", state[2]);
		goto fail;
	}
	return 1;
fail:
	mysql_close(db->my);
	db->my = NULL;
	return 0;
}

/* A new worker's preferred node: the first usable one in the list on which
 * other sessions of the pools' account are (another worker, another pool),
 * or -1 (none: the list's order). */
static int
node_preferred(struct db *db, const struct db_node *nodes, int n)
{
	char name[NODE_ADDR_MAX + 8];
	long long state[3], peers;
	int k;

	for (k = 0; k < n; k++) {
		nodes_name(&nodes[k], name, sizeof(name));
		if (!node_open(db, &nodes[k], k, name, state))
			continue;
		peers = 0;
		if (node_stmt(db, ST_NODE_PEERS, &peers, 1) != 0)
			peers = 0;
		mysql_close(db->my);
		db->my = NULL;
		if (peers > 0)
			return k;
	}
	return -1;
}

/* 1 + the node this process connected to last (0: none yet): the pool's
 * master connects once before it forks, so its workers start with its
 * choice instead of each probing the nodes at the same moment (and seeing
 * each other's probes as the sessions to join). */
static int process_node;

/* --db-nodes: connects to the first usable node in nodes_order() (the one
 * used last goes to the end; a new worker tries first the node the other
 * workers use), and on a Galera node makes reads wait for the cluster's
 * earlier commits. */
static enum db_rc
connect_nodes(struct db *db)
{
	const struct conf *c = db->conf;
	struct db_node nodes[NODES_MAX];
	int order[NODES_MAX], n, i, k, prev = db->node - 1, slow, pool_node;
	char err[200], name[NODE_ADDR_MAX + 8];
	long long state[3];
	int64_t t0 = mono_ms();

	if ((n = nodes_parse(c->db_nodes, nodes, NODES_MAX, err, sizeof(err))) < 0) {
		note_error(db, CR_CONNECTION_ERROR, err);
		return DB_LOST;
	}
	/* A node that timed out is tried again first: a Galera node stalls
	 * every commit for seconds while the cluster decides a peer is gone (or
	 * while flow control waits for a slow peer), and moving on then would
	 * spread the pool's workers over several writers. One that refused,
	 * was lost or was not ready goes last. */
	slow = db->lost_slow;
	db->lost_slow = 0;
	/* A new worker joins the node its pool writes to now: the one a sibling
	 * connected to last (a worker that replaces one after a failover must
	 * not go back to the master's first choice: two writers), else the
	 * master's choice, else the node other sessions are on. A worker whose
	 * node failed follows a sibling that already moved. */
	pool_node = health != NULL ? __atomic_load_n(&health->node, __ATOMIC_ACQUIRE) : 0;
	if (prev < 0 && n > 1) {
		if (pool_node <= 0 || pool_node > n)
			pool_node = process_node;
		nodes_prefer(n, pool_node > 0 && pool_node <= n ? pool_node - 1 :
		    node_preferred(db, nodes, n), order);
	} else if (slow) {
		nodes_prefer(n, prev, order);
	} else {
		/* Lost or refused: where the siblings went, if one already
		 * moved; else the next node in the list. */
		nodes_follow(n, prev, pool_node - 1, order);
	}
	for (i = 0; i < n; i++) {
		const struct db_node *nd = &nodes[order[i]];

		k = order[i];
		nodes_name(nd, name, sizeof(name));
		if (!node_open(db, nd, k, name, state))
			continue;
		if (state[0] != 0 && node_stmt(db, ST_SYNC_WAIT, NULL, 0) != 0) {
			log_warn("database node %d (%s): wsrep_sync_wait not set: %u %s", k + 1,
			    name, db->last_errno, db->last_error);
			mysql_close(db->my);
			db->my = NULL;
			continue;
		}
		if (k != prev) {
			if (prev >= 0)
				log_warn("database node %d (%s) in use: node %d failed", k + 1,
				    name, prev + 1);
			else
				log_info("database node %d (%s) in use%s", k + 1, name,
				    state[0] != 0 ? " (Galera, synced)" : "");
		}
		db->node = k + 1;
		process_node = k + 1;
		if (health != NULL)
			__atomic_store_n(&health->node, k + 1, __ATOMIC_RELEASE);
		db->galera = state[0] != 0;
		db->connects++;
		return DB_OK;
	}
	return after_call(db, t0, DB_LOST);
}

enum db_rc
db_connect(struct db *db)
{
	const struct conf *c = db->conf;
	int64_t t0;

	if (db->my != NULL)
		return DB_OK;
	if (c->db_nodes != NULL)
		return connect_nodes(db);
	if ((db->my = new_handle(db)) == NULL)
		return DB_LOST;
	t0 = mono_ms();
	if (mysql_real_connect(db->my, c->db_host, c->db_user, c->db_password, c->db_name,
	    c->db_port, c->db_socket, 0) == NULL) {
		note_error(db, mysql_errno(db->my), mysql_error(db->my));
		mysql_close(db->my);
		db->my = NULL;
		return after_call(db, t0, DB_LOST);
	}
	db->connects++;
	return DB_OK;
}

/* Returns the prepared handle of id, preparing it on first use. */
static enum db_rc
prepare(struct db *db, enum stmt id, MYSQL_STMT **out)
{
	MYSQL_STMT *st;
	enum db_rc rc;

	if ((rc = db_connect(db)) != DB_OK)
		return rc;
	if (db->st[id] != NULL) {
		*out = db->st[id];
		return DB_OK;
	}
	if ((st = mysql_stmt_init(db->my)) == NULL) {
		note_error(db, mysql_errno(db->my), mysql_error(db->my));
		return db_failure(db);
	}
	if (mysql_stmt_prepare(st, sql[id], strlen(sql[id])) != 0) {
		note_error(db, mysql_stmt_errno(st), mysql_stmt_error(st));
		mysql_stmt_close(st);
		rc = db_failure(db);
		if (rc == DB_ERR)
			log_error("prepare of statement %d failed: %u %s", (int)id,
			    db->last_errno, db->last_error);
		return rc;
	}
	db->st[id] = *out = st;
	return DB_OK;
}

static enum db_rc
stmt_fail(struct db *db, MYSQL_STMT *st)
{
	note_error(db, mysql_stmt_errno(st), mysql_stmt_error(st));
	return db_failure(db);
}

static enum db_rc
run(struct db *db, enum stmt id, const struct db_val *params, unsigned n, MYSQL_STMT **out)
{
	MYSQL_BIND b[DB_PARAMS_MAX];
	MYSQL_STMT *st;
	enum db_rc rc;
	unsigned i;
	int64_t t0;
	int again = 0;

	if (n > DB_PARAMS_MAX)
		return DB_ERR;
retry:
	db->timed_out = 0;
	if ((id == ST_BEGIN || !db->in_txn) && (rc = gate(db)) != DB_OK)
		return rc;
	db->used_ms = t0 = mono_ms();
	if ((rc = prepare(db, id, &st)) != DB_OK) {
		rc = after_call(db, t0, rc);
		goto lost;
	}
	if (mysql_stmt_param_count(st) != n) {
		log_error("statement %d takes %lu parameters, given %u", (int)id,
		    mysql_stmt_param_count(st), n);
		note_error(db, 0, "parameter count mismatch");
		return DB_ERR;
	}
	memset(b, 0, sizeof(b));
	for (i = 0; i < n; i++) {
		switch (params[i].t) {
		case DB_NULL:
			b[i].buffer_type = MYSQL_TYPE_NULL;
			break;
		case DB_I64:
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = (void *)(uintptr_t)&params[i].i;
			break;
		case DB_STR:
		case DB_BLOB:
			b[i].buffer_type = params[i].t == DB_BLOB ? MYSQL_TYPE_BLOB :
			    MYSQL_TYPE_STRING;
			b[i].buffer = (void *)(uintptr_t)params[i].s;
			b[i].buffer_length = params[i].len;
			break;
		}
	}
	if ((n > 0 && mysql_stmt_bind_param(st, b) != 0) || mysql_stmt_execute(st) != 0) {
		rc = after_call(db, t0, stmt_fail(db, st));
		goto lost;
	}
	*out = st;
	return after_call(db, t0, DB_OK);
lost:
	/* Outside a transaction, a connection found dead (its node went away
	 * while the worker was idle) is dropped at once, and a read runs once
	 * more on a new one: nothing was done, and nothing is done twice. Not
	 * after a timeout: the database is not answering. */
	if (rc == DB_LOST && !db->in_txn && id != ST_BEGIN) {
		db_close(db);
		if (!again && !db->timed_out && db->last_errno != DB_ER_SUSPECT &&
		    strncmp(sql[id], "SELECT", 6) == 0) {
			again = 1;
			stats_retry(db->last_errno);
			goto retry;
		}
	}
	return rc;
}

enum db_rc
db_exec(struct db *db, enum stmt id, const struct db_val *params, unsigned n)
{
	MYSQL_STMT *st;
	enum db_rc rc;

	if ((rc = run(db, id, params, n, &st)) != DB_OK)
		return rc;
	db->affected = (uint64_t)mysql_stmt_affected_rows(st);
	db->last_insert_id = (uint64_t)mysql_stmt_insert_id(st);
	return DB_OK;
}

enum db_rc
db_query(struct db *db, enum stmt id, const struct db_val *params, unsigned n,
    struct db_col *cols, unsigned ncols)
{
	MYSQL_BIND b[DB_COLS_MAX];
	MYSQL_STMT *st;
	enum db_rc rc;
	unsigned i;
	int64_t t0;

	if (ncols > DB_COLS_MAX)
		return DB_ERR;
	if ((rc = run(db, id, params, n, &st)) != DB_OK)
		return rc;
	if (mysql_stmt_field_count(st) != ncols) {
		log_error("statement %d returns %u columns, bound %u", (int)id,
		    mysql_stmt_field_count(st), ncols);
		mysql_stmt_free_result(st);
		return DB_ERR;
	}
	memset(b, 0, sizeof(b));
	for (i = 0; i < ncols; i++) {
		cols[i].is_null = 0;
		cols[i].error = 0;
		b[i].is_null = &cols[i].is_null;
		b[i].error = &cols[i].error;
		b[i].length = &cols[i].len;
		if (cols[i].t == DB_I64) {
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = cols[i].i;
		} else {
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = cols[i].buf;
			b[i].buffer_length = cols[i].cap > 0 ? cols[i].cap - 1 : 0;
		}
	}
	if (mysql_stmt_bind_result(st, b) != 0) {
		rc = stmt_fail(db, st);
		mysql_stmt_free_result(st);
		return rc;
	}
	db->cols[id] = cols;
	db->ncols[id] = ncols;
	/* Buffer the whole result: the connection is free for the next
	 * statement, and rows are small and few. */
	t0 = mono_ms();
	if (mysql_stmt_store_result(st) != 0) {
		rc = after_call(db, t0, stmt_fail(db, st));
		mysql_stmt_free_result(st);
		return rc;
	}
	return DB_OK;
}

int
db_fetch(struct db *db, enum stmt id)
{
	MYSQL_STMT *st = db->st[id];
	unsigned i;
	int r;

	if (st == NULL)
		return -1;
	r = mysql_stmt_fetch(st);
	if (r == MYSQL_NO_DATA)
		return 0;
	if (r == 1) {
		note_error(db, mysql_stmt_errno(st), mysql_stmt_error(st));
		return -1;
	}
	/* MYSQL_DATA_TRUNCATED: text longer than its buffer is cut to fit; the
	 * buffers are sized for the schema's columns. */
	for (i = 0; i < db->ncols[id]; i++) {
		struct db_col *c = &db->cols[id][i];

		if (c->t == DB_STR && c->buf != NULL && c->cap > 0) {
			if (c->len > c->cap - 1)
				c->len = c->cap - 1;
			c->buf[c->is_null ? 0 : c->len] = '\0';
		}
	}
	return 1;
}

enum db_rc
db_one(struct db *db, enum stmt id, const struct db_val *params, unsigned n,
    struct db_col *cols, unsigned ncols, int *found)
{
	enum db_rc rc;
	int r;

	*found = 0;
	if ((rc = db_query(db, id, params, n, cols, ncols)) != DB_OK)
		return rc;
	r = db_fetch(db, id);
	db_end(db, id);
	if (r < 0)
		return db_failure(db);
	*found = r;
	return DB_OK;
}

enum db_rc
db_each(struct db *db, enum stmt id, const struct db_val *params, unsigned n,
    struct db_col *cols, unsigned ncols, db_take_fn take, void *arg)
{
	enum db_rc rc;
	int r;

	if ((rc = db_query(db, id, params, n, cols, ncols)) != DB_OK)
		return rc;
	while ((r = db_fetch(db, id)) == 1)
		if ((rc = take(arg)) != DB_OK)
			break;
	db_end(db, id);
	if (r < 0)
		return db_failure(db);
	return rc;
}

struct page_ctx {
	struct db_page *pg;
	char *rows;
};

static enum db_rc
page_take(void *arg)
{
	struct page_ctx *x = arg;
	struct db_page *pg = x->pg;
	enum db_rc rc;
	void *slot;

	if (pg->n == pg->limit) {
		pg->more = 1;
		return DB_OK;
	}
	slot = x->rows + (size_t)pg->n * pg->row_size;
	memset(slot, 0, pg->row_size);
	if ((rc = pg->take(pg->arg, slot)) == DB_OK)
		pg->n++;
	return rc;
}

enum db_rc
db_page_read(struct db *db, enum stmt id, const struct db_val *params, unsigned n,
    struct db_col *cols, unsigned ncols, struct arena *a, struct db_page *pg)
{
	struct db_val in[DB_PARAMS_MAX];
	struct page_ctx x = { pg, NULL };

	pg->rows = NULL;
	pg->n = 0;
	pg->more = 0;
	if (n >= DB_PARAMS_MAX || pg->limit < 1)
		return DB_ERR;
	if ((x.rows = arena_alloc(a, (size_t)pg->limit * pg->row_size)) == NULL)
		return DB_ABORT;	/* the arena is spent: pg->rows stays NULL */
	memcpy(in, params, n * sizeof(*in));
	in[n] = DBV_I64(pg->limit + 1);
	pg->rows = x.rows;
	return db_each(db, id, in, n + 1, cols, ncols, page_take, &x);
}

void
db_end(struct db *db, enum stmt id)
{
	MYSQL_STMT *st = db->st[id];

	if (st == NULL)
		return;
	mysql_stmt_free_result(st);
}

/* Random back-off before retry k (1-based): up to 2^k ms, at most 64 ms. */
static void
backoff(int k)
{
	struct timespec ts;
	long max_us = 1000L << (k < 6 ? k : 6);

	ts.tv_sec = 0;
	ts.tv_nsec = (random() % max_us) * 1000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int
db_check_durability(struct db *db)
{
	int64_t flush = -1;
	char table[65], engine[65];
	struct db_col f[] = { DBC_I64(&flush) };
	struct db_col t[] = { DBC_STR(table, sizeof(table)), DBC_STR(engine, sizeof(engine)) };
	int warnings = 0, r;

	if (db_query(db, ST_CHECK_FLUSH, NULL, 0, f, 1) != DB_OK)
		return -1;
	r = db_fetch(db, ST_CHECK_FLUSH);
	db_end(db, ST_CHECK_FLUSH);
	if (r == 1 && flush != 1) {
		log_warn("innodb_flush_log_at_trx_commit is %lld, not 1: the server may lose "
		    "commits it acknowledged if it crashes (docs/design.md rule 8)", (long long)flush);
		warnings++;
	}
	if (db_query(db, ST_CHECK_ENGINES, NULL, 0, t, 2) != DB_OK)
		return -1;
	while ((r = db_fetch(db, ST_CHECK_ENGINES)) == 1) {
		log_warn("table %s uses %s, not InnoDB: its writes are not transactional",
		    table, engine[0] ? engine : "no engine");
		warnings++;
	}
	db_end(db, ST_CHECK_ENGINES);
	log_info("durability checked: flush at commit = %lld, %d warning(s)",
	    (long long)flush, warnings);
	return warnings;
}

/* Errors a statement gets from a value it was given, not from the server:
 * a string the column's character set cannot compare or hold, a number or
 * text out of the column's range. */
int
db_input_error(const struct db *db)
{
	switch (db->last_errno) {
	case ER_WARN_DATA_OUT_OF_RANGE:			/* 1264 */
	case ER_CANT_AGGREGATE_2COLLATIONS:		/* 1267 */
	case ER_CANT_AGGREGATE_3COLLATIONS:		/* 1270 */
	case ER_CANT_AGGREGATE_NCOLLATIONS:		/* 1271 */
	case ER_TRUNCATED_WRONG_VALUE:			/* 1292 */
	case ER_INVALID_CHARACTER_STRING:		/* 1300 */
	case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:	/* 1366 */
	case ER_DATA_TOO_LONG:				/* 1406 */
		return 1;
	default:
		return 0;
	}
}

static void
rollback(struct db *db)
{
	if (db->my == NULL)
		return;
	if (db_exec(db, ST_ROLLBACK, NULL, 0) == DB_LOST)
		db_close(db);
}

enum db_rc
db_after_commit(struct db *db, db_after_fn fn, int64_t arg)
{
	if (!db->in_txn || db->nafter == DB_AFTER_MAX) {
		db->last_errno = 0;
		snprintf(db->last_error, sizeof(db->last_error), "%s",
		    db->in_txn ? "too many after-commit steps in one transaction" :
		    "an after-commit step outside a transaction");
		return DB_ERR;
	}
	db->after[db->nafter].fn = fn;
	db->after[db->nafter].arg = arg;
	db->nafter++;
	return DB_OK;
}

/* The COMMIT was sent and succeeded, or may have: the attempt's steps. */
static void
run_after(struct db *db)
{
	size_t i, n = db->nafter;

	db->nafter = 0;
	for (i = 0; i < n; i++)
		db->after[i].fn(db->after[i].arg);
}

/* Whether a transaction that lost its connection before COMMIT may run
 * again on a new one: once, and not after a timeout or a refusal (the
 * database is not answering; a second try would only double the wait). */
static int
may_reconnect(const struct db *db, int attempt)
{
	return attempt < 2 && !db->timed_out && db->last_errno != DB_ER_SUSPECT;
}

enum db_rc
db_txn_run(struct db *db, db_txn_fn fn, void *ctx, const struct db_hooks *h,
    struct problem *p, enum db_stage *stage)
{
	int attempt, lockwaits = 0;
	enum db_rc rc = DB_ERR;

	*stage = DB_STAGE_BODY;

	for (attempt = 1; attempt <= RETRY_MAX; attempt++) {
		if (attempt > 1)
			backoff(attempt - 1);
		if ((rc = db_exec(db, ST_BEGIN, NULL, 0)) != DB_OK) {
			if (rc == DB_LOST) {
				/* Nothing was sent inside a transaction: reconnect
				 * once and try again; a second failure is a 503. */
				if (db->last_errno != DB_ER_SUSPECT)
					db_close(db);
				if (may_reconnect(db, attempt)) {
					stats_retry(db->last_errno);
					continue;
				}
			}
			break;
		}
		db->in_txn = 1;
		db->nafter = 0;
		stats_add(SC_TRANSACTIONS, 1);
		stats_state(STATS_TXN);
		rc = h != NULL && h->first != NULL ? h->first(db, h->arg, p) : DB_OK;
		if (rc == DB_OK)
			rc = fn(db, ctx, p);
		if (rc == DB_OK && h != NULL && h->last != NULL)
			rc = h->last(db, h->arg, p);
		if (rc == DB_OK) {
			rc = db_exec(db, ST_COMMIT, NULL, 0);
			db->in_txn = 0;
			stats_state(STATS_READING);
			if (rc == DB_OK) {
				stats_add(SC_COMMITS, 1);
				run_after(db);
				return DB_OK;
			}
			if (rc == DB_LOST) {
				/* Rule 6: the COMMIT may or may not have happened;
				 * never retry blindly, and never say "nothing was
				 * done". The caller adds what was acted on. */
				log_warn("connection lost during COMMIT, outcome unknown: %u %s",
				    db->last_errno, db->last_error);
				db_close(db);
				run_after(db);
				*stage = DB_STAGE_COMMIT;
				return DB_LOST;
			}
		}
		db->nafter = 0;
		stats_state(STATS_READING);
		stats_add(SC_ROLLBACKS, 1);
		if (db->last_errno == ER_LOCK_WAIT_TIMEOUT && rc == DB_RETRY)
			stats_add(SC_LOCK_WAITS, 1);
		if (rc == DB_ABORT) {
			rollback(db);
			db->in_txn = 0;
			return DB_ABORT;
		}
		if (rc == DB_LOST) {
			/* Lost before COMMIT was sent: nothing committed. The
			 * next attempt reconnects and prepares again. */
			db_close(db);
			if (may_reconnect(db, attempt)) {
				stats_retry(db->last_errno);
				continue;
			}
			break;
		}
		rollback(db);
		db->in_txn = 0;
		if (rc != DB_RETRY)
			break;
		if (db->last_errno == ER_LOCK_WAIT_TIMEOUT && ++lockwaits >= LOCKWAIT_MAX)
			break;
		stats_retry(db->last_errno);
		log_info("transaction retry %d after %u %s", attempt, db->last_errno,
		    db->last_error);
	}
	db->in_txn = 0;
	return rc == DB_OK ? DB_ERR : rc;
}
