/* hdr.h - parsers of the request headers auth trusts nothing of: Cookie,
 * Authorization, Origin / Referer and the host:port they are compared with.
 *
 * Pure (no database, no FastCGI, no globals): part of the core library, so
 * the unit tests (tests/unit/check_hdr.c) and a fuzz harness
 * (tests/fuzz/fuzz_hdr.c) call them as fcgi/api/api.c does. */
#ifndef ORDERD_HDR_H
#define ORDERD_HDR_H

#include <stddef.h>
#include <stdint.h>

/* Finds cookie name's value in a Cookie header (RFC 6265 5.4): the first
 * "name=" after the start or a ';' (spaces and ';' skipped), up to the next
 * ';' or the end; quotes are part of the value. Returns its length and sets
 * *val, or -1 when absent. */
long	hdr_cookie(const char *hdr, const char *name, const char **val);

/* An Authorization header's Bearer token: the scheme "Bearer " in any case,
 * then the rest without leading and trailing spaces. Returns 0 and sets *tok
 * and *len (possibly 0); -1 when the scheme is not Bearer. */
int	hdr_bearer(const char *a, const char **tok, long *len);

/* Splits "host[:port]" (up to the end or one of "/?#") into host (a NUL-
 * terminated copy, case kept) and port; the port defaults to def. Returns 0,
 * or -1 when the host is empty or too long for hostsize, or the port is not
 * a number in 1..65535 ending the authority. */
int	hdr_split_hostport(const char *s, char *host, size_t hostsize, long *port, long def);

/* Whether url (an Origin or Referer) is on the origin host names: an http://
 * or https:// URL whose host equals host's (case-insensitively) and whose
 * port (default 80 / 443 by scheme, for both) equals host's. host is
 * "$host:$server_port" from the site (ORDERD_HOST), else the Host header.
 * 0 for NULL or empty host, any other scheme, or what does not parse. */
int	hdr_same_origin(const char *url, const char *host);

/* The cart cookie (orderd_cart): the pages' cart, one line per product. */
#define HDR_CART_COOKIE		"orderd_cart"
#define HDR_CART_LINES		50	/* distinct products, at most */
#define HDR_CART_QUANTITY	10000	/* of one product, at most */

struct hdr_cart_line {
	int64_t product;	/* 1..2^63-1 */
	int64_t quantity;	/* 1..HDR_CART_QUANTITY */
};

/* Parses a cart cookie's value of n bytes: "PRODUCT:QUANTITY" pairs joined
 * by '-' ("3:2-5:1"), each number plain digits without a leading zero,
 * each product once, at most max (<= HDR_CART_LINES) pairs, nothing else.
 * Returns the number of lines (0 for an empty value), or -1 when anything
 * is off: the caller then treats the cart as empty. */
int	hdr_cart(const char *v, size_t n, struct hdr_cart_line *out, size_t max);

/* Writes lines[0..n) as a cart cookie value into buf (NUL-terminated).
 * Returns its length, or -1 when it does not fit. */
int	hdr_cart_format(const struct hdr_cart_line *lines, size_t n, char *buf, size_t size);

#endif
