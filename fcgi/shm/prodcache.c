#include "config.h"

#include <stddef.h>
#include <string.h>

#include "shm/prodcache.h"
#include "shm/shared.h"

struct slot {
	seqlock_t lock;		/* held while a process writes the entry */
	uint64_t changes;	/* prodcache_changed() calls for this slot */
	uint64_t version;	/* changes when the entry was read */
	int64_t stored_ms;	/* mono_ms() when it was stored */
	struct product pr;	/* pr.id 0 = empty */
};

static struct slot *table;

static struct slot *
slot_of(int64_t product)
{
	return &table[shared_slot((uint64_t)product, PRODCACHE_SLOT_BITS)];
}

int
prodcache_init(void)
{
	table = shared_alloc(PRODCACHE_SLOTS * sizeof(struct slot));
	return table != NULL ? 0 : -1;
}

/* A seqlock reader: copy, then check no writer began or ended meanwhile. A
 * change count that moves during the copy only makes the entry look stale
 * (a miss), or was made after this read began (the read comes first). */
int
prodcache_get(int64_t product, struct product *out)
{
	struct slot *s, copy;

	if (table == NULL)
		return 0;
	s = slot_of(product);
	if (!seqlock_copy(&s->lock, &copy, s, sizeof(copy)) || copy.pr.id != product ||
	    copy.version != __atomic_load_n(&s->changes, __ATOMIC_ACQUIRE) ||
	    mono_ms() - copy.stored_ms >= PRODCACHE_TTL_MS)
		return 0;
	memcpy(out, &copy.pr, sizeof(*out));
	return 1;
}

uint64_t
prodcache_version(int64_t product)
{
	return table != NULL ? __atomic_load_n(&slot_of(product)->changes, __ATOMIC_ACQUIRE) : 0;
}

void
prodcache_put(const struct product *pr, uint64_t version)
{
	struct slot *s;
	uint64_t held;

	if (table == NULL || pr->id <= 0)
		return;
	s = slot_of(pr->id);
	if (!seqlock_lock(&s->lock, &held, NULL))
		return;
	memcpy(&s->pr, pr, sizeof(*pr));
	__atomic_store_n(&s->version, version, __ATOMIC_RELAXED);
	__atomic_store_n(&s->stored_ms, mono_ms(), __ATOMIC_RELAXED);
	seqlock_unlock(&s->lock, held);
}

void
prodcache_changed(int64_t product)
{
	if (table != NULL)
		__atomic_add_fetch(&slot_of(product)->changes, 1, __ATOMIC_ACQ_REL);
}

static void
empty(void *slot)
{
	((struct slot *)slot)->pr.id = 0;
}

void
prodcache_release(uint32_t pid)
{
	_Static_assert(offsetof(struct slot, lock) == 0, "a slot begins with its lock");
	seqlock_release(table, PRODCACHE_SLOTS, sizeof(*table), pid, empty);
}
