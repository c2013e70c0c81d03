/* pool.h - the prefork master (fcgiwrap's prefork, php-fpm's stop).
 *
 * The master opens the listen socket (or takes one on fd 0), forks the
 * workers, and then only supervises: it respawns a worker that died,
 * replaces workers one at a time on SIGHUP, and on SIGTERM/SIGINT tells the
 * workers to finish what they hold and waits for them (SIGKILL after the
 * grace period). It never touches the database. */
#ifndef ORDERD_POOL_H
#define ORDERD_POOL_H

#include "conf.h"

/* Returns the process exit status: 0 after a clean stop, 1 on a start-up
 * failure (after printing why). */
int	pool_run(const struct conf *);

#endif
