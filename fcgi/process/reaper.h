/* reaper.h - the pool's payment-window keeper.
 *
 * The master forks one reaper beside the workers (respawned like one,
 * stopped with them on SIGTERM, replaced on SIGHUP). It has its own MariaDB
 * connection and, about once a second, selects the placed balance orders
 * whose --hold has run out (index orders_due) and expires each in its own
 * transaction through order_expire(): the locked path of a cancel, so an
 * expiry racing a pay or a cancel gives exactly one outcome. Its process
 * name (comm) is REAPER_NAME. */
#ifndef ORDERD_REAPER_H
#define ORDERD_REAPER_H

#include <signal.h>
#include <sys/types.h>

#include "base/conf.h"

#define REAPER_NAME	"orderd-reaper"

/* Runs until SIGTERM/SIGINT or the master is gone. Returns the exit status. */
int	reaper_run(const struct conf *, pid_t master);

/* What a child that takes no request (the reaper, the batcher) does first:
 * SIGTERM/SIGINT blocked into stopset (taken between transactions), the
 * process named name, the MariaDB library ready. 1 = go on; 0 = the master
 * is gone already; -1 = failed (logged). */
int	child_begin(const char *name, pid_t master, sigset_t *stopset);
/* Whether a stop signal (blocked by child_begin) is pending. */
int	child_stop_pending(void);

#endif
