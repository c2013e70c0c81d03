#!/usr/bin/env bash
# suite.sh [--lock STRATEGY] TEST - make check's LOG_COMPILER for the suites
# that run against a stack or for long (Makefile.am: STACK_TESTS), read by
# tap-driver.sh. Each suite speaks TAP and skips itself ("1..0 # SKIP")
# when the environment names no running stack (ORDERD_URL).
#
#   tests/.../NAME.py     python3 NAME.py
#   tests/.../NAME.sh     bash NAME.sh
#   tests/optimistic/NAME.opt  tests/integration/NAME.py against the pool
#                         restarted with --lock STRATEGY (then put back)
#   tests/queue/NAME.queue     the same, for --lock queue
#   tests/cluster/NAME    against the Galera cluster of ./stack cluster, with
#                         the settings in ORDERD_CLUSTER_ENV (./stack test
#                         sets them: its own var dir and ports); the cluster
#                         is brought up first if it is not (whatever of it is
#                         not running). Without ORDERD_CLUSTER_ENV: skipped.
#
# What it adds around a suite (what ./stack test did per suite before):
# - a time bound: ORDERD_TEST_TIMEOUT (900 s) for a suite, more for the
#   soak, the fuzz runs and the mutant; a suite cut short ends with
#   "Bail out!", which the driver reports as an ERROR;
# - when the stack ./stack runs under ORDERD_VAR is not whole after the
#   suite (a fault test that left MariaDB or the pool down), it is brought
#   back, so that the next suite gets a whole stack;
# - the suite runs in the source tree (the repository), with no MAKEFLAGS
#   of the make that runs it.
set -uo pipefail
lock=
if [[ ${1:-} == --lock ]]; then
    lock=$2
    shift 2
fi
(($# == 1)) || { echo "usage: $0 [--lock STRATEGY] TEST" >&2; exit 2; }
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
test=$(cd "$(dirname "$1")" && pwd -P)/$(basename "$1")
name=$(basename "$test")
stack=${ORDERD_STACK:-$top/stack}
unset MAKEFLAGS MFLAGS MAKELEVEL

limit=${ORDERD_TEST_TIMEOUT:-900}
cluster=()
case $test in
    */cluster/*)
        if [[ -z ${ORDERD_CLUSTER_ENV:-} || -z ${ORDERD_URL:-} ]]; then
            echo "1..0 # SKIP no cluster for the tests (ORDERD_CLUSTER_ENV unset; ./stack test sets it)"
            exit 0
        fi
        read -ra cluster <<<"$ORDERD_CLUSTER_ENV"
        cluster=(env "${cluster[@]}" ORDERD_SKIP_PACKAGES=1 ORDERD_SKIP_BUILD=1)
        limit=1200
        if [[ $test == *.py ]]; then
            cmd=("${cluster[@]}" "$stack" cluster suite "$test")
        else
            cmd=("${cluster[@]}" bash "$test")
        fi
        ;;
    *.opt | *.queue)
        if [[ -z ${ORDERD_URL:-} || -z ${ORDERD_VAR:-} ]]; then
            echo "1..0 # SKIP no running stack of ./stack (ORDERD_URL, ORDERD_VAR unset)"
            exit 0
        fi
        base=${name%.opt}
        cmd=(python3 "$top/tests/integration/${base%.queue}.py")
        ;;
    */soak.py)
        secs=${ORDERD_SOAK_SECONDS:-0}
        limit=$((${secs%.*} + 300))
        cmd=(python3 "$test")
        ;;
    *.py) cmd=(python3 "$test") ;;
    */browser/run.sh) limit=600 cmd=(bash "$test") ;;
    */fuzz/run.sh)
        # Each harness: its seconds, a build share and libFuzzer's last input.
        secs=${ORDERD_FUZZ_SECONDS:-0}
        n=$(sed -n 's/^FUZZ_HARNESSES *= *//p' "$top/tests/fuzz/fuzz.mk" | wc -w)
        limit=$(((n > 0 ? n : 5) * (secs + 130) + 120))
        cmd=(bash "$test")
        ;;
    */mutants/*) limit=1800 cmd=(bash "$test") ;;
    *) cmd=(bash "$test") ;;
esac

# The pool, restarted with the other locking strategy for this suite.
if [[ -n $lock ]]; then
    echo "# the pool restarted with --lock $lock" >&2
    if ! ORDERD_LOCK=$lock "$stack" restart-pool >&2; then
        echo "Bail out! could not restart the pool with --lock $lock"
        exit 1
    fi
fi
envs=(env)
[[ -z $lock ]] || envs+=("ORDERD_LOCK=$lock")

# The cluster, up (or what of it is down started again) before its suite.
if ((${#cluster[@]})) && ! "${cluster[@]}" "$stack" cluster up >&2; then
    echo "Bail out! the Galera cluster did not come up (${ORDERD_CLUSTER_ENV})"
    exit 1
fi

# In the background, so that a signal to this script (make check stopped)
# reaches the suite: timeout passes it on to the suite's process group.
cd "$top" || exit 2
"${envs[@]}" timeout -k 10 "$limit" "${cmd[@]}" </dev/null &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM INT HUP
rc=0
wait "$child" || rc=$?
while kill -0 "$child" 2>/dev/null; do
    wait "$child" || rc=$?
done
trap - TERM INT HUP
if ((rc == 124 || rc == 137)); then
    echo "Bail out! $name did not end within $limit s (ORDERD_TEST_TIMEOUT)"
fi

if [[ -n $lock ]]; then
    "$stack" restart-pool >&2 || echo "# could not put the pool back after --lock $lock"
fi

# Later suites get a whole stack even if this one broke something.
if [[ -n ${ORDERD_URL:-} && -n ${ORDERD_VAR:-} && -x $stack ]] &&
        ! "$stack" status >/dev/null 2>&1; then
    echo "# part of the stack was down after $name; starting it again"
    ORDERD_SKIP_PACKAGES=1 ORDERD_SKIP_BUILD=1 ORDERD_DEMO=0 "$stack" up >&2 ||
        echo "# could not bring the stack back"
fi
exit "$rc"
