/* valid.h - validators for values that arrive from the network.
 *
 * Pure functions, no allocation: each either accepts a value and yields the
 * parsed form, or rejects it with a short reason suitable for a 422 detail. */
#ifndef ORDERD_VALID_H
#define ORDERD_VALID_H

#include <stddef.h>
#include <stdint.h>

/* Returns 1 when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF), else 0. */
int	valid_utf8(const char *s, size_t n);

/* The number of bytes of s (NUL-terminated) to keep when it is cut to at most
 * max bytes without splitting a UTF-8 character: strlen(s) when that fits,
 * else max backed off to the start of the character that straddles the cut.
 * Every place that quotes a client's value into a problem detail or extra
 * cuts it with this (through UTF8_CUT), so an answer is always valid UTF-8. */
size_t	valid_utf8_cut(const char *s, size_t max);

/* The two printf arguments for "%.*s": s cut to at most max bytes on a
 * character boundary. */
#define UTF8_CUT(s, max)	(int)valid_utf8_cut((s), (max)), (s)

/* Parses a decimal integer in [min, max]: optional surrounding ASCII spaces,
 * an optional '-', then 1..19 digits; nothing else (no '+', no '.', no 'e',
 * no hex, no embedded NUL). Returns NULL and sets *out on success, otherwise
 * a static reason ("must be an integer", "must be at least 1", ...). */
const char *valid_int(const char *s, size_t n, int64_t min, int64_t max, int64_t *out);

/* Parses money as a person writes it into integer cents in [min, max]:
 * optional surrounding ASCII spaces, 1..15 digits, then optionally '.' and
 * one or two digits ("12", "12.5", "12.50" are 1200, 1250, 1250 cents).
 * Nothing else: no sign, no ',' (ambiguous: "1,2"), no exponent, no third
 * decimal ("12.505" is refused, never rounded). No floating point. Returns
 * NULL and sets *out, otherwise a static reason. */
const char *valid_money(const char *s, size_t n, int64_t min, int64_t max, int64_t *out);

/* Checks a human text field: trims ASCII whitespace (returned via *start and
 * *len), then requires valid UTF-8, no control characters (C0, DEL, C1), and
 * between minchars and maxchars code points. NULL on success, else a reason. */
const char *valid_text(const char *s, size_t n, size_t minchars, size_t maxchars,
	    const char **start, size_t *len);

/* Returns 1 when s is a safe same-origin redirect target: starts with exactly
 * one '/', and contains no backslash, no control or non-ASCII bytes, and at
 * most 512 bytes. Anything else (//host, http://, /\host) returns 0. */
int	valid_local_path(const char *s);

#endif
