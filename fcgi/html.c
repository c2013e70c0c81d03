/* Placeholder renderer; the pages' helper replaces it with the real one. */
#include "config.h"

#include <string.h>

#include "html.h"

char *
html_escape(struct arena *a, const char *s)
{
	return arena_strdup(a, s);
}

char *
html_products(struct arena *a, const struct product *ps, size_t n, int64_t more_after,
    const char *csrf, const char *next_path)
{
	(void)ps; (void)n; (void)more_after; (void)csrf; (void)next_path;
	return arena_strdup(a, "<p>products</p>");
}

char *
html_orders(struct arena *a, const struct order *os, size_t n, int64_t more_after,
    const char *csrf, const char *next_path, int64_t viewer, int admin)
{
	(void)os; (void)n; (void)more_after; (void)csrf; (void)next_path; (void)viewer; (void)admin;
	return arena_strdup(a, "<p>orders</p>");
}
