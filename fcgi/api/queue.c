/* queue.c - --lock queue: an order queued and waited for; the batcher's
 * round.
 *
 * The worker of a POST /order/ or /checkout/ checks it, puts it in the
 * pool's queue (shm/queue.h) and sleeps until it has its outcome; the
 * batcher (process/batcher.c) takes what is queued, places it as one batch
 * (domain/batch.h) and hands out the outcomes. A waiting order costs a
 * worker and no database connection. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/apiint.h"
#include "domain/batch.h"
#include "shm/queue.h"
#include "shm/shared.h"
#include "views/json.h"

_Static_assert(QUEUE_NEXT_MAX >= RESP_LOCATION_MAX, "a queued form's next is kept whole");

#define QUEUE_WAIT_MS		50	/* between looks while waiting (a lost wake-up) */
#define QUEUE_PATIENCE_MS	10000	/* an order nobody took by then is withdrawn */
#define QUEUE_TRIES		3	/* queuings of one order (after batches that vanished) */
#define SETTLE_MS		10000	/* a dead batch's connection must end by then */

int
queue_on(const struct call *c)
{
	return c->ctx->conf->lock == LOCK_QUEUE && queue_ready();
}

/* The answer of a placed order, as orders.c answers it: 201 and the order
 * (Location /order/<id>/), or a browser's 303 back to its page. */
static void
answer_placed(struct call *c, const struct order *o)
{
	answer_write(c, 201, "order", o->id, order_json(o), "order-created");
}

/* batch_answer_fn: the answer a queued order's Idempotency-Key stores,
 * rendered by the batcher as the order's own worker will render it. */
static int
answer_for_key(const struct qorder *in, const struct order *o, struct arena *a, int *status,
    char *location, size_t size, const char **body, size_t *body_len)
{
	static struct req q;
	struct api_ctx ctx;
	struct resp r;
	struct call c;

	memset(&q, 0, sizeof(q));
	memset(&ctx, 0, sizeof(ctx));
	memset(&c, 0, sizeof(c));
	q.browser = in->browser;
	if (in->next[0] != '\0') {
		q.f[F_NEXT].set = 1;
		q.f[F_NEXT].s = in->next;
	}
	resp_init(&r);
	ctx.arena = a;
	c.ctx = &ctx;
	c.req = &q;
	c.resp = &r;
	answer_placed(&c, o);
	if (r.status < 200 || r.status >= 400)
		return -1;
	*status = r.status;
	snprintf(location, size, "%s", r.location);
	*body = r.body;
	*body_len = r.body_len;
	return 0;
}

size_t
queue_serve(struct api_ctx *ctx, int wait_ms)
{
	struct qslot *batch[QUEUE_BATCH_MAX];
	size_t n, i, busy = 0;

	if ((n = queue_take(batch, QUEUE_BATCH_MAX)) == 0) {
		queue_await_work(wait_ms);
		return 0;
	}
	batch_place(ctx->db, ctx->conf, ctx->arena, batch, n, answer_for_key);
	for (i = 0; i < n; i++)
		busy += batch[i]->out.outcome == QO_BUSY;
	queue_done(batch, n);
	arena_reset(ctx->arena);
	/* Only orders waiting for rows locked elsewhere: not straight back
	 * to the database for the same rows. */
	if (busy == n)
		nanosleep(&(struct timespec){ 0, 2 * 1000000L }, NULL);
	return n - busy;
}

/* A batch whose COMMIT's outcome is unknown (the batcher died, or the
 * connection went at COMMIT): its connection is ended and waited out, so
 * that the transaction is over, then the order is looked for. 1 = it is
 * there, 0 = it is not (nothing of it was done), -1 with c->p = 503
 * outcome-unknown (the connection would not end). */
static int
settle(struct call *c, const struct qresult *out)
{
	struct db *db = c->ctx->db;
	int64_t until = mono_ms() + SETTLE_MS, n = 0;
	struct db_col col[] = { DBC_I64(&n) };
	int found;

	/* Without both, COMMIT was never sent: nothing of it can be there. */
	if (out->order == 0 || out->conn == 0)
		return 0;
	{
		struct db_val in[] = { DBV_I64(out->conn) };

		/* Ends it at once; an error (it ended already) is no matter. */
		(void)db_exec(db, ST_CONN_KILL, in, 1);
		for (;;) {
			if (db_one(db, ST_CONN_ALIVE, in, 1, col, 1, &found) == DB_OK && found &&
			    n == 0)
				break;
			if (mono_ms() >= until) {
				problem_set(&c->p, PROB_OUTCOME_UNKNOWN, "the batch that placed "
				    "order %" PRId64 " did not end; it may or may not be placed",
				    out->order);
				problem_add_int(&c->p, "order", out->order);
				return -1;
			}
			nanosleep(&(struct timespec){ 0, 20 * 1000000L }, NULL);
		}
	}
	{
		struct db_val in[] = { DBV_I64(out->order) };

		if (db_done(db, db_one(db, ST_ORDER_EXISTS, in, 1, col, 1, &found), &c->p) != 0)
			return -1;
	}
	return found && n == 1;
}

