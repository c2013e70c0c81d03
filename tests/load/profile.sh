#!/usr/bin/env bash
# tests/load/profile.sh — where the CPU goes per request, against a running
# stack (bench.sh calls it at the end of a full run).
#
#   profile.sh OUTDIR PRODUCTS_FILE TOKENS_FILE SOLDOUT_ID
#
# For each of (a) GET /product/{id}/ over PRODUCTS_FILE, (d) POST /order/ of
# the sold-out product SOLDOUT_ID as the users of TOKENS_FILE, and the HTTP
# ceiling (nginx alone, GET /__ceiling), runs wrk (64 connections) for
# ORDERD_PROFILE_SECONDS (default 5) under `perf record -a -F 999 -g -e
# cpu-clock`, then splits the samples among this stack's nginx, orderd and
# mariadbd processes (by pid, from ORDERD_VAR/run/*.pid and their children:
# other stacks on the machine count as "other"), the wrk process, and the
# rest, each into user and kernel time, and divides by the requests wrk
# made: microseconds of CPU per request per component. Also the top symbols
# of orderd and nginx by self time in (a). Writes OUTDIR/profile.md (a
# markdown section) and OUTDIR/raw/perf-*.txt (perf report --sort comm,dso
# and the symbol lists). Installs nothing: perf is Debian's linux-perf.
#
# Environment: ORDERD_URL, ORDERD_VAR (as bench.sh), ORDERD_PROFILE_SECONDS,
# ORDERD_PROFILE_KEEP=1 keeps the perf.data files in OUTDIR/raw.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
msg() { printf 'profile: %s\n' "$*"; }
die() { printf 'profile: error: %s\n' "$*" >&2; exit 2; }

