"""orderd_test: a tiny harness for the orderd HTTP integration tests.

Standard library only. The test scripts import it, register their tests with
@test and call run(), which speaks TAP (what `make check`'s tap-driver.sh
reads): the plan `1..N` first, then `ok K - name` or `not ok K - name` per
test, the reason of a failure as `# ` lines under it, and last the comment
`# N passed, M failed` (exit status 1 if any failed). Without ORDERD_URL it
prints `1..0 # SKIP no running stack (ORDERD_URL unset)` and exits 0.

Environment (set by the runner: ./stack test, ./stack suite, ./stack check):
  ORDERD_URL       nginx in front of orderd, e.g. http://127.0.0.1:18080
  ORDERD_BIN       the orderd binary (for `orderd audit`; ORDERD_DB_* are inherited)
  ORDERD_PIDFILE   the pool master's pid file
  ORDERD_MYSQL     command prefix running the mariadb client on the orderd schema,
                   as the schema owner, e.g. `mariadb --defaults-file=var/etc/owner.cnf orderd`
  ORDERD_TEST_OUT  directory for logs and artifacts (default: a new temp dir)
Optional:
  ORDERD_ADMIN_TOKEN    sent as `Authorization: Bearer ...` with every request
  ORDERD_FREIGHT        the freight the server runs with (default 1000)
  ORDERD_HTTP_TIMEOUT   seconds per request (default 30)
  ORDERD_SEED           seed for the random choices (default: time based, printed)

Usage: python3 test_x.py [-k SUBSTRING]... [TEST_NAME]...
"""

import collections
import datetime
import http.client
import itertools
import json
import os
import queue
import random
import re
import select
import shlex
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

BASE_URL = os.environ.get("ORDERD_URL", "http://127.0.0.1:8080").rstrip("/")
_URL = urllib.parse.urlsplit(BASE_URL)
FREIGHT = int(os.environ.get("ORDERD_FREIGHT", "1000"))
HTTP_TIMEOUT = float(os.environ.get("ORDERD_HTTP_TIMEOUT", "30"))
SEED = int(os.environ.get("ORDERD_SEED", str(int(time.time() * 1000) % 1000000007)))

JSON_CT = "application/json"
FORM_CT = "application/x-www-form-urlencoded"
PROBLEM_CT = "application/problem+json"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

# A random tag that keeps names made by this run apart from earlier runs.
RUN_TAG = "%x%04x" % (os.getpid(), random.Random(SEED).randrange(0x10000))


# ---------------------------------------------------------------------------
# Assertions


class Fail(AssertionError):
    """A test's expectation that did not hold; the message is the reason."""


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def eq(found, expected, what):
    if found != expected:
        raise Fail("%s: expected %r, found %r" % (what, expected, found))


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def summarize(msgs, examples=12):
    """Groups messages that differ only in numbers: one line per kind, with a
    count and the first example, most frequent kind first."""
    kinds = collections.OrderedDict()
    for m in msgs:
        key = re.sub(r"\d+", "N", m)[:120]
        kinds.setdefault(key, []).append(m)
    ranked = sorted(kinds.values(), key=len, reverse=True)
    lines = ["%dx %s" % (len(ms), ms[0][:600]) for ms in ranked[:examples]]
    if len(ranked) > examples:
        lines.append("... and %d more kinds" % (len(ranked) - examples))
    return "\n    ".join(lines)


def run_cases(cases, fn):
    """Runs fn(case) for every case of a table; fails once, listing every case that failed."""
    bad = []
    for case in cases:
        try:
            fn(case)
        except AssertionError as e:
            bad.append(str(e))
    check(not bad, "%d of %d cases failed:\n    %s" % (len(bad), len(cases), "\n    ".join(bad)))


# ---------------------------------------------------------------------------
# HTTP


class ConnError(Exception):
    """No HTTP answer at all: refused, reset, closed early or timed out."""


class Response:
    """One answer: status, headers (case-insensitive), raw body, parsed JSON
    (None unless the Content-Type says JSON and the body parses)."""

    def __init__(self, method, path, status, reason, headers, body):
        self.method = method
        self.path = path
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.content_type = headers.get("Content-Type", "") or ""
        self.json = None
        self.duplicate_members = []   # names given twice in the top-level JSON object
        if "json" in self.content_type.lower():
            dups = []

            def pairs(items):
                d = {}
                dups[:] = []
                for k, v in items:
                    if k in d:
                        dups.append(k)
                    d[k] = v
                return d
            try:
                self.json = json.loads(body.decode("utf-8"), object_pairs_hook=pairs)
                self.duplicate_members = list(dups)
            except (UnicodeDecodeError, ValueError):
                self.json = None

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def media_type(self):
        return self.content_type.split(";")[0].strip().lower()

    def __repr__(self):
        return "%s %s -> %d %s %s" % (self.method, self.path, self.status,
                                      self.content_type or "(no type)",
                                      self.body[:300])

    describe = __repr__


_pool = queue.LifoQueue()   # idle keep-alive connections: (conn, last used)
_IDLE_MAX = 2.0             # seconds; older idle connections are not reused


def _new_conn(timeout):
    port = _URL.port or (443 if _URL.scheme == "https" else 80)
    if _URL.scheme == "https":
        return http.client.HTTPSConnection(_URL.hostname, port, timeout=timeout)
    return http.client.HTTPConnection(_URL.hostname, port, timeout=timeout)


def _take_conn(timeout):
    while True:
        try:
            conn, used = _pool.get_nowait()
        except queue.Empty:
            return _new_conn(timeout)
        if time.monotonic() - used < _IDLE_MAX:
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            return conn
        conn.close()


