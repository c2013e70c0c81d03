/* check_valid.c - table-driven tests for the validators in fcgi/base/valid.c.
 *
 * Every input is copied into a heap buffer of exactly its length before the
 * call, so AddressSanitizer catches any read past the given length. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "base/problem.h"
#include "base/valid.h"

/* A byte string literal with its length (embedded NULs included). */
#define S(x)	(x), (sizeof(x) - 1)

static char *
dup_exact(const char *s, size_t n)
{
	char *d = malloc(n > 0 ? n : 1);

	ck_assert_ptr_nonnull(d);
	if (n > 0)
		memcpy(d, s, n);
	return d;
}

static int
utf8_exact(const char *s, size_t n)
{
	char *d = dup_exact(s, n);
	int ok = valid_utf8(d, n);

	free(d);
	return ok;
}

/* --- valid_utf8 ---------------------------------------------------------- */

struct utf8_case {
	const char *label;
	const char *s;
	size_t n;
	int want;
};

static void
run_utf8(const struct utf8_case *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ck_assert_msg(utf8_exact(c[i].s, c[i].n) == c[i].want,
		    "valid_utf8(%s) should be %d", c[i].label, c[i].want);
}

START_TEST(utf8_accepts_wellformed_sequences)
{
	static const struct utf8_case c[] = {
		{ "empty", S(""), 1 },
		{ "ASCII", S("hello, world ~"), 1 },
		{ "U+0000 inside", S("a\0b"), 1 },
		{ "U+007F", S("\x7f"), 1 },
		{ "U+0080 C2 80", S("\xc2\x80"), 1 },
		{ "e-acute C3 A9", S("caf\xc3\xa9"), 1 },
		{ "U+07FF DF BF", S("\xdf\xbf"), 1 },
		{ "U+0800 E0 A0 80", S("\xe0\xa0\x80"), 1 },
		{ "euro E2 82 AC", S("\xe2\x82\xac"), 1 },
		{ "U+D7FF ED 9F BF", S("\xed\x9f\xbf"), 1 },
		{ "U+E000 EE 80 80", S("\xee\x80\x80"), 1 },
		{ "U+FFFF EF BF BF", S("\xef\xbf\xbf"), 1 },
		{ "U+10000 F0 90 80 80", S("\xf0\x90\x80\x80"), 1 },
		{ "emoji F0 9F 98 80", S("\xf0\x9f\x98\x80"), 1 },
		{ "U+10FFFF F4 8F BF BF", S("\xf4\x8f\xbf\xbf"), 1 },
		{ "mixed", S("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"), 1 },
	};

	run_utf8(c, sizeof(c) / sizeof(c[0]));
}
END_TEST

START_TEST(utf8_rejects_overlong_encodings)
{
	static const struct utf8_case c[] = {
		{ "C0 80 (NUL)", S("\xc0\x80"), 0 },
		{ "C1 BF", S("\xc1\xbf"), 0 },
		{ "C0 AF ('/')", S("\xc0\xaf"), 0 },
		{ "E0 80 80", S("\xe0\x80\x80"), 0 },
		{ "E0 9F BF", S("\xe0\x9f\xbf"), 0 },
		{ "F0 80 80 80", S("\xf0\x80\x80\x80"), 0 },
		{ "F0 8F BF BF", S("\xf0\x8f\xbf\xbf"), 0 },
		{ "overlong after ASCII", S("ok\xc0\x80"), 0 },
	};

	run_utf8(c, sizeof(c) / sizeof(c[0]));
}
END_TEST

START_TEST(utf8_rejects_surrogates)
{
	static const struct utf8_case c[] = {
		{ "U+D800 ED A0 80", S("\xed\xa0\x80"), 0 },
		{ "U+DBFF ED AF BF", S("\xed\xaf\xbf"), 0 },
		{ "U+DC00 ED B0 80", S("\xed\xb0\x80"), 0 },
		{ "U+DFFF ED BF BF", S("\xed\xbf\xbf"), 0 },
		{ "CESU pair", S("\xed\xa0\xbd\xed\xb8\x80"), 0 },
	};

	run_utf8(c, sizeof(c) / sizeof(c[0]));
}
END_TEST

