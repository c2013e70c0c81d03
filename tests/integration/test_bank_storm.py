#!/usr/bin/env python3
"""The bank storm: money moved concurrently in every way the API
allows, then summed.

Dozens of users (ORDERD_BANK_USERS, default 30) register through the API and
are credited by the admin. ORDERD_BANK_THREADS (default 24) clients then, for
ORDERD_BANK_SECONDS (default 20), pick at random: transfers between users
(many from and to three "hot" accounts, sometimes more than the sender has),
checkouts paid from the balance, two or three simultaneous pays of one order,
one to three simultaneous aborts of a paid order (refund, by the owner and
the admin), admin credits and balance reads. Every 2xx money movement goes
into a client-side tally.

At the end: no 5xx (and no 503) at all, no balance below 0 in any answer;
every user's balance (GET /account/ and the users table) = credits + the
tally; the ledger sums to the balance for every user (table and API);
conservation over the storm's users: sum of balances + payments - refunds =
credits; no order paid or refunded twice; every paid order the clients know
is paid, every refunded one aborted; `orderd audit` exits 0."""

import collections
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import orderd_test as T  # noqa: E402
from orderd_test import (  # noqa: E402
    SEED, ConnError, artifact, at_once, check, db, is_int, log, problem_issues, run, summarize,
    test)
from accounts import (  # noqa: E402
    FUNDS, ORDER_STATE, admin, db_balances, db_ledger_sums, new_users)

USERS = int(os.environ.get("ORDERD_BANK_USERS", "30"))
THREADS = int(os.environ.get("ORDERD_BANK_THREADS", "24"))
SECONDS = float(os.environ.get("ORDERD_BANK_SECONDS", "20"))
HOT = 3
TOO_MANY_OPEN = "/problems/too-many-open-orders"


