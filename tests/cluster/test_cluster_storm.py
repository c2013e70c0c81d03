#!/usr/bin/env python3
"""The cluster storm: orderd on three Galera nodes and two pools
behind one nginx (`./stack cluster up`), loaded through nginx while a part of
it is SIGKILLed and brought back with `./stack cluster up`.

Run it with `./stack cluster suite tests/cluster/test_cluster_storm.py [TEST]`
(it needs the runner's environment: ORDERD_STACK, ORDERD_CLUSTER_RUN and one
client per node, ORDERD_CLUSTER_MYSQL_1..3).

ORDERD_CLUSTER_CLIENTS (default 10) clients, each a registered user credited
by the admin, for ORDERD_CLUSTER_SECONDS (default 30): cash-on-delivery
orders, balance checkouts that are then paid, transfers between the users,
and, for a third of the orders, three simultaneous aborts (each with its own
key). Every write carries a fresh Idempotency-Key and is repeated with the
same key while the answer is a 502/503/504 (or no answer), up to 90 s; every
created order is read back at once through nginx (a 404 there is a stale
read).

 - node_kill: at KILL_AT s the writer node (node 1, first in every pool's
   list) is SIGKILLed; CLUSTER_DOWN_FOR s later `./stack cluster up` starts it
   again, and it must rejoin by IST.
 - pool_kill: the same with pool a (its master and workers).
 - all_nodes_kill: every node SIGKILLed at once, then `./stack cluster up`
   (the cluster is bootstrapped again from the most advanced node). This is
   the run that shows the checks can fail: with innodb_flush_log_at_trx_commit
   = 0 (ORDERD_GALERA_FLUSH=0 when the cluster was made) acknowledged orders
   are lost and "acknowledged writes present on every node" fails.

Held afterwards, on every node: every acknowledged order, its lines and its
final state (aborted, paid) and every acknowledged idempotency key are there;
as many orders as keys that created one (one effect per key, and a repeated
key got the same order back); stock = initial - units of the orders not
aborted (no oversell, stock back exactly once per abort) and never below 0;
each user's balance = credit + transfers in - out - payments + refunds, and
the same on every node; at most one 200 per order among its aborts;
`./stack cluster audit` exits 0 (each node clean, checksums equal). And over
the run: no 500, no answer but 503 from nginx (502/504 become 503), 503s only
between the kill and WINDOW s after the part is back, no connection error,
no stale read. The failover time (kill -> last 503 / the longest gap between
acknowledged writes) is printed and kept in the artifacts."""

import collections
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import orderd_test as T  # noqa: E402
from orderd_test import (  # noqa: E402
    SEED, ConnError, artifact, check, log, run, summarize, test)
from accounts import admin, new_key, new_users  # noqa: E402
from fcgi_client import fcgi_request  # noqa: E402

CLIENTS = int(os.environ.get("ORDERD_CLUSTER_CLIENTS", "10"))
SECONDS = float(os.environ.get("ORDERD_CLUSTER_SECONDS", "30"))
KILL_AT = float(os.environ.get("ORDERD_CLUSTER_KILL_AT", "8"))
DOWN_FOR = float(os.environ.get("ORDERD_CLUSTER_DOWN_FOR", "6"))
# 503s are allowed from the kill until this long after the killed part is back.
WINDOW = float(os.environ.get("ORDERD_CLUSTER_503_WINDOW", "15"))
GIVE_UP = 90.0
CREDIT = 2000000
STOCK = 400
PRICES = (1100, 2300, 3700)

RUN_DIR = os.environ.get("ORDERD_CLUSTER_RUN", "")
STACK = os.environ.get("ORDERD_STACK", "")
NODES = (1, 2, 3)


def node_sql(n, sql):
    """Rows of sql on node n (the owner's client, -N -B), with wsrep_sync_wait."""
    cmd = os.environ.get("ORDERD_CLUSTER_MYSQL_%d" % n)
    check(cmd, "ORDERD_CLUSTER_MYSQL_%d is not set: run through ./stack cluster suite" % n)
    p = subprocess.run(cmd.split() + ["-N", "-B", "-e", "SET SESSION wsrep_sync_wait = 1; " + sql],
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, "node %d: %s: %s" % (n, sql[:80], p.stderr.strip()[:300]))
    return [line.split("\t") for line in p.stdout.splitlines() if line]


def read_pid(name):
    with open(os.path.join(RUN_DIR, name)) as f:
        return int(f.read().strip())


