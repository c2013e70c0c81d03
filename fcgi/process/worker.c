#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <mysql.h>

#include "api/api.h"
#include "base/arena.h"
#include "domain/auth.h"
#include "store/db.h"
#include "base/log.h"
#include "domain/orders.h"
#include "http/request.h"
#include "http/response.h"
#include "shm/queue.h"
#include "shm/shared.h"
#include "shm/stats.h"
#include "process/worker.h"

#define DRAIN_SECONDS	1.0	/* how long a stopping worker takes queued connections */
#define KEPT_SECONDS	5.0	/* how long it waits for nginx to close kept ones */
/* One FastCGI connection at a time, as php-fpm's children: nginx sends a
 * request on a kept connection only when that connection is idle, so a
 * worker waiting on a locked row never has a request queued behind it, and
 * a killed worker takes with it at most the request it was answering. While
 * it has a connection open, a worker does not look at the listening socket;
 * nginx keeps fewer connections open (keepalive in nginx/orderd.conf.in)
 * than the pool has workers, so the others take the new ones. */
#define CONNS_MAX	1
#define ACCEPTS_PER_ROUND 8	/* requests on new connections taken in one round */

static volatile sig_atomic_t stop;



static void
on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

/* The CGI params a request is read from. They are found in one pass over
 * the request's environment: FCGX_GetParam scans it once per name, and its
 * string compares were the largest user-space cost of a cached read after
 * malloc (perf, bench scenario (a)). */
enum param {
	P_CONTENT_LENGTH, P_REQUEST_METHOD, P_REQUEST_URI, P_DOCUMENT_URI, P_QUERY_STRING,
	P_CONTENT_TYPE, P_ACCEPT, P_OVERRIDE, P_AUTHORIZATION, P_COOKIE, P_ORIGIN,
	P_REFERER, P_ORDERD_HOST, P_HOST, P_CSRF, P_IDEMPOTENCY_KEY, P_REMOTE_ADDR, P_COUNT
};

#define PARAM(s)	{ s, sizeof(s) - 1 }
static const struct {
	const char *name;
	size_t len;
} param_names[P_COUNT] = {
	[P_CONTENT_LENGTH] = PARAM("CONTENT_LENGTH"),
	[P_REQUEST_METHOD] = PARAM("REQUEST_METHOD"),
	[P_REQUEST_URI] = PARAM("REQUEST_URI"),
	[P_DOCUMENT_URI] = PARAM("DOCUMENT_URI"),
	[P_QUERY_STRING] = PARAM("QUERY_STRING"),
	[P_CONTENT_TYPE] = PARAM("CONTENT_TYPE"),
	[P_ACCEPT] = PARAM("HTTP_ACCEPT"),
	[P_OVERRIDE] = PARAM("HTTP_X_HTTP_METHOD_OVERRIDE"),
	[P_AUTHORIZATION] = PARAM("HTTP_AUTHORIZATION"),
	[P_COOKIE] = PARAM("HTTP_COOKIE"),
	[P_ORIGIN] = PARAM("HTTP_ORIGIN"),
	[P_REFERER] = PARAM("HTTP_REFERER"),
	[P_ORDERD_HOST] = PARAM("ORDERD_HOST"),
	[P_HOST] = PARAM("HTTP_HOST"),
	[P_CSRF] = PARAM("HTTP_X_CSRF_TOKEN"),
	[P_IDEMPOTENCY_KEY] = PARAM("HTTP_IDEMPOTENCY_KEY"),
	[P_REMOTE_ADDR] = PARAM("REMOTE_ADDR"),
};

/* v[p]: the value of param p, or NULL; the first of a repeated name wins,
 * as with FCGX_GetParam. */
