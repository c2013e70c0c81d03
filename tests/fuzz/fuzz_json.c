/* fuzz_json.c - the application/json body parser.
 *
 * Input: a JSON body ({"product":3,"quantity":2}, {"items":[...]}), posted
 * to /checkout/ by an API client in an exact-size heap buffer with no
 * terminating NUL. Besides the contract checks of fuzz_util.h, an accepted
 * body is parsed again with cJSON alone and every integer req_parse()
 * returned must be the number (or numeric string) written in that member:
 * req_parse() validates integers from its own scan of the number tokens,
 * and a scan that fell out of step with cJSON's tree would hand a handler
 * another member's number. */
#include "config.h"

#include "fuzz_util.h"

/* Whether a member could carry an integer (a number: *d its value, *is_num
 * set; or a string, to be read with valid_int). */
static int
written_int(const cJSON *it, double *d, int *is_num)
{
	if (cJSON_IsNumber(it)) {
		*d = it->valuedouble;
		*is_num = 1;
		return 1;
	}
	*is_num = 0;
	return cJSON_IsString(it);
}

static void
same_int(const char *what, const cJSON *it, int64_t got)
{
	double d;
	int is_num;

	FUZZ_ASSERT(it != NULL, "%s = %lld but the member is missing", what, (long long)got);
	FUZZ_ASSERT(written_int(it, &d, &is_num), "%s = %lld from a non-scalar", what,
	    (long long)got);
	if (is_num) {
		FUZZ_ASSERT(d == (double)got, "%s = %lld but the body says %.17g", what,
		    (long long)got, d);
	} else {
		int64_t v;

		FUZZ_ASSERT(valid_int(it->valuestring, strlen(it->valuestring), INT64_MIN,
		    INT64_MAX, &v) == NULL && v == got, "%s = %lld but the body says \"%s\"",
		    what, (long long)got, it->valuestring);
	}
}

static void
check_against_cjson(const struct req *r, const uint8_t *data, size_t size)
{
	cJSON *root = cJSON_ParseWithLength((const char *)data, size);
	const cJSON *items, *el;
	int f;
	size_t k;

	FUZZ_ASSERT(cJSON_IsObject(root), "accepted a body cJSON does not take as an object");
	for (f = 0; f < F__MAX; f++) {
		const char *name = req_field_name((enum field)f);
		const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, name);
		int64_t min, max;

		if (!r->f[f].set || f == F_ITEMS)
			continue;
		if (fuzz_int_bounds(f, &min, &max))
			same_int(name, it, r->f[f].i);
		else if (r->f[f].s != NULL) {
			/* Text kinds: the value is the member's string, maybe trimmed. */
			FUZZ_ASSERT(cJSON_IsString(it) &&
			    strstr(it->valuestring, r->f[f].s) != NULL,
			    "%s = '%s' is not from the body", name, r->f[f].s);
		}
	}
	if (r->f[F_ITEMS].set) {
		items = cJSON_GetObjectItemCaseSensitive(root, "items");
		FUZZ_ASSERT(cJSON_IsArray(items) &&
		    (size_t)cJSON_GetArraySize(items) == r->nitems,
		    "%zu items from a body with %d", r->nitems, cJSON_GetArraySize(items));
		for (k = 0, el = items->child; el != NULL; el = el->next, k++) {
			char what[48];
			const cJSON *q = cJSON_GetObjectItemCaseSensitive(el, "quantity");

			FUZZ_ASSERT(r->items[k].idx == k, "items[%zu] has idx %zu", k,
			    r->items[k].idx);
			snprintf(what, sizeof(what), "items[%zu].product", k);
			same_int(what, cJSON_GetObjectItemCaseSensitive(el, "product"),
			    r->items[k].product);
			snprintf(what, sizeof(what), "items[%zu].quantity", k);
			if (q != NULL)
				same_int(what, q, r->items[k].quantity);
			else
				FUZZ_ASSERT(r->items[k].quantity == 1, "%s defaults to %lld", what,
				    (long long)r->items[k].quantity);
		}
	}
	cJSON_Delete(root);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct req_input in;
	struct arena a;
	struct req r;
	struct problem p;
	char *body;
	int rc;

	body = fuzz_memdup(data, size);
	arena_init(&a, ARENA_LIMIT);
	memset(&in, 0, sizeof(in));
	in.method = "POST";
	in.path = "/checkout/";
	in.content_type = "application/json";
	in.accept = "application/json";
	in.body = body;
	in.body_len = size;

	memset(&p, 0, sizeof(p));
	rc = req_parse(&r, &a, &in, &p);
	check_parsed(&r, &in, rc, &p, 1);
	if (rc == 0 && size > 0) {
		FUZZ_ASSERT(r.json == 1, "JSON body not marked as JSON");
		check_against_cjson(&r, data, size);
	}
	check_response(&a, &r, rc, &p, 1);

	arena_free(&a);
	free(body);
	return 0;
}
