#include "config.h"

#include <stdio.h>
#include <string.h>

#include "sesscache.h"
#include "shared.h"

struct entry {
	uint64_t seq;		/* odd while being written */
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
	uint64_t s1, s2;

	if (table == NULL)
		return 0;
	e = slot_of(hash);
	s1 = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
	if (s1 & 1)
		return 0;
	memcpy(&copy, e, sizeof(copy));
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	s2 = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);
	if (s1 != s2 || copy.at_ms == 0 || mono_ms() - copy.at_ms >= SESSCACHE_TTL_MS ||
	    memcmp(copy.hash, hash, 32) != 0)
		return 0;
	*id = copy.id;
	*admin = copy.admin;
	memcpy(username, copy.username, sizeof(copy.username));
	username[sizeof(copy.username) - 1] = '\0';
	return 1;
}

/* Takes the slot's sequence lock; 0 when another writer holds it. */
static int
lock(struct entry *e, uint64_t *seq)
{
	uint64_t s = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);

	if (s & 1 || !__atomic_compare_exchange_n(&e->seq, &s, s + 1, 0, __ATOMIC_ACQUIRE,
	    __ATOMIC_RELAXED))
		return 0;
	*seq = s + 1;
	return 1;
}

static void
unlock(struct entry *e, uint64_t seq)
{
	__atomic_store_n(&e->seq, seq + 1, __ATOMIC_RELEASE);
}

void
sesscache_put(const unsigned char hash[32], int64_t id, int admin, const char *username)
{
	struct entry *e;
	uint64_t seq;

	if (table == NULL)
		return;
	e = slot_of(hash);
	if (!lock(e, &seq))
		return;
	memcpy(e->hash, hash, 32);
	e->id = id;
	e->admin = admin;
	snprintf(e->username, sizeof(e->username), "%s", username);
	e->at_ms = mono_ms();
	unlock(e, seq);
}

void
sesscache_forget(const unsigned char hash[32])
{
	struct entry *e;
	uint64_t seq;

	if (table == NULL)
		return;
	e = slot_of(hash);
	/* Spin: a forget must not be skipped (a writer holds the lock for a
	 * few instructions only). */
	while (!lock(e, &seq))
		;
	if (memcmp(e->hash, hash, 32) == 0)
		e->at_ms = 0;
	unlock(e, seq);
}
