# shellcheck shell=bash
# db/cluster.sh - `./stack cluster up|down|status|audit|suite`: orderd on a
# three-node MariaDB Galera cluster on this machine, two orderd pools and one
# nginx in front of both. Sourced by ./stack (it uses its helpers: msg, die,
# render, pid_alive, ensure_secrets, build, nginx_start, wait_ready, ...).
#
#   var/galera/nN/       node N's my.cnf, datadir, socket, log (N = 1..3)
#   var/run/galera-N.pid node N's mariadbd
#   var/run/orderd-a.pid pool a, on the unix socket var/run/orderd-a.sock
#   var/run/orderd-b.pid pool b, on TCP 127.0.0.1:$ORDERD_POOL_B_PORT
#   var/run/nginx.pid    nginx on 127.0.0.1:$ORDERD_PORT, one upstream of both
#
# Every pool gets the same ordered node list (ORDERD_DB_NODES): node 1 first,
# so both write to node 1 while it is synced, and to node 2 (then 3) when it
# is not. Pool a reaches the nodes by their unix sockets, pool b by TCP, as a
# pool on another host would.
#
# `up` starts whatever is not running. A node that was killed is started with
# the position `mariadbd --wsrep-recover` finds in its datadir, so it rejoins
# by an incremental transfer (IST) of what it missed, not a full copy. With
# every node down, the one Galera marks safe to bootstrap (or, after a crash
# of all, the one with the highest recovered position) starts a new cluster.
#
# Environment (besides ./stack's):
#   ORDERD_GALERA_SQL_PORT    node N's SQL port is this + N (default 3410: 3411..3413)
#   ORDERD_GALERA_GROUP_PORT  node N's group port is this + 100*N, its IST port
#                             one more (default 4567: 4667/4668, 4767/4768, 4867/4868)
#   ORDERD_GALERA_SST_PORT    node N's state-transfer port is this + 100*N
#                             (default 4444: 4544, 4644, 4744)
#   ORDERD_POOL_B_PORT        pool b's TCP port (default ORDERD_PORT + 1000)
#   ORDERD_GALERA_USER        who runs the nodes (default: mysql as root, else you)
#   ORDERD_GALERA_FLUSH       innodb_flush_log_at_trx_commit (default 1; only the
#                             tests' failure demonstration sets 0)
#   ORDERD_GALERA_SYNC_TIMEOUT  seconds a node may take to become Synced (180)

CL_NODES=(1 2 3)

cl_paths() {
    GDIR=$VAR/galera
    SQL_BASE=${ORDERD_GALERA_SQL_PORT:-3410}
    GROUP_BASE=${ORDERD_GALERA_GROUP_PORT:-4567}
    SST_BASE=${ORDERD_GALERA_SST_PORT:-4444}
    POOL_A_SOCK=$RUN/orderd-a.sock
    POOL_A_PID=$RUN/orderd-a.pid
    POOL_B_PID=$RUN/orderd-b.pid
    if ((EUID == 0)); then
        NODE_USER=${ORDERD_GALERA_USER:-mysql}
    else
        NODE_USER=${ORDERD_GALERA_USER:-$ME}
    fi
    CL_FLUSH=${ORDERD_GALERA_FLUSH:-1}
    POOL_B_PORT=${ORDERD_POOL_B_PORT:-}
    # Without ORDERD_PORT, the port the cluster was brought up on.
    if [[ -z ${ORDERD_PORT:-} && -s $RUN/cluster.port ]]; then
        PORT=$(tr -dc '0-9' <"$RUN/cluster.port")
    fi
    POOL_B_PORT=${POOL_B_PORT:-$((PORT + 1000))}
    local peers=() n
    for n in "${CL_NODES[@]}"; do
        peers+=("127.0.0.1:$((GROUP_BASE + 100 * n))")
    done
    CL_PEERS=$(IFS=,; printf '%s' "${peers[*]}")
}

cl_dir()  { printf '%s/n%s' "$GDIR" "$1"; }
cl_cnf()  { printf '%s/n%s/my.cnf' "$GDIR" "$1"; }
cl_sock() { printf '%s/n%s/mysqld.sock' "$GDIR" "$1"; }
cl_log()  { printf '%s/n%s/mariadb.log' "$GDIR" "$1"; }
cl_pidf() { printf '%s/galera-%s.pid' "$RUN" "$1"; }
cl_port() { printf '%s' "$((SQL_BASE + $1))"; }