START_TEST(utf8_rejects_above_u10ffff)
{
	static const struct utf8_case c[] = {
		{ "U+110000 F4 90 80 80", S("\xf4\x90\x80\x80"), 0 },
		{ "F4 BF BF BF", S("\xf4\xbf\xbf\xbf"), 0 },
		{ "F5 80 80 80", S("\xf5\x80\x80\x80"), 0 },
		{ "F7 BF BF BF", S("\xf7\xbf\xbf\xbf"), 0 },
		{ "F8 5-byte lead", S("\xf8\x88\x80\x80\x80"), 0 },
		{ "FC 6-byte lead", S("\xfc\x84\x80\x80\x80\x80"), 0 },
		{ "FE", S("\xfe"), 0 },
		{ "FF", S("\xff"), 0 },
	};

	run_utf8(c, sizeof(c) / sizeof(c[0]));
}
END_TEST

START_TEST(utf8_rejects_truncated_sequences)
{
	static const struct utf8_case c[] = {
		{ "C3 at end", S("\xc3"), 0 },
		{ "ASCII then C3", S("abc\xc3"), 0 },
		{ "E2 82 at end", S("\xe2\x82"), 0 },
		{ "E2 at end", S("\xe2"), 0 },
		{ "F0 9F 98 at end", S("\xf0\x9f\x98"), 0 },
		{ "F0 9F at end", S("\xf0\x9f"), 0 },
		{ "C3 then ASCII", S("\xc3(x"), 0 },
		{ "E2 82 then ASCII", S("\xe2\x82z"), 0 },
		{ "F0 9F 98 then ASCII", S("\xf0\x9f\x98!"), 0 },
		{ "C3 then NUL", S("\xc3\0"), 0 },
		{ "two leads", S("\xc3\xc3\xa9"), 0 },
	};

	run_utf8(c, sizeof(c) / sizeof(c[0]));
}
END_TEST

START_TEST(utf8_rejects_stray_continuation_bytes)
{
	static const struct utf8_case c[] = {
		{ "80 alone", S("\x80"), 0 },
		{ "BF alone", S("\xbf"), 0 },
		{ "80 inside ASCII", S("a\x80z"), 0 },
		{ "extra continuation after C3 A9", S("\xc3\xa9\xa9"), 0 },
		{ "extra continuation after 4 bytes", S("\xf0\x9f\x98\x80\x80"), 0 },
	};

	run_utf8(c, sizeof(c) / sizeof(c[0]));
}
END_TEST

START_TEST(utf8_length_bounds_the_scan)
{
	/* The first n bytes are valid; the byte after them is not read. */
	ck_assert_int_eq(valid_utf8("ab\xff", 2), 1);
	ck_assert_int_eq(valid_utf8("\xc3\xa9\xc3", 2), 1);
	ck_assert_int_eq(valid_utf8("\xc3\xa9", 1), 0);
	ck_assert_int_eq(valid_utf8(NULL, 0), 1);
}
END_TEST

/* --- valid_int ----------------------------------------------------------- */

struct int_case {
	const char *s;
	size_t n;
	int64_t min, max;
	const char *why;	/* NULL = accepted */
	int64_t want;
};

static void
run_int(const struct int_case *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const int64_t sentinel = 424242;
		int64_t out = sentinel;
		char *d = dup_exact(c[i].s, c[i].n);
		const char *why = valid_int(d, c[i].n, c[i].min, c[i].max, &out);

		free(d);
		if (c[i].why == NULL) {
			ck_assert_msg(why == NULL, "valid_int(\"%.*s\") rejected: %s",
			    (int)c[i].n, c[i].s, why);
			ck_assert_msg(out == c[i].want,
			    "valid_int(\"%.*s\") gave %lld, want %lld", (int)c[i].n,
			    c[i].s, (long long)out, (long long)c[i].want);
		} else {
			ck_assert_msg(why != NULL, "valid_int(\"%.*s\") accepted %lld",
			    (int)c[i].n, c[i].s, (long long)out);
			ck_assert_msg(strcmp(why, c[i].why) == 0,
			    "valid_int(\"%.*s\") reason \"%s\", want \"%s\"",
			    (int)c[i].n, c[i].s, why, c[i].why);
			ck_assert_msg(out == sentinel,
			    "valid_int(\"%.*s\") wrote *out on failure", (int)c[i].n, c[i].s);
		}
	}
}

#define NOTINT	"must be an integer"
#define RANGE	"is out of range"

