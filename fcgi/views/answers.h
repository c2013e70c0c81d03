/* answers.h - the API's JSON answers that are more than one domain struct:
 * a page of a list, the signed-in session, a transfer. */
#ifndef ORDERD_ANSWERS_H
#define ORDERD_ANSWERS_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "domain/accounts.h"
#include "domain/auth.h"

/* {"items": [json(row) for each of the n rows of row_size bytes], "next":
 * next or null (0 = no further page)}. */
cJSON	*page_json(const void *rows, size_t n, size_t row_size, int64_t next,
	    cJSON *(*json)(const void *row));

/* POST /auth/register/: {"user": {"id", "username"}}. */
cJSON	*registered_json(int64_t id, const char *username);

/* POST /auth/login/: {"token", "user": {"id", "username", "role"},
 * "csrf_token"}. */
cJSON	*session_json(const struct principal *who, const char *csrf);

/* POST /auth/logout/: {"ok": true}. */
cJSON	*signed_out_json(void);

/* GET /account/: acct_json(), with "csrf_token" when csrf is not NULL. */
cJSON	*account_json(const struct account *, const char *csrf);

/* POST /account/transfer/: {"from": acct_json(from), "to", "amount"}. */
cJSON	*transfer_json(const struct account *from, const char *to, int64_t amount);

#endif
