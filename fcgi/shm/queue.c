/* queue.c - the order queue of --lock queue (queue.h). */
#include "config.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shm/queue.h"
#include "shm/shared.h"

enum { S_FREE = 0, S_RESERVED, S_QUEUED, S_TAKEN, S_DONE };

struct table {
	pthread_mutex_t mu;	/* robust: a worker killed holding it is survived */
	uint32_t leader;	/* pid of the batcher, 0 = none */
	uint32_t work;		/* futex: bumped when an order is queued */
	uint64_t next_seq;
	uint32_t holder[QUEUE_HOLDERS];	/* workers keeping a database connection */
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
	if (!keep || s->seq == 0) {
		s->seq = table->next_seq++;
		s->in.busy_since = 0;
	}
	s->leader = 0;
	s->state = S_QUEUED;
	table->st.queued++;
	unlock();
	__atomic_add_fetch(&table->work, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &table->work, FUTEX_WAKE, 1, NULL, NULL, 0);
}

void
queue_lead(void)
{
	lock();
	table->leader = (uint32_t)getpid();
	table->st.leader = table->leader;
	unlock();
}

void
queue_await_work(int wait_ms)
{
	struct timespec t = { wait_ms / 1000, (long)(wait_ms % 1000) * 1000000L };
	uint32_t seen;
	int idle;

	lock();
	seen = __atomic_load_n(&table->work, __ATOMIC_SEQ_CST);
	idle = table->st.queued == 0;
	unlock();
	if (idle)
		syscall(SYS_futex, &table->work, FUTEX_WAIT, seen, &t, NULL, 0);
}

enum qturn
queue_wait(struct qslot *s, int wait_ms)
{
	struct timespec t = { wait_ms / 1000, (long)(wait_ms % 1000) * 1000000L };
	uint32_t seen;

	/* No lock: the batcher sets the state, then rings (queue_done). */
	seen = __atomic_load_n(&s->bell, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->state, __ATOMIC_SEQ_CST) == S_DONE)
		return QT_DONE;
	syscall(SYS_futex, &s->bell, FUTEX_WAIT, seen, &t, NULL, 0);
	return __atomic_load_n(&s->state, __ATOMIC_SEQ_CST) == S_DONE ? QT_DONE : QT_WAIT;
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

static int
seq_cmp(const void *a, const void *b)
{
	const struct qslot *x = *(struct qslot *const *)a, *y = *(struct qslot *const *)b;

	return (x->seq > y->seq) - (x->seq < y->seq);
}

size_t
queue_take(struct qslot **out, size_t max)
{
	struct qslot *q[QUEUE_SLOTS];
	uint32_t me = (uint32_t)getpid();
	size_t n, nq = 0, i, b;

	lock();
	for (i = 0; i < QUEUE_SLOTS; i++)
		if (table->slot[i].state == S_QUEUED)
			q[nq++] = &table->slot[i];
	if (nq > 1)
		qsort(q, nq, sizeof(q[0]), seq_cmp);
	for (n = 0; n < nq && n < max; n++) {
		q[n]->state = S_TAKEN;
		q[n]->leader = me;
		table->st.queued--;
		out[n] = q[n];
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

/* Hands s its outcome (->out written). Under the lock. 1 when its waiter
 * is to be rung (after the lock: a waiter woken must not find it held). */
static int
finish(struct qslot *s)
{
	if (s->gone) {
		s->state = S_FREE;
		return 0;
	}
	__atomic_store_n(&s->state, S_DONE, __ATOMIC_SEQ_CST);
	return 1;
}

void
queue_done(struct qslot **s, size_t n)
{
	struct qslot *rung[QUEUE_SLOTS];
	size_t i, nr = 0;

	lock();
	for (i = 0; i < n; i++)
		if (s[i]->out.outcome == QO_BUSY && !s[i]->gone) {
			s[i]->state = S_QUEUED;
			s[i]->leader = 0;
			table->st.queued++;
		} else if (finish(s[i]))
			rung[nr++] = s[i];
	unlock();
	/* A slot rung here may be free again already, even taken by another
	 * order: its waiter only looks again. */
	for (i = 0; i < nr; i++)
		ring(rung[i]);
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

/* Sets or clears pid's place among the holders; the count after. Under
 * the lock. */
static uint32_t
hold(uint32_t pid, int held)
{
	uint32_t n = 0;
	size_t i, free_at = QUEUE_HOLDERS;
	int found = 0;

	for (i = 0; i < QUEUE_HOLDERS; i++) {
		if (table->holder[i] == pid) {
			found = 1;
			if (!held)
				table->holder[i] = 0;
		} else if (table->holder[i] == 0 && free_at == QUEUE_HOLDERS)
			free_at = i;
		if (table->holder[i] != 0)
			n++;
	}
	if (held && !found && free_at < QUEUE_HOLDERS) {
		table->holder[free_at] = pid;
		n++;
	}
	table->st.connections = n;
	return n;
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
			if (finish(s))
				ring(s);
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
		table->leader = table->st.leader = 0;
	(void)hold(pid, 0);
	unlock();
}

uint32_t
queue_conn_note(int held)
{
	uint32_t n;

	lock();
	n = hold((uint32_t)getpid(), held);
	unlock();
	return n;
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