def stack_up():
    """`./stack cluster up` (no packages, no build): its output."""
    env = dict(os.environ, ORDERD_SKIP_PACKAGES="1", ORDERD_SKIP_BUILD="1")
    p = subprocess.run([STACK, "cluster", "up"], capture_output=True, text=True, env=env,
                       timeout=600)
    log("cluster up (rc %d):\n%s%s" % (p.returncode, p.stdout, p.stderr))
    check(p.returncode == 0, "./stack cluster up failed: %s" % (p.stdout + p.stderr)[-800:])
    return p.stdout + p.stderr


def cluster_audit():
    env = dict(os.environ, ORDERD_SKIP_PACKAGES="1", ORDERD_SKIP_BUILD="1")
    p = subprocess.run([STACK, "cluster", "audit"], capture_output=True, text=True, env=env,
                       timeout=600)
    log("cluster audit (rc %d):\n%s%s" % (p.returncode, p.stdout, p.stderr))
    return p.returncode, p.stdout + p.stderr


class Storm:
    def __init__(self, name, users, pids):
        self.name = name
        self.users = users
        self.uid = {u.id for u in users}
        self.pids = pids
        self.price = dict(zip(pids, PRICES))
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.t0 = None
        self.violations = []
        self.statuses = collections.Counter()      # (kind, status) -> n
        self.unavail = []                          # (t, kind, status, problem type)
        self.acks = []                             # (t, kind) of acknowledged writes
        self.keys = {}                             # (uid, key) -> final status
        self.orders = {}                           # oid -> dict
        self.order_keys = {}                       # (uid, key) -> oid
        self.delta = collections.Counter()         # uid -> net cents by acknowledged moves
        self.stale = 0
        self.readbacks = 0
        self.events = []                           # (t, what)

    def now(self):
        return time.monotonic() - self.t0

    def violate(self, msg):
        with self.lock:
            self.violations.append("%.1fs %s" % (self.now(), msg))

    def event(self, what):
        with self.lock:
            self.events.append((round(self.now(), 2), what))
        log("%s: %.1fs %s" % (self.name, self.now(), what))

    # -- one request, repeated with the same key over 502/503/504 --

    def call(self, kind, user, method, path, body=None, write=True):
        key = new_key(kind) if write else None
        t_start = time.monotonic()
        while True:
            try:
                if body is None:
                    r = user.request(method, path, key=key)
                else:
                    r = user.post_json(path, body, key=key)
            except ConnError as e:
                self.violate("%s: no answer from nginx: %s" % (kind, e))
                r = None
            if r is not None:
                with self.lock:
                    self.statuses[(kind, r.status)] += 1
                if r.status < 500:
                    if write and r.status < 300:
                        with self.lock:
                            self.acks.append((self.now(), kind))
                    if write and r.status < 300:
                        with self.lock:
                            self.keys[(user.id, key)] = r.status
                    return r, key
                ptype = (r.json or {}).get("type") if isinstance(r.json, dict) else None
                with self.lock:
                    self.unavail.append((round(self.now(), 2), kind, r.status, ptype))
                if r.status != 503:
                    self.violate("%s %s: %d %s (only 503 may reach a client)"
                                 % (method, path, r.status, r.text[:200]))
                    return None, key
            if time.monotonic() - t_start > GIVE_UP:
                self.violate("%s %s: no final answer within %.0f s" % (method, path, GIVE_UP))
                return None, key
            time.sleep(0.2 + random.random() * 0.3)

    # -- the clients --

    def client(self, idx):
        rnd = random.Random(SEED * 7919 + idx)
        user = self.users[idx]
        while not self.stop.is_set():
            x = rnd.random()
            if x < 0.35:
                pid = rnd.choice(self.pids)
                q = rnd.randint(1, 2)
                self.created(user, "order", self.call(
                    "order", user, "POST", "/order/", {"product": pid, "quantity": q}),
                    [(pid, q)], "cod", rnd)
            elif x < 0.65:
                items = sorted({p: rnd.randint(1, 2) for p in rnd.sample(self.pids, rnd.randint(1, 2))}.items())
                body = {"items": [{"product": p, "quantity": q} for p, q in items],
                        "pay_method": "balance"}
                self.created(user, "checkout", self.call("checkout", user, "POST", "/checkout/", body),
                             items, "balance", rnd)
            elif x < 0.9:
                to = rnd.choice([u for u in self.users if u is not user])
                amount = rnd.randint(1, 5000)
                r, _ = self.call("transfer", user, "POST", "/transfer/",
                                 {"to": to.username, "amount": amount})
                if r is not None and r.status == 200:
                    with self.lock:
                        self.delta[user.id] -= amount
                        self.delta[to.id] += amount
            else:
                r, _ = self.call("read", user, "GET", "/account/", write=False)

    def created(self, user, kind, rk, items, pm, rnd):
        r, key = rk
        if r is None or r.status != 201:
            if r is not None and r.status != 409:
                self.violate("%s: %d %s" % (kind, r.status, r.text[:200]))
            return
        o = r.json
        oid = o["id"]
        with self.lock:
            if (user.id, key) in self.order_keys and self.order_keys[(user.id, key)] != oid:
                self.violations.append("key %s gave orders %s and %s"
                                       % (key, self.order_keys[(user.id, key)], oid))
            self.order_keys[(user.id, key)] = oid
            self.orders[oid] = {"user": user.id, "lines": items, "pm": pm, "total": o["total_amount"],
                                "paid": False, "aborted": 0, "key": key}
        # read it back at once (through nginx: either pool)
        rb, _ = self.call("readback", user, "GET", "/order/%d/" % oid, write=False)
        with self.lock:
            self.readbacks += 1
        if rb is not None and rb.status == 404:
            with self.lock:
                self.stale += 1
            self.violate("order %d acknowledged but GET gave 404 (stale read)" % oid)
        if pm == "balance" and rnd.random() < 0.8:
            rp, _ = self.call("pay", user, "POST", "/order/%d/pay/" % oid)
            if rp is not None and rp.status == 200:
                with self.lock:
                    self.orders[oid]["paid"] = True
                    self.delta[user.id] -= o["total_amount"]
        if rnd.random() < 0.35:
            outs = T.at_once(3, lambda i: self.call("abort", user, "POST", "/order/%d/abort/" % oid))
            ok = sum(1 for x in outs if isinstance(x, tuple) and x[0] is not None and x[0].status == 200)
            with self.lock:
                self.orders[oid]["aborted"] = ok
                if ok and self.orders[oid]["paid"]:
                    self.delta[user.id] += o["total_amount"]
            if ok > 1:
                self.violate("order %d: %d aborts answered 200" % (oid, ok))

    # -- the kill --

    def run(self, kill, restore):
        self.t0 = time.monotonic()
        ts = [threading.Thread(target=self.client, args=(i,), daemon=True)
              for i in range(len(self.users))]
        for t in ts:
            t.start()
        time.sleep(KILL_AT)
        self.t_kill = self.now()
        self.event("kill: %s" % kill())
        time.sleep(DOWN_FOR)
        self.event("restoring")
        self.up_out = restore()
        self.t_back = self.now()
        self.event("back")
        left = SECONDS - self.now()
        if left > 0:
            time.sleep(left)
        self.stop.set()
        for t in ts:
            t.join(GIVE_UP + 30)
        self.t_end = self.now()

    # -- the checks --

    def verify(self):
        v = self.violations
        # 503s: only between the kill and WINDOW s after the part is back
        late = [u for u in self.unavail if not (self.t_kill - 0.5 <= u[0] <= self.t_back + WINDOW)]
        if late:
            v.append("%d 503s outside [kill, back + %.0f s], e.g. %s" % (len(late), WINDOW, late[:5]))
        fivehundreds = [k for k in self.statuses if k[1] == 500]
        if fivehundreds:
            v.append("500 answers: %s" % fivehundreds)
        after = [u[0] for u in self.unavail if u[0] >= self.t_kill - 0.5]
        self.failover = (max(after) - self.t_kill) if after else 0.0
        acks = sorted(t for t, _ in self.acks)
        gap, gap_at, prev = 0.0, None, None
        for t in acks:
            if prev is not None and t - prev > gap and t > self.t_kill - 1:
                gap, gap_at = t - prev, prev
            prev = t
        self.write_gap = gap
        self.write_gap_at = gap_at
        # the database, node by node
        uids = ",".join(str(u) for u in sorted(self.uid))
        order_rows = {}
        for n in NODES:
            rows = node_sql(n, "SELECT id, status, pay_method, paid_at IS NOT NULL FROM orders "
                               "WHERE user_id IN (%s)" % uids)
            order_rows[n] = {int(r[0]): (r[1], r[3] == "1") for r in rows}
            missing = [o for o in self.orders if o not in order_rows[n]]
            if missing:
                v.append("node %d: %d acknowledged orders missing, e.g. %s"
                         % (n, len(missing), missing[:8]))
            extra = [o for o in order_rows[n] if o not in self.orders]
            if extra:
                v.append("node %d: %d orders no acknowledged key made (more than one effect "
                         "per key?), e.g. %s" % (n, len(extra), extra[:8]))
            for oid, o in self.orders.items():
                st = order_rows[n].get(oid)
                if st is None:
                    continue
                if o["aborted"] and st[0] != "aborted":
                    v.append("node %d: order %d was aborted (200) but is %s" % (n, oid, st[0]))
                elif not o["aborted"] and st[0] == "aborted":
                    v.append("node %d: order %d is aborted, no abort answered 200" % (n, oid))
                if o["paid"] and not st[1]:
                    v.append("node %d: order %d was paid (200) but has no paid_at" % (n, oid))
            keys = node_sql(n, "SELECT user_id, idem_key, status FROM idempotency "
                               "WHERE user_id IN (%s)" % uids)
            have = {(int(r[0]), r[1]): r[2] for r in keys}
            lost = [k for k, st in self.keys.items() if k not in have]
            if lost:
                v.append("node %d: %d acknowledged idempotency keys missing, e.g. %s"
                         % (n, len(lost), lost[:5]))
            # stock: no oversell, back exactly once per abort
            stock = {int(r[0]): int(r[1]) for r in node_sql(
                n, "SELECT id, stock FROM products WHERE id IN (%s)" % ",".join(map(str, self.pids)))}
            held = collections.Counter()
            for o in self.orders.values():
                if not o["aborted"]:
                    for p, q in o["lines"]:
                        held[p] += q
            for p in self.pids:
                want = STOCK - held[p]
                if stock.get(p) != want:
                    v.append("node %d: product %d stock %s, expected %d (initial %d - %d held)"
                             % (n, p, stock.get(p), want, STOCK, held[p]))
                if stock.get(p, 0) < 0:
                    v.append("node %d: product %d oversold: stock %s" % (n, p, stock.get(p)))
            bal = {int(r[0]): int(r[1]) for r in node_sql(
                n, "SELECT id, balance FROM users WHERE id IN (%s)" % uids)}
            for u in self.uid:
                want = CREDIT + self.delta[u]
                if bal.get(u) != want:
                    v.append("node %d: user %d balance %s, expected %d by the answers"
                             % (n, u, bal.get(u), want))
        rc, out = cluster_audit()
        if rc != 0:
            v.append("./stack cluster audit exit %d: %s" % (rc, out[-600:]))
        return v

    def report(self):
        n_503 = len(self.unavail)
        s = {
            "seconds": round(self.t_end, 1), "kill_at": round(self.t_kill, 2),
            "back_at": round(self.t_back, 2), "acknowledged_writes": len(self.acks),
            "orders": len(self.orders), "aborted": sum(1 for o in self.orders.values() if o["aborted"]),
            "paid": sum(1 for o in self.orders.values() if o["paid"]), "answers_503": n_503,
            "failover_s_last_503": round(self.failover, 2),
            "longest_write_gap_s": round(self.write_gap, 2),
            "write_gap_from_s": round(self.write_gap_at or 0, 2),
            "readbacks": self.readbacks, "stale_reads": self.stale,
            "statuses": {"%s %d" % k: n for k, n in sorted(self.statuses.items())},
            "events": self.events,
            "problems_503": collections.Counter(u[3] for u in self.unavail),
        }
        artifact("cluster-storm-%s.json" % self.name, s)
        log("%s: %s" % (self.name, s))
        print("  %s: %d writes acknowledged (%.1f/s), %d orders (%d aborted, %d paid); kill at "
              "%.1fs, back at %.1fs; %d 503s, last %.1f s after the kill; longest gap between "
              "acknowledged writes %.1f s; %d read-backs, %d stale"
              % (self.name, len(self.acks), len(self.acks) / max(self.t_end, 1), len(self.orders),
                 s["aborted"], s["paid"], self.t_kill, self.t_back, n_503, self.failover,
                 self.write_gap, self.readbacks, self.stale), flush=True)


