#!/usr/bin/env bash
# tests/cluster/mutant-flush0.sh — shows the cluster storm can fail: the
# cluster (under ORDERD_VAR, on ORDERD_PORT and the ORDERD_GALERA_* ports, as
# ./stack cluster uses them) is restarted with innodb_flush_log_at_trx_commit
# = 0, every node is SIGKILLed at once under the storm, and the storm must
# FAIL naming acknowledged writes that are gone. Then the cluster is
# restarted with the setting back at 1. Speaks TAP (one test point, run by
# make check through tests/harness/suite.sh); exit 0 when the loss was
# caught, 1 when the storm passed (or broke some other way).
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
STACK=$REPO/stack
out=$(mktemp)
trap 'rm -f "$out"' EXIT

restart() { # FLUSH
    "$STACK" cluster down >/dev/null 2>&1
    ORDERD_GALERA_FLUSH=$1 "$STACK" cluster up >/dev/null 2>&1
}

echo "1..1"
echo "# mutant-flush0: restarting the cluster with innodb_flush_log_at_trx_commit = 0"
if ! restart 0; then
    echo "not ok 1 - flush0_storm_is_caught: the cluster did not come up with flush 0"
    restart 1
    exit 1
fi
ORDERD_GALERA_FLUSH=0 "$STACK" cluster suite "$REPO/tests/cluster/test_cluster_storm.py" \
    all_nodes_killed_at_once_lose_no_acknowledged_write >"$out" 2>&1
rc=$?
grep -E '^(not )?ok |all-nodes-kill|acknowledged .* missing|balance .* expected' "$out" | head -n 8 |
    sed 's/^/# /'
echo "# mutant-flush0: putting innodb_flush_log_at_trx_commit back to 1"
restart 1 || echo "# mutant-flush0: warning: the cluster did not come back up with flush 1"
if ((rc != 0)) && grep -Eq 'acknowledged (orders|idempotency keys) missing|expected [0-9]+ by the answers' "$out"; then
    echo "ok 1 - flush0_storm_is_caught: acknowledged writes lost with flush 0, and the storm said so"
    exit 0
fi
echo "not ok 1 - flush0_storm_is_caught: the storm did not catch the loss (exit $rc)"
tail -n 20 "$out" | sed 's/^/# /'
exit 1
