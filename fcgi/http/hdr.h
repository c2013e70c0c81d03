/* hdr.h - parsers of the request headers auth trusts nothing of: Cookie,
 * Authorization, Origin / Referer and the host:port they are compared with.
 *
 * Pure (no database, no FastCGI, no globals): part of the core library, so
 * the unit tests (tests/unit/check_hdr.c) and a fuzz harness
 * (tests/fuzz/fuzz_hdr.c) call them as fcgi/api/api.c does. */
#ifndef ORDERD_HDR_H
#define ORDERD_HDR_H

#include <stddef.h>

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

#endif
