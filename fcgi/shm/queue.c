/* queue.c - the order queue of --lock queue (queue.h). */
#include "config.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shm/queue.h"
#include "shm/shared.h"

enum { S_FREE = 0, S_RESERVED, S_QUEUED, S_TAKEN, S_DONE };

struct table {
	pthread_mutex_t mu;	/* robust: a worker killed holding it is survived */
	uint32_t leader;	/* pid, 0 = none */
	uint64_t next_seq;
	struct queue_stats st;
	struct qslot slot[QUEUE_SLOTS];
};

static struct table *table;

int
queue_init(void)
{
	pthread_mutexattr_t a;

	if ((table = shared_alloc(sizeof(*table))) == NULL)
		return -1;
	if (pthread_mutexattr_init(&a) != 0 ||
	    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) != 0 ||
	    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) != 0 ||
	    pthread_mutex_init(&table->mu, &a) != 0) {
		table = NULL;
		return -1;
	}
	pthread_mutexattr_destroy(&a);
	table->next_seq = 1;
	return 0;
}

int
queue_ready(void)
{
	return table != NULL;
}

static void
lock(void)
{
	if (pthread_mutex_lock(&table->mu) == EOWNERDEAD)
		/* Its holder died between two whole steps: every step under
		 * the lock leaves the table whole. */
		pthread_mutex_consistent(&table->mu);
}

static void
unlock(void)
{
	pthread_mutex_unlock(&table->mu);
}

static void
ring(struct qslot *s)
{
	__atomic_add_fetch(&s->bell, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &s->bell, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* The oldest queued slot, or NULL. Under the lock. */
static struct qslot *
oldest(void)
{
	struct qslot *best = NULL;
	size_t i;

	for (i = 0; i < QUEUE_SLOTS; i++) {
		struct qslot *s = &table->slot[i];

		if (s->state == S_QUEUED && (best == NULL || s->seq < best->seq))
			best = s;
	}
	return best;
}

struct qslot *
queue_reserve(void)
{
	struct qslot *s = NULL;
	size_t i;

	lock();
	for (i = 0; i < QUEUE_SLOTS; i++)
		if (table->slot[i].state == S_FREE) {
			s = &table->slot[i];
			s->state = S_RESERVED;
			s->waiter = (uint32_t)getpid();
			s->leader = 0;
			s->gone = 0;
			s->seq = 0;
			break;
		}
	unlock();
	return s;
}

void
queue_submit(struct qslot *s, int keep)
{
	lock();
	memset(&s->out, 0, sizeof(s->out));
	if (!keep || s->seq == 0)
		s->seq = table->next_seq++;
	s->leader = 0;
	s->state = S_QUEUED;
	table->st.queued++;
	unlock();
}

enum qturn
queue_wait(struct qslot *s, int wait_ms)
{
	struct timespec t = { wait_ms / 1000, (long)(wait_ms % 1000) * 1000000L };
	uint32_t seen;

	lock();
	if (s->state == S_DONE) {
		unlock();
		return QT_DONE;
	}
	if (table->leader == 0 && s->state == S_QUEUED) {
		table->leader = (uint32_t)getpid();
		table->st.leader = table->leader;
		unlock();
		return QT_LEAD;
	}
	seen = __atomic_load_n(&s->bell, __ATOMIC_SEQ_CST);
	unlock();
	syscall(SYS_futex, &s->bell, FUTEX_WAIT, seen, &t, NULL, 0);
	return QT_WAIT;
}

int
queue_withdraw(struct qslot *s)
{
	int r = 0;

	lock();
	if (s->state == S_QUEUED) {
		s->state = S_FREE;
		table->st.queued--;
		r = 1;
	}
	unlock();
	return r;
}

size_t
queue_take(struct qslot **out, size_t max)
{
	uint32_t me = (uint32_t)getpid();
	size_t n = 0, b;

	lock();
	while (n < max) {
		struct qslot *s = oldest();

		if (s == NULL)
			break;
		s->state = S_TAKEN;
		s->leader = me;
		table->st.queued--;
		out[n++] = s;
	}
	if (n > 0) {
		table->st.batches++;
		table->st.orders += n;
		if (n > table->st.largest)
			table->st.largest = n;
		for (b = 0; b + 1 < QUEUE_HIST && (n >> (b + 1)) != 0; b++)
			;
		table->st.hist[b]++;
	}
	unlock();
	return n;
}

/* Hands s its outcome (->out written). Under the lock. */
static void
finish(struct qslot *s)
{
	if (s->gone) {
		s->state = S_FREE;
		return;
	}
	s->state = S_DONE;
	ring(s);
}

void
queue_done(struct qslot **s, size_t n)
{
	size_t i;

	lock();
	for (i = 0; i < n; i++)
		finish(s[i]);
	unlock();
}

/* Nobody leads; the oldest waiter is woken to lead. Under the lock. */
static void
step_down(void)
{
	struct qslot *next;

	table->leader = 0;
	table->st.leader = 0;
	if ((next = oldest()) != NULL)
		ring(next);
}

void
queue_resign(void)
{
	lock();
	if (table->leader == (uint32_t)getpid())
		step_down();
	unlock();
}

void
queue_free(struct qslot *s)
{
	lock();
	if (s->state == S_QUEUED)
		table->st.queued--;
	s->state = S_FREE;
	unlock();
}

void
queue_release(uint32_t pid)
{
	size_t i;

	if (table == NULL)
		return;
	lock();
	for (i = 0; i < QUEUE_SLOTS; i++) {
		struct qslot *s = &table->slot[i];

		if (s->state == S_TAKEN && s->leader == pid) {
			/* Taken by the dead leader: whatever it did is in the
			 * database or nowhere; the waiter finds out which. */
			s->out.outcome = QO_SETTLE;
			finish(s);
		}
		if (s->waiter != pid)
			continue;
		if (s->state == S_QUEUED)
			table->st.queued--;
		if (s->state == S_TAKEN)
			s->gone = 1;
		else
			s->state = S_FREE;
	}
	if (table->leader == pid)
		step_down();
	unlock();
}

void
queue_stats_read(struct queue_stats *out)
{
	if (table == NULL) {
		memset(out, 0, sizeof(*out));
		return;
	}
	lock();
	*out = table->st;
	unlock();
}