class Bank:
    def __init__(self, users, pids, prices, seed):
        self.users = users
        self.by_name = {u.username: u for u in users}
        self.hot = users[:HOT]
        self.pids = pids
        self.prices = prices
        self.admin = admin()
        self.seed = seed
        self.lock = threading.Lock()
        self.stop = threading.Event()
        # the tally: user id -> net cents moved by 2xx answers
        self.credits = collections.Counter()
        self.delta = collections.Counter()
        self.paid = {}              # order id -> (user, total) of a 200 pay
        self.refunded = {}          # order id -> (user, total) of a 200 abort of a paid order
        self.payable = []           # paid orders not yet aborted: (user, oid, total)
        self.violations = []
        self.ops = collections.Counter()          # (kind, outcome) -> n
        self.balance_reads = 0
        self.min_balance = None
        self.t0 = self.t1 = None

    def violate(self, msg):
        with self.lock:
            self.violations.append(msg)

    def call(self, kind, fn):
        """One request: the Response, or None (a violation: no answer or a 5xx)."""
        try:
            r = fn()
        except ConnError as e:
            self.violate("%s: connection error: %s" % (kind, e))
            with self.lock:
                self.ops[(kind, "conn-error")] += 1
            return None
        with self.lock:
            self.ops[(kind, r.status)] += 1
        if r.status >= 500:
            self.violate("%s: server error: %s" % (kind, r.describe()))
            return None
        return r

    def seen_balance(self, what, b):
        if not is_int(b):
            self.violate("%s: balance %r is not an integer" % (what, b))
            return
        with self.lock:
            self.balance_reads += 1
            if self.min_balance is None or b < self.min_balance:
                self.min_balance = b
        if b < 0:
            self.violate("%s: negative balance %d" % (what, b))

    def funds_problem(self, what, r, amount):
        """A 409 insufficient-funds: balance and shortfall add up."""
        issues = problem_issues(r, 409, FUNDS)
        p = r.json if isinstance(r.json, dict) else {}
        b, s = p.get("balance"), p.get("shortfall")
        if not (is_int(b) and is_int(s) and b >= 0 and s > 0 and b + s == amount):
            issues.append("balance %r + shortfall %r should be %d, both >= 0" % (b, s, amount))
        if issues:
            self.violate("%s: bad 409: %s; %s" % (what, "; ".join(issues), r.describe()))

    # -- actions --

    def transfer(self, rnd):
        if rnd.random() < 0.5:
            src = rnd.choice(self.hot)
        else:
            src = rnd.choice(self.users)
        dst = rnd.choice(self.hot) if rnd.random() < 0.5 else rnd.choice(self.users)
        if dst is src:
            dst = self.users[(self.users.index(src) + 1 + rnd.randrange(len(self.users) - 1))
                             % len(self.users)]
        amount = rnd.randint(1, 4000) if rnd.random() < 0.95 else rnd.randint(10 ** 6, 10 ** 7)
        what = "transfer %s -> %s %d" % (src.username, dst.username, amount)
        r = self.call("transfer", lambda: src.transfer(dst.username, amount))
        if r is None:
            return
        if r.status == 200:
            j = r.json if isinstance(r.json, dict) else {}
            fr = j.get("from") if isinstance(j.get("from"), dict) else {}
            if fr.get("id") != src.id or j.get("to") != dst.username or j.get("amount") != amount:
                self.violate("%s: 200 with a wrong answer: %s" % (what, r.describe()))
            self.seen_balance(what + " answer", fr.get("balance"))
            with self.lock:
                self.delta[src.id] -= amount
                self.delta[dst.id] += amount
        elif r.status == 409:
            self.funds_problem(what, r, amount)
        else:
            self.violate("%s: unexpected %s" % (what, r.describe()))

    def checkout_and_pay(self, rnd):
        u = rnd.choice(self.hot) if rnd.random() < 0.3 else rnd.choice(self.users)
        items = [(rnd.choice(self.pids), rnd.randint(1, 3)) for _ in range(rnd.randint(1, 2))]
        body = {"items": [{"product": p, "quantity": q} for p, q in items], "pay_method": "balance"}
        what = "checkout %r by %s" % (items, u.username)
        r = self.call("checkout", lambda: u.post_json("/checkout/", body))
        if r is None:
            return
        if r.status == 409 and not problem_issues(r, 409, TOO_MANY_OPEN):
            return      # the user holds --max-open unpaid orders (left unpaid below): nothing changed
        if r.status != 201 or not isinstance(r.json, dict) or not is_int(r.json.get("id")):
            self.violate("%s: expected 201 order, got %s" % (what, r.describe()))
            return
        o = r.json
        oid, total = o["id"], o.get("total_amount")
        if o.get("user") != u.id or o.get("status") != "placed" or not is_int(total):
            self.violate("%s: bad order %r" % (what, o))
            return
        n = 1 if rnd.random() < 0.6 else rnd.choice((2, 3))
        results = at_once(n, lambda i: self.call("pay", lambda: u.pay(oid)))
        ok = [r for r in results if r is not None and r.status == 200]
        what = "pay x%d of order %d (%d) by %s" % (n, oid, total, u.username)
        if len(ok) > 1:
            self.violate("%s: %d pays succeeded" % (what, len(ok)))
        for r in results:
            if r is None or r.status == 200:
                continue
            if r.status != 409:
                self.violate("%s: unexpected %s" % (what, r.describe()))
            elif ok and not problem_issues(r, 409, ORDER_STATE):
                pass    # lost to the winner
            else:
                # short funds: also fine for a loser that ran before money arrived for the winner
                self.funds_problem(what, r, total)
        if ok:
            p = ok[0].json if isinstance(ok[0].json, dict) else {}
            if p.get("status") != "paid" or p.get("id") != oid:
                self.violate("%s: 200 but %r" % (what, p))
            with self.lock:
                self.delta[u.id] -= total
                self.paid[oid] = (u.id, total)
                self.payable.append((u, oid, total))
        elif rnd.random() < 0.5:
            # leave some unpaid, abort the others (no refund may come of it)
            r = self.call("abort-unpaid", lambda: u.abort(oid))
            if r is not None and r.status != 200:
                self.violate("abort of unpaid order %d: %s" % (oid, r.describe()))

    def abort_paid(self, rnd):
        with self.lock:
            if not self.payable:
                return False
            u, oid, total = self.payable.pop(rnd.randrange(len(self.payable)))
        n = rnd.choice((1, 2, 3))
        who = [u if rnd.random() < 0.7 else self.admin for _ in range(n)]
        results = at_once(n, lambda i: self.call("abort-paid", lambda: who[i].abort(oid)))
        ok = [r for r in results if r is not None and r.status == 200]
        what = "abort x%d of paid order %d (%d) of %s" % (n, oid, total, u.username)
        if len(ok) != 1 and all(r is not None for r in results):
            self.violate("%s: %d aborts succeeded, expected exactly 1: %s"
                         % (what, len(ok), [r.status for r in results]))
        for r in results:
            if r is not None and r.status != 200 and problem_issues(r, 409, ORDER_STATE):
                self.violate("%s: a losing abort must be 409 order-state: %s" % (what, r.describe()))
        if ok:
            with self.lock:
                self.delta[u.id] += total
                self.refunded[oid] = (u.id, total)
        return True

    def credit(self, rnd):
        u = rnd.choice(self.users)
        amount = rnd.randint(1, 20000)
        what = "credit %s %d" % (u.username, amount)
        r = self.call("credit", lambda: self.admin.credit(u.username, amount))
        if r is None:
            return
        if r.status != 200 or not isinstance(r.json, dict) or r.json.get("username") != u.username:
            self.violate("%s: expected 200 account, got %s" % (what, r.describe()))
            return
        self.seen_balance(what + " answer", r.json.get("balance"))
        with self.lock:
            self.credits[u.id] += amount
            self.delta[u.id] += amount

    def read(self, rnd):
        u = rnd.choice(self.users)
        r = self.call("account", lambda: u.get("/account/"))
        if r is None:
            return
        if r.status != 200 or not isinstance(r.json, dict):
            self.violate("GET /account/ as %s: %s" % (u.username, r.describe()))
            return
        self.seen_balance("GET /account/ as %s" % u.username, r.json.get("balance"))

    def client(self, idx):
        rnd = random.Random(self.seed * 7919 + idx)
        while not self.stop.is_set():
            x = rnd.random()
            try:
                if x < 0.40:
                    self.transfer(rnd)
                elif x < 0.65:
                    self.checkout_and_pay(rnd)
                elif x < 0.80:
                    if not self.abort_paid(rnd):
                        self.transfer(rnd)
                elif x < 0.90:
                    self.credit(rnd)
                else:
                    self.read(rnd)
            except Exception as e:   # a bug of the test or an odd answer: counted, not fatal
                self.violate("client %d: %s: %s" % (idx, type(e).__name__, e))

    def run(self, seconds, threads):
        self.t0 = time.monotonic()
        ts = [threading.Thread(target=self.client, args=(i,), daemon=True) for i in range(threads)]
        for t in ts:
            t.start()
        self.stop.wait(seconds)
        self.stop.set()
        for t in ts:
            t.join(T.HTTP_TIMEOUT * 3)
            if t.is_alive():
                self.violate("a client thread still runs long after the storm stopped")
        self.t1 = time.monotonic()

    def summary(self):
        secs = (self.t1 or time.monotonic()) - self.t0
        n = sum(self.ops.values())
        by_kind = collections.Counter()
        for (k, s), c in self.ops.items():
            by_kind["%s %s" % (k, s)] += c
        return ("bank storm: %.1fs, %d requests (%.0f/s), %d users (%d hot), %d threads, "
                "%d paid, %d refunded, %d balance reads (min %r), seed %d; %s"
                % (secs, n, n / secs if secs else 0, len(self.users), HOT, THREADS,
                   len(self.paid), len(self.refunded), self.balance_reads, self.min_balance,
                   self.seed, ", ".join("%s: %d" % kv for kv in sorted(by_kind.items()))))


