#include "config.h"

#include <stddef.h>

#include "shm/shared.h"
#include "shm/soldout.h"

struct slot {
	int64_t product;	/* 0 = empty */
	int64_t marked_ms;	/* CLOCK_MONOTONIC ms of the mark; 0 = cleared */
};

static struct slot *table;

/* NULL when there is no table (then nothing is ever marked). */
static struct slot *
slot_of(int64_t product)
{
	return table != NULL ? &table[shared_slot((uint64_t)product, SOLDOUT_SLOT_BITS)] : NULL;
}

int
soldout_init(void)
{
	table = shared_alloc(SOLDOUT_SLOTS * sizeof(struct slot));
	return table != NULL ? 0 : -1;
}

/* The slot's two words are read and written with relaxed atomics; a reader
 * that sees the product of one writer and the time of another at worst
 * believes a mark that is not there for the product it asks about for one
 * TTL, or misses one - both allowed. The time is cleared before the
 * product changes, so a stale time never attaches to a new product. */
int
soldout_is(int64_t product)
{
	struct slot *s = slot_of(product);
	int64_t at;

	if (s == NULL || __atomic_load_n(&s->product, __ATOMIC_ACQUIRE) != product)
		return 0;
	at = __atomic_load_n(&s->marked_ms, __ATOMIC_ACQUIRE);
	if (at == 0 || mono_ms() - at >= SOLDOUT_TTL_MS)
		return 0;
	return __atomic_load_n(&s->product, __ATOMIC_ACQUIRE) == product;
}

void
soldout_mark(int64_t product)
{
	struct slot *s = slot_of(product);

	if (s == NULL)
		return;
	__atomic_store_n(&s->marked_ms, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&s->product, product, __ATOMIC_RELEASE);
	__atomic_store_n(&s->marked_ms, mono_ms(), __ATOMIC_RELEASE);
}

void
soldout_clear(int64_t product)
{
	struct slot *s = slot_of(product);

	if (s != NULL && __atomic_load_n(&s->product, __ATOMIC_ACQUIRE) == product)
		__atomic_store_n(&s->marked_ms, 0, __ATOMIC_RELEASE);
}
