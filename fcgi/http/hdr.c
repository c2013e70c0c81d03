#include "config.h"

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
