#!/usr/bin/env bash
# Builds a deliberately broken orderd whose abort does not lock the order row
# (a plain SELECT instead of SELECT ... FOR UPDATE), marks the order aborted
# without the status guard, and does not check that the UPDATE changed the
# row: the classic "decide from a plain read" bug. Two concurrent aborts of
# one order then both give the stock back. The abort storm must catch it.
#
# usage: tests/mutants/broken-abort.sh SRCDIR WORKDIR   -> prints the binary's path
set -euo pipefail
src=$(cd "$1" && pwd -P)
work=$2
rm -rf "$work"
mkdir -p "$work/src" "$work/build"
# The sources as they are (committed or not), without build or state output.
(cd "$src" && tar --exclude=./var --exclude=./.git --exclude=./autom4te.cache -cf - .) |
    (cd "$work/src" && tar -xf -)
db="$work/src/fcgi/store/db.c"
before=$(md5sum <"$db")
# ST_ORDER_LOCK: drop the lock.
sed -i '/\[ST_ORDER_LOCK\]/,/FOR UPDATE/ s/ FOR UPDATE",/",/' "$db"
# ST_ORDER_ABORT: drop the status guard.
sed -i "s/ WHERE id = ? AND status IN ('placed', 'paid')\",/ WHERE id = ?\",/" "$db"
# transition(): drop the "changed exactly one row" check.
orders="$work/src/fcgi/domain/orders.c"
obefore=$(md5sum <"$orders")
sed -i 's/^\tif (db->affected != 1) {$/\tif (0) {/' "$orders"
if [[ $(md5sum <"$orders") == "$obefore" ]]; then
    echo "broken-abort.sh: the rows-changed check was not found in orders.c" >&2
    exit 1
fi
if [[ $(md5sum <"$db") == "$before" ]] || grep -q "AND status IN ('placed', 'paid')" "$db" ||
    awk '/\[ST_ORDER_LOCK\]/{f=1} f&&/FOR UPDATE/{found=1} f&&/,$/{if(found)exit 0; f=0} END{exit !found}' "$db"; then
    echo "broken-abort.sh: the mutation did not apply; update this script to the new SQL" >&2
    exit 1
fi
cd "$work/src"
[[ -x configure ]] || ./autogen.sh >/dev/null 2>&1
cd "$work/build"
"$work/src/configure" >/dev/null
make -j2 orderd >/dev/null
echo "$work/build/orderd"
