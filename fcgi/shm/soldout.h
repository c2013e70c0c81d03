/* soldout.h - a mark, shared by every worker of the pool, that a product has
 * no stock left, so that an order for it is refused without taking its row
 * lock (a sold-out product must not slow the others down).
 *
 * The mark only ever refuses: it cannot sell anything, so it cannot oversell.
 * It is set by a transaction that saw the row locked with stock 0, cleared
 * by every transaction that gives stock back (restock, abort), and trusted
 * for at most SOLDOUT_TTL_MS: stock that arrives some other way (another
 * pool, a hand-made UPDATE) is seen again within that time. The table lives
 * in one anonymous shared mapping made by the master before it forks. */
#ifndef ORDERD_SOLDOUT_H
#define ORDERD_SOLDOUT_H

#include <stdint.h>

#define SOLDOUT_SLOT_BITS	12
#define SOLDOUT_SLOTS	(1 << SOLDOUT_SLOT_BITS)	/* products marked at once (a hash table) */
#define SOLDOUT_TTL_MS	1000	/* how long a mark is believed */

/* Maps the shared table; call once in the master before forking. Returns 0,
 * or -1 (then marks are simply never set: every order asks the database). */
int	soldout_init(void);

/* 1 when product is marked sold out and the mark is fresh, else 0. */
int	soldout_is(int64_t product);

/* Marks product sold out (its row was seen locked with stock 0). */
void	soldout_mark(int64_t product);

/* Forgets the mark of product (stock was given back). */
void	soldout_clear(int64_t product);

#endif
