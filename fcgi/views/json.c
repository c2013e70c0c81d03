#include "config.h"

#include <stddef.h>

#include "base/fmt.h"
#include "views/json.h"

cJSON *
inv_product_json(const struct product *pr)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	fmt_add_int(o, "id", pr->id);
	cJSON_AddStringToObject(o, "name", pr->name);
	if (pr->goods > 0)
		fmt_add_int(o, "goods", pr->goods);
	else
		cJSON_AddNullToObject(o, "goods");
	fmt_add_int(o, "price", pr->price);
	fmt_add_int(o, "stock", pr->stock);
	fmt_add_int(o, "sales", pr->sales);
	return o;
}

cJSON *
order_json(const struct order *o)
{
	cJSON *j, *lines;
	char ts[FMT_UTC_SIZE];
	int64_t pay_by;
	size_t i;

	if ((j = cJSON_CreateObject()) == NULL)
		return NULL;
	fmt_add_int(j, "id", o->id);
	if (o->user > 0)
		fmt_add_int(j, "user", o->user);
	else
		cJSON_AddNullToObject(j, "user");
	cJSON_AddStringToObject(j, "status", order_status_name(o->status));
	cJSON_AddStringToObject(j, "pay_method", o->pay_method);
	lines = cJSON_AddArrayToObject(j, "lines");
	for (i = 0; lines != NULL && i < o->nlines; i++) {
		cJSON *l = cJSON_CreateObject();

		if (l == NULL)
			break;
		fmt_add_int(l, "product", o->lines[i].product);
		fmt_add_int(l, "quantity", o->lines[i].quantity);
		fmt_add_int(l, "price", o->lines[i].price);
		cJSON_AddItemToArray(lines, l);
	}
	fmt_add_int(j, "total_count", o->total_count);
	fmt_add_int(j, "freight", o->freight);
	fmt_add_int(j, "total_amount", o->total_amount);
	fmt_utc(o->created_at, ts);
	cJSON_AddStringToObject(j, "created_at", ts);
	if ((pay_by = order_pay_by(o)) > 0) {
		fmt_utc(pay_by, ts);
		cJSON_AddStringToObject(j, "pay_by", ts);
	} else
		cJSON_AddNullToObject(j, "pay_by");
	return j;
}

cJSON *
acct_json(const struct account *a)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	fmt_add_int(o, "id", a->id);
	cJSON_AddStringToObject(o, "username", a->username);
	cJSON_AddStringToObject(o, "role", a->role);
	fmt_add_int(o, "balance", a->balance);
	return o;
}

cJSON *
acct_ledger_json(const struct ledger_entry *l)
{
	cJSON *e;
	char ts[FMT_UTC_SIZE];

	if ((e = cJSON_CreateObject()) == NULL)
		return NULL;
	fmt_add_int(e, "id", l->id);
	cJSON_AddStringToObject(e, "kind", l->kind);
	fmt_add_int(e, "amount", l->amount);
	if (!l->has_order)
		cJSON_AddNullToObject(e, "order");
	else
		fmt_add_int(e, "order", l->order_id);
	if (!l->has_who)
		cJSON_AddNullToObject(e, "counterparty");
	else
		cJSON_AddStringToObject(e, "counterparty", l->who);
	fmt_utc(l->at, ts);
	cJSON_AddStringToObject(e, "created_at", ts);
	return e;
}
