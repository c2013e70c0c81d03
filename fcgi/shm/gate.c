/* gate.c - the bound on workers inside writes (gate.h). */
#include "config.h"

#include <linux/futex.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shm/gate.h"
#include "shm/shared.h"

struct entry {
	uint32_t pid;		/* the worker that claimed it; 0 = free */
	uint32_t n;		/* keys published; 0 = not inside a write */
	int64_t since_ms;	/* when it entered (CLOCK_MONOTONIC) */
	uint64_t keys[GATE_KEYS];
};

struct table {
	int writers_max, row_max;
	uint32_t used;		/* entries [0, used) have been claimed */
	uint32_t left;		/* writes that left: waiters sleep on it (futex) */
	uint32_t waiting;	/* workers sleeping on it */
	int64_t stuck_ms[GATE_MARKS];	/* when a key of this slot was found stuck */
	struct entry e[GATE_ENTRIES];
};

static struct table *table;
static struct entry *mine;	/* this worker's entry */
static pid_t mine_pid;

#define LOAD(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)

int
gate_init(int workers)
{
	if ((table = shared_alloc(sizeof(*table))) == NULL)
		return -1;
	gate_bounds(workers - (workers / 4 > 0 ? workers / 4 : 1),
	    workers / 2 < GATE_ROW_MAX ? workers / 2 : GATE_ROW_MAX);
	return 0;
}

void
gate_bounds(int writers_max, int row_max)
{
	if (table == NULL)
		return;
	STORE(&table->writers_max, writers_max > 0 ? writers_max : 1);
	STORE(&table->row_max, row_max > 0 ? row_max : 1);
}

