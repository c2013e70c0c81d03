#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "base/fmt.h"
#include "base/log.h"

static enum log_level level = LOG_LVL_INFO;
static const char *const names[] = { "error", "warn", "info", "debug" };

void
log_set_level(enum log_level l)
{
	level = l;
}

void
log_msg(enum log_level l, const char *fmt, ...)
{
	char line[1024], ts[FMT_UTC_SIZE];
	va_list ap;
	int n;

	if (l > level)
		return;
	fmt_utc((int64_t)time(NULL), ts);
	n = snprintf(line, sizeof(line), "%s orderd[%ld] %s: ", ts, (long)getpid(), names[l]);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* Messages may quote what a client sent: no control characters reach
	 * the log, so one event stays one line. */
	for (char *c = line; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	/* One write per line so lines from several workers do not interleave. */
	fprintf(stderr, "%s\n", line);
	fflush(stderr);
}
