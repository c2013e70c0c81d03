/* fuzz_valid.c - the validators, Accept negotiation and the router.
 *
 * Input: byte 0 picks the bounds for valid_int(), byte 1 those for
 * valid_text(); the rest is the value, in an exact-size heap buffer (and a
 * NUL-terminated copy for the functions that take a C string: there the
 * value stops at its first NUL).
 *
 * Each validator is compared with a reference written here from its
 * contract in valid.h (and, for UTF-8, from Unicode Table 3-7), so a value
 * wrongly accepted or wrongly refused is a finding, not just a crash.
 * req_prefers_html() and router_match() are checked for their invariants. */
#include "config.h"

#include <errno.h>

#include "fuzz_util.h"

static const struct { int64_t min, max; } int_bounds[] = {
	{ 0, 1000000000000LL }, { 0, 1000000000LL }, { 1, INT64_MAX },
	{ 1, 1000000000LL }, { 1, 200 }, { 0, INT64_MAX }, { INT64_MIN, INT64_MAX },
	{ -5, 5 },
};
static const struct { size_t min, max; } text_bounds[] = {
	{ 1, 200 }, { 1, 64 }, { 0, 0 }, { 3, 5 }, { 0, 4096 },
};

#define NELEM(x)	(sizeof(x) / sizeof((x)[0]))

/* Well-formed UTF-8 per Unicode 15 Table 3-7. */
static int
ref_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		unsigned char lo = 0x80, hi = 0xbf;
		size_t len, k;

		if (c <= 0x7f) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2;
		else if (c == 0xe0) {
			len = 3;
			lo = 0xa0;
		} else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef)
			len = 3;
		else if (c == 0xed) {
			len = 3;
			hi = 0x9f;
		} else if (c == 0xf0) {
			len = 4;
			lo = 0x90;
		} else if (c >= 0xf1 && c <= 0xf3)
			len = 4;
		else if (c == 0xf4) {
			len = 4;
			hi = 0x8f;
		} else
			return 0;
		if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (k = 2; k < len; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return 0;
		i += len;
	}
	return 1;
}

static int
ref_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void
ref_trim(const char **s, size_t *n)
{
	while (*n > 0 && ref_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && ref_space((*s)[*n - 1]))
		(*n)--;
}

/* valid_int's contract: trimmed, optional '-', 1..19 digits, in [min, max]. */
static int
ref_int(const char *s, size_t n, int64_t min, int64_t max, int64_t *out)
{
	char buf[32], *end;
	size_t i = 0, digits;
	long long v;

	ref_trim(&s, &n);
	if (n > 0 && s[0] == '-')
		i = 1;
	digits = n - i;
	if (digits < 1 || digits > 19)
		return 0;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return 0;
	*out = v;
	return 1;
}

/* valid_text's contract. */
static int
ref_text(const char *s, size_t n, size_t minchars, size_t maxchars,
    const char **start, size_t *len)
{
	const unsigned char *u;
	size_t i, chars = 0;

	ref_trim(&s, &n);
	u = (const unsigned char *)s;
	if (!ref_utf8(u, n))
		return 0;
	for (i = 0; i < n; i++) {
		if (u[i] < 0x20 || u[i] == 0x7f)
			return 0;	/* C0 (NUL included) and DEL */
		if (u[i] == 0xc2 && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f)
			return 0;	/* C1: valid UTF-8, so u[i + 1] exists */
		if ((u[i] & 0xc0) != 0x80)
			chars++;
	}
	if (chars < minchars || chars > maxchars)
		return 0;
	*start = s;
	*len = n;
	return 1;
}

static int
ref_local_path(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 512 || s[0] != '/' || s[1] == '/' || s[1] == '\\')
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e || s[i] == '\\')
			return 0;
	return 1;
}

/* valid_money's contract: trimmed, 1..15 digits, optionally '.' and 1 or 2
 * digits; its cents in [min, max]. Worked out from the positions of the
 * point and the digits, not by scanning as valid_money does. */
