/* fuzz_request.c - the request line and headers, as a worker receives them.
 *
 * Input: three selector bytes, then NUL-separated parts:
 *
 *   byte 0   method: 0 GET 1 HEAD 2 POST 3 PUT 4 DELETE 5 PATCH 6 OPTIONS
 *            7 absent 8 the text of part 0 (taken modulo 9)
 *   byte 1   Content-Type: 0 application/json 1 …x-www-form-urlencoded
 *            2 "application/json; charset=utf-8" 3 absent 4 text/plain
 *            5 multipart/form-data 6,7 the text of part 2 (modulo 8)
 *   byte 2   flags: 0x01 no Accept, 0x02 no X-HTTP-Method-Override,
 *            0x04 an announced body over REQ_BODY_MAX (body absent, as the
 *            worker passes it), 0x18 arena limit (4 MiB, 256 KiB, 16 KiB,
 *            1 KiB), 0x20 no path, 0x40 keep "?query" in the path (else it
 *            is split off into QUERY_STRING as the worker does)
 *   parts    method \0 path[?query] \0 content-type \0 accept \0 override \0 body
 *
 * A missing part is absent (NULL). The body is the rest of the input,
 * embedded NULs included, in an exact-size heap buffer. The request goes
 * through req_parse(), router_match() and the response builders; see
 * fuzz_util.h for what is checked. */
#include "config.h"

#include "fuzz_util.h"

#define NPARTS	6

static const char *const methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", NULL
};
static const char *const ctypes[] = {
	"application/json", "application/x-www-form-urlencoded",
	"application/json; charset=utf-8", NULL, "text/plain",
	"multipart/form-data; boundary=x"
};
static const size_t arena_limits[] = { ARENA_LIMIT, 256u << 10, 16u << 10, 1u << 10 };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *part[NPARTS];
	size_t plen[NPARTS], i, pos;
	char *text[NPARTS - 1] = { NULL };
	char *body = NULL, *q;
	unsigned msel, csel, flags;
	struct req_input in;
	struct arena a;
	struct req r;
	struct problem p;
	int rc, full;

	if (size < 3)
		return 0;
	msel = data[0] % 9;
	csel = data[1] % 8;
	flags = data[2];
	data += 3;
	size -= 3;

	/* Split into parts; the last takes the rest. */
	for (i = 0, pos = 0; i < NPARTS; i++) {
		const uint8_t *nul;

		if (pos > size) {
			part[i] = NULL;
			plen[i] = 0;
			continue;
		}
		part[i] = data + pos;
		nul = i < NPARTS - 1 ? memchr(data + pos, '\0', size - pos) : NULL;
		plen[i] = nul != NULL ? (size_t)(nul - (data + pos)) : size - pos;
		pos += plen[i] + 1;
		if (nul == NULL && i < NPARTS - 1)
			pos = size + 1;	/* no more parts */
	}
	for (i = 0; i < NPARTS - 1; i++)
		if (part[i] != NULL)
			text[i] = fuzz_strndup(part[i], plen[i]);

	memset(&in, 0, sizeof(in));
	in.method = msel == 8 ? text[0] : methods[msel];
	if (!(flags & 0x20)) {
		in.path = text[1];
		if (in.path != NULL && !(flags & 0x40) && (q = strchr(text[1], '?')) != NULL) {
			*q = '\0';
			in.query = q + 1;
		}
	}
	in.content_type = csel >= 6 ? text[2] : ctypes[csel];
	in.accept = flags & 0x01 ? NULL : text[3];
	in.override = flags & 0x02 ? NULL : text[4];
	if (flags & 0x04) {
		in.body = NULL;
		in.body_len = REQ_BODY_MAX + 1 + (part[5] != NULL ? plen[5] : 0);
	} else if (part[5] != NULL && plen[5] > 0) {
		body = fuzz_memdup(part[5], plen[5]);
		in.body = body;
		in.body_len = plen[5];
	}

	full = ((flags >> 3) & 3) == 0;
	arena_init(&a, arena_limits[(flags >> 3) & 3]);
	memset(&p, 0, sizeof(p));
	rc = req_parse(&r, &a, &in, &p);
	check_parsed(&r, &in, rc, &p, full);
	check_response(&a, &r, rc, &p, full);

	/* The same arena serves the next request after a reset, as in a worker:
	 * the request again must give the same answer. */
	arena_reset(&a);
	{
		struct req r2;
		struct problem p2;
		int rc2;

		memset(&p2, 0, sizeof(p2));
		rc2 = req_parse(&r2, &a, &in, &p2);
		FUZZ_ASSERT(rc2 == rc && (rc == 0 || p2.kind == p.kind),
		    "second parse differs: %d/%d vs %d/%d", rc, (int)p.kind, rc2, (int)p2.kind);
	}
	arena_free(&a);

	free(body);
	for (i = 0; i < NPARTS - 1; i++)
		free(text[i]);
	return 0;
}
