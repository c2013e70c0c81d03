/* db.h - one MariaDB connection, its prepared statements, and transactions
 * that retry what may be retried (docs/design.md rules 1, 5, 6).
 *
 * All SQL lives in the statement table in db.c, named by enum stmt; callers
 * pass a statement id and bound values, never SQL text. A failure is a
 * db_rc and the stage it happened at; what it means to a client (status,
 * wording) is decided above the store, in domain/dberr.h. */
#ifndef ORDERD_DB_H
#define ORDERD_DB_H

#include <stddef.h>
#include <stdint.h>

#include <mysql.h>

#include "base/conf.h"

/* What a transaction body reports when it stops (domain/dberr.h); the
 * store passes it through and never looks inside. */
struct problem;

/* The number of columns of an order row (db.c's ORDER_COL_LIST). */
#define ORDER_NCOLS	8

enum stmt {
	ST_BEGIN = 0,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_PRODUCT_GET,
	ST_PRODUCT_LIST,
	ST_PRODUCT_INSERT,
	ST_PRODUCT_READ,
	ST_PRODUCT_READ_LOCKED,
	ST_TAKE_LINE,
	ST_PRODUCT_TAKE_IF,
	ST_PRODUCT_GIVE,
	ST_PRODUCT_RESTOCK,
	ST_RESTOCK_INSERT,
	ST_GOODS_GET,
	ST_GOODS_SALES,
	ST_GOODS_INSERT,
	ST_GOODS_PRODUCTS,
	ST_ORDER_INSERT,
	ST_LINE_INSERT,
	ST_ORDER_LOCK,
	ST_ORDER_ABORT,
	ST_ORDER_GET,
	ST_ORDER_LIST,
	ST_ORDER_LINES,
	ST_ORDER_LINES_RANGE,
	ST_SNAPSHOT_ISOLATION,
	ST_SNAPSHOT_BEGIN,
	ST_AUDIT_STOCK,
	ST_AUDIT_PRODUCT_SALES,
	ST_AUDIT_GOODS_SALES,
	ST_AUDIT_ORDER_TOTALS,
	ST_AUDIT_STATUS,
	ST_USER_INSERT,
	ST_USER_BY_NAME,
	ST_USER_GET,
	ST_USER_LOCK,
	ST_USER_ADD_BALANCE,
	ST_USER_SET_ADMIN,
	ST_LEDGER_INSERT,
	ST_LEDGER_LIST,
	ST_SESSION_INSERT,
	ST_SESSION_GET,
	ST_SESSION_REVOKE,
	ST_SESSION_REVOKE_USER,
	ST_IDEM_GET,
	ST_IDEM_CLAIM,
	ST_IDEM_DROP_EXPIRED,
	ST_IDEM_STORE,
	ST_ORDER_PAY,
	ST_ORDER_SHIP,
	ST_ORDER_LIST_USER,
	ST_ORDER_LINES_USER,
	ST_AUDIT_BALANCE,
	ST_AUDIT_CONSERVATION,
	ST_AUDIT_PAYMENTS,
	ST_CHECK_FLUSH,
	ST_CHECK_ENGINES,
	ST_ORDER_EXPIRE,
	ST_ORDER_DUE,
	ST_ORDER_OPEN_COUNT,
	ST_NODE_STATE,		/* --db-nodes: is this node usable (Galera state) */
	ST_SYNC_WAIT,		/* --db-nodes: reads see every commit of the cluster */
	ST_NODE_PEERS,		/* --db-nodes: other sessions of our account on a node */
	ST_BATCH_LOCK,		/* --lock queue: a batch's product rows, one statement */
	ST_BATCH_EXISTS,
	ST_BATCH_TAKE,
	ST_BATCH_ORDERS,
	ST_BATCH_LINES,
	ST_AUTOINC,
	ST_IDEM_RELEASE,
	ST_CONN_KILL,		/* a dead leader's connection: ended before looking */
	ST_CONN_ALIVE,
	ST_ORDER_EXISTS,
	ST__MAX
};

