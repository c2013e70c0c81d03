/* audit.h - checks the invariants of docs/design.md against the database.
 *
 * Reads one consistent snapshot; prints one line per violation naming the
 * row, what was expected and what was found. Returns 0 when clean, 1 when
 * any invariant is violated, 2 when the database cannot be read. */
#ifndef ORDERD_AUDIT_H
#define ORDERD_AUDIT_H

#include "base/conf.h"

int	audit_run(const struct conf *);

#endif
