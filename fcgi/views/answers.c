#include "config.h"

#include "views/answers.h"
#include "base/fmt.h"
#include "views/json.h"

cJSON *
page_json(const void *rows, size_t n, size_t row_size, int64_t next,
    cJSON *(*json)(const void *row))
{
	cJSON *o = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(o, "items");
	size_t i;

	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(items, json((const char *)rows + i * row_size));
	if (next > 0)
		fmt_add_int(o, "next", next);
	else
		cJSON_AddNullToObject(o, "next");
	return o;
}

cJSON *
registered_json(int64_t id, const char *username)
{
	cJSON *o = cJSON_CreateObject(), *u = cJSON_AddObjectToObject(o, "user");

	fmt_add_int(u, "id", id);
	cJSON_AddStringToObject(u, "username", username);
	return o;
}

cJSON *
session_json(const struct principal *who, const char *csrf)
{
	cJSON *o = cJSON_CreateObject(), *u;

	cJSON_AddStringToObject(o, "token", who->token);
	u = cJSON_AddObjectToObject(o, "user");
	fmt_add_int(u, "id", who->id);
	cJSON_AddStringToObject(u, "username", who->username);
	cJSON_AddStringToObject(u, "role", who->admin ? "admin" : "user");
	cJSON_AddStringToObject(o, "csrf_token", csrf);
	return o;
}

cJSON *
signed_out_json(void)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddTrueToObject(o, "ok");
	return o;
}

cJSON *
account_json(const struct account *a, const char *csrf)
{
	cJSON *o = acct_json(a);

	if (o != NULL && csrf != NULL)
		cJSON_AddStringToObject(o, "csrf_token", csrf);
	return o;
}

cJSON *
transfer_json(const struct account *from, const char *to, int64_t amount)
{
	cJSON *o = cJSON_CreateObject();

	if (o != NULL) {
		cJSON_AddItemToObject(o, "from", acct_json(from));
		cJSON_AddStringToObject(o, "to", to);
		fmt_add_int(o, "amount", amount);
	}
	return o;
}
