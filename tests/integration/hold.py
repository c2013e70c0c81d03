"""hold: helpers for test_hold.py and test_hold_storm.py (the payment
window): run the stack's pool for a while with other settings (a short
ORDERD_HOLD), then put back the pool exactly as it was found.

The pool is stopped with SIGTERM through ORDERD_PIDFILE and started again from
its own command line and environment (faults.ProcImage) with the overrides
added, so nginx, MariaDB and everything else stay as they are."""

import calendar
import os
import signal
import time

import orderd_test as T
from orderd_test import Fail, check, log
import faults as F

_ORIGINAL = {}      # "image": the pool as this script found it


def _stop(master):
    reaper = T.reaper(master)
    workers = T.children(master)
    os.kill(master, signal.SIGTERM)
    check(F.wait_gone(master, 40), "pool master %d still running 40 s after SIGTERM" % master)
    left = [p for p in workers + ([reaper] if reaper else []) if T.alive(p)]
    if left:
        F.wait_for(lambda: not [p for p in left if T.alive(p)], 10, 0.1)
        left = [p for p in left if T.alive(p)]
    check(not left, "processes %r outlived their master %d (reaper %r)" % (left, master, reaper))


def _start(image):
    master = F.pool_start(image)
    size, _ = F.pool_conf(image)
    F.wait_pool(master, size, seconds=20)
    check(F.wait_for(lambda: T.reaper(master), 10, 0.05),
          "pool master %d has no reaper child (%s) 10 s after it started" % (master, T.REAPER_NAME))
    ok = F.wait_for(lambda: _serves(), 20, 0.2)
    check(ok, "the pool started again does not serve GET /product/?limit=1")
    return master


def _serves():
    try:
        return T.get("/product/?limit=1", timeout=5).status == 200
    except T.ConnError:
        return False


def current_env():
    """The environment of the running pool master."""
    master = F.pool_master()
    check(master, "the pool is not running (no live master in ORDERD_PIDFILE)")
    return F.ProcImage(master).env


def use_pool(**env):
    """Makes the stack's pool run with these ORDERD_* overrides (none: as it
    was found), restarting it when it does not already. Returns the master."""
    master = F.pool_master()
    if "image" not in _ORIGINAL:
        check(master, "the pool is not running (no live master in ORDERD_PIDFILE)")
        _ORIGINAL["image"] = F.ProcImage(master)
    orig = _ORIGINAL["image"]
    want = dict(orig.env)
    want.update({k: str(v) for k, v in env.items()})
    if master is not None:
        have = F.ProcImage(master).env
        if all(have.get(k) == want.get(k) for k in set(have) | set(want) if k.startswith("ORDERD_")):
            return master
        _stop(master)
    image = F.ProcImage.__new__(F.ProcImage)
    image.__dict__.update(orig.__dict__)
    image.env = want
    image.pid = master if master is not None else orig.pid
    log("pool: starting it with %s" % (" ".join("%s=%s" % kv for kv in sorted(env.items()))
                                       or "its original settings"))
    return _start(image)


def restore():
    """Puts the pool back as it was found (if this script changed it)."""
    if "image" in _ORIGINAL:
        use_pool()


def pool_setting(name, flag, default):
    """A setting of the running pool: its --flag, else its environment, else default."""
    master = F.pool_master()
    check(master, "the pool is not running")
    image = F.ProcImage(master)
    a = image.argv
    for i, x in enumerate(a):
        if x == flag and i + 1 < len(a):
            return a[i + 1]
        if x.startswith(flag + "="):
            return x.split("=", 1)[1]
    return image.env.get(name, default)


def parse_ts(s, what="timestamp"):
    """'YYYY-MM-DDTHH:MM:SSZ' -> Unix seconds."""
    check(isinstance(s, str), "%s: %r is not a string" % (what, s))
    try:
        return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        raise Fail("%s: %r is not YYYY-MM-DDTHH:MM:SSZ" % (what, s)) from None


def run_with_restore():
    """orderd_test.run(), then the pool put back as it was found, whatever happened."""
    try:
        T.run()
    finally:
        try:
            restore()
        except Exception as e:   # said loudly: later suites need the standard pool
            # After the plan: a TAP error the driver reports, not a test point.
            print("Bail out! restore_pool: %s" % e, flush=True)
            raise
