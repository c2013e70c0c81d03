#!/usr/bin/env python3
"""GET /status/: the pool's workers and counters (fcgi/shm/stats.c) through
the real nginx and pool.

Counters move by exactly the requests made; a worker SIGKILLed and
replaced loses none of them and its successor shows; a worker whose order
waits on a row locked elsewhere shows in-transaction; 127.0.0.1 gets the
page without credentials, another address (127.0.0.2) gets 401 anonymous
and 403 as a non-admin; the Prometheus text parses (a strict parser of the
0.0.4 exposition format below) and agrees with the JSON; history=N sums to
the requests of those seconds; top=N names the products selling fastest;
bad parameters are 422 problems; under --lock queue the queue's fields."""

import json
import math
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import orderd_test as T  # noqa: E402
from orderd_test import (Fail, RowLock, assert_json, assert_problem, check, children,  # noqa: E402
                         eq, get, log, make_order, make_product, post_json,
                         read_pidfile, run, test, unique_name)
import accounts as A  # noqa: E402


def status(query="", **kw):
    return assert_json(get("/status/" + query, **kw), 200, "GET /status/" + query)


def route_counts(s):
    return {(e["route"], e["status"]): e["count"] for e in s["requests"]}


def delta(a, b):
    ca, cb = route_counts(a), route_counts(b)
    return {k: cb.get(k, 0) - ca.get(k, 0) for k in set(ca) | set(cb)
            if cb.get(k, 0) != ca.get(k, 0)}


def lock_mode():
    return status()["lock"]


# ---------------------------------------------------------------------------
# A strict parser of Prometheus' text exposition format 0.0.4.

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def parse_value(s, where):
    if s in ("+Inf", "-Inf", "NaN"):
        return float(s.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.match(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?\Z", s):
        raise Fail("%s: %r is not a sample value" % (where, s))
    return float(s)


def parse_labels(text, where):
    """{a="x",b="y"} (the braces stripped) -> dict; only \\\\, \\" and \\n
    escapes; no duplicate names."""
    out, i = {}, 0
    while i < len(text):
        m = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"").match(text, i)
        if not m:
            raise Fail("%s: bad label at %r" % (where, text[i:]))
        name, i, val = m.group(1), m.end(), []
        while True:
            if i >= len(text):
                raise Fail("%s: unterminated label value" % where)
            c = text[i]
            if c == "\\":
                nxt = text[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise Fail("%s: bad escape \\%s" % (where, nxt))
                val.append("\n" if nxt == "n" else nxt)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise Fail("%s: raw newline in a label value" % where)
            else:
                val.append(c)
                i += 1
        if name in out:
            raise Fail("%s: label %s twice" % (where, name))
        out[name] = "".join(val)
        if i < len(text):
            if text[i] != ",":
                raise Fail("%s: expected ',' at %r" % (where, text[i:]))
            i += 1
    return out


def parse_prometheus(text):
    """Returns {family: {"type", "help", "samples": [(name, labels, value)]}};
    raises Fail on anything the format does not allow."""
    check(text.endswith("\n"), "the exposition does not end with a newline")
    fams, current = {}, None
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d %r" % (n, line[:100])
        if line == "":
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                check(NAME.match(name), "%s: bad metric name" % where)
                f = fams.setdefault(name, {"type": None, "help": None, "samples": []})
                if parts[1] == "TYPE":
                    check(f["type"] is None, "%s: second TYPE for %s" % (where, name))
                    check(not f["samples"], "%s: TYPE after samples of %s" % (where, name))
                    check(len(parts) == 4 and parts[3] in TYPES, "%s: bad type" % where)
                    f["type"] = parts[3]
                else:
                    check(f["help"] is None, "%s: second HELP for %s" % (where, name))
                    f["help"] = parts[3] if len(parts) == 4 else ""
                current = name
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?[0-9]+)?\Z", line)
        check(m, "%s: not a sample line" % where)
        name, labels = m.group(1), parse_labels(m.group(3) or "", where)
        value = parse_value(m.group(4), where)
        fam = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name[:-len(suffix)] in fams and \
                    fams[name[:-len(suffix)]]["type"] == "histogram":
                fam = name[:-len(suffix)]
        check(fam in fams and fams[fam]["type"] is not None,
              "%s: sample of %s before its TYPE" % (where, fam))
        check(fam == current, "%s: samples of %s are not together" % (where, fam))
        key = (name, tuple(sorted(labels.items())))
        check(key not in [(s[0], tuple(sorted(s[1].items()))) for s in fams[fam]["samples"]],
              "%s: the same series twice" % where)
        fams[fam]["samples"].append((name, labels, value))
    for name, f in fams.items():
        check(f["type"] is not None, "%s has no TYPE" % name)
        if f["type"] == "counter":
            check(name.endswith("_total"), "counter %s does not end in _total" % name)
            for s in f["samples"]:
                check(s[2] >= 0, "counter %s is negative" % name)
        if f["type"] == "histogram":
            check_histogram(name, f["samples"])
    return fams


def check_histogram(name, samples):
    buckets = [(s[1]["le"], s[2]) for s in samples if s[0] == name + "_bucket"]
    check(buckets and buckets[-1][0] == "+Inf", "%s: no +Inf bucket last" % name)
    les = [parse_value(le, name) for le, _ in buckets]
    check(les == sorted(les) and len(set(les)) == len(les), "%s: le not increasing" % name)
    counts = [v for _, v in buckets]
    check(counts == sorted(counts), "%s: buckets not cumulative: %r" % (name, counts))
    count = [s[2] for s in samples if s[0] == name + "_count"]
    total = [s[2] for s in samples if s[0] == name + "_sum"]
    check(len(count) == 1 and len(total) == 1, "%s: one _count and one _sum" % name)
    eq(count[0], counts[-1], "%s_count against the +Inf bucket" % name)


def prom_value(fams, fam, name=None, **labels):
    for s in fams.get(fam, {}).get("samples", []):
        if s[0] == (name or fam) and all(s[1].get(k) == v for k, v in labels.items()):
            return s[2]
    return None


# ---------------------------------------------------------------------------
# Requests from another source address


def raw_get(path, source, headers=None):
    """GET through nginx from source (bound before connecting: REMOTE_ADDR is
    then source). Returns (status, headers dict, body bytes)."""
    u = urllib.parse.urlsplit(T.BASE_URL)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(15)
    try:
        s.bind((source, 0))
        s.connect((u.hostname, u.port or 80))
        lines = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % (u.hostname, u.port or 80),
                 "Accept: application/json", "Connection: close"]
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    hl = head.decode("latin-1").split("\r\n")
    code = int(hl[0].split()[1])
    hdrs = {}
    for h in hl[1:]:
        k, _, v = h.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if hdrs.get("transfer-encoding", "").lower() == "chunked":
        out, rest = b"", body
        while rest:
            size, _, rest = rest.partition(b"\r\n")
            n = int(size.split(b";")[0], 16)
            if n == 0:
                break
            out, rest = out + rest[:n], rest[n + 2:]
        body = out
    return code, hdrs, body


