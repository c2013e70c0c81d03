#!/usr/bin/env python3
"""Checkout storm: overlapping multi-line carts, duplicate aborts, restocks.

Many clients check out carts of 2..4 elements (random order, sometimes naming
a product twice, JSON or form encoded, now and then a one-line POST /order/)
over six products with stock 2..6 that belong to two goods, so product and
goods rows are both contended. Every created order is aborted by 2 or 3
simultaneous requests released by a Barrier (PUT, POST, form _method=PUT,
X-HTTP-Method-Override), at once or a little later; some orders are kept. A
restocker adds a few units now and then, and a monitor reads the products all
along.

Held against the server: no 5xx at all, and in particular no 503 (a deadlock
or lock wait timeout must be retried by the server, never reach a client); no
connection errors; every 201 holds exactly the merged cart at the product's
price, every 409 names a product of the cart with 0 <= available < wanted;
stock never negative on any read and stock + sales always equal initial +
restocks; exactly one 200 per aborted order, the other aborts 409
order-state; at the end stock = initial + restocked - units held by orders not
aborted, by the clients' tally and by the database's own lines, sales = units
held, goods sales = the sum over its products, and `orderd audit` is clean.

The runner runs this file once per locking strategy; ORDERD_LOCK (default
forupdate) says which one the pool runs and is logged with the throughput.
Knobs: ORDERD_STORM_SECONDS (default 20), ORDERD_STORM_CLIENTS (default 24)."""

import collections
import json
import os
import random
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from orderd_test import (  # noqa: E402
    ABORT_WAYS, FORM_CT, FREIGHT, HTTP_TIMEOUT, JSON_CT, PROBLEM_CT, SEED, ConnError, Fail,
    abort, artifact, assert_json, at_once, audit_rows, audit_trouble, check, db, eq, get, id_list,
    is_int, log, make_product, post_json, post_raw, problem_issues, read_pidfile, run, summarize,
    test, unique_name)

SECONDS = float(os.environ.get("ORDERD_STORM_SECONDS", "20"))
CLIENTS = int(os.environ.get("ORDERD_STORM_CLIENTS", "24"))
LOCK = os.environ.get("ORDERD_LOCK") or "forupdate"


def pool_lock_strategy():
    """What the live pool master was started with (--lock or ORDERD_LOCK), if readable."""
    try:
        pid = read_pidfile()
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = f.read().decode(errors="replace").split("\0")
        for i, a in enumerate(argv):
            if a == "--lock" and i + 1 < len(argv):
                return argv[i + 1] + " (--lock)"
            if a.startswith("--lock="):
                return a[7:] + " (--lock)"
        with open("/proc/%d/environ" % pid, "rb") as f:
            for kv in f.read().decode(errors="replace").split("\0"):
                if kv.startswith("ORDERD_LOCK="):
                    return kv[12:] + " (its ORDERD_LOCK)"
        return "forupdate (default: no --lock, no ORDERD_LOCK)"
    except (Fail, OSError) as e:
        return "unknown (%s)" % e


def merged(items):
    tot = collections.OrderedDict()
    for pid, q in items:
        tot[pid] = tot.get(pid, 0) + q
    return sorted(tot.items())


