#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/problem.h"
#include "base/valid.h"

static const struct {
	int status;
	const char *slug;
	const char *title;
} kinds[PROB__MAX] = {
	[PROB_NONE] =		{ 200, "none", "No problem" },
	[PROB_MALFORMED] =	{ 400, "malformed-body", "Malformed request body" },
	[PROB_NOT_FOUND] =	{ 404, "not-found", "Not found" },
	[PROB_METHOD] =		{ 405, "method-not-allowed", "Method not allowed" },
	[PROB_TOO_LARGE] =	{ 413, "body-too-large", "Request body too large" },
	[PROB_MEDIA] =		{ 415, "unsupported-media-type", "Unsupported media type" },
	[PROB_FIELD] =		{ 422, "invalid-field", "A field failed validation" },
	[PROB_OUT_OF_STOCK] =	{ 409, "out-of-stock", "Out of stock" },
	[PROB_ORDER_STATE] =	{ 409, "order-state", "Order is not in a state that allows this" },
	[PROB_UNAVAILABLE] =	{ 503, "unavailable", "Service unavailable" },
	[PROB_INTERNAL] =	{ 500, "internal", "Internal server error" },
	[PROB_UNAUTHORIZED] =	{ 401, "unauthorized", "Sign-in required" },
	[PROB_FORBIDDEN] =	{ 403, "forbidden", "Not allowed" },
	[PROB_CSRF] =		{ 403, "csrf", "Cross-site request refused" },
	[PROB_USERNAME_TAKEN] =	{ 409, "username-taken", "Username taken" },
	[PROB_FUNDS] =		{ 409, "insufficient-funds", "Insufficient funds" },
	[PROB_IDEM_REUSED] =	{ 422, "idempotency-key-reused", "Idempotency key reused" },
	[PROB_OUTCOME_UNKNOWN] = { 503, "outcome-unknown",
	    "The request may or may not have been carried out" },
	[PROB_TOO_MANY_OPEN] =	{ 409, "too-many-open-orders", "Too many unpaid orders" },
};

/* "/problems/<slug>" for every kind, built once at compile time. */
static const char *const types[PROB__MAX] = {
	[PROB_NONE] = "/problems/none",
	[PROB_MALFORMED] = "/problems/malformed-body",
	[PROB_NOT_FOUND] = "/problems/not-found",
	[PROB_METHOD] = "/problems/method-not-allowed",
	[PROB_TOO_LARGE] = "/problems/body-too-large",
	[PROB_MEDIA] = "/problems/unsupported-media-type",
	[PROB_FIELD] = "/problems/invalid-field",
	[PROB_OUT_OF_STOCK] = "/problems/out-of-stock",
	[PROB_ORDER_STATE] = "/problems/order-state",
	[PROB_UNAVAILABLE] = "/problems/unavailable",
	[PROB_INTERNAL] = "/problems/internal",
	[PROB_UNAUTHORIZED] = "/problems/unauthorized",
	[PROB_FORBIDDEN] = "/problems/forbidden",
	[PROB_CSRF] = "/problems/csrf",
	[PROB_USERNAME_TAKEN] = "/problems/username-taken",
	[PROB_FUNDS] = "/problems/insufficient-funds",
	[PROB_IDEM_REUSED] = "/problems/idempotency-key-reused",
	[PROB_OUTCOME_UNKNOWN] = "/problems/outcome-unknown",
	[PROB_TOO_MANY_OPEN] = "/problems/too-many-open-orders",
};

static int
valid_kind(enum problem_kind k)
{
	return (int)k >= 0 && k < PROB__MAX;
}

void
problem_set(struct problem *p, enum problem_kind kind, const char *fmt, ...)
{
	va_list ap;
	char full[PROBLEM_DETAIL_MAX * 2];

	memset(p, 0, sizeof(*p));
	p->kind = valid_kind(kind) ? kind : PROB_INTERNAL;
	va_start(ap, fmt);
	vsnprintf(full, sizeof(full), fmt, ap);
	va_end(ap);
	/* A detail longer than its buffer loses its tail on a character
	 * boundary: the byte after the cut is still in full. */
	snprintf(p->detail, sizeof(p->detail), "%.*s",
	    UTF8_CUT(full, sizeof(p->detail) - 1));
}

static struct problem_extra *
free_slot(struct problem *p)
{
	size_t i;

	for (i = 0; i < PROBLEM_EXTRA_MAX; i++)
		if (p->extra[i].name == NULL)
			return &p->extra[i];
	return NULL;
}

void
problem_add_int(struct problem *p, const char *name, int64_t v)
{
	struct problem_extra *e;

	if ((e = free_slot(p)) == NULL)
		return;
	e->name = name;
	e->is_int = 1;
	e->i = v;
}

void
problem_add_str(struct problem *p, const char *name, const char *v)
{
	struct problem_extra *e;

	if ((e = free_slot(p)) == NULL)
		return;
	e->name = name;
	e->is_int = 0;
	if (v == NULL)
		v = "";
	snprintf(e->s, sizeof(e->s), "%.*s", UTF8_CUT(v, sizeof(e->s) - 1));
}

int
problem_status(enum problem_kind k)
{
	return kinds[valid_kind(k) ? k : PROB_INTERNAL].status;
}

const char *
problem_type(enum problem_kind k)
{
	return types[valid_kind(k) ? k : PROB_INTERNAL];
}

const char *
problem_slug(enum problem_kind k)
{
	return kinds[valid_kind(k) ? k : PROB_INTERNAL].slug;
}

const char *
problem_title(enum problem_kind k)
{
	return kinds[valid_kind(k) ? k : PROB_INTERNAL].title;
}