START_TEST(int_accepts_plain_decimals)
{
	static const struct int_case c[] = {
		{ S("0"), INT64_MIN, INT64_MAX, NULL, 0 },
		{ S("-0"), INT64_MIN, INT64_MAX, NULL, 0 },
		{ S("7"), INT64_MIN, INT64_MAX, NULL, 7 },
		{ S("-7"), INT64_MIN, INT64_MAX, NULL, -7 },
		{ S("007"), INT64_MIN, INT64_MAX, NULL, 7 },
		{ S("1000000000000"), 0, 1000000000000LL, NULL, 1000000000000LL },
		{ S("9223372036854775807"), INT64_MIN, INT64_MAX, NULL, INT64_MAX },
		{ S("-9223372036854775808"), INT64_MIN, INT64_MAX, NULL, INT64_MIN },
		{ S("-9223372036854775807"), INT64_MIN, INT64_MAX, NULL, -INT64_MAX },
		{ S("0000000000000000001"), INT64_MIN, INT64_MAX, NULL, 1 },
	};

	run_int(c, sizeof(c) / sizeof(c[0]));
}
END_TEST

START_TEST(int_allows_surrounding_spaces_only)
{
	static const struct int_case c[] = {
		{ S(" 5"), 0, 100, NULL, 5 },
		{ S("5 "), 0, 100, NULL, 5 },
		{ S("   42   "), 0, 100, NULL, 42 },
		{ S(" -3 "), -10, 100, NULL, -3 },
		{ S("4 2"), 0, 100, NOTINT, 0 },
		{ S("- 3"), -10, 100, NOTINT, 0 },
		{ S("   "), 0, 100, NOTINT, 0 },
	};

	run_int(c, sizeof(c) / sizeof(c[0]));
}
END_TEST

START_TEST(int_rejects_trailing_garbage_and_other_notations)
{
	static const struct int_case c[] = {
		{ S("+5"), 0, 100, NOTINT, 0 },
		{ S("5+"), 0, 100, NOTINT, 0 },
		{ S("1.5"), 0, 100, NOTINT, 0 },
		{ S("1."), 0, 100, NOTINT, 0 },
		{ S(".5"), 0, 100, NOTINT, 0 },
		{ S("1.0"), 0, 100, NOTINT, 0 },
		{ S("1e3"), 0, 10000, NOTINT, 0 },
		{ S("1E3"), 0, 10000, NOTINT, 0 },
		{ S("0x10"), 0, 100, NOTINT, 0 },
		{ S("0X1f"), 0, 100, NOTINT, 0 },
		{ S("12abc"), 0, 100, NOTINT, 0 },
		{ S("abc"), 0, 100, NOTINT, 0 },
		{ S("--5"), -10, 100, NOTINT, 0 },
		{ S("5-"), -10, 100, NOTINT, 0 },
		{ S("1,000"), 0, 10000, NOTINT, 0 },
		{ S("1_000"), 0, 10000, NOTINT, 0 },
		{ S("\xd9\xa3"), 0, 100, NOTINT, 0 },	/* ARABIC-INDIC DIGIT THREE */
		{ S("5\v"), 0, 100, NOTINT, 0 },
		{ S("5\f"), 0, 100, NOTINT, 0 },
		{ S("inf"), 0, 100, NOTINT, 0 },
		{ S("nan"), 0, 100, NOTINT, 0 },
	};

	run_int(c, sizeof(c) / sizeof(c[0]));
}
END_TEST

START_TEST(int_rejects_empty_and_lone_minus)
{
	static const struct int_case c[] = {
		{ S(""), INT64_MIN, INT64_MAX, NOTINT, 0 },
		{ S("-"), INT64_MIN, INT64_MAX, NOTINT, 0 },
		{ S(" - "), INT64_MIN, INT64_MAX, NOTINT, 0 },
	};

	run_int(c, sizeof(c) / sizeof(c[0]));
}
END_TEST

START_TEST(int_rejects_embedded_nul)
{
	static const struct int_case c[] = {
		{ S("1\0"), 0, 100, NOTINT, 0 },
		{ S("\0001"), 0, 100, NOTINT, 0 },
		{ S("1\0002"), 0, 100, NOTINT, 0 },
		{ S("5 \0"), 0, 100, NOTINT, 0 },
		{ S("\0"), 0, 100, NOTINT, 0 },
	};

	run_int(c, sizeof(c) / sizeof(c[0]));
}
END_TEST

START_TEST(int_length_bounds_the_scan)
{
	int64_t out = 0;

	/* Only the first n bytes count: "12" of "123", "5" of "5x". */
	ck_assert_ptr_null(valid_int("123", 2, 0, 1000, &out));
	ck_assert_int_eq(out, 12);
	ck_assert_ptr_null(valid_int("5x", 1, 0, 1000, &out));
	ck_assert_int_eq(out, 5);
}
END_TEST