class CheckoutStorm:
    """Clients check out random carts until stopped; see the module doc."""

    def __init__(self, name, products, goods_of, clients=CLIENTS, seed=None):
        self.name = name
        self.initial = {p["id"]: p["stock"] for p in products}
        self.price = {p["id"]: p["price"] for p in products}
        self.pids = sorted(self.initial)
        self.goods_of = dict(goods_of)            # product -> goods id
        self.gids = sorted(set(self.goods_of.values()))
        self.clients = clients
        self.seed = SEED if seed is None else seed
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.threads = []
        # the tally, from the answers only
        self.orders = {}                          # id -> {"lines": [[p, q]], "aborts": [...]}
        self.ordered = collections.Counter()      # product -> units in 201 answers
        self.restored = collections.Counter()     # product -> units of aborts answered 200
        self.restock_started = collections.Counter()
        self.restock_done = collections.Counter()
        self.n_restocks = 0
        self.out_of_stock = collections.Counter()  # product named by a 409
        self.carts_with_repeats = 0
        self.statuses = collections.Counter()     # (kind, status) -> count
        self.unavailable = []                     # 503 answers: a deadlock reached a client
        self.violations = []
        self.monitor_reads = 0
        self.min_stock = dict(self.initial)
        self.t0 = self.t1 = None

    # -- running --

    def violate(self, msg):
        with self.lock:
            self.violations.append(msg)

    def run(self, seconds):
        self.t0 = time.monotonic()
        for i in range(self.clients):
            self.threads.append(threading.Thread(target=self._client, args=(i,),
                                                 name="cs-%d" % i, daemon=True))
        self.threads.append(threading.Thread(target=self._restocker, name="restock", daemon=True))
        self.threads.append(threading.Thread(target=self._monitor, name="monitor", daemon=True))
        for t in self.threads:
            t.start()
        self.stop_event.wait(seconds)
        self.stop_event.set()
        for t in self.threads:
            t.join(HTTP_TIMEOUT * 3)
            if t.is_alive():
                self.violate("thread %s still running long after the storm stopped" % t.name)
        self.t1 = time.monotonic()

    def _call(self, kind, what, fn):
        """One request: the Response, or None when it had no usable answer
        (each such case is a violation: nothing may be lost in this storm)."""
        try:
            r = fn()
        except ConnError as e:
            with self.lock:
                self.statuses[(kind, "conn-error")] += 1
            self.violate("%s: connection error: %s" % (what, e))
            return None
        with self.lock:
            self.statuses[(kind, r.status)] += 1
        if r.status == 503:
            with self.lock:
                self.unavailable.append(what)
            self.violate("%s: 503 reached the client (a deadlock or lock wait timeout must be "
                         "retried by the server, not answered): %s" % (what, r.describe()))
            return None
        if r.status >= 500:
            self.violate("%s: server error: %s" % (what, r.describe()))
            return None
        return r

    def _cart(self, rnd):
        n = rnd.randint(2, 4)
        pids = rnd.sample(self.pids, min(n, len(self.pids)))
        items = [(p, rnd.randint(1, 2)) for p in pids]
        if rnd.random() < 0.3:          # name one product twice
            items[-1] = (items[0][0], rnd.randint(1, 2))
        rnd.shuffle(items)
        return items

    def _send_cart(self, rnd, items, pm):
        if rnd.random() < 0.5:
            els = []
            for p, q in items:
                el = {"product": p if rnd.random() < 0.5 else str(p)}
                if q != 1 or rnd.random() < 0.5:
                    el["quantity"] = q if rnd.random() < 0.5 else str(q)
                els.append(el)
            body = json.dumps({"items": els, "pay_method": pm}).encode()
            return lambda: post_raw("/checkout/", body, JSON_CT)
        pairs, idx = [], 0
        for p, q in items:
            idx += rnd.choice((1, 1, 1, 3))   # gaps allowed
            pairs.append(("items[%d][product]" % idx, str(p)))
            if q != 1 or rnd.random() < 0.5:
                pairs.append(("items[%d][quantity]" % idx, str(q)))
        rnd.shuffle(pairs)
        pairs.append(("pay_method", pm))
        body = urllib.parse.urlencode(pairs).encode()
        return lambda: post_raw("/checkout/", body, FORM_CT)

    def _client(self, idx):
        rnd = random.Random(self.seed * 1013 + idx)
        held = []
        while not self.stop_event.is_set():
            if rnd.random() < 0.1:
                p = rnd.choice(self.pids)
                items, pm = [(p, rnd.randint(1, 2))], "cod"
                body = {"product": p, "quantity": items[0][1]}
                fn = lambda: post_json("/order/", body)
                kind = "order"
            else:
                items, pm = self._cart(rnd), rnd.choice(("cod", "balance"))
                fn = self._send_cart(rnd, items, pm)
                kind = "checkout"
            lines = merged(items)
            if len(lines) < len(items):
                with self.lock:
                    self.carts_with_repeats += 1
            what = "%s %r" % (kind, items)
            r = self._call(kind, what, fn)
            if r is None:
                continue
            if r.status == 201:
                oid = self._created(what, r, lines, pm)
                if oid is None:
                    continue
                if rnd.random() < 0.5:
                    self._abort_at_once(oid, rnd)
                else:
                    held.append(oid)
            elif r.status == 409:
                self._out_of_stock(what, r, lines)
            else:
                self.violate("%s: unexpected answer %s" % (what, r.describe()))
            # abort an order kept earlier, now and then; the rest stay placed
            if held and (len(held) > 2 or rnd.random() < 0.2):
                self._abort_at_once(held.pop(0), rnd)

    def _created(self, what, r, lines, pm):
        o = r.json
        want = [{"product": p, "quantity": q, "price": self.price[p]} for p, q in lines]
        try:
            check(isinstance(o, dict) and is_int(o.get("id")), "no order id")
            check(o.get("status") == "placed", "status %r" % o.get("status"))
            check(o.get("pay_method") == pm, "pay_method %r, sent %r" % (o.get("pay_method"), pm))
            check(o.get("lines") == want, "lines %r, expected %r" % (o.get("lines"), want))
            check(o.get("total_count") == sum(q for _, q in lines), "total_count %r"
                  % o.get("total_count"))
            check(o.get("freight") == FREIGHT, "freight %r" % o.get("freight"))
            amount = sum(q * self.price[p] for p, q in lines) + FREIGHT
            check(o.get("total_amount") == amount, "total_amount %r, expected %d"
                  % (o.get("total_amount"), amount))
        except Fail as e:
            self.violate("%s: 201 with a bad order (%s): %s" % (what, e, r.describe()))
            return None
        oid = o["id"]
        with self.lock:
            if oid in self.orders:
                self.violations.append("%s: order id %d given out twice" % (what, oid))
                return None
            self.orders[oid] = {"lines": [list(l) for l in lines], "aborts": []}
            for p, q in lines:
                self.ordered[p] += q
        return oid

    def _out_of_stock(self, what, r, lines):
        issues = problem_issues(r, 409, "/problems/out-of-stock")
        p = r.json if isinstance(r.json, dict) else {}
        wanted = dict(lines)
        pid, avail = p.get("product"), p.get("available")
        if pid not in wanted:
            issues.append("member product %r is not in the cart %r" % (pid, lines))
        elif not is_int(avail) or not 0 <= avail < wanted[pid]:
            issues.append("member available %r, expected an integer in 0..%d (it was short)"
                          % (avail, wanted[pid] - 1))
        if issues:
            self.violate("%s: bad 409: %s; %s" % (what, "; ".join(issues), r.describe()))
        else:
            with self.lock:
                self.out_of_stock[pid] += 1

    def _abort_at_once(self, oid, rnd):
        n = rnd.choice((2, 3))
        ways = [rnd.choice(ABORT_WAYS) for _ in range(n)]
        lines = self.orders[oid]["lines"]

        def one(i):
            what = "abort %d/%d of order %d (%s)" % (i + 1, n, oid, ways[i])
            return what, self._call("abort", what, lambda: abort(oid, ways[i]))
        results = at_once(n, one, HTTP_TIMEOUT * 2)
        labels = []
        for res in results:
            if res is None or res[1] is None:
                labels.append("lost")
                continue
            what, r = res
            if r.status == 200:
                o = r.json if isinstance(r.json, dict) else {}
                want = [{"product": p, "quantity": q, "price": self.price[p]} for p, q in lines]
                if o.get("id") != oid or o.get("status") != "aborted" or o.get("lines") != want:
                    self.violate("%s: 200 but not this order aborted with its lines: %s"
                                 % (what, r.describe()))
                labels.append("aborted")
            elif r.status == 409:
                p = r.json if isinstance(r.json, dict) else {}
                issues = problem_issues(r, 409, "/problems/order-state")
                if p.get("state") != "aborted" or p.get("order") != oid:
                    issues.append("members order/state %r/%r, expected %d/'aborted'"
                                  % (p.get("order"), p.get("state"), oid))
                if issues:
                    self.violate("%s: bad 409: %s; %s" % (what, "; ".join(issues), r.describe()))
                labels.append("conflict")
            else:
                self.violate("%s: unexpected answer %s" % (what, r.describe()))
                labels.append("bad %d" % r.status)
        n_ok = labels.count("aborted")
        with self.lock:
            self.orders[oid]["aborts"] = labels
            if n_ok >= 1:
                for p, q in lines:
                    self.restored[p] += q
        if n_ok > 1:
            self.violate("order %d (lines %r): %d of %d simultaneous aborts succeeded, expected "
                         "exactly 1: %s" % (oid, lines, n_ok, n, labels))
        elif n_ok == 0 and "lost" not in labels:
            self.violate("order %d (lines %r): none of %d simultaneous aborts succeeded: %s"
                         % (oid, lines, n, labels))
        elif n_ok == 1 and labels.count("conflict") != n - 1 and "lost" not in labels:
            self.violate("order %d: expected one 200 and %d x 409 order-state, got %s"
                         % (oid, n - 1, labels))

    def _restocker(self):
        rnd = random.Random(self.seed * 7919 + 1)
        while not self.stop_event.wait(rnd.uniform(0.3, 1.2)):
            pid, q = rnd.choice(self.pids), rnd.randint(1, 3)
            with self.lock:
                self.restock_started[pid] += q
            what = "restock product %d +%d" % (pid, q)
            r = self._call("restock", what,
                           lambda: post_json("/product/%d/restock/" % pid, {"quantity": q}))
            if r is None:
                continue
            if r.status != 200 or not isinstance(r.json, dict) or r.json.get("id") != pid:
                self.violate("%s: unexpected answer %s" % (what, r.describe()))
                continue
            with self.lock:
                self.restock_done[pid] += q
                self.n_restocks += 1

    def _monitor(self):
        while not self.stop_event.is_set():
            for pid in self.pids:
                with self.lock:
                    done_before = self.restock_done[pid]
                try:
                    r = get("/product/%d/" % pid)
                except ConnError as e:
                    self.violate("monitor GET product %d: connection error: %s" % (pid, e))
                    continue
                with self.lock:
                    started_after = self.restock_started[pid]
                    self.statuses[("monitor", r.status)] += 1
                if r.status != 200 or not isinstance(r.json, dict):
                    self.violate("monitor GET product %d: %s" % (pid, r.describe()))
                    continue
                st, sa = r.json.get("stock"), r.json.get("sales")
                if not (is_int(st) and is_int(sa)):
                    self.violate("monitor: product %d stock/sales not integers: %r" % (pid, r.json))
                    continue
                with self.lock:
                    self.monitor_reads += 1
                    self.min_stock[pid] = min(self.min_stock[pid], st)
                lo = self.initial[pid] + done_before
                hi = self.initial[pid] + started_after
                if st < 0 or sa < 0:
                    self.violate("monitor: product %d oversold: stock %d, sales %d" % (pid, st, sa))
                elif not lo <= st + sa <= hi:
                    self.violate("monitor: product %d stock %d + sales %d = %d, expected initial "
                                 "+ restocks in %d..%d" % (pid, st, sa, st + sa, lo, hi))
            for gid in self.gids:
                try:
                    r = get("/goods/%d/" % gid)
                except ConnError as e:
                    self.violate("monitor GET goods %d: connection error: %s" % (gid, e))
                    continue
                if r.status != 200 or not isinstance(r.json, dict) or \
                        not is_int(r.json.get("sales")) or r.json["sales"] < 0:
                    self.violate("monitor GET goods %d: %s" % (gid, r.describe()))
            time.sleep(0.02)

    # -- checking --

    def summary(self):
        secs = (self.t1 or time.monotonic()) - (self.t0 or time.monotonic())
        by_kind = collections.Counter()
        for (kind, _), n in self.statuses.items():
            by_kind[kind] += n
        n_req = sum(v for k, v in by_kind.items() if k != "monitor")
        created = len(self.orders)
        aborted = sum(1 for o in self.orders.values() if "aborted" in o["aborts"])
        return ("%s [lock %s]: %.1fs, %d clients, %d writes (%.0f/s) + %d monitor reads; "
                "%d carts sent (%.0f/s), %d orders created (%.0f/s, %d units), %d aborted by "
                "%d abort requests, %d out-of-stock 409s, %d restocks, %d carts with a repeat, "
                "%d 503s, seed %d"
                % (self.name, LOCK, secs, self.clients, n_req, n_req / secs if secs else 0,
                   by_kind["monitor"], by_kind["checkout"] + by_kind["order"],
                   (by_kind["checkout"] + by_kind["order"]) / secs if secs else 0, created,
                   created / secs if secs else 0, sum(self.ordered.values()), aborted,
                   by_kind["abort"], sum(self.out_of_stock.values()), self.n_restocks,
                   self.carts_with_repeats, len(self.unavailable), self.seed))

    def db_orders(self):
        rows = db("SELECT o.id, o.status, o.aborted_at IS NULL, l.product_id, l.quantity, l.price "
                  "FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE o.id IN "
                  "(SELECT order_id FROM order_lines WHERE product_id IN (%s)) ORDER BY o.id, "
                  "l.product_id" % id_list(self.pids))
        out = {}
        for oid, status, open_, pid, q, price in rows:
            o = out.setdefault(int(oid), {"status": status, "open": open_ == "1", "lines": []})
            o["lines"].append([int(pid), int(q), int(price)])
        return out

    def verify(self):
        v = list(self.violations)
        pv = []
        final = {}
        for pid in self.pids:
            p = assert_json(get("/product/%d/" % pid), 200, "final GET /product/%d/" % pid)
            final[pid] = (p["stock"], p["sales"])
        gfinal = {}
        for gid in self.gids:
            g = assert_json(get("/goods/%d/" % gid), 200, "final GET /goods/%d/" % gid)
            gfinal[gid] = g["sales"]
            eq(g["products"], sorted(p for p in self.pids if self.goods_of[p] == gid),
               "products of goods %d" % gid)
        dbo = self.db_orders()

        # every order a client was given is in the tables, as answered
        for oid, o in sorted(self.orders.items()):
            row = dbo.get(oid)
            if row is None:
                v.append("order %d was answered 201 but is not in the tables" % oid)
                continue
            want = [[p, q, self.price[p]] for p, q in o["lines"]]
            if row["lines"] != want:
                v.append("order %d: lines in the table %r, the answer said %r"
                         % (oid, row["lines"], want))
            aborted = "aborted" in o["aborts"]
            if (row["status"] == "aborted") != aborted:
                v.append("order %d: status %r in the table, abort answers %r"
                         % (oid, row["status"], o["aborts"]))
            if row["open"] == (row["status"] == "aborted"):
                v.append("order %d: status %r but aborted_at %s" % (
                    oid, row["status"], "NULL" if row["open"] else "set"))
        for oid in sorted(set(dbo) - set(self.orders)):
            v.append("order %d (%s, lines %r) holds storm products but no client was answered "
                     "201 for it" % (oid, dbo[oid]["status"], dbo[oid]["lines"]))

        held_db = collections.Counter()
        for o in dbo.values():
            if o["status"] != "aborted":
                for p, q, _ in o["lines"]:
                    held_db[p] += q
        rdb = {int(p): int(q) for p, q in db(
            "SELECT product_id, SUM(quantity) FROM restocks WHERE product_id IN (%s) "
            "GROUP BY product_id" % id_list(self.pids))}
        idb = {int(p): int(s) for p, s in db(
            "SELECT id, initial_stock FROM products WHERE id IN (%s)" % id_list(self.pids))}

        rows = []
        for pid in self.pids:
            init, st, sa = self.initial[pid], final[pid][0], final[pid][1]
            held = self.ordered[pid] - self.restored[pid]
            expect = init + self.restock_done[pid] - held
            rows.append({"product": pid, "goods": self.goods_of[pid], "initial": init,
                         "restocked": self.restock_done[pid], "ordered": self.ordered[pid],
                         "restored": self.restored[pid], "held_tally": held,
                         "held_db": held_db[pid], "expected_stock": expect, "stock": st,
                         "sales": sa, "min_stock_seen": self.min_stock[pid],
                         "out_of_stock_409": self.out_of_stock[pid]})
            if st < 0 or sa < 0 or self.min_stock[pid] < 0:
                pv.append("product %d: stock %d (lowest seen %d), sales %d: oversold"
                          % (pid, st, self.min_stock[pid], sa))
            if st != expect:
                pv.append("product %d: stock %d, but the clients' tally says initial %d + "
                          "restocked %d - (ordered %d - restored %d) = %d"
                          % (pid, st, init, self.restock_done[pid], self.ordered[pid],
                             self.restored[pid], expect))
            if sa != held:
                pv.append("product %d: sales %d, but the clients' tally holds %d units"
                          % (pid, sa, held))
            if idb.get(pid) != init or rdb.get(pid, 0) != self.restock_done[pid]:
                pv.append("product %d: initial_stock %r and restocks %r in the tables, the "
                          "clients made %d and restocked %d"
                          % (pid, idb.get(pid), rdb.get(pid, 0), init, self.restock_done[pid]))
            if st != init + rdb.get(pid, 0) - held_db[pid]:
                pv.append("product %d: stock %d, but initial %d + restocks %d - %d units on "
                          "lines of orders not aborted = %d"
                          % (pid, st, init, rdb.get(pid, 0), held_db[pid],
                             init + rdb.get(pid, 0) - held_db[pid]))
            if sa != held_db[pid]:
                pv.append("product %d: sales %d, but lines of orders not aborted hold %d"
                          % (pid, sa, held_db[pid]))
        for gid in self.gids:
            mine = [p for p in self.pids if self.goods_of[p] == gid]
            s = sum(final[p][1] for p in mine)
            if gfinal[gid] != s:
                pv.append("goods %d: sales %d, but its products' sales add up to %d"
                          % (gid, gfinal[gid], s))
        a = audit_trouble(audit_rows(self.pids, self.gids, self.orders))
        if a:
            pv.append(a)

        path = artifact("%s-%s.json" % (self.name, LOCK), {
            "summary": self.summary(), "products": rows, "goods": gfinal,
            "violations": pv + v, "unavailable": self.unavailable,
            "statuses": {"%s %s" % k: n for k, n in self.statuses.items()},
            "orders": {str(k): o for k, o in self.orders.items()}})
        log(self.summary())
        for row in rows:
            log("  %s" % row)
        log("  goods sales: %r" % gfinal)
        if pv or v:
            parts = pv + (["during the storm and in the orders table, by kind:\n    "
                           + summarize(v)] if v else [])
            raise Fail("%s: %d violation(s) (all in %s):\n    %s\n    [%s]"
                       % (self.name, len(pv) + len(v), path, "\n    ".join(parts),
                          self.summary()))
        check(self.orders, "%s: not a single order was created; the storm tested nothing (%s)"
              % (self.name, self.summary()))
        check(any("aborted" in o["aborts"] for o in self.orders.values()),
              "%s: no order was aborted; the storm tested no abort (%s)"
              % (self.name, self.summary()))
        return rows


@test
def checkout_storm_overlapping_carts_duplicate_aborts_restocks():
    rnd = random.Random(SEED)
    log("lock strategy: ORDERD_LOCK=%s; the pool master runs %s" % (LOCK, pool_lock_strategy()))
    g1 = assert_json(post_json("/goods/", {"name": unique_name("storm-g")}), 201, "goods 1")
    g2 = assert_json(post_json("/goods/", {"name": unique_name("storm-g")}), 201, "goods 2")
    products, goods_of = [], {}
    for i in range(6):
        gid = g1["id"] if i < 4 else g2["id"]
        p = make_product(stock=rnd.randint(2, 6), price=rnd.randint(100, 9999),
                         name=unique_name("cstorm"), goods=gid)
        products.append(p)
        goods_of[p["id"]] = gid
    log("storm products (id: initial stock, goods): %r"
        % {p["id"]: (p["stock"], goods_of[p["id"]]) for p in products})
    storm = CheckoutStorm("checkout-storm", products, goods_of)
    storm.run(SECONDS)
    storm.verify()


if __name__ == "__main__":
    run()
