#!/usr/bin/env python3
"""The expiry storm: orders, pays and cancels racing the pool's
reaper with a payment window of 1 s.

The suite restarts the stack's pool with ORDERD_HOLD=1 (hold.use_pool; the
lock strategy and every other setting stay as found) and puts it back at the
end. ORDERD_HOLD_STORM_USERS (default 8) users, credited by the admin, each
run a client for ORDERD_HOLD_STORM_SECONDS (default 15): balance checkouts
(and some cash-on-delivery ones) of products with small stock; each new order
is then, after a random delay of up to ~1.6 s (so before, at and after its
deadline), paid, cancelled, paid and cancelled at once, paid twice at once,
or left to expire. Every answer is recorded per order.

Then, after the window has passed for every order: no 5xx; every balance
order is paid, aborted or expired (none left placed), every cod order placed
or aborted (never expired); no order is both paid and expired (no paid_at, no
payment or refund in the ledger, no 200 to a pay or cancel of an order that
ended expired); an order whose pay got a 200 ends paid (or aborted with its
refund when a cancel came after); a cancel's 200 means aborted; at most one
200 per order for pays and for cancels; every product's stock and sales =
initial - units of its orders not aborted or expired; every user's balance =
credit - totals of the orders that ended paid; `orderd audit` is clean; and
the storm did make expiries, payments and cancels (and late pays refused)."""

import collections
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import orderd_test as T  # noqa: E402
from orderd_test import (  # noqa: E402
    SEED, ConnError, Fail, artifact, check, db, get_product, id_list, log, summarize, test)
from accounts import ORDER_STATE, FUNDS, admin, new_users  # noqa: E402
import hold as H  # noqa: E402

USERS = int(os.environ.get("ORDERD_HOLD_STORM_USERS", "8"))
SECONDS = float(os.environ.get("ORDERD_HOLD_STORM_SECONDS", "15"))
HOLD = 1
CREDIT = 10 ** 9
STOCK = 150
PRODUCTS = 4
TOO_MANY = "/problems/too-many-open-orders"
OUT_OF_STOCK = "/problems/out-of-stock"


class Order:
    def __init__(self, oid, user, pm, total, lines):
        self.id = oid
        self.user = user
        self.pm = pm
        self.total = total
        self.lines = lines
        self.action = None
        self.pays = []          # HTTP statuses (or "conn") of its pays
        self.aborts = []
        self.pay_states = []    # "state" of each 409 order-state to a pay


