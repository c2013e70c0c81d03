"""accounts: shared helpers for the accounts suites (test_auth, test_bank_storm,
test_idempotency), on top of orderd_test.

Every user here is registered through the API (POST /auth/register/) and signs
in with POST /auth/login/; a User sends its own bearer token (never the admin
token that orderd_test adds by default), a cookie session sends only the
orderd_session cookie (+ Origin / CSRF token as asked). The admin is the one in
ORDERD_ADMIN_TOKEN, or, when that is not set, one made with `$ORDERD_BIN admin
NAME` (its last output line is the token; ORDERD_DB_* come from the environment).

Login and register are rate limited by nginx per client address: the helpers
that must succeed wait out a 429 (Retry-After) for up to RATE_WAIT seconds."""

import hashlib
import json
import os
import re
import secrets
import shlex
import subprocess
import threading
import time
import urllib.parse

import orderd_test as T
from orderd_test import FORM_CT, JSON_CT, Fail, assert_json, check, db, eq, is_int

ANON = {"Authorization": None}          # header override: send no credentials at all
PASSWORD = "correct horse battery staple"
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")
RATE_WAIT = float(os.environ.get("ORDERD_RATE_WAIT", "60"))

UNAUTHORIZED = "/problems/unauthorized"
FORBIDDEN = "/problems/forbidden"
CSRF = "/problems/csrf"
NOT_FOUND = "/problems/not-found"
INVALID = "/problems/invalid-field"
ORDER_STATE = "/problems/order-state"
OUT_OF_STOCK = "/problems/out-of-stock"
FUNDS = "/problems/insufficient-funds"
TAKEN = "/problems/username-taken"
KEY_REUSED = "/problems/idempotency-key-reused"
RATE_LIMITED = "/problems/rate-limited"

ORIGIN = "%s://%s" % (T._URL.scheme, T._URL.netloc)   # what the browser sends for this site


def uname(prefix="u"):
    """A fresh username (3..32 of A-Z a-z 0-9 _ . -) no earlier run has used."""
    return "%s_%s" % (re.sub(r"[^A-Za-z0-9]", "", prefix)[:12] or "u", secrets.token_hex(6))


def new_key(prefix="k"):
    """A fresh Idempotency-Key."""
    return "%s-%s" % (prefix, secrets.token_hex(12))


# ---------------------------------------------------------------------------
# anonymous calls (login, register) with the rate limit waited out


def _retry_after(r):
    try:
        return min(max(float(r.header("Retry-After") or 1), 0.2), 5.0)
    except ValueError:
        return 1.0


def wait_429(fn, max_wait=None):
    """Calls fn() until its answer is not a 429 (max_wait seconds at most)."""
    deadline = time.monotonic() + (RATE_WAIT if max_wait is None else max_wait)
    while True:
        r = fn()
        if r.status != 429 or time.monotonic() > deadline:
            return r
        time.sleep(_retry_after(r))


def anon(method, path, obj=None, form=None, headers=None, **kw):
    """A request without credentials; obj goes as JSON, form as urlencoded."""
    h = dict(ANON)
    h.update(headers or {})
    if obj is not None:
        return T.request(method, path, json.dumps(obj).encode(), h, ctype=JSON_CT, **kw)
    if form is not None:
        return T.request(method, path, urllib.parse.urlencode(form).encode(), h, ctype=FORM_CT, **kw)
    return T.request(method, path, None, h, **kw)


def register(username, password=PASSWORD, form=False, retry=True):
    """POST /auth/register/ (JSON or form); the raw answer (429s waited out)."""
    fields = {"username": username, "password": password}
    fn = (lambda: anon("POST", "/auth/register/", form=fields)) if form else \
        (lambda: anon("POST", "/auth/register/", obj=fields))
    return wait_429(fn) if retry else fn()


def login(username, password=PASSWORD, form=False, retry=True):
    """POST /auth/login/; the raw answer (429s waited out unless retry=False)."""
    fields = {"username": username, "password": password}
    fn = (lambda: anon("POST", "/auth/login/", form=fields)) if form else \
        (lambda: anon("POST", "/auth/login/", obj=fields))
    return wait_429(fn) if retry else fn()


