/* batcher.h - the batcher of --lock queue.
 *
 * The master forks one batcher beside the workers when the pool runs with
 * --lock queue (respawned like a worker, replaced on SIGHUP after the old
 * one stopped, stopped last on SIGTERM). It has its own MariaDB connection
 * and does one thing: takes the orders the workers queued (shm/queue.h),
 * oldest first, places them as one batch and hands every waiting worker
 * its order's outcome (api/queue.c's queue_serve()), then takes what queued
 * meanwhile. Its process name (comm) is BATCHER_NAME. */
#ifndef ORDERD_BATCHER_H
#define ORDERD_BATCHER_H

#include <sys/types.h>

#include "base/conf.h"

#define BATCHER_NAME	"orderd-batcher"

/* Runs until SIGTERM/SIGINT (then until the queue stayed empty for a
 * moment: the workers finishing their requests may still queue orders) or
 * the master is gone. Returns the exit status. */
int	batcher_run(const struct conf *, pid_t master);

#endif
