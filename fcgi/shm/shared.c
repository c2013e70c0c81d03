#include "config.h"

#include <errno.h>
#include <signal.h>
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
	uint64_t w = __atomic_load_n(l, __ATOMIC_RELAXED), want;
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
	want = NEXT(w, me);
	if (!__atomic_compare_exchange_n(l, &w, want, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return 0;
	/* Nothing written to the slot may become visible before the lock. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	*held = want;
	return 1;
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
	uint64_t w = __atomic_load_n(l, __ATOMIC_RELAXED), want;

	if (dead == 0 || OWNER(w) != dead)
		return 0;
	want = NEXT(w, (uint32_t)getpid());
	if (!__atomic_compare_exchange_n(l, &w, want, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return 0;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	*held = want;
	return 1;
}
