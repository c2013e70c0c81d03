#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/fmt.h"
#include "http/response.h"

void
resp_init(struct resp *r)
{
	memset(r, 0, sizeof(*r));
	r->status = 200;
	r->ctype = "application/json; charset=utf-8";
	r->body = "";
}

int
resp_header(struct resp *r, const char *name, const char *value)
{
	size_t used = strlen(r->extra);
	int n;

	n = snprintf(r->extra + used, sizeof(r->extra) - used, "%s: %s\r\n", name, value);
	if (n < 0 || (size_t)n >= sizeof(r->extra) - used) {
		r->extra[used] = '\0';
		return -1;
	}
	return 0;
}

const char *
resp_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

static int
set_body(struct resp *r, struct arena *a, char *printed)
{
	if (printed == NULL)
		return -1;
	r->body_len = strlen(printed);
	r->body = arena_strndup(a, printed, r->body_len);
	cJSON_free(printed);
	return r->body == NULL ? -1 : 0;
}

static void
internal(struct resp *r)
{
	static const char body[] = "{\"type\":\"/problems/internal\",\"title\":"
	    "\"Internal server error\",\"status\":500,\"detail\":\"out of memory\"}";

	r->status = 500;
	r->ctype = "application/problem+json";
	r->body = body;
	r->body_len = sizeof(body) - 1;
}

int
resp_json(struct resp *r, struct arena *a, int status, const cJSON *obj)
{
	r->status = status;
	r->ctype = "application/json; charset=utf-8";
	if (set_body(r, a, cJSON_PrintUnformatted(obj)) != 0) {
		internal(r);
		return -1;
	}
	return 0;
}

/* Appends "&name=value" (or "?name=value" first) with value percent-encoded
 * per the urlencoded serializer (unreserved kept, space as '+'). */
static void
qs_add(char *buf, size_t size, const char *name, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(buf);
	const unsigned char *v = (const unsigned char *)value;

	if (n + strlen(name) + 2 >= size)
		return;
	buf[n++] = strchr(buf, '?') != NULL ? '&' : '?';
	memcpy(buf + n, name, strlen(name));
	n += strlen(name);
	buf[n++] = '=';
	for (; *v != '\0' && n + 4 < size; v++) {
		if ((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') ||
		    (*v >= '0' && *v <= '9') || *v == '-' || *v == '_' || *v == '.' || *v == '~')
			buf[n++] = (char)*v;
		else if (*v == ' ')
			buf[n++] = '+';
		else {
			buf[n++] = '%';
			buf[n++] = hex[*v >> 4];
			buf[n++] = hex[*v & 15];
		}
	}
	buf[n] = '\0';
}

static void
see_other(struct resp *r, const struct req *q)
{
	const char *next = q->f[F_NEXT].set ? q->f[F_NEXT].s : "/";

	r->status = 303;
	r->ctype = "text/plain; charset=utf-8";
	snprintf(r->location, sizeof(r->location), "%s", next);
	r->body = "See Other\n";
	r->body_len = strlen(r->body);
}

void
resp_see_other_ok(struct resp *r, struct arena *a, const struct req *q,
    const char *what, int64_t id)
{
	char num[24];

	(void)a;
	see_other(r, q);
	qs_add(r->location, sizeof(r->location), "ok", what);
	snprintf(num, sizeof(num), "%" PRId64, id);
	qs_add(r->location, sizeof(r->location), "id", num);
}

void
resp_problem(struct resp *r, struct arena *a, const struct req *q,
    const struct problem *p)
{
	cJSON *o;
	size_t i;
	int status = problem_status(p->kind);

	if (q != NULL && q->browser) {
		char num[24];

		see_other(r, q);
		qs_add(r->location, sizeof(r->location), "error", problem_slug(p->kind));
		snprintf(num, sizeof(num), "%d", status);
		qs_add(r->location, sizeof(r->location), "status", num);
		for (i = 0; i < PROBLEM_EXTRA_MAX; i++) {
			const struct problem_extra *e = &p->extra[i];

			if (e->name == NULL)
				continue;
			if (e->is_int)
				snprintf(num, sizeof(num), "%" PRId64, e->i);
			qs_add(r->location, sizeof(r->location), e->name,
			    e->is_int ? num : e->s);
		}
		qs_add(r->location, sizeof(r->location), "detail", p->detail);
		return;
	}

	if ((o = cJSON_CreateObject()) == NULL) {
		internal(r);
		return;
	}
	cJSON_AddStringToObject(o, "type", problem_type(p->kind));
	cJSON_AddStringToObject(o, "title", problem_title(p->kind));
	fmt_add_int(o, "status", status);
	cJSON_AddStringToObject(o, "detail", p->detail);
	for (i = 0; i < PROBLEM_EXTRA_MAX; i++) {
		const struct problem_extra *e = &p->extra[i];

		if (e->name == NULL)
			continue;
		if (e->is_int)
			fmt_add_int(o, e->name, e->i);
		else
			cJSON_AddStringToObject(o, e->name, e->s);
	}
	r->status = status;
	if (set_body(r, a, cJSON_PrintUnformatted(o)) != 0)
		internal(r);
	else
		r->ctype = "application/problem+json";
	cJSON_Delete(o);
	if (status == 503 && r->retry_after == 0)
		r->retry_after = 2;
}

size_t
resp_head(const struct resp *r, char *buf, size_t size)
{
	int n;

	n = snprintf(buf, size, "Status: %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n%s%s%s%s%s%s",
	    r->status, resp_reason(r->status), r->ctype, r->body_len,
	    r->location[0] ? "Location: " : "", r->location,
	    r->location[0] ? "\r\n" : "",
	    r->allow[0] ? "Allow: " : "", r->allow, r->allow[0] ? "\r\n" : "");
	if (n < 0 || (size_t)n >= size)
		return 0;
	if (r->retry_after > 0) {
		int m = snprintf(buf + n, size - (size_t)n, "Retry-After: %d\r\n", r->retry_after);

		if (m < 0 || (size_t)m >= size - (size_t)n)
			return 0;
		n += m;
	}
	if (r->extra[0] != '\0') {
		size_t len = strlen(r->extra);

		if ((size_t)n + len >= size)
			return 0;
		memcpy(buf + n, r->extra, len);
		n += (int)len;
	}
	if ((size_t)n + 3 > size)
		return 0;
	memcpy(buf + n, "\r\n", 3);
	return (size_t)n + 2;
}
