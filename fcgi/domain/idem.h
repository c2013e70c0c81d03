/* idem.h - Idempotency-Key: one effect per key, the first answer replayed.
 *
 * The key is claimed by the first statement of the write's transaction (an
 * INSERT of the key's row) and the answer stored by its last one, so the
 * effect and its answer commit together. A concurrent request with the same
 * key blocks on that row until the first commits, then replays its answer;
 * if the first rolled back, it goes ahead itself. Only successful answers
 * are stored: a failed request leaves the key unused. */
#ifndef ORDERD_IDEM_H
#define ORDERD_IDEM_H

#include <stdint.h>

#include "base/arena.h"
#include "base/problem.h"
#include "domain/dberr.h"
#include "store/db.h"
#include "http/request.h"
#include "http/response.h"

#define IDEM_BODY_MAX	(64 * 1024)	/* bytes of a stored answer */

struct idem {
	int64_t user;
	const char *key;
	size_t keylen;
	unsigned char hash[32];		/* SHA-256 of method, path and body */
	int taken;			/* a concurrent request committed this key first */
};

#define IDEM_KEY_MAX	200	/* characters of a key */

/* Fills id from the request: key from the idempotency_key field (already
 * validated) or the Idempotency-Key header (checked here). Returns 1 when
 * the request carries a key, 0 when not, -1 with a 422 when the header is
 * not 1..IDEM_KEY_MAX printable ASCII characters. */
int	idem_prepare(struct idem *id, const struct req *r, int64_t user, struct problem *p);

/* Looks for a stored answer. Returns 0 when there is none; 1 when resp now
 * holds the replayed answer; -1 with p (422 key reused with another request,
 * 503/500). */
int	idem_replay(struct db *, struct arena *, const struct idem *, struct resp *,
	    struct problem *p);

/* In the transaction: claims the key. DB_OK, or DB_ABORT with id->taken set
 * when another request holds it (the caller replays after rolling back). */
enum db_rc idem_claim(struct db *, struct idem *, struct problem *p);

/* In the transaction: stores the answer about to be sent. */
enum db_rc idem_store(struct db *, const struct idem *, const struct resp *);

#endif
