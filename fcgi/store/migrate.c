#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mysql.h>

#include "store/db.h"
#include "store/migrate.h"

#define MIGRATIONS_MAX	999
#define MIGRATION_SIZE_MAX	(1 << 20)

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "012_name.sql" -> 12; -1 when the name is not a migration. */
static int
version_of(const char *name)
{
	size_t n = strlen(name);

	if (n < 8 || name[0] < '0' || name[0] > '9' || name[1] < '0' || name[1] > '9' ||
	    name[2] < '0' || name[2] > '9' || name[3] != '_' || strcmp(name + n - 4, ".sql") != 0)
		return -1;
	return (name[0] - '0') * 100 + (name[1] - '0') * 10 + (name[2] - '0');
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL)
		return NULL;
	if ((buf = malloc(MIGRATION_SIZE_MAX + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, MIGRATION_SIZE_MAX, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Runs the statements of one file: each ends with the delimiter (";"
 * unless a "DELIMITER x" line changed it, as the mariadb client allows for
 * stored procedures) at the end of a line; lines starting with "--" are
 * comments. The text is the project's own file, not input. Returns 0 or -1
 * after printing the error. */
static int
run_file(MYSQL *my, const char *path, char *text)
{
	char *stmt = text, *p = text, delim[16] = ";";

	while (*p != '\0') {
		char *eol = strchr(p, '\n');
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p), dl = strlen(delim);

		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\r' || p[len - 1] == '\t'))
			len--;
		if (strncmp(p, "--", 2) == 0) {
			memset(p, ' ', len);
		} else if (strncasecmp(p, "DELIMITER ", 10) == 0 && len > 10 && len - 10 < sizeof(delim)) {
			memcpy(delim, p + 10, len - 10);
			delim[len - 10] = '\0';
			memset(p, ' ', len);
			stmt = eol != NULL ? eol + 1 : p + strlen(p);
		} else if (len >= dl && memcmp(p + len - dl, delim, dl) == 0) {
			p[len - dl] = '\0';
			while (*stmt == ' ' || *stmt == '\n' || *stmt == '\t' || *stmt == '\r')
				stmt++;
			if (*stmt != '\0' && mysql_real_query(my, stmt, strlen(stmt)) != 0) {
				fprintf(stderr, "orderd migrate: %s: %s\n  in: %.200s\n", path,
				    mysql_error(my), stmt);
				return -1;
			}
			stmt = eol != NULL ? eol + 1 : p + strlen(p);
		}
		if (eol == NULL)
			break;
		p = eol + 1;
	}
	while (*stmt == ' ' || *stmt == '\n' || *stmt == '\t' || *stmt == '\r')
		stmt++;
	if (*stmt != '\0') {
		fprintf(stderr, "orderd migrate: %s: text after the last delimiter\n", path);
		return -1;
	}
	return 0;
}

static int
current_version(MYSQL *my)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	int v = 0;

	if (mysql_query(my, "SELECT COALESCE(MAX(version), 0) FROM schema_version") != 0 ||
	    (res = mysql_store_result(my)) == NULL)
		return -1;
	if ((row = mysql_fetch_row(res)) != NULL && row[0] != NULL)
		v = atoi(row[0]);
	mysql_free_result(res);
	return v;
}

static int
record(MYSQL *my, int version, const char *name)
{
	MYSQL_STMT *st = mysql_stmt_init(my);
	static const char q[] = "INSERT INTO schema_version (version, name) VALUES (?, ?)";
	MYSQL_BIND b[2];
	int rc = -1;

	if (st == NULL || mysql_stmt_prepare(st, q, sizeof(q) - 1) != 0)
		goto out;
	memset(b, 0, sizeof(b));
	b[0].buffer_type = MYSQL_TYPE_LONG;
	b[0].buffer = &version;
	b[1].buffer_type = MYSQL_TYPE_STRING;
	b[1].buffer = (void *)(uintptr_t)name;
	b[1].buffer_length = strlen(name);
	if (mysql_stmt_bind_param(st, b) == 0 && mysql_stmt_execute(st) == 0)
		rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "orderd migrate: cannot record version %d: %s\n", version,
		    st != NULL ? mysql_stmt_error(st) : "out of memory");
	if (st != NULL)
		mysql_stmt_close(st);
	return rc;
}

int
migrate_run(const struct conf *c)
{
	char *names[MIGRATIONS_MAX];
	size_t n = 0, i;
	struct dirent *de;
	struct db db;
	DIR *d;
	int cur, applied = 0, rc = 1;

	if ((d = opendir(c->migrations)) == NULL) {
		fprintf(stderr, "orderd migrate: %s: %s\n", c->migrations, strerror(errno));
		return 1;
	}
	while ((de = readdir(d)) != NULL && n < MIGRATIONS_MAX)
		if (version_of(de->d_name) > 0)
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), name_cmp);

	db_init(&db, c);
	db.batch = 1;
	if (db_connect(&db) != DB_OK) {
		fprintf(stderr, "orderd migrate: cannot connect: %s\n", db.last_error);
		goto out;
	}
	/* One migrator at a time. */
	if (mysql_query(db.my, "DO GET_LOCK('orderd.migrate', 60)") != 0 ||
	    mysql_query(db.my, "CREATE TABLE IF NOT EXISTS schema_version ("
	    " version INT NOT NULL PRIMARY KEY, name VARCHAR(200) NOT NULL,"
	    " applied_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP"
	    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4") != 0 ||
	    (cur = current_version(db.my)) < 0) {
		fprintf(stderr, "orderd migrate: %s\n", mysql_error(db.my));
		goto out;
	}
	for (i = 0; i < n; i++) {
		char path[4096], *text;
		int v = version_of(names[i]);

		if (v <= cur)
			continue;
		if (i + 1 < n && version_of(names[i + 1]) == v) {
			fprintf(stderr, "orderd migrate: two migrations numbered %03d\n", v);
			goto out;
		}
		snprintf(path, sizeof(path), "%s/%s", c->migrations, names[i]);
		if ((text = slurp(path)) == NULL) {
			fprintf(stderr, "orderd migrate: %s: %s\n", path, strerror(errno));
			goto out;
		}
		if (run_file(db.my, path, text) != 0 || record(db.my, v, names[i]) != 0) {
			free(text);
			goto out;
		}
		free(text);
		printf("applied %s\n", names[i]);
		applied++;
		cur = v;
	}
	if (applied == 0)
		printf("schema is up to date (version %d)\n", cur);
	else
		printf("schema now at version %d\n", cur);
	rc = 0;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	db_close(&db);
	return rc;
}
