#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <mysqld_error.h>

#include "domain/auth.h"
#include "base/log.h"
#include "shm/sesscache.h"
#include "shm/stats.h"

/* Argon2id cost: t = 2 passes over 19 MiB (OWASP's recommendation for
 * Argon2id), a few tens of milliseconds per login on this machine. */
#define PW_OPSLIMIT	2
#define PW_MEMLIMIT	(19u * 1024 * 1024)

static const unsigned char csrf_key[crypto_generichash_KEYBYTES] = "orderd csrf token derivation v1";

/* A hash to verify against when the user does not exist, so that an
 * unknown username costs as long as a wrong password. */
static char dummy_hash[crypto_pwhash_STRBYTES];

int
auth_init(void)
{
	if (sodium_init() < 0)
		return -1;
	return crypto_pwhash_str(dummy_hash, "not a password", 14, PW_OPSLIMIT, PW_MEMLIMIT);
}

static void
b64url(const unsigned char *in, size_t n, char *out, size_t outsize)
{
	sodium_bin2base64(out, outsize, in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void
auth_csrf_token(const char *token, char out[AUTH_TOKEN_LEN + 1])
{
	unsigned char h[32];

	crypto_generichash(h, sizeof(h), (const unsigned char *)token, strlen(token),
	    csrf_key, sizeof(csrf_key));
	b64url(h, sizeof(h), out, AUTH_TOKEN_LEN + 1);
}

static void
token_hash(const char *token, unsigned char out[AUTH_HASH_LEN])
{
	crypto_hash_sha256(out, (const unsigned char *)token, strlen(token));
}

static int
token_ok(const char *t, size_t n)
{
	size_t i;

	if (n != AUTH_TOKEN_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (!((t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' && t[i] <= 'z') ||
		    (t[i] >= '0' && t[i] <= '9') || t[i] == '-' || t[i] == '_'))
			return 0;
	return 1;
}

int
auth_username_ok(const char *s, size_t n)
{
	size_t i;

	if (n < 3 || n > AUTH_USERNAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return 0;
	return 1;
}

static void
unauthorized(struct problem *p, const char *why)
{
	problem_set(p, PROB_UNAUTHORIZED, "%s", why);
}

int
auth_identify(struct db *db, const struct auth_creds *cr, struct principal *who,
    struct problem *p)
{
	char role[16];
	struct db_val in[1];
	struct db_col out[] = { DBC_I64(&who->id), DBC_STR(who->username, sizeof(who->username)),
	    DBC_STR(role, sizeof(role)) };
	enum db_rc rc;
	uint64_t gen;
	int found;

	memset(who, 0, sizeof(*who));
	if (cr->not_bearer) {
		unauthorized(p, "use Authorization: Bearer <token>");
		return -1;
	}
	if (!cr->present)
		return 0;
	who->via_cookie = cr->via_cookie;
	if (!token_ok(cr->token, cr->len)) {
		unauthorized(p, "the token is not valid");
		return -1;
	}
	memcpy(who->token, cr->token, cr->len);
	who->token[cr->len] = '\0';
	token_hash(who->token, who->token_hash);
	if (sesscache_get(who->token_hash, &who->id, &who->admin, who->username)) {
		stats_add(SC_SESS_HIT, 1);
		return 0;
	}
	stats_add(SC_SESS_MISS, 1);
	gen = sesscache_begin(who->token_hash);	/* before the read: see sesscache.h */
	in[0] = DBV_BLOB(who->token_hash, AUTH_HASH_LEN);
	if ((rc = db_one(db, ST_SESSION_GET, in, 1, out, 3, &found)) != DB_OK) {
		db_problem(db, rc, p);
		return -1;
	}
	if (!found) {
		who->id = 0;
		unauthorized(p, "the token is unknown, expired or revoked; sign in again");
		return -1;
	}
	who->admin = strcmp(role, "admin") == 0;
	sesscache_put(who->token_hash, gen, who->id, who->admin, who->username);
	return 0;
}

int
auth_check_signin_origin(const struct auth_from *from, struct problem *p)
{
	if (from->sent && !from->same_site) {
		problem_set(p, PROB_CSRF, "sign-in and registration must come from this site "
		    "(Origin or Referer), or from a script that sends neither");
		return -1;
	}
	return 0;
}

int
auth_check_csrf(const struct auth_from *from, const struct principal *who,
    struct problem *p)
{
	const char *sent = from->csrf;
	char want[AUTH_TOKEN_LEN + 1];

	if (!who->via_cookie)
		return 0;
	if (!from->same_site) {
		problem_set(p, PROB_CSRF, "a cookie-authenticated request must come from this site "
		    "(Origin or Referer)");
		return -1;
	}
	auth_csrf_token(who->token, want);
	if (sent == NULL || strlen(sent) != AUTH_TOKEN_LEN ||
	    sodium_memcmp(sent, want, AUTH_TOKEN_LEN) != 0) {
		problem_set(p, PROB_CSRF, "missing or wrong CSRF token (form field csrf_token or "
		    "header X-CSRF-Token)");
		return -1;
	}
	return 0;
}

int
auth_register(struct db *db, const char *username, size_t ulen, const char *password,
    size_t plen, const char *role, int64_t *id, struct problem *p)
{
	char hash[crypto_pwhash_STRBYTES];
	enum db_rc rc;

	if (!auth_username_ok(username, ulen)) {
		problem_set(p, PROB_FIELD, "username must be 3 to %d of A-Z a-z 0-9 _ . -",
		    AUTH_USERNAME_MAX);
		problem_add_str(p, "field", "username");
		return -1;
	}
	if (plen < AUTH_PASSWORD_MIN || plen > AUTH_PASSWORD_MAX) {
		problem_set(p, PROB_FIELD, "password must be %d to %d bytes", AUTH_PASSWORD_MIN,
		    AUTH_PASSWORD_MAX);
		problem_add_str(p, "field", "password");
		return -1;
	}
	if (crypto_pwhash_str(hash, password, plen, PW_OPSLIMIT, PW_MEMLIMIT) != 0) {
		problem_set(p, PROB_UNAVAILABLE, "out of memory hashing the password; try again");
		return -1;
	}
	{
		struct db_val in[] = { DBV_STR(username, ulen), DBV_STR(hash, strlen(hash)),
		    DBV_STR(role, strlen(role)) };

		rc = db_exec(db, ST_USER_INSERT, in, 3);
	}
	sodium_memzero(hash, sizeof(hash));
	if (rc != DB_OK) {
		if (db->last_errno == ER_DUP_ENTRY) {
			problem_set(p, PROB_USERNAME_TAKEN, "username '%.*s' is taken", (int)ulen,
			    username);
			problem_add_str(p, "field", "username");
		} else
			db_problem(db, rc, p);
		return -1;
	}
	*id = (int64_t)db->last_insert_id;
	return 0;
}

static int
open_session(struct db *db, struct principal *who, struct problem *p)
{
	unsigned char raw[32];
	enum db_rc rc;

	randombytes_buf(raw, sizeof(raw));
	b64url(raw, sizeof(raw), who->token, sizeof(who->token));
	sodium_memzero(raw, sizeof(raw));
	token_hash(who->token, who->token_hash);
	{
		struct db_val in[] = { DBV_BLOB(who->token_hash, AUTH_HASH_LEN), DBV_I64(who->id) };

		if ((rc = db_exec(db, ST_SESSION_INSERT, in, 2)) != DB_OK) {
			db_problem(db, rc, p);
			return -1;
		}
	}
	return 0;
}

/* Reads a user by name: 1 found, 0 not, -1 error (p set). */
static int
user_by_name(struct db *db, const char *name, size_t len, struct principal *who, char *hash,
    size_t hashsize, int64_t *balance, struct problem *p)
{
	char role[16];
	struct db_val in[] = { DBV_STR(name, len) };
	struct db_col out[] = { DBC_I64(&who->id), DBC_STR(who->username, sizeof(who->username)),
	    DBC_STR(hash, hashsize), DBC_STR(role, sizeof(role)), DBC_I64(balance) };
	enum db_rc rc;
	int found;

	if ((rc = db_one(db, ST_USER_BY_NAME, in, 1, out, 5, &found)) != DB_OK) {
		db_problem(db, rc, p);
		return -1;
	}
	who->admin = found && strcmp(role, "admin") == 0;
	return found;
}

int
auth_login(struct db *db, const char *username, size_t ulen, const char *password,
    size_t plen, struct principal *who, struct problem *p)
{
	char hash[crypto_pwhash_STRBYTES + 1];
	int64_t balance;
	int found;

	memset(who, 0, sizeof(*who));
	/* A name that cannot be a username is not looked up: it is a wrong
	 * username like any other (and the ASCII column would refuse it). */
	found = auth_username_ok(username, ulen) ?
	    user_by_name(db, username, ulen, who, hash, sizeof(hash), &balance, p) : 0;
	if (found < 0)
		return -1;
	if (found == 0) {
		/* Spend the same time as a wrong password would. */
		if (crypto_pwhash_str_verify(dummy_hash, password, plen) == 0)
			log_error("the dummy password hash matched a password");
		unauthorized(p, "wrong username or password");
		return -1;
	}
	if (crypto_pwhash_str_verify(hash, password, plen) != 0) {
		unauthorized(p, "wrong username or password");
		return -1;
	}
	return open_session(db, who, p);
}

int
auth_logout(struct db *db, const struct principal *who, struct problem *p)
{
	struct db_val in[] = { DBV_BLOB(who->token_hash, AUTH_HASH_LEN) };
	enum db_rc rc;

	if ((rc = db_exec(db, ST_SESSION_REVOKE, in, 1)) != DB_OK) {
		db_problem(db, rc, p);
		return -1;
	}
	sesscache_forget(who->token_hash);
	return 0;
}

/* Makes user id an administrator and revokes every session it has, in one
 * transaction: whoever holds a token of the account now signs in again. */
static enum db_rc
promote_txn(struct db *db, void *arg, struct problem *p)
{
	const int64_t *id = arg;
	struct db_val in[] = { DBV_I64(*id) };
	enum db_rc rc;

	(void)p;
	if ((rc = db_exec(db, ST_USER_SET_ADMIN, in, 1)) != DB_OK)
		return rc;
	return db_exec(db, ST_SESSION_REVOKE_USER, in, 1);
}

int
auth_admin_command(struct db *db, const char *name, int promote,
    void (*revoked)(void *arg), void *arg)
{
	struct principal who;
	struct problem p;
	char hash[crypto_pwhash_STRBYTES + 1];
	int64_t balance, id;
	int found;

	if (auth_init() != 0) {
		fprintf(stderr, "orderd admin: libsodium failed to initialise\n");
		return 1;
	}
	memset(&who, 0, sizeof(who));
	memset(&p, 0, sizeof(p));
	found = user_by_name(db, name, strlen(name), &who, hash, sizeof(hash), &balance, &p);
	if (found < 0) {
		fprintf(stderr, "orderd admin: %s\n", p.detail);
		return 1;
	}
	if (found == 0) {
		/* A random password nobody knows: the token is the way in. */
		unsigned char raw[24];
		char pw[40];

		randombytes_buf(raw, sizeof(raw));
		b64url(raw, sizeof(raw), pw, sizeof(pw));
		if (auth_register(db, name, strlen(name), pw, strlen(pw), "admin", &id, &p) != 0) {
			fprintf(stderr, "orderd admin: %s\n", p.detail);
			return 1;
		}
		who.id = id;
		printf("created administrator %s (id %lld)\n", name, (long long)id);
	} else if (who.admin) {
		printf("%s (id %lld) is an administrator\n", who.username, (long long)who.id);
	} else if (!promote) {
		/* Whoever registered the name first knows its password. */
		fprintf(stderr, "orderd admin: %s (id %lld) is an existing account that is not an "
		    "administrator; to make it one (its password stays, its sessions are revoked) "
		    "run again with --promote\n", who.username, (long long)who.id);
		return 1;
	} else {
		if (db_txn(db, promote_txn, &who.id, &p) != 0) {
			fprintf(stderr, "orderd admin: %s\n", p.detail);
			return 1;
		}
		printf("%s (id %lld) is now an administrator; its sessions were revoked\n",
		    who.username, (long long)who.id);
		fflush(stdout);
		if (revoked != NULL)
			revoked(arg);
	}
	if (open_session(db, &who, &p) != 0) {
		fprintf(stderr, "orderd admin: %s\n", p.detail);
		return 1;
	}
	printf("bearer token (valid 30 days):\n%s\n", who.token);
	return 0;
}
