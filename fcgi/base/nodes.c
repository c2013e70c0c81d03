#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/nodes.h"

static int
fail(char *err, size_t errlen, const char *msg, const char *entry, size_t len)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s%s%.*s%s", msg, entry != NULL ? " ('" : "",
		    entry != NULL ? (int)(len > 80 ? 80 : len) : 0, entry != NULL ? entry : "",
		    entry != NULL ? "')" : "");
	return -1;
}

/* One entry s[0..len-1] (trimmed, non-empty) into *n. */
static int
parse_one(const char *s, size_t len, struct db_node *n, char *err, size_t errlen)
{
	const char *colon, *host = s;
	size_t hlen;
	unsigned long port = 0;
	size_t i;

	memset(n, 0, sizeof(*n));
	if (s[0] == '/') {
		if (len >= sizeof(n->socket))
			return fail(err, errlen, "database node: socket path too long", s, len);
		memcpy(n->socket, s, len);
		n->socket[len] = '\0';
		return 0;
	}
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (close == NULL || close + 1 >= s + len || close[1] != ':')
			return fail(err, errlen, "database node: expected [ADDRESS]:PORT", s, len);
		host = s + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = NULL;
		for (i = len; i > 0; i--)
			if (s[i - 1] == ':') {
				colon = s + i - 1;
				break;
			}
		if (colon == NULL)
			return fail(err, errlen, "database node: expected a socket path (/...) or "
			    "HOST:PORT", s, len);
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0)
		return fail(err, errlen, "database node: no host before the port", s, len);
	if (hlen >= sizeof(n->host))
		return fail(err, errlen, "database node: host name too long", s, len);
	if (colon + 1 == s + len || (size_t)(s + len - colon - 1) > 5)
		return fail(err, errlen, "database node: the port must be 1 to 65535", s, len);
	for (i = 1; colon + i < s + len; i++) {
		if (colon[i] < '0' || colon[i] > '9')
			return fail(err, errlen, "database node: the port must be 1 to 65535", s, len);
		port = port * 10 + (unsigned long)(colon[i] - '0');
	}
	if (port < 1 || port > 65535)
		return fail(err, errlen, "database node: the port must be 1 to 65535", s, len);
	memcpy(n->host, host, hlen);
	n->host[hlen] = '\0';
	for (i = 0; i < hlen; i++)
		if (n->host[i] == ' ' || n->host[i] == '\t' || n->host[i] == '/')
			return fail(err, errlen, "database node: bad character in the host", s, len);
	n->port = (unsigned)port;
	return 0;
}

int
nodes_parse(const char *list, struct db_node *out, int max, char *err, size_t errlen)
{
	const char *p = list, *end;
	int count = 0;

	if (list == NULL)
		return fail(err, errlen, "database nodes: no list", NULL, 0);
	for (;;) {
		size_t len;

		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		len = (size_t)(end - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0)
			return fail(err, errlen, count == 0 && *end == '\0' ?
			    "database nodes: the list is empty" :
			    "database nodes: an empty entry in the list", NULL, 0);
		if (count == max)
			return fail(err, errlen, "database nodes: too many (at most 16)", NULL, 0);
		if (parse_one(p, len, &out[count], err, errlen) != 0)
			return -1;
		count++;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	return count;
}

const char *
nodes_name(const struct db_node *n, char *buf, size_t len)
{
	if (n->socket[0] != '\0')
		snprintf(buf, len, "%s", n->socket);
	else if (strchr(n->host, ':') != NULL)
		snprintf(buf, len, "[%s]:%u", n->host, n->port);
	else
		snprintf(buf, len, "%s:%u", n->host, n->port);
	return buf;
}

void
nodes_order(int n, int current, int *order)
{
	int i, k = 0;

	for (i = 0; i < n; i++)
		if (i != current)
			order[k++] = i;
	if (current >= 0 && current < n)
		order[k++] = current;
}

void
nodes_prefer(int n, int preferred, int *order)
{
	int i, k = 0;

	if (preferred >= 0 && preferred < n)
		order[k++] = preferred;
	for (i = 0; i < n; i++)
		if (i != preferred)
			order[k++] = i;
}

void
nodes_follow(int n, int failed, int pool, int *order)
{
	int i, k;

	nodes_order(n, failed, order);
	if (pool < 0 || pool >= n || pool == failed)
		return;
	for (k = 0; k < n && order[k] != pool; k++)
		;
	for (i = k; i > 0; i--)
		order[i] = order[i - 1];
	order[0] = pool;
}

int
nodes_usable(int wsrep_on, int ready, long local_state)
{
	if (!wsrep_on)
		return 1;
	return ready && local_state == 4;
}