def setup(name):
    a = admin()
    pids = [T.assert_json(T.post_json("/product/", {"name": T.unique_name("cl"), "price": price,
                                                    "stock": STOCK}), 201, "product")["id"]
            for price in PRICES]
    users = new_users(CLIENTS, "cl%s" % name[:3])
    for u in users:
        a.must_credit(u.username, CREDIT)
    return users, pids


def storm(name, kill, restore):
    check(STACK and RUN_DIR, "run through ./stack cluster suite (ORDERD_STACK, ORDERD_CLUSTER_RUN)")
    users, pids = setup(name)
    s = Storm(name, users, pids)
    s.run(kill, restore)
    v = s.verify()
    s.report()
    check(not v, "%s: %d violations:\n%s" % (name, len(v), summarize(v)))
    return s


def kill_node1():
    pid = read_pid("galera-1.pid")
    os.kill(pid, signal.SIGKILL)
    return "node 1 (mariadbd pid %d) SIGKILLed" % pid


@test
def node_kill_storm_loses_nothing_and_node_rejoins_by_ist():
    holder = {}

    def restore():
        out = stack_up()
        holder["out"] = out
        return out
    storm("node-kill", kill_node1, restore)
    m = re.search(r"node 1 is Synced after (\d+) s \(([^)]*)\)", holder["out"])
    check(m, "cluster up did not restart node 1:\n%s" % holder["out"][-600:])
    check(m.group(2) == "IST", "node 1 rejoined by %s, not IST" % m.group(2))


