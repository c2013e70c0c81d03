/* api.c - dispatch: parse the request, route it, admit the caller, run the
 * handler (fcgi/api/<resource>.c), and answer a problem when it fails. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "api/apiint.h"
#include "base/log.h"
#include "http/hdr.h"
#include "shm/stats.h"

#define NEED_USER	0x1	/* 401 without credentials */
#define NEED_ADMIN	0x2	/* and 403 for a non-admin */
#define IDEMPOTENT	0x4	/* honours Idempotency-Key */
#define NO_AUTH		0x8	/* credentials are not looked at (sign-in itself) */
#define LOCAL_OK	0x10	/* also anyone from 127.0.0.1 (--status-local on) */

static const struct {
	handler_fn fn;
	unsigned flags;
} handlers[H__MAX] = {
	[H_PRODUCT_LIST] =	{ product_list_h, 0 },
	[H_PRODUCT_CREATE] =	{ product_create_h, NEED_ADMIN | IDEMPOTENT },
	[H_PRODUCT_GET] =	{ product_get_h, 0 },
	[H_PRODUCT_RESTOCK] =	{ product_restock_h, NEED_ADMIN | IDEMPOTENT },
	[H_ORDER_LIST] =	{ order_list_h, NEED_USER },
	[H_ORDER_CREATE] =	{ order_create_h, NEED_USER | IDEMPOTENT },
	[H_ORDER_GET] =		{ order_get_h, NEED_USER },
	[H_ORDER_ABORT] =	{ order_abort_h, NEED_USER | IDEMPOTENT },
	[H_ORDER_PAY] =		{ order_pay_h, NEED_USER | IDEMPOTENT },
	[H_ORDER_SHIP] =	{ order_ship_h, NEED_ADMIN },
	[H_CHECKOUT] =		{ checkout_h, NEED_USER | IDEMPOTENT },
	[H_GOODS_CREATE] =	{ goods_create_h, NEED_ADMIN },
	[H_GOODS_GET] =		{ goods_get_h, 0 },
	[H_REGISTER] =		{ register_h, NO_AUTH },
	[H_LOGIN] =		{ login_h, NO_AUTH },
	[H_LOGOUT] =		{ logout_h, NEED_USER },
	[H_ACCOUNT] =		{ account_h, NEED_USER },
	[H_LEDGER] =		{ ledger_h, NEED_USER },
	[H_CREDIT] =		{ credit_h, NEED_ADMIN | IDEMPOTENT },
	[H_TRANSFER] =		{ transfer_h, NEED_USER | IDEMPOTENT },
	[H_STATUS] =		{ status_h, NEED_ADMIN | LOCAL_OK },
};

/* The credentials the request presents: a Bearer token first, else the
 * session cookie. */
static void
read_creds(const struct req_input *in, struct auth_creds *cr)
{
	const char *tok = NULL, *a = in != NULL ? in->authorization : NULL;
	long n = -1;

	memset(cr, 0, sizeof(*cr));
	if (a != NULL && *a != '\0') {
		if (hdr_bearer(a, &tok, &n) != 0) {
			cr->not_bearer = 1;
			return;
		}
	} else if (in != NULL && in->cookie != NULL &&
	    (n = hdr_cookie(in->cookie, AUTH_SESSION_COOKIE, &tok)) >= 0) {
		cr->via_cookie = 1;
	} else
		return;
	cr->present = 1;
	cr->token = tok;
	cr->len = (size_t)n;
}

/* Where the request comes from: its Origin, else its Referer, against
 * this host; and the CSRF token it carries. */
static void
read_from(const struct req *r, struct auth_from *from)
{
	const struct req_input *in = r->in;

	memset(from, 0, sizeof(*from));
	if (in == NULL)
		return;
	if (in->origin != NULL && *in->origin != '\0') {
		from->sent = 1;
		from->same_site = hdr_same_origin(in->origin, in->host);
	} else {
		from->sent = in->referer != NULL && *in->referer != '\0';
		from->same_site = hdr_same_origin(in->referer, in->host);
	}
	from->csrf = r->f[F_CSRF].set ? r->f[F_CSRF].s : in->csrf;
}

/* What the Idempotency-Key of the request covers. */
static void
read_idem(const struct req *r, struct idem_request *rq)
{
	const struct req_input *in = r->in;

	memset(rq, 0, sizeof(*rq));
	if (r->f[F_IDEMPOTENCY].set) {
		rq->field = r->f[F_IDEMPOTENCY].s;
		rq->field_len = r->f[F_IDEMPOTENCY].len;
	}
	rq->header = in != NULL ? in->idempotency_key : NULL;
	rq->method = req_method_name(r->method);
	rq->path = r->path;
	if (in != NULL) {
		rq->body = in->body;
		rq->body_len = in->body_len;
	}
}

