/* status.c - GET /status/: the pool as an administrator sees it. */
#include "config.h"

#include <unistd.h>

#include "api/apiint.h"
#include "base/fmt.h"
#include "shm/queue.h"

static const char *
lock_name(enum lock_mode m)
{
	return m == LOCK_QUEUE ? "queue" : m == LOCK_OPTIMISTIC ? "optimistic" : "forupdate";
}

/* The batches of --lock queue: counts, the largest, who leads, and how
 * many batches had each size (buckets of powers of two). */
static cJSON *
queue_json(void)
{
	struct queue_stats st;
	cJSON *q, *h;
	uint64_t from;
	size_t b;

	queue_stats_read(&st);
	if ((q = cJSON_CreateObject()) == NULL)
		return NULL;
	fmt_add_int(q, "batches", (int64_t)st.batches);
	fmt_add_int(q, "orders", (int64_t)st.orders);
	fmt_add_int(q, "largest", (int64_t)st.largest);
	fmt_add_int(q, "leader", st.leader);
	fmt_add_int(q, "queued", st.queued);
	fmt_add_int(q, "worker_connections", st.connections);
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
		fmt_add_int(e, "batches", (int64_t)st.hist[b]);
		cJSON_AddItemToArray(h, e);
	}
	return q;
}

int
status_h(struct call *c)
{
	const struct conf *conf = c->ctx->conf;
	cJSON *j;

	if (fields(c, 0, 0) != 0)
		return -1;
	if ((j = cJSON_CreateObject()) == NULL) {
		problem_set(&c->p, PROB_INTERNAL, "out of memory");
		return -1;
	}
	fmt_add_int(j, "pid", (int64_t)getppid());
	cJSON_AddStringToObject(j, "lock", lock_name(conf->lock));
	fmt_add_int(j, "workers", conf->workers);
	if (queue_on(c))
		cJSON_AddItemToObject(j, "queue", queue_json());
	answer(c, 200, j, NULL, 0);
	return 0;
}
