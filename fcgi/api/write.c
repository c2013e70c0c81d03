/* write.c - the write wrapper: one transaction per write, its
 * Idempotency-Key claimed first and its answer stored last in it. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "api/apiint.h"
#include "shm/idemcache.h"
#include "shm/stats.h"

_Static_assert(IDEM_LOCATION_MAX <= RESP_LOCATION_MAX, "a stored Location fits the answer's");

struct write {
	struct call *c;
	render_fn render;
	void *ctx;
};

static enum db_rc
claim_key(struct db *db, void *arg, struct problem *p)
{
	struct write *w = arg;

	return idem_claim(db, &w->c->idem, p);
}

/* Renders the answer inside the transaction and stores it with the key:
 * the effect and its answer commit together. */
static enum db_rc
store_answer(struct db *db, void *arg, struct problem *p)
{
	struct write *w = arg;

	(void)p;
	w->render(w->c, w->ctx);
	if (w->c->resp->status >= 400)
		return DB_ERR;
	return idem_store(db, &w->c->idem, w->c->resp->status, w->c->resp->location,
	    w->c->resp->body, w->c->resp->body_len);
}

/* Answers the stored answer of the key again (its Location already
 * copied), marked as a replay. */
static void
replay(struct resp *resp, const struct idem_answer *ans)
{
	resp->status = ans->status;
	resp->ctype = ans->status == 303 ? "text/plain; charset=utf-8" :
	    "application/json; charset=utf-8";
	resp->body = ans->body;
	resp->body_len = ans->body_len;
	resp_header(resp, "Idempotent-Replayed", "true");
}

/* Remembers the call's answer, committed with its key, in the pool's
 * memory for ttl_s, so that a repeat is replayed without the database. */
void
write_remember(struct call *c, int64_t ttl_s)
{
	const struct resp *r = c->resp;

	if (r->status < 400)
		idemcache_put(c->idem.user, c->idem.key, c->idem.keylen, c->idem.hash, r->status,
		    r->location, r->body, r->body_len, ttl_s * 1000);
}

/* A repeated request whose answer the pool remembers: replayed at once. */
int
write_remembered(struct call *c)
{
	struct idemcache_answer *m;
	struct idem_answer ans;

	if (!c->use_idem || (m = arena_alloc(c->ctx->arena, sizeof(*m))) == NULL)
		return 0;
	if (!idemcache_get(c->idem.user, c->idem.key, c->idem.keylen, c->idem.hash, m)) {
		stats_add(SC_IDEM_MISS, 1);
		return 0;
	}
	stats_add(SC_IDEM_HIT, 1);
	snprintf(c->resp->location, sizeof(c->resp->location), "%s", m->location);
	ans.status = m->status;
	ans.body = m->body;
	ans.body_len = m->body_len;
	replay(c->resp, &ans);
	return 1;
}

int
write_replay(struct call *c)
{
	struct idem_answer ans;
	int r;

	resp_init(c->resp);
	ans.location[0] = '\0';
	r = idem_replay(c->ctx->db, c->ctx->arena, &c->idem, &ans, &c->p);
	/* The Location read with the key is the answer's, also when the
	 * replay fails: as it always has been, a 422 for a key used for
	 * another request names that request's resource. */
	snprintf(c->resp->location, sizeof(c->resp->location), "%s", ans.location);
	if (r <= 0)
		return r;
	replay(c->resp, &ans);
	write_remember(c, IDEM_LIFE_S - ans.age_s);
	return 1;
}

static int
run_write(struct call *c, run_fn run, render_fn render, void *ctx)
{
	struct write w = { c, render, ctx };
	struct db_hooks h = { claim_key, store_answer, &w };
	int tries, r;

	if (!c->use_idem) {
		if (run(c, ctx, NULL) != 0)
			return -1;
		render(c, ctx);
		return 0;
	}
	for (tries = 0; tries < 3; tries++) {
		c->idem.taken = 0;
		if (run(c, ctx, &h) == 0) {
			write_remember(c, IDEM_LIFE_S);
			return 0;
		}
		if (!c->idem.taken) {
			/* The answer rendered for the key is not the answer. */
			resp_init(c->resp);
			return -1;
		}
		if ((r = write_replay(c)) < 0)
			return -1;
		if (r > 0)
			return 0;
		/* The holder rolled back: the key is free again. */
	}
	problem_set(&c->p, PROB_UNAVAILABLE, "this Idempotency-Key is busy; try again");
	return -1;
}

/* The gate turned the write away: nothing was done. */
static void
refused(struct call *c, enum gate_rc rc, uint64_t key)
{
	static const char *const kind[] = {
		[GATE_PRODUCT] = "product", [GATE_ORDER] = "order", [GATE_ACCOUNT] = "account",
		[GATE_USER] = "account",
	};
	unsigned k = (unsigned)(key >> 56);
	int64_t id = (int64_t)(key & ((1ULL << 56) - 1));

	if (rc == GATE_POOL_BUSY || k >= sizeof(kind) / sizeof(kind[0]) || kind[k] == NULL) {
		problem_set(&c->p, PROB_UNAVAILABLE, "every worker that may write is busy; "
		    "nothing was done; try again");
		return;
	}
	if (k == GATE_USER)
		problem_set(&c->p, PROB_UNAVAILABLE, "too many requests are waiting for the "
		    "same account; nothing was done; try again");
	else {
		problem_set(&c->p, PROB_UNAVAILABLE, "too many requests are waiting for %s %"
		    PRId64 "; nothing was done; try again", kind[k], id);
		problem_add_int(&c->p, kind[k], id);
	}
}

int
write_call(struct call *c, run_fn run, render_fn render, void *ctx, const char *member,
    const int64_t *id)
{
	enum gate_rc g;
	uint64_t key;
	int r;

	if (write_remembered(c))
		return 0;
	if ((g = gate_enter(c->keys, c->nkeys, &key)) != GATE_IN) {
		refused(c, g, key);
		return -1;
	}
	r = run_write(c, run, render, ctx);
	gate_leave();
	if (r == 0)
		return 0;
	if (c->p.kind == PROB_OUTCOME_UNKNOWN && member != NULL && *id > 0)
		problem_add_int(&c->p, member, *id);
	return -1;
}