def set_cookies(r):
    """name -> (value, [attributes as written]) of every Set-Cookie in r."""
    out = {}
    for line in r.headers.get_all("Set-Cookie") or []:
        parts = [p.strip() for p in line.split(";")]
        name, _, value = parts[0].partition("=")
        out[name.strip()] = (value.strip(), parts[1:])
    return out


def cookie_attrs(attrs):
    """[attribute strings] -> {lower name: value or True}."""
    d = {}
    for a in attrs:
        k, eqs, v = a.partition("=")
        d[k.strip().lower()] = v.strip() if eqs else True
    return d


# ---------------------------------------------------------------------------
# users


class User:
    """A signed-in account: its own bearer token, csrf token and cookies."""

    def __init__(self, username, password=PASSWORD, uid=None, token=None, csrf=None,
                 role="user"):
        self.username = username
        self.password = password
        self.id = uid
        self.token = token
        self.csrf = csrf
        self.role = role

    def __repr__(self):
        return "User(%s #%s)" % (self.username, self.id)

    # -- bearer requests --

    def hdr(self, headers=None, key=None):
        h = {"Authorization": "Bearer " + self.token}
        if key is not None:
            h["Idempotency-Key"] = key
        h.update(headers or {})
        return h

    def request(self, method, path, body=None, headers=None, ctype=None, key=None, **kw):
        return T.request(method, path, body, self.hdr(headers, key), ctype=ctype, **kw)

    def get(self, path, headers=None, **kw):
        return self.request("GET", path, headers=headers, **kw)

    def post(self, path, headers=None, key=None, **kw):
        """A POST with an empty body."""
        return self.request("POST", path, headers=headers, key=key, **kw)

    def post_json(self, path, obj, headers=None, key=None, **kw):
        return self.request("POST", path, json.dumps(obj).encode(), headers, JSON_CT, key, **kw)

    def post_form(self, path, fields, headers=None, key=None, **kw):
        return self.request("POST", path, urllib.parse.urlencode(fields).encode(), headers,
                            FORM_CT, key, **kw)

    # -- cookie requests (a browser) --

    def cookie_hdr(self, origin=ORIGIN, csrf=None, referer=None, extra=None):
        """Headers of a cookie-authenticated request: no Authorization, the session
        cookie (and the csrf cookie), Origin unless None, X-CSRF-Token if csrf."""
        cookie = "orderd_session=%s" % self.token
        if self.csrf:
            cookie += "; orderd_csrf=%s" % self.csrf
        h = {"Authorization": None, "Cookie": cookie}
        if origin is not None:
            h["Origin"] = origin
        if referer is not None:
            h["Referer"] = referer
        if csrf is not None:
            h["X-CSRF-Token"] = csrf
        h.update(extra or {})
        return h

    def cookie_request(self, method, path, fields=None, obj=None, origin=ORIGIN, csrf=None,
                       referer=None, extra=None, **kw):
        h = self.cookie_hdr(origin, csrf, referer, extra)
        if obj is not None:
            return T.request(method, path, json.dumps(obj).encode(), h, ctype=JSON_CT, **kw)
        if fields is not None:
            return T.request(method, path, urllib.parse.urlencode(fields).encode(), h,
                             ctype=FORM_CT, **kw)
        return T.request(method, path, None, h, **kw)

    # -- domain --

    def account(self):
        a = assert_json(self.get("/account/"), 200, "GET /account/ as %s" % self.username)
        check_account(a, self, "GET /account/ as %s" % self.username)
        return a

    def balance(self):
        return self.account()["balance"]

    def ledger(self, limit=None, after=None):
        q = {}
        if limit is not None:
            q["limit"] = limit
        if after is not None:
            q["after"] = after
        path = "/account/ledger/" + ("?" + urllib.parse.urlencode(q) if q else "")
        return assert_json(self.get(path), 200, "GET %s as %s" % (path, self.username))

    def ledger_all(self):
        """Every ledger entry of the user via the API, newest first (all pages)."""
        out, after = [], None
        for _ in range(100000):
            page = self.ledger(limit=200, after=after)
            out.extend(page.get("items") or [])
            after = page.get("next")
            if after is None or not page.get("items"):
                return out
        raise Fail("ledger of %s never ends" % self.username)

    def orders(self):
        """Every order GET /order/ lists for this user (all pages), newest first."""
        out, after = [], None
        for _ in range(100000):
            path = "/order/?limit=200" + ("&after=%d" % after if after is not None else "")
            page = assert_json(self.get(path), 200, "GET %s as %s" % (path, self.username))
            out.extend(page.get("items") or [])
            after = page.get("next")
            if after is None or not page.get("items"):
                return out
        raise Fail("order list of %s never ends" % self.username)

    def order(self, pid, quantity=1, key=None):
        r = self.post_json("/order/", {"product": pid, "quantity": quantity}, key=key)
        return assert_json(r, 201, "POST /order/ product %d x%d as %s" % (pid, quantity, self.username))

    def checkout(self, items, pay_method="balance", key=None):
        """items: [(product, quantity)] -> the created order (201 required)."""
        body = {"items": [{"product": p, "quantity": q} for p, q in items], "pay_method": pay_method}
        r = self.post_json("/checkout/", body, key=key)
        return assert_json(r, 201, "POST /checkout/ %r as %s" % (body, self.username))

    def pay(self, oid, key=None):
        return self.post("/order/%d/pay/" % oid, key=key)

    def abort(self, oid, key=None):
        return self.post("/order/%d/abort/" % oid, key=key)

    def transfer(self, to, amount, key=None):
        return self.post_json("/transfer/", {"to": to, "amount": amount}, key=key)

    # -- admin only --

    def credit(self, username, amount, key=None):
        return self.post_json("/account/%s/credit/" % username, {"amount": amount}, key=key)

    def must_credit(self, username, amount):
        r = self.credit(username, amount)
        a = assert_json(r, 200, "POST /account/%s/credit/ %d" % (username, amount))
        eq(a.get("username"), username, "credit answer username")
        return a

    def make_product(self, stock=1000, price=1500, name=None):
        body = {"name": name or T.unique_name("acct"), "price": price, "stock": stock}
        p = assert_json(self.post_json("/product/", body), 201, "POST /product/ %r" % body)
        T.check_product_shape(p, "created product")
        return p

    def restock(self, pid, quantity, key=None):
        return self.post_json("/product/%d/restock/" % pid, {"quantity": quantity}, key=key)

    def ship(self, oid, key=None):
        return self.post("/order/%d/ship/" % oid, key=key)