/* Outcome of a database call. */
enum db_rc {
	DB_OK = 0,
	DB_RETRY,	/* deadlock 1213, lock wait timeout 1205, snapshot 1020: retry the txn */
	DB_LOST,	/* connection gone (2006, 2013, ...): reconnect; outcome of an
			 * in-flight COMMIT unknown */
	DB_ERR,		/* anything else: a fault of ours or of the server */
	DB_ABORT	/* not a database error: the transaction body decided to stop
			 * (a domain problem such as out of stock); roll back, no retry */
};

/* Where a failed call stood: what a lost connection means depends on it. */
enum db_stage {
	DB_STAGE_OUTSIDE = 0,	/* a statement outside any transaction (a read) */
	DB_STAGE_BODY,		/* in a transaction, before COMMIT was sent: nothing
				 * is committed when the connection goes */
	DB_STAGE_COMMIT		/* COMMIT sent and no answer: it may have committed */
};

/* last_errno of a call refused without asking the server because the
 * database is suspect (it stopped answering; another request is probing
 * it). Classified DB_LOST. */
#define DB_ER_SUSPECT	9001

/* Timeouts (seconds; libmariadb applies each once per read/write, no
 * retries, measured: a frozen server gives 2013 after exactly the read
 * timeout, and a connect to one gives 2013 "handshake" after the connect
 * timeout). A legitimate lock wait lasts up to innodb_lock_wait_timeout = 3 s,
 * so the read timeout is 4 s: a statement that takes longer than that is a
 * server that stopped answering. */
#define DB_CONNECT_TIMEOUT_S	2
#define DB_READ_TIMEOUT_S	4
/* The commands that scan whole tables (orderd audit, migrate) wait this long
 * to connect and for each answer instead: nobody waits on them, and a long
 * scan or a server paused for a while is no reason to give up. */
#define DB_BATCH_TIMEOUT_S	3600
/* A failed call that took this long was a timeout: the database is marked
 * suspect (db_health_*) and the request is not retried. */
#define DB_SLOW_FAIL_MS		1500

enum db_type { DB_NULL = 0, DB_I64, DB_STR, DB_BLOB };

/* A bound parameter. */
struct db_val {
	enum db_type t;
	int64_t i;
	const char *s;
	size_t len;
};

#define DBV_I64(v)	((struct db_val){ .t = DB_I64, .i = (v) })
#define DBV_STR(v, n)	((struct db_val){ .t = DB_STR, .s = (v), .len = (n) })
#define DBV_BLOB(v, n)	((struct db_val){ .t = DB_BLOB, .s = (const char *)(v), .len = (n) })
#define DBV_NULL	((struct db_val){ .t = DB_NULL })

/* A result column: integers into *i, text into buf (NUL-terminated,
 * truncated to cap-1 bytes). is_null is set for SQL NULL. */
struct db_col {
	enum db_type t;
	int64_t *i;
	char *buf;
	size_t cap;
	unsigned long len;
	char is_null;
	char error;
};

#define DBC_I64(p)	((struct db_col){ .t = DB_I64, .i = (p) })
#define DBC_STR(b, n)	((struct db_col){ .t = DB_STR, .buf = (b), .cap = (n) })

#define DB_PARAMS_MAX	8
#define DB_COLS_MAX	10

/* Work a transaction leaves for after its COMMIT (db_after_commit()). */
typedef void (*db_after_fn)(int64_t arg);
#define DB_AFTER_MAX	128	/* steps one transaction may leave */

struct db_after {
	db_after_fn fn;
	int64_t arg;
};

