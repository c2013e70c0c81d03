#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "process/pool.h"
#include "shm/gate.h"
#include "shm/idemcache.h"
#include "shm/sesscache.h"
#include "shm/shared.h"
#include "shm/prodcache.h"
#include "shm/queue.h"
#include "process/batcher.h"
#include "process/reaper.h"
#include "shm/soldout.h"
#include "shm/stats.h"
#include "process/worker.h"

#define LISTEN_BACKLOG	1024
#define SLOTS_MAX	512	/* 2 x the largest --workers, for rolling reloads */

struct slot {
	pid_t pid;		/* 0 = free */
	unsigned gen;		/* reload generation it was started in */
	int retiring;		/* told to stop by a reload; not respawned */
	struct timespec started;
	struct timespec respawn_at;	/* when a free slot is due a new worker */
	int wanted;		/* slot should hold a worker */
};

static double
ts_s(const struct timespec *ts)
{
	return (double)ts->tv_sec + ts->tv_nsec / 1e9;
}

static void
set_ts(struct timespec *ts, double s)
{
	ts->tv_sec = (time_t)s;
	ts->tv_nsec = (long)((s - (double)ts->tv_sec) * 1e9);
}

static int
is_socket(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Opens the listening socket named by addr. Sets *unix_path when it created
 * a unix socket file (removed at exit). Returns the fd or -1. */
static int
open_listener(const char *addr, const char **unix_path)
{
	int fd, one = 1;

	*unix_path = NULL;
	if (addr == NULL) {
		if (!is_socket(0)) {
			fprintf(stderr, "orderd: no --listen given and fd 0 is not a socket\n");
			return -1;
		}
		return 0;
	}
	if (strncmp(addr, "fd:", 3) == 0) {
		char *end;
		long n = strtol(addr + 3, &end, 10);

		if (*end != '\0' || n < 0 || n > 1024 || !is_socket((int)n)) {
			fprintf(stderr, "orderd: %s is not an inherited socket\n", addr);
			return -1;
		}
		return (int)n;
	}
	if (strchr(addr, '/') != NULL) {
		struct sockaddr_un sun;
		struct stat st;

		if (strlen(addr) >= sizeof(sun.sun_path)) {
			fprintf(stderr, "orderd: socket path too long: %s\n", addr);
			return -1;
		}
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, addr, strlen(addr) + 1);
		if (stat(addr, &st) == 0) {
			if (!S_ISSOCK(st.st_mode)) {
				fprintf(stderr, "orderd: %s exists and is not a socket\n", addr);
				return -1;
			}
			/* Remove it only when nobody answers on it: never take
			 * the socket of a pool that is running. */
			if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0 &&
			    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
				close(fd);
				fprintf(stderr, "orderd: %s is in use by a running server\n", addr);
				return -1;
			}
			if (fd >= 0)
				close(fd);
			unlink(addr);	/* stale socket of an earlier run */
		}
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
			goto fail;
		if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
		    chmod(addr, 0660) != 0)
			goto fail_close;
		*unix_path = addr;
	} else {
		struct addrinfo hints, *res = NULL;
		char host[256];
		const char *colon = strrchr(addr, ':');
		int rc;

		if (colon == NULL || (size_t)(colon - addr) >= sizeof(host)) {
			fprintf(stderr, "orderd: listen address must be PATH, HOST:PORT or fd:N\n");
			return -1;
		}
		memcpy(host, addr, (size_t)(colon - addr));
		host[colon - addr] = '\0';
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE;
		if ((rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res)) != 0) {
			fprintf(stderr, "orderd: %s: %s\n", addr, gai_strerror(rc));
			return -1;
		}
		fd = socket(res->ai_family, SOCK_STREAM, 0);
		if (fd < 0) {
			freeaddrinfo(res);
			goto fail;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		rc = bind(fd, res->ai_addr, res->ai_addrlen);
		freeaddrinfo(res);
		if (rc != 0)
			goto fail_close;
	}
	if (listen(fd, LISTEN_BACKLOG) != 0)
		goto fail_close;
	return fd;
fail_close:
	close(fd);
fail:
	fprintf(stderr, "orderd: cannot listen on %s: %s\n", addr, strerror(errno));
	return -1;
}

/* Returns 1 (after saying so) when path names a live process other than
 * this one, else 0. */
