"""faults: helpers for test_faults.py (fault injection against the running stack).

Processes: read a process's command line, environment, working directory and
user from /proc so that it can be started again exactly as it was; kill and
restart MariaDB and the pool master; wait for the pool to settle.

Load: a few client threads that send a fixed mix of requests through nginx and
record every answer with its start and end time (Rec), so that a test can say
what was answered while a fault was in place.

nginx: the lines nginx's error log gained during a test, sorted into "could
not connect to the pool" (the request never reached it) and everything else
(a request the pool took and did not answer).

Environment (besides orderd_test's): ORDERD_VAR, the stack's state root (default:
the parent of the directory holding ORDERD_PIDFILE); MariaDB's pid file is
$ORDERD_VAR/run/mariadb.pid, its config $ORDERD_VAR/etc/my.cnf, nginx's error
log $ORDERD_VAR/log/nginx-error.log."""

import collections
import json
import os
import re
import select
import shutil
import subprocess
import threading
import time

import orderd_test as T
from orderd_test import ConnError, Fail, PROBLEM_CT, alive, check, children, log

_NGINX_DETAIL_DEFAULT = "the order service is not reachable; try again shortly"


# ---------------------------------------------------------------------------
# paths


def var_dir():
    v = os.environ.get("ORDERD_VAR")
    if v:
        return v
    pidfile = os.environ.get("ORDERD_PIDFILE")
    check(pidfile, "neither ORDERD_VAR nor ORDERD_PIDFILE is set: cannot find the stack's files")
    return os.path.dirname(os.path.dirname(os.path.abspath(pidfile)))


def var_path(*parts):
    return os.path.join(var_dir(), *parts)


def mariadb_pidfile():
    return var_path("run", "mariadb.pid")


def mycnf():
    return var_path("etc", "my.cnf")


def nginx_error_log():
    return var_path("log", "nginx-error.log")


def nginx_503_details():
    """The details of nginx's own 503s (location @unavailable in the rendered
    site config: /problems/unavailable when the request never reached a
    worker, /problems/outcome-unknown for a write a worker had when it died),
    which tell them apart from a 503 that orderd wrote."""
    if not hasattr(nginx_503_details, "cached"):
        details = {_NGINX_DETAIL_DEFAULT}
        try:
            conf = _read(var_path("nginx", "orderd.conf"))
            m = re.search(r"location\s+@unavailable\s*\{(.*?)\n    \}\n", conf, re.S)
            for body in re.findall(r"return\s+503\s+'([^']*)'", m.group(1) if m else ""):
                detail = json.loads(body.replace("\\n", "")).get("detail")
                if detail:
                    details.add(detail)
        except (OSError, ValueError, AttributeError):
            pass
        nginx_503_details.cached = details
    return nginx_503_details.cached


# ---------------------------------------------------------------------------
# processes


def read_pid(path):
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _read(path, binary=False):
    with open(path, "rb" if binary else "r") as f:
        return f.read()


class ProcImage:
    """What is needed to start a process again exactly as it was started: its
    argv, environment, working directory, user and group, and the executable."""

    def __init__(self, pid):
        self.pid = pid
        try:
            raw = _read("/proc/%d/cmdline" % pid, True)
            env = _read("/proc/%d/environ" % pid, True)
            self.cwd = os.readlink("/proc/%d/cwd" % pid)
            status = _read("/proc/%d/status" % pid)
        except OSError as e:
            raise Fail("cannot read /proc/%d (to restart it later): %s" % (pid, e)) from None
        self.argv = [a.decode("utf-8", "surrogateescape") for a in raw.split(b"\0")[:-1]]
        check(self.argv, "process %d has an empty command line (a zombie?)" % pid)
        self.env = {}
        for item in env.split(b"\0"):
            if b"=" in item:
                k, _, v = item.partition(b"=")
                self.env[k.decode("utf-8", "surrogateescape")] = v.decode("utf-8", "surrogateescape")
        m = re.search(r"^Uid:\s+(\d+)", status, re.M)
        g = re.search(r"^Gid:\s+(\d+)", status, re.M)
        self.uid = int(m.group(1)) if m else os.getuid()
        self.gid = int(g.group(1)) if g else os.getgid()
        try:
            self.exe = os.readlink("/proc/%d/exe" % pid)
        except OSError:
            self.exe = None

    def __repr__(self):
        return " ".join(self.argv)

    def executable(self):
        """argv[0] as the process's own PATH finds it (so a rebuilt binary is
        the one started), else what /proc/<pid>/exe named."""
        a0 = self.argv[0]
        if "/" in a0:
            path = a0 if os.path.isabs(a0) else os.path.join(self.cwd, a0)
            if os.access(path, os.X_OK):
                return path
        else:
            found = shutil.which(a0, path=self.env.get("PATH", os.defpath))
            if found:
                return found
        exe = (self.exe or "").replace(" (deleted)", "")
        check(exe and os.access(exe, os.X_OK), "cannot find the program %r to start again" % a0)
        return exe

    def popen(self, logpath, **kw):
        """Starts the command again, in its own session (a signal to the test's
        process group must not reach it), stdin /dev/null, output appended to
        logpath. Returns the Popen."""
        extra = {}
        if self.uid != os.getuid() or self.gid != os.getgid():
            check(os.getuid() == 0, "process %d ran as uid %d, the tests as uid %d: cannot start "
                  "it again as its user" % (self.pid, self.uid, os.getuid()))
            extra = {"user": self.uid, "group": self.gid, "extra_groups": []}
        os.makedirs(os.path.dirname(logpath), exist_ok=True)
        logf = open(logpath, "ab")
        logf.write(("\n[%s] faults: starting again: %s\n"
                    % (time.strftime("%Y-%m-%d %H:%M:%S"), self)).encode())
        logf.flush()
        try:
            return subprocess.Popen(self.argv, executable=self.executable(), cwd=self.cwd,
                                    env=self.env, stdin=subprocess.DEVNULL, stdout=logf,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    **extra, **kw)
        finally:
            logf.close()


