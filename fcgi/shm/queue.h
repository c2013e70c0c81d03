/* queue.h - the order queue of --lock queue, shared by every worker of the
 * pool: a worker with an order puts it in a slot and sleeps; the batcher
 * (process/batcher.c, one process beside the workers, with its own
 * database connection) takes what is queued in arrival order, places it as
 * one batch (domain/batch.h) and hands every slot its outcome, then takes
 * what queued meanwhile.
 *
 * Arrival order is a sequence number given when a slot is queued. Nobody
 * waits on a timer to fill a batch: a queued order wakes the batcher at
 * once; under light load every batch is one order, under heavy load a
 * batch is whatever queued while the one before ran.
 *
 * The batcher killed mid-batch: the master frees its place
 * (queue_release()); every slot it had taken gets QO_SETTLE with the order
 * id it gave it (0: none yet, so nothing of it can have committed) and the
 * MariaDB connection of the batch, and its waiter finds out from the
 * database what happened (api/queue.c). The table lives in one anonymous
 * shared mapping made by the master before it forks. */
#ifndef ORDERD_QUEUE_H
#define ORDERD_QUEUE_H

#include <stdint.h>

#include "base/problem.h"

#define QUEUE_SLOTS	256	/* orders waiting at once, pool-wide */
#define QUEUE_BATCH_MAX	64	/* orders one batch takes */
#define QUEUE_LINES_MAX	100	/* lines of one order (ORDER_LINES_MAX) */
#define QUEUE_KEY_MAX	200	/* bytes of an Idempotency-Key (IDEM_KEY_MAX) */
#define QUEUE_NEXT_MAX	1024	/* bytes of a form's next, with the NUL */
#define QUEUE_HIST	8	/* batch-size buckets: 1, 2-3, 4-7, ... 128- */
#define QUEUE_HOLDERS	512	/* workers (SLOTS_MAX of process/pool.c) */

struct qline {
	int64_t product;
	int64_t quantity;
	int64_t price;		/* the leader sets price and goods from the locked row */
	int64_t goods;
};

/* An order as its waiter queues it: checked, merged, sorted by product. */
struct qorder {
	int64_t user;			/* 0 = anonymous */
	char pay_method[8];		/* "cod" | "balance" */
	int64_t created_at;		/* Unix seconds */
	uint32_t nlines;
	struct qline lines[QUEUE_LINES_MAX];
	/* Idempotency-Key, keylen 0 = none */
	uint32_t keylen;
	int64_t key_user;		/* whose key it is */
	char key[QUEUE_KEY_MAX];
	unsigned char hash[32];
	/* the batcher: since when (mono_ms) a product of it has been found
	 * locked by another transaction; 0 = not */
	int64_t busy_since;
	/* how the answer reads (the batcher renders it for the key) */
	int browser;
	char next[QUEUE_NEXT_MAX];	/* a form's next field, "" = none */
};

enum qoutcome {
	QO_NONE = 0,	/* not decided */
	QO_PLACED,	/* committed: order, totals */
	QO_REFUSED,	/* p: 404, 409, ... nothing of it was done */
	QO_KEY_TAKEN,	/* its Idempotency-Key was claimed first by another request */
	QO_FAILED,	/* the batch failed as a whole: p (503, 500); nothing done */
	QO_SETTLE,	/* the batch's outcome is unknown: look at the database */
	QO_BUSY		/* a product of it was locked elsewhere: queued again, in its place */
};

struct qresult {
	enum qoutcome outcome;
	int64_t order;		/* QO_PLACED; QO_SETTLE: the id it was given, 0 = none */
	int64_t total_count;
	int64_t freight;
	int64_t total_amount;
	uint32_t conn;		/* QO_SETTLE: the batch's MariaDB connection id */
	struct problem p;	/* QO_REFUSED, QO_FAILED */
};

struct qslot {
	uint32_t state;		/* internal: free, queued, taken, done */
	uint32_t waiter;	/* pid of the worker whose order it is */
	uint32_t leader;	/* pid of the batcher that took it */
	uint32_t gone;		/* the waiter died: the leader frees it */
	uint32_t bell;		/* futex: bumped when the waiter should look */
	uint32_t pad;
	uint64_t seq;		/* arrival order */
	struct qorder in;
	struct qresult out;
};

struct queue_stats {
	uint64_t batches;
	uint64_t orders;
	uint64_t largest;
	uint64_t hist[QUEUE_HIST];	/* batches of 1, 2-3, 4-7, ... */
	uint32_t leader;		/* the batcher's pid, 0 = none */
	uint32_t queued;		/* waiting to be taken now */
	uint32_t connections;		/* workers keeping a database connection */
};

/* Maps the shared table; call once in the master before forking. 0, or -1
 * (then --lock queue places every order on its own, as forupdate). */
int	queue_init(void);
int	queue_ready(void);

/* A free slot for this worker's order (fill ->in, then queue_submit()),
 * or NULL when QUEUE_SLOTS orders wait already. */
struct qslot *queue_reserve(void);
/* Queues s in arrival order (again after QO_SETTLE found nothing: keep =
 * 1 keeps its place). */
void	queue_submit(struct qslot *s, int keep);

enum qturn {
	QT_DONE,	/* s has its outcome in ->out */
	QT_WAIT		/* not yet (woken, or wait_ms passed) */
};
/* Looks at s, sleeping up to wait_ms when there is nothing to do. */
enum qturn queue_wait(struct qslot *s, int wait_ms);

/* Withdraws s if no leader has taken it: 1 (s is free again), else 0. */
int	queue_withdraw(struct qslot *s);

/* The batcher: says it leads (GET /status/ shows it; queue_release()
 * settles what it took should it die); sleeps up to wait_ms while nothing
 * is queued; takes up to max queued slots, oldest first, into out; hands
 * out the outcomes it wrote into the slots' ->out (a QO_BUSY one is
 * queued again in its place instead). */
void	queue_lead(void);
void	queue_await_work(int wait_ms);
size_t	queue_take(struct qslot **out, size_t max);
void	queue_done(struct qslot **s, size_t n);

/* The waiter is done with s. */
void	queue_free(struct qslot *s);

/* The master: pid is gone. Its queued order is dropped, its taken one
 * freed by the batcher; if it was the batcher, every slot it had taken
 * gets QO_SETTLE. */
void	queue_release(uint32_t pid);

/* A worker says whether it keeps a database connection (1) or not (0)
 * now; returns how many workers keep one. */
uint32_t queue_conn_note(int held);

void	queue_stats_read(struct queue_stats *out);

#endif