struct db {
	const struct conf *conf;
	MYSQL *my;			/* NULL when not connected */
	MYSQL_STMT *st[ST__MAX];	/* prepared lazily, kept for the connection's life */
	struct db_col *cols[ST__MAX];	/* columns bound by the last db_query() */
	unsigned ncols[ST__MAX];
	unsigned last_errno;
	char last_error[256];
	uint64_t last_insert_id;
	uint64_t affected;
	long connects;			/* successful connects, for logs and tests */
	int64_t used_ms;		/* mono_ms() of the last statement run */
	int in_txn;			/* between START TRANSACTION and its end */
	int timed_out;			/* the last failure was a timeout (slow) */
	int batch;			/* audit, migrate: DB_BATCH_TIMEOUT_S for everything */
	int probing;			/* this worker holds the probe of a suspect database */
	int node;			/* --db-nodes: 1 + the index of the node in use
					 * (or last used); 0 = none yet */
	int galera;			/* that node is a Galera node */
	int lost_slow;			/* the last lost connection was a timeout */
	struct db_after after[DB_AFTER_MAX];	/* the running attempt's after-commit work */
	size_t nafter;
};

void	db_init(struct db *, const struct conf *);
/* Connects when not connected. Returns DB_OK, or DB_LOST when the server is
 * unreachable (the caller answers 503). */
enum db_rc db_connect(struct db *);
void	db_close(struct db *);

/* Runs a statement that returns no rows; sets db->affected and
 * db->last_insert_id. */
enum db_rc db_exec(struct db *, enum stmt, const struct db_val *params, unsigned n);

/* Runs a statement that returns rows and binds cols; then db_fetch() until
 * it returns 0 (no more rows) and db_end() to release the result. */
enum db_rc db_query(struct db *, enum stmt, const struct db_val *params, unsigned n,
	    struct db_col *cols, unsigned ncols);
/* 1 = a row was fetched into the bound columns, 0 = no more rows, -1 = error
 * (db->last_errno set; the rc of the failure is db_classify(db->last_errno)). */
int	db_fetch(struct db *, enum stmt);
void	db_end(struct db *, enum stmt);

/* Runs a statement that returns at most one row into cols: DB_OK with
 * *found 1 (row in cols) or 0 (none), or the db_rc of the failure. */
enum db_rc db_one(struct db *, enum stmt, const struct db_val *params, unsigned n,
	    struct db_col *cols, unsigned ncols, int *found);

/* Runs a statement that returns rows and calls take(arg) with each row
 * fetched into cols, then releases the result: DB_OK, the first rc other
 * than DB_OK that take returned (the rows after it are not taken), or the
 * failure's. */
typedef enum db_rc (*db_take_fn)(void *arg);
enum db_rc db_each(struct db *, enum stmt, const struct db_val *params, unsigned n,
	    struct db_col *cols, unsigned ncols, db_take_fn take, void *arg);

/* One page of a list read (GET /product/, /order/, /account/ledger/): the
 * statement's last parameter is the page size, and db_page_read() passes
 * limit + 1 after params to learn whether a further page exists. Up to
 * limit rows are taken, each by take(arg, slot) into a zeroed row_size-byte
 * slot of an array from the arena; the rest only set more. DB_ABORT with
 * rows NULL when the arena is spent (before any query), the rc of a take
 * that failed, or the failure's. (domain/dberr.h's db_page() answers the
 * spent arena.) */
struct db_page {
	long limit;		/* in: 1.. rows at the most */
	size_t row_size;	/* in: the size of one slot */
	enum db_rc (*take)(void *arg, void *slot);	/* in: the bound cols into slot */
	void *arg;		/* in */
	void *rows;		/* out: n slots */
	long n;			/* out */
	int more;		/* out: 1 = a row beyond limit exists */
};
struct arena;
enum db_rc db_page_read(struct db *, enum stmt, const struct db_val *params, unsigned n,
	    struct db_col *cols, unsigned ncols, struct arena *, struct db_page *);

enum db_rc db_classify(unsigned err);
/* Whether the last failure (db->last_errno) was a value a statement was
 * given, not the server: a string the column's character set cannot
 * compare or hold, a number or text out of the column's range. */