# The node lists the pools get: sockets (pool a), host:port (pool b).
cl_nodes_socket() { local n l=(); for n in "${CL_NODES[@]}"; do l+=("$(cl_sock "$n")"); done; (IFS=,; printf '%s' "${l[*]}"); }
cl_nodes_tcp()    { local n l=(); for n in "${CL_NODES[@]}"; do l+=("127.0.0.1:$(cl_port "$n")"); done; (IFS=,; printf '%s' "${l[*]}"); }

# As root on node N's socket (unix_socket authentication).
cl_sql() { # N [mariadb args...]
    local n=$1
    shift
    mariadb --defaults-file="$(cl_cnf "$n")" -u"$ME" --connect-timeout=2 "$@"
}

cl_running() { pid_alive "$(cl_pidf "$1")" "$(cl_cnf "$1")" >/dev/null; }

# wsrep_local_state_comment of node N ("Synced", "Joining", ...), or "down".
cl_state() {
    local s
    if ! cl_running "$1"; then
        printf 'down'
        return 0
    fi
    s=$(cl_sql "$1" -N -B -e "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null |
        cut -f2) || true
    printf '%s' "${s:-starting}"
}

cl_synced() { [[ $(cl_state "$1") == Synced ]]; }

cl_first_synced() {
    local n
    for n in "${CL_NODES[@]}"; do
        cl_synced "$n" && { printf '%s' "$n"; return 0; }
    done
    return 1
}

cl_node_config() { # N
    local n=$1 d donor
    d=$(cl_dir "$n")
    mkdir -p "$d/tmp"
    check_socket_path "$(cl_sock "$n")"
    case $n in
        1) donor="n2,n3," ;;
        2) donor="n3," ;;
        *) donor="n2," ;;
    esac
    render "$REPO/db/galera.cnf.in" "$(cl_cnf "$n")" \
        N="$n" USER="$NODE_USER" DATADIR="$d/data" SOCKET="$(cl_sock "$n")" \
        PIDFILE="$d/mariadbd.pid" LOGFILE="$(cl_log "$n")" TMPDIR="$d/tmp" \
        PORT="$(cl_port "$n")" GCOMM="$((GROUP_BASE + 100 * n))" \
        IST="$((GROUP_BASE + 100 * n + 1))" SST="$((SST_BASE + 100 * n))" \
        PEERS="$CL_PEERS" DONOR="$donor" FLUSH="$CL_FLUSH"
    touch "$(cl_log "$n")"
    mkdir -p "$d/data"
    if [[ $NODE_USER != "$ME" ]]; then
        chown "$NODE_USER:" "$d" "$d/tmp" "$d/data" "$(cl_log "$n")"
    fi
    chmod 0755 "$d"       # the pools (another user) reach the socket in it
    chmod 0700 "$d/data" "$d/tmp"
    chmod 0644 "$(cl_cnf "$n")"
}

# The seqno grastate.dat records (-1 after a crash), or nothing.
cl_grastate() { # N KEY
    sed -n "s/^$2:[[:space:]]*//p" "$(cl_dir "$1")/data/grastate.dat" 2>/dev/null | head -n1
}

# The position a crashed node's datadir holds (UUID:SEQNO), from
# mariadbd --wsrep-recover.
cl_recover() { # N -> prints UUID:SEQNO
    local n=$1 f pos
    f=$(cl_dir "$n")/tmp/recover.log
    rm -f "$f"
    [[ $NODE_USER == "$ME" ]] || { touch "$f"; chown "$NODE_USER:" "$f"; }
    mariadbd --defaults-file="$(cl_cnf "$n")" --wsrep-recover --log-error="$f" \
        </dev/null >/dev/null 2>&1 || true
    pos=$(sed -n 's/.*WSREP: Recovered position: *\([0-9a-f-]*:-\{0,1\}[0-9]*\).*/\1/p' "$f" | tail -n1)
    [[ -n $pos ]] || { show_tail "$f" 20; return 1; }
    printf '%s' "$pos"
}

