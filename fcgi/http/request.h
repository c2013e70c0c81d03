/* request.h - from CGI parameters and body bytes to a validated field table.
 *
 * req_parse() is pure (no FastCGI, no database) so it can be unit tested and
 * fuzzed: it takes the raw request pieces and fills a struct req whose fields
 * have each passed the validator of their kind. It runs request.c (CGI
 * params) -> negotiate.c -> body.c -> fields.c; reqint.h is what they share.
 * The HTTP contract it implements is docs/api.md. */
#ifndef ORDERD_REQUEST_H
#define ORDERD_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/problem.h"

/* Named limits on everything that arrives from the network. */
#define REQ_BODY_MAX		65536	/* bytes; larger is 413 */
#define REQ_FIELDS_MAX		64	/* name=value pairs in a body or query */
#define REQ_NAME_MAX		64	/* bytes in a field name */
#define REQ_VALUE_MAX		4096	/* bytes in a field value */
#define REQ_JSON_DEPTH_MAX	16	/* nesting of arrays/objects */
#define REQ_PATH_MAX		1024	/* bytes in the path */
#define REQ_ITEMS_MAX		1000	/* elements of a checkout's items */
#define REQ_NUMBERS_MAX		4096	/* number tokens in one JSON body */

enum method {
	M_GET = 0, M_HEAD, M_POST, M_PUT, M_DELETE, M_PATCH, M_OTHER, M__MAX
};

/* Every field a handler may read. Each has one validator (valid.h) chosen by
 * fields[] in fields.c; handlers read only fields that passed. */
enum field {
	F_NAME = 0,	/* text 1..200 characters */
	F_PRICE,	/* integer cents 0..10^12 */
	F_STOCK,	/* integer 0..10^9 */
	F_GOODS,	/* id */
	F_PRODUCT,	/* id */
	F_QUANTITY,	/* integer 1..10^9; handlers narrow it */
	F_LIMIT,	/* integer 1..200 (query) */
	F_AFTER,	/* integer 0..2^63-1 (query) */
	F_NEXT,		/* redirect target for browser forms; unsafe values dropped */
	F_METHOD,	/* _method: PUT | DELETE | PATCH | POST */
	F_IDEMPOTENCY,	/* idempotency_key: 1..200 printable ASCII */
	F_ITEMS,	/* checkout lines: JSON [{"product","quantity"}...] or the form
			 * fields items[N][product], items[N][quantity] */
	F_PAY_METHOD,	/* word 1..16: the handler knows which ones it takes */
	F_USERNAME,	/* 1..64 bytes of UTF-8 kept as sent; register narrows it */
	F_PASSWORD,	/* secret: 1..1024 bytes of UTF-8, kept as sent */
	F_AMOUNT,	/* integer cents 1..10^12 */
	F_TO,		/* 1..64 bytes of UTF-8 kept as sent: a username */
	F_CSRF,		/* csrf_token: 0..200 printable ASCII */
	F_FORMAT,	/* query: json (default) or html */
	F_HISTORY,	/* query of GET /status/: seconds of history 0..600 */
	F_TOP,		/* query of GET /status/: products selling fastest 0..20 */
	F__MAX
};

struct field_val {
	int set;
	int64_t i;		/* integer kinds */
	const char *s;		/* text kinds: NUL-terminated, trimmed, in the arena */
	size_t len;
};

/* One element of items: product id and quantity (1..10^9; handlers narrow). */
struct req_item {
	int64_t product;
	int64_t quantity;
	size_t idx;		/* index as sent (form indices may have gaps) */
};

struct req {
	struct arena *arena;
	enum method method;		/* after _method / X-HTTP-Method-Override */
	enum method wire_method;	/* as received */
	const char *path;		/* without query string */
	int browser;			/* a form post whose Accept prefers text/html */
	int json;			/* body was JSON */
	struct field_val f[F__MAX];
	struct req_item *items;		/* when f[F_ITEMS].set: nitems >= 1 of them */
	size_t nitems;
	const struct req_input *in;	/* the raw pieces, for credentials and hashing */
};

/* The raw pieces of one request, as the web server handed them over. Any
 * pointer may be NULL (absent). body need not be NUL-terminated. */
struct req_input {
	const char *method;
	const char *path;
	const char *query;
	const char *content_type;
	const char *accept;
	const char *override;		/* X-HTTP-Method-Override */
	const char *authorization;	/* Authorization */
	const char *cookie;		/* Cookie */
	const char *origin;		/* Origin */
	const char *referer;		/* Referer */
	const char *host;		/* Host */
	const char *csrf;		/* X-CSRF-Token */
	const char *idempotency_key;	/* Idempotency-Key */
	const char *remote_addr;	/* REMOTE_ADDR: the peer of the web server */
	const char *body;
	size_t body_len;
};

/* Parses and validates in into r (allocating from a). Returns 0 on success;
 * otherwise -1 with p filled: 400 malformed body (bad JSON, non-object JSON,
 * bad percent-encoding, invalid UTF-8, NUL, too many or too long fields, too
 * deep), 413 body over REQ_BODY_MAX, 415 a body of another media type, 422 a
 * field unknown, repeated, or failing its validator (p names the field). */
int		 req_parse(struct req *r, struct arena *a, const struct req_input *in,
		    struct problem *p);

enum method	 req_method(const char *);
const char	*req_method_name(enum method);

/* Returns 1 when the Accept header prefers text/html to application/json
 * (RFC 9110 12.5.1 quality values, most specific range wins). */
int		 req_prefers_html(const char *accept);

/* Field name as it appears on the wire ("quantity", "_method"). */
const char	*req_field_name(enum field);

#endif
