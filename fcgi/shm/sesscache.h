/* sesscache.h - who a session token belongs to, remembered for a moment by
 * the whole pool, so that a request does not cost a database round trip
 * just to say who is asking.
 *
 * An entry is trusted for SESSCACHE_TTL_MS. Signing out forgets the token in
 * every worker at once (the table is one shared mapping made before the
 * workers fork), and so does `orderd admin --promote` for every session of
 * the pool (it asks the master, which forgets them all); a session revoked
 * some other way (another pool, by hand) lives on for at most the TTL: with
 * several pools on one database (./stack cluster), a token signed out through
 * one pool stops working on the others within 0.8 s (tests/cluster/
 * test_cluster_caches.py holds it to 1 s).
 *
 * A fill can race a forget: a request reads the session from the database,
 * the owner signs out, then the request stores what it read. So every slot
 * counts the forgets made in it (its generation): a request takes the count
 * with sesscache_begin() before its database read, and sesscache_put()
 * refuses the fill when the count has moved; a reader also refuses an entry
 * whose count is not the slot's. Forgetting only moves the count: it never
 * waits. Entries are written under a per-slot sequence lock (shared.h); a
 * reader that races a writer simply misses and asks the database. */
#ifndef ORDERD_SESSCACHE_H
#define ORDERD_SESSCACHE_H

#include <stdint.h>

#define SESSCACHE_SLOTS		4096
#define SESSCACHE_TTL_MS	800

/* Maps the shared table; call once in the master before forking. 0 or -1
 * (then nothing is ever cached). */
int	sesscache_init(void);

/* Looks up a token hash. 1 and fills id, admin and username (size >= 33)
 * when a fresh entry exists, else 0. */
int	sesscache_get(const unsigned char hash[32], int64_t *id, int *admin, char *username);

/* The generation of hash's slot: take it before reading the session from
 * the database, and pass it to sesscache_put(). */
uint64_t sesscache_begin(const unsigned char hash[32]);

/* Stores what was read after sesscache_begin() gave gen; skipped when the
 * token's slot was forgotten since (or another process is writing it). */
void	sesscache_put(const unsigned char hash[32], uint64_t gen, int64_t id, int admin,
	    const char *username);

/* Forgets a token (sign-out): no fill that began before is ever served. */
void	sesscache_forget(const unsigned char hash[32]);

/* Forgets every token (sessions revoked in the database by another
 * process: `orderd admin --promote`). */
void	sesscache_forget_all(void);

/* The master reaped process pid: frees (and empties) every slot it left
 * locked. */
void	sesscache_release(uint32_t pid);

#endif