static int
pidfile_busy(const char *path)
{
	char buf[32];
	FILE *f;
	long pid;
	int busy = 0;

	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) != NULL && (pid = strtol(buf, NULL, 10)) > 0 &&
	    pid != (long)getpid() && kill((pid_t)pid, 0) == 0) {
		fprintf(stderr, "orderd: already running as pid %ld (%s)\n", pid, path);
		busy = 1;
	}
	fclose(f);
	return busy;
}

static int
write_pidfile(const char *path)
{
	FILE *f;

	if (pidfile_busy(path))
		return -1;
	if ((f = fopen(path, "w")) == NULL) {
		fprintf(stderr, "orderd: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "%ld\n", (long)getpid());
	return fclose(f) == 0 ? 0 : -1;
}

enum child { CHILD_WORKER, CHILD_REAPER, CHILD_BATCHER };

static const char *const child_names[] = {
	[CHILD_WORKER] = "worker", [CHILD_REAPER] = "reaper", [CHILD_BATCHER] = "batcher",
};

/* Forks a child into slot s: a worker (it serves listen_fd), the reaper
 * (fcgi/process/reaper.h) or the batcher (fcgi/process/batcher.h), which
 * never take a request and do not hold the listening socket. Returns its
 * pid, or -1. */
static pid_t
spawn_child(const struct conf *c, int listen_fd, struct slot *s, unsigned gen, enum child kind,
    int stats_slot)
{
	pid_t master = getpid(), pid;

	pid = fork();
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		sigset_t mask;
		int fd;

		stats_self(stats_slot);

		sigemptyset(&mask);
		if (kind == CHILD_WORKER) {
			sigprocmask(SIG_SETMASK, &mask, NULL);
			exit(worker_run(c, listen_fd, master));
		}
		/* Only SIGTERM/SIGINT stay blocked (reaper_run and
		 * batcher_run take them). */
		sigaddset(&mask, SIGTERM);
		sigaddset(&mask, SIGINT);
		sigprocmask(SIG_SETMASK, &mask, NULL);
		close(listen_fd);
		if (listen_fd == 0 && (fd = open("/dev/null", O_RDONLY)) > 0)
			close(fd);
		exit(kind == CHILD_REAPER ? reaper_run(c, master) : batcher_run(c, master));
	}
	stats_slot_start(stats_slot, pid);
	s->pid = pid;
	s->gen = gen;
	s->retiring = 0;
	s->wanted = 1;
	set_ts(&s->started, mono_s());
	log_debug("%s %ld started", child_names[kind], (long)pid);
	return pid;
}

static pid_t
spawn(const struct conf *c, int listen_fd, struct slot *s, unsigned gen, int i)
{
	return spawn_child(c, listen_fd, s, gen, CHILD_WORKER, i);
}

/* Detaches from the terminal. The parent returns only after the child
 * reported that it is serving (so `orderd serve --daemon && curl` works). */
static int
daemonize(const struct conf *c, int listen_fd)
{
	int p[2], fd;
	char ok = 0;
	pid_t pid;

	if (pipe(p) != 0)
		return -1;
	if ((pid = fork()) < 0)
		return -1;
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &ok, 1) != 1)
			ok = 0;
		_exit(ok ? 0 : 1);
	}
	close(p[0]);
	setsid();
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		if (listen_fd != 0)
			dup2(fd, 0);
		dup2(fd, 1);
		close(fd);
	}
	if (c->logfile != NULL) {
		if ((fd = open(c->logfile, O_WRONLY | O_CREAT | O_APPEND, 0640)) < 0) {
			fprintf(stderr, "orderd: %s: %s\n", c->logfile, strerror(errno));
			return -1;
		}
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	return p[1];
}

/* A child of the master ended (its slot already freed): when to start its
 * successor, and the log line when it did not end cleanly. One that
 * crashes young is replaced after a pause, so a crash loop cannot spin; one
 * that exited 0 (--max-requests) or was retired by a reload, at once. */
static void
child_gone(struct slot *s, const char *what, pid_t pid, int st)
{
	double age = mono_s() - ts_s(&s->started);
	int clean = WIFEXITED(st) && WEXITSTATUS(st) == 0;

	set_ts(&s->respawn_at, mono_s() + (age < 1.0 && !clean && !s->retiring ? 1.0 : 0.0));
	if (WIFSIGNALED(st))
		log_warn("%s %ld killed by signal %d; replacing it", what, (long)pid,
		    WTERMSIG(st));
	else if (WEXITSTATUS(st) != 0)
		log_warn("%s %ld exited with %d; replacing it", what, (long)pid,
		    WEXITSTATUS(st));
}

