/* conf.h - orderd's configuration: defaults, then ORDERD_* environment
 * variables, then command-line flags (the last one wins). */
#ifndef ORDERD_CONF_H
#define ORDERD_CONF_H

#include <stdint.h>

enum lock_mode { LOCK_FORUPDATE = 0, LOCK_OPTIMISTIC, LOCK_QUEUE };

/* The pool's size when --workers is not given; --lock queue holds more:
 * its waiting orders need a worker each but no database. */
#define WORKERS_DEFAULT		16
#define WORKERS_QUEUE_DEFAULT	64

struct conf {
	/* database */
	const char *db_socket;
	const char *db_host;
	unsigned db_port;
	const char *db_user;
	const char *db_password;
	const char *db_name;
	const char *db_nodes;		/* --db-nodes: ordered node list (base/nodes.h),
					 * or NULL: the one server above */
	/* serve */
	const char *listen;
	int workers;			/* 0 = the default of the lock mode */
	long max_requests;		/* 0 = never recycle */
	enum lock_mode lock;
	int64_t freight;		/* cents per order */
	const char *pidfile;
	const char *logfile;
	int daemonize;
	int grace;			/* seconds a stopping worker may take */
	int64_t hold;			/* seconds a placed balance order may wait to be paid */
	long max_open;			/* placed balance orders one user may hold */
	int status_local;		/* GET /status/ answers anyone from 127.0.0.1 */
	/* migrate */
	const char *migrations;
};

/* Fills c with defaults overridden by the environment. Returns 0, or -1
 * after printing which variable is invalid. */
int	conf_from_env(struct conf *c);

/* Option ids for conf_set(); each subcommand accepts a subset. */
enum conf_opt {
	OPT_DB_SOCKET = 256, OPT_DB_HOST, OPT_DB_PORT, OPT_DB_USER, OPT_DB_PASSWORD,
	OPT_DB_NAME, OPT_LISTEN, OPT_WORKERS, OPT_MAX_REQUESTS, OPT_LOCK, OPT_FREIGHT,
	OPT_PIDFILE, OPT_LOG, OPT_DAEMON, OPT_GRACE, OPT_MIGRATIONS, OPT_HOLD, OPT_MAX_OPEN,
	OPT_DB_NODES, OPT_STATUS_LOCAL, OPT_HELP
};

/* Applies one option value; returns 0, or -1 after printing why. */
int	conf_set(struct conf *c, enum conf_opt opt, const char *val);

#endif
