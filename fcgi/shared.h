/* shared.h - small pieces the master and the workers share: a monotonic
 * clock, and memory mapped once by the master and shared by every worker it
 * forks (the sold-out marks, the session cache). */
#ifndef ORDERD_SHARED_H
#define ORDERD_SHARED_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds and in seconds. */
int64_t	mono_ms(void);
double	mono_s(void);

/* Zeroed memory shared with every process forked afterwards; NULL when it
 * cannot be mapped (errno set). */
void	*shared_alloc(size_t bytes);

#endif
