#include "config.h"

#include "views/catalog_json.h"
#include "base/fmt.h"

cJSON *
goods_json(const struct goods *g)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	size_t i;

	if (o == NULL)
		return NULL;
	fmt_add_int(o, "id", g->id);
	cJSON_AddStringToObject(o, "name", g->name);
	fmt_add_int(o, "sales", g->sales);
	arr = cJSON_AddArrayToObject(o, "products");
	for (i = 0; i < g->nproducts; i++)
		fmt_append_int(arr, g->products[i]);
	return o;
}
