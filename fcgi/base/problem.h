/* problem.h - one error vocabulary for the whole request path.
 *
 * Every failure a client can see is a problem (RFC 9457): an HTTP status, a
 * stable type URI, a short title, a detail sentence, and up to PROBLEM_EXTRA_MAX
 * extra members that help the caller ("product": 3, "available": 0). */
#ifndef ORDERD_PROBLEM_H
#define ORDERD_PROBLEM_H

#include <stdint.h>

#define PROBLEM_DETAIL_MAX	256
#define PROBLEM_EXTRA_MAX	4

enum problem_kind {
	PROB_NONE = 0,
	PROB_MALFORMED,		/* 400 /problems/malformed-body */
	PROB_NOT_FOUND,		/* 404 /problems/not-found */
	PROB_METHOD,		/* 405 /problems/method-not-allowed */
	PROB_TOO_LARGE,		/* 413 /problems/body-too-large */
	PROB_MEDIA,		/* 415 /problems/unsupported-media-type */
	PROB_FIELD,		/* 422 /problems/invalid-field */
	PROB_OUT_OF_STOCK,	/* 409 /problems/out-of-stock */
	PROB_ORDER_STATE,	/* 409 /problems/order-state */
	PROB_UNAVAILABLE,	/* 503 /problems/unavailable */
	PROB_INTERNAL,		/* 500 /problems/internal */
	PROB_UNAUTHORIZED,	/* 401 /problems/unauthorized */
	PROB_FORBIDDEN,		/* 403 /problems/forbidden */
	PROB_CSRF,		/* 403 /problems/csrf */
	PROB_USERNAME_TAKEN,	/* 409 /problems/username-taken */
	PROB_FUNDS,		/* 409 /problems/insufficient-funds */
	PROB_IDEM_REUSED,	/* 422 /problems/idempotency-key-reused */
	PROB_OUTCOME_UNKNOWN,	/* 503 /problems/outcome-unknown: the COMMIT was sent
				 * and no answer came; it may or may not have happened */
	PROB_TOO_MANY_OPEN,	/* 409 /problems/too-many-open-orders */
	PROB__MAX
};

struct problem_extra {
	const char *name;	/* static string; NULL = unused slot */
	int is_int;
	int64_t i;
	char s[80];		/* a copy, when !is_int */
};

struct problem {
	enum problem_kind kind;
	char detail[PROBLEM_DETAIL_MAX];
	struct problem_extra extra[PROBLEM_EXTRA_MAX];
};

/* Fills p with kind and a printf-style detail; clears the extras. */
void	 problem_set(struct problem *p, enum problem_kind kind, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Adds an extra member; silently ignored past PROBLEM_EXTRA_MAX. */
void	 problem_add_int(struct problem *p, const char *name, int64_t v);
void	 problem_add_str(struct problem *p, const char *name, const char *v);

int		 problem_status(enum problem_kind);
const char	*problem_type(enum problem_kind);	/* "/problems/out-of-stock" */
const char	*problem_slug(enum problem_kind);	/* "out-of-stock" */
const char	*problem_title(enum problem_kind);

#endif
