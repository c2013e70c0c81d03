/* fuzz_hdr.c - the parsers of attacker-controlled headers (fcgi/http/hdr.c).
 *
 * Input: up to three NUL-separated strings "url\0host\0header" (missing ones
 * are empty), each in an exact-size heap buffer with its NUL:
 *   - hdr_same_origin(url, host), as an Origin / Referer against the site's
 *     host:port, compared with a reference written here from its contract
 *     in hdr.h: same origin exactly when the url is http:// or https://,
 *     its host equals host's (ASCII case aside) and their ports (the url's
 *     scheme's default when absent) are the same number in 1..65535;
 *   - hdr_cookie() of three names and hdr_bearer() on each of the three
 *     strings, compared with references (the cookie one splits at ';'). */
#include "config.h"

#include <strings.h>

#include "fuzz_util.h"
#include "http/hdr.h"

#define HOST_MAX	255	/* hdr_same_origin's buffers hold 255 bytes and a NUL */

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int
is_space(int c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* host[:port] of s, up to the first of "/?#" or the end. The port as strtol
 * reads it: optional white space and sign, then digits to the end. */
static int
ref_hostport(const char *s, const char **host, size_t *hlen, long *port, long def)
{
	size_t n = strcspn(s, "/?#"), h, i;
	const char *colon = memchr(s, ':', n);
	int neg = 0, digits = 0;
	long v = 0;

	h = colon != NULL ? (size_t)(colon - s) : n;
	if (h == 0 || h > HOST_MAX)
		return 0;
	*host = s;
	*hlen = h;
	*port = def;
	if (colon == NULL)
		return 1;
	i = h + 1;
	while (i < n && is_space((unsigned char)s[i]))
		i++;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++)
		if (v <= 65535)
			v = v * 10 + (s[i] - '0');
	if (digits == 0 || i != n || neg || v < 1 || v > 65535)
		return 0;
	*port = v;
	return 1;
}

static const struct {
	const char *prefix;
	long port;
} schemes[] = { { "http://", 80 }, { "https://", 443 } };

static int
ref_same_origin(const char *url, const char *host)
{
	const char *uh = NULL, *hh;
	size_t ul = 0, hl, i, k;
	long up = 0, hp, def = 0;

	for (k = 0; k < sizeof(schemes) / sizeof(schemes[0]) && uh == NULL; k++) {
		size_t pl = strlen(schemes[k].prefix);

		def = schemes[k].port;
		if (strncmp(url, schemes[k].prefix, pl) == 0 &&
		    !ref_hostport(url + pl, &uh, &ul, &up, def))
			return 0;
	}
	if (uh == NULL || *host == '\0' || !ref_hostport(host, &hh, &hl, &hp, def))
		return 0;
	if (ul != hl || up != hp)
		return 0;
	for (i = 0; i < ul; i++)
		if (lower((unsigned char)uh[i]) != lower((unsigned char)hh[i]))
			return 0;
	return 1;
}

/* The value of the first ';'-separated piece that is, after leading
 * spaces, "name=value". */
static long
ref_cookie(const char *h, const char *name, const char **val)
{
	size_t nl = strlen(name);
	const char *p = h;

	for (;;) {
		const char *q = p, *e = strchr(p, ';');

		while (*q == ' ')
			q++;
		if (strncmp(q, name, nl) == 0 && q[nl] == '=') {
			*val = q + nl + 1;
			return e != NULL ? (long)(e - *val) : (long)strlen(*val);
		}
		if (e == NULL)
			return -1;
		p = e + 1;
	}
}

static void
check_cookie(const char *h)
{
	static const char *const names[] = { "orderd_session", "orderd_csrf", "a" };
	size_t k;

	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		const char *v = NULL, *rv = NULL;
		long n = hdr_cookie(h, names[k], &v), rn = ref_cookie(h, names[k], &rv);

		FUZZ_ASSERT(n == rn, "hdr_cookie(%s) gave %ld, not %ld", names[k], n, rn);
		if (n < 0)
			continue;
		FUZZ_ASSERT(v == rv, "hdr_cookie(%s) value at %td, not %td", names[k], v - h, rv - h);
		FUZZ_ASSERT(memchr(v, ';', (size_t)n) == NULL && (v[n] == ';' || v[n] == '\0'),
		    "hdr_cookie(%s) value does not end at ';' or the end", names[k]);
	}
}

static void
check_bearer(const char *h)
{
	const char *t = NULL;
	long n = -1, i;
	int rc = hdr_bearer(h, &t, &n);

	FUZZ_ASSERT(rc == (strncasecmp(h, "Bearer ", 7) == 0 ? 0 : -1), "hdr_bearer rc %d", rc);
	if (rc != 0)
		return;
	FUZZ_ASSERT(t >= h + 7 && n >= 0 && t + n <= h + strlen(h), "token out of the header");
	for (i = 7; h + i < t; i++)
		FUZZ_ASSERT(h[i] == ' ', "skipped a '%c' before the token", h[i]);
	for (i = 0; t[n + i] != '\0'; i++)
		FUZZ_ASSERT(t[n + i] == ' ', "dropped a '%c' after the token", t[n + i]);
	FUZZ_ASSERT(n == 0 || (t[0] != ' ' && t[n - 1] != ' '), "token not trimmed");
}

/* The cart cookie's value: a cart that parses formats back to exactly the
 * value (one way to write each cart), within the lines' bounds. */
static void
check_cart(const char *v)
{
	struct hdr_cart_line l[HDR_CART_LINES];
	char back[HDR_CART_LINES * 26 + 1];
	size_t len = strlen(v);
	int n = hdr_cart(v, len, l, HDR_CART_LINES), i;

	FUZZ_ASSERT(n >= -1 && n <= HDR_CART_LINES, "hdr_cart gave %d", n);
	if (n < 0)
		return;
	for (i = 0; i < n; i++)
		FUZZ_ASSERT(l[i].product >= 1 && l[i].quantity >= 1 &&
		    l[i].quantity <= HDR_CART_QUANTITY, "cart line %d out of bounds", i);
	FUZZ_ASSERT(hdr_cart_format(l, (size_t)n, back, sizeof(back)) == (int)len &&
	    memcmp(back, v, len) == 0, "cart '%.300s' formats as '%.300s'", v, back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *z;
	char *s[3];
	int k, same, want;

	for (k = 0; k < 3; k++) {
		z = k < 2 ? memchr(p, '\0', (size_t)(end - p)) : NULL;
		if (z == NULL)
			z = end;
		s[k] = fuzz_strndup(p, (size_t)(z - p));
		p = z < end ? z + 1 : end;
	}

	same = hdr_same_origin(s[0], s[1]);
	want = ref_same_origin(s[0], s[1]);
	FUZZ_ASSERT(same == want, "hdr_same_origin('%.300s', '%.300s') = %d", s[0], s[1], same);
	FUZZ_ASSERT(hdr_same_origin(NULL, s[1]) == 0 && hdr_same_origin(s[0], NULL) == 0,
	    "same origin with NULL");

	for (k = 0; k < 3; k++) {
		check_cookie(s[k]);
		check_bearer(s[k]);
		check_cart(s[k]);
	}
	for (k = 0; k < 3; k++)
		free(s[k]);
	return 0;
}