class Storm:
    def __init__(self, users, pids, seed):
        self.users = users
        self.pids = pids
        self.seed = seed
        self.lock = threading.Lock()
        self.orders = {}
        self.violations = []
        self.answers = collections.Counter()
        self.actions = []
        self.stop_event = threading.Event()

    def violate(self, msg):
        with self.lock:
            self.violations.append(msg)

    def _call(self, what, fn):
        try:
            r = fn()
        except ConnError as e:
            with self.lock:
                self.answers["%s: no answer" % what] += 1
            self.violate("%s: no answer (%s)" % (what, e))
            return None
        kind = (r.json or {}).get("type", "") if r.status >= 400 and isinstance(r.json, dict) else ""
        with self.lock:
            self.answers["%s %d%s" % (what, r.status, " " + kind.rsplit("/", 1)[-1] if kind else "")] += 1
        if r.status >= 500:
            self.violate("%s: %s" % (what, r.describe()))
        return r

    def _pay(self, u, o):
        r = self._call("pay", lambda: u.pay(o.id))
        with self.lock:
            o.pays.append(r.status if r is not None else "conn")
        if r is None or r.status == 200:
            if r is not None and (r.json or {}).get("status") != "paid":
                self.violate("pay of order %d: 200 with status %r" % (o.id, (r.json or {}).get("status")))
            return
        if r.status == 409 and (r.json or {}).get("type") == ORDER_STATE:
            with self.lock:
                o.pay_states.append(r.json.get("state"))
            if r.json.get("order") != o.id:
                self.violate("pay of order %d: 409 names order %r" % (o.id, r.json.get("order")))
        elif r.status < 500:
            self.violate("pay of order %d: unexpected %s" % (o.id, r.describe()))

    def _abort(self, u, o):
        r = self._call("cancel", lambda: u.abort(o.id))
        with self.lock:
            o.aborts.append(r.status if r is not None else "conn")
        if r is None or r.status == 200:
            return
        if not (r.status == 409 and (r.json or {}).get("type") == ORDER_STATE) and r.status < 500:
            self.violate("cancel of order %d: unexpected %s" % (o.id, r.describe()))

    def _later(self, delay, fns):
        """Runs fns after delay, at once (each in its own thread)."""
        def go():
            time.sleep(delay)
            if len(fns) == 1:
                fns[0]()
                return
            barrier = threading.Barrier(len(fns))

            def one(f):
                try:
                    barrier.wait(5)
                except threading.BrokenBarrierError:
                    pass
                f()
            ts = [threading.Thread(target=one, args=(f,), daemon=True) for f in fns]
            for t in ts:
                t.start()
            for t in ts:
                t.join(60)
        t = threading.Thread(target=go, daemon=True)
        with self.lock:
            self.actions.append(t)
        t.start()

    def _client(self, idx):
        rnd = random.Random(self.seed * 7919 + idx)
        u = self.users[idx % len(self.users)]
        while not self.stop_event.is_set():
            pm = "cod" if rnd.random() < 0.1 else "balance"
            picked = rnd.sample(self.pids, rnd.choice((1, 1, 2)))
            items = [(p, rnd.randint(1, 2)) for p in sorted(picked)]
            body = {"items": [{"product": p, "quantity": q} for p, q in items], "pay_method": pm}
            r = self._call("checkout", lambda: u.post_json("/checkout/", body))
            if r is not None and r.status == 201:
                j = r.json or {}
                oid = j.get("id")
                if not T.is_int(oid) or j.get("status") != "placed":
                    self.violate("checkout answer without an id or not placed: %s" % r.describe())
                    continue
                o = Order(oid, u, pm, j.get("total_amount"), items)
                with self.lock:
                    self.orders[oid] = o
                delay = rnd.uniform(0.0, 1.6)
                x = rnd.random()
                if pm == "cod":
                    o.action = "cancel" if x < 0.7 else "none"
                    if x < 0.7:
                        self._later(delay, [lambda o=o: self._abort(u, o)])
                elif x < 0.30:
                    o.action = "pay"
                    self._later(delay, [lambda o=o: self._pay(u, o)])
                elif x < 0.45:
                    o.action = "cancel"
                    self._later(delay, [lambda o=o: self._abort(u, o)])
                elif x < 0.65:
                    o.action = "pay+cancel"
                    self._later(delay, [lambda o=o: self._pay(u, o), lambda o=o: self._abort(u, o)])
                elif x < 0.75:
                    o.action = "pay+pay"
                    self._later(delay, [lambda o=o: self._pay(u, o), lambda o=o: self._pay(u, o)])
                elif x < 0.85:
                    o.action = "pay, then cancel"
                    self._later(delay * 0.5, [lambda o=o: (self._pay(u, o), self._abort(u, o))])
                else:
                    o.action = "none"
            elif r is not None and r.status == 409:
                t = (r.json or {}).get("type")
                if t not in (TOO_MANY, OUT_OF_STOCK):
                    self.violate("checkout: unexpected 409 %s" % r.describe())
            elif r is not None and r.status < 500:
                self.violate("checkout: unexpected %s" % r.describe())
            time.sleep(rnd.uniform(0.0, 0.08))

    def run(self, seconds):
        ts = [threading.Thread(target=self._client, args=(i,), daemon=True)
              for i in range(len(self.users))]
        for t in ts:
            t.start()
        time.sleep(seconds)
        self.stop_event.set()
        for t in ts:
            t.join(T.HTTP_TIMEOUT + 10)
        with self.lock:
            actions = list(self.actions)
        for t in actions:
            t.join(T.HTTP_TIMEOUT * 2 + 10)


