#!/usr/bin/env python3
"""The prefork pool (fcgi/process/pool.c, fcgi/process/worker.c): reloads, stops, recycling, respawn,
listen addresses, database outages and command-line errors.

Each test starts its OWN `$ORDERD_BIN serve` (same database environment) on a
socket in a temp dir, not daemonized, in its own process group, and talks to it
over FastCGI directly (fcgi_client.py); the shared pool behind ORDERD_URL is
not touched. Every process a test starts is killed in a finally.
See orderd_test.py for the environment."""

import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from orderd_test import (  # noqa: E402
    Fail, alive, assert_audit_clean, check, children, eq, log, proc_stat, run, test,
    unique_name)
from fcgi_client import FcgiError, KeptConnection, fcgi_json, fcgi_request  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROBLEM_CT = "application/problem+json"
STOP_SECONDS = 5.0   # a graceful stop may take this long


def orderd_cmd():
    cmd = os.environ.get("ORDERD_BIN")
    check(cmd, "ORDERD_BIN is not set (the orderd binary)")
    return shlex.split(cmd)


# ---------------------------------------------------------------------------
# processes


def session_members(sid):
    """Live processes of session sid."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != os.getpid():
            st = proc_stat(int(name))
            if st and st[0] not in ("Z", "X") and st[3] == sid:
                out.append(int(name))
    return sorted(out)


def kill_session(sid):
    """SIGKILLs, one by one by pid, every live process of session sid (a
    session this file created with start_new_session)."""
    for pid in session_members(sid):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def owner_env():
    """The environment with ORDERD_DB_USER/PASSWORD of the schema's owner
    account (the stack keeps its password in $ORDERD_VAR/etc/db-owner-password)."""
    import faults
    env = dict(os.environ)
    path = faults.var_path("etc", "db-owner-password")
    if os.path.exists(path):
        with open(path) as f:
            env["ORDERD_DB_PASSWORD"] = f.read().strip()
        env["ORDERD_DB_USER"] = "orderd_owner"
    return env


def run_cmd(args, env=None, timeout=15.0, stdin=subprocess.DEVNULL):
    """Runs orderd with args in its own session: (exit code, stdout, stderr).
    A command still running after timeout is killed and fails the test."""
    p = subprocess.Popen(orderd_cmd() + args, stdin=stdin, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_session(p.pid)
        p.communicate()
        raise Fail("`orderd %s` still running after %.0fs (it should have exited)"
                   % (" ".join(args), timeout)) from None
    finally:
        kill_session(p.pid)
    return p.returncode, out, err


class Pool:
    """An `orderd serve` of this test: master = self.proc (not daemonized),
    listening on self.addr (a unix socket in a temp dir unless listen= says
    otherwise). Use as a context manager: everything is killed on exit."""

    def __init__(self, workers=2, listen=None, args=(), env=None, stdin=None, use_listen=True):
        self.dir = tempfile.mkdtemp(prefix="orderd-pool-", dir="/tmp")
        self.sock = os.path.join(self.dir, "o.sock")
        self.pidfile = os.path.join(self.dir, "orderd.pid")
        self.logfile = os.path.join(self.dir, "orderd.log")
        self.errfile = os.path.join(self.dir, "stderr")
        self.workers_n = workers
        self.listen = listen or self.sock
        self.addr = self.listen
        if ":" in self.listen and "/" not in self.listen:
            host, _, port = self.listen.rpartition(":")
            self.addr = (host, int(port))
        self.args = ["serve", "--workers", str(workers), "--pidfile", self.pidfile,
                     "--log", self.logfile] + list(args)
        if use_listen:
            self.args += ["--listen", self.listen]
        self.env = dict(os.environ if env is None else env)
        self.stdin = stdin
        self.proc = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.kill()
        return False

    def start(self, ready_seconds=10.0):
        with open(self.errfile, "w") as err:
            self.proc = subprocess.Popen(
                orderd_cmd() + self.args, env=self.env, start_new_session=True,
                stdin=subprocess.DEVNULL if self.stdin is None else self.stdin,
                stdout=err, stderr=err)
        log("started orderd %s: master %d" % (" ".join(self.args), self.proc.pid))
        deadline = time.monotonic() + ready_seconds
        while True:
            if self.proc.poll() is not None:
                raise Fail("orderd serve exited %d at start: %s"
                           % (self.proc.returncode, self.output()))
            if len(self.workers()) == self.workers_n and os.path.exists(self.pidfile):
                return self
            if time.monotonic() > deadline:
                raise Fail("orderd serve (master %d) not up with %d workers after %.0fs: "
                           "children %r; %s" % (self.proc.pid, self.workers_n, ready_seconds,
                                                self.workers(), self.output()))
            time.sleep(0.05)

    @property
    def master(self):
        return self.proc.pid

    def workers(self):
        return children(self.proc.pid)

    def signal(self, sig):
        log("signal %d to master %d" % (sig, self.proc.pid))
        self.proc.send_signal(sig)

    def output(self, lines=15):
        """The tail of the master's stderr and --log, for failure messages."""
        out = []
        for path in (self.errfile, self.logfile):
            try:
                with open(path, errors="replace") as f:
                    text = f.read().strip().splitlines()
            except OSError:
                continue
            if text:
                out.append("%s: %s" % (os.path.basename(path), " | ".join(text[-lines:])))
        return "; ".join(out) or "(no output)"

    def kill(self):
        if self.proc is not None:
            kill_session(self.proc.pid)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
            if os.environ.get("ORDERD_TEST_KEEP"):
                log("kept %s" % self.dir)
                return
            try:
                shutil.copy(self.logfile, os.path.join(
                    os.environ.get("ORDERD_TEST_OUT") or self.dir,
                    "pool-%d.log" % self.proc.pid))
            except OSError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- requests --

    def request(self, method, uri, **kw):
        return fcgi_request(self.addr, method, uri, **kw)

    def json(self, method, uri, obj, **kw):
        return fcgi_json(self.addr, method, uri, obj, **kw)

    def make_product(self, stock=1000000, price=100):
        body = {"name": unique_name("pool"), "price": price, "stock": stock}
        try:
            r = self.json("POST", "/product/", body)
        except FcgiError as e:
            raise Fail("POST /product/ %r: %s; %s" % (body, e, self.output())) from None
        check(r.status == 201 and isinstance(r.json, dict) and isinstance(r.json.get("id"), int),
              "POST /product/ %r: expected 201 with the product, got %s" % (body, r.describe()))
        return r.json["id"]


