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

#include <sys/types.h>

#include "base/conf.h"

#define REAPER_NAME	"orderd-reaper"

/* Runs until SIGTERM/SIGINT or the master is gone. Returns the exit status. */
int	reaper_run(const struct conf *, pid_t master);

#endif
