#!/usr/bin/env bash
# Builds a deliberately broken orderd whose batch (--lock queue) grants an
# order one unit more than the product has left: short_line() in
# fcgi/domain/batch.c (batch_grant()'s stock check of each line) checks
# `left + 1 < quantity` instead of `left < quantity`. The batch then sells a unit that is not there (or its
# UPDATE breaks the stock >= 0 constraint and the batch fails). The flash
# storm of tests/integration/test_queue.py must catch it.
#
# usage: tests/mutants/broken-batch.sh SRCDIR WORKDIR   -> prints the binary's path
set -euo pipefail
src=$(cd "$1" && pwd -P)
work=$2
rm -rf "$work"
mkdir -p "$work/src" "$work/build"
# The sources as they are (committed or not), without build or state output.
(cd "$src" && tar --exclude=./var --exclude=./.git --exclude=./autom4te.cache -cf - .) |
    (cd "$work/src" && tar -xf -)
batch="$work/src/fcgi/domain/batch.c"
[[ -f $batch ]] || { echo "broken-batch.sh: $batch not found" >&2; exit 1; }
before=$(md5sum <"$batch")
sed -i 's/^\t\tif (p->left < l->quantity) {$/\t\tif (p->left + 1 < l->quantity) {/' "$batch"
if [[ $(md5sum <"$batch") == "$before" ]] || grep -q '^		if (p->left < l->quantity) {$' "$batch"; then
    echo "broken-batch.sh: the stock check of short_line() was not found in batch.c;" \
        "update this script to the new code" >&2
    exit 1
fi
cd "$work/src"
[[ -x configure ]] || ./autogen.sh >/dev/null 2>&1
cd "$work/build"
"$work/src/configure" >/dev/null
make -j2 orderd >/dev/null
echo "$work/build/orderd"
