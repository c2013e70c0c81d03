/* status.c - GET /status/: the pool as an operator sees it - its workers,
 * its counters since start, latency quantiles, the last seconds and the
 * products selling fastest (shm/stats.h), as JSON or in Prometheus' text
 * format. For administrators, and anyone from 127.0.0.1 (--status-local). */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/apiint.h"
#include "base/fmt.h"
#include "base/nodes.h"
#include "domain/catalog.h"
#include "shm/queue.h"
#include "shm/stats.h"

#define UNMATCHED	"unmatched"	/* the route label of a path no route matched */

static const char *const class_names[STATS_CLASSES] = { "2xx", "3xx", "4xx", "5xx" };

static const struct {
	const char *name;
	enum stats_counter hit, miss;
} caches[] = {
	{ "product", SC_PROD_HIT, SC_PROD_MISS },
	{ "session", SC_SESS_HIT, SC_SESS_MISS },
	{ "idempotency", SC_IDEM_HIT, SC_IDEM_MISS },
};

static const char *
lock_name(enum lock_mode m)
{
	return m == LOCK_QUEUE ? "queue" : m == LOCK_OPTIMISTIC ? "optimistic" : "forupdate";
}

static const char *
route_name(int r)
{
	const char *l = r == 0 ? NULL : router_label(r);

	return l != NULL ? l : UNMATCHED;
}

/* The database the pool uses: with --db-nodes the node its workers
 * connected to last, else the socket or HOST:PORT of the settings. */
static void
db_node_name(const struct conf *c, char *buf, size_t len)
{
	struct db_node nodes[NODES_MAX];
	char err[200];
	int n, k = db_health_node();

	if (c->db_nodes != NULL) {
		n = nodes_parse(c->db_nodes, nodes, NODES_MAX, err, sizeof(err));
		if (n > 0 && k >= 1 && k <= n)
			nodes_name(&nodes[k - 1], buf, len);
		else
			snprintf(buf, len, "%s", n > 0 ? "none yet" : "?");
	} else if (c->db_socket != NULL && *c->db_socket != '\0')
		snprintf(buf, len, "%s", c->db_socket);
	else
		snprintf(buf, len, "%s:%u", c->db_host != NULL ? c->db_host : "localhost",
		    c->db_port != 0 ? c->db_port : 3306);
}

static void
add_utc_ms(cJSON *o, const char *name, int64_t ms)
{
	char t[FMT_UTC_SIZE];

	if (fmt_utc(ms / 1000, t) != 0 || ms <= 0)
		cJSON_AddNullToObject(o, name);
	else
		cJSON_AddStringToObject(o, name, t);
}

/* A latency in ms rounded to µs, or null (nothing measured). */
static void
add_ms(cJSON *o, const char *name, double ms)
{
	if (ms < 0)
		cJSON_AddNullToObject(o, name);
	else
		cJSON_AddNumberToObject(o, name, (double)(int64_t)(ms * 1000 + 0.5) / 1000);
}

/* The batches of --lock queue: counts, the largest, who leads, and how
 * many batches had each size (buckets of powers of two). */
static cJSON *
queue_json(const struct queue_stats *st)
{
	cJSON *q, *h;
	uint64_t from;
	size_t b;

	if ((q = cJSON_CreateObject()) == NULL)
		return NULL;
	fmt_add_int(q, "batches", (int64_t)st->batches);
	fmt_add_int(q, "orders", (int64_t)st->orders);
	fmt_add_int(q, "largest", (int64_t)st->largest);
	fmt_add_int(q, "leader", st->leader);
	fmt_add_int(q, "queued", st->queued);
	fmt_add_int(q, "worker_connections", st->connections);
	h = cJSON_AddArrayToObject(q, "histogram");
	for (b = 0, from = 1; h != NULL && b < QUEUE_HIST; b++, from <<= 1) {
		cJSON *e = cJSON_CreateObject();

		if (e == NULL)
			break;
		fmt_add_int(e, "from", (int64_t)from);
		if (b + 1 < QUEUE_HIST)
			fmt_add_int(e, "to", (int64_t)(from * 2 - 1));
		else
			cJSON_AddNullToObject(e, "to");
		fmt_add_int(e, "batches", (int64_t)st->hist[b]);
		cJSON_AddItemToArray(h, e);
	}
	return q;
}

