#!/usr/bin/env python3
"""Soak: a mixed load for ORDERD_SOAK_SECONDS (--soak: 600) against the
stack at ORDERD_URL, as the administrator of ORDERD_ADMIN_TOKEN: product
reads, orders, aborts, checkouts, restocks. Each worker's resident memory
(VmRSS of the children of the master in ORDERD_PIDFILE) is read after a
warm-up and at the end; a worker that grew by more than 10 % and 512 KiB
fails the run, as does any 5xx. Speaks TAP, as every suite (orderd_test).
`make check` runs it only when ORDERD_SOAK_SECONDS is set (./stack test
--soak sets it); otherwise it is skipped."""

import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from orderd_test import (abort, assert_audit_clean, check, children, get, log,  # noqa: E402
                         make_product, post_form, post_json, read_pidfile, run, test)

SECONDS = float(os.environ.get("ORDERD_SOAK_SECONDS", "600"))
WARMUP = min(30.0, SECONDS / 10)
THREADS = int(os.environ.get("ORDERD_SOAK_THREADS", "12"))


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def workers():
    return {pid: rss_kib(pid) for pid in children(read_pidfile())}


@test
def worker_memory_does_not_grow_under_a_long_mixed_load():
    products = [make_product(stock=10 ** 8, price=random.randint(100, 5000))["id"]
                for _ in range(50)]
    stop = time.monotonic() + SECONDS
    counts, bad, lock = {}, [], threading.Lock()

    def client(seed):
        rnd = random.Random(seed)
        while time.monotonic() < stop:
            k = rnd.random()
            if k < 0.4:
                r = get("/product/%d/" % rnd.choice(products))
                what = "get"
            elif k < 0.65:
                r = post_form("/order/", {"product": rnd.choice(products),
                                          "quantity": rnd.randint(1, 3)})
                what = "order"
                if r.status == 201 and rnd.random() < 0.5:
                    abort(r.json["id"])
            elif k < 0.85:
                items = [{"product": rnd.choice(products), "quantity": rnd.randint(1, 2)}
                         for _ in range(rnd.randint(1, 4))]
                r = post_json("/checkout/", {"items": items, "pay_method": "cod"})
                what = "checkout"
            elif k < 0.95:
                r = get("/order/?limit=20")
                what = "list"
            else:
                r = post_form("/product/%d/restock/" % rnd.choice(products), {"quantity": 1})
                what = "restock"
            with lock:
                counts[(what, r.status)] = counts.get((what, r.status), 0) + 1
                if r.status >= 500:
                    bad.append("%s -> %d %r" % (what, r.status, r.body[:200]))

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(THREADS)]
    for t in threads:
        t.start()
    time.sleep(WARMUP)
    before = workers()
    log("after %.0f s warm-up, worker RSS (KiB): %r" % (WARMUP, before))
    for t in threads:
        t.join()
    after = workers()
    log("at the end, worker RSS (KiB): %r" % after)
    log("requests: %r" % sorted(counts.items()))
    check(not bad, "%d server errors, e.g. %s" % (len(bad), bad[:5]))
    grew = ["worker %d: %d -> %d KiB" % (pid, before[pid], after[pid])
            for pid in before if pid in after and before[pid] and after[pid] and
            after[pid] - before[pid] > max(512, before[pid] // 10)]
    check(set(before) == set(after), "workers changed during the soak: %r -> %r"
          % (sorted(before), sorted(after)))
    check(not grew, "worker memory grew: %s" % "; ".join(grew))
    assert_audit_clean()


if __name__ == "__main__":
    if not os.environ.get("ORDERD_SOAK_SECONDS"):
        print("1..0 # SKIP the soak runs only with ORDERD_SOAK_SECONDS (./stack test --soak)")
        sys.exit(0)
    run()
