/* fuzz_util.h - shared by the libFuzzer harnesses in tests/fuzz/.
 *
 * check_parsed() and check_response() state the contract of req_parse(),
 * router_match() and the response builders as assertions: a violation is a
 * finding (abort, so libFuzzer keeps the input), exactly like a crash. They
 * check what request.h, router.h and response.h promise and what
 * docs/api.md says of bad input (a 4xx problem+json, never a 5xx),
 * nothing more. */
#ifndef ORDERD_FUZZ_UTIL_H
#define ORDERD_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "base/arena.h"
#include "base/problem.h"
#include "http/request.h"
#include "http/response.h"
#include "http/router.h"
#include "base/valid.h"

#define BROWSER_ACCEPT \
	"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond, ...) do {						\
	if (!(cond)) {								\
		fprintf(stderr, "fuzz contract violated at %s:%d: %s: ",	\
		    __FILE__, __LINE__, #cond);					\
		fprintf(stderr, __VA_ARGS__);					\
		fputc('\n', stderr);						\
		abort();							\
	}									\
} while (0)

/* A NUL-terminated heap copy of s[0..n) of exactly n + 1 bytes, so that
 * AddressSanitizer sees any read past its end. Never NULL. */
static inline char *
fuzz_strndup(const uint8_t *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d == NULL)
		abort();
	if (n > 0)
		memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* An exact-size heap copy (not NUL-terminated), like a request body. */
static inline char *
fuzz_memdup(const uint8_t *s, size_t n)
{
	char *d = malloc(n > 0 ? n : 1);

	if (d == NULL)
		abort();
	if (n > 0)
		memcpy(d, s, n);
	return d;
}

/* Bounds of the integer fields (request.h comments on enum field). */
static inline int
fuzz_int_bounds(int f, int64_t *min, int64_t *max)
{
	switch (f) {
	case F_PRICE:	 *min = 0; *max = 1000000000000LL; return 1;
	case F_STOCK:	 *min = 0; *max = 1000000000LL; return 1;
	case F_GOODS:	 *min = 1; *max = INT64_MAX; return 1;
	case F_PRODUCT:	 *min = 1; *max = INT64_MAX; return 1;
	case F_QUANTITY: *min = 1; *max = 1000000000LL; return 1;
	case F_LIMIT:	 *min = 1; *max = 200; return 1;
	case F_AFTER:	 *min = 0; *max = INT64_MAX; return 1;
	case F_AMOUNT:	 *min = 1; *max = 1000000000000LL; return 1;
	case F_HISTORY:	 *min = 0; *max = 600; return 1;
	case F_TOP:	 *min = 0; *max = 20; return 1;
	default:	 return 0;
	}
}

static inline int
fuzz_is_override(int64_t m)
{
	return m == M_PUT || m == M_DELETE || m == M_PATCH || m == M_POST;
}