START_TEST(int_rejects_twenty_digits_and_int64_overflow)
{
	static const struct int_case c[] = {
		{ S("9223372036854775808"), INT64_MIN, INT64_MAX, RANGE, 0 },
		{ S("-9223372036854775809"), INT64_MIN, INT64_MAX, RANGE, 0 },
		{ S("9999999999999999999"), INT64_MIN, INT64_MAX, RANGE, 0 },
		{ S("-9999999999999999999"), INT64_MIN, INT64_MAX, RANGE, 0 },
		{ S("18446744073709551615"), INT64_MIN, INT64_MAX, RANGE, 0 },
		{ S("18446744073709551616"), INT64_MIN, INT64_MAX, RANGE, 0 },
		{ S("99999999999999999999"), INT64_MIN, INT64_MAX, RANGE, 0 },
		/* 20 digits even when the value is small: at most 19 digits. */
		{ S("00000000000000000001"), INT64_MIN, INT64_MAX, RANGE, 0 },
		{ S("123456789012345678901234567890"), INT64_MIN, INT64_MAX, RANGE, 0 },
	};

	run_int(c, sizeof(c) / sizeof(c[0]));
}
END_TEST

START_TEST(int_outside_field_bounds_names_the_bound)
{
	static const struct int_case c[] = {
		{ S("0"), 1, 200, "must be at least 1", 0 },
		{ S("-1"), 1, 200, "must be at least 1", 0 },
		{ S("201"), 1, 200, "is too large", 0 },
		{ S("200"), 1, 200, NULL, 200 },
		{ S("1"), 1, 200, NULL, 1 },
		{ S("-1"), 0, 1000000000, "must not be negative", 0 },
		{ S("1000000001"), 0, 1000000000, "is too large", 0 },
		{ S("1000000000001"), 0, 1000000000000LL, "is too large", 0 },
		{ S("4"), 5, 10, "is too small", 0 },
		{ S("-9223372036854775808"), INT64_MIN + 1, INT64_MAX, "is too small", 0 },
		{ S("9223372036854775807"), 1, INT64_MAX - 1, "is too large", 0 },
		{ S("-9223372036854775808"), 1, INT64_MAX, "must be at least 1", 0 },
		{ S("9223372036854775807"), 1, INT64_MAX, NULL, INT64_MAX },
	};

	run_int(c, sizeof(c) / sizeof(c[0]));
}
END_TEST

/* --- valid_text ---------------------------------------------------------- */

struct text_case {
	const char *label;
	const char *s;
	size_t n;
	size_t min, max;
	const char *why;	/* NULL = accepted */
	size_t off, len;	/* accepted: trimmed start offset and length */
};

static void
run_text(const struct text_case *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *start = NULL;
		size_t len = 999999;
		char *d = dup_exact(c[i].s, c[i].n);
		const char *why = valid_text(d, c[i].n, c[i].min, c[i].max, &start, &len);

		if (c[i].why == NULL) {
			ck_assert_msg(why == NULL, "valid_text(%s) rejected: %s",
			    c[i].label, why);
			ck_assert_msg(start == d + c[i].off && len == c[i].len,
			    "valid_text(%s) gave offset %td length %zu, want %zu %zu",
			    c[i].label, start - d, len, c[i].off, c[i].len);
		} else {
			ck_assert_msg(why != NULL, "valid_text(%s) accepted", c[i].label);
			ck_assert_msg(strcmp(why, c[i].why) == 0,
			    "valid_text(%s) reason \"%s\", want \"%s\"", c[i].label,
			    why, c[i].why);
		}
		free(d);
	}
}

START_TEST(text_trims_surrounding_whitespace)
{
	static const struct text_case c[] = {
		{ "plain", S("Tea"), 1, 200, NULL, 0, 3 },
		{ "spaces", S("  Tea  "), 1, 200, NULL, 2, 3 },
		{ "tabs and newlines", S("\t\r\nTea cup\n"), 1, 200, NULL, 3, 7 },
		{ "inner spaces kept", S(" a  b "), 1, 200, NULL, 1, 4 },
		{ "markup kept verbatim", S("<b>x</b>"), 1, 200, NULL, 0, 8 },
		{ "quotes kept", S("\"x\" & 'y'"), 1, 200, NULL, 0, 9 },
		{ "NBSP is not trimmed", S("\xc2\xa0x"), 1, 200, NULL, 0, 3 },
	};

	run_text(c, sizeof(c) / sizeof(c[0]));
}
END_TEST

