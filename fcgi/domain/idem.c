#include "config.h"

#include <string.h>

#include <mysqld_error.h>
#include <sodium.h>

#include "domain/idem.h"
#include "base/log.h"

int
idem_prepare(struct idem *id, const struct idem_request *rq, int64_t user,
    struct problem *p)
{
	crypto_hash_sha256_state st;
	static const unsigned char zero = 0;

	memset(id, 0, sizeof(*id));
	if (rq->field != NULL) {
		id->key = rq->field;
		id->keylen = rq->field_len;
	} else if (rq->header != NULL) {
		size_t i;

		id->key = rq->header;
		id->keylen = strlen(id->key);
		for (i = 0; i < id->keylen; i++)
			if ((unsigned char)id->key[i] < 0x21 || (unsigned char)id->key[i] > 0x7e)
				break;
		if (id->keylen == 0 || id->keylen > IDEM_KEY_MAX || i < id->keylen) {
			problem_set(p, PROB_FIELD, "Idempotency-Key must be 1 to %d printable "
			    "ASCII characters", IDEM_KEY_MAX);
			problem_add_str(p, "field", "idempotency_key");
			return -1;
		}
	} else
		return 0;
	id->user = user;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)rq->method, strlen(rq->method));
	crypto_hash_sha256_update(&st, &zero, 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)rq->path, strlen(rq->path));
	crypto_hash_sha256_update(&st, &zero, 1);
	if (rq->body != NULL)
		crypto_hash_sha256_update(&st, (const unsigned char *)rq->body, rq->body_len);
	crypto_hash_sha256_final(&st, id->hash);
	return 1;
}

int
idem_replay(struct db *db, struct arena *a, const struct idem *id, struct idem_answer *ans,
    struct problem *p)
{
	char hash[33], *body;
	int64_t status, age = 0;
	struct db_val in[] = { DBV_I64(id->user), DBV_STR(id->key, id->keylen) };
	struct db_col out[5];
	enum db_rc rc;
	int r;

	if ((body = arena_alloc(a, IDEM_BODY_MAX + 1)) == NULL) {
		problem_set(p, PROB_INTERNAL, "out of memory");
		return -1;
	}
	out[0] = DBC_STR(hash, sizeof(hash));
	out[1] = DBC_I64(&status);
	out[2] = DBC_STR(ans->location, sizeof(ans->location));
	out[3] = DBC_STR(body, IDEM_BODY_MAX + 1);
	out[4] = DBC_I64(&age);
	if ((rc = db_query(db, ST_IDEM_GET, in, 2, out, 5)) != DB_OK) {
		db_problem(db, rc, p);
		return -1;
	}
	r = db_fetch(db, ST_IDEM_GET);
	db_end(db, ST_IDEM_GET);
	if (r < 0) {
		db_problem(db, db_failure(db), p);
		return -1;
	}
	if (r == 0 || status == 0)
		return 0;
	if (out[0].len != sizeof(id->hash) || memcmp(hash, id->hash, sizeof(id->hash)) != 0) {
		problem_set(p, PROB_IDEM_REUSED, "this Idempotency-Key was used for another request");
		problem_add_str(p, "field", "idempotency_key");
		return -1;
	}
	ans->status = (int)status;
	if (out[2].is_null)
		ans->location[0] = '\0';
	ans->body = body;
	ans->body_len = out[3].is_null ? 0 : out[3].len;
	ans->age_s = out[4].is_null ? IDEM_LIFE_S : age;
	return 1;
}

enum db_rc
idem_claim(struct db *db, struct idem *id, struct problem *p)
{
	struct db_val in[] = { DBV_I64(id->user), DBV_STR(id->key, id->keylen),
	    DBV_BLOB(id->hash, sizeof(id->hash)) };
	struct db_val key[] = { DBV_I64(id->user), DBV_STR(id->key, id->keylen) };
	enum db_rc rc;

	if ((rc = db_exec(db, ST_IDEM_CLAIM, in, 3)) == DB_OK)
		return DB_OK;
	if (db->last_errno != ER_DUP_ENTRY)
		return rc;
	/* Taken: by a live answer, or by one older than a day that may go. */
	if ((rc = db_exec(db, ST_IDEM_DROP_EXPIRED, key, 2)) != DB_OK)
		return rc;
	if (db->affected == 1)
		return db_exec(db, ST_IDEM_CLAIM, in, 3);
	id->taken = 1;
	problem_set(p, PROB_IDEM_REUSED, "this Idempotency-Key is in use");
	return DB_ABORT;
}

enum db_rc
idem_store(struct db *db, const struct idem *id, int status, const char *location,
    const char *body, size_t body_len)
{
	struct db_val in[] = { DBV_I64(status),
	    location != NULL && location[0] ? DBV_STR(location, strlen(location)) : DBV_NULL,
	    DBV_BLOB(body, body_len), DBV_I64(id->user),
	    DBV_STR(id->key, id->keylen) };

	return db_exec(db, ST_IDEM_STORE, in, 5);
}
