#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shm/shared.h"
#include "shm/stats.h"

/* One process slot's block: written by the process in the slot (and its
 * header by the master), read by anyone. Cache-line aligned: no two
 * workers write one line. */
struct block {
	int32_t pid;
	int32_t state;
	int64_t started_ms;
	int64_t since_ms;
	uint64_t requests;
	uint64_t c[SC__MAX];
	uint64_t routes[STATS_ROUTES][STATS_CLASSES];
	uint64_t retries[STATS_ERRNOS];
	uint64_t hist[STATS_BUCKETS + 1];
	uint64_t sum_us, max_us;
} __attribute__((aligned(64)));

/* One second of the ring: each word is (second << 32 | count). */
struct second {
	uint64_t requests, orders, errors, retries;
	uint64_t hist[STATS_BUCKETS + 1];
} __attribute__((aligned(64)));

struct topslot {
	int64_t product;	/* 0 = free */
	uint64_t w[STATS_TOP_WINDOW];	/* (second << 32 | units) */
};

struct tables {
	int64_t started_ms;
	int64_t started_mono;
	unsigned errnos[STATS_ERRNOS];
	struct block b[STATS_SLOTS];
	struct second ring[STATS_RING];
	struct topslot top[STATS_TOP_SLOTS];
};

static struct tables *T;
static int self = STATS_SLOT_OTHER;
static int64_t test_mono, test_wall;

/* The latency buckets' upper bounds in microseconds: the R10 series
 * (1, 1.25, 1.6, 2, 2.5, 3.15, 4, 5, 6.3, 8) from 0.05 ms to 10 s. */
static const uint32_t bound_us[STATS_BUCKETS] = {
	50, 63, 80,
	100, 125, 160, 200, 250, 315, 400, 500, 630, 800,
	1000, 1250, 1600, 2000, 2500, 3150, 4000, 5000, 6300, 8000,
	10000, 12500, 16000, 20000, 25000, 31500, 40000, 50000, 63000, 80000,
	100000, 125000, 160000, 200000, 250000, 315000, 400000, 500000, 630000, 800000,
	1000000, 1250000, 1600000, 2000000, 2500000, 3150000, 4000000, 5000000, 6300000,
	8000000, 10000000,
};