def default_headers():
    h = {"Accept": JSON_CT}
    token = os.environ.get("ORDERD_ADMIN_TOKEN")
    if token:
        h["Authorization"] = "Bearer " + token
    return h


_CALLER = []


def caller_id():
    """The user id behind ORDERD_ADMIN_TOKEN (the owner of the orders the
    suites place), or None when the suites run without credentials."""
    if not _CALLER:
        uid = None
        if os.environ.get("ORDERD_ADMIN_TOKEN"):
            r = request("GET", "/account/")
            if r.status == 200 and isinstance(r.json, dict):
                uid = r.json.get("id")
        _CALLER.append(uid)
    return _CALLER[0]


def request(method, path, body=None, headers=None, ctype=None, timeout=None,
            fresh=False, chunked=False):
    """Sends one request and returns a Response whatever its status.

    body: bytes (or None); ctype: its Content-Type; headers: extra headers, a
    value of None removes a default one (Accept). fresh: use a new connection
    and close it afterwards. chunked: send body with chunked transfer coding.
    Raises ConnError when no HTTP answer arrives."""
    hdrs = default_headers()
    if ctype is not None:
        hdrs["Content-Type"] = ctype
    for k, v in (headers or {}).items():
        for old in [x for x in hdrs if x.lower() == k.lower()]:
            del hdrs[old]
        if v is not None:
            hdrs[k] = v
    timeout = HTTP_TIMEOUT if timeout is None else timeout
    url = _URL.path.rstrip("/") + path
    conn = _new_conn(timeout) if fresh else _take_conn(timeout)
    send_error = None
    try:
        try:
            if chunked:
                step = 8192
                parts = (body[i:i + step] for i in range(0, len(body), step))
                conn.request(method, url, body=parts, headers=hdrs, encode_chunked=True)
            else:
                conn.request(method, url, body=body, headers=hdrs)
        except (BrokenPipeError, ConnectionResetError) as e:
            # The server may answer early (413) and stop reading: read its answer.
            send_error = e
        resp = conn.getresponse()
        data = resp.read()
    except (OSError, http.client.HTTPException) as e:
        conn.close()
        why = "%s: %s" % (type(e).__name__, e)
        if send_error is not None:
            why += " (while sending: %s: %s)" % (type(send_error).__name__, send_error)
        raise ConnError("%s %s: %s" % (method, path, why)) from None
    r = Response(method, path, resp.status, resp.reason, resp.msg, data)
    if fresh or resp.will_close or send_error is not None:
        conn.close()
    else:
        _pool.put((conn, time.monotonic()))
    return r


def get(path, **kw):
    return request("GET", path, **kw)


def send_json(method, path, obj, headers=None, **kw):
    body = json.dumps(obj).encode("utf-8")
    return request(method, path, body, headers, ctype=JSON_CT, **kw)


def send_form(method, path, fields, headers=None, **kw):
    """fields: a dict or a list of (name, value) pairs (repeats allowed)."""
    body = urllib.parse.urlencode(fields).encode("ascii")
    return request(method, path, body, headers, ctype=FORM_CT, **kw)


def post_json(path, obj, headers=None, **kw):
    return send_json("POST", path, obj, headers, **kw)


def post_form(path, fields, headers=None, **kw):
    return send_form("POST", path, fields, headers, **kw)


def post_raw(path, body, ctype, headers=None, **kw):
    return request("POST", path, body, headers, ctype=ctype, **kw)


class RawJSON:
    """A JSON token sent exactly as written (json.dumps would turn 1e3 into 1000.0)."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


def dump_json(obj):
    """json.dumps as bytes, except that RawJSON values (in objects and arrays,
    at any depth) go out verbatim."""
    raws = {}

    def sub(v):
        if isinstance(v, RawJSON):
            key = "@@raw%d@@" % len(raws)
            raws['"%s"' % key] = v.text
            return key
        if isinstance(v, dict):
            return {k: sub(x) for k, x in v.items()}
        if isinstance(v, list):
            return [sub(x) for x in v]
        return v
    text = json.dumps(sub(obj))
    for k, v in raws.items():
        text = text.replace(k, v)
    return text.encode()


def browser_post(path, fields, **kw):
    """A plain browser form post: urlencoded body, Accept preferring HTML."""
    return post_form(path, fields, headers={"Accept": BROWSER_ACCEPT}, **kw)


# ---------------------------------------------------------------------------
# Checks on answers


def assert_status(r, status, what=""):
    if r.status != status:
        raise Fail("%sexpected HTTP %d, got %s" % (what + ": " if what else "", status, r.describe()))


def assert_json(r, status, what=""):
    """A success answer: the status, application/json, a parsed body."""
    assert_status(r, status, what)
    check(r.media_type() == JSON_CT,
          "%s: success must be application/json, got %r" % (what or r.path, r.content_type))
    check(r.json is not None, "%s: body is not JSON: %r" % (what or r.path, r.body[:300]))
    return r.json


def problem_issues(r, status, ptype=None, field=None):
    """Returns a list of what is wrong with r as an RFC 9457 problem (empty if fine)."""
    out = []
    if r.status != status:
        out.append("status %d, expected %d" % (r.status, status))
    if r.media_type() != PROBLEM_CT:
        out.append("Content-Type %r, expected application/problem+json" % r.content_type)
    p = r.json
    if not isinstance(p, dict):
        out.append("body is not a JSON object")
        return out
    for k in ("type", "title", "status", "detail"):
        if k not in p:
            out.append("member %r missing" % k)
    if r.duplicate_members:
        out.append("member(s) %s given twice in one object (a JSON client keeps only the last)"
                   % ", ".join(repr(k) for k in r.duplicate_members))
    elif "status" in p and p["status"] != r.status:
        out.append("member status %r differs from HTTP %d" % (p["status"], r.status))
    if ptype is not None and p.get("type") != ptype:
        out.append("type %r, expected %r" % (p.get("type"), ptype))
    if field is not None and p.get("field") != field:
        out.append("field %r, expected %r" % (p.get("field"), field))
    return out


def assert_problem(r, status, ptype=None, field=None, what=""):
    issues = problem_issues(r, status, ptype, field)
    if issues:
        raise Fail("%s%s; answer: %s" % (what + ": " if what else "", "; ".join(issues), r.describe()))
    return r.json


def assert_no_redirect(r, what):
    check(not 300 <= r.status < 400, "%s: answered %d redirect to %r, expected no redirect"
          % (what, r.status, r.header("Location")))


def location(r, what="Location"):
    """The Location header as a same-origin path?query (an absolute URL must be this origin)."""
    loc = r.header("Location")
    check(loc, "%s: no Location header in %s" % (what, r.describe()))
    u = urllib.parse.urlsplit(loc)
    if u.scheme or u.netloc:
        check(u.scheme == _URL.scheme and u.netloc == _URL.netloc,
              "%s: Location %r is not same-origin with %s" % (what, loc, BASE_URL))
    return u.path + ("?" + u.query if u.query else "")


def query_of(loc):
    """The query of a path?query (e.g. a redirect's Location) as {name: [values]}."""
    return urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query, keep_blank_values=True)


