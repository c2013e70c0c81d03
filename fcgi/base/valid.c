#include "config.h"

#include <string.h>

#include "base/valid.h"

int
valid_utf8(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t len, k;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else
			return 0;
		if (n - i < len)
			return 0;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

size_t
valid_utf8_cut(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1), k;

	if (n <= max)
		return n;
	/* s[max] is the first byte left out: while it continues a character,
	 * that character began before the cut and is left out whole. A lead
	 * byte is at most 3 bytes back; past that the bytes are not UTF-8 and
	 * the cut stays where it was. */
	for (k = 0; k < 4 && k < max; k++)
		if (((unsigned char)s[max - k] & 0xc0) != 0x80)
			return max - k;
	return k < max ? max : 0;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && is_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_space((*s)[*n - 1]))
		(*n)--;
}

const char *
valid_int(const char *s, size_t n, int64_t min, int64_t max, int64_t *out)
{
	int neg = 0;
	uint64_t v = 0, lim;
	size_t i, digits = 0;

	trim(&s, &n);
	if (n == 0)
		return "must be an integer";
	i = 0;
	if (s[0] == '-') {
		neg = 1;
		i = 1;
	}
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return "must be an integer";
		d = (unsigned)(s[i] - '0');
		if (++digits > 19 || v > (lim - d) / 10)
			return "is out of range";
		v = v * 10 + d;
	}
	if (digits == 0)
		return "must be an integer";
	{
		int64_t r = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;

		if (r < min) {
			return min == 0 ? "must not be negative" :
			    min == 1 ? "must be at least 1" : "is too small";
		}
		if (r > max)
			return "is too large";
		*out = r;
	}
	return NULL;
}

/* The amount as a person writes it: units, then optionally '.' and one or
 * two digits of cents. Integer arithmetic only: "12.5" is 1250 exactly. */
const char *
valid_money(const char *s, size_t n, int64_t min, int64_t max, int64_t *out)
{
	const char *why = "must be an amount such as 12.50: digits, then at most two after a point";
	uint64_t units = 0, cents = 0, v;
	size_t i = 0, digits = 0, frac = 0;

	trim(&s, &n);
	if (n == 0)
		return why;
	if (s[0] == '-')
		return min >= 0 ? "must not be negative" : why;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		if (++digits > 15)
			return "is too large";
		units = units * 10 + (uint64_t)(s[i] - '0');
	}
	if (digits == 0)
		return why;
	if (i < n && s[i] == '.') {
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			if (++frac > 2)
				return "has more than two digits after the point (cents)";
			cents = cents * 10 + (uint64_t)(s[i] - '0');
		}
		if (frac == 0)
			return why;
		if (frac == 1)
			cents *= 10;
	}
	if (i != n)
		return why;
	v = units * 100 + cents;	/* units < 10^15: no overflow */
	if (v > (uint64_t)INT64_MAX || (int64_t)v > max)
		return "is too large";
	if ((int64_t)v < min)
		return min == 1 ? "must be at least 0.01" : "is too small";
	*out = (int64_t)v;
	return NULL;
}

const char *
valid_text(const char *s, size_t n, size_t minchars, size_t maxchars,
    const char **start, size_t *len)
{
	const unsigned char *u;
	size_t i, chars = 0;

	trim(&s, &n);
	if (memchr(s, '\0', n) != NULL)
		return "must not contain NUL";
	if (!valid_utf8(s, n))
		return "must be valid UTF-8";
	u = (const unsigned char *)s;
	for (i = 0; i < n; i++) {
		if (u[i] < 0x20 || u[i] == 0x7f)
			return "must not contain control characters";
		/* C1 controls U+0080..U+009F are encoded as C2 80..C2 9F */
		if (u[i] == 0xc2 && i + 1 < n && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f)
			return "must not contain control characters";
		if ((u[i] & 0xc0) != 0x80)
			chars++;
	}
	if (chars < minchars)
		return minchars == 1 ? "must not be empty" : "is too short";
	if (chars > maxchars)
		return "is too long";
	*start = s;
	*len = n;
	return NULL;
}

int
valid_local_path(const char *s)
{
	size_t i;

	if (s == NULL || s[0] != '/' || s[1] == '/' || s[1] == '\\')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= 512 || c < 0x21 || c >= 0x7f || c == '\\')
			return 0;
	}
	return 1;
}
