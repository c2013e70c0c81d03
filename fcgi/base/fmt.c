#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "base/fmt.h"

static cJSON *
int_item(int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return cJSON_CreateRaw(buf);
}

cJSON *
fmt_add_int(cJSON *obj, const char *name, int64_t v)
{
	cJSON *item = int_item(v);

	if (item != NULL && !cJSON_AddItemToObject(obj, name, item)) {
		cJSON_Delete(item);
		return NULL;
	}
	return item;
}

cJSON *
fmt_append_int(cJSON *arr, int64_t v)
{
	cJSON *item = int_item(v);

	if (item != NULL && !cJSON_AddItemToArray(arr, item)) {
		cJSON_Delete(item);
		return NULL;
	}
	return item;
}

int
fmt_utc(int64_t t, char out[FMT_UTC_SIZE])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, FMT_UTC_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}
