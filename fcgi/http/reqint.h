/* reqint.h - what the stages of req_parse() hand each other; not part of
 * request.h's contract.
 *
 * The chain is request.c (CGI params, method override) -> negotiate.c
 * (Accept, Content-Type) -> body.c (urlencoded | JSON into a rawset) ->
 * fields.c (the field table: each raw pair through its field's validator
 * into struct req). */
#ifndef ORDERD_REQINT_H
#define ORDERD_REQINT_H

#include <stddef.h>

#include "http/request.h"

/* --- raw pairs: decoded, not yet validated ------------------------------- */

enum rawtype { RAW_STR, RAW_NUM, RAW_OTHER };

struct raw {
	const char *name;
	const char *val;
	size_t len;
	enum rawtype type;
};

/* A field of one element of items, before validation. */
struct rawitem {
	size_t idx;		/* element index */
	int quantity;		/* 0 = product, 1 = quantity */
	struct raw raw;
};

struct rawset {
	struct raw v[REQ_FIELDS_MAX];
	size_t n;
	struct rawitem *items;	/* allocated on the first one */
	size_t nitems;
	size_t nelems;		/* elements seen (max idx + 1) */
	int items_seen;		/* an "items" field was present */
};

/* The method an override names (the _method field, X-HTTP-Method-Override):
 * PUT, DELETE, PATCH or POST in any case, else M_OTHER. s need not be
 * NUL-terminated. */
enum method	 req_override_method(const char *s, size_t len);

#endif
