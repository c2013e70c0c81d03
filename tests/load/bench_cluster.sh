#!/usr/bin/env bash
# tests/load/bench_cluster.sh — orderd on the Galera cluster beside the single
# node, in the same run. `./stack bench --cluster` brings up both
# on throw-away dirs and runs this; it can also run against two stacks that
# are up already.
#
# For each target, with wrk at ORDERD_BENCH_CONNS (32) connections for
# ORDERD_BENCH_SECONDS (10) a point: orders over 200 products (spread), orders
# of one product (hot), product reads (on the cluster: nginx spreads them over
# both pools). Then, on the cluster, the failover time: the node-kill storm
# (tests/cluster/test_cluster_storm.py) with its numbers. Writes
# $ORDERD_BENCH_OUT/bench-cluster.md and .csv; prints the table.
#
# Environment:
#   ORDERD_SINGLE_URL, ORDERD_SINGLE_TOKEN    the single-node stack and an admin token
#   ORDERD_CLUSTER_URL, ORDERD_CLUSTER_TOKEN  the cluster's nginx and an admin token
#   ORDERD_CLUSTER_SUITE   the command that runs a cluster suite (./stack cluster suite,
#                          with the cluster's ORDERD_VAR); empty: no failover run
#   ORDERD_BENCH_OUT, ORDERD_BENCH_SECONDS, ORDERD_BENCH_CONNS
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
msg() { printf 'bench-cluster: %s\n' "$*"; }
die() { printf 'bench-cluster: error: %s\n' "$*" >&2; exit 2; }

OUT=${ORDERD_BENCH_OUT:-$PWD/var/bench}
SECS=${ORDERD_BENCH_SECONDS:-10}
CONNS=${ORDERD_BENCH_CONNS:-32}
mkdir -p "$OUT/raw-cluster"
for v in ORDERD_SINGLE_URL ORDERD_SINGLE_TOKEN ORDERD_CLUSTER_URL ORDERD_CLUSTER_TOKEN; do
    [[ -n ${!v:-} ]] || die "$v is not set"
done
command -v wrk >/dev/null || die "wrk is not installed"

CSV=$OUT/bench-cluster.csv
echo "target,scenario,conns,rps,p50_ms,p99_ms,non2xx,errors" >"$CSV"
declare -A RPS

# wrk's summary: requests/s, p50, p99 (ms), non-2xx and socket errors.
run_point() { # TARGET SCENARIO URL SCRIPT ARGS...
    local target=$1 scen=$2 url=$3 script=$4 raw rps p50 p99 non2xx errs
    shift 4
    raw=$OUT/raw-cluster/$target-$scen.txt
    timeout -k 5 $((SECS + 60)) wrk -t2 -c"$CONNS" -d"${SECS}s" --timeout 5s --latency \
        -s "$HERE/$script" "$url" -- "$@" >"$raw" 2>&1
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$raw")
    p50=$(awk '$1 == "50%" {print $2}' "$raw" | head -n1)
    p99=$(awk '$1 == "99%" {print $2}' "$raw" | head -n1)
    non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$raw")
    errs=$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1+\2+\3+\4/p' "$raw")
    errs=$((${errs:-0}))
    ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) printf "%.2f", v / 1000; else if (v ~ /ms$/) printf "%.2f", v + 0; else if (v ~ /s$/) printf "%.2f", v * 1000; else print "-" }'; }
    p50=$(ms "${p50:-}") p99=$(ms "${p99:-}")
    RPS[$target-$scen]=${rps:-0}
    echo "$target,$scen,$CONNS,${rps:-0},$p50,$p99,${non2xx:-0},$errs" >>"$CSV"
    msg "$target $scen: ${rps:-?} req/s, p50 $p50 ms, p99 $p99 ms, non-2xx ${non2xx:-0}, socket errors $errs"
}

bench_target() { # NAME URL TOKEN
    local name=$1 url=$2 token=$3 data=$OUT/raw-cluster/$1-data tag
    mkdir -p "$data"
    tag=c$(printf '%x' "$(date +%s)" | tail -c 6)$((RANDOM % 100))
    msg "$name: preparing 200 products, a hot one, $CONNS users"
    ORDERD_URL=$url ORDERD_ADMIN_TOKEN=$token python3 "$HERE/bench_prep.py" products 200 1000 100000000 \
        "bc $tag spread" "$data/spread.txt" || die "$name: products"
    ORDERD_URL=$url ORDERD_ADMIN_TOKEN=$token python3 "$HERE/bench_prep.py" products 1 1000 100000000 \
        "bc $tag hot" "$data/hot.txt" || die "$name: hot product"
    ORDERD_URL=$url ORDERD_ADMIN_TOKEN=$token python3 "$HERE/bench_prep.py" users "$CONNS" "$tag" \
        100000 "$data/users.txt" || die "$name: users"
    run_point "$name" warmup "$url" order.lua threads=2 tokens="$data/users.txt" products="$data/spread.txt" \
        >/dev/null
    sed -i '/,warmup,/d' "$CSV"
    run_point "$name" orders-spread "$url" order.lua threads=2 tokens="$data/users.txt" products="$data/spread.txt"
    run_point "$name" orders-hot "$url" order.lua threads=2 tokens="$data/users.txt" product="$(head -n1 "$data/hot.txt")"
    run_point "$name" reads "$url" product.lua products="$data/spread.txt"
}

bench_target single "$ORDERD_SINGLE_URL" "$ORDERD_SINGLE_TOKEN"
bench_target cluster "$ORDERD_CLUSTER_URL" "$ORDERD_CLUSTER_TOKEN"

FAILOVER="-"
if [[ -n ${ORDERD_CLUSTER_SUITE:-} ]]; then
    msg "cluster: failover under the storm (node 1 SIGKILLed)"
    $ORDERD_CLUSTER_SUITE "$(cd "$HERE/../cluster" && pwd -P)/test_cluster_storm.py" \
        node_kill_storm_loses_nothing_and_node_rejoins_by_ist >"$OUT/raw-cluster/failover.txt" 2>&1
    FAILOVER=$(grep -a '^  node-kill:' "$OUT/raw-cluster/failover.txt" | sed 's/^  node-kill: //')
    grep -aE '^(PASS|FAIL) ' "$OUT/raw-cluster/failover.txt"
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
{
    echo "# orderd: Galera cluster beside one node ($(date -u +%F), $(nproc) cores, $CONNS connections, ${SECS} s a point)"
    echo
    echo "| scenario | single node req/s | cluster req/s | cluster / single |"
    echo "|---|---:|---:|---:|"
    for s in orders-spread orders-hot reads; do
        echo "| $s | ${RPS[single-$s]:-0} | ${RPS[cluster-$s]:-0} | $(ratio "${RPS[cluster-$s]:-0}" "${RPS[single-$s]:-0}") |"
    done
    echo
    echo "Failover (node 1 SIGKILLed under the storm): $FAILOVER"
} >"$OUT/bench-cluster.md"
cat "$OUT/bench-cluster.md"
msg "done (raw output in $OUT/raw-cluster)"
