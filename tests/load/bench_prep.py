#!/usr/bin/env python3
"""bench_prep: the data tests/load/bench.sh needs, made through the API.

Standard library only. Environment: ORDERD_URL (nginx in front of orderd),
ORDERD_ADMIN_TOKEN (an administrator's bearer token).

  bench_prep.py products COUNT PRICE STOCK NAME OUT
        creates COUNT products (no goods) as the admin; OUT gets their ids,
        one a line, ascending
  bench_prep.py users COUNT PREFIX CREDIT OUT
        registers COUNT users PREFIX01.., signs each in (paced: nginx allows
        5 sign-ins or registrations a second per address, bursts of 20) and
        credits each CREDIT cents as the admin; OUT gets "USER_ID TOKEN" lines
  bench_prep.py newest
        prints the id of the newest order (0 if none), as the admin sees it
  bench_prep.py placed USERS_FILE AFTER_ID OUT
        lists, as each user of USERS_FILE, the user's orders newer than
        AFTER_ID that are `placed` and paid by `balance` (the ones pay can
        take); OUT gets "USER_ID ORDER_ID" lines, oldest first per user;
        prints how many
  bench_prep.py replaykeys USERS_FILE PRODUCTS_FILE TAG OUT
        as the k-th user of USERS_FILE, places one order of the k-th product
        of PRODUCTS_FILE (one row each: no hot row) with the Idempotency-Key
        TAG-USER_ID (the form body tests/load/replay.lua sends, byte for
        byte), then repeats it once and checks the repeat is a 201 with
        `Idempotent-Replayed: true`; OUT gets "USER_ID TOKEN KEY PRODUCT"
        lines
  bench_prep.py status OUT
        GET /status/ as the admin; OUT gets its JSON ({} when it fails, with
        a warning on stderr)
  bench_prep.py queuediff BEFORE AFTER
        the --lock queue batches between two `status` files: prints
        "batches=N orders=N mean=X largest=N" and, on a second line, the
        batch-size histogram ("1: N, 2-3: N, ..."; "-" without a queue)
"""

import http.client
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse

BASE = os.environ.get("ORDERD_URL", "http://127.0.0.1:8080").rstrip("/")
URL = urllib.parse.urlsplit(BASE)
ADMIN = os.environ.get("ORDERD_ADMIN_TOKEN", "")


class Client:
    """One keep-alive connection; reconnects when the server closed it."""

    def __init__(self, token=None):
        self.token = token
        self.conn = None

    def call(self, method, path, body=None, token=None, form=None, extra=None):
        """JSON body, or form (a str sent as is, urlencoded); extra: more
        headers. Returns (status, json, Retry-After); self.last is the
        response (its headers)."""
        token = token if token is not None else self.token
        headers = {"Accept": "application/json"}
        headers.update(extra or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            data = form.encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if token:
            headers["Authorization"] = "Bearer " + token
        for attempt in range(3):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(URL.hostname, URL.port or 80,
                                                           timeout=60)
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                self.last = r
                raw = r.read()
                try:
                    js = json.loads(raw) if raw else None
                except ValueError:
                    js = None
                return r.status, js, r.getheader("Retry-After")
            except (OSError, http.client.HTTPException):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                time.sleep(0.2)
        raise RuntimeError("unreachable")


def die(msg):
    sys.stderr.write("bench_prep: %s\n" % msg)
    sys.exit(1)


def parallel(n, fn):
    """Runs fn(i) for i in 0..n-1 on n threads; re-raises the first failure."""
    errors = []

    def wrap(i):
        try:
            fn(i)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    ts = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]


def cmd_products(count, price, stock, name, out):
    count, price, stock = int(count), int(price), int(stock)
    ids, lock, nthreads = [], threading.Lock(), 4
    todo = list(range(count))

    def work(t):
        c = Client(ADMIN)
        for i in todo[t::nthreads]:
            st, js, _ = c.call("POST", "/product/",
                               {"name": "%s %d" % (name, i + 1), "price": price, "stock": stock})
            if st != 201:
                die("POST /product/ answered %s: %s" % (st, js))
            with lock:
                ids.append(js["id"])

    parallel(min(nthreads, count), work)
    ids.sort()
    with open(out, "w") as f:
        f.write("".join("%d\n" % i for i in ids))


class Pacer:
    """A token bucket a little under nginx's limit (5/s, burst 20)."""

    def __init__(self, rate=4.5, burst=16):
        self.rate, self.burst, self.t = rate, float(burst), time.monotonic()
        self.tokens = self.burst

    def wait(self):
        while True:
            now = time.monotonic()
            self.tokens = min(self.tokens + (now - self.t) * self.rate, self.burst)
            self.t = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return
            time.sleep((1.0 - self.tokens) / self.rate)


def auth_call(c, pacer, path, body):
    for _ in range(30):
        pacer.wait()
        st, js, retry = c.call("POST", path, body, token="")
        if st != 429:
            return st, js
        time.sleep(float(retry or 1))
    die("%s stayed rate limited" % path)
    return None, None