(($# == 4)) || die "usage: profile.sh OUTDIR PRODUCTS_FILE TOKENS_FILE SOLDOUT_ID"
OUT=$1 PRODUCTS=$2 TOKENS=$3 SOLDOUT=$4
command -v perf >/dev/null ||
    die "perf is not installed (Debian: apt-get install linux-perf; ./stack up installs it)"
command -v wrk >/dev/null || die "wrk is not installed"
[[ -n ${ORDERD_URL:-} ]] || die "ORDERD_URL is not set"
[[ -n ${ORDERD_VAR:-} && -d ${ORDERD_VAR:-} ]] || die "ORDERD_VAR is not set or not a directory"
[[ -r $PRODUCTS && -r $TOKENS ]] || die "cannot read $PRODUCTS or $TOKENS"
URL=${ORDERD_URL%/}
VAR=$ORDERD_VAR
SECS=${ORDERD_PROFILE_SECONDS:-5}
CONNS=64
THREADS=2
HZ=999
mkdir -p "$OUT/raw" || die "cannot create $OUT/raw"

# perf needs the right to watch every CPU.
if ! perf record -a -F "$HZ" -e cpu-clock -o "$OUT/raw/perf-check.data" -- true >"$OUT/raw/perf-check.txt" 2>&1; then
    cat "$OUT/raw/perf-check.txt" >&2
    die "perf record -a failed (run as root, or lower /proc/sys/kernel/perf_event_paranoid)"
fi
rm -f "$OUT/raw/perf-check.data" "$OUT/raw/perf-check.txt"

# The pids of a process from its pid file and its children, one a line.
family() { # PIDFILE
    local m
    [[ -s $1 ]] || return 0
    m=$(tr -dc '0-9' <"$1")
    [[ -n $m ]] || return 0
    echo "$m"
    pgrep -P "$m" 2>/dev/null || true
}

# Writes "pid component" lines for this stack's processes.
pidmap() {
    family "$VAR/run/nginx.pid" | sed 's/$/ nginx/'
    family "$VAR/run/orderd.pid" | sed 's/$/ orderd/'
    family "$VAR/run/mariadb.pid" | sed 's/$/ mariadbd/'
}

# One profiled run: NAME SCRIPT PATH [ARGS...]. Sets P_requests, P_rps.
P_requests= P_rps=
profile_run() {
    local name=$1 script=$2 path=$3 data=$OUT/raw/perf-$1.data perf_pid wrk_pid line
    shift 3
    P_requests= P_rps=
    perf record -a -F "$HZ" -g -e cpu-clock -o "$data" >"$OUT/raw/perf-$name-record.txt" 2>&1 &
    perf_pid=$!
    sleep 0.5
    wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --timeout 5s --latency -s "$HERE/$script" "$URL$path" \
        -- threads="$THREADS" "$@" >"$OUT/raw/perf-$name-wrk.txt" 2>&1 &
    wrk_pid=$!
    wait "$wrk_pid"
    kill -INT "$perf_pid" 2>/dev/null
    wait "$perf_pid"
    line=$(grep -a '^BENCH ' "$OUT/raw/perf-$name-wrk.txt" | tail -n1)
    P_requests=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$line")
    P_rps=$(sed -n 's/.* rps=\([0-9.]*\).*/\1/p' <<<"$line")
    [[ -n $P_requests && $P_requests -gt 0 && -s $data ]] || {
        printf 'profile: %s: no wrk result or no perf data (see %s/raw/perf-%s-*.txt)\n' "$name" "$OUT" "$name" >&2
        return 1
    }
    # The report the numbers come from, by command and object, kept for reading.
    perf report -i "$data" --no-children -g none --sort comm,dso --stdio -n \
        >"$OUT/raw/perf-$name-comm-dso.txt" 2>/dev/null
    # Samples by component and user/kernel: "component user|kernel samples".
    { pidmap; echo "$wrk_pid wrk"; } >"$OUT/raw/perf-$name-pids.txt"
    perf script -i "$data" -F comm,pid,ip,dso -G 2>/dev/null |
        awk -v map="$OUT/raw/perf-$name-pids.txt" '
            BEGIN { while ((getline l < map) > 0) { split(l, f, " "); comp[f[1]] = f[2] } }
            NF >= 4 {
                dso = $NF; pid = $(NF - 2)
                c = (pid in comp) ? comp[pid] : (pid == 0 ? "idle" : "other")
                k = (dso ~ /^\(\[/ && dso != "([unknown])" && dso != "([vdso])") ? "kernel" : "user"
                n[c " " k]++
            }
            END { for (x in n) print x, n[x] }' | sort >"$OUT/raw/perf-$name-split.txt"
}

# The markdown table of one run: NAME TITLE.
split_table() {
    local name=$1 title=$2
    printf '\n**%s**: %s requests in %s s (%s req/s under perf); CPU microseconds per request (samples at %s Hz on every CPU / requests):\n\n' \
        "$title" "$P_requests" "$SECS" "$P_rps" "$HZ"
    printf '| component | user µs/req | kernel µs/req | total µs/req | share of busy CPU |\n|---|--:|--:|--:|--:|\n'
    awk -v req="$P_requests" -v hz="$HZ" '
        { s[$1, $2] = $3; if ($1 != "idle") busy += $3; comps[$1] = 1 }
        END {
            split("nginx orderd mariadbd wrk other idle", order, " ")
            for (i = 1; i <= 6; i++) {
                c = order[i]; u = s[c, "user"] + 0; k = s[c, "kernel"] + 0
                us = 1e6 / hz / req
                printf "| %s | %.1f | %.1f | %.1f | %s |\n", c, u * us, k * us, (u + k) * us,
                    c == "idle" ? "-" : sprintf("%.0f %%", busy ? 100 * (u + k) / busy : 0)
                if (c != "idle") { tu += u; tk += k }
                if (c != "idle" && c != "other") { su += u; sk += k }
            }
            printf "| **nginx + orderd + mariadbd + wrk** | %.1f | %.1f | %.1f | %.0f %% |\n", su * us, sk * us, (su + sk) * us, busy ? 100 * (su + sk) / busy : 0
            printf "| **busy total** | %.1f | %.1f | %.1f | 100 %% |\n", tu * us, tk * us, (tu + tk) * us
        }' "$OUT/raw/perf-$name-split.txt"
}

# The top self-time symbols of this stack's orderd and nginx in NAME.
top_symbols() { # NAME COUNT
    local name=$1 count=$2 pids
    pids=$(awk '$2 == "orderd" || $2 == "nginx" { printf "%s%s", s, $1; s = "," }' "$OUT/raw/perf-$name-pids.txt")
    [[ -n $pids ]] || return 0
    perf report -i "$OUT/raw/perf-$name.data" --no-children -g none --pid="$pids" \
        --sort comm,dso,sym --stdio -n --percentage absolute 2>/dev/null >"$OUT/raw/perf-$name-symbols.txt"
    printf '\nTop %s symbols of orderd and nginx by self time in (a) (share of all samples, every CPU; `[k]` kernel, `[.]` user):\n\n' "$count"
    printf '| share | samples | process | object | symbol |\n|--:|--:|---|---|---|\n'
    grep -E '^ +[0-9.]+%' "$OUT/raw/perf-$name-symbols.txt" | head -n "$count" |
        awk '{ pct = $1; n = $2; comm = $3; dso = $4; $1 = $2 = $3 = $4 = ""; sub(/^ +/, "")
               gsub(/\|/, "\\|"); printf "| %s | %s | %s | %s | `%s` |\n", pct, n, comm, dso, $0 }'
}

SECTIONS=()
run_one() { # NAME TITLE SCRIPT PATH [ARGS...]
    local name=$1 title=$2
    shift 2
    msg "$title: wrk -c$CONNS ${SECS} s under perf record -a -g"
    if profile_run "$name" "$@"; then
        SECTIONS+=("$(split_table "$name" "$title")")
        msg "  $title: $P_rps req/s; by component (µs/req): $(awk -v req="$P_requests" -v hz="$HZ" '$1 != "idle" { t[$1] += $3 } END { for (c in t) printf "%s %.1f  ", c, t[c] * 1e6 / hz / req }' "$OUT/raw/perf-$name-split.txt")"
        return 0
    fi
    SECTIONS+=("$(printf '\n**%s**: no profile (the run failed).\n' "$title")")
    return 1
}

rc=0
run_one a "(a) GET /product/{id}/" product.lua / products="$PRODUCTS" || rc=1
[[ $rc == 0 ]] && SYMS=$(top_symbols a 10)
run_one d "(d) POST /order/ sold out" order.lua /order/ tokens="$TOKENS" product="$SOLDOUT" || rc=1
run_one ceiling "HTTP ceiling (nginx alone)" ceiling.lua /__ceiling || rc=1

{
    printf '## Where the CPU goes (perf)\n\n'
    printf '`perf record -a -F %s -g -e cpu-clock` while wrk (-t%s -c%s, %s s) runs each scenario; samples split by process (this stack'"'"'s nginx, orderd and mariadbd by pid; the wrk process; "other": everything else on the machine, other stacks and kernel threads included; "idle": the idle task) and by user or kernel code, divided by the requests wrk completed. With the cpu-clock event (a virtual machine has no hardware counters) time spent with interrupts off is charged to where they come back on: kernel `_raw_spin_unlock_irqrestore` and `finish_task_switch` stand for wake-ups and context switches. Load average before: %s.\n' \
        "$HZ" "$THREADS" "$CONNS" "$SECS" "$(cut -d' ' -f1-3 /proc/loadavg)"
    for s in "${SECTIONS[@]}"; do printf '%s\n' "$s"; done
    printf '%s\n' "${SYMS:-}"
} >"$OUT/profile.md"
[[ ${ORDERD_PROFILE_KEEP:-0} == 1 ]] || rm -f "$OUT"/raw/perf-*.data
msg "written: $OUT/profile.md"
exit "$rc"
