/* queue.h - the order queue of --lock queue, shared by every worker of the
 * pool: a waiting order's worker puts its order in a slot and sleeps; one
 * worker at a time leads, takes what is queued in arrival order, places it
 * as one batch (domain/batch.h) and hands every slot its outcome.
 *
 * Arrival order is a sequence number given when a slot is queued. The
 * leader is the oldest waiter that finds nobody leading; it leads until its
 * own order has its outcome, then wakes the oldest waiter still queued,
 * which leads next: under light load every batch is one order, under heavy
 * load a batch is whatever queued while the one before ran. Nobody waits on
 * a timer to fill a batch.
 *
 * A leader killed mid-batch: the master frees its place (queue_release());
 * every slot it had taken gets QO_SETTLE with the order id it gave it (0:
 * none yet, so nothing of it can have committed) and the MariaDB
 * connection of the batch, and its waiter finds out from the database
 * what happened (api/queue.c). The table lives in one anonymous shared
 * mapping made by the master before it forks. */
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
	/* how the answer reads (the leader renders it for the key) */
	int browser;
	char next[QUEUE_NEXT_MAX];	/* a form's next field, "" = none */
};

enum qoutcome {
	QO_NONE = 0,	/* not decided */
	QO_PLACED,	/* committed: order, totals */
	QO_REFUSED,	/* p: 404, 409, ... nothing of it was done */
	QO_KEY_TAKEN,	/* its Idempotency-Key was claimed first by another request */
	QO_FAILED,	/* the batch failed as a whole: p (503, 500); nothing done */
	QO_SETTLE	/* the batch's outcome is unknown: look at the database */
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
	uint32_t leader;	/* pid of the leader that took it */
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
	uint32_t leader;		/* pid, 0 = none */
	uint32_t queued;		/* waiting to be taken now */
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
	QT_LEAD,	/* nobody leads: this worker does now (queue_take...) */
	QT_WAIT		/* neither yet (woken, or wait_ms passed) */
};
/* Looks at s, sleeping up to wait_ms when there is nothing to do. */
enum qturn queue_wait(struct qslot *s, int wait_ms);

/* Withdraws s if no leader has taken it: 1 (s is free again), else 0. */
int	queue_withdraw(struct qslot *s);

/* The leader takes up to max queued slots, oldest first, into out. */
size_t	queue_take(struct qslot **out, size_t max);
/* The leader hands out the outcomes it wrote into the slots' ->out. */
void	queue_done(struct qslot **s, size_t n);
/* The leader steps down and wakes the oldest waiter still queued. */
void	queue_resign(void);

/* The waiter is done with s. */
void	queue_free(struct qslot *s);

/* The master: pid is gone. Its queued order is dropped, its taken one
 * freed by the leader; if it led, every slot it had taken gets
 * QO_SETTLE and the oldest waiter leads next. */
void	queue_release(uint32_t pid);

void	queue_stats_read(struct queue_stats *out);

#endif
