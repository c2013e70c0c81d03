#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "shm/shared.h"

int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void *
shared_alloc(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

#define OWNER(w)	((uint32_t)((w) & 0xffffffffu))
#define NEXT(w, pid)	((((w) >> 32) + 1) << 32 | (uint32_t)(pid))

int
seqlock_read_begin(const seqlock_t *l, uint64_t *snap)
{
	*snap = __atomic_load_n(l, __ATOMIC_ACQUIRE);
	return OWNER(*snap) == 0;
}

int
seqlock_read_end(const seqlock_t *l, uint64_t snap)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(l, __ATOMIC_RELAXED) == snap;
}

int
seqlock_copy(const seqlock_t *l, void *dst, const void *src, size_t n)
{
	uint64_t snap;

	if (!seqlock_read_begin(l, &snap))
		return 0;
	memcpy(dst, src, n);
	return seqlock_read_end(l, snap);
}

/* Moves the lock from w, as last read, to held by pid: 1 and *held, or 0
 * when the word is no longer w. */
static int
take(seqlock_t *l, uint64_t w, uint32_t pid, uint64_t *held)
{
	uint64_t want = NEXT(w, pid);

	if (!__atomic_compare_exchange_n(l, &w, want, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return 0;
	/* Nothing written to the slot may become visible before the lock. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	*held = want;
	return 1;
}

/* Whether the process that holds a lock is gone. A pid that was reused
 * since looks alive: its lock stays until that process is gone too. */
static int
owner_gone(uint32_t pid)
{
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

int
seqlock_lock(seqlock_t *l, uint64_t *held, int *broken)
{
	uint64_t w = __atomic_load_n(l, __ATOMIC_RELAXED);
	uint32_t me = (uint32_t)getpid();

	if (broken != NULL)
		*broken = 0;
	if (OWNER(w) != 0) {
		/* Held by this very pid: a dead process whose pid this one
		 * reused (a process never takes two slot locks at once). */
		if (OWNER(w) != me && !owner_gone(OWNER(w)))
			return 0;
		if (broken != NULL)
			*broken = 1;
	}
	return take(l, w, me, held);
}

void
seqlock_unlock(seqlock_t *l, uint64_t held)
{
	uint64_t w = held;

	/* A CAS, not a store: if the lock was broken meanwhile (this process
	 * was thought gone), the word is someone else's now. */
	__atomic_compare_exchange_n(l, &w, NEXT(held, 0), 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

int
seqlock_take_from(seqlock_t *l, uint32_t dead, uint64_t *held)
{
	uint64_t w = __atomic_load_n(l, __ATOMIC_RELAXED);

	if (dead == 0 || OWNER(w) != dead)
		return 0;
	return take(l, w, (uint32_t)getpid(), held);
}

void
seqlock_release(void *table, size_t n, size_t size, uint32_t dead, void (*empty)(void *slot))
{
	uint64_t held;
	size_t i;

	if (table == NULL)
		return;
	for (i = 0; i < n; i++) {
		char *slot = (char *)table + i * size;

		if (seqlock_take_from((seqlock_t *)(void *)slot, dead, &held)) {
			empty(slot);
			seqlock_unlock((seqlock_t *)(void *)slot, held);
		}
	}
}