# Starts node N (not running) and waits until it is Synced. MODE: new (a new
# cluster from this node), join (a datadir that may hold data: rejoin from the
# recovered position when it crashed).
cl_node_start() { # N MODE
    local n=$1 mode=$2 args=() pos pid deadline st t0=$SECONDS
    local timeout=${ORDERD_GALERA_SYNC_TIMEOUT:-180}
    if [[ $(cl_grastate "$n" seqno) == -1 ]]; then
        msg "node $n crashed: looking for its last position (mariadbd --wsrep-recover)"
        pos=$(cl_recover "$n") || die "node $n: mariadbd --wsrep-recover found no position"
        msg "node $n: recovered position $pos"
        args+=(--wsrep-start-position="$pos")
    fi
    [[ $mode == new ]] && args+=(--wsrep-new-cluster)
    rm -f "$(cl_sock "$n")" "$(cl_sock "$n").lock"
    msg "starting Galera node $n${args[*]:+ (${args[*]})} as $NODE_USER"
    printf '=== %s stack: start %s\n' "$(date -u +%FT%TZ)" "${args[*]}" >>"$(cl_log "$n")"
    setsid mariadbd --defaults-file="$(cl_cnf "$n")" "${args[@]}" \
        </dev/null >>"$(cl_log "$n")" 2>&1 &
    pid=$!
    printf '%s\n' "$pid" >"$(cl_pidf "$n")"
    deadline=$((SECONDS + timeout))
    while :; do
        st=$(cl_state "$n")
        [[ $st == Synced ]] && break
        if ! kill -0 "$pid" 2>/dev/null; then
            show_tail "$(cl_log "$n")" 40
            die "Galera node $n exited during start-up (log: $(cl_log "$n"))"
        fi
        if ((SECONDS >= deadline)); then
            show_tail "$(cl_log "$n")" 40
            die "Galera node $n is not Synced after ${timeout} s (state: $st)"
        fi
        sleep 0.5
    done
    msg "node $n is Synced after $((SECONDS - t0)) s ($(cl_transfer "$n"))"
}

# How node N's last start got its data, from its log.
cl_transfer() {
    local log
    log=$(cl_log "$1")
    # Only the lines of the last start.
    log=$(awk '/^=== .* stack: start/{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' "$log")
    if grep -q 'rsync SST completed on joiner' <<<"$log"; then
        printf 'full copy by SST'
    elif grep -Eq 'IST received|rsync IST completed on joiner' <<<"$log"; then
        printf 'IST'
    elif grep -q -- '--wsrep-new-cluster' <<<"$log"; then
        printf 'bootstrap'
    else
        printf 'no transfer'
    fi
}

