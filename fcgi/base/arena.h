/* arena.h - per-request memory: allocate freely, free everything at once.
 *
 * A request owns one arena; everything the request allocates (field values,
 * response body) comes from it and is released by arena_reset() when the
 * response is written. */
#ifndef ORDERD_ARENA_H
#define ORDERD_ARENA_H

#include <stddef.h>

/* What one request may allocate in a worker (fcgi/process/worker.c); the fuzz
 * harnesses parse with the same limit. */
#define ARENA_LIMIT	(4u << 20)

struct arena_chunk;

struct arena {
	struct arena_chunk *head;	/* chunk being filled */
	struct arena_chunk *spare;	/* first chunk, kept across resets */
	size_t total;			/* bytes handed out since the last reset */
	size_t limit;			/* 0 = unlimited; else arena_alloc fails past it */
};

void	 arena_init(struct arena *, size_t limit);
/* Returns zeroed memory aligned for any type, or NULL past the limit or on ENOMEM. */
void	*arena_alloc(struct arena *, size_t);
/* Copies n bytes and a NUL; NULL on failure. */
char	*arena_strndup(struct arena *, const char *, size_t);
char	*arena_strdup(struct arena *, const char *);
/* Frees every chunk but the first, which is kept for the next request. */
void	 arena_reset(struct arena *);
void	 arena_free(struct arena *);

#endif
