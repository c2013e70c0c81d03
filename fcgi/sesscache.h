/* sesscache.h - who a session token belongs to, remembered for a moment by
 * the whole pool, so that a request does not cost a database round trip
 * just to say who is asking (issue 7).
 *
 * An entry is trusted for SESSCACHE_TTL_MS. Signing out forgets the token in
 * every worker at once (the table is one shared mapping made before the
 * workers fork), so a revoked token is refused at once here; a session
 * revoked some other way (another pool, by hand) lives on for at most the
 * TTL. Entries are written under a per-slot sequence lock; a reader that
 * races a writer simply misses and asks the database. */
#ifndef ORDERD_SESSCACHE_H
#define ORDERD_SESSCACHE_H

#include <stdint.h>

#define SESSCACHE_SLOTS		4096
#define SESSCACHE_TTL_MS	2000

/* Maps the shared table; call once in the master before forking. 0 or -1
 * (then nothing is ever cached). */
int	sesscache_init(void);

/* Looks up a token hash. 1 and fills id, admin and username (size >= 33)
 * when a fresh entry exists, else 0. */
int	sesscache_get(const unsigned char hash[32], int64_t *id, int *admin, char *username);

void	sesscache_put(const unsigned char hash[32], int64_t id, int admin, const char *username);

/* Forgets a token (sign-out). */
void	sesscache_forget(const unsigned char hash[32]);

#endif