# Every node up and Synced: bootstrap a new cluster, or rejoin the ones that
# are down (one at a time).
cl_nodes_up() {
    local n boot='' best=-2 seq pos
    for n in "${CL_NODES[@]}"; do cl_node_config "$n"; done
    if [[ ! -d $(cl_dir 1)/data/mysql ]] && ! cl_running 1 && ! cl_running 2 && ! cl_running 3; then
        msg "creating node 1's datadir (the other nodes get theirs by state transfer)"
        for n in "${CL_NODES[@]}"; do rm -rf "$(cl_dir "$n")/data"; done
        cl_node_config 1
        if ! mariadb-install-db --defaults-file="$(cl_cnf 1)" --user="$NODE_USER" \
                --auth-root-authentication-method=socket --auth-root-socket-user="$ME" \
                --skip-test-db --wsrep-on=OFF >"$(cl_dir 1)/install.log" 2>&1 </dev/null; then
            show_tail "$(cl_dir 1)/install.log" 40
            die "mariadb-install-db failed for node 1"
        fi
        touch "$GDIR/.orderd-demo-pending"
        for n in 2 3; do cl_node_config "$n"; done
        cl_node_start 1 new
    fi
    # Nothing running: the cluster must be bootstrapped from one node.
    if ! cl_running 1 && ! cl_running 2 && ! cl_running 3; then
        for n in "${CL_NODES[@]}"; do
            if [[ $(cl_grastate "$n" safe_to_bootstrap) == 1 ]]; then
                boot=$n
                break
            fi
        done
        if [[ -z $boot ]]; then
            msg "every node stopped without a clean shutdown: starting from the most advanced one"
            for n in "${CL_NODES[@]}"; do
                [[ -s $(cl_dir "$n")/data/grastate.dat ]] || continue
                pos=$(cl_recover "$n") || continue
                seq=${pos##*:}
                msg "node $n: recovered position $pos"
                if ((seq > best)); then best=$seq; boot=$n; fi
            done
            [[ -n $boot ]] || die "no node has a datadir to start the cluster from"
            sed -i 's/^safe_to_bootstrap:.*/safe_to_bootstrap: 1/' "$(cl_dir "$boot")/data/grastate.dat"
        fi
        cl_node_start "$boot" new
    fi
    for n in "${CL_NODES[@]}"; do
        if cl_running "$n"; then
            cl_wait_synced "$n"
        else
            cl_node_start "$n" join
        fi
    done
}

cl_wait_synced() { # N: a running node (maybe still joining)
    local n=$1 deadline=$((SECONDS + ${ORDERD_GALERA_SYNC_TIMEOUT:-180})) st
    until [[ $(st=$(cl_state "$n"); printf '%s' "$st") == Synced ]]; do
        ((SECONDS < deadline)) || die "Galera node $n is running but not Synced ($(cl_state "$n"))"
        sleep 0.5
    done
}

cl_node_stop() { # N
    local n=$1 pid
    if ! pid=$(pid_alive "$(cl_pidf "$n")" "$(cl_cnf "$n")"); then
        rm -f "$(cl_pidf "$n")"
        return 0
    fi
    msg "stopping Galera node $n (pid $pid)"
    timeout 60 mariadb-admin --defaults-file="$(cl_cnf "$n")" -u"$ME" --connect-timeout=2 \
        shutdown >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" 90; then
        warn "node $n did not stop within 90 s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        wait_gone "$pid" 10 || true
    fi
    rm -f "$(cl_pidf "$n")"
}

# The accounts, on one synced node: Galera copies them to the others. One
# account per role for every host ('%'; the nodes listen on 127.0.0.1 only):
# pool a (socket) and pool b (TCP) are then the same account, and a new
# worker sees on which node the other pools' sessions are (orderd
# --db-nodes joins them there, so all pools write to one node).
cl_setup() { # N
    local n=$1 h u
    {
        printf "CREATE DATABASE IF NOT EXISTS \`%s\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;\n" "$DB_NAME"
        for u in "$DB_OWNER" "$DB_USER"; do
            for h in localhost 127.0.0.1; do
                printf "DROP USER IF EXISTS '%s'@'%s';\n" "$u" "$h"
            done
        done
        printf "CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s';\n" "$DB_OWNER" "$DB_OWNER_PASSWORD"
        printf "ALTER USER '%s'@'%%' IDENTIFIED BY '%s';\n" "$DB_OWNER" "$DB_OWNER_PASSWORD"
        printf "GRANT ALL PRIVILEGES ON \`%s\`.* TO '%s'@'%%';\n" "$DB_NAME" "$DB_OWNER"
        printf "CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s';\n" "$DB_USER" "$DB_PASSWORD"
        printf "ALTER USER '%s'@'%%' IDENTIFIED BY '%s';\n" "$DB_USER" "$DB_PASSWORD"
        printf "GRANT %s ON \`%s\`.* TO '%s'@'%%';\n" "$APP_GRANT" "$DB_NAME" "$DB_USER"
    } | cl_sql "$n" || die "could not create the database and its accounts on node $n"
    # The tests' client, one file per node (mode 0600).
    for h in "${CL_NODES[@]}"; do
        (umask 077 && printf '[client]\nsocket = %s\nuser = %s\npassword = %s\ndefault-character-set = utf8mb4\n' \
            "$(cl_sock "$h")" "$DB_OWNER" "$DB_OWNER_PASSWORD" >"$ETC/owner-n$h.cnf")
    done
}

# Migrations run once, from here (the deploy step), on one node: Galera
# applies the DDL on every node. (A pool never migrates.)
cl_migrate() { # N
    [[ -x $BIN ]] || die "no orderd binary at $BIN (build first)"
    msg "applying migrations on node $1"
    env -u ORDERD_DB_NODES ORDERD_DB_SOCKET="$(cl_sock "$1")" ORDERD_DB_USER="$DB_OWNER" \
        ORDERD_DB_PASSWORD="$DB_OWNER_PASSWORD" \
        "$BIN" migrate --migrations "$REPO/db/migrations" </dev/null || die "orderd migrate failed"
}

cl_demo() { # N
    [[ ${ORDERD_DEMO:-1} == 1 && -e $GDIR/.orderd-demo-pending ]] || return 0
    msg "loading demo data (db/demo.sql) on node $1"
    mariadb --defaults-file="$ETC/owner-n$1.cnf" "$DB_NAME" <"$REPO/db/demo.sql" ||
        die "loading db/demo.sql failed"
    rm -f "$GDIR/.orderd-demo-pending"
}

cl_pool_running() { pid_alive "$1" orderd >/dev/null; }

# Starts pool NAME (a or b) unless it is running (with this binary).
cl_pool_start() { # a|b
    local name=$1 pidf listen nodes log deadline pid
    if [[ $name == a ]]; then
        pidf=$POOL_A_PID listen=$POOL_A_SOCK nodes=$(cl_nodes_socket)
        check_socket_path "$POOL_A_SOCK"
    else
        pidf=$POOL_B_PID listen=127.0.0.1:$POOL_B_PORT nodes=$(cl_nodes_tcp)
    fi
    log=$LOG/orderd-$name.log
    if pid=$(pid_alive "$pidf" orderd); then
        if [[ $BIN -nt $pidf ]]; then
            msg "the orderd binary changed since pool $name started; restarting it"
        elif [[ $(cat "$RUN/orderd-$name.listen" 2>/dev/null) != "$listen $nodes" ]]; then
            msg "pool $name's address or node list changed; restarting it"
        elif [[ $name == a && ! -S $POOL_A_SOCK ]]; then
            msg "pool a's socket $POOL_A_SOCK is gone; restarting it"
        else
            return 0
        fi
        POOL_PID=$pidf POOL_SOCK=$RUN/orderd-$name.sock pool_stop
    fi
    POOL_PID=$pidf pool_reap_orphans
    rm -f "$pidf"
    [[ $name == a ]] && rm -f "$POOL_A_SOCK"
    [[ $name == b ]] && ! port_free "$POOL_B_PORT" &&
        die "port $POOL_B_PORT (pool b) is taken by another program (set ORDERD_POOL_B_PORT)"
    [[ $RUNAS == "$ME" ]] || { touch "$log"; chown "$RUNAS:" "$log"; }
    msg "starting orderd pool $name ($WORKERS workers, as $RUNAS) on $listen"
    runas_prefix
    if ! ORDERD_DB_NODES=$nodes timeout 30 "${RUNAS_CMD[@]}" "$BIN" serve --listen "$listen" \
            --workers "$WORKERS" --pidfile "$pidf" --daemon --log "$log" \
            </dev/null >"$LOG/orderd-$name-start.log" 2>&1; then
        show_tail "$LOG/orderd-$name-start.log" 30
        show_tail "$log" 30
        die "orderd pool $name failed to start"
    fi
    printf '%s\n' "$listen $nodes" >"$RUN/orderd-$name.listen"
    deadline=$((SECONDS + 15))
    until cl_pool_running "$pidf" && { [[ $name == b ]] || [[ -S $POOL_A_SOCK ]]; }; do
        ((SECONDS < deadline)) || { show_tail "$log" 30; die "pool $name did not come up"; }
        sleep 0.2
    done
}

# nginx: the site config of the single stack with one upstream of both pools
# (the upstream's server line takes the options and the second server).
cl_nginx_start() {
    local opts="max_fails=1 fail_timeout=${ORDERD_POOL_FAIL_TIMEOUT:-5}s"
    POOL_SOCK="$POOL_A_SOCK $opts; server 127.0.0.1:$POOL_B_PORT $opts" nginx_start
}

cl_pool_a_running() { cl_pool_running "$POOL_A_PID"; }
cl_is_up() { cl_running 1 || cl_running 2 || cl_running 3; }

cmd_cluster_up() {
    [[ $ME != "$DB_USER" && $ME != "$DB_OWNER" ]] ||
        die "run ./stack as root or as another user than '$ME'"
    db_running && die "the single-node stack is running under $VAR: ./stack down first"
    ensure_packages
    build
    ensure_runas_user
    ensure_secrets
    own_dirs
    mkdir -p "$GDIR"
    chmod 0755 "$GDIR"
    printf '%s\n' "$PORT" >"$RUN/cluster.port"
    local n
    cl_nodes_up
    n=$(cl_first_synced) || die "no Galera node is Synced"
    cl_setup "$n"
    cl_migrate "$n"
    cl_demo "$n"
    cl_pool_start a
    cl_pool_start b
    cl_nginx_start
    wait_ready
    msg "orderd on Galera is up: http://127.0.0.1:$PORT/ (pools a and b; nodes $(cl_nodes_tcp))"
}

cmd_cluster_down() {
    local n
    nginx_stop
    POOL_PID=$POOL_A_PID POOL_SOCK=$POOL_A_SOCK pool_stop
    POOL_PID=$POOL_B_PID POOL_SOCK=$RUN/orderd-b.sock pool_stop
    # Node 1 last: it is then the one safe to bootstrap from.
    for n in 3 2 1; do cl_node_stop "$n"; done
}

# Which node pool NAME's workers are connected to: per node, the count of
# connections of the pool's account from that pool (pool a by socket,
# 'localhost'; pool b by TCP, '127.0.0.1:...').
cl_pool_nodes() { # a|b
    local name=$1 n c out=() like
    [[ $name == a ]] && like="localhost" || like="127.0.0.1:%"
    for n in "${CL_NODES[@]}"; do
        cl_synced "$n" || cl_running "$n" || continue
        c=$(cl_sql "$n" -N -B -e "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '$DB_USER' AND HOST LIKE '$like'" 2>/dev/null) || continue
        ((c > 0)) && out+=("node $n ($c connections)")
    done
    if ((${#out[@]})); then (IFS=,; printf '%s' "${out[*]}" | sed 's/,/, /g'); else printf 'no node yet'; fi
}

cmd_cluster_status() {
    local n pid all=0 st size
    for n in "${CL_NODES[@]}"; do
        st=$(cl_state "$n")
        if [[ $st == down ]]; then
            msg "galera-$n: not running"
            all=3
        else
            pid=$(pid_alive "$(cl_pidf "$n")" "$(cl_cnf "$n")")
            size=$(cl_sql "$n" -N -B -e "SHOW STATUS LIKE 'wsrep_cluster_size'" 2>/dev/null | cut -f2) || true
            msg "galera-$n: $st (pid $pid, 127.0.0.1:$(cl_port "$n"), cluster size ${size:-?})"
            [[ $st == Synced ]] || all=3
        fi
    done
    if pid=$(pid_alive "$POOL_A_PID" orderd); then
        msg "orderd-a: running (pid $pid) on $POOL_A_SOCK, writes to $(cl_pool_nodes a)"
    else
        msg "orderd-a: not running"; all=3
    fi
    if pid=$(pid_alive "$POOL_B_PID" orderd); then
        msg "orderd-b: running (pid $pid) on 127.0.0.1:$POOL_B_PORT, writes to $(cl_pool_nodes b)"
    else
        msg "orderd-b: not running"; all=3
    fi
    if pid=$(pid_alive "$NGX_PID" "$NGX_CONF"); then
        msg "nginx:    running (pid $pid) at http://127.0.0.1:$PORT/"
    else
        msg "nginx:    not running"; all=3
    fi
    return $all
}

# `orderd audit` against every node, and the tables' checksums compared
# across nodes: 0 only when every node is clean and all are equal.
cmd_cluster_audit() {
    local n rc=0 tables sums first='' out
    need_secrets
    for n in "${CL_NODES[@]}"; do
        if ! cl_synced "$n"; then
            msg "node $n: $(cl_state "$n"), not audited"
            rc=1
            continue
        fi
        if out=$(env -u ORDERD_DB_NODES ORDERD_DB_SOCKET="$(cl_sock "$n")" "$BIN" audit 2>&1); then
            msg "node $n: orderd audit clean"
        else
            msg "node $n: orderd audit FAILED:"
            printf '%s\n' "$out" | head -n 40 | sed 's/^/    /'
            rc=1
        fi
    done
    n=$(cl_first_synced) || { msg "no node is Synced"; return 1; }
    tables=$(cl_sql "$n" -N -B -e "SELECT GROUP_CONCAT(CONCAT('\`', table_name, '\`') ORDER BY table_name) FROM information_schema.tables WHERE table_schema = '$DB_NAME' AND table_type = 'BASE TABLE'")
    for n in "${CL_NODES[@]}"; do
        cl_synced "$n" || continue
        # wsrep_sync_wait: the node has applied everything committed anywhere first.
        sums=$(cl_sql "$n" -N -B "$DB_NAME" -e "SET SESSION wsrep_sync_wait = 1; CHECKSUM TABLE $tables" | awk '{print $1, $2}' | tr '\n' ' ')
        printf '%s\n' "$sums" >"$TMPD/checksums-n$n"
        if [[ -z $first ]]; then
            first=$n
        elif ! cmp -s "$TMPD/checksums-n$first" "$TMPD/checksums-n$n"; then
            msg "node $n: table checksums differ from node $first's:"
            diff <(tr ' ' '\n' <"$TMPD/checksums-n$first" | paste - -) \
                 <(tr ' ' '\n' <"$TMPD/checksums-n$n" | paste - -) | sed 's/^/    /' || true
            rc=1
        fi
    done
    [[ -n $first ]] && ((rc == 0)) && msg "table checksums equal on every node ($(tr ',' '\n' <<<"$tables" | wc -l) tables)"
    return $rc
}

# One suite against the running cluster: the environment of ./stack suite,
# and per node a client (ORDERD_CLUSTER_MYSQL_1..3), the runner
# (ORDERD_STACK) and the pid files.
cmd_cluster_suite() {
    local file=${1:-} token n
    [[ -n $file ]] || die "usage: ./stack cluster suite FILE [TEST...]"
    shift
    cl_is_up || die "the cluster under $VAR is not running (./stack cluster up)"
    need_secrets
    token=$(cmd_cluster_admin stackadmin 2>/dev/null | tail -n1) || true
    [[ ${#token} -eq 43 ]] || die "could not make an administrator"
    n=$(cl_first_synced) || die "no node is Synced"
    for n in "${CL_NODES[@]}"; do
        export "ORDERD_CLUSTER_MYSQL_$n=mariadb --defaults-file=$ETC/owner-n$n.cnf $DB_NAME"
    done
    n=$(cl_first_synced)
    ORDERD_ADMIN_TOKEN=$token ORDERD_URL=http://127.0.0.1:$PORT ORDERD_VAR=$VAR \
        ORDERD_MYSQL="mariadb --defaults-file=$ETC/owner-n$n.cnf $DB_NAME" \
        ORDERD_DB_SOCKET="$(cl_sock "$n")" ORDERD_STACK=$SELF \
        ORDERD_SRC=$REPO ORDERD_BIN=$BIN ORDERD_TEST_OUT=${ORDERD_TEST_OUT:-$VAR/test-out} \
        ORDERD_CLUSTER_RUN=$RUN ORDERD_CLUSTER_DIR=$GDIR ORDERD_POOL_B_PORT=$POOL_B_PORT \
        ORDERD_CLUSTER_SQL_BASE=$SQL_BASE \
        exec $([[ $file == *.py ]] && echo python3) "$file" "$@"
}

# `./stack admin NAME` when the cluster is up: on the first synced node; a
# --promote tells both pools to forget the user's sessions.
cmd_cluster_admin() {
    local n opts=() a pid
    need_secrets
    n=$(cl_first_synced) || die "no Galera node is Synced"
    for a in "$@"; do [[ $a == --promote ]] && opts+=(--pidfile "$POOL_A_PID"); done
    env -u ORDERD_DB_NODES ORDERD_DB_SOCKET="$(cl_sock "$n")" ORDERD_DB_USER="$DB_USER" \
        ORDERD_DB_PASSWORD="$DB_PASSWORD" ORDERD_DB_NAME="$DB_NAME" "$BIN" admin "${opts[@]}" "$@"
    # Pool b's cache forgets on its own within its lifetime (2.5 s); tell it too.
    if ((${#opts[@]})) && pid=$(pid_alive "$POOL_B_PID" orderd 2>/dev/null); then
        kill -USR1 "$pid" 2>/dev/null || true
    fi
}

cmd_cluster() {
    local sub=${1:-}
    [[ $# -gt 0 ]] && shift
    cl_paths
    case $sub in
        up)     cmd_cluster_up "$@" ;;
        down)   cmd_cluster_down "$@" ;;
        status) cmd_cluster_status "$@" ;;
        audit)  cmd_cluster_audit "$@" ;;
        suite)  cmd_cluster_suite "$@" ;;
        *) die "usage: ./stack cluster up|down|status|audit|suite FILE [TEST...]" ;;
    esac
}

# ./stack bench --cluster: a single-node stack and a cluster, each on a
# throw-away dir and its own ports, then tests/load/bench_cluster.sh against
# both (and the failover storm on the cluster). Output under ORDERD_BENCH_OUT
# (default var/bench). The cluster's ports: ORDERD_BENCH_GALERA_SQL_PORT
# (3420), _GROUP_PORT (4587), _SST_PORT (4464), nginx on a free port from
# 18400, the single node's from 18280.
BENCH_SV='' BENCH_CV='' BENCH_CENV=()
bench_cluster_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $BENCH_SV ]]; then
        ORDERD_VAR=$BENCH_SV "$SELF" down >/dev/null 2>&1 || warn "stopping the bench's single stack failed"
        rm -rf "$BENCH_SV"
    fi
    if [[ -n $BENCH_CV ]]; then
        env "${BENCH_CENV[@]}" "$SELF" cluster down >/dev/null 2>&1 || warn "stopping the bench's cluster failed"
        rm -rf "$BENCH_CV"
    fi
    exit "$rc"
}

cmd_bench_cluster() {
    local out sport=18280 cport=18400 stok ctok rc=0 common
    ensure_packages
    build
    out=${ORDERD_BENCH_OUT:-$REPO/var/bench}
    mkdir -p "$out"
    out=$(cd "$out" && pwd -P)
    until port_free "$sport"; do sport=$((sport + 1)); ((sport < 18400)) || die "no free port in 18280..18399"; done
    until port_free "$cport" && port_free $((cport + 1000)); do
        cport=$((cport + 1)); ((cport < 18500)) || die "no free port in 18400..18499"
    done
    BENCH_SV=$(mktemp -d "${TMPDIR:-/tmp}/orderd-bench1.XXXXXX")
    BENCH_CV=$(mktemp -d "${TMPDIR:-/tmp}/orderd-benchc.XXXXXX")
    chmod 0711 "$BENCH_SV" "$BENCH_CV"
    trap bench_cluster_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    common=(ORDERD_SKIP_PACKAGES=1 ORDERD_SKIP_BUILD=1 ORDERD_BUILD="$BUILD" ORDERD_BIN="$BUILD/orderd" ORDERD_DEMO=0)
    BENCH_CENV=("${common[@]}" ORDERD_VAR="$BENCH_CV" ORDERD_PORT="$cport"
        ORDERD_GALERA_SQL_PORT="${ORDERD_BENCH_GALERA_SQL_PORT:-3420}"
        ORDERD_GALERA_GROUP_PORT="${ORDERD_BENCH_GALERA_GROUP_PORT:-4587}"
        ORDERD_GALERA_SST_PORT="${ORDERD_BENCH_GALERA_SST_PORT:-4464}" ORDERD_POOL_B_PORT=)
    msg "bench: single node in $BENCH_SV (port $sport), cluster in $BENCH_CV (port $cport); output in $out"
    env "${common[@]}" ORDERD_VAR="$BENCH_SV" ORDERD_PORT="$sport" "$SELF" up >"$out/stack-up-single.log" 2>&1 ||
        { tail -n 30 "$out/stack-up-single.log"; die "the single-node stack did not come up"; }
    env "${BENCH_CENV[@]}" "$SELF" cluster up >"$out/stack-up-cluster.log" 2>&1 ||
        { tail -n 30 "$out/stack-up-cluster.log"; die "the cluster did not come up"; }
    stok=$(env "${common[@]}" ORDERD_VAR="$BENCH_SV" "$SELF" admin benchadmin 2>/dev/null | tail -n1)
    ctok=$(env "${BENCH_CENV[@]}" "$SELF" admin benchadmin 2>/dev/null | tail -n1)
    [[ ${#stok} -eq 43 && ${#ctok} -eq 43 ]] || die "could not make the benchmark's administrators"
    ORDERD_SINGLE_URL=http://127.0.0.1:$sport ORDERD_SINGLE_TOKEN=$stok \
        ORDERD_CLUSTER_URL=http://127.0.0.1:$cport ORDERD_CLUSTER_TOKEN=$ctok \
        ORDERD_CLUSTER_SUITE="env ${BENCH_CENV[*]} ORDERD_TEST_OUT=$out/raw-cluster $SELF cluster suite" \
        ORDERD_BENCH_OUT=$out "$REPO/tests/load/bench_cluster.sh" || rc=$?
    return "$rc"
}