def expect_problem(code, hdrs, body, status, what):
    eq(code, status, what + " status")
    check(hdrs.get("content-type", "").startswith("application/problem+json"),
          "%s: Content-Type %r" % (what, hdrs.get("content-type")))
    j = json.loads(body)
    eq(j.get("status"), status, what + " problem status")


# ---------------------------------------------------------------------------


@test
def counters_move_by_exactly_the_requests_made():
    pid = make_product(stock=50, price=400, name=unique_name("st"))["id"]
    s0 = status()
    for _ in range(5):
        eq(get("/product/%d/" % pid).status, 200, "GET product")
    eq(get("/product/999999999999/").status, 404, "GET a product that is not there")
    eq(get("/nowhere/%d/" % pid, headers={"Accept": "application/json"}).status, 404,
       "an unknown path")
    make_order(pid, 2)
    s1 = status()
    d = delta(s0, s1)
    want = {("GET /product/{id}/", "2xx"): 5, ("GET /product/{id}/", "4xx"): 1,
            ("POST /order/", "2xx"): 1, ("GET /status/", "2xx"): 1}
    # nginx answers /nowhere/ itself (the site's 404) or passes it on:
    # then it is counted under the one label of unmatched paths.
    if ("unmatched", "4xx") in d:
        want[("unmatched", "4xx")] = 1
    eq(d, want, "requests by route and status class")
    check(not any("nowhere" in r for r, _ in route_counts(s1)), "a raw path became a label")
    c0, c1 = s0["counters"], s1["counters"]
    eq(c1["requests"] - c0["requests"], sum(want.values()), "counters.requests")
    eq(c1["orders"] - c0["orders"], 1, "counters.orders")
    check(c1["commits"] - c0["commits"] >= 1, "no commit counted for the order")
    eq(c1["transactions"] - c0["transactions"],
       (c1["commits"] - c0["commits"]) + (c1["rollbacks"] - c0["rollbacks"]),
       "transactions = commits + rollbacks")
    eq(c1["errors"] - c0["errors"], 0, "counters.errors")
    check(s1["latency_ms"]["count"] - s0["latency_ms"]["count"] == sum(want.values()),
          "latency count moved by %d" % (s1["latency_ms"]["count"] - s0["latency_ms"]["count"]))
    lat = s1["latency_ms"]
    check(0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"] * 1.0001 + 0.001,
          "quantiles out of order: %r" % lat)
    pc = s1["caches"]["product"]
    check(pc["hits"] + pc["misses"] > 0 and 0 <= pc["hit_rate"] <= 1, "product cache %r" % pc)
    for k in ("started", "uptime_seconds", "db_node", "pool", "pid", "lock", "workers"):
        check(k in s1, "no %s in the status" % k)


