#!/usr/bin/env bash
# run.sh [SECONDS OUTDIR] - build every libFuzzer harness and fuzz each for
# SECONDS, one after another. Without arguments (as `make check` runs it):
# SECONDS is ORDERD_FUZZ_SECONDS (./stack test: 60) and OUTDIR
# $ORDERD_TEST_OUT/fuzz (or ./fuzz); with ORDERD_FUZZ_SECONDS unset it is
# skipped.
#
# Builds with tests/fuzz/fuzz.mk into OUTDIR (build, working corpora,
# artifacts/), keeps each run's output in OUTDIR/fuzz_<name>.log, and speaks
# TAP: the plan, then per harness
#   ok K - fuzz_<name>            (# N runs, cov C)
#   not ok K - fuzz_<name>        (# reason, artifact, input, stack)
# and last the comment "# N passed, M failed". Exits 1 on any finding
# (crash, sanitizer report, leak, timeout, out-of-memory, contract violation)
# or build failure. Replay a finding with OUTDIR/fuzz_<name> <artifact>.
#
# Environment: FUZZ_HARNESSES (default: fuzz.mk's), FUZZ_CC (default clang),
# MAKE (default make).
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
if (($# == 0)); then
    if [[ -z ${ORDERD_FUZZ_SECONDS:-} || ${ORDERD_FUZZ_SECONDS:-} == 0 ]]; then
        echo '1..0 # SKIP fuzzing runs only with ORDERD_FUZZ_SECONDS (./stack test: 60)'
        exit 0
    fi
    set -- "$ORDERD_FUZZ_SECONDS" "${ORDERD_TEST_OUT:-$PWD}/fuzz"
fi
if (($# != 2)) || ! [[ $1 =~ ^[0-9]+$ ]] || (($1 < 1)); then
    echo "usage: $0 [SECONDS OUTDIR]" >&2
    exit 2
fi
secs=$1
mkdir -p "$2" || exit 2
out=$(cd "$2" && pwd -P)
harnesses=(${FUZZ_HARNESSES:-$(sed -n 's/^FUZZ_HARNESSES *= *//p' "$top/tests/fuzz/fuzz.mk")})
make=${MAKE:-make}
mk=("$make" --no-print-directory -f "$top/tests/fuzz/fuzz.mk" "FUZZ_DIR=$out"
    "FUZZ_SECONDS=$secs")
[[ -n ${FUZZ_CC:-} ]] && mk+=("FUZZ_CC=$FUZZ_CC")
# A make that runs this (make check) passes nothing on to fuzz.mk, and the
# pool's sanitizer settings (./stack test: no leak checks, reports to the
# stack's log dir) are not the fuzzers': their reports go to the logs read here.
unset MAKEFLAGS MFLAGS MAKELEVEL ASAN_OPTIONS UBSAN_OPTIONS

echo "1..${#harnesses[@]}"
passed=0 failed=0

if ! command -v "${FUZZ_CC:-clang}" >/dev/null; then
    for h in "${!harnesses[@]}"; do
        echo "not ok $((h + 1)) - fuzz_${harnesses[h]}"
        echo "# ${FUZZ_CC:-clang} not found (apt-get install clang)"
    done
    echo "# 0 passed, ${#harnesses[@]} failed"
    exit 1
fi

echo "# building the harnesses in $out"
if ! "${mk[@]}" -j"$(nproc 2>/dev/null || echo 2)" fuzz-build >"$out/build.log" 2>&1; then
    tail -n 30 "$out/build.log" | sed 's/^/# /'
    for h in "${!harnesses[@]}"; do
        echo "not ok $((h + 1)) - fuzz_${harnesses[h]}"
        echo "# build failed (see $out/build.log)"
    done
    echo "# 0 passed, ${#harnesses[@]} failed"
    exit 1
fi

k=0
for h in "${harnesses[@]}"; do
    log=$out/fuzz_$h.log rc=0 k=$((k + 1))
    echo "# fuzzing fuzz_$h for $secs s"
    # The guard: libFuzzer stops itself after SECONDS; allow for loading
    # the corpus and for a last slow input (-timeout is 10 s).
    timeout -k 10 $((secs + 120)) "${mk[@]}" "fuzz-$h" >"$log" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    cov=$(grep -Eo '(INITED|DONE|NEW|REDUCE|pulse|RELOAD) +cov: [0-9]+' "$log" | tail -n1 |
        grep -Eo '[0-9]+$')
    if ((rc == 0)) && [[ -n $runs ]]; then
        echo "ok $k - fuzz_$h"
        echo "# $runs runs, cov ${cov:-?}"
        passed=$((passed + 1))
        continue
    fi
    failed=$((failed + 1))
    # The first line that says what went wrong, and the input it kept.
    reason=$(grep -m1 -E '^fuzz contract violated|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|^SUMMARY: ' "$log" |
        sed -E 's/^==[0-9]+==//; s/^ +//; s/ +$//' | cut -c1-240)
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n1)
    if [[ -z $reason ]]; then
        if ((rc == 124 || rc == 137)); then
            reason="did not stop within $((secs + 120)) s"
        else
            reason="exit status $rc"
        fi
    fi
    echo "not ok $k - fuzz_$h"
    echo "# $reason${artifact:+ (artifact $artifact)} (log $log)"
    if [[ -n $artifact && -f $artifact ]]; then
        echo "#   input ($(wc -c <"$artifact") bytes; hex, first 256): $(head -c 256 "$artifact" | od -An -v -tx1 | tr -d ' \n')"
    fi
    # The frames of the first stack, without libFuzzer's and the sanitizers' own.
    awk '/^ +#0 /{n++} n==1' "$log" | grep -E '^ +#[0-9]+ 0x' |
        grep -vE 'fuzzer::|__sanitizer|compiler-rt|libc\.so|nptl/|stdlib/abort|signal/' |
        head -n 10 | sed -E 's/ \(BuildId: [0-9a-f]+\)//; s/^ +/#   /'
done

echo "# $passed passed, $failed failed"
((failed == 0))
