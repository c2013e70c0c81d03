#include "config.h"

#include <stddef.h>
#include <sys/mman.h>
#include <time.h>

#include "soldout.h"

struct slot {
	int64_t product;	/* 0 = empty */
	int64_t marked_ms;	/* CLOCK_MONOTONIC ms of the mark; 0 = cleared */
};

static struct slot *table;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct slot *
slot_of(int64_t product)
{
	uint64_t h = (uint64_t)product * 0x9e3779b97f4a7c15ULL;

	return &table[h >> 52 & (SOLDOUT_SLOTS - 1)];
}

int
soldout_init(void)
{
	void *p;

	p = mmap(NULL, SOLDOUT_SLOTS * sizeof(struct slot), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	table = p;
	return 0;
}

/* The slot's two words are read and written with relaxed atomics; a reader
 * that sees the product of one writer and the time of another at worst
 * believes a mark that is not there for the product it asks about for one
 * TTL, or misses one - both allowed. The time is cleared before the
 * product changes, so a stale time never attaches to a new product. */
int
soldout_is(int64_t product)
{
	struct slot *s;
	int64_t at;

	if (table == NULL)
		return 0;
	s = slot_of(product);
	if (__atomic_load_n(&s->product, __ATOMIC_ACQUIRE) != product)
		return 0;
	at = __atomic_load_n(&s->marked_ms, __ATOMIC_ACQUIRE);
	if (at == 0 || now_ms() - at >= SOLDOUT_TTL_MS)
		return 0;
	return __atomic_load_n(&s->product, __ATOMIC_ACQUIRE) == product;
}

void
soldout_mark(int64_t product)
{
	struct slot *s;

	if (table == NULL)
		return;
	s = slot_of(product);
	__atomic_store_n(&s->marked_ms, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&s->product, product, __ATOMIC_RELEASE);
	__atomic_store_n(&s->marked_ms, now_ms(), __ATOMIC_RELEASE);
}

void
soldout_clear(int64_t product)
{
	struct slot *s;

	if (table == NULL)
		return;
	s = slot_of(product);
	if (__atomic_load_n(&s->product, __ATOMIC_ACQUIRE) == product)
		__atomic_store_n(&s->marked_ms, 0, __ATOMIC_RELEASE);
}
