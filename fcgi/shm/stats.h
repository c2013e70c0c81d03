/* stats.h - the pool's counters for GET /status/, in memory the master maps
 * before it forks, so that they outlive any worker.
 *
 * Three tables:
 *  - one block per process slot (the master's worker slots, then the
 *    reaper's and the batcher's): the worker in it (pid, state, since when,
 *    requests it served) and the counters it adds to - requests by route and
 *    status class, transactions, retries by MariaDB errno, answers by kind,
 *    cache hits and misses, the latency histogram. A block is never cleared
 *    when its worker is replaced: the totals are the sums over all blocks,
 *    so a worker killed mid-request loses nothing it had counted;
 *  - a ring of STATS_RING seconds (requests, orders, errors, retries and a
 *    latency histogram of each second), for history=N;
 *  - units sold per product over the last STATS_TOP_WINDOW seconds, for
 *    top=N.
 * Every counter is a relaxed __atomic add; no lock anywhere. A per-second
 * counter packs the second it counts (high 32 bits) with the count (low 32):
 * the first writer of a new second replaces the word with one CAS, so the
 * ring advances by itself, and a second nobody wrote in reads as zero.
 *
 * Without stats_init() (orderd migrate, audit, unit suites) every call is a
 * no-op and every read gives zeros. */
#ifndef ORDERD_STATS_H
#define ORDERD_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define STATS_WORKERS	512	/* the pool's worker slots (process/pool.c SLOTS_MAX) */
#define STATS_SLOT_REAPER	STATS_WORKERS
#define STATS_SLOT_BATCHER	(STATS_WORKERS + 1)
#define STATS_SLOT_OTHER	(STATS_WORKERS + 2)	/* a process with no slot of its own */
#define STATS_SLOTS	(STATS_WORKERS + 3)

#define STATS_ROUTES	32	/* route labels: 0 = a path no route matched */
#define STATS_CLASSES	4	/* 2xx 3xx 4xx 5xx (1xx counted as 2xx: none is sent) */
#define STATS_ERRNOS	16	/* distinct errnos retried on; more go to the last */
#define STATS_BUCKETS	54	/* finite latency buckets, 0.05 ms .. 10 s; +1 for +Inf */
#define STATS_RING	640	/* seconds kept for history (>= 600 complete) */
#define STATS_HISTORY_MAX	600
#define STATS_TOP_SLOTS	1024	/* products tracked for top (open addressing) */
#define STATS_TOP_WINDOW	64	/* seconds of sales kept per product */
#define STATS_TOP_SECONDS	60	/* "sold in the last 60 s" */

enum stats_state { STATS_IDLE = 0, STATS_READING, STATS_TXN, STATS_WRITING, STATS__STATES };

/* Counters beside the route matrix. */
enum stats_counter {
	SC_ORDERS = 0,		/* orders placed (committed): order, checkout, queue */
	SC_TRANSACTIONS,	/* transaction attempts begun */
	SC_COMMITS,
	SC_ROLLBACKS,
	SC_LOCK_WAITS,		/* statements ended by 1205 (innodb_lock_wait_timeout) */
	SC_UNAVAILABLE,		/* 503 /problems/unavailable answers */
	SC_OUTCOME_UNKNOWN,	/* 503 /problems/outcome-unknown answers */
	SC_SOLD_OUT,		/* 409 /problems/out-of-stock answers */
	SC_PROD_HIT, SC_PROD_MISS,
	SC_SESS_HIT, SC_SESS_MISS,
	SC_IDEM_HIT, SC_IDEM_MISS,
	SC__MAX
};

/* Maps the tables; the master, once, before forking. 0, or -1 (then
 * nothing is counted). */
int	stats_init(void);

/* The master started pid in worker slot (0..STATS_WORKERS-1, or one of the
 * aux slots) / reaped it. */
void	stats_slot_start(int slot, pid_t pid);
void	stats_slot_end(int slot, pid_t pid);

/* The forked child: which slot it counts in. */
void	stats_self(int slot);

/* This worker's state (idle, reading/handling, in a transaction, writing). */
void	stats_state(enum stats_state);

/* A request answered: its route label (router's route + 1; 0 = none), its
 * status and how long it took (microseconds). */
void	stats_request(int route, int status, int64_t us);

void	stats_add(enum stats_counter, uint64_t n);
/* A transaction or read retried after MariaDB error err. */
void	stats_retry(unsigned err);
/* An order placed; stats_sold for each of its lines. */
void	stats_order(void);
void	stats_sold(int64_t product, int64_t quantity);

/* --- reading ---------------------------------------------------------- */

struct stats_worker {
	int slot;
	pid_t pid;
	enum stats_state state;
	uint64_t requests;	/* served by this pid */
	int64_t started_ms;	/* wall clock, ms */
	int64_t state_since_ms;
};

struct stats_totals {
	uint64_t routes[STATS_ROUTES][STATS_CLASSES];
	uint64_t c[SC__MAX];
	unsigned errnos[STATS_ERRNOS];	/* 0 = unused; the last may hold "other" */
	uint64_t retries[STATS_ERRNOS];
	uint64_t hist[STATS_BUCKETS + 1];
	uint64_t count, sum_us, max_us;
};

struct stats_second {
	int64_t t;		/* unix seconds */
	uint64_t requests, orders, errors, retries;
	uint64_t hist[STATS_BUCKETS + 1];
};

struct stats_top {
	int64_t product;
	uint64_t sold;
};

/* Wall-clock ms the tables were made (the pool's start); 0 without them. */
int64_t	stats_started_ms(void);
/* The workers now in their slots (pid != 0), up to max; returns how many. */
size_t	stats_workers(struct stats_worker *out, size_t max);
void	stats_read(struct stats_totals *);
/* The last n complete seconds, oldest first (n <= STATS_HISTORY_MAX); the
 * count filled (fewer when the tables are younger). */
size_t	stats_history(struct stats_second *out, size_t n);
/* The n products sold most over the last STATS_TOP_SECONDS, most first. */
size_t	stats_top(struct stats_top *out, size_t n);

/* The upper bound of latency bucket k in microseconds (k < STATS_BUCKETS). */
uint32_t stats_bucket_us(size_t k);
/* The bucket of a latency in microseconds (STATS_BUCKETS = +Inf). */
size_t	stats_bucket_of(int64_t us);
/* The q-quantile (0..1) of a histogram in ms, interpolated inside its
 * bucket; max_us bounds the last one. -1 when it is empty. */
double	stats_quantile(const uint64_t hist[STATS_BUCKETS + 1], double q, uint64_t max_us);

const char *stats_state_name(enum stats_state);

/* For the unit suite: the ring's clock (CLOCK_MONOTONIC seconds) replaced;
 * 0 puts the real one back. */
void	stats_test_clock(int64_t mono_s, int64_t wall_s);

#endif