/* Everything one answer shows, read once. */
struct view {
	struct stats_totals t;
	struct stats_worker w[STATS_WORKERS];
	size_t nw;
	uint64_t requests, errors;
	int64_t now_ms;
	char node[NODE_ADDR_MAX + 8];
};

static void
view_read(struct call *c, struct view *v)
{
	size_t r, k;

	stats_read(&v->t);
	v->nw = stats_workers(v->w, STATS_WORKERS);
	v->requests = v->errors = 0;
	for (r = 0; r < STATS_ROUTES; r++)
		for (k = 0; k < STATS_CLASSES; k++) {
			v->requests += v->t.routes[r][k];
			if (k == STATS_CLASSES - 1)
				v->errors += v->t.routes[r][k];
		}
	v->now_ms = (int64_t)time(NULL) * 1000;
	db_node_name(c->ctx->conf, v->node, sizeof(v->node));
}

static cJSON *
pool_json(const struct view *v)
{
	cJSON *a = cJSON_CreateArray();
	size_t i;

	for (i = 0; a != NULL && i < v->nw; i++) {
		cJSON *w = cJSON_CreateObject();

		if (w == NULL)
			break;
		fmt_add_int(w, "slot", v->w[i].slot);
		fmt_add_int(w, "pid", (int64_t)v->w[i].pid);
		cJSON_AddStringToObject(w, "state", stats_state_name(v->w[i].state));
		fmt_add_int(w, "requests", (int64_t)v->w[i].requests);
		add_utc_ms(w, "started", v->w[i].started_ms);
		add_utc_ms(w, "state_since", v->w[i].state_since_ms);
		cJSON_AddItemToArray(a, w);
	}
	return a;
}

static cJSON *
requests_json(const struct view *v)
{
	cJSON *a = cJSON_CreateArray();
	int r, k;

	for (r = 0; a != NULL && r < STATS_ROUTES; r++)
		for (k = 0; k < STATS_CLASSES; k++) {
			cJSON *e;

			if (v->t.routes[r][k] == 0 || (e = cJSON_CreateObject()) == NULL)
				continue;
			cJSON_AddStringToObject(e, "route", route_name(r));
			cJSON_AddStringToObject(e, "status", class_names[k]);
			fmt_add_int(e, "count", (int64_t)v->t.routes[r][k]);
			cJSON_AddItemToArray(a, e);
		}
	return a;
}

static const char *
errno_name(const struct stats_totals *t, size_t k, char buf[16])
{
	if (t->errnos[k] == 0)
		return "other";
	snprintf(buf, 16, "%u", t->errnos[k]);
	return buf;
}

static cJSON *
counters_json(const struct view *v)
{
	const struct stats_totals *t = &v->t;
	cJSON *o = cJSON_CreateObject(), *r;
	char b[16];
	size_t k;

	if (o == NULL)
		return NULL;
	fmt_add_int(o, "requests", (int64_t)v->requests);
	fmt_add_int(o, "orders", (int64_t)t->c[SC_ORDERS]);
	fmt_add_int(o, "transactions", (int64_t)t->c[SC_TRANSACTIONS]);
	fmt_add_int(o, "commits", (int64_t)t->c[SC_COMMITS]);
	fmt_add_int(o, "rollbacks", (int64_t)t->c[SC_ROLLBACKS]);
	if ((r = cJSON_AddObjectToObject(o, "retries")) != NULL)
		for (k = 0; k < STATS_ERRNOS; k++)
			if (t->retries[k] > 0)
				fmt_add_int(r, errno_name(t, k, b), (int64_t)t->retries[k]);
	fmt_add_int(o, "lock_waits", (int64_t)t->c[SC_LOCK_WAITS]);
	fmt_add_int(o, "unavailable", (int64_t)t->c[SC_UNAVAILABLE]);
	fmt_add_int(o, "outcome_unknown", (int64_t)t->c[SC_OUTCOME_UNKNOWN]);
	fmt_add_int(o, "sold_out_refusals", (int64_t)t->c[SC_SOLD_OUT]);
	fmt_add_int(o, "errors", (int64_t)v->errors);
	return o;
}

