#!/usr/bin/env bash
# tests/load/bench.sh — the orderd benchmark, against an already running stack.
#
# In one run: the HTTP ceiling (nginx alone), the database ceilings (sysbench
# issuing the order transaction straight to MariaDB at 4, 16 and 64 threads
# and the rest of the curve: the highest point is the ceiling), the scenarios (a)-(g) with wrk at 64
# connections under each --lock strategy (forupdate, optimistic, queue), (b)
# and (c) also at 256 connections side by side (for queue with the batch
# sizes from GET /status/), (h) reads of other products beside a product row
# locked by another MariaDB session, the knee curves of (b) and (c) over
# 1..256 connections, the flash sale (10,000 units of one product, 256
# connections ordering one unit until it is sold out), the workers' memory
# and `orderd audit`. Then (b), (c), (d) and the DB ceilings again for other pool
# sizes (the worker sweep), and a CPU profile of (a), (d) and the HTTP ceiling
# (tests/load/profile.sh). Prints a table and writes under $ORDERD_BENCH_OUT:
# bench.md, bench.csv, side.csv, flash.csv, knee.csv, dbcurve.csv, sweep.csv,
# workers.csv, knee.png,
# profile.md (and raw/ with every tool's output). Last line `bench: done`; exit
# 0 unless something failed to run (or the audit found a violation).
#
# Environment (./stack bench sets it for its private stack):
#   ORDERD_URL            nginx in front of the pool, e.g. http://127.0.0.1:18080
#   ORDERD_VAR            the stack's state dir (run/mariadb.sock, run/orderd.pid,
#                         log/nginx-access.log)
#   ORDERD_STACK          the stack script: `ORDERD_LOCK=L $ORDERD_STACK restart-pool`
#   ORDERD_ADMIN_TOKEN    an administrator's bearer token
#   ORDERD_DB_SOCKET      (default $ORDERD_VAR/run/mariadb.sock)
#   ORDERD_DB_USER/PASSWORD/NAME  (default orderd, the password in
#                         $ORDERD_VAR/etc/db-password, orderd)
#   ORDERD_WORKERS        pool size (default: the pool's live workers, else 16)
#   ORDERD_BIN            orderd binary for the audit (default $ORDERD_VAR/build/orderd)
#   ORDERD_BENCH_OUT      output dir (default $ORDERD_VAR/bench)
#   ORDERD_BENCH_SECONDS  seconds per point (default 10; 5 with QUICK)
#   ORDERD_BENCH_QUICK=1  fewer points (a smoke run, about 6 minutes)
#   ORDERD_BENCH_USERS    signed-in users (default 64)
#   ORDERD_BENCH_LOCKS    strategies to run (default "forupdate optimistic queue")
#   ORDERD_BENCH_QUEUE_WORKERS  pool size under --lock queue (default 64; the
#                         others run with ORDERD_WORKERS)
#   ORDERD_BENCH_FLASH    units of the flash sale's product (default 10000; 0: no
#                         flash sale)
#   ORDERD_BENCH_FLASH_CAP  seconds at most for a flash sale (default 120)
#   ORDERD_BENCH_SWEEP    pool sizes for the worker sweep of (b), (c), (d) with
#                         their DB ceilings (default "4 64"; none with QUICK)
#   ORDERD_BENCH_PROFILE  1: the CPU profile (tests/load/profile.sh, needs perf);
#                         default 1, 0 with QUICK
#   ORDERD_LOCK           the strategy the pool is left with (default forupdate)
#
# Tools: wrk, sysbench (1.0), gnuplot (gnuplot-nox), curl, python3.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

msg()  { printf 'bench: %s\n' "$*"; }
warn() { printf 'bench: warning: %s\n' "$*" >&2; }
die()  { printf 'bench: error: %s\n' "$*" >&2; exit 2; }

FAILED=0
fail() { printf 'bench: FAILED: %s\n' "$*" >&2; FAILED=1; }

# ---------------------------------------------------------------- settings

[[ -n ${ORDERD_URL:-} ]] || die "ORDERD_URL is not set"
[[ -n ${ORDERD_VAR:-} && -d ${ORDERD_VAR:-} ]] || die "ORDERD_VAR is not set or not a directory"
[[ -n ${ORDERD_ADMIN_TOKEN:-} ]] || die "ORDERD_ADMIN_TOKEN is not set"
[[ -n ${ORDERD_STACK:-} && -x ${ORDERD_STACK:-} ]] || die "ORDERD_STACK is not set or not executable"
for tool in wrk sysbench gnuplot curl python3; do
    command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install wrk sysbench gnuplot-nox curl python3)"
done

URL=${ORDERD_URL%/}
VAR=$ORDERD_VAR
export ORDERD_URL=$URL
export ORDERD_DB_SOCKET=${ORDERD_DB_SOCKET:-$VAR/run/mariadb.sock}
export ORDERD_DB_USER=${ORDERD_DB_USER:-orderd}
if [[ -z ${ORDERD_DB_PASSWORD:-} && -r $VAR/etc/db-password ]]; then
    ORDERD_DB_PASSWORD=$(tr -d "\n" <"$VAR/etc/db-password")
fi
export ORDERD_DB_PASSWORD=${ORDERD_DB_PASSWORD:-}
export ORDERD_DB_NAME=${ORDERD_DB_NAME:-orderd}
URL_PORT=${ORDERD_PORT:-$(sed -n 's|^[a-z]*://[^/:]*:\([0-9]*\).*|\1|p' <<<"$URL")}
URL_PORT=${URL_PORT:-80}
POOL_PID=$VAR/run/orderd.pid
ACCESS_LOG=$VAR/log/nginx-access.log
BIN=${ORDERD_BIN:-$VAR/build/orderd}
FINAL_LOCK=${ORDERD_LOCK:-forupdate}

QUICK=${ORDERD_BENCH_QUICK:-0}
[[ $QUICK == 1 ]] || QUICK=0
if ((QUICK)); then SECS=${ORDERD_BENCH_SECONDS:-3}; else SECS=${ORDERD_BENCH_SECONDS:-10}; fi
[[ $SECS =~ ^[1-9][0-9]*$ ]] || die "ORDERD_BENCH_SECONDS must be a whole number of seconds, not '$SECS'"
NUSERS=${ORDERD_BENCH_USERS:-64}
LOCKS=${ORDERD_BENCH_LOCKS:-forupdate optimistic queue}
CONNS=64
SIDE_CONNS="64 256"   # (b) and (c) side by side across the strategies
THREADS=2
# The DB ceilings: sysbench at these threads, SECS each; the highest is the
# ceiling of the ratios. The rest of the curve: CURVE_SECS a point.
CEIL_THREADS="4 16 64"
if ((QUICK)); then
    KNEE_CONNS="1 64 256"
    CURVE_THREADS="4 16 64"
else
    KNEE_CONNS="1 2 4 8 16 32 64 128 256"
    CURVE_THREADS="1 2 4 8 16 32 64"
fi
QUEUE_WORKERS=${ORDERD_BENCH_QUEUE_WORKERS:-64}
FLASH_UNITS=${ORDERD_BENCH_FLASH:-10000}
FLASH_CONNS=256
FLASH_CAP=${ORDERD_BENCH_FLASH_CAP:-120}
[[ $FLASH_UNITS =~ ^[0-9]+$ && $FLASH_CAP =~ ^[1-9][0-9]*$ && $QUEUE_WORKERS =~ ^[1-9][0-9]*$ ]] ||
    die "ORDERD_BENCH_FLASH, ORDERD_BENCH_FLASH_CAP and ORDERD_BENCH_QUEUE_WORKERS must be whole numbers"
CURVE_SECS=$(( SECS / 2 > 3 ? SECS / 2 : 3 ))
if ((QUICK)); then SWEEP=${ORDERD_BENCH_SWEEP-}; else SWEEP=${ORDERD_BENCH_SWEEP-4 64}; fi
if ((QUICK)); then PROFILE=${ORDERD_BENCH_PROFILE:-0}; else PROFILE=${ORDERD_BENCH_PROFILE:-1}; fi
LOCK_READ_CONNS=16    # (h): reads of other products ...
LOCK_ORDER_CONNS=32   # ... while this many connections order the locked one
PRODUCT_PRICE=100
BIG_STOCK=1000000000
CREDIT=1000000000000
SETTLE=1   # seconds between points (and for nginx's access log buffer, flush=1s)

pool_workers() { # the live worker pids of the pool, one a line
    local m
    [[ -s $POOL_PID ]] || return 0
    m=$(tr -dc '0-9' <"$POOL_PID")
    [[ -n $m ]] && pgrep -P "$m" 2>/dev/null || true
}
if [[ -n ${ORDERD_WORKERS:-} ]]; then
    WORKERS=$ORDERD_WORKERS
else
    WORKERS=$(pool_workers | wc -l)
    ((WORKERS > 0)) || WORKERS=16
fi