@test
def pool_kill_storm_loses_nothing():
    def kill():
        pid = read_pid("orderd-a.pid")
        kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        for p in [pid] + [int(k) for k in kids]:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return "pool a (master %d and %d children) SIGKILLed" % (pid, len(kids))
    storm("pool-kill", kill, stack_up)


@test
def all_nodes_killed_at_once_lose_no_acknowledged_write():
    def kill():
        pids = [read_pid("galera-%d.pid" % n) for n in NODES]
        for p in pids:
            os.kill(p, signal.SIGKILL)
        return "nodes 1-3 (%s) SIGKILLed at once" % pids
    storm("all-nodes-kill", kill, stack_up)


POOL_A = os.path.join(RUN_DIR, "orderd-a.sock")


def pool_a_nodes():
    """The nodes pool a has connections on (`./stack cluster status`)."""
    env = dict(os.environ, ORDERD_SKIP_PACKAGES="1", ORDERD_SKIP_BUILD="1")
    p = subprocess.run([STACK, "cluster", "status"], capture_output=True, text=True, env=env,
                       timeout=120)
    m = re.search(r"orderd-a: running .*writes to (.*)", p.stdout + p.stderr)
    check(m, "cluster status names no node for pool a:\n%s" % (p.stdout + p.stderr)[-600:])
    log("pool a: %s" % m.group(1))
    return sorted(int(n) for n in re.findall(r"node (\d+) \(", m.group(1)))


