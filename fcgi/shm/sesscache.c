#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "shm/sesscache.h"
#include "shm/shared.h"

struct entry {
	seqlock_t lock;		/* guards everything below but gen */
	uint64_t gen;		/* forgets made in this slot (atomic, lock-free) */
	uint64_t filled_gen;	/* gen the entry was read under */
	int64_t at_ms;		/* CLOCK_MONOTONIC ms when stored; 0 = empty */
	unsigned char hash[32];
	int64_t id;
	int32_t admin;
	char username[33];
};

static struct entry *table;

static struct entry *
slot_of(const unsigned char hash[32])
{
	uint32_t h;

	memcpy(&h, hash, sizeof(h));	/* a SHA-256: already uniform */
	return &table[h & (SESSCACHE_SLOTS - 1)];
}

int
sesscache_init(void)
{
	table = shared_alloc(SESSCACHE_SLOTS * sizeof(struct entry));
	return table != NULL ? 0 : -1;
}

int
sesscache_get(const unsigned char hash[32], int64_t *id, int *admin, char *username)
{
	struct entry *e, copy;

	if (table == NULL)
		return 0;
	e = slot_of(hash);
	if (!seqlock_copy(&e->lock, &copy, e, sizeof(copy)))
		return 0;
	/* A forget after the copy was taken is later than this read. */
	if (copy.filled_gen != __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE) || copy.at_ms == 0 ||
	    mono_ms() - copy.at_ms >= SESSCACHE_TTL_MS || memcmp(copy.hash, hash, 32) != 0)
		return 0;
	*id = copy.id;
	*admin = copy.admin;
	memcpy(username, copy.username, sizeof(copy.username));
	username[sizeof(copy.username) - 1] = '\0';
	return 1;
}

uint64_t
sesscache_begin(const unsigned char hash[32])
{
	return table != NULL ? __atomic_load_n(&slot_of(hash)->gen, __ATOMIC_ACQUIRE) : 0;
}

void
sesscache_put(const unsigned char hash[32], uint64_t gen, int64_t id, int admin,
    const char *username)
{
	struct entry *e;
	uint64_t held;

	if (table == NULL)
		return;
	e = slot_of(hash);
	if (!seqlock_lock(&e->lock, &held, NULL))
		return;
	/* Forgotten since the caller's database read began: what it read
	 * may be a session revoked since. (A forget after this check leaves
	 * filled_gen behind gen: readers refuse the entry.) */
	if (__atomic_load_n(&e->gen, __ATOMIC_ACQUIRE) != gen) {
		e->at_ms = 0;
		seqlock_unlock(&e->lock, held);
		return;
	}
	memcpy(e->hash, hash, 32);
	e->id = id;
	e->admin = admin;
	snprintf(e->username, sizeof(e->username), "%s", username);
	e->filled_gen = gen;
	e->at_ms = mono_ms();
	seqlock_unlock(&e->lock, held);
}

void
sesscache_forget(const unsigned char hash[32])
{
	if (table != NULL)
		__atomic_add_fetch(&slot_of(hash)->gen, 1, __ATOMIC_ACQ_REL);
}

void
sesscache_forget_all(void)
{
	size_t i;

	if (table != NULL)
		for (i = 0; i < SESSCACHE_SLOTS; i++)
			__atomic_add_fetch(&table[i].gen, 1, __ATOMIC_ACQ_REL);
}

static void
empty(void *slot)
{
	((struct entry *)slot)->at_ms = 0;
}

void
sesscache_release(uint32_t pid)
{
	_Static_assert(offsetof(struct entry, lock) == 0, "an entry begins with its lock");
	seqlock_release(table, SESSCACHE_SLOTS, sizeof(*table), pid, empty);
}
