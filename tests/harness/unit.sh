#!/usr/bin/env bash
# unit.sh PROGRAM - make check's LOG_COMPILER for the C test programs
# (Makefile.am: UNIT_TESTS, FUZZ_REPLAYS), read by tap-driver.sh.
#
# A Check suite speaks TAP itself (CK_TAP_LOG_FILE_NAME=-): one test point
# per case, named tcase:test (the source path cut off). Check exits 1 when a
# case failed, which its "not ok" line already says; any other non-zero
# status (a crash, valgrind's 99) is passed on and the driver reports an
# ERROR. A fuzz replay driver prints no TAP: it is one test point, passed
# when it exits 0, its output as diagnostics.
#
# VALGRIND (./stack test: valgrind --quiet --error-exitcode=99 ...): the
# program runs under it, without Check's fork (CK_FORK=no) so that valgrind
# sees the cases themselves; an error or a definite leak fails the run.
set -uo pipefail
prog=$1
name=${prog##*/}
vg=()
if [[ -n ${VALGRIND:-} ]]; then
    read -ra vg <<<"$VALGRIND"
    export CK_FORK=no
fi

case $name in
    replay_*)
        out=$("${vg[@]}" "$prog" 2>&1)
        rc=$?
        echo "1..1"
        if ((rc == 0)); then echo "ok 1 - $name"; else echo "not ok 1 - $name (exit status $rc)"; fi
        printf '%s\n' "$out" | sed 's/^/# /'
        exit 0
        ;;
esac

export CK_TAP_LOG_FILE_NAME=-
"${vg[@]}" "$prog" | sed -E 's/^((not )?ok [0-9]+ - )[^:]*:/\1/; s/^(ok [0-9]+ - .*): Passed$/\1/'
rc=${PIPESTATUS[0]}
((rc == 1)) && rc=0
exit "$rc"