OUT=${ORDERD_BENCH_OUT:-$VAR/bench}
mkdir -p "$OUT/raw" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd -P)
rm -f "$OUT"/raw/* "$OUT"/bench.md "$OUT"/bench.csv "$OUT"/knee.* "$OUT"/dbcurve.* "$OUT"/sweep.csv "$OUT"/workers.csv "$OUT"/profile.md \
    "$OUT"/side.csv "$OUT"/flash.csv
DATA=$(mktemp -d "${TMPDIR:-/tmp}/orderd-bench.XXXXXX") || die "mktemp failed"
LOCK_HOLDER=   # (h): the pid of the mariadb client holding a row lock, while it does
cleanup() {
    # Ending the session rolls its transaction back: the row is free again.
    if [[ -n ${LOCK_HOLDER:-} ]]; then kill "$LOCK_HOLDER" 2>/dev/null; wait "$LOCK_HOLDER" 2>/dev/null; fi
    rm -rf "$DATA"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- machine

machine_line() {
    local mem cpu kern
    mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
    cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -n1)
    kern=$(uname -sr)
    printf '%s CPUs (nproc), %s RAM, %s, %s' "$(nproc)" "$mem" "$kern" "${cpu:-unknown CPU}"
}
MACHINE=$(machine_line)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
VERSIONS="wrk $(wrk -v 2>&1 | sed -n 's/^wrk \([^ ]*\).*/\1/p' | head -n1), $(sysbench --version 2>/dev/null), $(nginx -v 2>&1 | sed 's/^nginx version: //'), $(mariadbd --version 2>/dev/null | sed 's/^.*Ver \([^ ]*\).*/MariaDB \1/' || true)"
msg "machine: $MACHINE; load average at start: $LOAD_START"
msg "stack: $URL, $WORKERS workers; $SECS s a point$( ((QUICK)) && echo ' (quick)'); output in $OUT"

# ---------------------------------------------------------------- results

ROWS=()   # "scenario|lock|conns|rps|p50|p99|errors|ceiling|ratio|notes"
declare -A RPS=()

fmt1() { awk -v x="$1" 'BEGIN { if (x == "" || x == "-") print "-"; else printf "%.1f", x }'; }
fmt2() { awk -v x="$1" 'BEGIN { if (x == "" || x == "-") print "-"; else printf "%.2f", x }'; }
# p99 / p50, flagged when over the goal: "1.7", or "7.2 > 5" (p99 > 5 x p50).
tail_ratio() { awk -v a="$2" -v b="$1" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) print "-"
    else { r = a / b; f = r > 5 ? "%.1f > 5" : "%.1f"; printf f "\n", r } }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }

add_row() { # scenario lock conns rps p50 p99 errors ceiling ratio notes
    local IFS='|'
    ROWS+=("$*")
    printf 'bench: %-34s %-10s c=%-4s %9s req/s  p50 %7s ms  p99 %7s ms  errors %s%s\n' \
        "$1" "$2" "$3" "$(fmt1 "$4")" "$(fmt2 "$5")" "$(fmt2 "$6")" "$7" "${10:+  (${10})}"
}

# ---------------------------------------------------------------- runners

