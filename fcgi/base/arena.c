#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"

#define ARENA_CHUNK	16384
#define ARENA_ALIGN	16

struct arena_chunk {
	struct arena_chunk *next;
	size_t cap;
	size_t used;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

static struct arena_chunk *
chunk_new(size_t cap)
{
	struct arena_chunk *c;

	c = malloc(sizeof(*c) + cap);
	if (c == NULL)
		return NULL;
	c->next = NULL;
	c->cap = cap;
	c->used = 0;
	return c;
}

void
arena_init(struct arena *a, size_t limit)
{
	a->head = a->spare = NULL;
	a->total = 0;
	a->limit = limit;
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c;
	size_t need;
	void *p;

	need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (need < n || (a->limit != 0 && (need > a->limit || a->total > a->limit - need)))
		return NULL;
	c = a->head;
	if (c == NULL || c->cap - c->used < need) {
		c = chunk_new(need > ARENA_CHUNK ? need : ARENA_CHUNK);
		if (c == NULL)
			return NULL;
		if (a->spare == NULL)
			a->spare = c;
		else
			c->next = a->head;
		a->head = c;
	}
	p = c->data + c->used;
	c->used += need;
	a->total += need;
	memset(p, 0, n);
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p;

	if (n == SIZE_MAX || (p = arena_alloc(a, n + 1)) == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

void
arena_reset(struct arena *a)
{
	struct arena_chunk *c, *next;

	for (c = a->head; c != NULL && c != a->spare; c = next) {
		next = c->next;
		free(c);
	}
	if (a->spare != NULL) {
		a->spare->used = 0;
		a->spare->next = NULL;
	}
	a->head = a->spare;
	a->total = 0;
}

void
arena_free(struct arena *a)
{
	arena_reset(a);
	free(a->spare);
	a->head = a->spare = NULL;
}