/* The order of the call into its slot. */
static void
fill(struct call *c, struct qslot *s, const struct line *lines, size_t n, const char *pm)
{
	struct qorder *in = &s->in;
	size_t i;

	in->user = c->who.id;
	snprintf(in->pay_method, sizeof(in->pay_method), "%s", pm);
	in->created_at = (int64_t)time(NULL);
	in->nlines = (uint32_t)n;
	for (i = 0; i < n; i++) {
		in->lines[i].product = lines[i].product;
		in->lines[i].quantity = lines[i].quantity;
		in->lines[i].price = in->lines[i].goods = 0;
	}
	in->keylen = 0;
	in->key_user = 0;
	if (c->use_idem && c->idem.keylen <= sizeof(in->key)) {
		in->keylen = (uint32_t)c->idem.keylen;
		in->key_user = c->idem.user;
		memcpy(in->key, c->idem.key, c->idem.keylen);
		memcpy(in->hash, c->idem.hash, sizeof(in->hash));
	}
	in->browser = c->req->browser;
	snprintf(in->next, sizeof(in->next), "%s",
	    c->req->f[F_NEXT].set ? c->req->f[F_NEXT].s : "");
}

/* What the call answers for the outcome of its slot: 0 = placed (*o
 * filled), 1 = answered (a replay), -1 = c->p, 2 = queue it again. */
static int
outcome(struct call *c, struct qslot *s, struct line *lines, struct order *o)
{
	struct qresult out = s->out;
	int r;

	switch (out.outcome) {
	case QO_PLACED:
		batch_order_of(s, lines, o);
		return 0;
	case QO_SETTLE:
		if ((r = settle(c, &out)) <= 0)
			return r < 0 ? -1 : 2;
		batch_order_of(s, lines, o);
		return 0;
	case QO_KEY_TAKEN:
		/* Another request placed it first: its answer, or - when that
		 * request rolled back - queued again. */
		if ((r = write_replay(c)) != 0)
			return r;
		return 2;
	case QO_REFUSED:
	case QO_FAILED:
		c->p = out.p;
		return -1;
	case QO_NONE:
	case QO_BUSY:		/* queued again by the batcher: never handed out */
		break;
	}
	problem_set(&c->p, PROB_INTERNAL, "a queued order came back undecided");
	return -1;
}

int
queue_call(struct call *c, struct line *lines, size_t n, const char *pay_method,
    struct order *o)
{
	struct qslot *s;
	long merged;
	int64_t since;
	int tries = 0, r = -1;

	if (write_remembered(c))
		return 0;
	if ((merged = order_lines_merge(lines, n, &c->p)) < 0)
		return -1;
	if ((s = queue_reserve()) == NULL) {
		problem_set(&c->p, PROB_UNAVAILABLE, "too many orders are waiting; nothing was "
		    "done; try again");
		return -1;
	}
	fill(c, s, lines, (size_t)merged, pay_method);
	queue_submit(s, 0);
	since = mono_ms();
	for (;;) {
		switch (queue_wait(s, QUEUE_WAIT_MS)) {
		case QT_WAIT:
			if (mono_ms() - since > QUEUE_PATIENCE_MS && queue_withdraw(s)) {
				problem_set(&c->p, PROB_UNAVAILABLE, "the order queue did not move "
				    "for %d s; nothing was done; try again", QUEUE_PATIENCE_MS / 1000);
				return -1;
			}
			continue;
		case QT_DONE:
			break;
		}
		r = outcome(c, s, lines, o);
		if (r != 2)
			break;
		if (++tries >= QUEUE_TRIES) {
			problem_set(&c->p, PROB_UNAVAILABLE, "the order was queued %d times and "
			    "never placed; nothing was done; try again", QUEUE_TRIES);
			r = -1;
			break;
		}
		/* Nothing of it was done: in line again, in its old place. */
		resp_init(c->resp);
		memset(&c->p, 0, sizeof(c->p));
		queue_submit(s, 1);
		since = mono_ms();
	}
	queue_free(s);
	if (r != 0)
		return r > 0 ? 0 : -1;
	/* The answer its key stored, rendered by the same code. */
	answer_placed(c, o);
	if (c->use_idem)
		write_remember(c, IDEM_LIFE_S);
	return 0;
}