static int
ref_money(const char *s, size_t n, int64_t min, int64_t max, int64_t *out)
{
	const char *dot;
	size_t units, frac, k;
	int64_t v = 0;

	while (n > 0 && ref_space(*s)) {
		s++;
		n--;
	}
	while (n > 0 && ref_space(s[n - 1]))
		n--;
	dot = memchr(s, '.', n);
	units = dot != NULL ? (size_t)(dot - s) : n;
	frac = dot != NULL ? n - units - 1 : 0;
	if (units < 1 || units > 15 || (dot != NULL && (frac < 1 || frac > 2)))
		return 0;
	for (k = 0; k < n; k++)
		if (k != units && (s[k] < '0' || s[k] > '9'))
			return 0;
	for (k = 0; k < units; k++)
		v = v * 10 + (s[k] - '0');
	v *= 100;
	if (frac >= 1)
		v += 10 * (s[units + 1] - '0');
	if (frac == 2)
		v += s[units + 2] - '0';
	if (v < min || v > max)
		return 0;
	*out = v;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s, *st = NULL, *rst = NULL, *why;
	char *buf, *str;
	size_t n, len = 0, rlen = 0;
	int64_t min, max, v = 0, rv = 0;
	size_t tmin, tmax;
	int m, html, ok;

	if (size < 2)
		return 0;
	min = int_bounds[data[0] % NELEM(int_bounds)].min;
	max = int_bounds[data[0] % NELEM(int_bounds)].max;
	tmin = text_bounds[data[1] % NELEM(text_bounds)].min;
	tmax = text_bounds[data[1] % NELEM(text_bounds)].max;
	n = size - 2;
	buf = fuzz_memdup(data + 2, n);
	str = fuzz_strndup(data + 2, n);
	s = buf;

	ok = valid_utf8(s, n);
	FUZZ_ASSERT(ok == ref_utf8((const unsigned char *)s, n), "valid_utf8 says %d", ok);

	why = valid_int(s, n, min, max, &v);
	ok = ref_int(s, n, min, max, &rv);
	FUZZ_ASSERT((why == NULL) == ok, "valid_int in [%lld, %lld]: %s", (long long)min,
	    (long long)max, why != NULL ? why : "accepted");
	FUZZ_ASSERT(why == NULL ? v == rv : why[0] != '\0', "valid_int gave %lld, not %lld",
	    (long long)v, (long long)rv);

	if (min >= 0) {
		why = valid_money(s, n, min, max, &v);
		ok = ref_money(s, n, min, max, &rv);
		FUZZ_ASSERT((why == NULL) == ok, "valid_money in [%lld, %lld]: %s", (long long)min,
		    (long long)max, why != NULL ? why : "accepted");
		FUZZ_ASSERT(why == NULL ? v == rv : why[0] != '\0', "valid_money gave %lld, not %lld",
		    (long long)v, (long long)rv);
	}

	why = valid_text(s, n, tmin, tmax, &st, &len);
	ok = ref_text(s, n, tmin, tmax, &rst, &rlen);
	FUZZ_ASSERT((why == NULL) == ok, "valid_text in [%zu, %zu]: %s", tmin, tmax,
	    why != NULL ? why : "accepted");
	if (ok)
		FUZZ_ASSERT(st == rst && len == rlen, "valid_text trimmed to [%td, +%zu), not "
		    "[%td, +%zu)", st - s, len, rst - s, rlen);

	ok = valid_local_path(str);
	FUZZ_ASSERT(ok == ref_local_path(str), "valid_local_path says %d", ok);
	FUZZ_ASSERT(valid_local_path(NULL) == 0, "NULL is a local path");

	/* Accept: a boolean; the same answer for the same header; an Accept
	 * that names neither type (no '/') never prefers HTML. */
	html = req_prefers_html(str);
	FUZZ_ASSERT(html == 0 || html == 1, "req_prefers_html gave %d", html);
	FUZZ_ASSERT(html == req_prefers_html(str), "req_prefers_html is not stable");
	if (strchr(str, '/') == NULL)
		FUZZ_ASSERT(html == 0, "HTML preferred by '%s'", str);

	/* The router on the value as a path, for every method. */
	for (m = 0; m < M__MAX; m++) {
		struct route_match rm;
		enum route_result rr = router_match(str, (enum method)m, &rm);

		FUZZ_ASSERT(memchr(rm.allow, '\0', sizeof(rm.allow)) != NULL &&
		    memchr(rm.name, '\0', sizeof(rm.name)) != NULL, "route strings");
		if (rr == ROUTE_NOT_FOUND) {
			FUZZ_ASSERT(rm.h == H_NONE, "404 with a handler");
			continue;
		}
		FUZZ_ASSERT(str[0] == '/' && strstr(str, "//") == NULL, "'%s' routed", str);
		FUZZ_ASSERT(rm.allow[0] != '\0', "no Allow for '%s'", str);
		if (rr == ROUTE_OK) {
			FUZZ_ASSERT(rm.h > H_NONE && rm.h < H__MAX, "handler %d", (int)rm.h);
			FUZZ_ASSERT(m != M_OTHER, "OTHER routed");
			FUZZ_ASSERT(strstr(rm.allow, req_method_name((enum method)m)) != NULL,
			    "Allow '%s' lacks %s", rm.allow, req_method_name((enum method)m));
			if (rm.h == H_CREDIT)
				FUZZ_ASSERT(rm.name[0] != '\0' && strlen(rm.name) <= 32 &&
				    strspn(rm.name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				    "0123456789_.-") == strlen(rm.name), "name '%s'", rm.name);
		} else
			FUZZ_ASSERT(rr == ROUTE_METHOD && rm.h == H_NONE, "route result %d",
			    (int)rr);
		FUZZ_ASSERT(rm.id >= 0, "id %lld", (long long)rm.id);
	}

	free(str);
	free(buf);
	return 0;
}
