/* worker.h - one pool worker: accept a FastCGI request, answer it, repeat.
 *
 * A worker owns one MariaDB connection (with its prepared statements) and
 * one arena. SIGTERM makes it finish the request in hand, take what is
 * already queued on the socket, and exit (php-fpm's graceful stop). */
#ifndef ORDERD_WORKER_H
#define ORDERD_WORKER_H

#include <sys/types.h>

#include "conf.h"

/* Serves listen_fd (non-blocking) until stopped, the master is gone, or
 * max_requests were answered. Returns the process exit status. */
int	worker_run(const struct conf *, int listen_fd, pid_t master);

#endif
