#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/hdr.h"

long
hdr_cookie(const char *hdr, const char *name, const char **val)
{
	size_t nl = strlen(name);
	const char *p = hdr;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == ';')
			p++;
		if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
			const char *v = p + nl + 1, *e = strchr(v, ';');

			*val = v;
			return e != NULL ? (long)(e - v) : (long)strlen(v);
		}
		p = strchr(p, ';');
	}
	return -1;
}

int
hdr_bearer(const char *a, const char **tok, long *len)
{
	const char *t;
	long n;

	if (strncasecmp(a, "Bearer ", 7) != 0)
		return -1;
	t = a + 7;
	while (*t == ' ')
		t++;
	n = (long)strlen(t);
	while (n > 0 && t[n - 1] == ' ')
		n--;
	*tok = t;
	*len = n;
	return 0;
}

int
hdr_split_hostport(const char *s, char *host, size_t hostsize, long *port, long def)
{
	size_t n = strcspn(s, "/?#"), h;
	const char *colon;

	colon = memchr(s, ':', n);
	h = colon != NULL ? (size_t)(colon - s) : n;
	if (h == 0 || h >= hostsize)
		return -1;
	memcpy(host, s, h);
	host[h] = '\0';
	*port = def;
	if (colon != NULL) {
		char *end;

		*port = strtol(colon + 1, &end, 10);
		if (end != s + n || *port <= 0 || *port > 65535)
			return -1;
	}
	return 0;
}

int
hdr_same_origin(const char *url, const char *host)
{
	char uh[256], hh[256];
	long up, hp, def;

	if (url == NULL || host == NULL || *host == '\0')
		return 0;
	if (strncmp(url, "http://", 7) == 0) {
		url += 7;
		def = 80;
	} else if (strncmp(url, "https://", 8) == 0) {
		url += 8;
		def = 443;
	} else
		return 0;
	if (hdr_split_hostport(url, uh, sizeof(uh), &up, def) != 0 ||
	    hdr_split_hostport(host, hh, sizeof(hh), &hp, def) != 0)
		return 0;
	return strcasecmp(uh, hh) == 0 && up == hp;
}

/* A number of 1..19 digits, no leading zero, in 1..max, at v[*i]. */
static int
cart_num(const char *v, size_t n, size_t *i, int64_t max, int64_t *out)
{
	uint64_t x = 0;
	size_t d = 0;

	if (*i >= n || v[*i] < '1' || v[*i] > '9')
		return -1;
	for (; *i < n && v[*i] >= '0' && v[*i] <= '9'; (*i)++) {
		if (++d > 19)
			return -1;
		x = x * 10 + (uint64_t)(v[*i] - '0');
		if (x > (uint64_t)max)
			return -1;
	}
	*out = (int64_t)x;
	return 0;
}

int
hdr_cart(const char *v, size_t n, struct hdr_cart_line *out, size_t max)
{
	size_t i = 0, k = 0, j;

	if (max > HDR_CART_LINES)
		max = HDR_CART_LINES;
	if (n == 0)
		return 0;
	for (;;) {
		struct hdr_cart_line l;

		if (k == max)
			return -1;
		if (cart_num(v, n, &i, INT64_MAX, &l.product) != 0 || i >= n || v[i++] != ':' ||
		    cart_num(v, n, &i, HDR_CART_QUANTITY, &l.quantity) != 0)
			return -1;
		for (j = 0; j < k; j++)
			if (out[j].product == l.product)
				return -1;
		out[k++] = l;
		if (i == n)
			return (int)k;
		if (v[i++] != '-')
			return -1;
	}
}

int
hdr_cart_format(const struct hdr_cart_line *lines, size_t n, char *buf, size_t size)
{
	size_t len = 0, i;

	if (size == 0)
		return -1;
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		int w = snprintf(buf + len, size - len, "%s%" PRId64 ":%" PRId64, i ? "-" : "",
		    lines[i].product, lines[i].quantity);

		if (w < 0 || (size_t)w >= size - len) {
			buf[0] = '\0';
			return -1;
		}
		len += (size_t)w;
	}
	return (int)len;
}