# The key=value pairs of the BENCH line in FILE -> variables W_requests, W_rps, ...
parse_bench() { # FILE
    local line kv
    W_requests= W_rps= W_p50_ms= W_p99_ms= W_connect=0 W_read=0 W_write=0 W_status=0 W_timeout=0
    W_exhausted=0 W_left=0 W_max_ms= W_replayed= W_other=
    line=$(grep -a '^BENCH ' "$1" | tail -n1)
    [[ -n $line ]] || return 1
    for kv in ${line#BENCH }; do
        [[ $kv =~ ^([a-z0-9_]+)=([-0-9.]+)$ ]] || continue
        printf -v "W_${BASH_REMATCH[1]}" '%s' "${BASH_REMATCH[2]}"
    done
    [[ -n $W_rps ]]
}

log_mark() { # byte size of the access log now
    if [[ -r $ACCESS_LOG ]]; then stat -c %s "$ACCESS_LOG"; else echo -1; fi
}

# Status counts of the access log lines written since MARK ("409 12345" lines),
# after nginx flushed its buffer. Empty when the log is not readable.
log_statuses() { # MARK
    local mark=$1
    ((mark >= 0)) && [[ -r $ACCESS_LOG ]] || return 0
    tail -c +"$((mark + 1))" "$ACCESS_LOG" 2>/dev/null |
        awk -F'"' 'NF >= 3 { split($3, f, " "); if (f[1] ~ /^[0-9][0-9][0-9]$/) n[f[1]]++ }
                   END { for (s in n) print s, n[s] }' | sort
}

# wrk with a script. Sets W_* (see parse_bench) and W_log (status counts).
run_wrk() { # NAME CONNS SECONDS SCRIPT PATH [SCRIPT-ARGS...]
    local name=$1 c=$2 secs=$3 script=$4 path=$5 t mark raw=$OUT/raw/$1.txt
    shift 5
    t=$(( c < THREADS ? c : THREADS ))
    mark=$(log_mark)
    timeout -k 5 $((secs + 60)) wrk -t"$t" -c"$c" -d"${secs}s" --timeout "${WRK_TIMEOUT:-5s}" --latency \
        -s "$HERE/$script" "$URL$path" -- threads="$t" "$@" >"$raw" 2>&1
    local rc=$?
    sleep "$SETTLE"
    W_log=$(log_statuses "$mark")
    if ! parse_bench "$raw"; then
        fail "wrk $name (exit $rc): no result line; see $raw"
        tail -n 5 "$raw" | sed 's/^/    /' >&2
        return 1
    fi
    return 0
}

# As log_statuses, only the lines whose request ("POST /order/ HTTP/1.1")
# matches the awk regex RE.
log_statuses_for() { # MARK RE
    local mark=$1
    ((mark >= 0)) && [[ -r $ACCESS_LOG ]] || return 0
    tail -c +"$((mark + 1))" "$ACCESS_LOG" 2>/dev/null |
        awk -F'"' -v re="$2" 'NF >= 3 && $2 ~ re { split($3, f, " "); if (f[1] ~ /^[0-9][0-9][0-9]$/) n[f[1]]++ }
                   END { for (s in n) print s, n[s] }' | sort
}

socket_errors() { echo $((W_connect + W_read + W_write + W_timeout)); }

# "503x2 500x1" from W_log for statuses >= 400 other than SKIP and 499
# (499: wrk closing its connections at the end of a run).
status_note() { # [SKIP]
    [[ -n $W_log ]] || return 0
    awk -v skip="${1:-}" '$1 >= 400 && $1 != 499 && $1 != skip { printf "%s%sx%s", sep, $1, $2; sep = " " }' <<<"$W_log"
}
log_count() { # STATUS -> count in W_log
    awk -v s="$1" '$1 == s { n = $2 } END { print n + 0 }' <<<"$W_log"
}

# sysbench with db_ceiling.lua. Sets S_tps S_p50 S_p99 S_errors.
run_sysbench() { # NAME THREADS SECONDS --products=FILE|--product=ID
    local name=$1 th=$2 secs=$3 target=$4 raw=$OUT/raw/$1.txt
    S_tps= S_p50= S_p99= S_errors=
    timeout -k 5 $((secs + 60)) sysbench --db-driver=mysql --mysql-socket="$ORDERD_DB_SOCKET" \
        --mysql-user="$ORDERD_DB_USER" --mysql-password="$ORDERD_DB_PASSWORD" \
        --mysql-db="$ORDERD_DB_NAME" --mysql-ignore-errors=1213,1205 \
        --threads="$th" --time="$secs" --percentile=99 --histogram=on --report-interval=0 \
        "$HERE/db_ceiling.lua" "$target" --users="$USER_IDS" run >"$raw" 2>&1
    local rc=$?
    sleep "$SETTLE"
    S_tps=$(sed -n 's/^ *transactions: *[0-9]* *(\([0-9.]*\) per sec.*/\1/p' "$raw" | head -n1)
    S_errors=$(sed -n 's/^ *ignored errors: *\([0-9]*\).*/\1/p' "$raw" | head -n1)
    # p50 and p99 from the histogram: "value |*** count" lines.
    read -r S_p50 S_p99 < <(awk '/^Latency histogram/ { h = 1; next }
        h && /^ *[0-9.]+ \|/ { v[++n] = $1; c[n] = $NF; tot += $NF; next }
        h && n && !/\|/ { h = 0 }
        END { for (i = 1; i <= n; i++) { cum += c[i]
                if (p50 == "" && cum >= tot * 0.50) p50 = v[i]
                if (p99 == "" && cum >= tot * 0.99) p99 = v[i] }
              print (p50 == "" ? "-" : p50), (p99 == "" ? "-" : p99) }' "$raw")
    if ((rc != 0)) || [[ -z $S_tps ]]; then
        fail "sysbench $name (exit $rc); see $raw"
        grep -E 'FATAL|error|ALERT' "$raw" | head -n 5 | sed 's/^/    /' >&2
        return 1
    fi
    return 0
}

lock_workers() { # LOCK -> the pool size it runs with
    if [[ $1 == queue ]]; then echo "$QUEUE_WORKERS"; else echo "$WORKERS"; fi
}

restart_pool() { # LOCK [WORKERS]
    local lock=$1 workers=${2:-$(lock_workers "$1")} deadline code
    msg "restarting the pool with --lock $lock, $workers workers"
    # (f) and (e) leave thousands of placed balance orders per bench user:
    # no --max-open limit and no expiry while the bench runs.
    # restart-pool also renders nginx's config (its keepalive follows the
    # workers): the port must be the stack's.
    if ! ORDERD_LOCK=$lock ORDERD_VAR=$VAR ORDERD_WORKERS=$workers ORDERD_PORT=$URL_PORT \
            ORDERD_MAX_OPEN=${ORDERD_MAX_OPEN:-1000000} ORDERD_HOLD=${ORDERD_HOLD:-86400} \
            "$ORDERD_STACK" restart-pool \
            >>"$OUT/raw/restart-pool.txt" 2>&1; then
        tail -n 10 "$OUT/raw/restart-pool.txt" | sed 's/^/    /' >&2
        return 1
    fi
    deadline=$((SECONDS + 30))
    while :; do
        code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$URL/product/?limit=1" 2>/dev/null || true)
        [[ $code == 200 ]] && return 0
        ((SECONDS < deadline)) || { warn "no 200 from $URL/product/ after the restart (last: $code)"; return 1; }
        sleep 0.3
    done
}

worker_rss() { # LOCK -> appends to WORKER_RSS and workers.csv
    local lock=$1 p rss line="" n=0 lo= hi=0
    for p in $(pool_workers); do
        rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
        [[ -n $rss ]] || continue
        printf '%s,%s,%s\n' "$lock" "$p" "$rss" >>"$OUT/workers.csv"
        n=$((n + 1))
        ((rss > hi)) && hi=$rss
        [[ -z $lo ]] || ((rss < lo)) && lo=$rss
    done
    if ((n > 0)); then
        line="$n processes, VmRSS $lo to $hi KiB"
        if ((hi <= 8192)); then line+=" (each <= 8 MiB)"; else line+=" (over 8 MiB)"; fi
    fi
    WORKER_RSS+=("$lock: ${line:-no workers found (pid file $POOL_PID)}")
    msg "worker memory after the $lock run (VmRSS): ${line:-none found}"
}
WORKER_RSS=()
printf 'lock,pid,rss_kib\n' >"$OUT/workers.csv"

# ---------------------------------------------------------------- data

T0=$SECONDS
PREP=(python3 "$HERE/bench_prep.py")
TAG=b$(printf '%x' "$(date +%s)" | tail -c 7)$((RANDOM % 100))

msg "preparing data through the API as the admin (products, then $NUSERS users: sign-in is rate limited, ~$((NUSERS * 2 / 5)) s)"
"${PREP[@]}" products 1000 "$PRODUCT_PRICE" "$BIG_STOCK" "bench $TAG spread" "$DATA/spread.txt" ||
    die "creating the spread products failed"
"${PREP[@]}" products 1000 "$PRODUCT_PRICE" "$BIG_STOCK" "bench $TAG cart" "$DATA/cart.txt" ||
    die "creating the checkout products failed"
"${PREP[@]}" products 1 "$PRODUCT_PRICE" "$BIG_STOCK" "bench $TAG hot" "$DATA/hot.txt" ||
    die "creating the hot product failed"
"${PREP[@]}" products 1 "$PRODUCT_PRICE" 0 "bench $TAG sold out" "$DATA/soldout.txt" ||
    die "creating the sold-out product failed"
"${PREP[@]}" products 1 "$PRODUCT_PRICE" "$BIG_STOCK" "bench $TAG locked" "$DATA/locked.txt" ||
    die "creating the product for the locked row failed"
HOT=$(head -n1 "$DATA/hot.txt")
SOLDOUT=$(head -n1 "$DATA/soldout.txt")
LOCKED=$(head -n1 "$DATA/locked.txt")
"${PREP[@]}" users "$NUSERS" "$TAG" "$CREDIT" "$DATA/users.txt" || die "creating the users failed"
USER_IDS=$(cut -d' ' -f1 "$DATA/users.txt" | paste -sd, -)
# (g): one order per user, each of its own product (no row shared: the gate
# sees a repeat as a write before it learns it is one), with an
# Idempotency-Key that replay.lua then repeats.
"${PREP[@]}" replaykeys "$DATA/users.txt" "$DATA/spread.txt" "$TAG-replay" "$DATA/replay.txt" ||
    die "placing the orders (g) replays failed"
msg "data ready in $((SECONDS - T0)) s: products $(head -n1 "$DATA/spread.txt")..$(tail -n1 "$DATA/spread.txt") (spread), $(head -n1 "$DATA/cart.txt")..$(tail -n1 "$DATA/cart.txt") (checkout), hot $HOT, sold out $SOLDOUT, locked row $LOCKED; $NUSERS users signed in, each with an order to replay"

TOK=(tokens="$DATA/users.txt")

# ---------------------------------------------------------------- ceilings

msg "HTTP ceiling: wrk -c$CONNS on /__ceiling"
if run_wrk http-ceiling "$CONNS" "$SECS" ceiling.lua /__ceiling; then
    HTTP_CEIL=$W_rps
    add_row "HTTP ceiling (nginx, no upstream)" - "$CONNS" "$W_rps" "$W_p50_ms" "$W_p99_ms" \
        $((W_status + $(socket_errors))) - - "GET /__ceiling"
else
    HTTP_CEIL=
fi

# The ceilings: the same order transaction straight to MariaDB at the
# concurrency best for the database, not at the pool's size: sysbench at
# each of $CEIL_THREADS threads ($SECS s each) and the curve's other points,
# the highest rate is the ceiling (b) and (c) are held against.
msg "DB ceilings: sysbench tests/load/db_ceiling.lua at $CEIL_THREADS threads ($SECS s each), then the curve; the highest point is the ceiling"
DB_SPREAD= DB_HOT= DB_SPREAD_AT= DB_HOT_AT=
declare -A CURVE_SPREAD=() CURVE_HOT=()
for th in $CEIL_THREADS; do
    if run_sysbench db-spread-t$th "$th" "$SECS" --products="$DATA/spread.txt"; then
        CURVE_SPREAD[$th]=$S_tps
        add_row "DB ceiling spread (sysbench)" - "$th" "$S_tps" "$S_p50" "$S_p99" "$S_errors" - - \
            "order txn over 1,000 products, $th threads"
    fi
    if run_sysbench db-hot-t$th "$th" "$SECS" --product="$HOT"; then
        CURVE_HOT[$th]=$S_tps
        add_row "DB ceiling hot (sysbench)" - "$th" "$S_tps" "$S_p50" "$S_p99" "$S_errors" - - \
            "order txn on 1 product, $th threads"
    fi
done
msg "DB ceiling curve over sysbench threads: $CURVE_THREADS ($CURVE_SECS s a point)"
for th in $CURVE_THREADS; do
    [[ -n ${CURVE_SPREAD[$th]:-} ]] ||
        { run_sysbench db-spread-t$th "$th" "$CURVE_SECS" --products="$DATA/spread.txt" && CURVE_SPREAD[$th]=$S_tps; }
    [[ -n ${CURVE_HOT[$th]:-} ]] ||
        { run_sysbench db-hot-t$th "$th" "$CURVE_SECS" --product="$HOT" && CURVE_HOT[$th]=$S_tps; }
    msg "  sysbench $th threads: spread ${CURVE_SPREAD[$th]:--} tx/s, hot ${CURVE_HOT[$th]:--} tx/s"
done
# The ceiling: the highest of every point measured here (4, 16, 64 threads,
# and the curve's other thread counts in a full run: on a loaded machine the
# best point is not always one of the three).
for th in $(printf '%s\n' $CEIL_THREADS $CURVE_THREADS | sort -n | uniq); do
    if [[ -n ${CURVE_SPREAD[$th]:-} ]] && awk -v a="${CURVE_SPREAD[$th]}" -v b="${DB_SPREAD:-0}" 'BEGIN { exit !(a > b) }'; then
        DB_SPREAD=${CURVE_SPREAD[$th]} DB_SPREAD_AT=$th
    fi
    if [[ -n ${CURVE_HOT[$th]:-} ]] && awk -v a="${CURVE_HOT[$th]}" -v b="${DB_HOT:-0}" 'BEGIN { exit !(a > b) }'; then
        DB_HOT=${CURVE_HOT[$th]} DB_HOT_AT=$th
    fi
done
msg "DB ceilings: spread $(fmt1 "$DB_SPREAD") tx/s (at $DB_SPREAD_AT threads), hot $(fmt1 "$DB_HOT") tx/s (at $DB_HOT_AT threads)"
CEIL_SPREAD_LABEL="DB spread ($DB_SPREAD_AT thr)"
CEIL_HOT_LABEL="DB hot ($DB_HOT_AT thr)"

# ---------------------------------------------------------------- scenarios

declare -A KNEE=()   # "b|forupdate|64" -> rps
printf 'scenario,lock,connections,requests_per_s,p50_ms,p99_ms,errors\n' >"$OUT/knee.csv"
knee_point() { # b|c LOCK CONNS
    local s=$1 lock=$2 c=$3 target
    if [[ $s == b ]]; then target=(products="$DATA/spread.txt"); else target=(product="$HOT"); fi
    run_wrk "knee-$s-$lock-c$c" "$c" "$SECS" order.lua /order/ "${TOK[@]}" "${target[@]}" || return 1
    KNEE[$s|$lock|$c]=$W_rps
    printf '%s,%s,%s,%s,%s,%s,%s\n' "$s" "$lock" "$c" "$W_rps" "$W_p50_ms" "$W_p99_ms" \
        $((W_status + $(socket_errors))) >>"$OUT/knee.csv"
    msg "  knee ($s) $lock c=$c: $(fmt1 "$W_rps") req/s, p50 $(fmt2 "$W_p50_ms") ms, p99 $(fmt2 "$W_p99_ms") ms"
}

# The batches --lock queue made during a run: GET /status/ before and after
# (bench_prep.py status / queuediff). qstat_before; run; qstat_after NAME sets
# Q_SUM ("batches=N orders=N mean=X largest=N") and Q_HIST ("1: N, 2-3: N,
# ..."), empty under the other strategies.
qstat_before() { "${PREP[@]}" status "$DATA/status-before.json" 2>>"$OUT/raw/status.txt"; }
qstat_after() { # NAME
    local out
    Q_SUM= Q_HIST=
    "${PREP[@]}" status "$DATA/status-after.json" 2>>"$OUT/raw/status.txt"
    cp -f "$DATA/status-before.json" "$OUT/raw/status-$1-before.json" 2>/dev/null
    cp -f "$DATA/status-after.json" "$OUT/raw/status-$1-after.json" 2>/dev/null
    out=$("${PREP[@]}" queuediff "$DATA/status-before.json" "$DATA/status-after.json" 2>>"$OUT/raw/status.txt") || return 0
    Q_SUM=$(sed -n 1p <<<"$out")
    Q_HIST=$(sed -n 2p <<<"$out")
    [[ $Q_SUM == batches=-* ]] && Q_SUM= Q_HIST=
    sleep "$SETTLE"   # nginx logs this GET before the next run's mark
    return 0
}
q_field() { # KEY "k=v k=v" -> v
    local kv
    for kv in $2; do [[ $kv == "$1="* ]] && { echo "${kv#*=}"; return; }; done
    echo -
}

# (b) or (c) at CONNS connections, one row of the side by side table.
declare -A SIDE=() QHIST=()   # "b|queue|64" -> "rps|p50|p99|errors|ratio"; -> "sum|hist"
printf 'scenario,lock,workers,connections,requests_per_s,p50_ms,p99_ms,p99_p50,errors,ceiling_rps,ratio,batches,orders,mean_batch\n' >"$OUT/side.csv"
side_point() { # b|c LOCK CONNS
    local s=$1 lock=$2 c=$3 target name label ceil clabel e ra note
    if [[ $s == b ]]; then
        target=(products="$DATA/spread.txt") label="(b) POST /order/ spread" ceil=$DB_SPREAD clabel=$CEIL_SPREAD_LABEL
    else
        target=(product="$HOT") label="(c) POST /order/ hot" ceil=$DB_HOT clabel=$CEIL_HOT_LABEL
    fi
    name=$s-$lock; ((c == CONNS)) || name=$s-$lock-c$c
    Q_SUM= Q_HIST=
    [[ $lock == queue ]] && { qstat_before; sleep "$SETTLE"; }
    run_wrk "$name" "$c" "$SECS" order.lua /order/ "${TOK[@]}" "${target[@]}" || return 1
    [[ $lock == queue ]] && qstat_after "$name"
    e=$((W_status + $(socket_errors)))
    ra=$(ratio "$W_rps" "$ceil")
    KNEE[$s|$lock|$c]=$W_rps
    ((c == CONNS)) && [[ $s == b ]] && RPS[b|$lock]=$W_rps
    SIDE[$s|$lock|$c]="$W_rps|$W_p50_ms|$W_p99_ms|$e|$ra"
    QHIST[$s|$lock|$c]="$Q_SUM|$Q_HIST"
    printf '%s,%s,%s,%s,%s,%s,%s\n' "$s" "$lock" "$c" "$W_rps" "$W_p50_ms" "$W_p99_ms" "$e" >>"$OUT/knee.csv"
    printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$s" "$lock" "$(lock_workers "$lock")" "$c" "$W_rps" \
        "$W_p50_ms" "$W_p99_ms" "$(tail_ratio "$W_p50_ms" "$W_p99_ms")" "$e" "$ceil" "$ra" \
        "$(q_field batches "$Q_SUM")" "$(q_field orders "$Q_SUM")" "$(q_field mean "$Q_SUM")" >>"$OUT/side.csv"
    note=$(status_note)
    [[ -n $Q_SUM ]] && note+="${note:+; }$Q_SUM"
    add_row "$label" "$lock" "$c" "$W_rps" "$W_p50_ms" "$W_p99_ms" "$e" "$clabel" "$ra" "$note"
    [[ -n $Q_HIST ]] && msg "  batch sizes: $Q_HIST"
    return 0
}

# Placed balance orders for (f): one-line checkouts by the bench users, made
# with wrk; sized from a short calibration pay run so that (f) has one fresh
# order per request for its whole run (else it runs shorter and says so).
PAY_SECS=$SECS PAY_NOTE=
make_pay_orders() { # LOCK
    local lock=$1 marker n r_create r_pay need t2 paid
    PAY_SECS=$SECS PAY_NOTE=
    marker=$("${PREP[@]}" newest) || return 1
    run_wrk "payprep1-$lock" "$CONNS" "$SECS" checkout.lua /checkout/ "${TOK[@]}" \
        products="$DATA/cart.txt" lines=1 pay=balance || return 1
    r_create=$W_rps
    n=$("${PREP[@]}" placed "$DATA/users.txt" "$marker" "$DATA/pay.txt") || return 1
    # Calibration: 2 s of paying (also the warm-up of the pay path).
    run_wrk "paycal-$lock" "$CONNS" 2 pay.lua / "${TOK[@]}" orders="$DATA/pay.txt" || return 1
    r_pay=$W_rps
    paid=$W_requests
    ((W_exhausted > 0)) && r_pay=$(awk -v a="$r_pay" 'BEGIN { printf "%.1f", a * 2 }')
    need=$(awk -v r="$r_pay" -v s="$SECS" 'BEGIN { printf "%d", r * s * 1.2 + 64 }')
    if ((n - paid < need)); then
        t2=$(awk -v need="$need" -v have="$((n - paid))" -v r="$r_create" -v s="$SECS" \
            'BEGIN { t = (need - have) / (r > 0 ? r : 1) * 1.1 + 1; if (t > 3 * s) t = 3 * s; printf "%d", t + 0.999 }')
        msg "  (f) needs about $need placed orders at $(fmt1 "$r_pay") pays/s; making more for $t2 s"
        run_wrk "payprep2-$lock" "$CONNS" "$t2" checkout.lua /checkout/ "${TOK[@]}" \
            products="$DATA/cart.txt" lines=1 pay=balance || return 1
    fi
    n=$("${PREP[@]}" placed "$DATA/users.txt" "$marker" "$DATA/pay.txt") || return 1
    if ((n < need)); then
        PAY_SECS=$(awk -v n="$n" -v r="$r_pay" 'BEGIN { t = int(n / (r * 1.2)); print (t < 1 ? 1 : t) }')
        PAY_NOTE="ran ${PAY_SECS} s: $n placed orders made for it"
    fi
    msg "  (f) has $n placed balance orders to pay (calibration: $(fmt1 "$r_pay") pays/s)"
}

# wrk in the background for (h): NAME CONNS SECONDS TIMEOUT SCRIPT PATH [ARGS...]
wrk_bg() {
    local name=$1 c=$2 secs=$3 to=$4 script=$5 path=$6 t
    shift 6
    t=$(( c < THREADS ? c : THREADS ))
    timeout -k 5 $((secs + 60)) wrk -t"$t" -c"$c" -d"${secs}s" --timeout "$to" --latency \
        -s "$HERE/$script" "$URL$path" -- threads="$t" "$@" >"$OUT/raw/$name.txt" 2>&1 &
}

# (h) One locked row: reads of other products ($LOCK_READ_CONNS connections)
# alone, then again while another MariaDB session holds the row of $LOCKED
# with SELECT ... FOR UPDATE in an open transaction and $LOCK_ORDER_CONNS
# connections order that product. Three rows: the reads without, the reads
# with the lock (p99 against the goal: at most 2 x the unlocked p99 + 5 ms),
# and what the orders on the locked row got (503s expected).
locked_row() { # LOCK
    local lock=$1 mark line p99_free="" note s wfd read_to=5s order_to=20s hs
    # At least 8 s: an order that waits out the lock (3 s, retried once)
    # must be answered inside wrk's run to be counted.
    hs=$(( SECS > 8 ? SECS : 8 ))
    msg "[$lock] (h) reads of other products, $LOCK_READ_CONNS connections, no lock"
    if run_wrk "h-reads-free-$lock" "$LOCK_READ_CONNS" "$hs" product.lua / products="$DATA/spread.txt"; then
        p99_free=$W_p99_ms
        add_row "(h) reads, no row locked" "$lock" "$LOCK_READ_CONNS" "$W_rps" "$W_p50_ms" "$W_p99_ms" \
            $((W_status + $(socket_errors))) - - "GET /product/{id}/ of other products$(s=$(status_note); [[ -n $s ]] && echo "; $s")"
    fi

    msg "[$lock] (h) locking product $LOCKED in another MariaDB session (SELECT ... FOR UPDATE)"
    coproc LOCKER { MYSQL_PWD=$ORDERD_DB_PASSWORD exec mariadb --unbuffered -N -B \
        --socket="$ORDERD_DB_SOCKET" -u "$ORDERD_DB_USER" "$ORDERD_DB_NAME" 2>"$OUT/raw/h-locker-$lock.err"; }
    LOCK_HOLDER=$LOCKER_PID
    printf 'BEGIN;\nSELECT id FROM products WHERE id = %s FOR UPDATE;\nSELECT "row-locked";\n' "$LOCKED" >&"${LOCKER[1]}"
    line=
    while read -r -t 10 line <&"${LOCKER[0]}"; do [[ $line == row-locked ]] && break; done
    if [[ $line != row-locked ]]; then
        fail "(h): the mariadb session could not lock product $LOCKED; see $OUT/raw/h-locker-$lock.err"
        kill "$LOCK_HOLDER" 2>/dev/null; wait "$LOCK_HOLDER" 2>/dev/null; LOCK_HOLDER=
        return 1
    fi

    msg "[$lock] (h) the same reads while $LOCK_ORDER_CONNS connections order the locked product ($hs s)"
    mark=$(log_mark)
    wrk_bg "h-orders-$lock" "$LOCK_ORDER_CONNS" "$hs" "$order_to" order.lua /order/ "${TOK[@]}" product="$LOCKED"
    local orders_pid=$!
    sleep 0.5   # the order connections fill the row's waiters first
    wrk_bg "h-reads-locked-$lock" "$LOCK_READ_CONNS" "$hs" "$read_to" product.lua / products="$DATA/spread.txt"
    local reads_pid=$!
    wait "$reads_pid"
    wait "$orders_pid"

    # Release the lock, then the reads' and orders' statuses.
    wfd=${LOCKER[1]}
    printf 'ROLLBACK;\n' >&"$wfd"
    exec {wfd}>&-
    wait "$LOCK_HOLDER" 2>/dev/null
    LOCK_HOLDER=
    sleep "$SETTLE"

    if parse_bench "$OUT/raw/h-reads-locked-$lock.txt"; then
        W_log=$(log_statuses_for "$mark" '^GET /product/')
        note="beside a locked row; p99 $(ratio "$W_p99_ms" "$p99_free") x no lock's"
        if [[ -n $p99_free ]]; then
            if awk -v a="$W_p99_ms" -v b="$p99_free" 'BEGIN { exit !(a <= 2 * b + 5) }'; then
                note+=" (goal <= 2 x + 5 ms: met)"
            else
                note+=" (goal <= 2 x + 5 ms: NOT met)"
            fi
        fi
        s=$(status_note); [[ -n $s ]] && note+="; $s"
        add_row "(h) reads, one row locked" "$lock" "$LOCK_READ_CONNS" "$W_rps" "$W_p50_ms" "$W_p99_ms" \
            $((W_status + $(socket_errors))) - - "$note"
    else
        fail "(h) reads with the row locked: no result line; see $OUT/raw/h-reads-locked-$lock.txt"
    fi
    if parse_bench "$OUT/raw/h-orders-$lock.txt"; then
        W_log=$(log_statuses_for "$mark" '^POST /order/')
        # Expected: 503 (refused or the lock wait ran out); any other answer
        # but 499 (wrk closing at the end) is an error.
        local other
        other=$(awk '$1 != 503 && $1 != 499 { n += $2 } END { print n + 0 }' <<<"$W_log")
        note="statuses: $(awk '$1 != 499 { printf "%s%sx%s", s, $1, $2; s = " " }' <<<"$W_log"); slowest answer $(fmt2 "$W_max_ms") ms"
        ((W_timeout > 0)) && note+="; $W_timeout unanswered in $order_to"
        add_row "(h) POST /order/ on the locked row" "$lock" "$LOCK_ORDER_CONNS" "$W_rps" "$W_p50_ms" "$W_p99_ms" \
            $((other + $(socket_errors))) - - "$note"
    else
        fail "(h) orders on the locked row: no result line; see $OUT/raw/h-orders-$lock.txt"
    fi
    return 0
}

db_query() { # SQL -> the first column of the first row (empty on error)
    MYSQL_PWD=$ORDERD_DB_PASSWORD mariadb -N -B --socket="$ORDERD_DB_SOCKET" -u "$ORDERD_DB_USER" \
        "$ORDERD_DB_NAME" -e "$1" 2>>"$OUT/raw/db-query.err" | head -n1
}

# The flash sale: a new product with exactly $FLASH_UNITS units, then
# $FLASH_CONNS connections order one unit each, again and again, until it is
# sold out (tests/load/flash.lua: a wrk thread stops at its first 409 "out of
# stock, available 0"; this script polls the product's stock and stops wrk
# 1.5 s after it reads 0, or wrk stops at the cap). Then the database: the
# product's stock must be 0 and its order lines must sum to exactly
# $FLASH_UNITS, and `orderd audit` must be clean.
FLASH_ROWS=()   # "lock|workers|sellout_s|orders_s|sold_seen|after|before|r409_other|other|stock|lines|orders|audit|p50|p99|statuses|overlap_ms|qsum|qhist"
printf 'lock,workers,connections,units,sellout_s,orders_per_s,answered_201,r409_after_last_sale,r409_before_last_sale,overlap_ms,r409_other,other_statuses,db_stock,db_units_sold,db_orders,audit,p50_ms,p99_ms,batches,mean_batch\n' >"$OUT/flash.csv"
flash_sale() { # LOCK
    local lock=$1 id raw pid stock deadline sellout ops lines norders audit st statuses
    raw=$OUT/raw/flash-$lock.txt
    "${PREP[@]}" products 1 "$PRODUCT_PRICE" "$FLASH_UNITS" "bench $TAG flash $lock" "$DATA/flash-$lock.txt" ||
        { fail "creating the flash sale product ($lock)"; return 1; }
    id=$(head -n1 "$DATA/flash-$lock.txt")
    msg "[$lock] flash sale: product $id, $FLASH_UNITS units, $FLASH_CONNS connections (cap $FLASH_CAP s)"
    Q_SUM= Q_HIST=
    [[ $lock == queue ]] && { qstat_before; sleep "$SETTLE"; }
    local mark
    mark=$(log_mark)
    wrk -t"$THREADS" -c"$FLASH_CONNS" -d"${FLASH_CAP}s" --timeout 10s --latency -s "$HERE/flash.lua" \
        "$URL/order/" -- threads="$THREADS" "${TOK[@]}" product="$id" >"$raw" 2>&1 &
    pid=$!
    deadline=$((SECONDS + FLASH_CAP + 30))
    while kill -0 "$pid" 2>/dev/null; do
        stock=$(db_query "SELECT stock FROM products WHERE id = $id")
        if [[ $stock == 0 ]]; then
            sleep 1.5
            kill -INT "$pid" 2>/dev/null
            break
        fi
        if ((SECONDS > deadline)); then
            warn "flash sale ($lock): wrk still running after $((FLASH_CAP + 30)) s; ending it"
            kill -INT "$pid" 2>/dev/null
            break
        fi
        sleep 0.25
    done
    # wrk answers SIGINT with its report; if it hangs, end it.
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && { warn "flash sale ($lock): wrk did not stop; killing it"; kill -KILL "$pid" 2>/dev/null; }
    wait "$pid" 2>/dev/null
    sleep "$SETTLE"
    [[ $lock == queue ]] && qstat_after "flash-$lock"
    W_log=$(log_statuses_for "$mark" '^POST /order/')
    statuses=$(awk '{ printf "%s%sx%s", s, $1, $2; s = " " }' <<<"$W_log")
    if ! parse_bench "$raw"; then
        fail "flash sale ($lock): no result line from wrk; see $raw"
        tail -n 5 "$raw" | sed 's/^/    /' >&2
        return 1
    fi
    stock=$(db_query "SELECT stock FROM products WHERE id = $id")
    lines=$(db_query "SELECT COALESCE(SUM(quantity), 0) FROM order_lines WHERE product_id = $id")
    norders=$(db_query "SELECT COUNT(DISTINCT order_id) FROM order_lines WHERE product_id = $id")
    if [[ -x $BIN ]]; then
        "$BIN" audit >"$OUT/raw/audit-flash-$lock.txt" 2>&1
        case $? in 0) audit=clean ;; 1) audit=VIOLATIONS ;; *) audit="could not run" ;; esac
    else
        audit="not run"
    fi
    sellout=- ops=-
    if [[ $stock == 0 ]] && awk -v x="${W_sellout_ms:--1}" 'BEGIN { exit !(x > 0) }'; then
        sellout=$(awk -v x="$W_sellout_ms" 'BEGIN { printf "%.2f", x / 1000 }')
        ops=$(awk -v n="$lines" -v x="$W_sellout_ms" 'BEGIN { printf "%.1f", n / (x / 1000) }')
    fi
    st=ok
    [[ $stock == 0 && $lines == "$FLASH_UNITS" ]] || { st=WRONG; fail "flash sale ($lock): stock $stock, $lines units sold, not 0 and $FLASH_UNITS"; }
    [[ $audit == clean ]] || fail "flash sale ($lock): orderd audit: $audit (see raw/audit-flash-$lock.txt)"
    FLASH_ROWS+=("$lock|$(lock_workers "$lock")|$sellout|$ops|${W_sold:--}|${W_r409_after:--}|${W_r409_before:--}|${W_r409_other:--}|${W_other:--}|$stock|$lines|$norders|$audit|$W_p50_ms|$W_p99_ms|$statuses|${W_overlap_ms:--}|$Q_SUM|$Q_HIST")
    printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$lock" "$(lock_workers "$lock")" \
        "$FLASH_CONNS" "$FLASH_UNITS" "$sellout" "$ops" "${W_sold:-}" "${W_r409_after:-}" "${W_r409_before:-}" "${W_overlap_ms:-}" \
        "${W_r409_other:-}" "${W_other:-}" "$stock" "$lines" "$norders" "$audit" "$W_p50_ms" "$W_p99_ms" \
        "$(q_field batches "$Q_SUM")" "$(q_field mean "$Q_SUM")" >>"$OUT/flash.csv"
    msg "[$lock] flash sale: sold out in ${sellout} s = ${ops} orders/s; 201s seen ${W_sold:-?}, 409s after the last sale ${W_r409_after:-?}, before it ${W_r409_before:-?} (the first ${W_overlap_ms:-?} ms before it); DB stock $stock, $lines units in $norders orders ($st); audit $audit; statuses: $statuses"
    [[ -n $Q_HIST ]] && { msg "  batch sizes: $Q_SUM; $Q_HIST"; FLASH_QHIST="$Q_SUM|$Q_HIST"; }
    return 0
}

