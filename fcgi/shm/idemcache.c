/* idemcache.c - remembered answers of Idempotency-Keys (idemcache.h). */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "shm/idemcache.h"
#include "shm/shared.h"

struct slot {
	seqlock_t lock;		/* held while a process writes the entry */
	int64_t user;		/* 0 = empty */
	int64_t until_ms;	/* mono_ms() past which it is not served */
	unsigned char hash[32];
	uint16_t keylen;
	char key[IDEMCACHE_KEY_MAX];
	struct idemcache_answer ans;
};

static struct slot *table;

/* FNV-1a of the user and the key. */
static struct slot *
slot_of(int64_t user, const char *key, size_t keylen)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)user;
	size_t i;

	for (i = 0; i < keylen; i++)
		h = (h ^ (unsigned char)key[i]) * 0x100000001b3ULL;
	return &table[shared_slot(h, IDEMCACHE_SLOT_BITS)];
}

int
idemcache_init(void)
{
	table = shared_alloc(IDEMCACHE_SLOTS * sizeof(struct slot));
	return table != NULL ? 0 : -1;
}

int
idemcache_get(int64_t user, const char *key, size_t keylen, const unsigned char hash[32],
    struct idemcache_answer *out)
{
	struct slot *s;
	uint64_t snap;
	size_t n;

	if (table == NULL || user <= 0 || keylen == 0 || keylen > IDEMCACHE_KEY_MAX)
		return 0;
	s = slot_of(user, key, keylen);
	/* Compare in place, copy the answer, then check that no write overlapped. */
	if (!seqlock_read_begin(&s->lock, &snap))
		return 0;
	if (s->user != user || s->keylen != keylen || memcmp(s->key, key, keylen) != 0 ||
	    memcmp(s->hash, hash, sizeof(s->hash)) != 0 || mono_ms() >= s->until_ms)
		return 0;
	/* Read once: a torn length (a writer overlapped) is caught below. */
	if ((n = __atomic_load_n(&s->ans.body_len, __ATOMIC_RELAXED)) > IDEMCACHE_BODY_MAX)
		return 0;
	out->status = s->ans.status;
	memcpy(out->location, s->ans.location, sizeof(out->location));
	out->location[sizeof(out->location) - 1] = '\0';
	out->body_len = n;
	memcpy(out->body, s->ans.body, n);
	return seqlock_read_end(&s->lock, snap);
}

void
idemcache_put(int64_t user, const char *key, size_t keylen, const unsigned char hash[32],
    int status, const char *location, const char *body, size_t body_len, int64_t ttl_ms)
{
	struct slot *s;
	size_t loclen = location != NULL ? strlen(location) : 0;
	uint64_t held;

	if (table == NULL || user <= 0 || keylen == 0 || keylen > IDEMCACHE_KEY_MAX ||
	    loclen >= IDEMCACHE_LOCATION_MAX || body_len > IDEMCACHE_BODY_MAX || ttl_ms <= 0)
		return;
	if (ttl_ms > IDEMCACHE_TTL_MS)
		ttl_ms = IDEMCACHE_TTL_MS;
	s = slot_of(user, key, keylen);
	if (!seqlock_lock(&s->lock, &held, NULL))
		return;
	s->user = user;
	s->until_ms = mono_ms() + ttl_ms;
	memcpy(s->hash, hash, sizeof(s->hash));
	s->keylen = (uint16_t)keylen;
	memcpy(s->key, key, keylen);
	s->ans.status = status;
	memcpy(s->ans.location, location != NULL ? location : "", loclen);
	s->ans.location[loclen] = '\0';
	memcpy(s->ans.body, body, body_len);
	s->ans.body_len = body_len;
	seqlock_unlock(&s->lock, held);
}

static void
empty(void *slot)
{
	((struct slot *)slot)->user = 0;
}

void
idemcache_release(uint32_t pid)
{
	_Static_assert(offsetof(struct slot, lock) == 0, "a slot begins with its lock");
	seqlock_release(table, IDEMCACHE_SLOTS, sizeof(*table), pid, empty);
}