START_TEST(text_empty_after_trim_is_rejected)
{
	static const struct text_case c[] = {
		{ "empty", S(""), 1, 200, "must not be empty", 0, 0 },
		{ "spaces", S("   "), 1, 200, "must not be empty", 0, 0 },
		{ "whitespace mix", S(" \t\r\n "), 1, 200, "must not be empty", 0, 0 },
		{ "too short", S(" ab "), 3, 200, "is too short", 0, 0 },
		{ "empty allowed with min 0", S("  "), 0, 200, NULL, 2, 0 },
	};

	run_text(c, sizeof(c) / sizeof(c[0]));
}
END_TEST

#define CTRL	"must not contain control characters"

START_TEST(text_rejects_control_characters)
{
	static const struct text_case c[] = {
		{ "inner tab", S("a\tb"), 1, 200, CTRL, 0, 0 },
		{ "inner LF", S("a\nb"), 1, 200, CTRL, 0, 0 },
		{ "inner CR", S("a\rb"), 1, 200, CTRL, 0, 0 },
		{ "SOH", S("\x01" "a"), 1, 200, CTRL, 0, 0 },
		{ "ESC", S("a\x1b[31m"), 1, 200, CTRL, 0, 0 },
		{ "US 0x1F", S("a\x1f"), 1, 200, CTRL, 0, 0 },
		{ "DEL", S("a\x7f"), 1, 200, CTRL, 0, 0 },
		{ "C1 U+0080", S("a\xc2\x80"), 1, 200, CTRL, 0, 0 },
		{ "C1 U+0085 NEL", S("a\xc2\x85z"), 1, 200, CTRL, 0, 0 },
		{ "C1 U+009F", S("\xc2\x9f"), 1, 200, CTRL, 0, 0 },
		{ "U+00A0 is not C1", S("a\xc2\xa0z"), 1, 200, NULL, 0, 4 },
		{ "U+00BF is not C1", S("\xc2\xbf"), 1, 200, NULL, 0, 2 },
	};

	run_text(c, sizeof(c) / sizeof(c[0]));
}
END_TEST

START_TEST(text_rejects_nul_and_invalid_utf8)
{
	static const struct text_case c[] = {
		{ "inner NUL", S("a\0b"), 1, 200, "must not contain NUL", 0, 0 },
		{ "leading NUL", S("\0ab"), 1, 200, "must not contain NUL", 0, 0 },
		{ "trailing NUL", S("ab\0"), 1, 200, "must not contain NUL", 0, 0 },
		{ "lone C3", S("caf\xc3"), 1, 200, "must be valid UTF-8", 0, 0 },
		{ "overlong", S("\xc0\xaf"), 1, 200, "must be valid UTF-8", 0, 0 },
		{ "surrogate", S("\xed\xa0\x80"), 1, 200, "must be valid UTF-8", 0, 0 },
		{ "stray continuation", S("a\x80"), 1, 200, "must be valid UTF-8", 0, 0 },
		{ "Latin-1 e-acute", S("caf\xe9"), 1, 200, "must be valid UTF-8", 0, 0 },
	};

	run_text(c, sizeof(c) / sizeof(c[0]));
}
END_TEST

/* Builds count copies of unit (a UTF-8 sequence) plus optional padding. */
static char *
repeat(const char *unit, size_t count, size_t *n)
{
	size_t u = strlen(unit), i;
	char *s = malloc(u * count + 1);

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < count; i++)
		memcpy(s + i * u, unit, u);
	s[u * count] = '\0';
	*n = u * count;
	return s;
}