for lock in $LOCKS; do
    if ! restart_pool "$lock"; then
        fail "restarting the pool with --lock $lock"
        continue
    fi
    msg "[$lock] warm-up: 2 s of (b)"
    run_wrk "warmup-$lock" "$CONNS" 2 order.lua /order/ "${TOK[@]}" products="$DATA/spread.txt" >/dev/null

    msg "[$lock] (a) GET /product/{id}/"
    if run_wrk "a-$lock" "$CONNS" "$SECS" product.lua / products="$DATA/spread.txt"; then
        add_row "(a) GET /product/{id}/" "$lock" "$CONNS" "$W_rps" "$W_p50_ms" "$W_p99_ms" \
            $((W_status + $(socket_errors))) HTTP "$(ratio "$W_rps" "$HTTP_CEIL")" "$(status_note)"
    fi

    for c in $SIDE_CONNS; do
        msg "[$lock] (b) POST /order/ over 1,000 products, $c connections"
        side_point b "$lock" "$c"
        msg "[$lock] (c) POST /order/ on one hot product, $c connections"
        side_point c "$lock" "$c"
    done

    msg "[$lock] (d) POST /order/ on a sold-out product (409 expected)"
    if run_wrk "d-$lock" "$CONNS" "$SECS" order.lua /order/ "${TOK[@]}" product="$SOLDOUT"; then
        if [[ -n $W_log ]]; then
            # Every answer should be 409: anything else (but 499) is an error.
            n409=$(log_count 409)
            other=$(awk '$1 != 409 && $1 != 499 { n += $2 } END { print n + 0 }' <<<"$W_log")
            errs=$((other + $(socket_errors)))
            ((other == 0 && W_status <= n409)) && n409=$W_status   # (nginx also logs a few in flight at the end)
            note="409x$n409 expected"
            ((other == 0)) || note+="; other: $(awk '$1 != 409 && $1 != 499 { printf "%s%sx%s", s, $1, $2; s = " " }' <<<"$W_log")"
        else
            errs=$(socket_errors)
            note="all $W_status non-2xx counted as the expected 409 (access log unreadable)"
        fi
        note+="; $(ratio "$W_rps" "${RPS[b|$lock]:-}") x (b)"
        add_row "(d) POST /order/ sold out" "$lock" "$CONNS" "$W_rps" "$W_p50_ms" "$W_p99_ms" \
            "$errs" HTTP "$(ratio "$W_rps" "$HTTP_CEIL")" "$note"
    fi

    msg "[$lock] (g) POST /order/ repeating a used Idempotency-Key (201 Idempotent-Replayed expected)"
    if run_wrk "g-$lock" "$CONNS" "$SECS" replay.lua /order/ tokens="$DATA/replay.txt"; then
        # Every answer must be the stored 201, marked as a replay.
        errs=$((${W_other:-0} + $(socket_errors)))
        note="replayed x${W_replayed:-?}"
        [[ ${W_other:-0} == 0 ]] || note+="; other answers: ${W_other}$(s=$(status_note); [[ -n $s ]] && echo " ($s)")"
        add_row "(g) POST /order/ Idempotent-Replayed" "$lock" "$CONNS" "$W_rps" "$W_p50_ms" "$W_p99_ms" \
            "$errs" HTTP "$(ratio "$W_rps" "$HTTP_CEIL")" "$note"
    fi

    msg "[$lock] (e) POST /checkout/ with 3 lines"
    if run_wrk "e-$lock" "$CONNS" "$SECS" checkout.lua /checkout/ "${TOK[@]}" \
            products="$DATA/cart.txt" lines=3 pay=balance; then
        add_row "(e) POST /checkout/ 3 lines" "$lock" "$CONNS" "$W_rps" "$W_p50_ms" "$W_p99_ms" \
            $((W_status + $(socket_errors))) n/a - "$(status_note)"
    fi

    msg "[$lock] (f) POST /order/{id}/pay/: making placed orders first"
    if make_pay_orders "$lock"; then
        if run_wrk "f-$lock" "$CONNS" "$PAY_SECS" pay.lua / "${TOK[@]}" orders="$DATA/pay.txt"; then
            note=$(status_note)
            ((W_exhausted > 0)) && note+="${note:+; }ran out of orders: rate is a lower bound"
            [[ -n $PAY_NOTE ]] && note+="${note:+; }$PAY_NOTE"
            add_row "(f) POST /order/{id}/pay/" "$lock" "$CONNS" "$W_rps" "$W_p50_ms" "$W_p99_ms" \
                $((W_status + $(socket_errors))) n/a - "$note"
        fi
    else
        fail "making the orders for (f) under --lock $lock"
    fi

    locked_row "$lock"

    msg "[$lock] knee of (b) and (c) over connections: $KNEE_CONNS"
    for c in $KNEE_CONNS; do
        [[ -n ${KNEE[b|$lock|$c]:-} ]] || knee_point b "$lock" "$c"
        [[ -n ${KNEE[c|$lock|$c]:-} ]] || knee_point c "$lock" "$c"
    done

    worker_rss "$lock"

    ((FLASH_UNITS > 0)) && flash_sale "$lock"
