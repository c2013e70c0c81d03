#!/usr/bin/env bash
# The mutation check of --lock queue (make check runs it after abort-storm.sh;
# it leaves the data corrupted). Builds broken-batch.sh's orderd (a batch
# grants one unit more than is left), serves it in place of the stack's pool
# with --lock queue, and runs the flash sale of tests/integration/test_queue.py
# against it: the check passes when the storm FAILS, naming violations of its
# own (sold units, stock, answers; the audit's complaints are not counted: an
# earlier mutant leaves the data corrupted). Then the stack's own orderd
# (ORDERD_BIN) serves again, as ./stack restart-pool starts it.
# Speaks TAP; skipped without a running stack of ./stack (ORDERD_URL,
# ORDERD_VAR: its pool is restarted with ./stack restart-pool).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
top=$(cd "$here/../.." && pwd -P)
if [[ -z ${ORDERD_URL:-} || -z ${ORDERD_VAR:-} ]]; then
    echo "1..0 # SKIP no running stack of ./stack (ORDERD_URL, ORDERD_VAR unset)"
    exit 0
fi
stack=${ORDERD_STACK:-$top/stack}
out=${ORDERD_TEST_OUT:-$ORDERD_VAR}
work=$ORDERD_VAR/mutant-batch
storm=flash_sale_sells_exactly_the_stock_each_order_whole
name="the flash sale catches a batch that grants one unit too many"
mkdir -p "$out/mutant-broken-batch"
echo "1..1"

diag() { sed 's/^/# /'; }
restore() { "$stack" restart-pool >&2 || echo "# could not put the stack's own orderd back"; }

echo "# building the mutant (tests/mutants/broken-batch.sh) in $work"
if ! bin=$("$here/broken-batch.sh" "$top" "$work" 2>"$out/mutant-batch-build.log"); then
    echo "not ok 1 - $name"
    tail -n 30 "$out/mutant-batch-build.log" | diag
    exit 1
fi
if ! ORDERD_BIN=$bin ORDERD_LOCK=queue "$stack" restart-pool >&2; then
    echo "not ok 1 - $name"
    echo "# the pool did not start with $bin --lock queue"
    restore
    exit 1
fi
echo "# the flash sale against $bin --lock queue (it must fail)"
rc=0
rm -f "$out"/mutant-broken-batch/flash-sale-*.json
ORDERD_LOCK=queue ORDERD_TEST_OUT=$out/mutant-broken-batch timeout -k 10 600 \
    python3 "$top/tests/integration/test_queue.py" "$storm" \
    </dev/null >"$out/mutant-broken-batch.log" 2>&1 || rc=$?
# the storm's own violations (not the audit's), from its artifact
own=$(python3 - "$out"/mutant-broken-batch/flash-sale-*.json <<'PY' 2>/dev/null
import json, sys
n = 0
for path in sys.argv[1:]:
    try:
        n += len(json.load(open(path)).get("violations") or [])
    except (OSError, ValueError):
        pass
print(n)
PY
)
if ((rc != 0)) && grep -q "^not ok 1 - $storm" "$out/mutant-broken-batch.log" &&
        [[ ${own:-0} =~ ^[0-9]+$ ]] && ((own > 0)); then
    echo "ok 1 - $name"
    echo "# caught: the flash sale failed against the broken batch with $own violation(s) of its own"
    res=0
else
    echo "not ok 1 - $name"
    echo "# NOT caught: the flash sale passed (or broke, exit $rc; ${own:-0} violations of its own)" \
        "against a batch that grants one unit too many"
    res=1
fi
grep -E '^(ok|not ok) |violation' "$out/mutant-broken-batch.log" | head -n 12 | cut -c1-300 | diag
restore
exit "$res"
