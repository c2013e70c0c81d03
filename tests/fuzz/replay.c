/* replay.c - runs one fuzz harness's LLVMFuzzerTestOneInput() on kept
 * inputs, without libFuzzer, so `make check` replays them with the normal
 * compiler (and, configured with --enable-sanitizers, under ASan/UBSan).
 *
 *   replay_<harness> [FILE|DIR ...]
 *
 * Each FILE, and each file of each DIR (names starting with '.' aside, in
 * name order), is read whole into an exact-size heap buffer and passed to
 * the harness once. With no argument, the harness's kept crash inputs
 * (FUZZ_REGRESS_DIR, tests/fuzz/regress/<harness>/) are replayed. A crash,
 * sanitizer report or contract violation (fuzz_util.h aborts) fails the
 * run, after the name of the input has been printed; so do an unreadable
 * input and an argument that yields no input at all. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feeds one file to the harness. Returns 0, or -1 when it cannot be read. */
static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			uint8_t *nb;

			cap = cap ? cap * 2 : 4096;
			if ((nb = realloc(buf, cap)) == NULL) {
				fprintf(stderr, "replay: %s: out of memory\n", path);
				free(buf);
				fclose(f);
				return -1;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	/* An exact-size copy, so AddressSanitizer sees a read past the end. */
	{
		uint8_t *exact = malloc(len > 0 ? len : 1);

		if (exact == NULL) {
			free(buf);
			return -1;
		}
		if (len > 0)
			memcpy(exact, buf, len);
		free(buf);
		printf("replay %s (%zu bytes)\n", path, len);
		fflush(stdout);
		(void)LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	return 0;
}

static int
not_hidden(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Replays FILE, or every file of DIR. Adds the inputs run to *count.
 * Returns 0, or -1 on an input or a directory that cannot be read. */
static int
replay_path(const char *path, size_t *count)
{
	struct dirent **ents;
	struct stat st;
	char sub[PATH_MAX];
	int n, i, rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (replay_file(path) != 0)
			return -1;
		(*count)++;
		return 0;
	}
	if ((n = scandir(path, &ents, not_hidden, alphasort)) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (rc == 0) {
			if (snprintf(sub, sizeof(sub), "%s/%s", path, ents[i]->d_name) >=
			    (int)sizeof(sub) || stat(sub, &st) != 0) {
				fprintf(stderr, "replay: %s/%s: cannot stat\n", path,
				    ents[i]->d_name);
				rc = -1;
			} else if (S_ISREG(st.st_mode)) {
				if (replay_file(sub) != 0)
					rc = -1;
				else
					(*count)++;
			}
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

int
main(int argc, char **argv)
{
	static const char *const dflt[] = { FUZZ_REGRESS_DIR, NULL };
	const char *const *paths = argc > 1 ? (const char *const *)(argv + 1) : dflt;
	size_t count = 0;
	int i;

	for (i = 0; paths[i] != NULL; i++) {
		size_t before = count;

		if (replay_path(paths[i], &count) != 0)
			return 1;
		if (count == before) {
			fprintf(stderr, "replay: no input in %s\n", paths[i]);
			return 1;
		}
	}
	printf("replayed %zu inputs without a finding\n", count);
	return 0;
}