done

# ---------------------------------------------------------------- worker sweep

# The pool size as a lever: (b), (c) and (d) under the final lock strategy,
# each beside the DB ceilings measured with as many sysbench threads.
SWEEP_ROWS=()   # "workers|db_spread|db_hot|b|b_p50|b_p99|c|c_p50|c_p99|d"
highest() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || a == "-") print b; else if (b == "" || b == "-" || a + 0 > b + 0) print a; else print b }'; }
printf 'workers,db_spread_tps,db_hot_tps,b_rps,b_p99_ms,c_rps,c_p99_ms,d_rps,b_ratio,c_ratio,d_ratio\n' >"$OUT/sweep.csv"
for w in $SWEEP; do
    restart_pool "$FINAL_LOCK" "$w" || { fail "restarting the pool with $w workers"; continue; }
    run_wrk "sweep-warmup-w$w" "$CONNS" 2 order.lua /order/ "${TOK[@]}" products="$DATA/spread.txt" >/dev/null
    ds= dh= b= bp5= bp9= c= cp5= cp9= d=
    run_sysbench "sweep-db-spread-w$w" "$w" "$SECS" --products="$DATA/spread.txt" && ds=$S_tps
    run_sysbench "sweep-db-hot-w$w" "$w" "$SECS" --product="$HOT" && dh=$S_tps
    run_wrk "sweep-b-w$w" "$CONNS" "$SECS" order.lua /order/ "${TOK[@]}" products="$DATA/spread.txt" &&
        b=$W_rps bp5=$W_p50_ms bp9=$W_p99_ms
    run_wrk "sweep-c-w$w" "$CONNS" "$SECS" order.lua /order/ "${TOK[@]}" product="$HOT" &&
        c=$W_rps cp5=$W_p50_ms cp9=$W_p99_ms
    run_wrk "sweep-d-w$w" "$CONNS" "$SECS" order.lua /order/ "${TOK[@]}" product="$SOLDOUT" && d=$W_rps
    SWEEP_ROWS+=("$w|$ds|$dh|$b|$bp5|$bp9|$c|$cp5|$cp9|$d")
    printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$w" "$ds" "$dh" "$b" "$bp9" "$c" "$cp9" "$d" \
        "$(ratio "$b" "$(highest "$ds" "$DB_SPREAD")")" "$(ratio "$c" "$(highest "$dh" "$DB_HOT")")" "$(ratio "$d" "$b")" >>"$OUT/sweep.csv"
    msg "  $w workers: DB spread $(fmt1 "$ds"), hot $(fmt1 "$dh") at $w threads; (b) $(fmt1 "$b") = $(ratio "$b" "$(highest "$ds" "$DB_SPREAD")") x the highest, p99 $(fmt2 "$bp9") ms; (c) $(fmt1 "$c") = $(ratio "$c" "$(highest "$dh" "$DB_HOT")") x, p99 $(fmt2 "$cp9") ms; (d) $(fmt1 "$d") = $(ratio "$d" "$b") x (b)"
