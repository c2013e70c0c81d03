#!/usr/bin/env python3
"""The pools' caches on a cluster: each pool's shared-memory caches
see only that pool's own writes, so another pool acts on stale state for a
bounded time. Measured here by talking to pool a (its unix socket) and pool
b (TCP) directly over FastCGI, without nginx.

 - session cache: a token signed out through pool a stops working on pool b
   within 1 s (every round measured; the worst is printed);
 - sold-out marks: a mark may only refuse - pool a, which marked a product
   sold out, takes orders again within 1.5 s of a restock made through pool b,
   and no pool ever sells more than the stock;
 - product cache: a product read through pool b shows a change made through
   pool a within 1 s (the worst lag is printed). Orders and payments read
   price and stock inside their transaction, never from a cache.

Run with `./stack cluster suite tests/cluster/test_cluster_caches.py`."""

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import orderd_test as T  # noqa: E402
from orderd_test import check, log, run, test  # noqa: E402
from accounts import admin, new_user  # noqa: E402
from fcgi_client import fcgi_request  # noqa: E402

RUN_DIR = os.environ.get("ORDERD_CLUSTER_RUN", "")
POOL_A = os.path.join(RUN_DIR, "orderd-a.sock")
POOL_B = "127.0.0.1:%s" % os.environ.get("ORDERD_POOL_B_PORT", "9080")
ROUNDS = int(os.environ.get("ORDERD_CACHE_ROUNDS", "5"))


def call(pool, method, uri, token, obj=None):
    body = json.dumps(obj).encode() if obj is not None else b""
    return fcgi_request(pool, method, uri, body, "application/json" if obj is not None else None,
                        extra_params={"HTTP_AUTHORIZATION": "Bearer " + token}, timeout=15)


def until(fn, limit):
    """Seconds until fn() is true (polled every 10 ms), or None after limit."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if fn():
            return time.monotonic() - t0
        time.sleep(0.01)
    return None


@test
def token_signed_out_on_pool_a_stops_working_on_pool_b_within_1s():
    check(RUN_DIR, "run through ./stack cluster suite (ORDERD_CLUSTER_RUN)")
    worst = 0.0
    for i in range(ROUNDS):
        u = new_user("cs%d" % i)
        for pool in (POOL_A, POOL_B):
            r = call(pool, "GET", "/account/", u.token)
            check(r.status == 200, "GET /account/ on %s: %d" % (pool, r.status))
        # keep pool b's cache warm up to the sign-out
        call(POOL_B, "GET", "/account/", u.token)
        r = call(POOL_A, "POST", "/auth/logout/", u.token)
        check(r.status in (200, 204), "sign-out on pool a: %d %s" % (r.status, r.body[:200]))
        lag = until(lambda: call(POOL_B, "GET", "/account/", u.token).status == 401, 5.0)
        check(lag is not None, "round %d: the signed-out token still works on pool b after 5 s" % i)
        worst = max(worst, lag)
        log("round %d: pool b refused the signed-out token after %.3f s" % (i, lag))
    print("  a signed-out token stopped working on the other pool after at most %.3f s "
          "(%d rounds)" % (worst, ROUNDS), flush=True)
    check(worst <= 1.0, "a signed-out token worked on the other pool for %.3f s (> 1 s)" % worst)


@test
def sold_out_mark_only_refuses_and_clears_after_a_restock_elsewhere():
    a = admin()
    p = T.assert_json(T.post_json("/product/", {"name": T.unique_name("so"), "price": 1000,
                                                 "stock": 1}), 201, "product")
    pid = p["id"]
    u = new_user("so")
    r = call(POOL_A, "POST", "/order/", u.token, {"product": pid, "quantity": 1})
    check(r.status == 201, "first order on pool a: %d" % r.status)
    for pool in (POOL_A, POOL_B):
        r = call(pool, "POST", "/order/", u.token, {"product": pid, "quantity": 1})
        check(r.status == 409, "order of a sold-out product on %s: %d (oversold?)" % (pool, r.status))
    r = call(POOL_B, "POST", "/product/%d/restock/" % pid, a.token, {"quantity": 1})
    check(r.status == 200, "restock on pool b: %d %s" % (r.status, r.body[:200]))
    lag = until(lambda: call(POOL_A, "POST", "/order/", u.token,
                             {"product": pid, "quantity": 1}).status == 201, 3.0)
    check(lag is not None, "pool a still refuses the restocked product after 3 s")
    print("  pool a took orders again %.3f s after a restock through pool b" % lag, flush=True)
    check(lag <= 1.5, "pool a refused a restocked product for %.3f s (> 1.5 s)" % lag)
    for pool in (POOL_A, POOL_B):
        r = call(pool, "POST", "/order/", u.token, {"product": pid, "quantity": 1})
        check(r.status == 409, "order beyond the stock on %s: %d (oversold)" % (pool, r.status))


@test
def product_read_on_pool_b_shows_a_change_through_pool_a_within_1s():
    worst = 0.0
    u = new_user("pc")
    p = T.assert_json(T.post_json("/product/", {"name": T.unique_name("pc"), "price": 1000,
                                                 "stock": 50}), 201, "product")
    pid = p["id"]
    for i in range(ROUNDS):
        before = json.loads(call(POOL_B, "GET", "/product/%d/" % pid, u.token).body)["stock"]
        r = call(POOL_A, "POST", "/order/", u.token, {"product": pid, "quantity": 1})
        check(r.status == 201, "order on pool a: %d" % r.status)
        lag = until(lambda: json.loads(call(POOL_B, "GET", "/product/%d/" % pid,
                                            u.token).body)["stock"] <= before - 1, 3.0)
        check(lag is not None, "pool b shows the old stock after 3 s")
        worst = max(worst, lag)
    print("  a product read on the other pool lagged a change by at most %.3f s" % worst, flush=True)
    check(worst <= 1.0, "pool b showed a stale product for %.3f s" % worst)


if __name__ == "__main__":
    run()
