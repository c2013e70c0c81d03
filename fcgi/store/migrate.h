/* migrate.h - applies db/migrations/NNN_name.sql in order, once each.
 *
 * The applied versions are recorded in schema_version; a run with nothing
 * new changes nothing. Returns 0 on success (also when up to date), 1 on
 * failure after printing the failing file and statement. */
#ifndef ORDERD_MIGRATE_H
#define ORDERD_MIGRATE_H

#include "base/conf.h"

int	migrate_run(const struct conf *);

#endif