static cJSON *
caches_json(const struct view *v)
{
	cJSON *o = cJSON_CreateObject();
	size_t i;

	for (i = 0; o != NULL && i < sizeof(caches) / sizeof(caches[0]); i++) {
		uint64_t h = v->t.c[caches[i].hit], m = v->t.c[caches[i].miss];
		cJSON *e = cJSON_AddObjectToObject(o, caches[i].name);

		if (e == NULL)
			break;
		fmt_add_int(e, "hits", (int64_t)h);
		fmt_add_int(e, "misses", (int64_t)m);
		if (h + m == 0)
			cJSON_AddNullToObject(e, "hit_rate");
		else
			cJSON_AddNumberToObject(e, "hit_rate",
			    (double)(int64_t)((double)h / (double)(h + m) * 10000 + 0.5) / 10000);
	}
	return o;
}

static cJSON *
latency_json(const struct view *v)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	fmt_add_int(o, "count", (int64_t)v->t.count);
	add_ms(o, "p50", stats_quantile(v->t.hist, 0.50, v->t.max_us));
	add_ms(o, "p90", stats_quantile(v->t.hist, 0.90, v->t.max_us));
	add_ms(o, "p99", stats_quantile(v->t.hist, 0.99, v->t.max_us));
	add_ms(o, "max", v->t.count > 0 ? (double)v->t.max_us / 1000.0 : -1);
	add_ms(o, "mean", v->t.count > 0 ? (double)v->t.sum_us / (double)v->t.count / 1000.0 :
	    -1);
	return o;
}

static cJSON *
history_json(size_t n)
{
	static struct stats_second s[STATS_HISTORY_MAX];
	cJSON *a = cJSON_CreateArray();
	size_t i, m = stats_history(s, n);

	for (i = 0; a != NULL && i < m; i++) {
		cJSON *e = cJSON_CreateObject();

		if (e == NULL)
			break;
		fmt_add_int(e, "t", s[i].t);
		fmt_add_int(e, "requests", (int64_t)s[i].requests);
		fmt_add_int(e, "orders", (int64_t)s[i].orders);
		fmt_add_int(e, "errors", (int64_t)s[i].errors);
		fmt_add_int(e, "retries", (int64_t)s[i].retries);
		/* Within a second the largest is not kept: the last bucket's
		 * bound (10 s) stands for it. */
		add_ms(e, "p50_ms", stats_quantile(s[i].hist, 0.50, 10000000));
		add_ms(e, "p99_ms", stats_quantile(s[i].hist, 0.99, 10000000));
		cJSON_AddItemToArray(a, e);
	}
	return a;
}

/* The products sold most in the last minute, with their name and stock
 * from the product cache (or one primary-key read each). */
static cJSON *
top_json(struct call *c, size_t n)
{
	struct stats_top top[20];
	cJSON *a = cJSON_CreateArray();
	size_t i, m = stats_top(top, n < 20 ? n : 20);

	for (i = 0; a != NULL && i < m; i++) {
		cJSON *e = cJSON_CreateObject();
		struct product pr;
		struct problem p;

		if (e == NULL)
			break;
		memset(&p, 0, sizeof(p));
		fmt_add_int(e, "id", top[i].product);
		if (catalog_product(c->ctx->db, top[i].product, &pr, &p) == 0) {
			cJSON_AddStringToObject(e, "name", pr.name);
			fmt_add_int(e, "stock", pr.stock);
		} else {
			cJSON_AddNullToObject(e, "name");
			cJSON_AddNullToObject(e, "stock");
		}
		fmt_add_int(e, "sold", (int64_t)top[i].sold);
		cJSON_AddItemToArray(a, e);
	}
	return a;
}

/* --- Prometheus' text exposition format (version 0.0.4) --------------- */

struct text {
	char *buf;
	size_t len, cap;
	int full;
};

static void
put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->cap - t->len)
		t->full = 1;
	else
		t->len += (size_t)n;
}

/* A label value with \, " and newline escaped. */
static void
put_label(struct text *t, const char *v)
{
	for (; *v != '\0' && !t->full; v++) {
		if (*v == '\\')
			put(t, "\\\\");
		else if (*v == '"')
			put(t, "\\\"");
		else if (*v == '\n')
			put(t, "\\n");
		else
			put(t, "%c", *v);
	}
}

static void
head(struct text *t, const char *name, const char *type, const char *help)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
counter(struct text *t, const char *name, const char *help, uint64_t v)
{
	head(t, name, "counter", help);
	put(t, "%s %" PRIu64 "\n", name, v);
}