done

# Leave the pool as the caller runs it.
if [[ -n $SWEEP || $lock != "$FINAL_LOCK" ]]; then
    restart_pool "$FINAL_LOCK" || fail "restarting the pool with --lock $FINAL_LOCK at the end"
fi

# ---------------------------------------------------------------- profile

# Where the CPU goes per request in (a), (d) and the HTTP ceiling (the pool
# as the caller runs it).
PROFILE_NOTE=
if ((PROFILE)); then
    msg "CPU profile: tests/load/profile.sh"
    if ORDERD_URL=$URL ORDERD_VAR=$VAR "$HERE/profile.sh" "$OUT" "$DATA/spread.txt" "$DATA/users.txt" "$SOLDOUT"; then
        PROFILE_NOTE="profile.md"
    else
        fail "the CPU profile (tests/load/profile.sh)"
    fi
fi

# ---------------------------------------------------------------- audit

msg "orderd audit"
AUDIT="not run"
if [[ -x $BIN ]]; then
    "$BIN" audit >"$OUT/raw/audit.txt" 2>&1
    arc=$?
    case $arc in
        0) AUDIT="clean" ;;
        1) AUDIT="VIOLATIONS (see raw/audit.txt)"; fail "orderd audit found violations" ;;
        *) AUDIT="could not run (exit $arc)"; fail "orderd audit could not run" ;;
    esac
    head -n 20 "$OUT/raw/audit.txt" | sed 's/^/bench:   /'
