/* fmt.h - formatting that the layers above share: exact 64-bit integers in
 * cJSON (the HTTP layer's problems and the views' JSON) and Unix times as
 * ISO 8601 UTC (the log, the JSON and the HTML views). Pure. */
#ifndef ORDERD_FMT_H
#define ORDERD_FMT_H

#include <stdint.h>

#include <cJSON.h>

/* Adds an exact integer member: cJSON prints numbers through a double with
 * 15 significant digits, which would turn 9007199254740993 into 9.007e+15.
 * Returns the member, or NULL when out of memory. */
cJSON	*fmt_add_int(cJSON *obj, const char *name, int64_t v);
/* The same, as an array element. */
cJSON	*fmt_append_int(cJSON *arr, int64_t v);

#define FMT_UTC_SIZE	32

/* Writes t (Unix seconds) as "2026-11-30T08:44:41Z" into out. 0, or -1
 * (out is "") when t is beyond what the C library represents. */
int	fmt_utc(int64_t t, char out[FMT_UTC_SIZE]);

#endif