/* Microseconds as seconds, exactly: 50 -> 0.00005. */
static void
put_seconds(struct text *t, uint64_t us)
{
	char frac[8];
	size_t n;

	snprintf(frac, sizeof(frac), "%06u", (unsigned)(us % 1000000));
	for (n = strlen(frac); n > 0 && frac[n - 1] == '0'; n--)
		frac[n - 1] = '\0';
	put(t, "%" PRIu64 "%s%s", us / 1000000, frac[0] ? "." : "", frac);
}

static int
prometheus(struct call *c, const struct view *v)
{
	static char buf[1 << 17];
	struct text t = { buf, 0, sizeof(buf), 0 };
	const struct stats_totals *st = &v->t;
	uint64_t states[STATS__STATES] = { 0 }, cum;
	char b[16];
	size_t i, k;
	int r;

	head(&t, "orderd_start_time_seconds", "gauge", "When the pool started, in Unix seconds.");
	put(&t, "orderd_start_time_seconds %" PRId64 "\n", stats_started_ms() / 1000);
	head(&t, "orderd_workers_configured", "gauge", "The configured number of workers.");
	put(&t, "orderd_workers_configured %d\n", c->ctx->conf->workers);
	for (i = 0; i < v->nw; i++)
		states[v->w[i].state]++;
	head(&t, "orderd_workers", "gauge", "Workers running, by state.");
	for (k = 0; k < STATS__STATES; k++)
		put(&t, "orderd_workers{state=\"%s\"} %" PRIu64 "\n",
		    stats_state_name((enum stats_state)k), states[k]);
	head(&t, "orderd_db_node_info", "gauge", "The database node in use (value 1).");
	put(&t, "orderd_db_node_info{node=\"");
	put_label(&t, v->node);
	put(&t, "\"} 1\n");

	head(&t, "orderd_requests_total", "counter",
	    "Requests answered, by route pattern and status class.");
	for (r = 0; r < STATS_ROUTES; r++)
		for (k = 0; k < STATS_CLASSES; k++) {
			if (st->routes[r][k] == 0)
				continue;
			put(&t, "orderd_requests_total{route=\"");
			put_label(&t, route_name(r));
			put(&t, "\",status=\"%s\"} %" PRIu64 "\n", class_names[k], st->routes[r][k]);
		}
	counter(&t, "orderd_orders_total", "Orders placed (committed).", st->c[SC_ORDERS]);
	counter(&t, "orderd_transactions_total", "Transaction attempts begun.",
	    st->c[SC_TRANSACTIONS]);
	counter(&t, "orderd_commits_total", "Transactions committed.", st->c[SC_COMMITS]);
	counter(&t, "orderd_rollbacks_total", "Transaction attempts rolled back.",
	    st->c[SC_ROLLBACKS]);
	head(&t, "orderd_retries_total", "counter",
	    "Transactions and reads run again, by the MariaDB error number that ended the try.");
	for (k = 0; k < STATS_ERRNOS; k++)
		if (st->retries[k] > 0)
			put(&t, "orderd_retries_total{errno=\"%s\"} %" PRIu64 "\n",
			    errno_name(st, k, b), st->retries[k]);
	counter(&t, "orderd_lock_waits_total",
	    "Statements ended by innodb_lock_wait_timeout (MariaDB error 1205).",
	    st->c[SC_LOCK_WAITS]);
	counter(&t, "orderd_unavailable_total", "503 /problems/unavailable answers.",
	    st->c[SC_UNAVAILABLE]);
	counter(&t, "orderd_outcome_unknown_total", "503 /problems/outcome-unknown answers.",
	    st->c[SC_OUTCOME_UNKNOWN]);
	counter(&t, "orderd_sold_out_refusals_total", "409 /problems/out-of-stock answers.",
	    st->c[SC_SOLD_OUT]);
	counter(&t, "orderd_errors_total", "5xx answers.", v->errors);
	head(&t, "orderd_cache_hits_total", "counter", "Lookups answered by a shared cache.");
	for (i = 0; i < sizeof(caches) / sizeof(caches[0]); i++)
		put(&t, "orderd_cache_hits_total{cache=\"%s\"} %" PRIu64 "\n", caches[i].name,
		    st->c[caches[i].hit]);
	head(&t, "orderd_cache_misses_total", "counter", "Lookups a shared cache missed.");
	for (i = 0; i < sizeof(caches) / sizeof(caches[0]); i++)
		put(&t, "orderd_cache_misses_total{cache=\"%s\"} %" PRIu64 "\n", caches[i].name,
		    st->c[caches[i].miss]);
	if (queue_on(c)) {
		struct queue_stats q;

		queue_stats_read(&q);
		counter(&t, "orderd_queue_batches_total", "Batches the queue placed.", q.batches);
		counter(&t, "orderd_queue_orders_total", "Orders in the queue's batches.", q.orders);
		head(&t, "orderd_queue_largest_batch", "gauge", "The largest batch so far.");
		put(&t, "orderd_queue_largest_batch %" PRIu64 "\n", (uint64_t)q.largest);
		head(&t, "orderd_queue_queued", "gauge", "Orders waiting in the queue.");
		put(&t, "orderd_queue_queued %" PRId64 "\n", (int64_t)q.queued);
	}
	head(&t, "orderd_request_duration_seconds", "histogram",
	    "Time from taking a request to its last byte handed to the web server.");
	for (k = 0, cum = 0; k < STATS_BUCKETS; k++) {
		cum += st->hist[k];
		put(&t, "orderd_request_duration_seconds_bucket{le=\"");
		put_seconds(&t, stats_bucket_us(k));
		put(&t, "\"} %" PRIu64 "\n", cum);
	}
	put(&t, "orderd_request_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", st->count);
	put(&t, "orderd_request_duration_seconds_sum ");
	put_seconds(&t, st->sum_us);
	put(&t, "\norderd_request_duration_seconds_count %" PRIu64 "\n", st->count);
	if (t.full) {
		problem_set(&c->p, PROB_INTERNAL, "the status text outgrew its buffer");
		return -1;
	}
	if ((c->resp->body = arena_strndup(c->ctx->arena, buf, t.len)) == NULL) {
		problem_set(&c->p, PROB_INTERNAL, "out of memory");
		return -1;
	}
	c->resp->status = 200;
	c->resp->ctype = "text/plain; version=0.0.4; charset=utf-8";
	c->resp->body_len = t.len;
	return 0;
}