static int64_t
wall_ms(void)
{
	struct timespec ts;

	if (test_wall != 0)
		return test_wall * 1000;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
mono_sec(void)
{
	struct timespec ts;

	if (test_mono != 0)
		return test_mono;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

void
stats_test_clock(int64_t mono_s, int64_t wall_s)
{
	test_mono = mono_s;
	test_wall = wall_s;
}

int
stats_init(void)
{
	if ((T = shared_alloc(sizeof(*T))) == NULL)
		return -1;
	T->started_ms = wall_ms();
	T->started_mono = mono_sec();
	return 0;
}

static inline void
add(uint64_t *w, uint64_t n)
{
	__atomic_fetch_add(w, n, __ATOMIC_RELAXED);
}

static inline struct block *
mine(void)
{
	return T != NULL ? &T->b[self] : NULL;
}

void
stats_slot_start(int slot, pid_t pid)
{
	struct block *b;

	if (T == NULL || slot < 0 || slot >= STATS_SLOTS)
		return;
	b = &T->b[slot];
	__atomic_store_n(&b->requests, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&b->state, STATS_IDLE, __ATOMIC_RELAXED);
	__atomic_store_n(&b->started_ms, wall_ms(), __ATOMIC_RELAXED);
	__atomic_store_n(&b->since_ms, wall_ms(), __ATOMIC_RELAXED);
	__atomic_store_n(&b->pid, (int32_t)pid, __ATOMIC_RELEASE);
}

void
stats_slot_end(int slot, pid_t pid)
{
	int32_t p = (int32_t)pid;

	if (T == NULL || slot < 0 || slot >= STATS_SLOTS)
		return;
	__atomic_compare_exchange_n(&T->b[slot].pid, &p, 0, 0, __ATOMIC_RELEASE,
	    __ATOMIC_RELAXED);
}

void
stats_self(int slot)
{
	self = slot >= 0 && slot < STATS_SLOTS ? slot : STATS_SLOT_OTHER;
}

void
stats_state(enum stats_state s)
{
	struct block *b = mine();

	if (b == NULL)
		return;
	__atomic_store_n(&b->since_ms, wall_ms(), __ATOMIC_RELAXED);
	__atomic_store_n(&b->state, (int32_t)s, __ATOMIC_RELAXED);
}

/* --- the ring ------------------------------------------------------------ */

static inline uint32_t
sec32(int64_t mono)
{
	return (uint32_t)(mono + 1);	/* zeroed memory is never a second */
}

/* Adds n to a per-second word for second sec: the first writer of a newer
 * second starts it over; a write for a second older than the word's is
 * dropped (it is long gone). */
static void
ring_add(uint64_t *w, uint32_t sec, uint64_t n)
{
	uint64_t old = __atomic_load_n(w, __ATOMIC_RELAXED), nw;

	for (;;) {
		uint32_t s = (uint32_t)(old >> 32);

		if (s == sec)
			nw = old + n;
		else if ((int32_t)(sec - s) > 0)
			nw = (uint64_t)sec << 32 | (n & 0xffffffffu);
		else
			return;
		if (__atomic_compare_exchange_n(w, &old, nw, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return;
	}
}

static inline uint64_t
ring_get(const uint64_t *w, uint32_t sec)
{
	uint64_t v = __atomic_load_n(w, __ATOMIC_RELAXED);

	return (uint32_t)(v >> 32) == sec ? (v & 0xffffffffu) : 0;
}

static struct second *
second_of(int64_t mono)
{
	return &T->ring[(uint64_t)mono % STATS_RING];
}

/* --- counting ------------------------------------------------------------ */

size_t
stats_bucket_of(int64_t us)
{
	size_t lo = 0, hi = STATS_BUCKETS;

	if (us < 0)
		us = 0;
	/* The first bound >= us. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if ((int64_t)bound_us[mid] < us)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint32_t
stats_bucket_us(size_t k)
{
	return k < STATS_BUCKETS ? bound_us[k] : UINT32_MAX;
}

void
stats_request(int route, int status, int64_t us)
{
	struct block *b = mine();
	struct second *s;
	size_t k;
	int cls;
	uint64_t m;
	int64_t now;

	if (b == NULL)
		return;
	if (route < 0 || route >= STATS_ROUTES)
		route = 0;
	cls = status / 100 - 2;
	cls = cls < 0 ? 0 : cls >= STATS_CLASSES ? STATS_CLASSES - 1 : cls;
	if (us < 0)
		us = 0;
	k = stats_bucket_of(us);
	add(&b->routes[route][cls], 1);
	add(&b->requests, 1);
	add(&b->hist[k], 1);
	add(&b->sum_us, (uint64_t)us);
	m = __atomic_load_n(&b->max_us, __ATOMIC_RELAXED);
	while ((uint64_t)us > m &&
	    !__atomic_compare_exchange_n(&b->max_us, &m, (uint64_t)us, 1, __ATOMIC_RELAXED,
	    __ATOMIC_RELAXED))
		;
	now = mono_sec();
	s = second_of(now);
	ring_add(&s->requests, sec32(now), 1);
	ring_add(&s->hist[k], sec32(now), 1);
	if (status >= 500)
		ring_add(&s->errors, sec32(now), 1);
}

void
stats_add(enum stats_counter c, uint64_t n)
{
	struct block *b = mine();

	if (b != NULL && (int)c >= 0 && c < SC__MAX)
		add(&b->c[c], n);
}

void
stats_retry(unsigned err)
{
	struct block *b = mine();
	size_t i;
	int64_t now;

	if (b == NULL)
		return;
	for (i = 0; i < STATS_ERRNOS - 1; i++) {
		unsigned e = __atomic_load_n(&T->errnos[i], __ATOMIC_ACQUIRE), zero = 0;

		if (e == err)
			break;
		if (e == 0) {
			if (__atomic_compare_exchange_n(&T->errnos[i], &zero, err, 0,
			    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) || zero == err)
				break;
		}
	}
	add(&b->retries[i], 1);	/* i == STATS_ERRNOS - 1: any other */
	now = mono_sec();
	ring_add(&second_of(now)->retries, sec32(now), 1);
}

void
stats_order(void)
{
	int64_t now;

	if (T == NULL)
		return;
	stats_add(SC_ORDERS, 1);
	now = mono_sec();
	ring_add(&second_of(now)->orders, sec32(now), 1);
}

/* Whether a product slot sold nothing within the window (free to take). */
static int
top_stale(const struct topslot *t, uint32_t sec)
{
	size_t i;

	for (i = 0; i < STATS_TOP_WINDOW; i++) {
		uint32_t s = (uint32_t)(__atomic_load_n(&t->w[i], __ATOMIC_RELAXED) >> 32);

		if (s != 0 && (int32_t)(sec - s) < STATS_TOP_WINDOW)
			return 0;
	}
	return 1;
}

void
stats_sold(int64_t product, int64_t quantity)
{
	size_t h, i;
	int64_t now;
	uint32_t sec;

	if (T == NULL || product <= 0 || quantity <= 0)
		return;
	now = mono_sec();
	sec = sec32(now);
	h = shared_slot((uint64_t)product, 10);
	/* Up to 8 places from its own: a product takes a free one, or one
	 * whose product sold nothing for a window. Past that it is not
	 * counted (top is a view of the busiest, not an account). */
	for (i = 0; i < 8; i++) {
		struct topslot *t = &T->top[(h + i) % STATS_TOP_SLOTS];
		int64_t p = __atomic_load_n(&t->product, __ATOMIC_ACQUIRE);

		if (p != product && (p == 0 || top_stale(t, sec)) &&
		    !__atomic_compare_exchange_n(&t->product, &p, product, 0, __ATOMIC_ACQ_REL,
		    __ATOMIC_ACQUIRE) && p != product)
			continue;
		if (__atomic_load_n(&t->product, __ATOMIC_ACQUIRE) != product)
			continue;
		ring_add(&t->w[(uint64_t)now % STATS_TOP_WINDOW], sec, (uint64_t)quantity);
		return;
	}
}

/* --- reading ------------------------------------------------------------- */

const char *
stats_state_name(enum stats_state s)
{
	switch (s) {
	case STATS_IDLE:	return "idle";
	case STATS_READING:	return "reading";
	case STATS_TXN:		return "in-transaction";
	case STATS_WRITING:	return "writing";
	default:		return "idle";
	}
}

int64_t
stats_started_ms(void)
{
	return T != NULL ? T->started_ms : 0;
}

size_t
stats_workers(struct stats_worker *out, size_t max)
{
	size_t n = 0;
	int i;

	if (T == NULL)
		return 0;
	for (i = 0; i < STATS_WORKERS && n < max; i++) {
		const struct block *b = &T->b[i];
		int32_t pid = __atomic_load_n(&b->pid, __ATOMIC_ACQUIRE);

		if (pid == 0)
			continue;
		out[n].slot = i;
		out[n].pid = (pid_t)pid;
		out[n].state = (enum stats_state)__atomic_load_n(&b->state, __ATOMIC_RELAXED);
		if ((int)out[n].state < 0 || out[n].state >= STATS__STATES)
			out[n].state = STATS_IDLE;
		out[n].requests = __atomic_load_n(&b->requests, __ATOMIC_RELAXED);
		out[n].started_ms = __atomic_load_n(&b->started_ms, __ATOMIC_RELAXED);
		out[n].state_since_ms = __atomic_load_n(&b->since_ms, __ATOMIC_RELAXED);
		n++;
	}
	return n;
}

void
stats_read(struct stats_totals *t)
{
	size_t i, j, k;

	memset(t, 0, sizeof(*t));
	if (T == NULL)
		return;
	for (k = 0; k < STATS_ERRNOS; k++)
		t->errnos[k] = __atomic_load_n(&T->errnos[k], __ATOMIC_ACQUIRE);
	for (i = 0; i < STATS_SLOTS; i++) {
		const struct block *b = &T->b[i];
		uint64_t m;

		for (j = 0; j < STATS_ROUTES; j++)
			for (k = 0; k < STATS_CLASSES; k++)
				t->routes[j][k] += __atomic_load_n(&b->routes[j][k], __ATOMIC_RELAXED);
		for (k = 0; k < SC__MAX; k++)
			t->c[k] += __atomic_load_n(&b->c[k], __ATOMIC_RELAXED);
		for (k = 0; k < STATS_ERRNOS; k++)
			t->retries[k] += __atomic_load_n(&b->retries[k], __ATOMIC_RELAXED);
		for (k = 0; k <= STATS_BUCKETS; k++)
			t->hist[k] += __atomic_load_n(&b->hist[k], __ATOMIC_RELAXED);
		t->sum_us += __atomic_load_n(&b->sum_us, __ATOMIC_RELAXED);
		m = __atomic_load_n(&b->max_us, __ATOMIC_RELAXED);
		if (m > t->max_us)
			t->max_us = m;
	}
	for (k = 0; k <= STATS_BUCKETS; k++)
		t->count += t->hist[k];
}

size_t
stats_history(struct stats_second *out, size_t n)
{
	int64_t now, from, s, wall;
	size_t m = 0, k;

	if (T == NULL)
		return 0;
	if (n > STATS_HISTORY_MAX)
		n = STATS_HISTORY_MAX;
	now = mono_sec();
	wall = wall_ms() / 1000;
	from = now - (int64_t)n;
	if (from < T->started_mono)
		from = T->started_mono;
	for (s = from; s < now; s++) {
		const struct second *e = second_of(s);
		uint32_t sec = sec32(s);
		struct stats_second *o = &out[m++];

		o->t = wall - (now - s);
		o->requests = ring_get(&e->requests, sec);
		o->orders = ring_get(&e->orders, sec);
		o->errors = ring_get(&e->errors, sec);
		o->retries = ring_get(&e->retries, sec);
		for (k = 0; k <= STATS_BUCKETS; k++)
			o->hist[k] = ring_get(&e->hist[k], sec);
	}
	return m;
}

static int
top_cmp(const void *a, const void *b)
{
	const struct stats_top *x = a, *y = b;

	if (x->sold != y->sold)
		return x->sold < y->sold ? 1 : -1;
	return x->product < y->product ? -1 : x->product > y->product;
}

size_t
stats_top(struct stats_top *out, size_t n)
{
	static struct stats_top all[STATS_TOP_SLOTS];
	size_t i, j, m = 0;
	int64_t now;
	uint32_t sec;

	if (T == NULL || n == 0)
		return 0;
	now = mono_sec();
	sec = sec32(now);
	for (i = 0; i < STATS_TOP_SLOTS; i++) {
		const struct topslot *t = &T->top[i];
		int64_t p = __atomic_load_n(&t->product, __ATOMIC_ACQUIRE);
		uint64_t sold = 0;

		if (p == 0)
			continue;
		for (j = 0; j < STATS_TOP_WINDOW; j++) {
			uint64_t w = __atomic_load_n(&t->w[j], __ATOMIC_RELAXED);
			uint32_t s = (uint32_t)(w >> 32);

			if (s != 0 && (int32_t)(sec - s) >= 0 &&
			    (int32_t)(sec - s) < STATS_TOP_SECONDS)
				sold += w & 0xffffffffu;
		}
		if (sold > 0) {
			all[m].product = p;
			all[m].sold = sold;
			m++;
		}
	}
	qsort(all, m, sizeof(all[0]), top_cmp);
	if (m > n)
		m = n;
	memcpy(out, all, m * sizeof(all[0]));
	return m;
}

double
stats_quantile(const uint64_t hist[STATS_BUCKETS + 1], double q, uint64_t max_us)
{
	uint64_t total = 0, seen = 0;
	double rank, lo, hi;
	size_t k;

	for (k = 0; k <= STATS_BUCKETS; k++)
		total += hist[k];
	if (total == 0)
		return -1;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	rank = q * (double)total;
	if (rank < 1)
		rank = 1;
	for (k = 0; k <= STATS_BUCKETS; k++) {
		if (hist[k] == 0 || (double)(seen + hist[k]) < rank) {
			seen += hist[k];
			continue;
		}
		lo = k == 0 ? 0 : bound_us[k - 1];
		hi = k < STATS_BUCKETS ? bound_us[k] : (double)max_us;
		if (max_us > 0 && hi > (double)max_us && (double)max_us >= lo)
			hi = (double)max_us;
		if (hi < lo)
			hi = lo;
		return (lo + (hi - lo) * ((rank - (double)seen) / (double)hist[k])) / 1000.0;
	}
	return (double)max_us / 1000.0;
}