def verify(storm, pids, uids, initial):
    v = list(storm.violations)
    # the orders as they ended, with their money in the ledger
    rows = db("SELECT o.id, o.user_id, o.status, o.pay_method, o.total_amount, o.paid_at IS NOT NULL,"
              " (SELECT COUNT(*) FROM ledger l WHERE l.order_id = o.id AND l.kind = 'payment'),"
              " (SELECT COUNT(*) FROM ledger l WHERE l.order_id = o.id AND l.kind = 'refund')"
              " FROM orders o WHERE o.user_id IN (%s)" % id_list(uids))
    final = {}
    for oid, uid, status, pm, total, paid_at, npay, nref in rows:
        final[int(oid)] = (status, pm, int(total), paid_at == "1", int(npay), int(nref), int(uid))
    states = collections.Counter((s, pm) for s, pm, *_ in final.values())
    for oid, (status, pm, total, paid_at, npay, nref, uid) in sorted(final.items()):
        if pm == "balance" and status not in ("paid", "aborted", "expired"):
            v.append("order %d (balance) ended %r: neither paid, cancelled nor expired %d s after "
                     "its hold of %d s" % (oid, status, 3, HOLD))
        if pm == "cod" and status not in ("placed", "aborted"):
            v.append("order %d (cash on delivery) ended %r" % (oid, status))
        if status == "expired" and (paid_at or npay or nref):
            v.append("order %d is expired and paid: paid_at %s, %d payment(s), %d refund(s) in the "
                     "ledger" % (oid, paid_at, npay, nref))
        if status == "paid" and (npay, nref) != (1, 0):
            v.append("order %d is paid with %d payment(s), %d refund(s)" % (oid, npay, nref))
        if status == "aborted" and npay != nref:
            v.append("order %d is cancelled with %d payment(s), %d refund(s)" % (oid, npay, nref))
    for o in storm.orders.values():
        if o.id not in final:
            v.append("order %d (a 201 to its checkout) is not in the orders table" % o.id)
            continue
        status = final[o.id][0]
        pay_ok = o.pays.count(200)
        abort_ok = o.aborts.count(200)
        if pay_ok > 1 or abort_ok > 1:
            v.append("order %d (%s): %d pays and %d cancels answered 200: %r / %r"
                     % (o.id, o.action, pay_ok, abort_ok, o.pays, o.aborts))
        if status == "expired" and (pay_ok or abort_ok):
            v.append("order %d (%s) ended expired, but a pay or cancel was answered 200: pays %r, "
                     "cancels %r" % (o.id, o.action, o.pays, o.aborts))
        if abort_ok and status != "aborted":
            v.append("order %d (%s): a cancel answered 200, but it ended %r" % (o.id, o.action, status))
        if pay_ok and status not in ("paid", "aborted"):
            v.append("order %d (%s): a pay answered 200, but it ended %r" % (o.id, o.action, status))
        if pay_ok and not abort_ok and status != "paid" and "conn" not in o.aborts:
            v.append("order %d (%s): paid (200), never cancelled, but it ended %r"
                     % (o.id, o.action, status))
        if status == "paid" and not pay_ok and "conn" not in o.pays:
            v.append("order %d (%s) ended paid, but no pay was answered 200: %r" % (o.id, o.action, o.pays))
        for s in o.pay_states:
            if s not in ("expired", "aborted", "paid"):
                v.append("order %d: a pay refused with state %r" % (o.id, s))
    # stock and sales: initial - units of the orders still holding them
    held = collections.Counter()
    for pid, q in db("SELECT l.product_id, COALESCE(SUM(l.quantity), 0) FROM order_lines l"
                     " JOIN orders o ON o.id = l.order_id WHERE l.product_id IN (%s)"
                     " AND o.status NOT IN ('aborted', 'expired') GROUP BY l.product_id" % id_list(pids)):
        held[int(pid)] = int(q)
    for pid in pids:
        p = get_product(pid)
        want = (initial - held[pid], held[pid])
        if (p["stock"], p["sales"]) != want:
            v.append("product %d: stock, sales %r, expected %r (initial %d - units of orders not "
                     "aborted or expired)" % (pid, (p["stock"], p["sales"]), want, initial))
    # money: credit - totals of the orders that ended paid
    spent = collections.Counter()
    for status, pm, total, paid_at, npay, nref, uid in final.values():
        if status == "paid":
            spent[uid] += total
    for uid, bal in db("SELECT id, balance FROM users WHERE id IN (%s)" % id_list(uids)):
        if int(bal) != CREDIT - spent[int(uid)]:
            v.append("user %s: balance %s, expected %d (credit %d - %d paid)"
                     % (uid, bal, CREDIT - spent[int(uid)], CREDIT, spent[int(uid)]))
    rc, out = T.audit()
    if rc != 0:
        v.append("orderd audit exited %d:\n      %s" % (rc, "\n      ".join(out.strip().splitlines()[:20])))
    return v, states


@test
def storm_of_orders_pays_and_cancels_racing_expiries_keeps_stock_money_and_states_exact():
    H.use_pool(ORDERD_HOLD=HOLD)
    users = new_users(USERS, "hs")
    for u in users:
        admin().must_credit(u.username, CREDIT)
    pids = [admin().make_product(stock=STOCK, price=100 * (i + 1))["id"] for i in range(PRODUCTS)]
    storm = Storm(users, pids, SEED)
    t0 = time.monotonic()
    storm.run(SECONDS)
    log("storm: %.1f s, %d orders, answers %s" % (time.monotonic() - t0, len(storm.orders),
                                                  dict(storm.answers)))
    time.sleep(HOLD + 3)        # every window has ended, and the reaper has had its rounds
    v, states = verify(storm, pids, [u.id for u in users], STOCK)
    late = sum(1 for o in storm.orders.values() for s in o.pay_states if s == "expired")
    log("final states %s; pays refused as expired: %d" % (dict(states), late))
    artifact("hold_storm", {"answers": dict(storm.answers), "states": {"%s/%s" % k: n for k, n in states.items()},
                            "late_pays_refused": late, "violations": v})
    expired = sum(n for (s, _), n in states.items() if s == "expired")
    paid = sum(n for (s, _), n in states.items() if s == "paid")
    aborted = sum(n for (s, _), n in states.items() if s == "aborted")
    if not v:
        check(expired >= 3 and paid >= 3 and aborted >= 3,
              "the storm did not exercise the races: %d expired, %d paid, %d cancelled (answers %s)"
              % (expired, paid, aborted, dict(storm.answers)))
    if v:
        raise Fail("%d violation(s) in %d orders (%s):\n    %s"
                   % (len(v), len(storm.orders), dict(states), summarize(v)))


if __name__ == "__main__":
    H.run_with_restore()
