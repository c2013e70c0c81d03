/* body.h - body decoding: urlencoded and JSON text into raw pairs.
 *
 * Each decoder enforces the limits of request.h (REQ_FIELDS_MAX, REQ_NAME_MAX,
 * REQ_VALUE_MAX, REQ_JSON_DEPTH_MAX, REQ_ITEMS_MAX, REQ_NUMBERS_MAX) and
 * fills rs with names and values as sent; fields.c validates them. */
#ifndef ORDERD_BODY_H
#define ORDERD_BODY_H

#include <stddef.h>

#include "base/arena.h"
#include "base/problem.h"
#include "http/reqint.h"

/* application/x-www-form-urlencoded text s[0..n) (a body, or the query
 * string, which uses the same encoding) into rs; items[N][product] and
 * items[N][quantity] go to rs->items. Returns 0, or -1 with p set: 400 bad
 * percent-encoding, invalid UTF-8, NUL, too many or too long fields; 422 an
 * items index out of range. */
int	 body_decode_form(struct arena *a, const char *s, size_t n, struct rawset *rs,
	    struct problem *p);

/* An application/json body s[0..n): an object whose members become raw
 * pairs, items an array of {product, quantity}. Returns 0, or -1 with p set:
 * 400 invalid UTF-8, NUL, bad or non-object JSON, too deep, too many fields
 * or numbers; 422 a malformed items. */
int	 body_decode_json(struct arena *a, const char *s, size_t n, struct rawset *rs,
	    struct problem *p);

#endif
