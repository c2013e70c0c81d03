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

#include <stddef.h>

#include "base/arena.h"
#include "base/problem.h"
#include "domain/dberr.h"
#include "store/db.h"

#define IDEM_BODY_MAX	(64 * 1024)	/* bytes of a stored answer */
#define IDEM_LOCATION_MAX	1024	/* bytes of its Location, with the NUL */

struct idem {
	int64_t user;
	const char *key;
	size_t keylen;
	unsigned char hash[32];		/* SHA-256 of method, path and body */
	int taken;			/* a concurrent request committed this key first */
};

#define IDEM_KEY_MAX	200	/* characters of a key */

/* A write request as the key covers it (api/ reads it from the request). */
struct idem_request {
	const char *field;	/* the idempotency_key field (validated), or NULL */
	size_t field_len;
	const char *header;	/* else the Idempotency-Key header, or NULL */
	const char *method;	/* "POST" ... */
	const char *path;
	const char *body;	/* may be NULL */
	size_t body_len;
};

/* A stored answer. */
struct idem_answer {
	int status;
	char location[IDEM_LOCATION_MAX];	/* "" = none */
	const char *body;			/* in the arena */
	size_t body_len;
	int64_t age_s;				/* seconds since the key was claimed */
};

#define IDEM_LIFE_S	86400	/* a key answers for a day */

/* Fills id from rq: the key from the field, else the header (checked
 * here), and the hash of method, path and body. Returns 1 when the request
 * carries a key, 0 when not, -1 with a 422 when the header is not
 * 1..IDEM_KEY_MAX printable ASCII characters. */
int	idem_prepare(struct idem *id, const struct idem_request *rq, int64_t user,
	    struct problem *p);

/* Looks for a stored answer. Returns 0 when there is none; 1 with *ans the
 * answer to replay; -1 with p (422 key reused with another request,
 * 503/500). */
int	idem_replay(struct db *, struct arena *, const struct idem *, struct idem_answer *ans,
	    struct problem *p);

/* In the transaction: claims the key. DB_OK, or DB_ABORT with id->taken set
 * when another request holds it (the caller replays after rolling back). */
enum db_rc idem_claim(struct db *, struct idem *, struct problem *p);

/* In the transaction: stores the answer about to be sent (location NULL
 * or "" = none). */
enum db_rc idem_store(struct db *, const struct idem *, int status, const char *location,
	    const char *body, size_t body_len);

#endif
