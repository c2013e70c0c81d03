/* call.c - what every handler of the API shares: its fields, its answers,
 * its pages. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/apiint.h"
#include "views/answers.h"

void
call_key(struct call *c, enum gate_kind kind, int64_t id)
{
	size_t i;

	if (id <= 0 || c->nkeys >= GATE_KEYS)
		return;
	for (i = 0; i < c->nkeys; i++)
		if (c->keys[i] == gate_key(kind, (uint64_t)id))
			return;
	c->keys[c->nkeys++] = gate_key(kind, (uint64_t)id);
}

/* FNV-1a of the name folded to lower case (names compare without case). */
void
call_user_key(struct call *c, const char *username)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *username; username++) {
		unsigned char ch = (unsigned char)*username;

		h = (h ^ (ch >= 'A' && ch <= 'Z' ? ch + 32u : ch)) * 0x100000001b3ULL;
	}
	call_key(c, GATE_USER, (int64_t)(h >> 9) | 1);
}

int64_t
owner(const struct call *c)
{
	return c->who.admin ? 0 : c->who.id;
}

int
fields(struct call *c, unsigned allowed, unsigned required)
{
	int f;

	for (f = 0; f < F__MAX; f++) {
		if (c->req->f[f].set && !(BIT(f) & (allowed | required | GLOBAL_FIELDS))) {
			problem_set(&c->p, PROB_FIELD, "field '%s' is not accepted here",
			    req_field_name((enum field)f));
			problem_add_str(&c->p, "field", req_field_name((enum field)f));
			return -1;
		}
		if ((BIT(f) & required) && !c->req->f[f].set) {
			problem_set(&c->p, PROB_FIELD, "field '%s' is required",
			    req_field_name((enum field)f));
			problem_add_str(&c->p, "field", req_field_name((enum field)f));
			return -1;
		}
	}
	return 0;
}

void
answer(struct call *c, int status, cJSON *obj, const char *what, int64_t id)
{
	if (obj == NULL) {
		problem_set(&c->p, PROB_INTERNAL, "out of memory");
		resp_problem(c->resp, c->ctx->arena, c->req, &c->p);
		return;
	}
	if (c->req->browser && what != NULL)
		resp_see_other_ok(c->resp, c->ctx->arena, c->req, what, id);
	else
		resp_json(c->resp, c->ctx->arena, status, obj);
	cJSON_Delete(obj);
}

static void
set_location(struct call *c, const char *kind, int64_t id)
{
	snprintf(c->resp->location, sizeof(c->resp->location), "/%s/%" PRId64 "/", kind, id);
}

void
answer_write(struct call *c, int status, const char *kind, int64_t id, cJSON *obj,
    const char *what)
{
	if (status == 201)
		set_location(c, kind, id);
	answer(c, status, obj, what, id);
}

/* Whether a GET list asks for the HTML fragment (?format=html). Returns 1
 * for html, 0 for JSON, -1 with a 422 for another format. */
int
want_html(struct call *c)
{
	const struct field_val *f = &c->req->f[F_FORMAT];

	if (!f->set || strcmp(f->s, "json") == 0)
		return 0;
	if (strcmp(f->s, "html") == 0)
		return 1;
	problem_set(&c->p, PROB_FIELD, "format must be json or html");
	problem_add_str(&c->p, "field", "format");
	return -1;
}

int
answer_html(struct call *c, const char *html)
{
	if (html == NULL) {
		problem_set(&c->p, PROB_INTERNAL, "out of memory");
		return -1;
	}
	c->resp->status = 200;
	c->resp->ctype = "text/html; charset=utf-8";
	c->resp->body = html;
	c->resp->body_len = strlen(html);
	return 0;
}

const char *
form_csrf(struct call *c)
{
	char *t;

	if (!c->who.via_cookie || c->who.id == 0 ||
	    (t = arena_alloc(c->ctx->arena, AUTH_TOKEN_LEN + 1)) == NULL)
		return "";
	auth_csrf_token(c->who.token, t);
	return t;
}

const char *
form_next(struct call *c)
{
	return c->req->f[F_NEXT].set ? c->req->f[F_NEXT].s : "/";
}

/* The id after which the next page starts (0 = no further page), from the
 * last row of pg, whose first member is its int64_t id. */
static int64_t
page_next(const struct db_page *pg)
{
	int64_t id;

	if (!pg->more || pg->n <= 0)
		return 0;
	memcpy(&id, (const char *)pg->rows + (size_t)(pg->n - 1) * pg->row_size, sizeof(id));
	return id;
}

int
answer_list(struct call *c, const struct list_call *l)
{
	struct db_page pg;
	int64_t after, next;
	long limit;
	int html;

	if ((html = want_html(c)) < 0)
		return -1;
	after = c->req->f[F_AFTER].set ? c->req->f[F_AFTER].i : l->dflt;
	limit = (long)(c->req->f[F_LIMIT].set ? c->req->f[F_LIMIT].i : LIST_LIMIT_DEFAULT);
	if (l->read(c, after, limit, &pg) != 0)
		return -1;
	next = page_next(&pg);
	if (html)
		return answer_html(c, l->html(c, &pg, next));
	answer(c, 200, page_json(pg.rows, (size_t)pg.n, pg.row_size, next, l->item), NULL, 0);
	return 0;
}
