/* idemcache.h - the pool's shared memory of answers stored with an
 * Idempotency-Key, so that a repeated request is replayed without a
 * database round trip.
 *
 * An answer enters only once it is committed: put by the worker whose
 * write committed it (after COMMIT succeeded), or by one that read it back
 * from the database for a replay. A committed answer never changes, so an
 * entry can only be right or missing: a miss asks the database, which is
 * where a key used for another request is told apart (422). An entry is
 * matched on the user, the key itself and the hash of the request it
 * answered; it is kept IDEMCACHE_TTL_MS at most and never past the key's
 * day. Entries live in one anonymous shared mapping made by the master
 * before it forks, each guarded by a sequence lock (shared.h), as the
 * product cache's. */
#ifndef ORDERD_IDEMCACHE_H
#define ORDERD_IDEMCACHE_H

#include <stddef.h>
#include <stdint.h>

#define IDEMCACHE_SLOT_BITS	10
#define IDEMCACHE_SLOTS		(1 << IDEMCACHE_SLOT_BITS)	/* answers remembered (direct-mapped) */
#define IDEMCACHE_TTL_MS	60000	/* how long one is served */
#define IDEMCACHE_KEY_MAX	200	/* bytes of a key (longer: not remembered) */
#define IDEMCACHE_LOCATION_MAX	96	/* bytes of a Location, with the NUL */
#define IDEMCACHE_BODY_MAX	640	/* bytes of a body (longer: not remembered) */

struct idemcache_answer {
	int status;
	char location[IDEMCACHE_LOCATION_MAX];	/* "" = none */
	char body[IDEMCACHE_BODY_MAX];
	size_t body_len;
};

/* Maps the shared table; call once in the master before forking. 0, or -1
 * (then nothing is remembered: every replay asks the database). */
int	idemcache_init(void);

/* 1 and *out when the answer of user's key for the request whose hash is
 * hash is remembered, else 0. */
int	idemcache_get(int64_t user, const char *key, size_t keylen, const unsigned char hash[32],
	    struct idemcache_answer *out);

/* Remembers a committed answer for ttl_ms (at most IDEMCACHE_TTL_MS). An
 * answer too large for a slot, or a slot another process is writing, is
 * skipped. */
void	idemcache_put(int64_t user, const char *key, size_t keylen, const unsigned char hash[32],
	    int status, const char *location, const char *body, size_t body_len, int64_t ttl_ms);

/* The master reaped process pid: frees (and empties) every slot it left
 * locked. */
void	idemcache_release(uint32_t pid);

#endif
