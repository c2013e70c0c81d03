/* fuzz_form.c - the application/x-www-form-urlencoded parser.
 *
 * Input: a body, as the browser forms post it ("name=Tea+cup&price=250",
 * "items[0][product]=3&items[0][quantity]=2&next=%2F"). It is parsed three
 * times from one arena (reset in between, as a worker does):
 *   1. POST /checkout/ from a browser (Accept prefers HTML: problems become
 *      303s back to `next`),
 *   2. POST /product/ from an API client (problems are problem+json),
 *   3. GET /product/?<input> as the query string (NUL-terminated there, so
 *      the input stops at its first NUL).
 * The body is an exact-size heap buffer with no terminating NUL. */
#include "config.h"

#include "fuzz_util.h"

static void
one(struct arena *a, const struct req_input *in)
{
	struct req r;
	struct problem p;
	int rc;

	memset(&p, 0, sizeof(p));
	rc = req_parse(&r, a, in, &p);
	check_parsed(&r, in, rc, &p, 1);
	/* A form post never comes out as JSON. */
	FUZZ_ASSERT(rc != 0 || r.json == 0, "form marked as JSON");
	check_response(a, &r, rc, &p, 1);
	arena_reset(a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct req_input in;
	struct arena a;
	char *body, *query;

	body = fuzz_memdup(data, size);
	query = fuzz_strndup(data, size);
	arena_init(&a, ARENA_LIMIT);

	memset(&in, 0, sizeof(in));
	in.method = "POST";
	in.path = "/checkout/";
	in.content_type = "application/x-www-form-urlencoded";
	in.accept = BROWSER_ACCEPT;
	in.body = body;
	in.body_len = size;
	one(&a, &in);

	in.path = "/product/";
	in.content_type = "application/x-www-form-urlencoded; charset=UTF-8";
	in.accept = "application/json";
	one(&a, &in);

	memset(&in, 0, sizeof(in));
	in.method = "GET";
	in.path = "/product/";
	in.query = query;
	in.accept = "application/json";
	one(&a, &in);

	arena_free(&a);
	free(query);
	free(body);
	return 0;
}