def wait_until(cond, seconds, step=0.05):
    """Polls cond() until it returns a true value (returned) or seconds pass (None)."""
    deadline = time.monotonic() + seconds
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            return None
        time.sleep(step)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def all_new(pool, old):
    """The pool's workers if there are as many as it should have and none is in
    old, else None."""
    w = pool.workers()
    return w if len(w) == pool.workers_n and not set(w) & set(old) else None


# ---------------------------------------------------------------------------
# load: client threads making GET /product/<id>/ and POST /order/ continuously


class Load:
    """threads clients, each alternating GET /product/<pid>/ and POST /order/
    (quantity 1) until stopped. Every attempt is recorded as a dict: what,
    t_start, t_connected, t_end, status (int) or error kind, detail, ok."""

    def __init__(self, pool, pid, threads=8):
        self.pool = pool
        self.pid = pid
        self.n = threads
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.results = []
        self.threads = [threading.Thread(target=self._client, args=(i,), daemon=True,
                                         name="load-%d" % i) for i in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(20)
        check(not any(t.is_alive() for t in self.threads), "a load thread did not stop")

    def _one(self, i):
        if i % 2 == 0:
            what = "GET /product/%d/" % self.pid
            fn = lambda: self.pool.request("GET", "/product/%d/" % self.pid)
        else:
            what = "POST /order/ product %d" % self.pid
            fn = lambda: self.pool.json("POST", "/order/", {"product": self.pid, "quantity": 1})
        rec = {"what": what, "t_start": time.monotonic(), "t_connected": None, "ok": False}
        try:
            r = fn()
        except FcgiError as e:
            rec.update(t_end=time.monotonic(), status=e.kind, detail=str(e),
                       t_connected=e.t_connected)
            return rec
        rec.update(t_end=time.monotonic(), status=r.status, detail=r.describe(),
                   t_connected=r.t_connected)
        j = r.json if isinstance(r.json, dict) else {}
        if i % 2 == 0:
            rec["ok"] = r.status == 200 and r.media_type() == "application/json" \
                and j.get("id") == self.pid
        else:
            lines = j.get("lines")
            rec["ok"] = r.status == 201 and r.media_type() == "application/json" \
                and j.get("status") == "placed" and isinstance(j.get("id"), int) \
                and isinstance(lines, list) and len(lines) == 1 \
                and isinstance(lines[0], dict) and lines[0].get("product") == self.pid
        return rec

    def _client(self, idx):
        i = idx
        while not self.stop_event.is_set():
            rec = self._one(i)
            i += 1
            with self.lock:
                self.results.append(rec)

    def bad(self):
        return [r for r in self.results if not r["ok"]]

    def ok_count(self):
        return sum(1 for r in self.results if r["ok"])


def show(recs, t0, n=6):
    return "; ".join("[t%+.2fs] %s -> %s %s" % (r["t_start"] - t0, r["what"], r["status"],
                                               r["detail"][:200]) for r in recs[:n])


# ---------------------------------------------------------------------------
# tests


@test
def sighup_replaces_every_worker_without_failing_a_request():
    with Pool(workers=2) as pool:
        original = pool.workers()
        pid = pool.make_product()
        load = Load(pool, pid).start()
        try:
            t0 = time.monotonic()
            time.sleep(1.0)
            pool.signal(signal.SIGHUP)
            time.sleep(1.0)
            pool.signal(signal.SIGHUP)
            t_hup = time.monotonic()
            # under load, the reload must complete: 2 workers, none of the old ones
            replaced = wait_until(lambda: all_new(pool, original), 5.0)
            seen_under_load = pool.workers()
            pending = [w for w in seen_under_load if sigterm_pending(w)]
            rest = 4.0 - (time.monotonic() - t_hup)
            if rest > 0:
                time.sleep(rest)
        finally:
            load.stop()
        check(alive(pool.master), "master %d died during the reloads; %s"
              % (pool.master, pool.output()))
        bad = load.bad()
        check(not bad, "%d of %d requests around two SIGHUPs were not a valid 2xx answer: %s"
              % (len(bad), len(load.results), show(bad, t0)))
        check(load.ok_count() >= 50, "only %d requests made during the reloads: tested nothing"
              % load.ok_count())
        if replaced is None:
            after = wait_until(lambda: all_new(pool, original), 5.0)
            raise Fail("5 s after the second SIGHUP, under load, the workers are %r (original "
                       "%r): the rolling reload did not finish (2 workers, none of the original "
                       "ones) while requests kept coming%s%s; %s"
                       % (seen_under_load, original,
                          " (workers %r had SIGTERM pending, never delivered: blocked outside "
                          "ppoll, and ppoll returns at once while connections are queued)"
                          % pending if pending else "",
                          " (it finished only once the load stopped: %r)" % after if after else
                          " (nor after the load stopped: %r)" % pool.workers(), pool.output()))
        final = wait_until(lambda: all_new(pool, original), 3.0)
        check(final,
              "after the reloads the workers are %r (original %r), expected 2 new ones"
              % (pool.workers(), original))
        log("sighup: %d requests ok, workers %r -> %r" % (load.ok_count(), original, final))


@test
def sigterm_drains_requests_in_hand():
    sigterm_under_load(None)


@test
def sigterm_drains_requests_in_hand_on_tcp():
    """As above on a TCP listener: there no socket path can be removed to keep
    new clients out, so the workers themselves must notice the SIGTERM while
    connections keep arriving."""
    sigterm_under_load("127.0.0.1:%d" % free_port())


def sigterm_under_load(listen):
    with Pool(workers=2, listen=listen) as pool:
        pid = pool.make_product()
        load = Load(pool, pid).start()
        exited = None
        pending = []
        try:
            t0 = time.monotonic()
            time.sleep(1.5)
            workers = pool.workers()
            t_term = time.monotonic()
            pool.signal(signal.SIGTERM)
            # the clients keep going: nginx does not stop sending because orderd stops
            exited = wait_until(lambda: pool.proc.poll() is not None and time.monotonic(),
                                STOP_SECONDS)
            if exited:
                time.sleep(0.3)   # some requests after the exit: refused, counted apart
            else:
                workers = pool.workers()
                pending = [w for w in workers if sigterm_pending(w)]
        finally:
            load.stop()
        t_clients_stopped = time.monotonic()
        problems = []
        if not exited:
            if pending:
                problems.append("workers %r have SIGTERM pending but not delivered (blocked "
                                "outside ppoll, and ppoll returns at once while connections are "
                                "queued)" % pending)
            late = wait_until(lambda: pool.proc.poll() is not None and time.monotonic(), 5.0)
            problems.append(
                "master %d still running %.0f s after SIGTERM while the clients kept sending "
                "(workers then %r; %d requests started after SIGTERM were still served)%s"
                % (pool.master, STOP_SECONDS, workers,
                   sum(1 for r in load.results if r["ok"] and r["t_start"] > t_term),
                   "; it exited %.1f s after the clients stopped" % (late - t_clients_stopped)
                   if late else "; still running 5 s after the clients stopped"))
        if pool.proc.poll() is not None and pool.proc.returncode != 0:
            problems.append("master exited %d after SIGTERM, expected 0" % pool.proc.returncode)
        violations, refused, dropped, served_after = [], [], [], 0
        for r in load.results:
            if r["ok"]:
                if r["t_start"] > t_term:
                    served_after += 1
                continue
            if r["status"] == "connect":
                if r["t_start"] < t_term:
                    violations.append(r)
                else:
                    refused.append(r)
            elif r["status"] == "no-answer" and r["t_connected"] is not None \
                    and r["t_connected"] > t_term:
                dropped.append(r)   # connected after the stop, never accepted: no answer at all
            else:
                violations.append(r)   # truncated, garbled, timeout, 5xx, wrong answer,
                # or a connection made before the stop that got no answer
        log("sigterm: %d ok (%d started after SIGTERM), %d refused after the stop, %d connected "
            "after the stop and closed unanswered, master exited %s after SIGTERM"
            % (load.ok_count(), served_after, len(refused), len(dropped),
               "%.2f s" % (exited - t_term) if exited else "not within %.0f s" % STOP_SECONDS))
        if violations:
            problems.append("%d of %d requests around SIGTERM were neither a valid 2xx nor "
                            "refused after the stop: %s" % (len(violations), len(load.results),
                                                             show(violations, t0)))
        if load.ok_count() < 20:
            problems.append("only %d requests served: tested nothing" % load.ok_count())
        if pool.proc.poll() is not None:
            if listen is None and os.path.exists(pool.sock):
                problems.append("socket %s still there after the stop" % pool.sock)
            if os.path.exists(pool.pidfile):
                problems.append("pid file %s still there after the stop" % pool.pidfile)
            left = session_members(pool.master)
            if left:
                problems.append("processes %r of the pool still running after the master "
                                "exited" % left)
        if problems:
            raise Fail("; ".join(problems) + "; " + pool.output())
        assert_audit_clean("orderd audit after SIGTERM under load")


def sigterm_pending(pid):
    """True if SIGTERM is pending (not yet delivered) for process pid."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(("SigPnd:", "ShdPnd:")) and \
                        int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)):
                    return True
    except (OSError, ValueError, IndexError):
        pass
    return False


@test
def max_requests_recycles_workers():
    with Pool(workers=1, args=["--max-requests", "5"]) as pool:
        pid = pool.make_product()
        seen = list(pool.workers())
        slow = []
        for i in range(30):
            t = time.monotonic()
            try:
                r = pool.request("GET", "/product/%d/" % pid, timeout=8)
            except FcgiError as e:
                raise Fail("request %d of 30: %s; %s" % (i + 1, e, pool.output())) from None
            dt = time.monotonic() - t
            if dt > 0.5:
                slow.append((i + 1, round(dt, 2)))
            check(200 <= r.status < 300, "request %d of 30: %s" % (i + 1, r.describe()))
            for w in pool.workers():
                if w not in seen:
                    seen.append(w)
        w = wait_until(lambda: pool.workers(), 3.0)
        for x in w or []:
            if x not in seen:
                seen.append(x)
        check(alive(pool.master), "master died; %s" % pool.output())
        # 31 requests at 5 per worker: 7 workers, 6 changes
        check(len(seen) >= 6, "with --max-requests 5 the worker changed %d time(s) in 31 "
              "requests (pids %r), expected at least 5" % (len(seen) - 1, seen))
        if slow:
            log("max-requests: requests slower than 0.5 s (waiting for a recycled worker's "
                "replacement): %r" % slow)


@contextlib.contextmanager
def kept_connections(pool, n):
    """n KeptConnections to pool, closed (by this side) at the end."""
    conns = [KeptConnection(pool.addr) for _ in range(n)]
    try:
        yield conns
    finally:
        for c in conns:
            c.close()


@test
def each_worker_serves_one_kept_connection_at_a_time():
    # nginx with fastcgi_keep_conn leaves connections open. A worker serves
    # the one it holds until the other side closes it, and takes no other
    # meanwhile (so no request ever waits behind another on a worker that is
    # busy); the pool's other workers take the new connections, and once
    # every worker holds one, a new connection is taken when one closes.
    with Pool(workers=3) as pool:
        pid = pool.make_product()
        with kept_connections(pool, 2) as conns:
            serve_in_turn(pool, pid, conns)
        with kept_connections(pool, 3) as conns:
            for k, c in enumerate(conns):
                eq(c.request("GET", "/product/%d/" % pid).status, 200,
                   "kept connection %d of 3 (3 workers)" % (k + 1))
            box = {}
            t = threading.Thread(target=lambda: box.setdefault(
                "r", pool.request("GET", "/product/%d/" % pid, timeout=10)), daemon=True)
            t.start()
            t.join(0.7)
            check(t.is_alive(), "a fourth connection was answered while each of the 3 "
                  "workers held a kept connection: %s" % box.get("r"))
            conns[0].close()
            t0 = time.monotonic()
            t.join(5)
            check("r" in box, "the fourth connection got no answer 5 s after a kept "
                  "connection closed; %s" % pool.output())
            eq(box["r"].status, 200, "the fourth connection, once a kept one closed")
            check(time.monotonic() - t0 < 2.0, "the fourth connection waited %.1fs after a "
                  "kept connection closed" % (time.monotonic() - t0))


def serve_in_turn(pool, pid, conns):
    for rnd in range(4):
        for k, c in enumerate(conns):
            try:
                r = c.request("GET", "/product/%d/" % pid)
            except FcgiError as e:
                raise Fail("round %d, kept connection %d: %s; %s"
                           % (rnd + 1, k + 1, e, pool.output())) from None
            eq(r.status, 200, "round %d, kept connection %d: %s"
               % (rnd + 1, k + 1, r.describe()))
        # a one-request connection meanwhile is served too
        r = pool.request("GET", "/product/%d/" % pid, timeout=5)
        eq(r.status, 200, "round %d, a new connection beside the kept ones" % (rnd + 1))
    for k, c in enumerate(conns):
        check(not c.closed_by_server(), "the worker closed kept connection %d" % (k + 1))


@test
def sigterm_serves_kept_connections_until_closed():
    # A stopping worker keeps answering on its kept connection (nginx may be
    # sending on it) until the other side closes it; then it exits.
    with Pool(workers=2) as pool:
        pid = pool.make_product()
        with kept_connections(pool, 2) as conns:
            drain_kept(pool, pid, conns)


def drain_kept(pool, pid, conns):
    calls = [lambda c: c.request("GET", "/product/%d/" % pid),
             lambda c: c.request("POST", "/order/", json.dumps({"product": pid}),
                                 content_type="application/json")]
    for c in conns:
        eq(calls[0](c).status, 200, "before SIGTERM")
    pool.signal(signal.SIGTERM)
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < 1.5:
        for k, c in enumerate(conns):
            try:
                r = calls[n % 2](c)
            except FcgiError as e:
                raise Fail("kept connection %d, %.2fs after SIGTERM: %s; %s"
                           % (k + 1, time.monotonic() - t0, e, pool.output())) from None
            check(r.status in (200, 201), "kept connection %d after SIGTERM: %s"
                  % (k + 1, r.describe()))
            n += 1
        time.sleep(0.05)
    check(alive(pool.master), "the pool exited while its kept connections were open")
    for c in conns:
        c.close()
    t1 = time.monotonic()
    try:
        pool.proc.wait(3)
    except subprocess.TimeoutExpired:
        raise Fail("the pool still runs 3 s after its last kept connection closed; %s"
                   % pool.output()) from None
    log("SIGTERM with kept connections: %d requests answered on them after the signal; "
        "exited %.2fs after they closed" % (n, time.monotonic() - t1))


@test
def sigterm_gives_up_on_kept_connections_left_open():
    # ... but not for ever: a peer that never closes is dropped after 5 s.
    with Pool(workers=1) as pool:
        pid = pool.make_product()
        with kept_connections(pool, 1) as (c,):
            give_up_on_kept(pool, pid, c)


def give_up_on_kept(pool, pid, c):
    eq(c.request("GET", "/product/%d/" % pid).status, 200, "before SIGTERM")
    pool.signal(signal.SIGTERM)
    t0 = time.monotonic()
    try:
        pool.proc.wait(10)
    except subprocess.TimeoutExpired:
        raise Fail("the pool still runs 10 s after SIGTERM with one idle kept "
                   "connection; %s" % pool.output()) from None
    took = time.monotonic() - t0
    check(4.0 <= took <= 8.0, "the pool exited %.1fs after SIGTERM with an idle kept "
          "connection open, expected about 5 s" % took)
    check(c.closed_by_server(), "the kept connection is still open after the exit")


@test
def killed_worker_is_respawned():
    with Pool(workers=2) as pool:
        before = pool.workers()
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        log("SIGKILL worker %d" % victim)
        after = wait_until(lambda: all_new(pool, [victim]), 3.0)
        check(after, "3 s after SIGKILL of worker %d the master %d has workers %r (before %r); %s"
              % (victim, pool.master, pool.workers(), before, pool.output()))
        check(alive(pool.master), "master died")
        check(set(after) - set(before), "no new worker pid: %r" % after)
        pid = pool.make_product()
        for i in range(6):
            r = pool.request("GET", "/product/%d/" % pid)
            eq(r.status, 200, "GET /product/%d/ after the respawn" % pid)


@test
def serves_an_inherited_socket_on_fd0():
    tmp = tempfile.mkdtemp(prefix="orderd-fd0-", dir="/tmp")
    path = os.path.join(tmp, "inherited.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind(path)
        s.listen(16)
        with Pool(workers=1, stdin=s.fileno(), use_listen=False) as pool:
            pool.addr = path
            r = pool.request("GET", "/product/?limit=1")
            check(r.status == 200 and isinstance(r.json, dict) and "items" in r.json,
                  "GET /product/?limit=1 over the inherited socket: %s" % r.describe())
            pid = pool.make_product(stock=5)
            r = pool.request("GET", "/product/%d/" % pid)
            eq(r.status, 200, "GET /product/%d/ over the inherited socket" % pid)
    finally:
        s.close()
        shutil.rmtree(tmp, ignore_errors=True)


@test
def listen_on_host_port():
    port = free_port()
    with Pool(workers=1, listen="127.0.0.1:%d" % port) as pool:
        r = pool.request("GET", "/product/?limit=1")
        check(r.status == 200 and isinstance(r.json, dict) and "items" in r.json,
              "GET /product/?limit=1 over TCP 127.0.0.1:%d: %s" % (port, r.describe()))
        pid = pool.make_product(stock=5)
        r = pool.json("POST", "/order/", {"product": pid, "quantity": 2})
        eq(r.status, 201, "POST /order/ over TCP")


@test
def database_down_answers_503_then_recovers():
    real = os.environ.get("ORDERD_DB_SOCKET")
    env = dict(os.environ)
    for k in ("ORDERD_DB_HOST", "ORDERD_DB_PORT"):
        env.pop(k, None)
    tmp = tempfile.mkdtemp(prefix="orderd-nodb-", dir="/tmp")
    # a socket path that does not exist yet; later a symlink to the real
    # MariaDB socket brings "the database" back without touching MariaDB
    env["ORDERD_DB_SOCKET"] = dbsock = os.path.join(tmp, "nonexistent.sock")
    try:
        with Pool(workers=1, env=env) as pool:
            worker = pool.workers()
            for i in range(3):
                t = time.monotonic()
                try:
                    r = pool.request("GET", "/product/", timeout=10)
                except FcgiError as e:
                    raise Fail("GET /product/ with the database down: %s; %s"
                               % (e, pool.output())) from None
                dt = time.monotonic() - t
                what = "GET /product/ with the database down (try %d)" % (i + 1)
                eq(r.status, 503, what + ": status (answer %s)" % r.describe())
                eq(r.media_type(), PROBLEM_CT, what + ": Content-Type")
                check(isinstance(r.json, dict), what + ": body not a JSON object: %r"
                      % r.body[:200])
                eq(r.json.get("type"), "/problems/unavailable", what + ": type")
                eq(r.json.get("status"), 503, what + ": member status")
                ra = r.header("Retry-After")
                check(ra is not None and ra.isdigit() and int(ra) > 0,
                      "%s: Retry-After %r, expected a positive number of seconds" % (what, ra))
                check(dt < 3.0, "%s: took %.1f s" % (what, dt))
            r = pool.json("POST", "/order/", {"product": 1, "quantity": 1})
            eq(r.status, 503, "POST /order/ with the database down (answer %s)" % r.describe())
            check(alive(pool.master), "master died")
            eq(pool.workers(), worker, "workers after 503s (the worker must not die)")
            if not real:
                log("ORDERD_DB_SOCKET not set: recovery not tested")
                return
            os.symlink(real, dbsock)
            seen = []

            def recovered():
                try:
                    r = pool.request("GET", "/product/?limit=1", timeout=5)
                except FcgiError as e:
                    seen.append(str(e))
                    return None
                seen.append(r.status)
                return r if r.status == 200 else None
            r = wait_until(recovered, 5.0, step=0.2)
            check(r is not None, "the database is back (socket path now exists), but 5 s later "
                  "GET /product/?limit=1 still answers %r; %s" % (seen[-3:], pool.output()))
            check(isinstance(r.json, dict) and "items" in r.json,
                  "GET /product/?limit=1 after recovery: %s" % r.describe())
            eq(pool.workers(), worker, "workers after the recovery (the same worker reconnects)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@test
def bad_flags_fail_clearly():
    tmp = tempfile.mkdtemp(prefix="orderd-flags-", dir="/tmp")
    try:
        sock = os.path.join(tmp, "x.sock")
        for args, mention in (
                (["serve", "--workers", "0", "--listen", sock], "workers"),
                (["serve", "--lock", "bogus", "--listen", sock, "--workers", "1"], "bogus"),
                (["serve", "--listen", "/nonexistent-dir/x.sock", "--workers", "1"],
                 "/nonexistent-dir/x.sock")):
            rc, out, err = run_cmd(args)
            what = "`orderd %s`" % " ".join(args)
            check(rc != 0, "%s exited 0 (stdout %r, stderr %r)" % (what, out[:200], err[:200]))
            check(err.strip(), "%s exited %d with nothing on stderr" % (what, rc))
            check(mention in err, "%s: stderr does not name %r: %r" % (what, mention, err[:300]))
            check(not os.path.exists(sock), "%s left the socket %s behind" % (what, sock))
        for args in (["--help"], ["serve", "--help"], ["migrate", "--help"], ["audit", "--help"]):
            rc, out, err = run_cmd(args)
            what = "`orderd %s`" % " ".join(args)
            eq(rc, 0, what + " exit status (stderr %r)" % err[:200])
            check("usage" in out.lower(), "%s: no usage on stdout: %r" % (what, out[:300]))
        rc, out, err = run_cmd(["serve", "--help"])
        for opt in ("--listen", "--workers", "--max-requests", "--lock"):
            check(opt in out, "`orderd serve --help` does not mention %s" % opt)
        args = ["migrate", "--migrations", os.path.join(REPO, "db", "migrations")]
        # migrate is the schema owner's work; the pool's account may not CREATE.
        rc, out, err = run_cmd(args, env=owner_env(), timeout=60)
        eq(rc, 0, "`orderd %s` exit status (stdout %r, stderr %r)"
           % (" ".join(args), out[:200], err[:300]))
        check("up to date" in out, "`orderd %s` did not say the schema is up to date: %r"
              % (" ".join(args), out[:300]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run()