int	db_input_error(const struct db *);

/* The pool's shared view of the database's health, so that a frozen
 * server costs one timeout, not one per worker. db_health_init() maps it
 * (the master, before forking; without it nothing is ever refused). A
 * call that times out marks the database suspect; while it is, a request
 * is refused at once (DB_ER_SUSPECT, a 503 with Retry-After) unless it takes
 * the one probe: one request at a time, at most every DB_PROBE_GAP_MS, asks
 * the server; any answered call clears the mark. */
#define DB_PROBE_GAP_MS		1000
#define DB_PROBE_LEASE_MS	((DB_READ_TIMEOUT_S + DB_CONNECT_TIMEOUT_S) * 1000 + 1000)
int	db_health_init(void);
/* 1 = ask the server (healthy, or *probing set: this caller took the
 * probe), 0 = refuse. now_ms is mono_ms(). */
int	db_health_admit(int64_t now_ms, int *probing);
/* A call timed out at now_ms: suspect; the next probe waits DB_PROBE_GAP_MS. */
void	db_health_suspect(int64_t now_ms);
/* A call was answered: healthy. */
void	db_health_ok(void);
/* Whether the database is marked suspect. */
int	db_health_is_suspect(void);
/* --db-nodes: 1 + the index of the node the pool's workers connected to
 * last (0: none yet, or no shared mark). */
int	db_health_node(void);
/* The db_rc of the last failed call (db->last_errno); never DB_OK. */
enum db_rc db_failure(const struct db *);

/* A transaction body: returns DB_OK to commit, DB_ABORT after setting p to
 * stop with a domain problem, or the db_rc of a failed call. */
typedef enum db_rc (*db_txn_fn)(struct db *, void *ctx, struct problem *p);

/* Steps run around every attempt's body: first right after START
 * TRANSACTION, last after the body succeeded and before COMMIT (either may
 * be NULL). Used to claim an idempotency key and store the answer in the
 * same transaction as the effect. */
struct db_hooks {
	db_txn_fn first;
	db_txn_fn last;
	void *arg;
};

/* Runs fn inside START TRANSACTION ... COMMIT, with hooks h (NULL = none),
 * passing p to the hooks and the body untouched. Retries the whole
 * transaction on DB_RETRY (bounded, with random back-off) and on DB_LOST
 * before COMMIT (after reconnecting: nothing was committed; not after a
 * timeout). Returns DB_OK when committed; DB_ABORT when fn or a hook
 * stopped (p is theirs); DB_LOST with *stage DB_STAGE_COMMIT when the
 * connection was lost after COMMIT was sent (outcome unknown; logged, the
 * connection closed, the after-commit steps run); else the db_rc that
 * ended it (DB_RETRY past the retry budget, DB_LOST, DB_ERR) with *stage
 * DB_STAGE_BODY: nothing was done. The callers use db_txn() of
 * domain/dberr.h, which says what that means to the client. */
enum db_rc db_txn_run(struct db *, db_txn_fn fn, void *ctx, const struct db_hooks *h,
	    struct problem *p, enum db_stage *stage);

/* Leaves fn(arg) for after the transaction in progress (call it from a
 * body or a hook): db_txn_run() runs the steps, in the order left, once its
 * COMMIT succeeded, and also when the COMMIT's outcome is unknown (it may
 * have happened) - before it returns, so before the answer is written.
 * Never after a rollback: an attempt that is rolled back forgets its steps
 * (a retry leaves them again). DB_OK, or DB_ERR outside a transaction or
 * past DB_AFTER_MAX steps. */
enum db_rc db_after_commit(struct db *, db_after_fn fn, int64_t arg);

/* Checks the server keeps what it acknowledges: logs a warning when
 * innodb_flush_log_at_trx_commit is not 1 or a table of the schema is not
 * transactional. Returns the number of warnings, or -1 when it could not
 * look (database unreachable). */
int	db_check_durability(struct db *);

#endif
