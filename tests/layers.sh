#!/bin/sh
# The layers of fcgi/ (README "Architecture"): each may include only itself
# and the layers below it. Fails naming every include that reaches up or
# sideways, so a dependency that breaks the shape cannot land unnoticed.
#
#   process   main, the pool master, workers, the reaper
#   api       dispatch, the write wrapper, the handlers
#   http      CGI params -> request -> validation; router; response
#   views     JSON and HTML renderings of domain structs
#   domain    catalog, inventory, orders, accounts, auth, idempotency
#   store     the statement table, transactions, migrate, audit
#   shm       tables in shared memory (sold-out marks, caches)
#   base      arena, log, settings, problem details, value validators
#
# http and the domain are side by side: neither knows the other.
set -u
top=${srcdir:-$(dirname "$0")/..}
allowed() {
	case $1 in
	base)    echo "base" ;;
	shm)     echo "base shm" ;;
	store)   echo "base shm store" ;;
	domain)  echo "base shm store domain" ;;
	views)   echo "base domain views" ;;
	http)    echo "base http" ;;
	api)     echo "base shm store domain views http api" ;;
	process) echo "base shm store domain views http api process" ;;
	*)       echo "" ;;
	esac
}
bad=0 files=0
for f in "$top"/fcgi/*/*.[ch]; do
	layer=$(basename "$(dirname "$f")")
	ok=$(allowed "$layer")
	files=$((files + 1))
	if [ -z "$ok" ]; then
		echo "fcgi/$layer/: not a known layer ($f)"
		bad=$((bad + 1))
		continue
	fi
	for inc in $(sed -n 's/^#[[:space:]]*include[[:space:]]*"\([a-z]*\)\/[^"]*".*/\1/p' "$f"); do
		case " $ok " in
		*" $inc "*) ;;
		*)	echo "${f#"$top"/}: includes $inc/ ($layer/ may include: $ok)"
			bad=$((bad + 1)) ;;
		esac
	done
done
for f in "$top"/fcgi/*.[ch]; do
	[ -e "$f" ] || continue
	echo "${f#"$top"/}: outside every layer"
	bad=$((bad + 1))
done
echo "$files files, $bad include(s) across the layers"
[ "$files" -gt 0 ] && [ "$bad" -eq 0 ]