def through_pool_a(token, count):
    """count reads that need the database, straight to pool a: statuses."""
    return [fcgi_request(POOL_A, "GET", "/order/?limit=1", b"", None,
                         extra_params={"HTTP_AUTHORIZATION": "Bearer " + token},
                         timeout=15).status for _ in range(count)]


def pool_a_children():
    master = read_pid("orderd-a.pid")
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    kids = []
    for k in out.split():
        with open("/proc/%s/cmdline" % k, "rb") as f:
            if b"reaper" not in f.read():
                kids.append(int(k))
    return master, kids


@test
def a_worker_replaced_after_a_failover_writes_where_its_pool_writes():
    # A worker that replaces one (a crash, --max-requests) must join the node
    # its siblings moved to, not the one its master chose at start: that node
    # is back and synced, and a second writer gives certification conflicts.
    token = admin().token
    # Pool a restarted: its master's choice is the node the cluster writes to.
    master, kids = pool_a_children()
    for p in [master] + kids:
        os.kill(p, signal.SIGKILL)
    stack_up()
    check(all(s == 200 for s in through_pool_a(token, 20)), "pool a did not answer after its restart")
    first = pool_a_nodes()
    check(len(first) == 1, "pool a writes to nodes %s after its restart, not one" % first)
    w = first[0]
    # Its node killed: the workers move to another one.
    os.kill(read_pid("galera-%d.pid" % w), signal.SIGKILL)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:
        try:
            if through_pool_a(token, 1) == [200]:
                break
        except (OSError, ConnError):
            pass
        time.sleep(0.2)
    through_pool_a(token, 40)
    moved = pool_a_nodes()
    check(len(moved) == 1 and moved[0] != w, "after node %d was killed pool a writes to %s" % (w, moved))
    # The node back (synced), then one worker replaced.
    stack_up()
    master, kids = pool_a_children()
    check(kids, "pool a has no workers")
    os.kill(kids[0], signal.SIGKILL)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 10 and (kids[0] in pool_a_children()[1] or
                                         len(pool_a_children()[1]) < len(kids)):
        time.sleep(0.1)
    statuses = through_pool_a(token, 60)
    check(all(s == 200 for s in statuses), "pool a's reads after the respawn: %s" % statuses)
    now = pool_a_nodes()
    print("  pool a wrote to node %d, then to node %d after node %d was killed; after a worker "
          "was replaced: %s" % (w, moved[0], w, now), flush=True)
    check(now == moved, "a replaced worker writes to node(s) %s while its pool writes to node %d"
          % (now, moved[0]))


if __name__ == "__main__":
    run()