else
    AUDIT="not run: no orderd binary at $BIN (set ORDERD_BIN)"
    fail "$AUDIT"
fi

# ---------------------------------------------------------------- output

LOCKLIST=($LOCKS)
{
    printf '# conns'
    for l in "${LOCKLIST[@]}"; do printf ' b_%s c_%s' "$l" "$l"; done
    printf '\n'
    for c in $KNEE_CONNS; do
        printf '%s' "$c"
        for l in "${LOCKLIST[@]}"; do
            printf ' %s %s' "${KNEE[b|$l|$c]:-NaN}" "${KNEE[c|$l|$c]:-NaN}"
        done
        printf '\n'
    done
} >"$OUT/knee.dat"
printf 'threads,spread_tps,hot_tps\n' >"$OUT/dbcurve.csv"
{
    printf '# threads spread hot\n'
    for th in $(printf '%s\n' $CURVE_THREADS $CEIL_THREADS | sort -n | uniq); do
        printf '%s %s %s\n' "$th" "${CURVE_SPREAD[$th]:-NaN}" "${CURVE_HOT[$th]:-NaN}"
        printf '%s,%s,%s\n' "$th" "${CURVE_SPREAD[$th]:-}" "${CURVE_HOT[$th]:-}" >>"$OUT/dbcurve.csv"
    done
} >"$OUT/dbcurve.dat"

if gnuplot -e "datadir='$OUT'; spreadat=${DB_SPREAD_AT:-0}; hotat=${DB_HOT_AT:-0}; dbspread=${DB_SPREAD:-NaN}; dbhot=${DB_HOT:-NaN}; nlocks=${#LOCKLIST[@]}; locks='${LOCKLIST[*]}'; machine='${MACHINE//\'/}'" \
        "$HERE/knee.gp" >"$OUT/raw/gnuplot.txt" 2>&1 && [[ -s $OUT/knee.png ]]; then
    msg "plot: $OUT/knee.png"
else
    cat "$OUT/raw/gnuplot.txt" >&2
    fail "gnuplot did not make knee.png"
fi

