#!/usr/bin/env python3
"""Concurrency storms against orderd (design.md "Rules for data that races").

1. Dozens of clients order a few products with tiny stock and, for every order
   they get, fire three simultaneous aborts (PUT and form POST _method=PUT).
   Exactly one abort per order may succeed; stock must follow the client tally
   exactly, never go negative, and orderd audit must stay clean.
2. 32 clients race, without aborts, for a product with stock 10: exactly 10
   units are sold, every other answer is 409 out-of-stock with available 0.
3. Clients keep checking out more of a sold-out product than there will ever
   be (so they keep marking it sold out) while it is restocked one unit at a
   time: an order placed right after each restock gets that unit. A sold-out
   mark set from a read made before the restock committed would refuse it
   (--lock optimistic; ./stack test runs this suite under both
   strategies).

Knobs: ORDERD_STORM_SECONDS (default 20), ORDERD_STORM_CLIENTS (default 32)."""

import collections
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from orderd_test import (  # noqa: E402
    SEED, ConnError, Storm, artifact, assert_audit_clean, check, db, eq, get_product, is_int,
    log, make_product, post_json, problem_issues, run, summarize, test, unique_name)

SECONDS = float(os.environ.get("ORDERD_STORM_SECONDS", "20"))
CLIENTS = int(os.environ.get("ORDERD_STORM_CLIENTS", "32"))
HAMMERS = int(os.environ.get("ORDERD_RESTOCK_HAMMERS", "16"))


@test
def storm_of_orders_and_triple_aborts_keeps_stock_exact_and_aborts_once():
    rnd = random.Random(SEED)
    initial = {}
    for _ in range(5):
        stock = rnd.randint(1, 3)
        p = make_product(stock=stock, price=rnd.randint(100, 9999), name=unique_name("storm"))
        initial[p["id"]] = stock
    log("storm products (id: initial stock): %r" % initial)
    storm = Storm("storm-abort", initial, clients=CLIENTS, aborts=3, quantities=(1, 2))
    storm.run(SECONDS)
    rows = storm.verify()
    # every order was aborted exactly once, so everything is back on the shelf
    for row in rows:
        eq((row["stock"], row["sales"]), (row["initial"], 0),
           "product %d stock, sales after all its orders were aborted" % row["product"])
    check(sum(storm.restored.values()) == sum(storm.ordered.values()),
          "units restored %d != units ordered %d" % (sum(storm.restored.values()),
                                                     sum(storm.ordered.values())))


@test
def storm_race_for_last_units_sells_exactly_the_stock():
    stock, rounds = 10, 3
    p = make_product(stock=stock, price=1000, name=unique_name("race"))
    pid = p["id"]
    barrier = threading.Barrier(CLIENTS)
    lock = threading.Lock()
    created, refused, bad = [], [], []
    statuses = collections.Counter()

    def client():
        for _ in range(rounds):
            try:
                barrier.wait(30)
            except threading.BrokenBarrierError:
                pass
            try:
                r = post_json("/order/", {"product": pid, "quantity": 1})
            except ConnError as e:
                with lock:
                    bad.append("connection error: %s" % e)
                continue
            with lock:
                statuses[r.status] += 1
            if r.status == 201 and isinstance(r.json, dict) and is_int(r.json.get("id")):
                with lock:
                    created.append(r.json["id"])
            elif r.status == 409:
                issues = problem_issues(r, 409, "/problems/out-of-stock")
                if (r.json or {}).get("available") != 0 or (r.json or {}).get("product") != pid:
                    issues.append("members product/available %r/%r, expected %d/0" % (
                        (r.json or {}).get("product"), (r.json or {}).get("available"), pid))
                with lock:
                    refused.append(r)
                    if issues:
                        bad.append("bad 409: %s; %s" % ("; ".join(issues), r.describe()))
            else:
                with lock:
                    bad.append("unexpected answer: %s" % r.describe())

    t0 = time.monotonic()
    ts = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    attempts = CLIENTS * rounds
    log("race: %d attempts in %.1fs: %s" % (attempts, time.monotonic() - t0, dict(statuses)))
    artifact("storm-race.json", {"product": pid, "created": created, "statuses": dict(statuses),
                                 "bad": bad})
    check(not bad, "race on product %d: %d bad answer(s), by kind:\n    %s"
          % (pid, len(bad), summarize(bad)))
    eq(len(set(created)), len(created), "distinct order ids among the 201s")
    eq(len(created), stock, "orders created (201) on product %d with stock %d by %d attempts"
       % (pid, stock, attempts))
    eq(len(refused), attempts - stock, "409 out-of-stock answers")
    q = get_product(pid)
    eq((q["stock"], q["sales"]), (0, stock), "product %d stock, sales after the race" % pid)
    rows = db("SELECT COUNT(*), COALESCE(SUM(quantity), 0) FROM order_lines WHERE product_id = %d" % pid)
    eq(rows[0], [str(stock), str(stock)], "order lines (count, units) of product %d in the table" % pid)
    assert_audit_clean()


@test
def sold_out_mark_does_not_outlive_a_restock():
    rounds = int(os.environ.get("ORDERD_RESTOCK_ROUNDS", "40"))
    p = make_product(stock=0, price=700, name=unique_name("soldout"))
    pid = p["id"]
    stop = threading.Event()
    lock = threading.Lock()
    bad, statuses = [], collections.Counter()

    def hammer():
        # 10000 units never come back: every answer is a 409, and each one
        # that sees stock 0 marks the product sold out. A checkout always
        # reads the row (the mark only speeds up POST /order/), so some are
        # reading it whenever a restock commits.
        while not stop.is_set():
            try:
                r = post_json("/checkout/", {"items": [{"product": pid, "quantity": 10000}],
                                             "pay_method": "cod"})
            except ConnError as e:
                with lock:
                    bad.append("connection error: %s" % e)
                continue
            with lock:
                statuses[r.status] += 1
                if r.status != 409:
                    bad.append("hammer: unexpected answer: %s" % r.describe())

    ts = [threading.Thread(target=hammer, daemon=True) for _ in range(HAMMERS)]
    for t in ts:
        t.start()
    refused = []
    try:
        time.sleep(0.3)
        for i in range(rounds):
            r = post_json("/product/%d/restock/" % pid, {"quantity": 1})
            check(r.status == 200, "restock of product %d: %s" % (pid, r.describe()))
            r = post_json("/order/", {"product": pid, "quantity": 1})
            if r.status != 201:
                refused.append("round %d: %s" % (i, r.describe()))
                # take the unit anyway once the mark has gone, for the next round
                deadline = time.monotonic() + 5
                while r.status != 201 and time.monotonic() < deadline:
                    time.sleep(0.05)
                    r = post_json("/order/", {"product": pid, "quantity": 1})
                check(r.status == 201, "product %d never sold its restocked unit: %s" % (pid, r.describe()))
            time.sleep(0.03)   # the hammers mark it sold out again
    finally:
        stop.set()
        for t in ts:
            t.join(30)
    log("restock rounds: %d, orders refused right after a restock: %d; hammer answers %s (lock %s)"
        % (rounds, len(refused), dict(statuses), os.environ.get("ORDERD_LOCK", "forupdate")))
    check(not bad, "%d bad answer(s):\n    %s" % (len(bad), summarize(bad)))
    check(not refused, "an order right after a restock was refused %d of %d times (a sold-out "
          "mark outlived the restock):\n    %s" % (len(refused), rounds, summarize(refused)))
    eq(get_product(pid)["stock"], 0, "stock of product %d after its restocked units were sold" % pid)
    assert_audit_clean()


if __name__ == "__main__":
    run()