def check_account(a, user=None, what="account"):
    check(isinstance(a, dict), "%s: not an object: %r" % (what, a))
    for k in ("id", "username", "role", "balance"):
        check(k in a, "%s: member %r missing in %r" % (what, k, a))
    check(is_int(a["id"]) and is_int(a["balance"]), "%s: id/balance not integers: %r" % (what, a))
    check(a["balance"] >= 0, "%s: negative balance: %r" % (what, a))
    check(a["role"] in ("user", "admin"), "%s: role %r" % (what, a["role"]))
    if user is not None:
        if user.id is not None:
            eq(a["id"], user.id, what + " id")
        eq(a["username"], user.username, what + " username")


def new_user(prefix="u", password=PASSWORD, credit=0):
    """Registers and signs in a fresh user (429s waited out) whose balance is
    credit (an admin credit, checked); returns the User."""
    name = uname(prefix)
    r = register(name, password)
    j = assert_json(r, 201, "POST /auth/register/ %s" % name)
    check(isinstance(j, dict) and isinstance(j.get("user"), dict) and is_int(j["user"].get("id")),
          "register %s: answer %r lacks user.id" % (name, j))
    u = sign_in(name, password, uid=j["user"]["id"])
    if credit:
        admin().must_credit(u.username, credit)
    return u


def sign_in(name, password=PASSWORD, uid=None):
    r = login(name, password)
    j = assert_json(r, 200, "POST /auth/login/ %s" % name)
    check(isinstance(j, dict) and isinstance(j.get("token"), str),
          "login %s: no token in %r" % (name, j))
    u = j.get("user") or {}
    return User(name, password, uid if uid is not None else u.get("id"), j["token"],
                j.get("csrf_token"), u.get("role", "user"))


