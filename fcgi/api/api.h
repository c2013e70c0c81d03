/* api.h - the HTTP API of docs/api.md: one request in, one response out.
 *
 * api_handle() parses and validates the request, routes it, runs the
 * handler (whose writes are each one transaction) and fills resp. It never
 * writes to the client: the worker does, after every transaction ended. */
#ifndef ORDERD_API_H
#define ORDERD_API_H

#include <stddef.h>

#include "base/arena.h"
#include "base/conf.h"
#include "store/db.h"
#include "http/request.h"
#include "http/response.h"

struct api_ctx {
	struct db *db;
	const struct conf *conf;
	struct arena *arena;
	int route;	/* out: the route api_handle() matched (router.h), 0 = none */
};

void	api_handle(struct api_ctx *, const struct req_input *, struct resp *);

/* The batcher's round (--lock queue, api/queue.c): takes what is queued,
 * places it as one batch with ctx's connection and hands out the outcomes
 * (ctx's arena reset after); sleeps up to wait_ms when nothing is queued.
 * Returns the number of orders placed. */
size_t	queue_serve(struct api_ctx *ctx, int wait_ms);

#endif
