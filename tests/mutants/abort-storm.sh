#!/usr/bin/env bash
# The mutation check (make check runs it last: it leaves the data corrupted).
# Builds broken-abort.sh's orderd, serves it in place of the stack's pool,
# and runs the abort storm against it: the check passes when the storm
# FAILS, naming violations (a storm that passes against a broken abort
# proves nothing). Then the stack's own orderd (ORDERD_BIN) serves again.
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
work=$ORDERD_VAR/mutant
storm=storm_of_orders_and_triple_aborts_keeps_stock_exact_and_aborts_once
name="the abort storm catches a broken abort"
mkdir -p "$out"
echo "1..1"

diag() { sed 's/^/# /'; }

echo "# building the mutant (tests/mutants/broken-abort.sh) in $work"
if ! bin=$("$here/broken-abort.sh" "$top" "$work" 2>"$out/mutant-build.log"); then
    echo "not ok 1 - $name"
    tail -n 30 "$out/mutant-build.log" | diag
    exit 1
fi
if ! ORDERD_BIN=$bin "$stack" restart-pool >&2; then
    echo "not ok 1 - $name"
    echo "# the pool did not start with $bin"
    exit 1
fi
echo "# the abort storm against $bin (it must fail)"
rc=0
timeout -k 10 300 python3 "$top/tests/integration/test_storm.py" "$storm" \
    </dev/null >"$out/mutant-broken-abort.log" 2>&1 || rc=$?
if ((rc != 0)) && grep -q "^not ok 1 - $storm" "$out/mutant-broken-abort.log" &&
        grep -Eq 'violation|expected' "$out/mutant-broken-abort.log"; then
    echo "ok 1 - $name"
    echo "# caught: the storm failed against the broken abort, as it must"
    res=0
else
    echo "not ok 1 - $name"
    echo "# NOT caught: the storm passed (or broke, exit $rc) against a broken abort"
    res=1
fi
grep -E '^(ok|not ok) |violation' "$out/mutant-broken-abort.log" | head -n 10 | cut -c1-300 | diag
"$stack" restart-pool >&2 || echo "# could not put the stack's own orderd back"
exit "$res"
