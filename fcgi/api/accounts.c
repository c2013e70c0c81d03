/* accounts.c - sign-in and the account's calls: /auth/ and /account/. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/apiint.h"
#include "domain/accounts.h"
#include "views/answers.h"
#include "views/html.h"
#include "views/json.h"

static void
set_cookies(struct call *c, const char *token, int max_age)
{
	char v[160], csrf[AUTH_TOKEN_LEN + 1] = "";

	if (token[0] != '\0')
		auth_csrf_token(token, csrf);
	snprintf(v, sizeof(v), "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d",
	    AUTH_SESSION_COOKIE, token, max_age);
	resp_header(c->resp, "Set-Cookie", v);
	snprintf(v, sizeof(v), "%s=%s; Path=/; SameSite=Strict; Max-Age=%d", AUTH_CSRF_COOKIE,
	    csrf, max_age);
	resp_header(c->resp, "Set-Cookie", v);
}

int
register_h(struct call *c)
{
	const struct field_val *f = c->req->f;
	int64_t id;

	if (fields(c, 0, BIT(F_USERNAME) | BIT(F_PASSWORD)) != 0)
		return -1;
	if (auth_register(c->ctx->db, f[F_USERNAME].s, f[F_USERNAME].len, f[F_PASSWORD].s,
	    f[F_PASSWORD].len, "user", &id, &c->p) != 0)
		return -1;
	snprintf(c->resp->location, sizeof(c->resp->location), "/account/");
	answer(c, 201, registered_json(id, f[F_USERNAME].s), "registered", id);
	return 0;
}

int
login_h(struct call *c)
{
	const struct field_val *f = c->req->f;
	struct principal who;
	char csrf[AUTH_TOKEN_LEN + 1];

	if (fields(c, 0, BIT(F_USERNAME) | BIT(F_PASSWORD)) != 0)
		return -1;
	if (auth_login(c->ctx->db, f[F_USERNAME].s, f[F_USERNAME].len, f[F_PASSWORD].s,
	    f[F_PASSWORD].len, &who, &c->p) != 0)
		return -1;
	auth_csrf_token(who.token, csrf);
	set_cookies(c, who.token, AUTH_SESSION_DAYS * 86400);
	answer(c, 200, session_json(&who, csrf), "signed-in", who.id);
	return 0;
}

int
logout_h(struct call *c)
{
	if (fields(c, 0, 0) != 0)
		return -1;
	if (auth_logout(c->ctx->db, &c->who, &c->p) != 0)
		return -1;
	set_cookies(c, "", 0);
	answer(c, 200, signed_out_json(), "signed-out", c->who.id);
	return 0;
}

int
account_h(struct call *c)
{
	struct account a;
	char csrf[AUTH_TOKEN_LEN + 1];

	if (db_done(c->ctx->db, acct_get(c->ctx->db, c->who.id, &a, &c->p), &c->p) != 0)
		return -1;
	if (c->who.via_cookie)
		auth_csrf_token(c->who.token, csrf);
	answer(c, 200, account_json(&a, c->who.via_cookie ? csrf : NULL), NULL, 0);
	return 0;
}

static cJSON *
ledger_item(const void *row)
{
	return acct_ledger_json(row);
}

static int
ledger_page(struct call *c, int64_t before, long limit, struct db_page *pg)
{
	return acct_ledger(c->ctx->db, c->ctx->arena, c->who.id, before, limit, pg, &c->p);
}

static const char *
ledger_html(struct call *c, const struct db_page *pg, int64_t next)
{
	return html_ledger(c->ctx->arena, pg->rows, (size_t)pg->n, next);
}

/* GET /account/ledger/: the caller's entries, newest first. */
int
ledger_h(struct call *c)
{
	static const struct list_call l = { INT64_MAX, ledger_page, ledger_html, ledger_item };

	return answer_list(c, &l);
}

/* A move of money that ends in one account: credit (the route's account)
 * or transfer (from the caller's). */
struct money_write {
	struct account acct;
	const char *to;
	int64_t amount;
};

static int
credit_run(struct call *c, void *ctx, const struct db_hooks *h)
{
	struct money_write *w = ctx;

	return acct_credit(c->ctx->db, c->route->name, w->amount, h, &w->acct, &c->p);
}

static void
credit_render(struct call *c, void *ctx)
{
	struct money_write *w = ctx;

	answer(c, 200, acct_json(&w->acct), "account-credited", w->acct.id);
}

int
credit_h(struct call *c)
{
	struct money_write w;

	if (fields(c, 0, BIT(F_AMOUNT)) != 0)
		return -1;
	memset(&w, 0, sizeof(w));
	w.amount = c->req->f[F_AMOUNT].i;
	call_user_key(c, c->route->name);
	return write_call(c, credit_run, credit_render, &w, NULL, NULL);
}

static int
transfer_run(struct call *c, void *ctx, const struct db_hooks *h)
{
	struct money_write *w = ctx;

	return acct_transfer(c->ctx->db, c->who.id, w->to, w->amount, h, &w->acct, &c->p);
}

static void
transfer_render(struct call *c, void *ctx)
{
	struct money_write *w = ctx;

	answer(c, 200, transfer_json(&w->acct, w->to, w->amount), "transferred", w->acct.id);
}

int
transfer_h(struct call *c)
{
	struct money_write w;

	if (fields(c, 0, BIT(F_TO) | BIT(F_AMOUNT)) != 0)
		return -1;
	memset(&w, 0, sizeof(w));
	w.to = c->req->f[F_TO].s;
	w.amount = c->req->f[F_AMOUNT].i;
	if (strcasecmp(w.to, c->who.username) == 0) {
		problem_set(&c->p, PROB_FIELD, "a transfer to yourself moves nothing");
		problem_add_str(&c->p, "field", "to");
		return -1;
	}
	call_key(c, GATE_ACCOUNT, c->who.id);
	call_user_key(c, w.to);
	return write_call(c, transfer_run, transfer_render, &w, NULL, NULL);
}