int
pool_run(const struct conf *c, void (*setup)(const struct conf *))
{
	static struct slot slots[SLOTS_MAX];
	/* Beside the workers, one each: the payment-window reaper, and with
	 * --lock queue the batcher. */
	static struct slot aux[2];
	static const enum child aux_kind[2] = { CHILD_REAPER, CHILD_BATCHER };
	int naux = c->lock == LOCK_QUEUE ? 2 : 1, a;
	const char *unix_path = NULL;
	sigset_t set;
	int listen_fd, ready_fd = -1, i, nslots, stopping = 0, flags;
	unsigned gen = 0;
	double deadline = 0, last_term = 0;

	if (c->workers < 1 || c->workers * 2 > SLOTS_MAX) {
		fprintf(stderr, "orderd: workers must be 1..%d\n", SLOTS_MAX / 2);
		return 1;
	}
	if (c->pidfile != NULL && pidfile_busy(c->pidfile))
		return 1;
	if ((listen_fd = open_listener(c->listen, &unix_path)) < 0)
		return 1;
	if ((flags = fcntl(listen_fd, F_GETFL)) < 0 ||
	    fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) != 0) {
		fprintf(stderr, "orderd: cannot make the socket non-blocking: %s\n", strerror(errno));
		return 1;
	}
	if (c->daemonize && (ready_fd = daemonize(c, listen_fd)) < 0)
		return 1;
	if (c->logfile != NULL && !c->daemonize && freopen(c->logfile, "a", stderr) == NULL)
		return 1;
	if (c->pidfile != NULL && write_pidfile(c->pidfile) != 0)
		return 1;

	/* Signals are taken synchronously with sigtimedwait(): nothing runs in
	 * a handler, and no signal is lost between checks. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (setup != NULL)
		setup(c);
	nslots = c->workers * 2;
	for (i = 0; i < c->workers; i++)
		if (spawn(c, listen_fd, &slots[i], gen, i) < 0)
			return 1;
	for (a = 0; a < naux; a++)
		if (spawn_child(c, listen_fd, &aux[a], gen, aux_kind[a],
			    STATS_SLOT_REAPER + a) < 0)
			return 1;
	log_info("serving %s with %d workers (lock %s, hold %lld s, max-open %ld)",
	    c->listen ? c->listen : "fd:0", c->workers,
	    c->lock == LOCK_OPTIMISTIC ? "optimistic" : c->lock == LOCK_QUEUE ? "queue" :
	    "forupdate", (long long)c->hold,
	    c->max_open);
	if (ready_fd >= 0) {
		char one = 1;

		if (write(ready_fd, &one, 1) != 1)
			log_warn("could not tell the parent we are ready");
		close(ready_fd);
	}

	for (;;) {
		struct timespec tick = { 0, 200 * 1000 * 1000 };
		siginfo_t info;
		pid_t pid;
		int st, sig, live = 0, retiring = 0, old = -1;
		double now;

		/* Reap every worker (and the reaper) that ended, and free the
		 * shared slots it held locked if it died in the middle of a write. */
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			sesscache_release((uint32_t)pid);
			prodcache_release((uint32_t)pid);
			idemcache_release((uint32_t)pid);
			gate_release((uint32_t)pid);
			queue_release((uint32_t)pid);
			for (a = 0; a < naux && aux[a].pid != pid; a++)
				;
			if (a < naux) {
				/* Respawned like a worker; at once when a
				 * reload retired it. */
				aux[a].pid = 0;
				stats_slot_end(STATS_SLOT_REAPER + a, pid);
				child_gone(&aux[a], child_names[aux_kind[a]], pid, st);
				aux[a].retiring = 0;
				continue;
			}
			for (i = 0; i < nslots; i++) {
				if (slots[i].pid != pid)
					continue;
				slots[i].pid = 0;
				stats_slot_end(i, pid);
				if (stopping || slots[i].retiring) {
					slots[i].wanted = 0;
				} else {
					child_gone(&slots[i], "worker", pid, st);
				}
				slots[i].retiring = 0;
				break;
			}
		}

		now = mono_s();
		for (a = 0; a < naux; a++)
			if (aux[a].pid != 0)
				live++;
		for (i = 0; i < nslots; i++) {
			if (slots[i].pid != 0) {
				live++;
				if (slots[i].retiring)
					retiring++;
				else if (slots[i].gen != gen && old < 0)
					old = i;
			}
		}
		if (stopping) {
			if (live == 0)
				break;
			if (now > deadline) {
				for (i = 0; i < nslots; i++)
					if (slots[i].pid != 0)
						kill(slots[i].pid, SIGKILL);
				for (a = 0; a < naux; a++)
					if (aux[a].pid != 0)
						kill(aux[a].pid, SIGKILL);
			} else if (now - last_term >= 1.0) {
				/* Repeat: a worker between its stop check and its
				 * wait would otherwise sleep out one more tick. */
				for (i = 0; i < nslots; i++)
					if (slots[i].pid != 0)
						kill(slots[i].pid, SIGTERM);
				for (a = 0; a < naux; a++)
					if (aux[a].pid != 0)
						kill(aux[a].pid, SIGTERM);
				last_term = now;
			}
		} else {
			/* The reaper and the batcher: replaced when they died,
			 * and on a reload (stopped first, so two never run at
			 * once). */
			for (a = 0; a < naux; a++)
				if (aux[a].pid == 0 && now >= ts_s(&aux[a].respawn_at))
					spawn_child(c, listen_fd, &aux[a], gen, aux_kind[a],
			    STATS_SLOT_REAPER + a);
				else if (aux[a].pid != 0 && aux[a].gen != gen && !aux[a].retiring) {
					aux[a].retiring = 1;
					kill(aux[a].pid, SIGTERM);
				}
			for (i = 0; i < nslots; i++)
				if (slots[i].pid == 0 && slots[i].wanted &&
				    now >= ts_s(&slots[i].respawn_at))
					spawn(c, listen_fd, &slots[i], gen, i);
			/* Rolling reload: start a new worker, then retire one old
			 * one; the next only after it has gone. */
			if (old >= 0 && retiring == 0) {
				for (i = 0; i < nslots; i++)
					if (slots[i].pid == 0 && !slots[i].wanted)
						break;
				if (i < nslots && spawn(c, listen_fd, &slots[i], gen, i) > 0) {
					slots[old].retiring = 1;
					kill(slots[old].pid, SIGTERM);
				}
			}
		}

		sig = sigtimedwait(&set, &info, &tick);
		if (sig == SIGTERM || sig == SIGINT) {
			if (!stopping) {
				log_info("stopping: workers finish the requests in hand");
				stopping = 1;
				deadline = mono_s() + c->grace;
				last_term = mono_s();
				for (i = 0; i < nslots; i++)
					if (slots[i].pid != 0)
						kill(slots[i].pid, SIGTERM);
				for (a = 0; a < naux; a++)
					if (aux[a].pid != 0)
						kill(aux[a].pid, SIGTERM);
				/* No new connections from here on (a unix socket's
				 * path goes now); workers keep their copy of the
				 * socket to take what is already queued. */
				if (unix_path != NULL) {
					unlink(unix_path);
					unix_path = NULL;
				}
				if (listen_fd != 0)
					close(listen_fd);
			}
		} else if (sig == SIGHUP && !stopping) {
			gen++;
			log_info("reload: replacing workers one at a time");
		} else if (sig == SIGUSR1) {
			sesscache_forget_all();
			log_info("sessions revoked elsewhere: the session cache forgot every token");
			if (info.si_code == SI_QUEUE && info.si_value.sival_int == POOL_FORGET_ASK &&
			    info.si_pid > 0)
				kill(info.si_pid, SIGUSR1);
		}
	}
	if (unix_path != NULL)
		unlink(unix_path);
	if (c->pidfile != NULL)
		unlink(c->pidfile);
	log_info("stopped");
	return 0;
}

int
pool_forget_sessions(pid_t master, int timeout_ms)
{
	union sigval v;
	sigset_t set, old;
	siginfo_t info;
	struct timespec left;
	double until;
	int sig = -1, saved;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, &old) != 0)
		return -1;
	v.sival_int = POOL_FORGET_ASK;
	if (sigqueue(master, SIGUSR1, v) != 0) {
		saved = errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		errno = saved;
		return -1;
	}
	until = mono_s() + timeout_ms / 1000.0;
	for (;;) {
		double now = mono_s();

		if (now >= until) {
			errno = ETIMEDOUT;
			break;
		}
		set_ts(&left, until - now);
		sig = sigtimedwait(&set, &info, &left);
		/* Only the master's answer counts. */
		if (sig == SIGUSR1 && info.si_pid == master)
			break;
		if (sig < 0 && errno != EINTR && errno != EAGAIN)
			break;
		sig = -1;
	}
	saved = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return sig == SIGUSR1 ? 0 : -1;
}