START_TEST(text_length_counts_code_points_not_bytes)
{
	static const struct {
		const char *unit;
		size_t count;
		int ok;
	} c[] = {
		{ "a", 200, 1 },
		{ "a", 201, 0 },
		{ "\xc3\xa9", 200, 1 },		/* 400 bytes, 200 characters */
		{ "\xc3\xa9", 201, 0 },
		{ "\xe2\x82\xac", 200, 1 },	/* 600 bytes */
		{ "\xe2\x82\xac", 201, 0 },
		{ "\xf0\x9f\x98\x80", 200, 1 },	/* 800 bytes */
		{ "\xf0\x9f\x98\x80", 201, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		size_t n, len = 0;
		char *s = repeat(c[i].unit, c[i].count, &n);
		const char *start = NULL;
		const char *why = valid_text(s, n, 1, 200, &start, &len);

		if (c[i].ok) {
			ck_assert_msg(why == NULL, "%zu x %zu-byte char rejected: %s",
			    c[i].count, strlen(c[i].unit), why);
			ck_assert_msg(start == s && len == n, "%zu x %zu-byte char trimmed",
			    c[i].count, strlen(c[i].unit));
		} else
			ck_assert_msg(why != NULL && strcmp(why, "is too long") == 0,
			    "%zu x %zu-byte char: got %s, want \"is too long\"",
			    c[i].count, strlen(c[i].unit), why ? why : "accepted");
		free(s);
	}
}
END_TEST

START_TEST(text_trimmed_spaces_do_not_count)
{
	size_t n, len = 0;
	char *core = repeat("x", 200, &n);
	char *s = malloc(n + 6);
	const char *start = NULL;

	ck_assert_ptr_nonnull(s);
	memcpy(s, "   ", 3);
	memcpy(s + 3, core, n);
	memcpy(s + 3 + n, "   ", 3);
	ck_assert_ptr_null(valid_text(s, n + 6, 1, 200, &start, &len));
	ck_assert_ptr_eq(start, s + 3);
	ck_assert_uint_eq(len, 200);
	free(s);
	free(core);
}
END_TEST

/* --- valid_local_path ---------------------------------------------------- */

START_TEST(local_path_rejects_other_origins_and_odd_bytes)
{
	static const struct {
		const char *s;
		int want;
	} c[] = {
		{ "/", 1 },
		{ "/a?b=c", 1 },
		{ "/order/12/?tab=lines&x=%20y", 1 },
		{ "/shop#top", 1 },
		{ "/a/b/c/", 1 },
		{ "//evil", 0 },
		{ "//evil.example/x", 0 },
		{ "///evil", 0 },
		{ "/\\evil", 0 },
		{ "/\\/evil", 0 },
		{ "/a\\b", 0 },
		{ "http://x", 0 },
		{ "https://evil.example/", 0 },
		{ "javascript:alert(1)", 0 },
		{ "relative", 0 },
		{ "./x", 0 },
		{ "\\\\evil", 0 },
		{ "", 0 },
		{ " /x", 0 },
		{ "/a b", 0 },
		{ "/a\tb", 0 },
		{ "/\t/evil", 0 },
		{ "/a\r\nSet-Cookie: x=1", 0 },
		{ "/a\n", 0 },
		{ "/\x01", 0 },
		{ "/\x7f", 0 },
		{ "/caf\xc3\xa9", 0 },
		{ "/\xff", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		ck_assert_msg(valid_local_path(c[i].s) == c[i].want,
		    "valid_local_path(\"%s\") should be %d", c[i].s, c[i].want);
	ck_assert_int_eq(valid_local_path(NULL), 0);
}
END_TEST

START_TEST(local_path_over_512_bytes_is_rejected)
{
	static const struct {
		size_t len;
		int want;
	} c[] = {
		{ 1, 1 }, { 511, 1 }, { 512, 1 }, { 513, 0 }, { 2048, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char *s = malloc(c[i].len + 1);

		ck_assert_ptr_nonnull(s);
		memset(s, 'a', c[i].len);
		s[0] = '/';
		s[c[i].len] = '\0';
		ck_assert_msg(valid_local_path(s) == c[i].want,
		    "valid_local_path of %zu bytes should be %d", c[i].len, c[i].want);
		free(s);
	}
}
END_TEST

/* --- valid_utf8_cut and the problem buffers -------------------------------- */

/* A 2-, 3- and 4-byte character: é, €, U+1F600. */
static const char *const wide[] = { "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80" };

/* 'a' * pre, then c, then "z": c starts at byte pre. */
static char *
around(size_t pre, const char *c)
{
	size_t n = strlen(c);
	char *s = malloc(pre + n + 2);

	ck_assert_ptr_nonnull(s);
	memset(s, 'a', pre);
	memcpy(s + pre, c, n);
	memcpy(s + pre + n, "z", 2);
	return s;
}

START_TEST(utf8_cut_never_splits_a_character)
{
	const size_t max = 64;
	size_t w, o;

	for (w = 0; w < sizeof(wide) / sizeof(wide[0]); w++) {
		size_t n = strlen(wide[w]);

		/* The character starts o bytes before the cut: o = 0 leaves it
		 * out whole, 1..n-1 straddle the cut, n keeps it whole. */
		for (o = 0; o <= n; o++) {
			char *s = around(max - o, wide[w]);
			size_t got = valid_utf8_cut(s, max);
			size_t want = o == n ? max : max - o;

			ck_assert_msg(got == want, "%zu-byte character at cut-%zu: kept %zu, want %zu",
			    n, o, got, want);
			ck_assert_msg(valid_utf8(s, got), "%zu-byte character at cut-%zu: "
			    "the kept bytes are not UTF-8", n, o);
			free(s);
		}
	}
	/* What fits is kept whole; max 0 keeps nothing. */
	ck_assert_uint_eq(valid_utf8_cut("ab\xc3\xa9", 4), 4);
	ck_assert_uint_eq(valid_utf8_cut("ab\xc3\xa9", 40), 4);
	ck_assert_uint_eq(valid_utf8_cut("\xc3\xa9", 1), 0);
	ck_assert_uint_eq(valid_utf8_cut("\xc3\xa9", 0), 0);
	ck_assert_uint_eq(valid_utf8_cut("", 10), 0);
	/* Not UTF-8 at all (continuation bytes only): the cut stays put. */
	ck_assert_uint_eq(valid_utf8_cut("abcde\x80\x80\x80\x80\x80\x80", 9), 9);
}
END_TEST

START_TEST(problem_detail_and_field_cut_on_a_character_boundary)
{
	size_t w, o;

	for (w = 0; w < sizeof(wide) / sizeof(wide[0]); w++) {
		size_t n = strlen(wide[w]);

		for (o = 1; o < n; o++) {
			struct problem p;
			/* Straddling the last byte of the detail, then of the
			 * extra's copy. */
			char *d = around(PROBLEM_DETAIL_MAX - 1 - o, wide[w]);
			char *e = around(sizeof(p.extra[0].s) - 1 - o, wide[w]);

			problem_set(&p, PROB_FIELD, "%s", d);
			problem_add_str(&p, "field", e);
			ck_assert_msg(valid_utf8(p.detail, strlen(p.detail)),
			    "%zu-byte character %zu bytes before the detail's end: invalid UTF-8",
			    n, o);
			ck_assert_uint_eq(strlen(p.detail), PROBLEM_DETAIL_MAX - 1 - o);
			ck_assert_msg(valid_utf8(p.extra[0].s, strlen(p.extra[0].s)),
			    "%zu-byte character %zu bytes before the extra's end: invalid UTF-8",
			    n, o);
			ck_assert_uint_eq(strlen(p.extra[0].s), sizeof(p.extra[0].s) - 1 - o);
			free(d);
			free(e);
		}
	}
}
END_TEST

/* --- valid_money: the amount as a person writes it ------------------------ */

/* Each input's cents (or NULL reason = refused), for money fields of 1 up
 * (amount) and of 0 up (price). */
START_TEST(money_table_of_written_amounts)
{
	static const struct money_case {
		const char *s;
		size_t n;
		int64_t min;
		int ok;
		int64_t want;
	} c[] = {
		{ S("12.5"), 1, 1, 1250 },
		{ S("12.50"), 1, 1, 1250 },
		{ S("12"), 1, 1, 1200 },
		{ S("0.01"), 1, 1, 1 },
		{ S("0.1"), 1, 1, 10 },
		{ S(" 7.05 "), 1, 1, 705 },
		{ S("007.00"), 1, 1, 700 },
		{ S("0"), 0, 1, 0 },
		{ S("0.00"), 0, 1, 0 },
		{ S("10000000000"), 1, 1, 1000000000000LL },
		{ S("0"), 1, 0, 0 },
		{ S("0.00"), 1, 0, 0 },
		{ S("12.505"), 1, 0, 0 },
		{ S("12.500"), 1, 0, 0 },
		{ S("1,2"), 1, 0, 0 },
		{ S("1,20"), 1, 0, 0 },
		{ S("1.234,50"), 1, 0, 0 },
		{ S("-1"), 1, 0, 0 },
		{ S("-0.5"), 0, 0, 0 },
		{ S("+1"), 1, 0, 0 },
		{ S("1e3"), 1, 0, 0 },
		{ S("1E3"), 1, 0, 0 },
		{ S("0x10"), 1, 0, 0 },
		{ S(""), 1, 0, 0 },
		{ S("   "), 1, 0, 0 },
		{ S("."), 1, 0, 0 },
		{ S(".5"), 1, 0, 0 },
		{ S("12."), 1, 0, 0 },
		{ S("1 2"), 1, 0, 0 },
		{ S("12.5.0"), 1, 0, 0 },
		{ S("12..5"), 1, 0, 0 },
		{ S("NaN"), 1, 0, 0 },
		{ S("inf"), 1, 0, 0 },
		{ S("\xef\xbc\x91"), 1, 0, 0 },	/* fullwidth digit one */
		{ "1\0" "2", 3, 1, 0, 0 },
		{ S("10000000000.01"), 1, 0, 0 },	/* past 10^12 cents */
		{ S("999999999999999"), 1, 0, 0 },
		{ S("9999999999999999999999"), 1, 0, 0 },
		{ S("92233720368547758.08"), 1, 0, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int64_t out = 424242;
		char *d = dup_exact(c[i].s, c[i].n);
		const char *why = valid_money(d, c[i].n, c[i].min, 1000000000000LL, &out);

		free(d);
		if (c[i].ok) {
			ck_assert_msg(why == NULL, "valid_money(\"%.*s\") rejected: %s",
			    (int)c[i].n, c[i].s, why);
			ck_assert_msg(out == c[i].want, "valid_money(\"%.*s\") gave %lld, want %lld",
			    (int)c[i].n, c[i].s, (long long)out, (long long)c[i].want);
		} else {
			ck_assert_msg(why != NULL, "valid_money(\"%.*s\") accepted %lld",
			    (int)c[i].n, c[i].s, (long long)out);
			ck_assert_msg(out == 424242, "valid_money(\"%.*s\") wrote *out on failure",
			    (int)c[i].n, c[i].s);
		}
	}
}
END_TEST

/* The reasons name what is wrong, in words a form can show. */
START_TEST(money_reasons_say_what_is_wrong)
{
	int64_t out;

	ck_assert_str_eq(valid_money("12.505", 6, 1, 100000, &out),
	    "has more than two digits after the point (cents)");
	ck_assert_str_eq(valid_money("-1", 2, 1, 100000, &out), "must not be negative");
	ck_assert_str_eq(valid_money("0", 1, 1, 100000, &out), "must be at least 0.01");
	ck_assert_str_eq(valid_money("1000.01", 7, 1, 100000, &out), "is too large");
	ck_assert_str_eq(valid_money("1,2", 3, 1, 100000, &out),
	    "must be an amount such as 12.50: digits, then at most two after a point");
}
END_TEST

static Suite *
valid_suite(void)
{
	Suite *s = suite_create("valid");
	TCase *tc;

	tc = tcase_create("utf8");
	tcase_add_test(tc, utf8_accepts_wellformed_sequences);
	tcase_add_test(tc, utf8_rejects_overlong_encodings);
	tcase_add_test(tc, utf8_rejects_surrogates);
	tcase_add_test(tc, utf8_rejects_above_u10ffff);
	tcase_add_test(tc, utf8_rejects_truncated_sequences);
	tcase_add_test(tc, utf8_rejects_stray_continuation_bytes);
	tcase_add_test(tc, utf8_length_bounds_the_scan);
	tcase_add_test(tc, utf8_cut_never_splits_a_character);
	tcase_add_test(tc, problem_detail_and_field_cut_on_a_character_boundary);
	suite_add_tcase(s, tc);

	tc = tcase_create("int");
	tcase_add_test(tc, int_accepts_plain_decimals);
	tcase_add_test(tc, int_allows_surrounding_spaces_only);
	tcase_add_test(tc, int_rejects_trailing_garbage_and_other_notations);
	tcase_add_test(tc, int_rejects_empty_and_lone_minus);
	tcase_add_test(tc, int_rejects_embedded_nul);
	tcase_add_test(tc, int_length_bounds_the_scan);
	tcase_add_test(tc, int_rejects_twenty_digits_and_int64_overflow);
	tcase_add_test(tc, int_outside_field_bounds_names_the_bound);
	suite_add_tcase(s, tc);

	tc = tcase_create("text");
	tcase_add_test(tc, text_trims_surrounding_whitespace);
	tcase_add_test(tc, text_empty_after_trim_is_rejected);
	tcase_add_test(tc, text_rejects_control_characters);
	tcase_add_test(tc, text_rejects_nul_and_invalid_utf8);
	tcase_add_test(tc, text_length_counts_code_points_not_bytes);
	tcase_add_test(tc, text_trimmed_spaces_do_not_count);
	suite_add_tcase(s, tc);

	tc = tcase_create("money");
	tcase_add_test(tc, money_table_of_written_amounts);
	tcase_add_test(tc, money_reasons_say_what_is_wrong);
	suite_add_tcase(s, tc);

	tc = tcase_create("local_path");
	tcase_add_test(tc, local_path_rejects_other_origins_and_odd_bytes);
	tcase_add_test(tc, local_path_over_512_bytes_is_rejected);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(valid_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
