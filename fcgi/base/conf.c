#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/conf.h"
#include "base/nodes.h"

#ifndef ORDERD_DATADIR
#define ORDERD_DATADIR "/usr/local/share/orderd"
#endif

static int
parse_num(const char *name, const char *val, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(val, &end, 10);
	if (errno != 0 || end == val || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "orderd: %s must be an integer from %lld to %lld, not '%s'\n",
		    name, min, max, val);
		return -1;
	}
	*out = v;
	return 0;
}

int
conf_set(struct conf *c, enum conf_opt opt, const char *val)
{
	long long v;

	switch (opt) {
	case OPT_DB_SOCKET:	c->db_socket = *val ? val : NULL; break;
	case OPT_DB_HOST:	c->db_host = *val ? val : NULL; break;
	case OPT_DB_USER:	c->db_user = val; break;
	case OPT_DB_PASSWORD:	c->db_password = val; break;
	case OPT_DB_NAME:	c->db_name = val; break;
	case OPT_LISTEN:	c->listen = *val ? val : NULL; break;
	case OPT_PIDFILE:	c->pidfile = *val ? val : NULL; break;
	case OPT_LOG:		c->logfile = *val ? val : NULL; break;
	case OPT_MIGRATIONS:	c->migrations = val; break;
	case OPT_DAEMON:	c->daemonize = 1; break;
	case OPT_DB_PORT:
		if (parse_num("database port", val, 0, 65535, &v) != 0)
			return -1;
		c->db_port = (unsigned)v;
		break;
	case OPT_WORKERS:
		if (parse_num("workers", val, 1, 256, &v) != 0)
			return -1;
		c->workers = (int)v;
		break;
	case OPT_MAX_REQUESTS:
		if (parse_num("max-requests", val, 0, 1000000000, &v) != 0)
			return -1;
		c->max_requests = (long)v;
		break;
	case OPT_FREIGHT:
		if (parse_num("freight", val, 0, 100000000, &v) != 0)
			return -1;
		c->freight = v;
		break;
	case OPT_GRACE:
		if (parse_num("grace", val, 1, 3600, &v) != 0)
			return -1;
		c->grace = (int)v;
		break;
	case OPT_HOLD:
		if (parse_num("hold", val, 1, 315360000, &v) != 0)
			return -1;
		c->hold = v;
		break;
	case OPT_MAX_OPEN:
		if (parse_num("max-open", val, 1, 1000000, &v) != 0)
			return -1;
		c->max_open = (long)v;
		break;
	case OPT_LOCK:
		if (strcmp(val, "forupdate") == 0)
			c->lock = LOCK_FORUPDATE;
		else if (strcmp(val, "optimistic") == 0)
			c->lock = LOCK_OPTIMISTIC;
		else if (strcmp(val, "queue") == 0)
			c->lock = LOCK_QUEUE;
		else {
			fprintf(stderr, "orderd: lock must be forupdate, optimistic or queue, not '%s'\n",
			    val);
			return -1;
		}
		break;
	case OPT_DB_NODES:
		if (*val == '\0') {
			c->db_nodes = NULL;
			break;
		} else {
			struct db_node nodes[NODES_MAX];
			char err[200];

			if (nodes_parse(val, nodes, NODES_MAX, err, sizeof(err)) < 0) {
				fprintf(stderr, "orderd: %s\n", err);
				return -1;
			}
		}
		c->db_nodes = val;
		break;
	case OPT_STATUS_LOCAL:
		if (strcmp(val, "on") == 0)
			c->status_local = 1;
		else if (strcmp(val, "off") == 0)
			c->status_local = 0;
		else {
			fprintf(stderr, "orderd: status-local must be on or off, not '%s'\n", val);
			return -1;
		}
		break;
	case OPT_HELP:
		break;
	}
	return 0;
}

int
conf_from_env(struct conf *c)
{
	static const struct {
		const char *env;
		enum conf_opt opt;
	} vars[] = {
		{ "ORDERD_DB_SOCKET", OPT_DB_SOCKET },
		{ "ORDERD_DB_HOST", OPT_DB_HOST },
		{ "ORDERD_DB_PORT", OPT_DB_PORT },
		{ "ORDERD_DB_USER", OPT_DB_USER },
		{ "ORDERD_DB_PASSWORD", OPT_DB_PASSWORD },
		{ "ORDERD_DB_NAME", OPT_DB_NAME },
		{ "ORDERD_DB_NODES", OPT_DB_NODES },
		{ "ORDERD_LISTEN", OPT_LISTEN },
		{ "ORDERD_WORKERS", OPT_WORKERS },
		{ "ORDERD_MAX_REQUESTS", OPT_MAX_REQUESTS },
		{ "ORDERD_LOCK", OPT_LOCK },
		{ "ORDERD_FREIGHT", OPT_FREIGHT },
		{ "ORDERD_MIGRATIONS", OPT_MIGRATIONS },
		{ "ORDERD_HOLD", OPT_HOLD },
		{ "ORDERD_MAX_OPEN", OPT_MAX_OPEN },
		{ "ORDERD_STATUS_LOCAL", OPT_STATUS_LOCAL },
	};
	size_t i;

	memset(c, 0, sizeof(*c));
	c->db_user = "orderd";
	c->db_password = "";
	c->db_name = "orderd";
	c->workers = 0;
	c->lock = LOCK_FORUPDATE;
	c->freight = 1000;
	c->grace = 30;
	c->hold = 900;
	c->max_open = 20;
	c->status_local = 1;
	c->migrations = ORDERD_DATADIR "/migrations";
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i].env);

		if (v != NULL && conf_set(c, vars[i].opt, v) != 0) {
			fprintf(stderr, "orderd: (from the environment variable %s)\n", vars[i].env);
			return -1;
		}
	}
	return 0;
}