@test
def bank_storm_tally_ledger_balances_and_conservation_agree():
    rnd = random.Random(SEED)
    ad = admin()
    t0 = time.monotonic()
    users = new_users(USERS, "bank")
    log("bank storm: %d users registered and signed in in %.1fs" % (len(users), time.monotonic() - t0))
    pids, prices = [], {}
    for _ in range(3):
        p = ad.make_product(stock=10 ** 8, price=rnd.randint(100, 3000), name=T.unique_name("bank"))
        pids.append(p["id"])
        prices[p["id"]] = p["price"]
    bank = Bank(users, pids, prices, SEED)
    for u in users:
        amount = rnd.randint(20000, 200000) if u not in users[:HOT] else 50000
        a = ad.must_credit(u.username, amount)
        check(a.get("balance") == amount, "initial credit of %s: answer %r" % (u.username, a))
        bank.credits[u.id] += amount
        bank.delta[u.id] += amount

    bank.run(SECONDS, THREADS)
    log(bank.summary())

    v = list(bank.violations)
    uids = [u.id for u in users]
    # balances: API, table, tally
    dbb = db_balances(uids)
    led = db_ledger_sums(uids)
    api_b = {}
    for u in users:
        try:
            api_b[u.id] = u.balance()
        except AssertionError as e:
            v.append("final GET /account/ as %s: %s" % (u.username, e))
    rows = []
    for u in users:
        want = bank.delta[u.id]
        kinds = led.get(u.id, {})
        led_sum = sum(s for _, s in kinds.values())
        row = {"user": u.username, "id": u.id, "tally": want, "api": api_b.get(u.id),
               "db": dbb.get(u.id), "ledger_sum": led_sum,
               "ledger": {k: list(x) for k, x in kinds.items()}}
        rows.append(row)
        if api_b.get(u.id) != want:
            v.append("user %s: GET /account/ balance %r, tally (credits + moves) %d"
                     % (u.username, api_b.get(u.id), want))
        if dbb.get(u.id) != want:
            v.append("user %s: users.balance %r, tally %d" % (u.username, dbb.get(u.id), want))
        if dbb.get(u.id) is not None and led_sum != dbb[u.id]:
            v.append("user %s: sum of ledger %d != balance %d" % (u.username, led_sum, dbb[u.id]))
        if dbb.get(u.id, 0) < 0:
            v.append("user %s: negative balance %d" % (u.username, dbb[u.id]))
        c = kinds.get("credit", (0, 0))[1]
        if c != bank.credits[u.id]:
            v.append("user %s: ledger credits %d, tally of credits %d" % (u.username, c, bank.credits[u.id]))
    # the API ledger of the hot accounts sums to their balance too
    for u in users[:HOT]:
        try:
            entries = u.ledger_all()
            s = sum(e.get("amount", 0) for e in entries)
            if s != api_b.get(u.id):
                v.append("hot user %s: GET /account/ledger/ sums to %d over %d entries, balance %r"
                         % (u.username, s, len(entries), api_b.get(u.id)))
            ids = [e.get("id") for e in entries]
            if ids != sorted(ids, reverse=True) or len(set(ids)) != len(ids):
                v.append("hot user %s: ledger pages are not newest first without repeats" % u.username)
        except AssertionError as e:
            v.append("ledger of %s: %s" % (u.username, e))

    # conservation over the storm's users (transfers stay among them)
    tot = collections.Counter()
    for kinds in led.values():
        for k, (_, s) in kinds.items():
            tot[k] += s
    sum_bal = sum(dbb.values())
    payments, refunds, credits = -tot["payment"], tot["refund"], tot["credit"]
    if sum_bal + payments - refunds != credits:
        v.append("conservation: balances %d + payments %d - refunds %d = %d, credits %d"
                 % (sum_bal, payments, refunds, sum_bal + payments - refunds, credits))
    if tot["transfer_in"] + tot["transfer_out"] != 0:
        v.append("transfers in %d and out %d do not cancel" % (tot["transfer_in"], tot["transfer_out"]))
    if credits != sum(bank.credits.values()):
        v.append("ledger credits %d, tally of credits %d" % (credits, sum(bank.credits.values())))
    if payments != sum(t for _, t in bank.paid.values()):
        v.append("ledger payments %d, tally of 200 pays %d" % (payments, sum(t for _, t in bank.paid.values())))
    if refunds != sum(t for _, t in bank.refunded.values()):
        v.append("ledger refunds %d, tally of refunds %d" % (refunds, sum(t for _, t in bank.refunded.values())))

    # per order: paid once, refunded once, statuses as the clients were told
    dup = db("SELECT order_id, kind, COUNT(*) FROM ledger WHERE order_id IS NOT NULL "
             "AND kind IN ('payment', 'refund') GROUP BY order_id, kind HAVING COUNT(*) > 1")
    for oid, kind, n in dup[:20]:
        v.append("order %s has %s %s entries" % (oid, n, kind))
    if bank.paid:
        st = dict((int(a), b) for a, b in db("SELECT id, status FROM orders WHERE id IN (%s)"
                                             % T.id_list(bank.paid)))
        ent = collections.defaultdict(dict)
        for oid, kind, amount in db("SELECT order_id, kind, amount FROM ledger WHERE order_id IN (%s)"
                                    % T.id_list(bank.paid)):
            ent[int(oid)][kind] = int(amount)
        for oid, (uid, total) in bank.paid.items():
            want = "aborted" if oid in bank.refunded else "paid"
            if st.get(oid) != want:
                v.append("order %d: status %r, the clients were told %s" % (oid, st.get(oid), want))
            if ent[oid].get("payment") != -total:
                v.append("order %d: payment entry %r, expected %d" % (oid, ent[oid].get("payment"), -total))
            if (oid in bank.refunded) != ("refund" in ent[oid]) or \
                    (oid in bank.refunded and ent[oid]["refund"] != total):
                v.append("order %d: refund entry %r, refunded by the clients: %s"
                         % (oid, ent[oid].get("refund"), oid in bank.refunded))
    # orders of the storm's users that the clients did not see paid have no payment
    rows_pay = db("SELECT o.id FROM orders o JOIN ledger l ON l.order_id = o.id AND l.kind = 'payment' "
                     "WHERE o.user_id IN (%s)" % T.id_list(uids))
    extra = sorted(set(int(x[0]) for x in rows_pay) - set(bank.paid))
    if extra:
        v.append("%d order(s) have a payment no client was answered 200 for: %s" % (len(extra), extra[:10]))
    rows_ref = db("SELECT o.id FROM orders o JOIN ledger l ON l.order_id = o.id AND l.kind = 'refund' "
                  "WHERE o.user_id IN (%s)" % T.id_list(uids))
    extra = sorted(set(int(x[0]) for x in rows_ref) - set(bank.refunded))
    if extra:
        v.append("%d order(s) have a refund no client was answered 200 for: %s" % (len(extra), extra[:10]))

    rc, out = T.audit()
    if rc != 0:
        v.append("orderd audit exited %d: %s" % (rc, " | ".join(out.strip().splitlines()[:20])))

    path = artifact("bank-storm.json", {"summary": bank.summary(), "users": rows, "violations": v,
                                        "paid": {str(k): x for k, x in bank.paid.items()},
                                        "refunded": {str(k): x for k, x in bank.refunded.items()}})
    check(not v, "%d violation(s) (all in %s):\n    %s\n    [%s]"
          % (len(v), path, summarize(v), bank.summary()))
    check(bank.paid and bank.refunded and bank.ops[("transfer", 200)] > 0,
          "the storm moved too little money to test anything: %s" % bank.summary())


if __name__ == "__main__":
    run()
