/* orderd - order, stock and balance backend: one program, subcommands
 * serve, migrate and audit. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#include "base/conf.h"
#include "base/log.h"
#include "shm/gate.h"
#include "shm/idemcache.h"
#include "shm/prodcache.h"
#include "shm/queue.h"
#include "shm/sesscache.h"
#include "shm/soldout.h"
#include "shm/stats.h"
#include "store/audit.h"
#include "store/db.h"
#include "store/migrate.h"
#include "domain/auth.h"
#include "process/pool.h"
#include "shm/sesscache.h"

#define DB_OPTIONS \
	{ "db-socket", required_argument, NULL, OPT_DB_SOCKET }, \
	{ "db-host", required_argument, NULL, OPT_DB_HOST }, \
	{ "db-port", required_argument, NULL, OPT_DB_PORT }, \
	{ "db-user", required_argument, NULL, OPT_DB_USER }, \
	{ "db-password", required_argument, NULL, OPT_DB_PASSWORD }, \
	{ "db-name", required_argument, NULL, OPT_DB_NAME }, \
	{ "db-nodes", required_argument, NULL, OPT_DB_NODES }, \
	{ "help", no_argument, NULL, OPT_HELP }

static const char db_help[] =
    "Database (each also from the environment):\n"
    "  --db-socket PATH     unix socket of MariaDB      ORDERD_DB_SOCKET\n"
    "  --db-host HOST       host (when no socket)       ORDERD_DB_HOST\n"
    "  --db-port PORT       port                        ORDERD_DB_PORT\n"
    "  --db-user USER       user (orderd)               ORDERD_DB_USER\n"
    "  --db-password PW     password (empty)            ORDERD_DB_PASSWORD\n"
    "  --db-name NAME       database (orderd)           ORDERD_DB_NAME\n"
    "  --db-nodes LIST      a cluster's nodes, in order: sockets (/path) or\n"
    "                       HOST:PORT, comma-separated; each worker uses the\n"
    "                       first that is up and synced (Galera) and moves on\n"
    "                       only when it fails; replaces --db-socket/--db-host\n"
    "                                                   ORDERD_DB_NODES\n";

static const struct option serve_opts[] = {
	DB_OPTIONS,
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "max-requests", required_argument, NULL, OPT_MAX_REQUESTS },
	{ "lock", required_argument, NULL, OPT_LOCK },
	{ "freight", required_argument, NULL, OPT_FREIGHT },
	{ "pidfile", required_argument, NULL, OPT_PIDFILE },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "daemon", no_argument, NULL, OPT_DAEMON },
	{ "grace", required_argument, NULL, OPT_GRACE },
	{ "hold", required_argument, NULL, OPT_HOLD },
	{ "max-open", required_argument, NULL, OPT_MAX_OPEN },
	{ "status-local", required_argument, NULL, OPT_STATUS_LOCAL },
	{ NULL, 0, NULL, 0 }
};

static const struct option migrate_opts[] = {
	DB_OPTIONS,
	{ "migrations", required_argument, NULL, OPT_MIGRATIONS },
	{ NULL, 0, NULL, 0 }
};

static const struct option audit_opts[] = {
	DB_OPTIONS,
	{ NULL, 0, NULL, 0 }
};

#define OPT_PROMOTE	1000	/* admin only; not a conf option */

static const struct option admin_opts[] = {
	DB_OPTIONS,
	{ "promote", no_argument, NULL, OPT_PROMOTE },
	{ "pidfile", required_argument, NULL, OPT_PIDFILE },
	{ NULL, 0, NULL, 0 }
};

/* The NAME of `orderd admin NAME`, and --promote. */
static const char *admin_name;
static int admin_promote;

/* Whether pid runs orderd (a stale pid file may name anyone: SIGUSR1
 * would kill most programs). Where /proc cannot tell, it is believed. */
static int
is_orderd(long pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	if ((f = fopen(path, "r")) == NULL)
		return errno != ENOENT;
	if (fgets(comm, sizeof(comm), f) == NULL)
		comm[0] = '\0';
	fclose(f);
	return strncmp(comm, "orderd", 6) == 0;
}

/* Whether the master (pid) may signal this process back: not when this
 * runs as root and the pool as another user. */