/* This process's entry, claimed on first use; NULL when the table is full. */
static struct entry *
claim(void)
{
	pid_t me = getpid();
	size_t i, at;

	if (mine != NULL && mine_pid == me)
		return mine;
	mine = NULL;
	at = shared_slot((uint64_t)me, 10) % GATE_ENTRIES;
	for (i = 0; i < GATE_ENTRIES; i++) {
		struct entry *e = &table->e[(at + i) % GATE_ENTRIES];
		uint32_t free_ = 0;

		if (__atomic_compare_exchange_n(&e->pid, &free_, (uint32_t)me, 0,
		    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
			uint32_t used = LOAD(&table->used), want = (uint32_t)((at + i) % GATE_ENTRIES) + 1;

			while (used < want && !__atomic_compare_exchange_n(&table->used, &used, want,
			    0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
				;
			mine = e;
			mine_pid = me;
			return e;
		}
	}
	return NULL;
}

static int64_t *
mark_of(uint64_t key)
{
	return &table->stuck_ms[shared_slot(key, GATE_MARK_BITS)];
}

/* Sleeps until a write leaves (the count moved from seen), 2 ms at most:
 * a waiter takes a freed place at once, and still looks again at whether
 * its row has stood still. */
static void
wait_for_leave(uint32_t seen)
{
	struct timespec t = { 0, 2 * 1000 * 1000 };

	__atomic_add_fetch(&table->waiting, 1, __ATOMIC_SEQ_CST);
	if (LOAD(&table->left) == seen)
		syscall(SYS_futex, &table->left, FUTEX_WAIT, seen, &t, NULL, 0);
	__atomic_sub_fetch(&table->waiting, 1, __ATOMIC_SEQ_CST);
}

/* Who else is inside a write: how many in all and when the latest of them
 * entered; for each of my keys, how many and when the latest entered. */
static int
count(const struct entry *me, const uint64_t *keys, size_t n, int *per_key,
    int64_t *latest_key, int64_t *latest)
{
	uint32_t used = LOAD(&table->used), i, k, j, m;
	int writers = 0;

	*latest = INT64_MIN;
	for (k = 0; k < n; k++) {
		per_key[k] = 0;
		latest_key[k] = INT64_MIN;
	}
	for (i = 0; i < used; i++) {
		const struct entry *e = &table->e[i];
		int64_t since;

		if (e == me || (m = LOAD(&e->n)) == 0)
			continue;
		writers++;
		if ((since = LOAD(&e->since_ms)) > *latest)
			*latest = since;
		for (j = 0; j < m && j < GATE_KEYS; j++) {
			uint64_t key = LOAD(&e->keys[j]);

			for (k = 0; k < n; k++)
				if (keys[k] == key) {
					per_key[k]++;
					if (since > latest_key[k])
						latest_key[k] = since;
				}
		}
	}
	return writers;
}

enum gate_rc
gate_enter(const uint64_t *keys, size_t n, uint64_t *key)
{
	int per_key[GATE_KEYS];
	int64_t latest_key[GATE_KEYS], latest, now = mono_ms(), until = now + GATE_WAIT_MS;
	struct entry *me;
	size_t k;

	*key = 0;
	if (table == NULL || (me = claim()) == NULL)
		return GATE_IN;
	if (n > GATE_KEYS)
		n = GATE_KEYS;
	for (;;) {
		int writers, full = -1, pool_full, stuck = 0;
		uint32_t seen = LOAD(&table->left);

		STORE(&me->since_ms, now);
		STORE(&me->keys[0], 0);		/* no key: a write of the pool's bound only */
		for (k = 0; k < n; k++)
			STORE(&me->keys[k], keys[k]);
		/* Published before counting (a full barrier between): of two
		 * workers entering together, each sees the other. */
		__atomic_store_n(&me->n, n > 0 ? (uint32_t)n : 1, __ATOMIC_SEQ_CST);
		writers = count(me, keys, n, per_key, latest_key, &latest);
		pool_full = writers >= LOAD(&table->writers_max);
		for (k = 0; k < n && !stuck; k++)
			if (per_key[k] >= LOAD(&table->row_max)) {
				full = (int)k;
				/* Nobody got into this row for a while: it does
				 * not move. A row found stuck a moment ago that
				 * is full again has let in the next ones to wait
				 * out its lock: the rest need not wait to learn. */
				stuck = now - latest_key[k] >= GATE_STUCK_MS ||
				    now - LOAD(mark_of(keys[k])) < GATE_STUCK_KEPT_MS;
			}
		if (full < 0 && !pool_full)
			return GATE_IN;
		__atomic_store_n(&me->n, 0, __ATOMIC_SEQ_CST);
		if (full < 0)
			stuck = now - latest >= GATE_STUCK_MS;
		if (stuck && full >= 0 && now - latest_key[full] >= GATE_STUCK_MS)
			STORE(mark_of(keys[full]), now);
		if (stuck || now >= until) {
			*key = full >= 0 ? keys[full] : 0;
			return full >= 0 ? GATE_ROW_BUSY : GATE_POOL_BUSY;
		}
		wait_for_leave(seen);
		now = mono_ms();
	}
}

/* A write left (or a dead worker's place was freed): wakes the waiters. */
static void
left_one(void)
{
	__atomic_add_fetch(&table->left, 1, __ATOMIC_SEQ_CST);
	if (LOAD(&table->waiting) > 0)
		syscall(SYS_futex, &table->left, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

void
gate_leave(void)
{
	if (mine == NULL)
		return;
	__atomic_store_n(&mine->n, 0, __ATOMIC_SEQ_CST);
	left_one();
}

void
gate_release(uint32_t pid)
{
	uint32_t used, i;

	if (table == NULL || pid == 0)
		return;
	used = LOAD(&table->used);
	for (i = 0; i < used; i++)
		if (LOAD(&table->e[i].pid) == pid) {
			__atomic_store_n(&table->e[i].n, 0, __ATOMIC_SEQ_CST);
			__atomic_store_n(&table->e[i].pid, 0, __ATOMIC_SEQ_CST);
			left_one();
		}
}
