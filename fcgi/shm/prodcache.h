/* prodcache.h - the pool's shared memory of GET /product/{id}/ answers.
 *
 * A product read is answered from here when the entry is fresh, without a
 * database round trip (the bench's scenario (a)). Every transaction that
 * changes a product row (order, checkout, abort, expiry, restock) leaves
 * prodcache_changed() for it with db_after_commit(): the transaction wrapper
 * runs it once the COMMIT succeeded or its outcome is unknown, before the
 * answer is written: whoever saw that answer reads the product anew. An
 * entry read from the database before such a change is never served after
 * it: it carries the slot's change count from before its read.
 *
 * Rows changed some other way (another pool, a hand-made UPDATE) show within
 * PRODCACHE_TTL_MS. Entries live in one anonymous shared mapping made by the
 * master before it forks, each guarded by a sequence lock (shared.h: a
 * reader that overlaps a writer takes nothing from it, and a lock left by a
 * killed writer is broken by the next one). */
#ifndef ORDERD_PRODCACHE_H
#define ORDERD_PRODCACHE_H

#include <stdint.h>

#include "shm/product.h"

#define PRODCACHE_SLOT_BITS	10
#define PRODCACHE_SLOTS		(1 << PRODCACHE_SLOT_BITS)	/* products remembered at once (direct-mapped) */
#define PRODCACHE_TTL_MS	250	/* how long an entry is served */

/* Maps the shared table; call once in the master before forking. Returns 0,
 * or -1 (then nothing is remembered: every read asks the database). */
int	prodcache_init(void);

/* 1 and *out when a fresh entry for product is there, else 0. */
int	prodcache_get(int64_t product, struct product *out);

/* The change count of product's slot: read it before reading the row. */
uint64_t prodcache_version(int64_t product);

/* Remembers pr, read from committed data after prodcache_version() gave
 * version. Skipped when another process is writing the slot. */
void	prodcache_put(const struct product *pr, uint64_t version);

/* Product's row may have changed: no entry read before now is served. */
void	prodcache_changed(int64_t product);

/* The master reaped process pid: frees (and empties) every slot it left
 * locked. */
void	prodcache_release(uint32_t pid);

#endif
