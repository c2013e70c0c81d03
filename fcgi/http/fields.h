/* fields.h - the field table: every field's wire name, validator kind and
 * bounds, and the validation of raw pairs against it into struct req.
 *
 * A field unknown, repeated, or failing its validator is a 422 naming it;
 * the messages are the API's (docs/api.md). */
#ifndef ORDERD_FIELDS_H
#define ORDERD_FIELDS_H

#include "base/problem.h"
#include "http/reqint.h"
#include "http/request.h"

/* Validates rs->v into r->f. strict: an unknown field is a 422 (a body);
 * otherwise it is ignored (a query: cache busters). `next` is taken first
 * when it is a safe local path, so a failing browser form still goes back to
 * its page. Returns 0, or -1 with p set. */
int	 fields_validate(struct req *r, const struct rawset *rs, int strict,
	    struct problem *p);

/* Validates rs->items into r->items, in element order. Returns 0, or -1 with
 * a 422 naming items[N].product / items[N].quantity. */
int	 fields_validate_items(struct req *r, const struct rawset *rs, struct problem *p);

#endif