def wait_gone(pid, seconds):
    """True once pid is gone (or a zombie), False after `seconds`."""
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def wait_for(cond, seconds, step=0.1):
    deadline = time.monotonic() + seconds
    while True:
        v = cond()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


# ---------------------------------------------------------------------------
# MariaDB


def mariadb_pid():
    """The live mariadbd of this stack (from its pid file), or None."""
    pid = read_pid(mariadb_pidfile())
    if pid is None or not alive(pid):
        return None
    try:
        cmd = _read("/proc/%d/cmdline" % pid, True)
    except OSError:
        return None
    return pid if b"mariadbd" in cmd or b"mysqld" in cmd else None


def mariadb_ping():
    try:
        p = subprocess.run(["mariadb-admin", "--defaults-file=" + mycnf(), "--connect-timeout=2",
                            "ping"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return p.returncode == 0


def mariadb_wait_ping(seconds=90):
    return wait_for(mariadb_ping, seconds, 0.1)


def mariadb_start(image):
    """Starts mariadbd again as `image` says, output to
    $ORDERD_VAR/log/mariadb-restart.log; returns once it answers ping."""
    p = image.popen(var_path("log", "mariadb-restart.log"))
    t0 = time.monotonic()
    deadline = t0 + 90
    while not mariadb_ping():
        if p.poll() is not None:
            raise Fail("mariadbd started again (%s) exited with %s; see %s and %s"
                       % (image, p.returncode, var_path("log", "mariadb-restart.log"),
                          var_path("log", "mariadb.log")))
        if time.monotonic() > deadline:
            raise Fail("mariadbd started again (%s) does not answer ping after 90 s" % image)
        time.sleep(0.1)
    log("mariadbd pid %d answers ping %.1fs after it was started again" % (p.pid, time.monotonic() - t0))
    return p


# ---------------------------------------------------------------------------
# The pool


def pool_master():
    pid = read_pid(os.environ.get("ORDERD_PIDFILE") or "")
    return pid if pid is not None and alive(pid) else None


def pool_conf(image):
    """(workers, max_requests) of the pool started as image says."""
    def opt(name, env, default):
        a = image.argv
        for i, x in enumerate(a):
            if x == name and i + 1 < len(a):
                return a[i + 1]
            if x.startswith(name + "="):
                return x.split("=", 1)[1]
        return image.env.get(env, default)
    try:
        workers = int(opt("--workers", "ORDERD_WORKERS", "4"))
    except ValueError:
        workers = 4
    try:
        max_req = int(opt("--max-requests", "ORDERD_MAX_REQUESTS", "0"))
    except ValueError:
        max_req = 0
    return workers, max_req


def wait_pool(master, size, exclude=(), seconds=15.0):
    """Waits until master has `size` live children, none of them in exclude;
    returns them, or raises Fail naming what it saw."""
    exclude = set(exclude)
    deadline = time.monotonic() + seconds
    while True:
        check(alive(master), "pool master %d died" % master)
        w = children(master)
        if len(w) == size and not set(w) & exclude:
            return w
        if time.monotonic() > deadline:
            raise Fail("pool of master %d not at %d workers (without %r) after %.0f s: children %r"
                       % (master, size, sorted(exclude), seconds, w))
        time.sleep(0.05)


def pool_start(image):
    """Starts the pool again as image says; returns the new master pid once
    the pid file names a live master and the socket answers."""
    logpath = var_path("log", "orderd-restart.log")
    # a master that died without removing its pid file may linger a moment as
    # a zombie, which `orderd serve` would take for a running pool
    stale = read_pid(os.environ.get("ORDERD_PIDFILE") or "")
    if stale is not None and not alive(stale):
        wait_for(lambda: not os.path.exists("/proc/%d" % stale), 10, 0.05)
    p = image.popen(logpath)
    daemon = "--daemon" in image.argv
    if daemon:
        try:
            rc = p.wait(60)
        except subprocess.TimeoutExpired:
            raise Fail("orderd serve --daemon started again did not return within 60 s (%s)" % image)
        check(rc == 0, "orderd serve --daemon started again exited %d (%s); see %s"
              % (rc, image, logpath))
    master = wait_for(lambda: (pool_master() if pool_master() != image.pid else None), 30)
    check(master, "no live pool master in %s 30 s after starting it again" % os.environ.get("ORDERD_PIDFILE"))
    return master


# ---------------------------------------------------------------------------
# nginx's error log


class NginxLog:
    """The lines nginx's error log gains from now on."""

    CONNECT = re.compile(r"connect\(\) to unix:\S+ failed \((2|111|11): ")

    def __init__(self):
        self.path = nginx_error_log()
        try:
            self.offset = os.path.getsize(self.path)
        except OSError:
            self.offset = 0

    def lines(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return []
        return [l for l in data.decode("utf-8", "replace").splitlines() if l.strip()]

    def classify(self):
        """(connect failures: the pool's socket was not there or refused;
        upstream failures: a request the pool had taken and did not finish,
        or anything else about the upstream; other lines)."""
        conn, upstream, other = [], [], []
        for l in self.lines():
            if self.CONNECT.search(l):
                conn.append(l)
            elif "upstream" in l:
                upstream.append(l)
            else:
                other.append(l)
        return conn, upstream, other


# ---------------------------------------------------------------------------
# answers


class Rec:
    __slots__ = ("kind", "t0", "t1", "status", "ctype", "retry_after", "source", "err", "desc",
                 "json", "worker")

    def __init__(self, kind, t0, t1, r=None, err=None):
        self.kind, self.t0, self.t1, self.err = kind, t0, t1, err
        self.status = self.ctype = self.retry_after = self.json = None
        self.source = None
        self.desc = err
        if r is not None:
            self.status = r.status
            self.ctype = r.media_type()
            self.retry_after = r.header("Retry-After")
            self.json = r.json
            self.desc = r.describe()
            detail = r.json.get("detail") if isinstance(r.json, dict) else None
            self.source = "nginx" if detail in nginx_503_details() else "orderd"

    @property
    def secs(self):
        return self.t1 - self.t0

    def ok(self):
        return self.status is not None and 200 <= self.status < 300

    def unavailable(self):
        """A well-formed 503: problem+json /problems/unavailable with Retry-After."""
        return (self.status == 503 and self.ctype == PROBLEM_CT and isinstance(self.json, dict)
                and self.json.get("type") == "/problems/unavailable"
                and self.json.get("status") == 503 and bool(self.retry_after)
                and str(self.retry_after).strip().isdigit())

    def outcome_unknown(self):
        """A well-formed 503 /problems/outcome-unknown (the COMMIT went out and no
        answer came) with Retry-After; an order create or abort names its order."""
        return (self.status == 503 and self.ctype == PROBLEM_CT and isinstance(self.json, dict)
                and self.json.get("type") == "/problems/outcome-unknown"
                and self.json.get("status") == 503 and bool(self.retry_after)
                and str(self.retry_after).strip().isdigit()
                and (self.kind not in ("order", "abort") or self.source == "nginx"
                     or T.is_int(self.json.get("order"))))

    def soldout_refusal(self):
        """409 out-of-stock with nothing available: what a sold-out mark answers."""
        return (self.status == 409 and self.ctype == PROBLEM_CT and isinstance(self.json, dict)
                and self.json.get("type") == "/problems/out-of-stock"
                and self.json.get("available") == 0)

    def label(self):
        if self.err is not None:
            return "conn-error"
        if self.status == 503:
            return "503-%s%s" % (self.source, "" if self.unavailable() else
                                 "-outcome-unknown" if self.outcome_unknown() else "-MALFORMED")
        return str(self.status)

    def __repr__(self):
        return "%s [%.2fs] %s" % (self.kind, self.secs, (self.desc or "")[:300])


def timed(kind, fn, sink, lock):
    """Runs fn() (a request), appends a Rec to sink, returns (Response or None, Rec)."""
    t0 = time.monotonic()
    try:
        r = fn()
    except ConnError as e:
        rec = Rec(kind, t0, time.monotonic(), err=str(e))
        r = None
    else:
        rec = Rec(kind, t0, time.monotonic(), r)
    with lock:
        sink.append(rec)
    return r, rec


class Load:
    """`threads` clients, each sending ops in turn (op = (kind, fn)) until
    stopped; after an answer that is not 2xx a client pauses `pause` seconds
    (a 503 comes back at once: no point hammering it in a tight loop).
    `on_answer(kind, response)` (optional) runs for every answer."""

    def __init__(self, ops, threads=8, pause=0.05, on_answer=None):
        self.ops = ops
        self.nthreads = threads
        self.pause = pause
        self.on_answer = on_answer
        self.recs = []
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.threads = []

    def start(self):
        for i in range(self.nthreads):
            t = threading.Thread(target=self._client, args=(i,), name="load-%d" % i, daemon=True)
            self.threads.append(t)
            t.start()

    def _client(self, idx):
        k = idx
        while not self.stop_event.is_set():
            kind, fn = self.ops[k % len(self.ops)]
            k += 1
            r, rec = timed(kind, fn, self.recs, self.lock)
            if r is not None and self.on_answer is not None:
                self.on_answer(kind, r)
            if not rec.ok():
                time.sleep(self.pause)

    def stop(self):
        self.stop_event.set()
        stuck = []
        for t in self.threads:
            t.join(T.HTTP_TIMEOUT + 10)
            if t.is_alive():
                stuck.append(t.name)
        check(not stuck, "client thread(s) %s still waiting for an answer %.0f s after the load "
              "stopped" % (stuck, T.HTTP_TIMEOUT + 10))

    def tally(self):
        c = collections.Counter()
        with self.lock:
            for r in self.recs:
                c["%s %s" % (r.kind, r.label())] += 1
        return dict(sorted(c.items()))


# ---------------------------------------------------------------------------
# MariaDB as root (the stack's server lets the OS user that made it in as
# root through its socket): commits held, connections killed, the server frozen


def root_cmd():
    return ["mariadb", "--defaults-file=" + mycnf(), "-uroot", "-N", "-B"]


def root_sql(sql):
    """Runs sql as MariaDB's root; the rows as lists of strings."""
    try:
        p = subprocess.run(root_cmd() + ["-e", sql], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Fail("root_sql(%r): %s" % (sql, e)) from None
    if p.returncode != 0:
        raise Fail("root_sql(%r) failed (exit %d): %s" % (sql, p.returncode, p.stderr.strip()))
    return [line.split("\t") for line in p.stdout.splitlines()]


class CommitBlock:
    """A root session holding BACKUP STAGE BLOCK_COMMIT: every COMMIT of a
    transaction that wrote waits in the server (its statements before COMMIT
    run as usual) until end(). Measured: an INSERT goes through at once, the
    COMMIT waits until BACKUP STAGE END."""

    def __init__(self):
        self.p = subprocess.Popen(root_cmd() + ["--unbuffered"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  bufsize=1)
        self.ended = False

    def start(self, seconds=10):
        self.p.stdin.write("BACKUP STAGE START; BACKUP STAGE BLOCK_COMMIT; SELECT 'blocked';\n")
        self.p.stdin.flush()
        ready, _, _ = select.select([self.p.stdout], [], [], seconds)
        line = self.p.stdout.readline() if ready else ""
        if not line.startswith("blocked"):
            self.end()
            raise Fail("could not block commits (BACKUP STAGE BLOCK_COMMIT as root): %r" % line)

    def end(self):
        if self.ended:
            return
        self.ended = True
        try:
            if self.p.poll() is None:
                self.p.stdin.write("BACKUP STAGE END;\n")
                self.p.stdin.close()
        except (OSError, ValueError):
            pass
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()       # its connection closes: the backup lock goes with it
            self.p.wait(5)


def waiting_commits():
    """Connection ids whose COMMIT waits for the backup lock."""
    rows = root_sql("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO = 'COMMIT' "
                    "AND STATE LIKE 'Waiting for backup lock%' ORDER BY ID")
    return [int(r[0]) for r in rows]


def kill_connection(cid):
    try:
        root_sql("KILL CONNECTION %d" % cid)
    except Fail as e:
        if "Unknown thread" not in str(e):
            raise


def count_units(pid):
    """Units of product pid held by orders that are not aborted (orders table)."""
    rows = T.db("SELECT COUNT(*), COALESCE(SUM(l.quantity), 0) FROM order_lines l JOIN orders o "
                "ON o.id = l.order_id WHERE l.product_id = %d AND o.status <> 'aborted'" % pid)
    return int(rows[0][0]), int(rows[0][1])