static int
can_answer(long pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%ld", pid);
	return stat(path, &st) != 0 || st.st_uid == 0 || st.st_uid == getuid() ||
	    st.st_uid == geteuid();
}

/* The revoked sessions may still be in a running pool's shared session
 * cache: ask the pool's master to forget them (pidfile), else wait until
 * every cached entry has expired. */
static void
forget_in_pool(void *arg)
{
	const char *pidfile = arg;
	FILE *f;
	long pid = 0;

	if (pidfile != NULL && (f = fopen(pidfile, "r")) != NULL) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	if (pid > 1 && !is_orderd(pid)) {
		fprintf(stderr, "orderd admin: pid %ld of %s is not a running orderd process; not "
		    "signalling it\n", pid, pidfile);
		pid = 0;
	}
	if (pid > 1 && pool_forget_sessions((pid_t)pid, can_answer(pid) ? 3000 : 0) == 0) {
		printf("the pool (pid %ld) forgot its cached sessions\n", pid);
		return;
	}
	if (pidfile != NULL)
		fprintf(stderr, "orderd admin: the pool of %s did not confirm (%s); waiting out "
		    "its session cache\n", pidfile, pid > 1 ? strerror(errno) : "no pid");
	{
		struct timespec ts = { (SESSCACHE_TTL_MS + 500) / 1000,
		    (SESSCACHE_TTL_MS + 500) % 1000 * 1000000L };

		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
}

static int
admin_run(const struct conf *c)
{
	struct db db;
	int rc;

	db_init(&db, c);
	if (db_connect(&db) != DB_OK) {
		fprintf(stderr, "orderd admin: cannot connect: %s\n", db.last_error);
		return 1;
	}
	rc = auth_admin_command(&db, admin_name, admin_promote, forget_in_pool,
	    (void *)c->pidfile);
	db_close(&db);
	return rc;
}

/* What the workers share, made by the master before it forks them; and,
 * once, a look at whether the database keeps what orderd acknowledges (the
 * master's only connection, closed at once). */
static void
serve_setup(const struct conf *c)
{
	static const struct {
		int (*init)(void);
		const char *what, *without;
	} tables[] = {
		{ sesscache_init, "session cache", "every request asks the database who is calling" },
		{ soldout_init, "sold-out marks", "every order asks the database" },
		{ db_health_init, "database health mark",
		  "a frozen database holds every worker for its read timeout" },
		{ prodcache_init, "product cache", "every product read asks the database" },
		{ idemcache_init, "replay cache", "every repeated Idempotency-Key asks the database" },
		{ stats_init, "status counters", "GET /status/ shows zeros" },
	};
	struct db db;
	size_t i;

	db_init(&db, c);
	if (db_connect(&db) != DB_OK || db_check_durability(&db) < 0)
		log_warn("could not check the database's durability settings: %s",
		    db.last_error[0] ? db.last_error : "not reachable");
	db_close(&db);
	mysql_library_end();

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (tables[i].init() != 0)
			log_warn("no shared %s (%s): %s", tables[i].what, strerror(errno),
			    tables[i].without);
	if (c->lock == LOCK_QUEUE && queue_init() != 0)
		log_warn("no shared order queue (%s): every order is placed on its own",
		    strerror(errno));
	if (gate_init(c->workers) != 0)
		log_warn("no shared write gate (%s): a locked row can hold every worker",
		    strerror(errno));
}

static int
serve_run(const struct conf *c)
{
	static struct conf served;

	served = *c;
	if (served.workers == 0)
		served.workers = served.lock == LOCK_QUEUE ? WORKERS_QUEUE_DEFAULT : WORKERS_DEFAULT;
	return pool_run(&served, serve_setup);
}

static const struct sub {
	const char *name;
	const struct option *opts;
	int (*run)(const struct conf *);
	const char *help;
} subs[] = {
	{ "serve", serve_opts, serve_run,
	  "usage: orderd serve [options]\n"
	  "Runs the prefork FastCGI pool and its reaper (expires unpaid balance orders).\n"
	  "SIGTERM: finish requests in hand and stop; SIGHUP: replace workers one at a\n"
	  "time, and the reaper.\n\n"
	  "  --listen ADDR        unix socket path, HOST:PORT, or fd:N (default: fd 0,\n"
	  "                       as spawn-fcgi and systemd hand it over)  ORDERD_LISTEN\n"
	  "  --workers N          worker processes (16; 64 with --lock queue) ORDERD_WORKERS\n"
	  "  --max-requests N     recycle a worker after N requests (0 = never)\n"
	  "                                                                ORDERD_MAX_REQUESTS\n"
	  "  --lock MODE          forupdate (default), optimistic or queue ORDERD_LOCK\n"
	  "  --freight CENTS      flat freight per order (1000)            ORDERD_FREIGHT\n"
	  "  --pidfile FILE       write the master's pid here\n"
	  "  --log FILE           append logs here (default stderr)\n"
	  "  --daemon             detach once serving\n"
	  "  --grace SECONDS      how long stopping workers may take (30)\n"
	  "  --hold SECONDS       a placed balance order not paid within this expires\n"
	  "                       and its stock comes back (900)           ORDERD_HOLD\n"
	  "  --max-open N         unpaid balance orders one user may hold (20)\n"
	  "                                                                ORDERD_MAX_OPEN\n"
	  "  --status-local on|off  GET /status/ answers anyone from 127.0.0.1 (on); off\n"
	  "                       behind a proxy on the same host      ORDERD_STATUS_LOCAL\n" },
	{ "migrate", migrate_opts, migrate_run,
	  "usage: orderd migrate [options]\n"
	  "Applies the numbered migrations not yet applied, in order.\n\n"
	  "  --migrations DIR     where NNN_name.sql files are        ORDERD_MIGRATIONS\n" },
	{ "admin", admin_opts, admin_run,
	  "usage: orderd admin [options] NAME\n"
	  "Creates NAME as an administrator (or resets an existing administrator) and\n"
	  "prints a new bearer token for it as the last line. An existing account that\n"
	  "is not an administrator is refused unless --promote is given.\n\n"
	  "  --promote            make an existing user an administrator; every session\n"
	  "                       it had is revoked (its password stays)\n"
	  "  --pidfile FILE       the running pool's pid file: with --promote, its\n"
	  "                       master is told to forget the revoked sessions at once\n"
	  "                       (without it, orderd admin waits 2.5 s for the pool's\n"
	  "                       session cache to expire)\n" },
	{ "audit", audit_opts, audit_run,
	  "usage: orderd audit [options]\n"
	  "Checks every stock, sales and order-total invariant; prints each violation.\n"
	  "Exit status: 0 clean, 1 violations found, 2 database not readable.\n" },
};

static void
usage(FILE *f)
{
	fputs("usage: orderd COMMAND [options]\n\n"
	    "Commands:\n"
	    "  serve     run the FastCGI worker pool\n"
	    "  migrate   bring the database schema up to date\n"
	    "  audit     check the stock, order and money invariants\n"
	    "  admin     create or reset an administrator (--promote: make a user one);\n"
	    "            prints its token\n\n"
	    "Run 'orderd COMMAND --help' for a command's options.\n", f);
}

int
main(int argc, char *argv[])
{
	const struct sub *sub = NULL;
	struct conf conf;
	size_t i;
	int ch;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		puts(PACKAGE_STRING);
		return 0;
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			sub = &subs[i];
	if (sub == NULL) {
		fprintf(stderr, "orderd: unknown command '%s'\n", argv[1]);
		usage(stderr);
		return 2;
	}
	if (conf_from_env(&conf) != 0)
		return 2;
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "", sub->opts, NULL)) != -1) {
		if (ch == OPT_HELP) {
			fputs(sub->help, stdout);
			fputs("\n", stdout);
			fputs(db_help, stdout);
			return 0;
		}
		if (ch == OPT_PROMOTE) {
			admin_promote = 1;
			continue;
		}
		if (ch == '?' || conf_set(&conf, (enum conf_opt)ch, optarg) != 0) {
			fprintf(stderr, "Run 'orderd %s --help' for its options.\n", sub->name);
			return 2;
		}
	}
	if (sub->run == admin_run) {
		if (optind + 1 != argc) {
			fprintf(stderr, "usage: orderd admin [--promote] [--pidfile FILE] [options] NAME\n");
			return 2;
		}
		admin_name = argv[optind++];
	}
	if (optind < argc) {
		fprintf(stderr, "orderd %s: unexpected argument '%s'\n", sub->name, argv[optind]);
		return 2;
	}
	return sub->run(&conf);
}