@test
def history_sums_to_the_requests_of_its_seconds():
    time.sleep(4.2)     # nothing of this suite in the last 4 s
    pid = make_product(stock=50, price=400, name=unique_name("hist"))["id"]
    for _ in range(7):
        eq(get("/product/%d/" % pid).status, 200, "GET product")
    make_order(pid, 1)
    time.sleep(1.3)     # their seconds are complete
    s = status("?history=4")
    h = s["history"]
    eq(len(h), 4, "history length")
    ts = [e["t"] for e in h]
    eq(ts, list(range(ts[0], ts[0] + 4)), "history seconds, oldest first")
    check(abs(ts[-1] - (time.time() - 1)) < 3, "the last second %d is not about now" % ts[-1])
    eq(sum(e["requests"] for e in h), 1 + 7 + 1, "requests over the last 4 seconds")
    eq(sum(e["orders"] for e in h), 1, "orders over the last 4 seconds")
    for e in h:
        for k in ("errors", "retries"):
            check(isinstance(e[k], int), "history %s: %r" % (k, e))
        if e["requests"] == 0:
            check(e["p50_ms"] is None and e["p99_ms"] is None, "quantiles of an empty second")
        else:
            check(0 < e["p50_ms"] <= e["p99_ms"], "history quantiles %r" % e)
    eq(len(status("?history=600")["history"]) <= 600, True, "history=600 at most 600")


@test
def top_names_the_products_selling_fastest_with_their_stock():
    a = make_product(stock=1000, price=100, name=unique_name("fast"))["id"]
    b = make_product(stock=1000, price=100, name=unique_name("slow"))["id"]
    make_order(a, 60)
    make_order(a, 40)
    make_order(b, 30)
    # Earlier tests (or runs) sold within the last minute too: a and b are
    # looked for among the 20 fastest, which come most sold first.
    top = status("?top=20")["top_products"]
    sold = [t["sold"] for t in top]
    eq(sold, sorted(sold, reverse=True), "top_products most sold first")
    ids = [t["id"] for t in top]
    check(a in ids and b in ids and ids.index(a) < ids.index(b), "a, b in top: %r" % top)
    ta, tb = top[ids.index(a)], top[ids.index(b)]
    eq((ta["sold"], tb["sold"]), (100, 30), "units sold of a and b")
    eq((ta["stock"], tb["stock"]), (900, 970), "stock of a and b")
    check(ta["name"].startswith("fast"), "name %r" % ta["name"])
    one = status("?top=1")["top_products"]
    check(len(one) == 1 and one[0]["sold"] >= 100, "top=1: %r" % one)
    check("top_products" not in status(), "top_products without top=N")


@test
def bad_query_parameters_are_422_problems():
    for q, field in (("history=601", "history"), ("history=-1", "history"),
                     ("history=x", "history"), ("top=21", "top"), ("top=1.5", "top"),
                     ("format=xml", "format"), ("format=", "format"), ("limit=5", "limit"),
                     ("history=1&history=2", "history")):
        assert_problem(get("/status/?" + q), 422, field=field, what="?" + q)


