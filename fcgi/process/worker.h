/* worker.h - one pool worker: take a FastCGI request, answer it, repeat.
 *
 * A worker owns one MariaDB connection (with its prepared statements) and
 * one arena. It keeps the FastCGI connections nginx asks it to keep
 * (fastcgi_keep_conn) and serves requests on any of them and on new ones,
 * one at a time. Only nginx closes a kept connection (upstream keepalive_time
 * and keepalive_timeout): closing it from this side could meet a request
 * nginx is just sending, which nginx may not retry. SIGTERM makes it finish
 * the request in hand, take what is already queued on the socket for a
 * second, answer on its kept connections until nginx has closed them (at
 * most 5 s), and exit. */
#ifndef ORDERD_WORKER_H
#define ORDERD_WORKER_H

#include <sys/types.h>

#include "base/conf.h"

/* Serves listen_fd (non-blocking) until stopped, the master is gone, or
 * max_requests were answered. Returns the process exit status. */
int	worker_run(const struct conf *, int listen_fd, pid_t master);

#endif
