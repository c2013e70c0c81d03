/* request.c - req_parse(): the CGI parameters (method, path, query, method
 * override), handing the body to negotiate.c, body.c and fields.c. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/body.h"
#include "http/fields.h"
#include "http/negotiate.h"
#include "http/reqint.h"
#include "http/request.h"

static const char *const method_names[M__MAX] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OTHER"
};

enum method
req_method(const char *s)
{
	int i;

	if (s == NULL)
		return M_OTHER;
	for (i = 0; i < M_OTHER; i++)
		if (strcmp(s, method_names[i]) == 0)
			return (enum method)i;
	return M_OTHER;
}

/* The method an override names: PUT, DELETE, PATCH or POST, in any case
 * (a form's _method=put is a person's spelling, not a new method). */
enum method
req_override_method(const char *s, size_t len)
{
	static const enum method ok[] = { M_PUT, M_DELETE, M_PATCH, M_POST };
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strlen(method_names[ok[i]]) == len &&
		    strncasecmp(s, method_names[ok[i]], len) == 0)
			return ok[i];
	return M_OTHER;
}

const char *
req_method_name(enum method m)
{
	return (int)m >= 0 && m < M__MAX ? method_names[m] : "OTHER";
}

int
req_parse(struct req *r, struct arena *a, const struct req_input *in, struct problem *p)
{
	struct rawset *rs;
	const char *q;

	memset(r, 0, sizeof(*r));
	r->arena = a;
	r->in = in;
	r->wire_method = r->method = req_method(in->method);
	r->path = in->path != NULL ? in->path : "/";
	if ((q = strchr(r->path, '?')) != NULL)
		r->path = arena_strndup(a, r->path, (size_t)(q - r->path));
	if (r->path == NULL || strlen(r->path) > REQ_PATH_MAX) {
		problem_set(p, PROB_NOT_FOUND, "no such path");
		return -1;
	}
	/* Known before the body is read, so that even a malformed form post
	 * goes back to the page as a 303 rather than a JSON page. */
	r->browser = r->wire_method == M_POST && req_prefers_html(in->accept);
	if ((rs = arena_alloc(a, sizeof(*rs))) == NULL) {
		problem_set(p, PROB_TOO_LARGE, "request needs more memory than allowed");
		return -1;
	}

	if (r->method == M_GET || r->method == M_HEAD) {
		/* Query parameters: unknown ones are ignored (cache busters), known
		 * ones must be valid. A body on a GET is ignored. */
		if (in->query != NULL && strlen(in->query) > REQ_FIELDS_MAX * (REQ_VALUE_MAX + 1)) {
			problem_set(p, PROB_MALFORMED, "query string too long");
			return -1;
		}
		if (in->query != NULL &&
		    body_decode_form(a, in->query, strlen(in->query), rs, p) != 0)
			return -1;
		return fields_validate(r, rs, 0, p);
	}

	if (in->body_len > REQ_BODY_MAX) {
		problem_set(p, PROB_TOO_LARGE, "body is larger than %d bytes", REQ_BODY_MAX);
		return -1;
	}
	if (in->body_len > 0) {
		switch (req_body_media(in->content_type)) {
		case MEDIA_JSON:
			r->json = 1;
			if (body_decode_json(a, in->body, in->body_len, rs, p) != 0)
				return -1;
			break;
		case MEDIA_FORM:
			if (body_decode_form(a, in->body, in->body_len, rs, p) != 0)
				return -1;
			break;
		case MEDIA_OTHER:
			problem_set(p, PROB_MEDIA,
			    "send application/json or application/x-www-form-urlencoded");
			return -1;
		}
	}
	if (fields_validate(r, rs, 1, p) != 0)
		return -1;
	if (rs->items_seen && fields_validate_items(r, rs, p) != 0)
		return -1;

	/* Method override (docs/api.md): only a POST may become another method. */
	if (r->wire_method == M_POST) {
		if (r->f[F_METHOD].set)
			r->method = (enum method)r->f[F_METHOD].i;
		else if (in->override != NULL && in->override[0] != '\0') {
			enum method m = req_override_method(in->override, strlen(in->override));

			if (m == M_OTHER) {
				problem_set(p, PROB_MALFORMED,
				    "X-HTTP-Method-Override must be PUT, DELETE, PATCH or POST");
				return -1;
			}
			r->method = m;
		}
	}
	return 0;
}