def cmd_users(count, prefix, credit, out):
    count, credit = int(count), int(credit)
    pacer, c, admin = Pacer(), Client(), Client(ADMIN)
    password = secrets.token_urlsafe(12)
    rows = []
    for i in range(count):
        name = "%s%02d" % (prefix, i + 1)
        st, js = auth_call(c, pacer, "/auth/register/", {"username": name, "password": password})
        if st != 201:
            die("register %s answered %s: %s" % (name, st, js))
        uid = js["user"]["id"]
        st, js = auth_call(c, pacer, "/auth/login/", {"username": name, "password": password})
        if st != 200:
            die("login %s answered %s: %s" % (name, st, js))
        token = js["token"]
        if credit > 0:
            st, js, _ = admin.call("POST", "/account/%s/credit/" % name, {"amount": credit})
            if st != 200:
                die("credit %s answered %s: %s" % (name, st, js))
        rows.append("%d %s\n" % (uid, token))
    with open(out, "w") as f:
        f.write("".join(rows))


def cmd_newest():
    st, js, _ = Client(ADMIN).call("GET", "/order/?limit=1")
    if st != 200:
        die("GET /order/ answered %s: %s" % (st, js))
    print(js["items"][0]["id"] if js["items"] else 0)


def read_users(users_file):
    """The "USER_ID TOKEN" lines of users_file as [(uid, token)]."""
    users = []
    with open(users_file) as f:
        for line in f:
            if line.strip():
                uid, token = line.split()[:2]
                users.append((int(uid), token))
    return users


def cmd_placed(users_file, after, out):
    after = int(after)
    users = read_users(users_file)
    found = [None] * len(users)
    nthreads = 4

    def work(t):
        c = Client()
        for k in range(t, len(users), nthreads):
            uid, token = users[k]
            mine, cursor = [], None
            while True:
                path = "/order/?limit=200" + ("&after=%d" % cursor if cursor else "")
                st, js, _ = c.call("GET", path, token=token)
                if st != 200:
                    die("GET %s as user %d answered %s: %s" % (path, uid, st, js))
                older = False
                for o in js["items"]:
                    if o["id"] <= after:
                        older = True
                        break
                    if o["status"] == "placed" and o["pay_method"] == "balance":
                        mine.append(o["id"])
                if older or js["next"] is None:
                    break
                cursor = js["next"]
            mine.reverse()
            found[k] = mine

    parallel(min(nthreads, len(users)), work)
    n = 0
    with open(out, "w") as f:
        for (uid, _), ids in zip(users, found):
            f.write("".join("%d %d\n" % (uid, i) for i in ids))
            n += len(ids)
    print(n)


def cmd_replaykeys(users_file, products_file, tag, out):
    users = read_users(users_file)
    with open(products_file) as f:
        products = [int(line) for line in f if line.strip()]
    if len(products) < len(users):
        die("replaykeys: %d products for %d users" % (len(products), len(users)))
    rows = [None] * len(users)
    nthreads = 4

    def work(t):
        c = Client()
        for k in range(t, len(users), nthreads):
            uid, token = users[k]
            key = "%s-%d" % (tag, uid)
            form = "product=%d&quantity=1" % products[k]  # as replay.lua sends it
            for attempt in (1, 2):
                st, js, _ = c.call("POST", "/order/", token=token, form=form,
                                   extra={"Idempotency-Key": key})
                replayed = c.last.getheader("Idempotent-Replayed")
                if st != 201 or (attempt == 2) != (replayed == "true"):
                    die("POST /order/ as user %d with key %s (try %d) answered %s, "
                        "Idempotent-Replayed %s: %s" % (uid, key, attempt, st, replayed, js))
            rows[k] = "%d %s %s %d\n" % (uid, token, key, products[k])

    parallel(min(nthreads, len(users)), work)
    with open(out, "w") as f:
        f.write("".join(rows))


def cmd_status(out):
    try:
        st, js, _ = Client(ADMIN).call("GET", "/status/")
    except (OSError, http.client.HTTPException) as e:
        st, js = None, str(e)
    if st != 200 or not isinstance(js, dict):
        sys.stderr.write("bench_prep: GET /status/ answered %s: %s\n" % (st, js))
        js = {}
    with open(out, "w") as f:
        json.dump(js, f)


def cmd_queuediff(before, after):
    with open(before) as f:
        b = json.load(f).get("queue") or {}
    with open(after) as f:
        a = json.load(f).get("queue") or {}
    if not a:
        print("batches=- orders=- mean=- largest=-")
        print("-")
        return
    batches = a.get("batches", 0) - b.get("batches", 0)
    orders = a.get("orders", 0) - b.get("orders", 0)
    old = {(h["from"], h["to"]): h.get("batches", 0) for h in b.get("histogram", [])}
    cells = []
    for h in a.get("histogram", []):
        n = h.get("batches", 0) - old.get((h["from"], h["to"]), 0)
        if n:
            if h.get("to") is None:
                rng = "%d+" % h["from"]
            elif h["from"] == h["to"]:
                rng = str(h["from"])
            else:
                rng = "%d-%d" % (h["from"], h["to"])
            cells.append("%s: %d" % (rng, n))
    print("batches=%d orders=%d mean=%s largest=%s" % (
        batches, orders, "%.1f" % (orders / batches) if batches > 0 else "-",
        a.get("largest", "-")))
    print(", ".join(cells) if cells else "no batches")


def main(argv):
    cmds = {"products": (cmd_products, 5), "users": (cmd_users, 4),
            "newest": (cmd_newest, 0), "placed": (cmd_placed, 3),
            "replaykeys": (cmd_replaykeys, 4), "status": (cmd_status, 1),
            "queuediff": (cmd_queuediff, 2)}
    if len(argv) < 1 or argv[0] not in cmds or len(argv) - 1 != cmds[argv[0]][1]:
        sys.stderr.write(__doc__)
        return 2
    cmds[argv[0]][0](*argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
