/* negotiate.c - Accept and Content-Type negotiation. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/negotiate.h"
#include "http/request.h"

/* Quality of the most specific range in accept matching type/sub; -1 when
 * none matches. Specificity: type/sub (2) > type/ * (1) > * / * (0). */
static double
accept_q(const char *accept, const char *type, const char *sub)
{
	const char *p = accept;
	double best_q = -1;
	int best_spec = -1;

	while (*p != '\0') {
		char range[128];
		const char *end = strchr(p, ','), *semi, *q;
		size_t n;
		double qv = 1.0;
		int spec;
		char *slash;

		if (end == NULL)
			end = p + strlen(p);
		semi = memchr(p, ';', (size_t)(end - p));
		n = (size_t)((semi != NULL ? semi : end) - p);
		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n > 0 && n < sizeof(range)) {
			memcpy(range, p, n);
			range[n] = '\0';
			if (semi != NULL) {
				for (q = semi; q < end; q++)
					if ((q[0] == 'q' || q[0] == 'Q') && q[1] == '=' &&
					    (q == semi || q[-1] == ';' || q[-1] == ' ')) {
						qv = strtod(q + 2, NULL);
						break;
					}
			}
			if (qv < 0 || qv > 1 || isnan(qv))
				qv = 0;
			slash = strchr(range, '/');
			spec = -1;
			if (slash != NULL) {
				*slash = '\0';
				if (strcmp(range, "*") == 0 && strcmp(slash + 1, "*") == 0)
					spec = 0;
				else if (strcasecmp(range, type) == 0 && strcmp(slash + 1, "*") == 0)
					spec = 1;
				else if (strcasecmp(range, type) == 0 && strcasecmp(slash + 1, sub) == 0)
					spec = 2;
			}
			if (spec > best_spec) {
				best_spec = spec;
				best_q = qv;
			}
		}
		p = *end == ',' ? end + 1 : end;
	}
	return best_q;
}

int
req_prefers_html(const char *accept)
{
	double html, json;

	if (accept == NULL || strlen(accept) > 2048)
		return 0;
	html = accept_q(accept, "text", "html");
	json = accept_q(accept, "application", "json");
	return html > 0 && html > json;
}

static int
media_is(const char *ct, const char *want)
{
	size_t n = strlen(want);

	while (*ct == ' ')
		ct++;
	return strncasecmp(ct, want, n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

enum media
req_body_media(const char *content_type)
{
	const char *ct = content_type != NULL ? content_type : "";

	if (media_is(ct, "application/json"))
		return MEDIA_JSON;
	if (media_is(ct, "application/x-www-form-urlencoded"))
		return MEDIA_FORM;
	return MEDIA_OTHER;
}