/* The contract of req_parse() (request.h) on what it returned. */
static inline void
check_parsed(const struct req *r, const struct req_input *in, int rc,
    const struct problem *p, int full_arena)
{
	int f;
	size_t k;

	FUZZ_ASSERT(rc == 0 || rc == -1, "rc %d", rc);
	FUZZ_ASSERT(memchr(p->detail, '\0', sizeof(p->detail)) != NULL, "detail unterminated");
	if (rc != 0) {
		int st = problem_status(p->kind);

		/* 400 / 404 (path) / 413 / 415 / 422: a client's mistake. */
		FUZZ_ASSERT(st == 400 || st == 404 || st == 413 || st == 415 || st == 422,
		    "req_parse failed with %d (%s)", st, p->detail);
		FUZZ_ASSERT(p->detail[0] != '\0', "problem %d without a detail", st);
		/* With a worker's arena, only a body over the limit is a 413. */
		if (full_arena && st == 413)
			FUZZ_ASSERT(in->body_len > REQ_BODY_MAX,
			    "413 for a %zu-byte body: %s", in->body_len, p->detail);
		return;
	}
	FUZZ_ASSERT(r->path != NULL, "no path");
	FUZZ_ASSERT(strlen(r->path) <= REQ_PATH_MAX, "path of %zu bytes", strlen(r->path));
	FUZZ_ASSERT(strchr(r->path, '?') == NULL, "query left in path '%s'", r->path);
	FUZZ_ASSERT((int)r->method >= 0 && r->method < M__MAX, "method %d", (int)r->method);
	FUZZ_ASSERT(r->wire_method == req_method(in->method), "wire method");
	if (r->method != r->wire_method)
		FUZZ_ASSERT(r->wire_method == M_POST && fuzz_is_override(r->method),
		    "%s became %s", req_method_name(r->wire_method), req_method_name(r->method));
	FUZZ_ASSERT(!r->browser || r->wire_method == M_POST, "browser flag on a non-POST");
	FUZZ_ASSERT(in->body_len <= REQ_BODY_MAX || r->wire_method == M_GET ||
	    r->wire_method == M_HEAD, "accepted a %zu-byte body", in->body_len);

	for (f = 0; f < F__MAX; f++) {
		const struct field_val *v = &r->f[f];
		const char *name = req_field_name((enum field)f);
		int64_t min, max;

		if (!v->set)
			continue;
		if (fuzz_int_bounds(f, &min, &max)) {
			FUZZ_ASSERT(v->i >= min && v->i <= max, "%s = %lld", name, (long long)v->i);
			continue;
		}
		switch (f) {
		case F_NAME: {
			const char *st;
			size_t len;

			FUZZ_ASSERT(v->s != NULL && strlen(v->s) == v->len, "%s length", name);
			FUZZ_ASSERT(valid_text(v->s, v->len, 1, 200, &st, &len) == NULL &&
			    st == v->s && len == v->len,
			    "%s '%s' is not trimmed valid text", name, v->s);
			break;
		}
		case F_USERNAME:
		case F_TO:
			/* Kept as sent (K_VERBATIM): 1..64 bytes of UTF-8 without
			 * NUL; the handlers narrow it. */
			FUZZ_ASSERT(v->s != NULL && v->len >= 1 && v->len <= 64 &&
			    memchr(v->s, '\0', v->len) == NULL && valid_utf8(v->s, v->len),
			    "%s of %zu bytes", name, v->len);
			break;
		case F_NEXT:
			FUZZ_ASSERT(v->s != NULL && valid_local_path(v->s),
			    "next '%s' is not a local path", v->s ? v->s : "(null)");
			break;
		case F_METHOD:
			FUZZ_ASSERT(fuzz_is_override(v->i), "_method %lld", (long long)v->i);
			break;
		case F_IDEMPOTENCY:
		case F_CSRF:
			FUZZ_ASSERT(v->s != NULL && v->len <= 200 &&
			    (f == F_CSRF || v->len >= 1), "%s length %zu", name, v->len);
			for (k = 0; k < v->len; k++)
				FUZZ_ASSERT((unsigned char)v->s[k] >= 0x21 &&
				    (unsigned char)v->s[k] <= 0x7e, "%s byte %zu", name, k);
			break;
		case F_PAY_METHOD:
		case F_FORMAT:
			FUZZ_ASSERT(v->s != NULL && v->len >= 1 &&
			    v->len <= (f == F_FORMAT ? 10u : 16u), "%s length %zu", name, v->len);
			for (k = 0; k < v->len; k++)
				FUZZ_ASSERT((v->s[k] >= 'a' && v->s[k] <= 'z') || v->s[k] == '_',
				    "%s byte %zu", name, k);
			break;
		case F_PASSWORD:
			FUZZ_ASSERT(v->s != NULL && v->len >= 1 && v->len <= 1024 &&
			    memchr(v->s, '\0', v->len) == NULL && valid_utf8(v->s, v->len),
			    "password of %zu bytes", v->len);
			break;
		case F_ITEMS:
			FUZZ_ASSERT(r->items != NULL && r->nitems >= 1 &&
			    r->nitems <= REQ_ITEMS_MAX, "%zu items", r->nitems);
			for (k = 0; k < r->nitems; k++) {
				const struct req_item *it = &r->items[k];

				FUZZ_ASSERT(it->product >= 1, "items[%zu].product %lld", k,
				    (long long)it->product);
				FUZZ_ASSERT(it->quantity >= 1 && it->quantity <= 1000000000LL,
				    "items[%zu].quantity %lld", k, (long long)it->quantity);
				FUZZ_ASSERT(it->idx < REQ_ITEMS_MAX &&
				    (k == 0 || it->idx > r->items[k - 1].idx),
				    "items[%zu].idx %zu out of order", k, it->idx);
			}
			break;
		default:
			FUZZ_ASSERT(0, "unexpected field %d set", f);
		}
	}
	FUZZ_ASSERT(!r->f[F_ITEMS].set || r->wire_method != M_GET, "items on a GET");
}

/* The worker's path from a parsed (or refused) request to the bytes of the
 * answer, as api_handle() does it: route, then a problem/303 or a small JSON
 * body, then the CGI header block. Checks what goes on the wire. */