def allow_set(r):
    return {m.strip().upper() for m in (r.header("Allow") or "").split(",") if m.strip()}


# ---------------------------------------------------------------------------
# Domain helpers


PRODUCT_KEYS = ("id", "name", "goods", "price", "stock", "sales")
ORDER_KEYS = ("id", "user", "status", "pay_method", "lines", "total_count", "freight",
              "total_amount", "created_at")


_names = itertools.count(1)


def unique_name(prefix="t"):
    """A name no other test or run uses (thread-safe)."""
    return "%s-%s-%d" % (prefix, RUN_TAG, next(_names))


def check_product_shape(p, what="product"):
    check(isinstance(p, dict), "%s: not an object: %r" % (what, p))
    for k in PRODUCT_KEYS:
        check(k in p, "%s: member %r missing in %r" % (what, k, p))
    for k in ("id", "price", "stock", "sales"):
        check(is_int(p[k]), "%s: %s must be an integer, found %r" % (what, k, p[k]))
    check(p["stock"] >= 0 and p["sales"] >= 0, "%s: negative stock or sales: %r" % (what, p))


def make_product(stock=10, price=1500, name=None, **extra):
    """POST /product/ (JSON) and return the created product; fails the test otherwise."""
    body = {"name": name or unique_name("p"), "price": price, "stock": stock}
    body.update(extra)
    r = post_json("/product/", body)
    p = assert_json(r, 201, "POST /product/ %r" % body)
    check_product_shape(p, "created product")
    return p


def get_product(pid):
    p = assert_json(get("/product/%d/" % pid), 200, "GET /product/%d/" % pid)
    check_product_shape(p)
    return p


def make_order(pid, quantity=None):
    body = {"product": pid}
    if quantity is not None:
        body["quantity"] = quantity
    return assert_json(post_json("/order/", body), 201, "POST /order/ %r" % body)


def get_order(oid):
    return assert_json(get("/order/%d/" % oid), 200, "GET /order/%d/" % oid)


