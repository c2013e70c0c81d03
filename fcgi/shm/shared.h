/* shared.h - small pieces the master and the workers share: a monotonic
 * clock, memory mapped once by the master and shared by every worker it
 * forks (the sold-out marks, the session cache, the product cache), the
 * slot hash those tables use and the sequence lock of a slot. */
#ifndef ORDERD_SHARED_H
#define ORDERD_SHARED_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds and in seconds. */
int64_t	mono_ms(void);
double	mono_s(void);

/* Zeroed memory shared with every process forked afterwards; NULL when it
 * cannot be mapped (errno set). */
void	*shared_alloc(size_t bytes);

/* The slot of key in a table of 2^bits slots (Fibonacci hashing). */
static inline size_t
shared_slot(uint64_t key, unsigned bits)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> (64 - bits));
}

/* A sequence lock guarding one slot of a table in shared memory: a count
 * in the high 32 bits and the pid of the writer holding it in the low 32
 * (0 = free). Every lock and unlock moves the count, so a reader that finds
 * the word unchanged after copying the slot copied no write.
 *
 * Nobody waits on it. A reader that finds it held misses at once (the
 * caller asks the database). A writer that finds it held by a live process
 * gives up at once (a cache fill is skipped); one held by a process that is
 * gone - a worker killed between the two halves of its write - is broken:
 * the writer takes it over and must rewrite the whole slot, which that
 * dead writer may have left half written. The master also frees every lock
 * of a worker it reaps (seqlock_take_from), so a lock outlives its owner
 * even when the owner's pid is reused. A live writer's lock is never
 * broken (a writer holds it for a few instructions and no system call).
 * Zero-filled memory is a free lock. */
typedef uint64_t seqlock_t;

/* Starts a read: 1 and *snap, or 0 when a writer holds the lock (a miss). */
int	seqlock_read_begin(const seqlock_t *l, uint64_t *snap);

/* Ends a read begun with snap: 1 when nothing was written meanwhile, so
 * the copy taken in between is whole; 0 = a miss. */
int	seqlock_read_end(const seqlock_t *l, uint64_t snap);

/* A whole read: copies n bytes of the slot at src, which l guards, into dst.
 * 1 when no write overlapped the copy, else 0 (a miss). */
int	seqlock_copy(const seqlock_t *l, void *dst, const void *src, size_t n);

/* Takes the lock for this process: 1 and *held (pass it to
 * seqlock_unlock); 0 when a live writer holds it. A lock left by a dead
 * process is broken and taken (*broken set to 1 when broken is not NULL). */
int	seqlock_lock(seqlock_t *l, uint64_t *held, int *broken);

void	seqlock_unlock(seqlock_t *l, uint64_t held);

/* Takes the lock when the process dead holds it: the master, having
 * reaped that worker, frees what it held even if its pid is already
 * someone else's. 1 and *held (the caller invalidates the slot, then
 * unlocks), else 0. */
int	seqlock_take_from(seqlock_t *l, uint32_t dead, uint64_t *held);

/* The master reaped process dead: in table, n slots of size bytes each
 * beginning with its seqlock_t, frees every lock dead held, emptying the
 * slot with empty() under it first (dead may have left it half written). */
void	seqlock_release(void *table, size_t n, size_t size, uint32_t dead,
	    void (*empty)(void *slot));

#endif
