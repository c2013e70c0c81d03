#include "config.h"

#include <stdio.h>
#include <string.h>

#include "http/router.h"

/* A pattern is up to three segments; "#" stands for an id, "@" for a name
 * (1..32 of A-Z a-z 0-9 _ . -). */
static const struct route {
	const char *seg[3];
	enum method method;
	enum handler h;
} routes[] = {
	{ { "product", NULL, NULL },	   M_GET,  H_PRODUCT_LIST },
	{ { "product", NULL, NULL },	   M_POST, H_PRODUCT_CREATE },
	{ { "product", "#", NULL },	   M_GET,  H_PRODUCT_GET },
	{ { "product", "#", "restock" },  M_POST, H_PRODUCT_RESTOCK },
	{ { "order", NULL, NULL },	   M_GET,  H_ORDER_LIST },
	{ { "order", NULL, NULL },	   M_POST, H_ORDER_CREATE },
	{ { "order", "#", NULL },	   M_GET,  H_ORDER_GET },
	{ { "order", "#", "abort" },	   M_PUT,  H_ORDER_ABORT },
	{ { "order", "#", "abort" },	   M_POST, H_ORDER_ABORT },
	{ { "checkout", NULL, NULL },	   M_POST, H_CHECKOUT },
	{ { "goods", NULL, NULL },	   M_POST, H_GOODS_CREATE },
	{ { "goods", "#", NULL },	   M_GET,  H_GOODS_GET },
	{ { "order", "#", "pay" },	   M_POST, H_ORDER_PAY },
	{ { "order", "#", "ship" },	   M_POST, H_ORDER_SHIP },
	{ { "auth", "register", NULL },   M_POST, H_REGISTER },
	{ { "auth", "login", NULL },	   M_POST, H_LOGIN },
	{ { "auth", "logout", NULL },	   M_POST, H_LOGOUT },
	{ { "account", NULL, NULL },	   M_GET,  H_ACCOUNT },
	{ { "account", "ledger", NULL },  M_GET,  H_LEDGER },
	{ { "account", "@", "credit" },   M_POST, H_CREDIT },
	{ { "transfer", NULL, NULL },	   M_POST, H_TRANSFER },
	{ { "status", NULL, NULL },	   M_GET,  H_STATUS },
};

#define SEG_MAX	4
#define SEG_LEN	40

/* Parses an id segment: 1..19 digits, no leading zero, at most 2^63-1. */
static int
parse_id(const char *s, int64_t *out)
{
	uint64_t v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 19 || s[0] == '0')
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX)
		return -1;
	*out = (int64_t)v;
	return 0;
}

static int
parse_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 32)
		return -1;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return -1;
	return 0;
}

/* Splits "/a/b/c/" into segments; an empty segment inside ("//") fails.
 * Returns the count, or -1. */
static int
split(const char *path, char seg[SEG_MAX][SEG_LEN])
{
	const char *p = path;
	int n = 0;

	if (*p++ != '/')
		return -1;
	while (*p != '\0') {
		const char *e = strchr(p, '/');
		size_t len = e != NULL ? (size_t)(e - p) : strlen(p);

		if (len == 0 || len >= SEG_LEN || n == SEG_MAX)
			return -1;
		memcpy(seg[n], p, len);
		seg[n][len] = '\0';
		n++;
		if (e == NULL)
			break;
		p = e + 1;	/* a trailing slash ends the loop on '\0' */
	}
	return n;
}

enum route_result
router_match(const char *path, enum method m, struct route_match *out)
{
	char seg[SEG_MAX][SEG_LEN];
	int n, found = 0;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (path == NULL || (n = split(path, seg)) <= 0)
		return ROUTE_NOT_FOUND;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *r = &routes[i];
		int k, ok = 1, len = 0, named = -1;
		int64_t id = 0;

		while (len < 3 && r->seg[len] != NULL)
			len++;
		if (len != n)
			continue;
		for (k = 0; k < n && ok; k++) {
			if (strcmp(r->seg[k], "#") == 0)
				ok = parse_id(seg[k], &id) == 0;
			else if (strcmp(r->seg[k], "@") == 0) {
				ok = parse_name(seg[k]) == 0;
				named = k;
			} else
				ok = strcmp(r->seg[k], seg[k]) == 0;
		}
		if (!ok)
			continue;
		if (!found || strstr(out->allow, req_method_name(r->method)) == NULL) {
			size_t used = strlen(out->allow);

			snprintf(out->allow + used, sizeof(out->allow) - used, "%s%s",
			    used ? ", " : "", req_method_name(r->method));
			if (r->method == M_GET)
				snprintf(out->allow + strlen(out->allow),
				    sizeof(out->allow) - strlen(out->allow), ", HEAD");
		}
		found = 1;
		out->id = id;
		if (named >= 0)
			snprintf(out->name, sizeof(out->name), "%s", seg[named]);
		if (r->method == m || (m == M_HEAD && r->method == M_GET)) {
			out->h = r->h;
			out->route = (int)i + 1;
		}
	}
	if (!found)
		return ROUTE_NOT_FOUND;
	return out->h != H_NONE ? ROUTE_OK : ROUTE_METHOD;
}

#define NROUTES	((int)(sizeof(routes) / sizeof(routes[0])))

int
router_routes(void)
{
	return NROUTES;
}

const char *
router_label(int route)
{
	static char labels[NROUTES][64];
	const struct route *r;
	size_t used;
	int k;

	if (route < 1 || route > NROUTES)
		return NULL;
	if (labels[route - 1][0] != '\0')
		return labels[route - 1];
	r = &routes[route - 1];
	used = (size_t)snprintf(labels[route - 1], sizeof(labels[0]), "%s /",
	    req_method_name(r->method));
	for (k = 0; k < 3 && r->seg[k] != NULL && used < sizeof(labels[0]); k++)
		used += (size_t)snprintf(labels[route - 1] + used, sizeof(labels[0]) - used, "%s/",
		    strcmp(r->seg[k], "#") == 0 ? "{id}" : strcmp(r->seg[k], "@") == 0 ? "{name}" :
		    r->seg[k]);
	return labels[route - 1];
}
