/* gate.h - how many workers of the pool may be inside a write at once, in
 * all and on one row.
 *
 * A write waits on its rows' locks while it holds its worker. A row held
 * locked elsewhere (a long admin transaction, a stuck client) would let
 * every worker of the pool queue behind it, one request after another,
 * and then nothing else is answered: not a cached read, not a sold-out
 * refusal, not a sign-in. The gate keeps that from happening. Before its
 * transaction a write names the rows it will lock (keys: a product, an
 * order, an account) and enters; it leaves after COMMIT or ROLLBACK.
 *
 *  - At most row_max workers may be inside a write that names one key
 *    (half the pool, and no more than GATE_ROW_MAX: one row serves one
 *    transaction at a time, a longer queue in InnoDB only waits), and at
 *    most writers_max inside any write (the pool less a quarter): the rest
 *    always serve everything else.
 *  - A write that finds its key, or the pool, full waits for a place while
 *    the row moves, and is refused (503, Retry-After, nothing done) once it
 *    does not: when nobody has got into the key (or, for the pool, into any
 *    write) for GATE_STUCK_MS. Then every further request for that row is
 *    refused at once, without holding a worker. A wait never lasts longer
 *    than GATE_WAIT_MS. A key found stuck is remembered for
 *    GATE_STUCK_KEPT_MS: when it is full again in that time (its lock
 *    waiters timed out and the next ones got in to wait), the others are
 *    refused at once instead of holding workers for GATE_STUCK_MS more.
 *
 * Under a hot row that moves (a flash sale, a storm on one account)
 * holders leave and others get in every few milliseconds, so writes wait
 * their turn and nothing is refused, however slow the machine; only a row
 * that does not move turns requests away.
 *
 * Each worker publishes its keys in its own entry of a table in shared
 * memory (claimed by pid); entering publishes, then counts everyone's, so
 * two workers entering together can at worst both refuse, never both pass
 * a full bound. The master clears the entry of a worker it reaps, so a
 * killed worker never holds a place. */
#ifndef ORDERD_GATE_H
#define ORDERD_GATE_H

#include <stddef.h>
#include <stdint.h>

#define GATE_ENTRIES	1024	/* workers (of every generation) at once */
#define GATE_KEYS	8	/* keys one write publishes (more are not counted) */
#define GATE_ROW_MAX	16	/* workers inside writes on one key, at most */
#define GATE_WAIT_MS	3000	/* longest wait for a place */
#define GATE_STUCK_MS	250	/* nobody got into a full key this long: it is stuck */
#define GATE_STUCK_KEPT_MS 2000	/* a key found stuck refuses at once when full, this long */
#define GATE_MARK_BITS	10
#define GATE_MARKS	(1 << GATE_MARK_BITS)

/* What a key names. */
enum gate_kind { GATE_PRODUCT = 1, GATE_ORDER, GATE_ACCOUNT, GATE_USER };

static inline uint64_t
gate_key(enum gate_kind kind, uint64_t id)
{
	return ((uint64_t)kind << 56) | (id & ((1ULL << 56) - 1));
}

/* Maps the table for a pool of workers; call once in the master before
 * forking. 0, or -1 (then every write enters: no bound). */
int	gate_init(int workers);

/* Sets the bounds (tests; gate_init sets them from the pool's size). */
void	gate_bounds(int writers_max, int row_max);

enum gate_rc { GATE_IN, GATE_ROW_BUSY, GATE_POOL_BUSY };

/* Enters a write that will lock the rows keys[0..n) (0 keys: the bound on
 * all writes only). GATE_IN, or a refusal with *key the key that was full
 * (0 for the pool). Every GATE_IN is followed by gate_leave(). */
enum gate_rc gate_enter(const uint64_t *keys, size_t n, uint64_t *key);

void	gate_leave(void);

/* The master reaped process pid: its place, if it held one, is free. */
void	gate_release(uint32_t pid);

#endif
