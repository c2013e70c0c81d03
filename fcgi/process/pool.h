/* pool.h - the prefork master (fcgiwrap's prefork, php-fpm's stop).
 *
 * The master opens the listen socket (or takes one on fd 0), forks the
 * workers, and then only supervises: it respawns a worker that died,
 * replaces workers one at a time on SIGHUP, and on SIGTERM/SIGINT tells the
 * workers to finish what they hold and waits for them (SIGKILL after the
 * grace period). It never touches the database. */
#ifndef ORDERD_POOL_H
#define ORDERD_POOL_H

#include <sys/types.h>

#include "base/conf.h"

/* SIGUSR1 tells the master that sessions were revoked in the database by
 * another process (`orderd admin --promote`): it forgets every session the
 * pool's shared cache holds. Sent with sigqueue() and POOL_FORGET_ASK as
 * its value, the master answers the sender with SIGUSR1 once done. */
#define POOL_FORGET_ASK	0x6f726431

/* Asks the pool whose master has pid to forget its cached sessions and
 * waits up to timeout_ms for the answer (0: only asks; a master running as
 * another user cannot answer root). 0 when the master answered, -1 (errno
 * set; ETIMEDOUT when it did not answer) otherwise. */
int	pool_forget_sessions(pid_t master, int timeout_ms);

/* Runs the master: opens the socket, detaches and opens the log as
 * configured, calls setup (when not NULL) once before the first worker is
 * forked (what the workers will share is made there), then forks and
 * watches the workers and the reaper. Returns the process exit status: 0
 * after a clean stop, 1 on a start-up failure (after printing why). */
int	pool_run(const struct conf *, void (*setup)(const struct conf *));

#endif