def new_users(n, prefix="u", threads=4):
    """n fresh users, made by a few threads at once."""
    out = [None] * n
    errors = []
    idx = iter(range(n))
    lock = threading.Lock()

    def work():
        while True:
            with lock:
                i = next(idx, None)
            if i is None:
                return
            try:
                out[i] = new_user("%s%d" % (prefix, i))
            except Exception as e:   # reported below
                with lock:
                    errors.append("%s: %s" % (type(e).__name__, e))
    ts = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(not errors, "making %d users: %d failed, e.g. %s" % (n, len(errors), errors[0] if errors else ""))
    return out


_admin = None
_admin_lock = threading.Lock()


def orderd_admin(*args):
    """Runs `$ORDERD_BIN admin ARGS...` (ORDERD_DB_* inherited): the CompletedProcess
    (text stdout and stderr)."""
    cmd = os.environ.get("ORDERD_BIN")
    check(cmd, "ORDERD_BIN is not set (needed for `orderd admin`)")
    try:
        return subprocess.run(shlex.split(cmd) + ["admin"] + list(args), capture_output=True,
                              text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Fail("cannot run %s admin %s: %s" % (cmd, " ".join(args), e)) from None


def make_admin_token(name):
    """`$ORDERD_BIN admin NAME`: the last line of its output is the token."""
    cmd = os.environ.get("ORDERD_BIN")
    p = orderd_admin(name)
    lines = p.stdout.strip().splitlines()
    check(p.returncode == 0 and lines, "%s admin %s exited %d: %s %s"
          % (cmd, name, p.returncode, p.stdout[-500:], p.stderr[-500:]))
    return lines[-1].strip()


def admin():
    """The admin User: ORDERD_ADMIN_TOKEN, or a fresh one made with `orderd admin`
    (then also exported, so orderd_test's default requests carry it)."""
    global _admin
    with _admin_lock:
        if _admin is None:
            token = os.environ.get("ORDERD_ADMIN_TOKEN")
            if not token:
                token = make_admin_token(uname("admin"))
                os.environ["ORDERD_ADMIN_TOKEN"] = token
            r = T.request("GET", "/account/", None, {"Authorization": "Bearer " + token})
            a = assert_json(r, 200, "GET /account/ with the admin token")
            eq(a.get("role"), "admin", "role of the admin token's account")
            _admin = User(a["username"], None, a["id"], token, None, "admin")
        return _admin


_ample = {}


def ample_product(price):
    """The id of a product at price with stock for any number of small orders
    (100000), made by the admin once per run and price."""
    if price not in _ample:
        _ample[price] = admin().make_product(stock=100000, price=price)["id"]
    return _ample[price]


# ---------------------------------------------------------------------------
# database views of money (tables of db/migrations/002_accounts.sql)


def db_user(username):
    """(id, role, balance) from the users table, or None."""
    rows = db("SELECT id, role, balance FROM users WHERE username = '%s'"
              % re.sub(r"[^A-Za-z0-9_.-]", "", username))
    if not rows:
        return None
    return int(rows[0][0]), rows[0][1], int(rows[0][2])


def db_balances(uids):
    """uid -> balance."""
    rows = db("SELECT id, balance FROM users WHERE id IN (%s)" % T.id_list(uids))
    return {int(a): int(b) for a, b in rows}


def db_ledger_sums(uids):
    """uid -> {kind: (count, sum)} from the ledger."""
    rows = db("SELECT user_id, kind, COUNT(*), COALESCE(SUM(amount), 0) FROM ledger "
              "WHERE user_id IN (%s) GROUP BY user_id, kind" % T.id_list(uids))
    out = {int(u): {} for u in uids}
    for u, kind, n, s in rows:
        out[int(u)][kind] = (int(n), int(s))
    return out


def db_order_entries(oid):
    """kind -> [amount] of the ledger entries that name order oid."""
    out = {}
    for kind, amount in db("SELECT kind, amount FROM ledger WHERE order_id = %d ORDER BY id" % oid):
        out.setdefault(kind, []).append(int(amount))
    return out


def db_order_status(oid):
    rows = db("SELECT status, user_id FROM orders WHERE id = %d" % oid)
    check(rows, "order %d is not in the orders table" % oid)
    return rows[0][0]


def sha256_hex(b):
    return hashlib.sha256(b).hexdigest()
