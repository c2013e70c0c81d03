#include "config.h"

#include "views/catalog_json.h"
#include "http/response.h"

cJSON *
goods_json(const struct goods *g)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	size_t i;

	if (o == NULL)
		return NULL;
	resp_add_int(o, "id", g->id);
	cJSON_AddStringToObject(o, "name", g->name);
	resp_add_int(o, "sales", g->sales);
	arr = cJSON_AddArrayToObject(o, "products");
	for (i = 0; i < g->nproducts; i++)
		resp_append_int(arr, g->products[i]);
	return o;
}