/* Who is calling, and may they? 0 = go on; -1 with c->p. */
static int
admit(struct call *c, unsigned flags)
{
	int needs = flags & (NEED_USER | NEED_ADMIN);
	struct auth_creds cr;
	struct auth_from from;
	struct idem_request rq;

	read_from(c->req, &from);
	/* From 127.0.0.1 a request without credentials is let in; one that
	 * presents credentials is judged by them, as from anywhere else. */
	if ((flags & LOCAL_OK) && c->ctx->conf->status_local && c->req->in != NULL &&
	    c->req->in->remote_addr != NULL && strcmp(c->req->in->remote_addr, "127.0.0.1") == 0) {
		read_creds(c->req->in, &cr);
		if (!cr.present && !cr.not_bearer)
			return 0;
	}
	if (flags & NO_AUTH)
		return auth_check_signin_origin(&from, &c->p);
	read_creds(c->req->in, &cr);
	if (auth_identify(c->ctx->db, &cr, &c->who, &c->p) != 0) {
		/* A stale session cookie on a public page is no reason to
		 * refuse it: the caller is anonymous there. */
		if (c->p.kind == PROB_UNAUTHORIZED && c->who.via_cookie && !needs) {
			memset(&c->who, 0, sizeof(c->who));
			return 0;
		}
		if (c->p.kind == PROB_UNAUTHORIZED)
			resp_header(c->resp, "WWW-Authenticate", "Bearer realm=\"orderd\"");
		return -1;
	}
	if (needs && c->who.id == 0) {
		problem_set(&c->p, PROB_UNAUTHORIZED, "sign in first");
		resp_header(c->resp, "WWW-Authenticate", "Bearer realm=\"orderd\"");
		return -1;
	}
	if ((flags & NEED_ADMIN) && !c->who.admin) {
		problem_set(&c->p, PROB_FORBIDDEN, "only an administrator may do this");
		return -1;
	}
	if (c->req->method != M_GET && c->req->method != M_HEAD &&
	    auth_check_csrf(&from, &c->who, &c->p) != 0)
		return -1;
	if (!(flags & IDEMPOTENT) || c->who.id == 0)
		return 0;
	read_idem(c->req, &rq);
	if ((c->use_idem = idem_prepare(&c->idem, &rq, c->who.id, &c->p)) < 0)
		return -1;
	return 0;
}

void
api_handle(struct api_ctx *ctx, const struct req_input *in, struct resp *resp)
{
	struct req req;
	struct route_match route;
	struct call c;

	memset(&c, 0, sizeof(c));
	c.ctx = ctx;
	c.req = &req;
	c.resp = resp;
	c.route = &route;
	resp_init(resp);
	ctx->route = 0;

	if (req_parse(&req, ctx->arena, in, &c.p) != 0)
		goto problem;
	switch (router_match(req.path, req.method, &route)) {
	case ROUTE_OK:
		ctx->route = route.route;
		break;
	case ROUTE_NOT_FOUND:
		problem_set(&c.p, PROB_NOT_FOUND, "no such resource");
		goto problem;
	case ROUTE_METHOD:
		problem_set(&c.p, PROB_METHOD, "%s is not allowed here; use %s",
		    req_method_name(req.method), route.allow);
		snprintf(resp->allow, sizeof(resp->allow), "%s", route.allow);
		goto problem;
	}
	if (handlers[route.h].fn == NULL) {
		problem_set(&c.p, PROB_INTERNAL, "no handler");
		goto problem;
	}
	if (admit(&c, handlers[route.h].flags) != 0)
		goto problem;
	if (handlers[route.h].fn(&c) == 0)
		return;
problem:
	if (c.p.kind == PROB_UNAVAILABLE)
		stats_add(SC_UNAVAILABLE, 1);
	else if (c.p.kind == PROB_OUTCOME_UNKNOWN)
		stats_add(SC_OUTCOME_UNKNOWN, 1);
	else if (c.p.kind == PROB_OUT_OF_STOCK)
		stats_add(SC_SOLD_OUT, 1);
	if (problem_status(c.p.kind) >= 500)
		log_error("%s %s: %d %s", in->method ? in->method : "-", in->path ? in->path : "-",
		    problem_status(c.p.kind), c.p.detail);
	else if (c.p.kind == PROB_MALFORMED || c.p.kind == PROB_FIELD ||
	    c.p.kind == PROB_MEDIA || c.p.kind == PROB_TOO_LARGE)
		/* A client's mistake: info, with the (escaped) detail as sample. */
		log_info("%s %.64s: %d %s", in->method ? in->method : "-",
		    in->path ? in->path : "-", problem_status(c.p.kind), c.p.detail);
	else
		log_debug("%s %.64s: %d %s", in->method ? in->method : "-",
		    in->path ? in->path : "-", problem_status(c.p.kind), c.p.detail);
	resp_problem(resp, ctx->arena, &req, &c.p);
}