@test
def local_requests_get_it_and_other_addresses_are_refused_without_admin():
    # From 127.0.0.1 without credentials.
    r = get("/status/", headers={"Authorization": None})
    assert_json(r, 200, "GET /status/ from 127.0.0.1 without credentials")
    # From 127.0.0.2: anonymous 401, a user 403, an administrator 200.
    code, hdrs, body = raw_get("/status/", "127.0.0.2")
    expect_problem(code, hdrs, body, 401, "anonymous from 127.0.0.2")
    code, hdrs, body = raw_get("/status/?format=prometheus", "127.0.0.2")
    expect_problem(code, hdrs, body, 401, "anonymous Prometheus from 127.0.0.2")
    u = A.new_user("st")
    code, hdrs, body = raw_get("/status/", "127.0.0.2",
                               {"Authorization": "Bearer " + u.token})
    expect_problem(code, hdrs, body, 403, "a non-admin from 127.0.0.2")
    # Credentials presented from 127.0.0.1 are judged as from anywhere.
    assert_problem(get("/status/", headers={"Authorization": "Bearer " + "Q" * 43}), 401,
                   what="a bad token from 127.0.0.1")
    assert_problem(u.get("/status/"), 403, what="a non-admin from 127.0.0.1")
    token = os.environ.get("ORDERD_ADMIN_TOKEN")
    check(token, "ORDERD_ADMIN_TOKEN is not set")
    code, hdrs, body = raw_get("/status/", "127.0.0.2", {"Authorization": "Bearer " + token})
    eq(code, 200, "an administrator from 127.0.0.2")
    check("pool" in json.loads(body), "no pool in the admin's answer")


