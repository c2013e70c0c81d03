/* auth.h - who is asking: passwords, bearer tokens, session cookies, CSRF.
 *
 * Passwords are hashed with Argon2id (libsodium crypto_pwhash_str). Tokens
 * are 256 random bits, shown once as 43 characters of base64url, stored only
 * as their SHA-256. The CSRF token of a cookie session is a keyed BLAKE2b of
 * its session token: stable for the session, and useless without it. */
#ifndef ORDERD_AUTH_H
#define ORDERD_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "base/problem.h"
#include "domain/dberr.h"
#include "store/db.h"

#define AUTH_TOKEN_LEN		43	/* base64url of 32 bytes, no padding */
#define AUTH_HASH_LEN		32
#define AUTH_USERNAME_MAX	32
#define AUTH_PASSWORD_MIN	8
#define AUTH_PASSWORD_MAX	256
#define AUTH_SESSION_DAYS	30
#define AUTH_SESSION_COOKIE	"orderd_session"
#define AUTH_CSRF_COOKIE	"orderd_csrf"

struct principal {
	int64_t id;			/* 0 = anonymous */
	char username[AUTH_USERNAME_MAX + 1];
	int admin;
	int via_cookie;			/* credentials came from the session cookie */
	char token[AUTH_TOKEN_LEN + 1];	/* as presented */
	unsigned char token_hash[AUTH_HASH_LEN];
};

/* The credentials a request presents, as api/ reads them from its headers
 * (http/hdr.h): a Bearer token first, else the session cookie. */
struct auth_creds {
	int not_bearer;		/* an Authorization header of another scheme */
	int present;		/* a token was presented: */
	const char *token;	/* its bytes (not NUL-terminated) */
	size_t len;
	int via_cookie;		/* it came from the session cookie */
};

/* Where a request comes from, as api/ reads it: whether it sent an Origin
 * or a Referer, whether that (the Origin when there is one) names this
 * host, and the CSRF token it carries (the csrf_token field, else the
 * X-CSRF-Token header; NULL = none). */
struct auth_from {
	int sent;
	int same_site;
	const char *csrf;
};

/* Once per process, before any other auth_ call. Returns 0 or -1. */
int	auth_init(void);

/* Identifies the caller presenting cr. Returns 0 with who filled (id 0
 * when no credentials were sent); -1 with p = 401 for credentials that are
 * malformed, unknown, expired or revoked, or 503/500 when the database
 * fails. */
int	auth_identify(struct db *, const struct auth_creds *cr, struct principal *who,
	    struct problem *p);

/* CSRF defence for a cookie-authenticated unsafe request: the Origin (or,
 * without one, the Referer) must be this host, and the CSRF token must
 * match the session's. 0 = allowed, -1 = 403. */
int	auth_check_csrf(const struct auth_from *from, const struct principal *who,
	    struct problem *p);

/* Login CSRF defence for POST /auth/login/ and /auth/register/: an Origin
 * (or, without one, a Referer) that is sent must be this host - a foreign
 * page must not sign a browser in to an account of its choosing. A request
 * with neither (a script) is allowed. 0 = allowed, -1 = 403 /problems/csrf. */
int	auth_check_signin_origin(const struct auth_from *from, struct problem *p);

/* The CSRF token of a session token, as 43 characters of base64url. */
void	auth_csrf_token(const char *token, char out[AUTH_TOKEN_LEN + 1]);

/* Username rules for new accounts: 3..32 of A-Z a-z 0-9 _ . - */
int	auth_username_ok(const char *s, size_t len);

/* Registers username with password. Returns 0 and sets *id; -1 with p:
 * 422 username/password rules, 409 /problems/username-taken, 503, 500. */
int	auth_register(struct db *, const char *username, size_t ulen, const char *password,
	    size_t plen, const char *role, int64_t *id, struct problem *p);

/* Checks username and password and opens a session. Returns 0 and fills
 * who (token set); -1 with p = 401 (the same answer for an unknown user and
 * a wrong password), 503, 500. */
int	auth_login(struct db *, const char *username, size_t ulen, const char *password,
	    size_t plen, struct principal *who, struct problem *p);

/* Revokes who's token. 0, or -1 with p (503/500). */
int	auth_logout(struct db *, const struct principal *who, struct problem *p);

/* Creates NAME as an administrator (or finds the existing administrator)
 * and opens a session for it; prints the token as the last line. An
 * existing account that is not an administrator is refused (exit 1)
 * unless promote: then it becomes one and every session it had is revoked
 * in the same transaction, and revoked(arg) is called to have the running
 * pool forget them (process/main.c). Exit status. */
int	auth_admin_command(struct db *, const char *name, int promote,
	    void (*revoked)(void *arg), void *arg);

#endif