csv_field() { # quotes a field that needs it
    local f=$1
    if [[ $f == *[,\"]* ]]; then f=${f//\"/\"\"}; printf '"%s"' "$f"; else printf '%s' "$f"; fi
}

COLS=(scenario lock connections "requests/s" "p50 ms" "p99 ms" "p99/p50" errors ceiling ratio notes)
{
    printf 'scenario,lock,connections,requests_per_s,p50_ms,p99_ms,p99_p50,errors,ceiling,ratio,notes\n'
    for r in "${ROWS[@]}"; do
        IFS='|' read -r s l c rps p50 p99 e ce ra no <<<"$r"
        printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$(csv_field "$s")" "$l" "$c" "$(fmt1 "$rps")" \
            "$(fmt2 "$p50")" "$(fmt2 "$p99")" "$(tail_ratio "$p50" "$p99")" "$e" "$(csv_field "$ce")" "$ra" "$(csv_field "$no")"
    done
} >"$OUT/bench.csv"

# "met" when A >= K x B (A, B numbers), "NOT met" when not, "-" unknown.
goal_ge() { # A K B
    awk -v a="$1" -v k="$2" -v b="$3" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-") print "not measured"
        else if (a + 0 >= k * b) print "met"; else print "NOT met" }'
}
side_cell() { # KEY FIELD(1 rps, 2 p50, 3 p99, 4 errors, 5 ratio)
    local v=${SIDE[$1]:-}
    [[ -n $v ]] || { echo -; return; }
    cut -d'|' -f"$2" <<<"$v"
}

# The markdown of the side by side table, the goals of --lock queue, its
# batch sizes and the flash sale.
side_by_side() {
    local l c s e
    printf '\n## Side by side: (b) spread and (c) hot row under each strategy\n\n'
    printf 'POST /order/, one unit; (b) over 1,000 products, (c) on one product. Ceilings: spread %s tx/s (sysbench, %s threads), hot %s tx/s (%s threads), the highest of sysbench at %s threads.\n\n' \
        "$(fmt1 "$DB_SPREAD")" "${DB_SPREAD_AT:--}" "$(fmt1 "$DB_HOT")" "${DB_HOT_AT:--}" "$(printf '%s\n' $CEIL_THREADS $CURVE_THREADS | sort -n | uniq | paste -sd, - | sed 's/,/, /g')"
    printf '| lock | workers | connections | (b) req/s | (b) x ceiling | (b) p50 / p99 ms | (b) p99/p50 | (c) req/s | (c) x ceiling | (c) p50 / p99 ms | (c) p99/p50 | errors (b) / (c) |\n'
    printf '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n'
    for l in "${LOCKLIST[@]}"; do
        for c in $SIDE_CONNS; do
            printf '| %s | %s | %s | %s | %s | %s / %s | %s | %s | %s | %s / %s | %s | %s / %s |\n' "$l" "$(lock_workers "$l")" "$c" \
                "$(fmt1 "$(side_cell "b|$l|$c" 1)")" "$(side_cell "b|$l|$c" 5)" \
                "$(fmt2 "$(side_cell "b|$l|$c" 2)")" "$(fmt2 "$(side_cell "b|$l|$c" 3)")" \
                "$(tail_ratio "$(side_cell "b|$l|$c" 2)" "$(side_cell "b|$l|$c" 3)")" \
                "$(fmt1 "$(side_cell "c|$l|$c" 1)")" "$(side_cell "c|$l|$c" 5)" \
                "$(fmt2 "$(side_cell "c|$l|$c" 2)")" "$(fmt2 "$(side_cell "c|$l|$c" 3)")" \
                "$(tail_ratio "$(side_cell "c|$l|$c" 2)" "$(side_cell "c|$l|$c" 3)")" \
                "$(side_cell "b|$l|$c" 4)" "$(side_cell "c|$l|$c" 4)"
        done
    done
    if [[ " ${LOCKLIST[*]} " == *" queue "* ]]; then
        printf '\n### Goals of --lock queue, this run\n\n'
        for c in $SIDE_CONNS; do
            printf -- '- (c) hot row at %s connections >= 4 x the hot ceiling (%s): %s req/s = %s x: **%s**\n' "$c" \
                "$(fmt1 "$DB_HOT")" "$(fmt1 "$(side_cell "c|queue|$c" 1)")" "$(side_cell "c|queue|$c" 5)" \
                "$(goal_ge "$(side_cell "c|queue|$c" 1)" 4 "$DB_HOT")"
        done
        for c in $SIDE_CONNS; do
            printf -- '- (b) spread at %s connections >= 1.5 x the spread ceiling (%s): %s req/s = %s x: **%s**\n' "$c" \
                "$(fmt1 "$DB_SPREAD")" "$(fmt1 "$(side_cell "b|queue|$c" 1)")" "$(side_cell "b|queue|$c" 5)" \
                "$(goal_ge "$(side_cell "b|queue|$c" 1)" 1.5 "$DB_SPREAD")"
        done
        for s in b c; do
            for c in $SIDE_CONNS; do
                # p99 <= 5 x p50  <=>  5 x p50 >= 1 x p99
                printf -- '- p99 <= 5 x p50, (%s) at %s connections: %s / %s ms = %s: **%s**\n' "$s" "$c" \
                    "$(fmt2 "$(side_cell "$s|queue|$c" 2)")" "$(fmt2 "$(side_cell "$s|queue|$c" 3)")" \
                    "$(tail_ratio "$(side_cell "$s|queue|$c" 2)" "$(side_cell "$s|queue|$c" 3)")" \
                    "$(goal_ge "$(awk -v x="$(side_cell "$s|queue|$c" 2)" 'BEGIN { if (x == "-") print "-"; else print 5 * x }')" 1 "$(side_cell "$s|queue|$c" 3)")"
            done
        done
        printf '\n### Batch sizes of --lock queue (GET /status/ before and after each run)\n\n'
        printf '| run | connections | batches | orders | orders a batch | largest so far | histogram (batch size: batches) |\n|---|--:|--:|--:|--:|--:|---|\n'
        for s in b c; do
            for c in $SIDE_CONNS; do
                e=${QHIST[$s|queue|$c]:-}
                printf '| (%s) | %s | %s | %s | %s | %s | %s |\n' "$s" "$c" "$(q_field batches "${e%%|*}")" \
                    "$(q_field orders "${e%%|*}")" "$(q_field mean "${e%%|*}")" "$(q_field largest "${e%%|*}")" \
                    "$(e=${e#*|}; echo "${e:--}")"
            done
        done
        if [[ -n ${FLASH_QHIST:-} ]]; then
            e=$FLASH_QHIST
            printf '| flash sale | %s | %s | %s | %s | %s | %s |\n' "$FLASH_CONNS" "$(q_field batches "${e%%|*}")" \
                "$(q_field orders "${e%%|*}")" "$(q_field mean "${e%%|*}")" "$(q_field largest "${e%%|*}")" "${e#*|}"
        fi
    fi
    if ((${#FLASH_ROWS[@]})); then
        printf '\n## The flash sale\n\n'
        printf 'A new product with exactly %s units; %s connections (wrk -t%s, tests/load/flash.lua) order one unit each, again and again, as the %s bench users, until it is sold out (a wrk thread stops at its first 409 "available": 0; the run is ended 1.5 s after the product'"'"'s stock reads 0, at most %s s). Sold out in: from the first request sent to the last 201 answered (CLOCK_MONOTONIC in wrk). Orders/s: units sold / that time. 409s after the last sale: out-of-stock answers that reached wrk after the last 201 (a thread stops at its first, so this counts those answered in the same read, up to one a connection); before it: those that reached wrk before the last 201 did (the answers of the last sales and the first refusals cross on their way back through the workers, nginx and wrk'"'"'s two threads: not a wrong answer by itself), and how long before it the first came. Whether a unit was refused while there was one, or sold twice, the database says: after each sale the product'"'"'s stock must be 0 and its order lines must sum to exactly the units, and `orderd audit` must be clean.\n\n' \
            "$FLASH_UNITS" "$FLASH_CONNS" "$THREADS" "$NUSERS" "$FLASH_CAP"
        printf '| lock | workers | sold out in s | orders/s | 201s seen by wrk | 409 after the last sale | 409 before it (first, ms before) | other answers | DB stock | DB units sold | DB orders | audit | p50 / p99 ms | nginx statuses |\n'
        printf '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|---|\n'
        local r lk wk so ops sold af bf ro ot stk ln no au p5 p9 sts ov qs qh
        for r in "${FLASH_ROWS[@]}"; do
            IFS='|' read -r lk wk so ops sold af bf ro ot stk ln no au p5 p9 sts ov qs qh <<<"$r"
            printf '| %s | %s | %s | %s | %s | %s | %s (%s) | %s | %s | %s | %s | %s | %s / %s | %s |\n' "$lk" "$wk" "$so" "$ops" \
                "$sold" "$af" "$bf" "$(fmt1 "$ov")" "$((${ro:-0} + ${ot:-0}))" "$stk" "$ln" "$no" "$au" "$(fmt2 "$p5")" "$(fmt2 "$p9")" "${sts:--}"
        done
        printf '\n(201s seen by wrk < DB units sold: answers in flight when a thread stopped, logged by nginx as 499.)\n'
    fi
}

ELAPSED=$((SECONDS - T0))
{
    printf '# orderd benchmark\n\n'
    printf 'Machine: %s. Load average at start: %s. %s.\n\n' "$MACHINE" "$LOAD_START" "$VERSIONS"
    printf 'Stack: nginx, orderd pool of %s workers (%s under --lock queue), MariaDB, wrk and sysbench on the same machine. ' "$WORKERS" "$QUEUE_WORKERS"
    printf 'wrk -t2 -c%s --latency, %s s a point%s; %s signed-in users (each wrk thread cycles through its half of the tokens). ' \
        "$CONNS" "$SECS" "$( ((QUICK)) && echo ' (quick run)')" "$NUSERS"
    printf 'DB ceiling: sysbench tests/load/db_ceiling.lua, the order transaction (SELECT ... FOR UPDATE, UPDATE, INSERT order, INSERT line, COMMIT) over the unix socket, at %s threads (and the curve below); the ceiling is the highest of them (spread %s tx/s at %s threads, hot %s tx/s at %s threads), not the rate at the pool'"'"'s size. Ratios: (a), (d) and (g) to the HTTP ceiling (nginx alone, same connections; the notes of (d) also give it against (b)), (b) to the DB spread ceiling, (c) to the DB hot ceiling. p99/p50 is flagged "> 5" past the goal p99 <= 5 x p50. (h): reads of other products, %s connections, alone and then while another MariaDB session holds one product row (SELECT ... FOR UPDATE, open transaction) and %s connections order that product. Errors: non-2xx answers except the 409s (d) and the 503s (h) orders expect, any (g) answer but a 201 Idempotent-Replayed, plus socket errors.\n\n' "${CEIL_THREADS// /, }" "$(fmt1 "$DB_SPREAD")" "${DB_SPREAD_AT:--}" "$(fmt1 "$DB_HOT")" "${DB_HOT_AT:--}" "$LOCK_READ_CONNS" "$LOCK_ORDER_CONNS"
    printf '| %s |\n' "$(IFS='|'; echo "${COLS[*]}" | sed 's/|/ | /g')"
    printf '|---|---|--:|--:|--:|--:|--:|--:|---|--:|---|\n'
    for r in "${ROWS[@]}"; do
        IFS='|' read -r s l c rps p50 p99 e ce ra no <<<"$r"
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$s" "$l" "$c" \
            "$(fmt1 "$rps")" "$(fmt2 "$p50")" "$(fmt2 "$p99")" "$(tail_ratio "$p50" "$p99")" "$e" "$ce" "$ra" "${no:-}"
    done
    side_by_side
    printf '\nKnee (requests/s by connections, POST /order/):\n\n'
    printf '| connections |'; for l in "${LOCKLIST[@]}"; do printf ' (b) %s | (c) %s |' "$l" "$l"; done; printf '\n'
    printf '|--:|'; for _ in "${LOCKLIST[@]}"; do printf '%s' '--:|--:|'; done; printf '\n'
    for c in $KNEE_CONNS; do
        printf '| %s |' "$c"
        for l in "${LOCKLIST[@]}"; do printf ' %s | %s |' "$(fmt1 "${KNEE[b|$l|$c]:-}")" "$(fmt1 "${KNEE[c|$l|$c]:-}")"; done
        printf '\n'
    done
    printf '\nDB ceiling by sysbench threads (transactions/s):\n\n| threads | spread | hot |\n|--:|--:|--:|\n'
    for th in $(printf '%s\n' $CURVE_THREADS $CEIL_THREADS | sort -n | uniq); do
        printf '| %s | %s | %s |\n' "$th" "$(fmt1 "${CURVE_SPREAD[$th]:-}")" "$(fmt1 "${CURVE_HOT[$th]:-}")"
    done
    if ((${#SWEEP_ROWS[@]})); then
        printf '\nWorker sweep (--lock %s, %s connections; DB ceilings with as many sysbench threads as workers, the ratios against the highest ceiling measured):\n\n' "$FINAL_LOCK" "$CONNS"
        printf '| workers | DB spread | DB hot | (b) req/s | (b) ratio | (b) p50/p99 ms | (c) req/s | (c) ratio | (c) p50/p99 ms | (d) req/s | (d) / (b) |\n'
        printf '|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n'
        for r in "${SWEEP_ROWS[@]}"; do
            IFS='|' read -r w ds dh b bp5 bp9 c cp5 cp9 d <<<"$r"
            printf '| %s | %s | %s | %s | %s | %s / %s | %s | %s | %s / %s | %s | %s |\n' "$w" \
                "$(fmt1 "$ds")" "$(fmt1 "$dh")" "$(fmt1 "$b")" "$(ratio "$b" "$(highest "$ds" "$DB_SPREAD")")" "$(fmt2 "$bp5")" \
                "$(fmt2 "$bp9")" "$(fmt1 "$c")" "$(ratio "$c" "$(highest "$dh" "$DB_HOT")")" "$(fmt2 "$cp5")" "$(fmt2 "$cp9")" \
                "$(fmt1 "$d")" "$(ratio "$d" "$b")"
        done
    fi
    printf '\n![requests/s against connections](knee.png)\n\n'
    printf 'Worker memory (VmRSS of each pool worker, from /proc, at the end of each run):\n\n'
    for w in "${WORKER_RSS[@]}"; do printf -- '- %s\n' "$w"; done
    printf '\n`orderd audit` after the bench: %s.\n\nTotal time: %s s.\n' "$AUDIT" "$ELAPSED"
    if [[ -s $OUT/profile.md ]]; then printf '\n'; cat "$OUT/profile.md"; fi
} >"$OUT/bench.md"

# The table on stdout.
echo
msg "results ($MACHINE; load average at start $LOAD_START):"
{
    printf 'scenario|lock|conns|req/s|p50 ms|p99 ms|p99/p50|errors|ceiling|ratio|notes\n'
    for r in "${ROWS[@]}"; do
        IFS='|' read -r s l c rps p50 p99 e ce ra no <<<"$r"
        printf '%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "$s" "$l" "$c" "$(fmt1 "$rps")" "$(fmt2 "$p50")" \
            "$(fmt2 "$p99")" "$(tail_ratio "$p50" "$p99")" "$e" "$ce" "$ra" "${no:--}"
    done
} | awk -F'|' '{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
                  if (NF > nf) nf = NF }
             END { for (r = 1; r <= NR; r++) { line = ""
                     for (i = 1; i <= nf; i++) line = line (i < nf ? sprintf("%-" w[i] "s  ", cell[r, i]) : cell[r, i])
                     print line } }'
side_by_side | sed -n '/^## Side by side/,$p'
echo
for w in "${WORKER_RSS[@]}"; do msg "worker memory: $w"; done
msg "audit: $AUDIT"
msg "written: $OUT/bench.md, bench.csv, side.csv, flash.csv, knee.csv, dbcurve.csv, sweep.csv, workers.csv, knee.png${PROFILE_NOTE:+, $PROFILE_NOTE} (raw/: tool output)"
msg "total time: $ELAPSED s"
if ((FAILED)); then
    msg "some steps failed (see above)"
    exit 1
fi
msg done