@test
def prometheus_text_parses_and_agrees_with_the_json():
    pid = make_product(stock=50, price=400, name=unique_name("prom"))["id"]
    make_order(pid, 1)
    j1 = status()
    r = get("/status/?format=prometheus", headers={"Accept": "text/plain"})
    eq(r.status, 200, "Prometheus status")
    eq(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8", "Content-Type")
    text = r.body.decode("utf-8")
    j2 = status()
    fams = parse_prometheus(text)
    for fam, t in (("orderd_requests_total", "counter"), ("orderd_workers", "gauge"),
                   ("orderd_request_duration_seconds", "histogram"),
                   ("orderd_orders_total", "counter"), ("orderd_retries_total", "counter"),
                   ("orderd_cache_hits_total", "counter")):
        check(fam in fams, "no %s" % fam)
        eq(fams[fam]["type"], t, fam + " TYPE")
        check(fams[fam]["help"], fam + " has no HELP")
    # Every route and class of the JSON, between the answers before and after.
    r1, r2 = route_counts(j1), route_counts(j2)
    for (route, cls), n in r1.items():
        v = prom_value(fams, "orderd_requests_total", route=route, status=cls)
        check(v is not None and n <= v <= r2[(route, cls)],
              "orderd_requests_total{%s,%s} = %r, JSON %d..%d" % (route, cls, v, n, r2[(route, cls)]))
    for s in fams["orderd_requests_total"]["samples"]:
        check(set(s[1]) == {"route", "status"}, "labels %r" % s[1])
    for key, fam in (("orders", "orderd_orders_total"), ("commits", "orderd_commits_total"),
                     ("transactions", "orderd_transactions_total"),
                     ("rollbacks", "orderd_rollbacks_total"),
                     ("lock_waits", "orderd_lock_waits_total"),
                     ("unavailable", "orderd_unavailable_total"),
                     ("outcome_unknown", "orderd_outcome_unknown_total"),
                     ("sold_out_refusals", "orderd_sold_out_refusals_total"),
                     ("errors", "orderd_errors_total")):
        v = prom_value(fams, fam)
        check(v is not None and j1["counters"][key] <= v <= j2["counters"][key],
              "%s = %r, JSON %d..%d" % (fam, v, j1["counters"][key], j2["counters"][key]))
    for errno, n in j1["counters"]["retries"].items():
        v = prom_value(fams, "orderd_retries_total", errno=errno)
        check(v is not None and v >= n, "orderd_retries_total{errno=%s} %r < %d" % (errno, v, n))
    for cache, c in j1["caches"].items():
        v = prom_value(fams, "orderd_cache_hits_total", cache=cache)
        check(v is not None and c["hits"] <= v <= j2["caches"][cache]["hits"],
              "cache %s hits %r" % (cache, v))
    cnt = prom_value(fams, "orderd_request_duration_seconds",
                     "orderd_request_duration_seconds_count")
    check(j1["latency_ms"]["count"] <= cnt <= j2["latency_ms"]["count"],
          "histogram count %r against the JSON %d..%d"
          % (cnt, j1["latency_ms"]["count"], j2["latency_ms"]["count"]))
    total = prom_value(fams, "orderd_request_duration_seconds", "orderd_request_duration_seconds_sum")
    check(total > 0 and not math.isinf(total), "histogram sum %r" % total)
    states = {s[1]["state"]: s[2] for s in fams["orderd_workers"]["samples"]}
    eq(set(states), {"idle", "reading", "in-transaction", "writing"}, "worker states")
    eq(sum(states.values()), len(j1["pool"]), "workers by state against the pool")
    if j1["lock"] == "queue":
        check("orderd_queue_batches_total" in fams, "no queue metrics under --lock queue")
        check(prom_value(fams, "orderd_queue_batches_total") >= j1["queue"]["batches"],
              "queue batches behind the JSON")


@test
def a_worker_killed_and_replaced_keeps_the_counters_and_its_successor_shows():
    master = read_pidfile()
    pid = make_product(stock=50, price=400, name=unique_name("kill"))["id"]
    for _ in range(30):
        get("/product/%d/" % pid)
    s1 = status()
    eq(sorted(w["pid"] for w in s1["pool"]), sorted(children(master)),
       "the pool's pids against the master's children")
    busy = [w for w in s1["pool"] if w["requests"] > 0 and w["state"] == "idle"]
    check(busy, "no idle worker has served a request: %r" % s1["pool"])
    victim = busy[0]
    os.kill(victim["pid"], signal.SIGKILL)
    calls, deadline, s2 = 1, time.monotonic() + 20, None
    while time.monotonic() < deadline:
        time.sleep(0.3)
        s = status()
        calls += 1
        pids = {w["slot"]: w["pid"] for w in s["pool"]}
        if victim["pid"] not in pids.values() and pids.get(victim["slot"]) not in (None, victim["pid"]):
            s2 = s
            break
    check(s2 is not None, "worker %d in slot %d was not replaced within 20 s"
          % (victim["pid"], victim["slot"]))
    new = [w for w in s2["pool"] if w["slot"] == victim["slot"]][0]
    check(new["requests"] <= calls, "the successor starts with %d requests" % new["requests"])
    check(new["started"] >= victim["started"], "the successor's start %r" % new["started"])
    # Everything the killed worker counted is still there: the totals moved
    # by exactly the status requests answered meanwhile (s1 and the polls
    # before s2; each is counted once answered).
    eq(s2["counters"]["requests"] - s1["counters"]["requests"], calls - 1,
       "requests counted across the kill")
    for k, n in route_counts(s1).items():
        check(route_counts(s2).get(k, 0) >= n, "%r went back from %d" % (k, n))
    eq(sorted(w["pid"] for w in s2["pool"]), sorted(children(master)),
       "the pool's pids after the replacement")


@test
def a_worker_waiting_on_a_locked_row_shows_in_transaction():
    if lock_mode() == "queue":
        log("--lock queue: the batcher, not a worker, holds the transaction; skipped")
        return
    x = make_product(stock=100, price=700, name=unique_name("locked"))["id"]
    lock = RowLock(x)
    lock.acquire()
    result = {}

    def order():
        result["r"] = post_json("/order/", {"product": x, "quantity": 1})

    t = threading.Thread(target=order)
    try:
        t.start()
        seen, deadline = None, time.monotonic() + 2.5
        while time.monotonic() < deadline and seen is None:
            s = status()
            waiting = [w for w in s["pool"] if w["state"] == "in-transaction"]
            if waiting:
                seen = waiting[0]
            else:
                time.sleep(0.05)
        check(seen is not None, "no worker showed in-transaction while its order waited")
        check(seen["state_since"] <= time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "state_since %r is in the future" % seen["state_since"])
    finally:
        lock.release()
        t.join(30)
    check("r" in result and result["r"].status == 201,
          "the order that waited: %r" % result.get("r"))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        s = status()
        if not [w for w in s["pool"] if w["pid"] == seen["pid"] and w["state"] != "idle"]:
            break
        time.sleep(0.1)
    else:
        raise Fail("worker %d still not idle after its order" % seen["pid"])


@test
def queue_fields_stay_under_lock_queue():
    s0 = status()
    if s0["lock"] != "queue":
        check("queue" not in s0, "a queue object without --lock queue")
        log("not --lock queue: the queue fields are checked in the queue run")
        return
    for k in ("batches", "orders", "largest", "leader", "queued", "worker_connections",
              "histogram"):
        check(k in s0["queue"], "queue.%s missing" % k)
    pid = make_product(stock=50, price=400, name=unique_name("q"))["id"]
    make_order(pid, 1)
    s1 = status("?top=20")
    check(s1["queue"]["batches"] > s0["queue"]["batches"], "no batch counted")
    eq(s1["counters"]["orders"] - s0["counters"]["orders"], 1, "orders placed by the batcher")
    check(any(t["id"] == pid and t["sold"] == 1 for t in s1["top_products"]),
          "the batch's product is not in top: %r" % s1["top_products"])


if __name__ == "__main__":
    run()