int
status_h(struct call *c)
{
	static struct view v;
	const struct conf *conf = c->ctx->conf;
	const struct field_val *fmt = &c->req->f[F_FORMAT];
	int64_t started;
	cJSON *j;

	if (fields(c, BIT(F_HISTORY) | BIT(F_TOP) | BIT(F_FORMAT), 0) != 0)
		return -1;
	if (fmt->set && strcmp(fmt->s, "json") != 0 && strcmp(fmt->s, "prometheus") != 0) {
		problem_set(&c->p, PROB_FIELD, "format must be json or prometheus");
		problem_add_str(&c->p, "field", "format");
		return -1;
	}
	view_read(c, &v);
	if (fmt->set && strcmp(fmt->s, "prometheus") == 0)
		return prometheus(c, &v);
	if ((j = cJSON_CreateObject()) == NULL) {
		problem_set(&c->p, PROB_INTERNAL, "out of memory");
		return -1;
	}
	fmt_add_int(j, "pid", (int64_t)getppid());
	cJSON_AddStringToObject(j, "lock", lock_name(conf->lock));
	fmt_add_int(j, "workers", conf->workers);
	if (queue_on(c)) {
		struct queue_stats st;

		queue_stats_read(&st);
		cJSON_AddItemToObject(j, "queue", queue_json(&st));
	}
	started = stats_started_ms();
	add_utc_ms(j, "started", started);
	fmt_add_int(j, "uptime_seconds", started > 0 ? (v.now_ms - started) / 1000 : 0);
	cJSON_AddStringToObject(j, "db_node", v.node);
	cJSON_AddItemToObject(j, "pool", pool_json(&v));
	cJSON_AddItemToObject(j, "requests", requests_json(&v));
	cJSON_AddItemToObject(j, "counters", counters_json(&v));
	cJSON_AddItemToObject(j, "caches", caches_json(&v));
	cJSON_AddItemToObject(j, "latency_ms", latency_json(&v));
	if (c->req->f[F_HISTORY].set && c->req->f[F_HISTORY].i > 0)
		cJSON_AddItemToObject(j, "history", history_json((size_t)c->req->f[F_HISTORY].i));
	if (c->req->f[F_TOP].set && c->req->f[F_TOP].i > 0)
		cJSON_AddItemToObject(j, "top_products", top_json(c, (size_t)c->req->f[F_TOP].i));
	answer(c, 200, j, NULL, 0);
	return 0;
}