static inline void
check_response(struct arena *a, struct req *r, int rc, struct problem *p,
    int full_arena)
{
	struct resp resp;
	struct route_match m;
	char head[RESP_HEAD_MAX];
	size_t n, i;
	int problem = rc != 0;

	resp_init(&resp);
	if (!problem) {
		enum route_result rr = router_match(r->path, r->method, &m);

		FUZZ_ASSERT(memchr(m.allow, '\0', sizeof(m.allow)) != NULL &&
		    memchr(m.name, '\0', sizeof(m.name)) != NULL, "route strings");
		switch (rr) {
		case ROUTE_OK: {
			FUZZ_ASSERT(m.h > H_NONE && m.h < H__MAX, "handler %d", (int)m.h);
			FUZZ_ASSERT(r->path[0] == '/' && strstr(r->path, "//") == NULL,
			    "'%s' routed", r->path);
			FUZZ_ASSERT(m.allow[0] != '\0' &&
			    strstr(m.allow, req_method_name(r->method == M_HEAD ? M_GET :
			    r->method)) != NULL, "allow '%s' lacks the method", m.allow);
			if (r->browser)
				resp_see_other_ok(&resp, a, r, "done", m.id);
			else {
				cJSON *o = cJSON_CreateObject();

				if (o != NULL) {
					resp_add_int(o, "handler", m.h);
					resp_add_int(o, "id", m.id);
					cJSON_AddStringToObject(o, "name", m.name);
					cJSON_AddStringToObject(o, "path", r->path);
					(void)resp_json(&resp, a, 200, o);
					cJSON_Delete(o);
				}
			}
			break;
		}
		case ROUTE_NOT_FOUND:
			FUZZ_ASSERT(m.h == H_NONE, "not found with a handler");
			problem_set(p, PROB_NOT_FOUND, "no such resource");
			problem = 1;
			break;
		case ROUTE_METHOD:
			FUZZ_ASSERT(m.h == H_NONE && m.allow[0] != '\0', "405 without Allow");
			problem_set(p, PROB_METHOD, "%s is not allowed here; use %s",
			    req_method_name(r->method), m.allow);
			snprintf(resp.allow, sizeof(resp.allow), "%s", m.allow);
			problem = 1;
			break;
		default:
			FUZZ_ASSERT(0, "route result %d", (int)rr);
		}
	}
	if (problem)
		resp_problem(&resp, a, r, p);

	/* What goes on the wire. */
	if (full_arena)
		FUZZ_ASSERT(resp.status < 500, "status %d for a client's request (%s)",
		    resp.status, p->detail);
	FUZZ_ASSERT(resp.body != NULL && strlen(resp.body) == resp.body_len,
	    "body of %zu bytes", resp.body_len);
	for (i = 0; resp.location[i] != '\0'; i++)
		FUZZ_ASSERT((unsigned char)resp.location[i] > 0x20 &&
		    (unsigned char)resp.location[i] < 0x7f,
		    "Location byte 0x%02x at %zu", (unsigned char)resp.location[i], i);
	if (resp.status == 303) {
		FUZZ_ASSERT(r->browser, "303 for a non-browser request");
		FUZZ_ASSERT(resp.location[0] == '/' && resp.location[1] != '/' &&
		    resp.location[1] != '\\', "303 to '%s'", resp.location);
	} else if (full_arena && problem) {
		cJSON *o = cJSON_ParseWithLength(resp.body, resp.body_len);
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "status");

		FUZZ_ASSERT(strcmp(resp.ctype, "application/problem+json") == 0,
		    "problem as %s", resp.ctype);
		FUZZ_ASSERT(o != NULL && cJSON_IsNumber(st) && st->valueint == resp.status,
		    "problem body is not JSON with its status: %.*s", (int)resp.body_len,
		    resp.body);
		cJSON_Delete(o);
	}
	/* A header line of ours, as api.c adds Set-Cookie or WWW-Authenticate. */
	FUZZ_ASSERT(resp_header(&resp, "Vary", "Accept") == 0, "no room for Vary");
	n = resp_head(&resp, head, sizeof(head));
	FUZZ_ASSERT(n > 0, "header block of status %d does not fit %d bytes (Location %zu)",
	    resp.status, RESP_HEAD_MAX, strlen(resp.location));
	FUZZ_ASSERT(n < sizeof(head) && head[n] == '\0' && n == strlen(head), "head length");
	FUZZ_ASSERT(strncmp(head, "Status: ", 8) == 0 && n >= 4 &&
	    memcmp(head + n - 4, "\r\n\r\n", 4) == 0, "header block framing");
	/* Every CR is followed by LF and every LF preceded by CR; no other
	 * control byte: nothing a client sent can start a header of its own. */
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)head[i];

		if (c == '\r')
			FUZZ_ASSERT(head[i + 1] == '\n', "bare CR at %zu", i);
		else if (c == '\n')
			FUZZ_ASSERT(i > 0 && head[i - 1] == '\r', "bare LF at %zu", i);
		else
			FUZZ_ASSERT(c >= 0x20 && c != 0x7f, "control byte 0x%02x in head", c);
	}
	FUZZ_ASSERT(strstr(head, "\r\n\r\n") == head + n - 4, "blank line inside the head");
}

#endif