def check_order_shape(o, lines, prices, pay_method="cod", what="order"):
    """o is a new order of the caller: placed, every member of ORDER_KEYS,
    exactly lines [(product, quantity)] (merged, ascending product) at prices
    {product: price}, freight and totals to match, created_at a UTC
    YYYY-MM-DDTHH:MM:SSZ less than 15 minutes from now."""
    check(isinstance(o, dict), "%s: not an object: %r" % (what, o))
    for k in ORDER_KEYS:
        check(k in o, "%s: member %r missing in %r" % (what, k, o))
    check(is_int(o["id"]) and o["id"] > 0, "%s: id %r" % (what, o["id"]))
    eq(o["status"], "placed", what + " status")
    eq(o["pay_method"], pay_method, what + " pay_method")
    eq(o["user"], caller_id(), what + " user")
    want = [{"product": p, "quantity": q, "price": prices[p]} for p, q in lines]
    eq(o["lines"], want, what + " lines (merged, ascending product, price at purchase)")
    eq(o["total_count"], sum(q for _, q in lines), what + " total_count")
    eq(o["freight"], FREIGHT, what + " freight")
    eq(o["total_amount"], sum(q * prices[p] for p, q in lines) + FREIGHT,
       what + " total_amount (sum quantity*price + freight)")
    ca = o["created_at"]
    check(isinstance(ca, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", ca),
          "%s: created_at %r is not YYYY-MM-DDTHH:MM:SSZ" % (what, ca))
    t = datetime.datetime.strptime(ca, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    skew = abs((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds())
    check(skew < 900, "%s: created_at %s is %.0f s away from UTC now (time zone?)" % (what, ca, skew))


ABORT_WAYS = ("put", "post", "form", "override")


def abort(oid, way="put", **kw):
    """Aborts order oid by one of ABORT_WAYS: PUT; bare POST; POST form
    _method=PUT; POST with X-HTTP-Method-Override: PUT."""
    path = "/order/%d/abort/" % oid
    if way == "put":
        return request("PUT", path, **kw)
    if way == "post":
        return request("POST", path, **kw)
    if way == "form":
        return post_form(path, {"_method": "PUT"}, **kw)
    if way == "override":
        return request("POST", path, headers={"X-HTTP-Method-Override": "PUT"}, **kw)
    raise ValueError(way)


def top_order_id():
    """The newest order's id (0 if none), from GET /order/?limit=1."""
    page = assert_json(get("/order/?limit=1"), 200, "GET /order/?limit=1")
    items = page.get("items") or []
    return items[0]["id"] if items else 0


# ---------------------------------------------------------------------------
# Database, audit, processes, artifacts


def db(sql):
    """Runs sql through $ORDERD_MYSQL (-N -B) and returns the rows as lists of strings."""
    cmd = os.environ.get("ORDERD_MYSQL")
    check(cmd, "ORDERD_MYSQL is not set (the mariadb client command for the orderd schema)")
    try:
        p = subprocess.run(shlex.split(cmd) + ["-N", "-B", "-e", sql],
                           capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Fail("db: cannot run %r: %s" % (cmd, e)) from None
    if p.returncode != 0:
        raise Fail("db(%r) failed (exit %d): %s" % (sql, p.returncode, p.stderr.strip()))
    return [line.split("\t") for line in p.stdout.splitlines()]


def id_list(ids):
    ids = [int(i) for i in ids]
    return ",".join(str(i) for i in ids) if ids else "NULL"


def audit():
    """Runs `$ORDERD_BIN audit` with the inherited environment: (exit code, output)."""
    cmd = os.environ.get("ORDERD_BIN")
    check(cmd, "ORDERD_BIN is not set (the orderd binary, for `orderd audit`)")
    try:
        p = subprocess.run(shlex.split(cmd) + ["audit"], capture_output=True, text=True,
                           timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Fail("audit: cannot run %r audit: %s" % (cmd, e)) from None
    return p.returncode, p.stdout + p.stderr


def assert_audit_clean(what="orderd audit"):
    rc, out = audit()
    if rc != 0:
        lines = out.strip().splitlines()
        raise Fail("%s exited %d with %d line(s):\n    %s" % (
            what, rc, len(lines), "\n    ".join(lines[:30])))


_AUDIT_ROW = re.compile(r"^(product|goods|order) (\d+):")


def audit_rows(pids=(), gids=(), oids=()):
    """The rows of these ids, as audit_lines_about() and audit_trouble() take them."""
    return ({("product", i) for i in pids} | {("goods", i) for i in gids} |
            {("order", i) for i in oids})


def audit_lines_about(rows):
    """Runs the audit: (exit code, its lines naming rows in `rows` (a set of
    ('product'|'goods'|'order', id)), all its output)."""
    rc, out = audit()
    mine = []
    for line in out.strip().splitlines():
        m = _AUDIT_ROW.match(line)
        if m and (m.group(1), int(m.group(2))) in rows:
            mine.append(line.strip())
    return rc, mine, out


def audit_trouble(rows, wait=20.0):
    """None when the audit is clean, else why not: at once when it names one of
    `rows` (see audit_lines_about) or exits other than 0 or 1; violations of
    other rows only (another client's deliberate, short-lived corruption on a
    shared stack) are waited out for `wait` s first."""
    deadline = time.monotonic() + wait
    while True:
        rc, mine, out = audit_lines_about(rows)
        if mine:
            return ("orderd audit exited %d naming this test's rows:\n    %s"
                    % (rc, "\n    ".join(mine[:30])))
        if rc == 0:
            if "audit: clean" not in out:
                return "orderd audit exited 0 without 'audit: clean': %r" % out
            return None
        lines = out.strip().splitlines()
        if rc != 1 or time.monotonic() > deadline:
            return ("orderd audit exited %d with %d line(s):\n    %s"
                    % (rc, len(lines), "\n    ".join(lines[:30])))
        time.sleep(1.0)


def out_dir():
    d = os.environ.get("ORDERD_TEST_OUT")
    if not d:
        d = out_dir.tmp = getattr(out_dir, "tmp", None) or tempfile.mkdtemp(prefix="orderd-test-")
    os.makedirs(d, exist_ok=True)
    return d


def artifact(name, obj):
    """Writes obj as JSON (or text) into ORDERD_TEST_OUT; returns the path."""
    path = os.path.join(out_dir(), name)
    with open(path, "w") as f:
        if isinstance(obj, str):
            f.write(obj)
        else:
            json.dump(obj, f, indent=1, sort_keys=True, default=str)
    return path


def read_pidfile():
    path = os.environ.get("ORDERD_PIDFILE")
    check(path, "ORDERD_PIDFILE is not set (the pool master's pid file)")
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError as e:
        raise Fail("cannot read ORDERD_PIDFILE %s: %s" % (path, e)) from None
    check(text.isdigit(), "ORDERD_PIDFILE %s holds %r, not a pid" % (path, text))
    return int(text)


def proc_stat(pid):
    """(state, ppid, pgrp, session) of a process from /proc/<pid>/stat, or None
    if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rindex(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[2]), int(rest[3])


def alive(pid):
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


REAPER_NAME = "orderd-reaper"     # the pool's payment-window child (fcgi/process/reaper.h)
BATCHER_NAME = "orderd-batcher"   # --lock queue's batch placer (fcgi/process/batcher.h)


def _comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def _kids(ppid):
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = proc_stat(int(name))
        if st and st[1] == ppid and st[0] not in ("Z", "X"):
            out.append(int(name))
    return sorted(out)


def children(ppid):
    """Live (not zombie) direct children of ppid: for a pool master, its
    workers (the reaper and the batcher, which take no requests, are left
    out: see reaper(), batcher())."""
    return [p for p in _kids(ppid) if _comm(p) not in (REAPER_NAME, BATCHER_NAME)]


def reaper(ppid):
    """The pid of pool master ppid's reaper child, or None."""
    r = [p for p in _kids(ppid) if _comm(p) == REAPER_NAME]
    return r[0] if r else None


def batcher(ppid):
    """The pid of pool master ppid's batcher child (--lock queue), or None."""
    r = [p for p in _kids(ppid) if _comm(p) == BATCHER_NAME]
    return r[0] if r else None


class RowLock:
    """Another database session holding product pid FOR UPDATE in an open
    transaction (the mariadb client of ORDERD_MYSQL, fed through a pipe)."""

    def __init__(self, pid):
        cmd = os.environ.get("ORDERD_MYSQL")
        check(cmd, "ORDERD_MYSQL is not set")
        self.pid = pid
        self.p = subprocess.Popen(shlex.split(cmd) + ["-N", "-B", "--unbuffered"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, bufsize=1)

    def acquire(self, seconds=10):
        self.p.stdin.write("START TRANSACTION;\n"
                           "SELECT 'locked', stock FROM products WHERE id = %d FOR UPDATE;\n"
                           % self.pid)
        self.p.stdin.flush()
        ready, _, _ = select.select([self.p.stdout], [], [], seconds)
        line = self.p.stdout.readline() if ready else ""
        if not line.startswith("locked"):
            self.release()
            raise Fail("the other session could not lock product %d: %r %s"
                       % (self.pid, line, self.p.stderr.read()[-300:] if self.p.poll() is not None else ""))

    def release(self):
        """ROLLBACK and quit; a client that does not quit is killed (its
        connection closes, which rolls the transaction back too)."""
        if getattr(self, "released", False):
            return
        self.released = True
        try:
            if self.p.poll() is None:
                self.p.stdin.write("ROLLBACK;\n")
                self.p.stdin.close()
        except (OSError, ValueError):
            pass
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(5)


def at_once(n, fn, timeout=None):
    """fn(i) for i in range(n), each in its own thread, released together by a
    Barrier (n == 1: called directly); the results in order. A ConnError
    becomes the string "connection error: ..."; a thread still running after
    `timeout` s (or killed by another exception) leaves None."""
    out = [None] * n

    def one(i):
        try:
            out[i] = fn(i)
        except ConnError as e:
            out[i] = "connection error: %s" % e
    if n == 1:
        one(0)
        return out
    barrier = threading.Barrier(n)

    def released(i):
        try:
            barrier.wait(10)
        except threading.BrokenBarrierError:
            pass
        one(i)
    ts = [threading.Thread(target=released, args=(i,), daemon=True) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout)
    return out


# ---------------------------------------------------------------------------
# The storm: many clients order and abort at once; the tally comes from answers


class Storm:
    """Clients order random products (quantity in `quantities`) until stopped;
    for every order they get (201) they fire `aborts` simultaneous aborts,
    released by a Barrier, mixing PUT and form POST with _method=PUT.

    Every answer is classified; anything the contract forbids is a violation.
    Requests without an answer (connection error, 503 problem) are 'lost': a
    violation unless lossy=True, and reconciled against the database in
    verify() either way. A monitor thread checks that stock + sales stays equal
    to the initial stock and that stock never goes negative."""

    def __init__(self, name, initial, clients=32, aborts=3, quantities=(1, 2),
                 lossy=False, seed=None):
        self.name = name
        self.initial = dict(initial)          # product id -> initial stock
        self.pids = sorted(self.initial)
        self.clients = clients
        self.aborts = aborts
        self.quantities = quantities
        self.lossy = lossy
        self.seed = SEED if seed is None else seed
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.threads = []
        # the tally
        self.orders = {}                      # order id -> dict(product, quantity, aborts)
        self.ordered = collections.Counter()  # product -> units in 201 answers
        self.restored = collections.Counter() # product -> units of 200 aborts
        self.out_of_stock = collections.Counter()
        self.lost_orders = []                 # (product, quantity, why)
        self.lost_aborts = []                 # (order, why)
        self.unavailable = 0                  # 503 problem answers among the lost
        self.statuses = collections.Counter() # (what, status) -> count
        self.violations = []
        self.monitor_reads = 0
        self.min_stock = {p: s for p, s in self.initial.items()}
        self.t0 = self.t1 = None

    # -- running --

    def violate(self, msg):
        with self.lock:
            self.violations.append(msg)

    def start(self):
        self.t0 = time.monotonic()
        for i in range(self.clients):
            t = threading.Thread(target=self._client, args=(i,), name="storm-%d" % i, daemon=True)
            self.threads.append(t)
        self.threads.append(threading.Thread(target=self._monitor, name="monitor", daemon=True))
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(HTTP_TIMEOUT * 3)
            if t.is_alive():
                self.violate("thread %s still running long after the storm stopped" % t.name)
        self.t1 = time.monotonic()

    def run(self, seconds):
        self.start()
        self.stop_event.wait(seconds)
        self.finish()

    def _call(self, what, fn):
        """Runs one request; returns (Response or None, lost reason or None)."""
        try:
            r = fn()
        except ConnError as e:
            with self.lock:
                self.statuses[(what, "conn-error")] += 1
            if not self.lossy:
                self.violate("%s: connection error: %s" % (what, e))
            return None, "connection error: %s" % e
        with self.lock:
            self.statuses[(what, r.status)] += 1
        if r.status == 503 and not problem_issues(r, 503):
            with self.lock:
                self.unavailable += 1
            if not self.lossy:
                self.violate("%s: 503: %s" % (what, r.describe()))
            return None, "503 %s" % (r.json or {}).get("type")
        if r.status >= 500:
            self.violate("%s: server error: %s" % (what, r.describe()))
            return None, "HTTP %d" % r.status
        return r, None

    def _client(self, idx):
        rnd = random.Random(self.seed * 1009 + idx)
        while not self.stop_event.is_set():
            pid = rnd.choice(self.pids)
            q = rnd.randint(*self.quantities)
            body = {"product": pid, "quantity": q}
            if rnd.random() < 0.5:
                fn = lambda: post_json("/order/", body)
            else:
                fn = lambda: post_form("/order/", body)
            what = "order product %d x%d" % (pid, q)
            r, lost = self._call(what, fn)
            if lost:
                with self.lock:
                    self.lost_orders.append((pid, q, lost))
                continue
            if r.status == 201:
                self._created(what, r, pid, q, rnd)
            elif r.status == 409:
                self._out_of_stock(what, r, pid, q)
            else:
                self.violate("%s: unexpected answer %s" % (what, r.describe()))

    def _created(self, what, r, pid, q, rnd):
        o = r.json
        try:
            check(isinstance(o, dict) and is_int(o.get("id")), "no order id")
            check(o.get("status") == "placed", "status %r" % o.get("status"))
            lines = o.get("lines")
            check(lines == [{"product": pid, "quantity": q, "price": lines[0].get("price")}],
                  "lines %r" % (lines,))
        except (Fail, TypeError, IndexError, AttributeError) as e:
            self.violate("%s: 201 with a bad order (%s): %s" % (what, e, r.describe()))
            return
        oid = o["id"]
        with self.lock:
            if oid in self.orders:
                self.violations.append("%s: order id %d given out twice" % (what, oid))
                return
            self.orders[oid] = {"product": pid, "quantity": q, "aborts": []}
            self.ordered[pid] += q
        if self.aborts:
            self._abort_at_once(oid, pid, q, rnd)

    def _out_of_stock(self, what, r, pid, q):
        issues = problem_issues(r, 409, "/problems/out-of-stock")
        p = r.json if isinstance(r.json, dict) else {}
        if p.get("product") != pid:
            issues.append("member product %r, expected %d" % (p.get("product"), pid))
        avail = p.get("available")
        if not is_int(avail) or not 0 <= avail < q:
            issues.append("member available %r, expected an integer in 0..%d (it was short)"
                          % (avail, q - 1))
        if issues:
            self.violate("%s: bad 409: %s; %s" % (what, "; ".join(issues), r.describe()))
        with self.lock:
            self.out_of_stock[pid] += 1

    def _abort_at_once(self, oid, pid, q, rnd):
        n = self.aborts
        ways = (["put", "form"] * n)[:n]
        rnd.shuffle(ways)
        results = at_once(n, lambda i: self._call(
            "abort %d of order %d (%s)" % (i + 1, oid, ways[i]), lambda: abort(oid, ways[i])))
        labels = []
        for i, (r, lost) in enumerate(results):
            what = "abort %d of order %d (%s)" % (i + 1, oid, ways[i])
            if lost:
                labels.append("lost")
                with self.lock:
                    self.lost_aborts.append((oid, lost))
            elif r.status == 200:
                ok = isinstance(r.json, dict) and r.json.get("status") == "aborted" \
                    and r.json.get("id") == oid
                if not ok:
                    self.violate("%s: 200 but not this order aborted: %s" % (what, r.describe()))
                labels.append("aborted")
            elif r.status == 409:
                # only the type: how the order's status is named is test_api's concern
                issues = []
                if r.media_type() != PROBLEM_CT:
                    issues.append("Content-Type %r" % r.content_type)
                if not isinstance(r.json, dict) or r.json.get("type") != "/problems/order-state":
                    issues.append("not a /problems/order-state problem")
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
                self.restored[pid] += q
        if n_ok > 1:
            self.violate("order %d (product %d x%d): %d of %d simultaneous aborts succeeded, "
                         "expected exactly 1: %s" % (oid, pid, q, n_ok, n, labels))
        elif n_ok == 0 and "lost" not in labels:
            self.violate("order %d (product %d x%d): none of %d simultaneous aborts succeeded: %s"
                         % (oid, pid, q, n, labels))
        elif n_ok == 1 and labels.count("conflict") != n - 1 and "lost" not in labels:
            self.violate("order %d: expected 1 abort 200 and %d x 409 order-state, got %s"
                         % (oid, n - 1, labels))

    def _monitor(self):
        while not self.stop_event.is_set():
            for pid in self.pids:
                if self.stop_event.is_set():
                    break
                try:
                    r = get("/product/%d/" % pid)
                except ConnError as e:
                    if not self.lossy:
                        self.violate("monitor GET product %d: connection error: %s" % (pid, e))
                    continue
                if r.status != 200 or not isinstance(r.json, dict):
                    if not (self.lossy and r.status == 503):
                        self.violate("monitor GET product %d: %s" % (pid, r.describe()))
                    continue
                st, sa = r.json.get("stock"), r.json.get("sales")
                init = self.initial[pid]
                with self.lock:
                    self.monitor_reads += 1
                    if is_int(st):
                        self.min_stock[pid] = min(self.min_stock[pid], st)
                if not (is_int(st) and is_int(sa)):
                    self.violate("monitor: product %d stock/sales not integers: %r" % (pid, r.json))
                elif st < 0 or sa < 0:
                    self.violate("monitor: product %d oversold: stock %d, sales %d (initial %d)"
                                 % (pid, st, sa, init))
                elif st + sa != init:
                    self.violate("monitor: product %d stock %d + sales %d = %d, expected initial %d"
                                 % (pid, st, sa, st + sa, init))
            time.sleep(0.02)

    # -- checking --

    def _products(self):
        """pid -> (stock, sales) as GET /product/<id>/ answers now."""
        out = {}
        for pid in self.pids:
            r = get("/product/%d/" % pid)
            p = assert_json(r, 200, "final GET /product/%d/" % pid)
            check(is_int(p.get("stock")) and is_int(p.get("sales")),
                  "product %d: stock/sales not integers: %r" % (pid, p))
            out[pid] = (p["stock"], p["sales"])
        return out

    def _quiesce(self, max_wait=15.0):
        """Waits until the products' stock stops changing (requests the client
        gave up on may still be running in the server); returns _products()."""
        deadline = time.monotonic() + max_wait
        prev = None
        while True:
            cur = self._products()
            if cur == prev or time.monotonic() > deadline:
                return cur
            prev = cur
            time.sleep(1.0)

    def db_orders(self):
        """order id -> (status, [(product, quantity)]) for every order holding our products."""
        rows = db("SELECT o.id, o.status, l.product_id, l.quantity FROM orders o "
                  "JOIN order_lines l ON l.order_id = o.id WHERE l.product_id IN (%s) "
                  "ORDER BY o.id" % id_list(self.pids))
        out = {}
        for oid, status, pid, q in rows:
            out.setdefault(int(oid), [status, []])[1].append((int(pid), int(q)))
        return out

    def summary(self):
        secs = (self.t1 or time.monotonic()) - (self.t0 or time.monotonic())
        n_req = sum(self.statuses.values())
        return ("%s: %.1fs, %d requests (%.0f/s), %d orders created (%d units), %d aborted, "
                "%d out-of-stock 409s, %d lost orders, %d lost aborts, %d monitor reads, seed %d"
                % (self.name, secs, n_req, n_req / secs if secs > 0 else 0, len(self.orders),
                   sum(self.ordered.values()), sum(self.restored.values()),
                   sum(self.out_of_stock.values()), len(self.lost_orders), len(self.lost_aborts),
                   self.monitor_reads, self.seed))

    def verify(self, max_lost=0):
        """Compares the tally with the products' final stock and the orders
        table, then runs orderd audit. Raises Fail listing every violation."""
        v = list(self.violations)
        final = self._quiesce() if self.lossy else self._products()
        dbo = self.db_orders()

        n_lost = len(self.lost_orders) + len(self.lost_aborts)
        if self.lossy and n_lost > max_lost:
            v.append("%d requests lost (no answer or 503), at most %d allowed; e.g. %s"
                     % (n_lost, max_lost, (self.lost_orders + self.lost_aborts)[:5]))

        # every order the clients were given exists, with the line they asked for
        lost_pool = collections.Counter((p, q) for p, q, _ in self.lost_orders)
        extra_held = collections.Counter()       # product -> units of unseen orders
        resolved = collections.Counter()          # product -> units restored by lost aborts
        for oid, o in sorted(self.orders.items()):
            row = dbo.get(oid)
            if row is None:
                v.append("order %d was answered 201 but is not in the orders table" % oid)
                continue
            status, lines = row
            if lines != [(o["product"], o["quantity"])]:
                v.append("order %d: table lines %r, answer said product %d x%d"
                         % (oid, lines, o["product"], o["quantity"]))
            labels = o["aborts"]
            n_ok = labels.count("aborted")
            if self.aborts and status != "aborted" and (n_ok or "conflict" in labels):
                v.append("order %d: abort answers %s but its status in the table is %r"
                         % (oid, labels, status))
            if not self.aborts and status != "placed":
                v.append("order %d: never aborted, but its status in the table is %r" % (oid, status))
            if self.aborts and n_ok == 0 and status == "aborted":
                resolved[o["product"]] += o["quantity"]   # a lost abort did commit
        for oid, (status, lines) in sorted(dbo.items()):
            if oid in self.orders:
                continue
            # an order nobody was told about: only a lost order request may explain it
            if len(lines) != 1 or lost_pool[lines[0]] <= 0:
                v.append("order %d (%s, lines %r) is in the table but no client was answered "
                         "201 for it and no lost request matches it" % (oid, status, lines))
                continue
            lost_pool[lines[0]] -= 1
            if status != "placed":
                v.append("order %d: nobody knew its id, yet its status is %r" % (oid, status))
            else:
                extra_held[lines[0][0]] += lines[0][1]

        held_db = collections.Counter()
        for status, lines in dbo.values():
            if status != "aborted":
                for p, q in lines:
                    held_db[p] += q

        rows = []
        pv = []     # per product and audit: few, reported in full
        for pid in self.pids:
            init = self.initial[pid]
            st, sa = final[pid]
            expect = init - self.ordered[pid] + self.restored[pid] - extra_held[pid] + resolved[pid]
            rows.append({"product": pid, "initial": init, "ordered": self.ordered[pid],
                          "restored": self.restored[pid], "lost_created": extra_held[pid],
                          "lost_aborts_committed": resolved[pid], "expected": expect,
                          "stock": st, "sales": sa, "held_in_db": held_db[pid],
                          "min_stock_seen": self.min_stock[pid],
                          "out_of_stock_409": self.out_of_stock[pid]})
            if st < 0 or sa < 0:
                pv.append("product %d: final stock %d, sales %d: negative (oversold or restored "
                          "twice)" % (pid, st, sa))
            if st != expect:
                pv.append("product %d: stock expected %d (initial %d - ordered %d + restored %d"
                          " - lost-but-created %d + lost-but-aborted %d), found %d"
                          % (pid, expect, init, self.ordered[pid], self.restored[pid],
                             extra_held[pid], resolved[pid], st))
            if st != init - held_db[pid]:
                pv.append("product %d: stock %d, but initial %d - %d units held by non-aborted "
                          "orders in the table = %d" % (pid, st, init, held_db[pid], init - held_db[pid]))
            if sa != held_db[pid]:
                pv.append("product %d: sales %d, but non-aborted order lines hold %d"
                          % (pid, sa, held_db[pid]))

        rc, out = audit()
        if rc != 0:
            pv.append("orderd audit exited %d: %s" % (rc, " | ".join(out.strip().splitlines()[:20])))

        path = artifact("%s.json" % self.name, {
            "summary": self.summary(), "products": rows, "violations": pv + v,
            "statuses": {"%s %s" % k: n for k, n in self.statuses.items()},
            "lost_orders": self.lost_orders, "lost_aborts": self.lost_aborts,
            "orders": {str(k): o for k, o in self.orders.items()}})
        log(self.summary())
        for row in rows:
            log("  %s" % row)
        if pv or v:
            parts = pv + (["during the storm and in the orders table, by kind:\n    " + summarize(v)]
                          if v else [])
            raise Fail("%s: %d violation(s) (all in %s):\n    %s\n    [%s]"
                       % (self.name, len(pv) + len(v), path, "\n    ".join(parts), self.summary()))
        check(self.orders, "%s: not a single order was created; the storm tested nothing (%s)"
              % (self.name, self.summary()))
        return rows


# ---------------------------------------------------------------------------
# Registry and runner


_TESTS = []
_log_file = None


def test(fn):
    """Registers fn as a test named after the function (the failure it catches)."""
    _TESTS.append(fn)
    return fn


def log(msg):
    """A line for the log in ORDERD_TEST_OUT (and stderr), not for stdout."""
    line = "[%s] %s" % (time.strftime("%H:%M:%S"), msg)
    print(line, file=sys.stderr, flush=True)
    if _log_file is not None:
        _log_file.write(line + "\n")
        _log_file.flush()


def reachable():
    """None if ORDERD_URL answers HTTP at all, else the reason."""
    try:
        get("/product/?limit=1", timeout=10, fresh=True)
        return None
    except ConnError as e:
        return str(e)


def tap_diag(text):
    """Prints text as TAP diagnostics: every line behind `# `."""
    for line in str(text).splitlines() or [""]:
        print("# " + line if line else "#", flush=True)


def run(argv=None):
    global _log_file
    argv = sys.argv[1:] if argv is None else argv
    subs, names = [], []
    it = iter(argv)
    for a in it:
        if a == "-k":
            subs.append(next(it, ""))
        elif a in ("-h", "--help"):
            print(__doc__)
            sys.exit(0)
        else:
            names.append(a)
    if not os.environ.get("ORDERD_URL"):
        # make check without a stack: nothing to run against, not a failure.
        print("1..0 # SKIP no running stack (ORDERD_URL unset)", flush=True)
        sys.exit(0)
    tests = [t for t in _TESTS if (not names or t.__name__ in names)
             and all(s in t.__name__ for s in subs)]
    known = {t.__name__ for t in _TESTS}
    unknown = [n for n in names if n not in known]
    if unknown or not tests:
        # A filter that selects nothing (or names a test that does not
        # exist) is a mistake, never a pass.
        print("1..%d" % max(1, len(unknown)), flush=True)
        for k, n in enumerate(unknown, 1):
            print("not ok %d - %s" % (k, n), flush=True)
            tap_diag("no such test in %s" % sys.argv[0])
        if not unknown:
            print("not ok 1 - selection", flush=True)
            tap_diag("no test matches %r" % (argv,))
        tap_diag("0 passed, %d failed" % max(1, len(unknown)))
        sys.exit(2)
    script = os.path.splitext(os.path.basename(sys.argv[0] or "tests"))[0]
    _log_file = open(os.path.join(out_dir(), script + ".log"), "a")
    log("%s against %s, seed %d (ORDERD_SEED), artifacts in %s"
        % (script, BASE_URL, SEED, out_dir()))

    print("1..%d" % len(tests), flush=True)
    why = reachable()
    if why is not None:
        tap_diag("orderd_test: cannot reach ORDERD_URL=%s (%s); is the stack up?" % (BASE_URL, why))
        for k, t in enumerate(tests, 1):
            print("not ok %d - %s" % (k, t.__name__), flush=True)
            tap_diag("not run, ORDERD_URL %s unreachable" % BASE_URL)
        tap_diag("0 passed, %d failed" % len(tests))
        sys.exit(2)

    passed = failed = 0
    for k, t in enumerate(tests, 1):
        name = t.__name__
        t0 = time.monotonic()
        try:
            t()
        except KeyboardInterrupt:
            # The plan is not met: the driver reports the run as an error.
            print("not ok %d - %s" % (k, name), flush=True)
            tap_diag("interrupted")
            failed += 1
            break
        except Exception as e:   # a test's failure, or a bug of the test: both are reported
            failed += 1
            if isinstance(e, AssertionError):
                reason = str(e) or "assertion failed"
            else:
                reason = "%s: %s" % (type(e).__name__, e)
            print("not ok %d - %s" % (k, name), flush=True)
            tap_diag(reason)
            log("FAIL %s (%.1fs)\n%s" % (name, time.monotonic() - t0, traceback.format_exc()))
        else:
            passed += 1
            print("ok %d - %s" % (k, name), flush=True)
            log("PASS %s (%.1fs)" % (name, time.monotonic() - t0))
    tap_diag("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
