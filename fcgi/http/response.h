/* response.h - what goes back: JSON, problem+json (RFC 9457), or a 303 for
 * plain browser form posts. Pure: builds bytes in the request's arena; the
 * worker writes them to the FastCGI stream after the transaction ended. */
#ifndef ORDERD_RESPONSE_H
#define ORDERD_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "base/arena.h"
#include "base/fmt.h"
#include "base/problem.h"
#include "http/request.h"

#define RESP_LOCATION_MAX	1024
/* The worker's buffer for resp_head(): a head that does not fit is a 500. */
#define RESP_HEAD_MAX		2048

struct resp {
	int status;
	const char *ctype;		/* static string */
	char location[RESP_LOCATION_MAX];
	char allow[64];
	int retry_after;		/* seconds; 0 = no header */
	char extra[1024];		/* further "Name: value\r\n" lines */
	const char *body;		/* arena */
	size_t body_len;
};

void	 resp_init(struct resp *);

/* Adds a header line. name and value must come from us, not the client
 * (no CR/LF is checked for). Returns 0, or -1 when it does not fit. */
int	 resp_header(struct resp *, const char *name, const char *value);

/* Serializes obj as the body with status; application/json; charset=utf-8.
 * Returns 0, or -1 (and a 500 problem) when out of memory. */
int	 resp_json(struct resp *, struct arena *, int status, const cJSON *obj);

/* A problem as application/problem+json, or as a 303 back to the form's
 * `next` when the request is a browser form post (docs/api.md). Adds Allow for
 * 405 and Retry-After for 503 when the caller set them in the resp. */
void	 resp_problem(struct resp *, struct arena *, const struct req *,
	    const struct problem *);

/* A 303 for a successful browser form post: Location = next (default "/")
 * + "ok=<what>&id=<id>". */
void	 resp_see_other_ok(struct resp *, struct arena *, const struct req *,
	    const char *what, int64_t id);

/* Builds the CGI response header block ("Status: ...\r\n...\r\n\r\n") into
 * buf; returns its length, or 0 if it did not fit. */
size_t	 resp_head(const struct resp *, char *buf, size_t size);

const char *resp_reason(int status);

/* fmt_add_int() and fmt_append_int() (base/fmt.h) under the names this
 * layer's callers use. */
static inline cJSON *
resp_add_int(cJSON *obj, const char *name, int64_t v)
{
	return fmt_add_int(obj, name, v);
}

static inline cJSON *
resp_append_int(cJSON *arr, int64_t v)
{
	return fmt_append_int(arr, v);
}

#endif