static void
read_params(char **envp, const char *v[P_COUNT])
{
	size_t k, n;

	for (k = 0; k < P_COUNT; k++)
		v[k] = NULL;
	for (; envp != NULL && *envp != NULL; envp++) {
		const char *e = *envp, *eq = strchr(e, '=');

		if (eq == NULL)
			continue;
		n = (size_t)(eq - e);
		for (k = 0; k < P_COUNT; k++)
			if (param_names[k].len == n && memcmp(param_names[k].name, e, n) == 0) {
				if (v[k] == NULL)
					v[k] = eq + 1;
				break;
			}
	}
}

/* Reads the body announced by CONTENT_LENGTH (cl) into the arena. Returns 0
 * and sets in->body/body_len; a length over the limit is passed on unread
 * (the parser answers 413); -1 for a bad or unfulfilled length (400). */
static int
read_body(FCGX_Request *rq, const char *cl, struct arena *a, struct req_input *in,
    const char **why)
{
	char *end, *buf;
	unsigned long long n;
	int got;

	in->body = NULL;
	in->body_len = 0;
	if (cl == NULL || *cl == '\0')
		return 0;
	errno = 0;
	n = strtoull(cl, &end, 10);
	if (errno != 0 || *end != '\0' || cl[0] == '-') {
		*why = "Content-Length is not a number";
		return -1;
	}
	if (n > REQ_BODY_MAX) {
		in->body_len = (size_t)(n > SIZE_MAX ? SIZE_MAX : n);
		return 0;
	}
	if (n == 0)
		return 0;
	if ((buf = arena_alloc(a, (size_t)n + 1)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	got = FCGX_GetStr(buf, (int)n, rq->in);
	if (got < 0 || (unsigned long long)got != n) {
		*why = "body is shorter than its Content-Length";
		return -1;
	}
	in->body = buf;
	in->body_len = (size_t)n;
	return 0;
}

static void
write_resp(FCGX_Request *rq, const struct resp *r, int head_only)
{
	char head[RESP_HEAD_MAX];
	size_t n = resp_head(r, head, sizeof(head));

	if (n == 0) {
		static const char fallback[] = "Status: 500 Internal Server Error\r\n"
		    "Content-Type: application/problem+json\r\nContent-Length: 0\r\n\r\n";

		FCGX_PutStr(fallback, (int)sizeof(fallback) - 1, rq->out);
		return;
	}
	FCGX_PutStr(head, (int)n, rq->out);
	if (!head_only && r->body_len > 0)
		FCGX_PutStr(r->body, (int)r->body_len, rq->out);
}

/* Answers one request; returns its status (the route is in ctx->route). */
static int
serve_one(FCGX_Request *rq, struct api_ctx *ctx)
{
	struct req_input in;
	struct resp resp;
	const char *why = NULL, *method, *uri, *q, *v[P_COUNT];

	memset(&in, 0, sizeof(in));
	read_params(rq->envp, v);
	method = v[P_REQUEST_METHOD];
	in.method = method;
	/* The path as the client sent it: nginx's DOCUMENT_URI is decoded and
	 * slash-merged, which would turn /product/%2F/ into /product/. */
	if ((uri = v[P_REQUEST_URI]) != NULL) {
		if ((q = strchr(uri, '?')) != NULL)
			uri = arena_strndup(ctx->arena, uri, (size_t)(q - uri));
	} else
		uri = v[P_DOCUMENT_URI];
	in.path = uri;
	in.query = v[P_QUERY_STRING];
	in.content_type = v[P_CONTENT_TYPE];
	in.accept = v[P_ACCEPT];
	in.override = v[P_OVERRIDE];
	in.authorization = v[P_AUTHORIZATION];
	in.cookie = v[P_COOKIE];
	in.origin = v[P_ORIGIN];
	in.referer = v[P_REFERER];
	/* Host with its port: ORDERD_HOST from our nginx template, else Host. */
	if ((in.host = v[P_ORDERD_HOST]) == NULL)
		in.host = v[P_HOST];
	in.csrf = v[P_CSRF];
	in.idempotency_key = v[P_IDEMPOTENCY_KEY];
	in.remote_addr = v[P_REMOTE_ADDR];
	ctx->route = 0;

	if (read_body(rq, v[P_CONTENT_LENGTH], ctx->arena, &in, &why) != 0) {
		struct problem p;

		resp_init(&resp);
		problem_set(&p, PROB_MALFORMED, "%s", why);
		log_info("%s %.64s: 400 %s", method ? method : "-", uri ? uri : "-", why);
		resp_problem(&resp, ctx->arena, NULL, &p);
	} else
		api_handle(ctx, &in, &resp);
	stats_state(STATS_WRITING);
	write_resp(rq, &resp, method != NULL && strcmp(method, "HEAD") == 0);
	return resp.status;
}

/* --lock queue: a waiting order needs no database connection, and the
 * pool holds many more orders than it has connections. A worker keeps its
 * connection while it uses it; once more than a quarter of the workers
 * hold one, a worker that has not run a statement for KEEP_IDLE_MS closes
 * its own (after a request, or on its idle tick). Reads keep theirs; the
 * workers of a flash sale, which only wait on the batcher (it has its
 * own), let theirs go. */
#define KEEP_IDLE_MS	200

static void
keep_connection(struct api_ctx *ctx)
{
	static int noted;	/* this worker counts among the holders */
	struct db *db = ctx->db;
	int held = db->my != NULL;

	if (ctx->conf->lock != LOCK_QUEUE || !queue_ready())
		return;
	/* The shared count changes (under the queue's lock) only when this
	 * worker's connection came or went. */
	if (held != noted) {
		(void)queue_conn_note(held);
		noted = held;
	}
	if (held && !db->in_txn && queue_conn_count() > (uint32_t)ctx->conf->workers / 4 &&
	    mono_ms() - db->used_ms >= KEEP_IDLE_MS) {
		db_close(db);
		(void)queue_conn_note(0);
		noted = 0;
	}
}

/* Takes the next request on rq (a kept connection, or a new one from the
 * listening socket when rq has none) and answers it. Returns 1 when a
 * request was served. */
static int
take(FCGX_Request *rq, struct api_ctx *ctx)
{
	struct timespec t0, t1;
	int status;

	/* Non-blocking accept: another worker may have taken it. */
	if (FCGX_Accept_r(rq) < 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	stats_state(STATS_READING);
	status = serve_one(rq, ctx);
	/* Counted before FCGX_Finish_r() sends the answer's last bytes: a
	 * client that read its answer and asks GET /status/ finds it counted. */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	stats_request(ctx->route, status, (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000);
	FCGX_Finish_r(rq);
	stats_state(STATS_IDLE);
	arena_reset(ctx->arena);
	keep_connection(ctx);
	return 1;
}

int
worker_run(const struct conf *c, int listen_fd, pid_t master)
{
	static struct pollfd pfd[CONNS_MAX + 1];
	FCGX_Request *slot[CONNS_MAX];	/* open connections first: [0, nopen) */
	struct sigaction sa;
	sigset_t block, waitmask;
	struct arena arena;
	struct db db;
	struct api_ctx ctx;
	long served = 0;
	size_t nopen = 0, i;
	double kept_until = 0, accept_until = 0;
	int accepting = 1;	/* polling the listening socket */
	int recycle = 0;

	/* Signals arrive only while waiting for a connection (ppoll below), so
	 * a request in hand is never interrupted. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&waitmask);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != master)
		return 0;

	srandom((unsigned)(time(NULL) ^ (getpid() << 16)));
	if (mysql_library_init(0, NULL, NULL) != 0) {
		log_error("mysql_library_init failed");
		return 1;
	}
	if (auth_init() != 0) {
		log_error("libsodium failed to initialise");
		return 1;
	}
	FCGX_Init();
	for (i = 0; i < CONNS_MAX; i++)
		if ((slot[i] = malloc(sizeof(**slot))) == NULL ||
		    FCGX_InitRequest(slot[i], listen_fd, 0) != 0) {
			log_error("FCGX_InitRequest failed");
			return 1;
		}
	arena_init(&arena, ARENA_LIMIT);
	order_hold_set(c->hold);
	db_init(&db, c);
	/* --lock queue: a worker connects when it first needs the database
	 * (its waiting orders need none). */
	if (c->lock != LOCK_QUEUE && db_connect(&db) != DB_OK)
		log_warn("database not reachable yet (%u %s); answering 503 until it is",
		    db.last_errno, db.last_error);
	ctx.db = &db;
	ctx.conf = c;
	ctx.arena = &arena;

	for (;;) {
		struct timespec tick = { 1, 0 };
		sigset_t pending;
		nfds_t np = 0;
		double now = mono_s();
		int polled_listen, ready;

		if (getppid() != master)
			break;
		if ((stop || recycle) && kept_until == 0) {
			/* Stopping: take only what nginx already queued on the
			 * socket (the kernel accepted it on our behalf), and keep
			 * answering on kept connections until nginx has closed
			 * them. Recycling: the next worker takes the socket. */
			kept_until = now + KEPT_SECONDS;
			accept_until = now + DRAIN_SECONDS;
			if (recycle)
				accepting = 0;
		}
		if (kept_until > 0 && now >= kept_until)
			break;
		if (kept_until > 0 && !accepting && nopen == 0)
			break;
		polled_listen = accepting && nopen < CONNS_MAX;
		np = 0;
		if (polled_listen)
			pfd[np++] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
		for (i = 0; i < nopen; i++)
			pfd[np++] = (struct pollfd){ .fd = slot[i]->ipcFd, .events = POLLIN };
		if (kept_until > 0)
			tick = (struct timespec){ 0, 100 * 1000 * 1000 };
		ready = ppoll(pfd, np, &tick, &waitmask);
		/* ppoll() returns at once when a socket is readable, without
		 * delivering a pending signal: under steady load SIGTERM would
		 * wait for ever. Look for it ourselves. */
		if (sigpending(&pending) == 0 &&
		    (sigismember(&pending, SIGTERM) || sigismember(&pending, SIGINT)))
			stop = 1;
		/* A stopping worker stops taking new connections once none is
		 * queued, and after DRAIN_SECONDS at most (a TCP listener keeps
		 * filling while any process holds it). */
		if (kept_until > 0 && polled_listen &&
		    (ready <= 0 || !(pfd[0].revents & POLLIN) || now >= accept_until))
			accepting = 0;
		if (ready <= 0) {
			keep_connection(&ctx);
			continue;
		}
		/* Kept connections first, each at most once a round; one that
		 * nginx closed leaves the open set (swapped with the last, which
		 * this downward walk has already seen). */
		for (i = nopen; i-- > 0;) {
			if (!(pfd[(polled_listen ? 1 : 0) + i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			served += take(slot[i], &ctx);
			if (slot[i]->ipcFd < 0) {
				FCGX_Request *t = slot[i];

				slot[i] = slot[--nopen];
				slot[nopen] = t;
			}
		}
		/* New connections, several a round: nginx opens one whenever
		 * it has none idle, each with a request already on it. */
		for (i = 0; polled_listen && accepting && (pfd[0].revents & POLLIN) &&
		    i < ACCEPTS_PER_ROUND && nopen < CONNS_MAX; i++) {
			int got = take(slot[nopen], &ctx);

			served += got;
			if (slot[nopen]->ipcFd >= 0)
				nopen++;
			if (!got) {
				if (kept_until > 0)
					accepting = 0;	/* the queue is empty */
				break;
			}
		}
		if (c->max_requests > 0 && served >= c->max_requests && !recycle) {
			log_info("served %ld requests, recycling", served);
			recycle = 1;
		}
	}
	for (i = 0; i < CONNS_MAX; i++) {
		FCGX_Free(slot[i], 1);
		free(slot[i]);
	}
	db_close(&db);
	arena_free(&arena);
	mysql_library_end();
	return 0;
}
