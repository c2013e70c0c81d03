#!/bin/sh
# The README's map of fcgi/ is the one a newcomer uses, so it must be true:
# every file the layer table names exists in that layer's folder, every
# source file of fcgi/ is in the table, and every path under fcgi/, tests/,
# db/, nginx/, htdocs/, docs/ or systemd/ that README.md or docs/*.md names
# exists. Exit 0 when all hold; each miss is printed.
set -u
top=${srcdir:-$(dirname "$0")/..}
cd "$top" || exit 99
bad=0

# 1. The layer table: rows "| `layer/` | `a.c`, `b.h` | what |", and rows
# "| | `c.c` | what |" that continue the layer above.
named=$(awk -F'|' '
	/^\| `[a-z]+\/` \|/ { layer = $2; gsub(/[ `\/]/, "", layer) }
	/^\| (`[a-z]+\/`)? *\| `/ && layer != "" {
		n = split($3, f, /[`, ]+/)
		for (i = 1; i <= n; i++) if (f[i] ~ /\.[ch]$/) print "fcgi/" layer "/" f[i]
	}
	/^$/ { layer = "" }' README.md)
[ -n "$named" ] || { echo "README.md: no layer table found"; exit 1; }
for f in $named; do
	[ -f "$f" ] || { echo "README.md names $f, which does not exist"; bad=$((bad + 1)); }
done
for f in fcgi/*/*.c fcgi/*/*.h; do
	case $f in *.h) [ -f "${f%.h}.c" ] && continue ;; esac
	echo "$named" | grep -qx "$f" || { echo "$f is missing from README.md's layer table"; bad=$((bad + 1)); }
done

# 2. Paths named anywhere in the README and the docs.
for doc in README.md docs/*.md; do
	# (not a part of a longer path such as /etc/nginx/...; a name may be a
	# prefix, "db/migrations/003"; NAME, NNN and <x> are placeholders)
	for p in $(grep -oP '(?<![A-Za-z0-9_./-])(fcgi|tests|db|nginx|htdocs|docs|systemd)/[A-Za-z0-9_./-]*[A-Za-z0-9_]' "$doc" | sort -u); do
		case $p in *NNN*|*NAME*|*'<'*) continue ;; esac
		ls -d "$p"* >/dev/null 2>&1 || { echo "$doc names $p, which does not exist"; bad=$((bad + 1)); }
	done
done
echo "$(echo "$named" | wc -l) files in the layer table, $bad miss(es)"
[ "$bad" -eq 0 ]
