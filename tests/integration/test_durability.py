#!/usr/bin/env python3
"""orderd checks at start that the database keeps what it acknowledges:
a warning when innodb_flush_log_at_trx_commit is not 1 and for
every non-transactional table of its schema; silence when all is well.

Each test starts its own `orderd serve` on a socket of its own, against the
suite's database, and reads its log. The server setting is changed through
the runner's MariaDB admin login (the OS user over the socket, from
$ORDERD_VAR/etc/my.cnf) and always put back."""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from orderd_test import check, db, log, run, test  # noqa: E402

BIN = os.environ.get("ORDERD_BIN", "")
MYCNF = os.path.join(os.environ.get("ORDERD_VAR", ""), "etc", "my.cnf")


def admin_sql(sql):
    """Runs SQL as the database administrator (needs SET GLOBAL)."""
    subprocess.run(["mariadb", "--defaults-file=" + MYCNF, "-N", "-B", "-e", sql],
                   check=True, capture_output=True, timeout=30)


def start_log():
    """Starts a pool, waits until it serves, stops it; returns its log."""
    d = tempfile.mkdtemp(prefix="orderd-dur-")
    sock, logf = os.path.join(d, "o.sock"), os.path.join(d, "o.log")
    p = subprocess.Popen([BIN, "serve", "--listen", sock, "--workers", "1", "--log", logf],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if os.path.exists(logf) and "serving" in open(logf).read():
                break
            time.sleep(0.1)
    finally:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    try:
        return open(logf).read() if os.path.exists(logf) else ""
    finally:
        shutil.rmtree(d, ignore_errors=True)


@test
def no_warning_when_durable():
    text = start_log()
    check("serving" in text, "the pool did not start: %r" % text[-500:])
    # Silence proves nothing unless the check ran and read the setting.
    check("durability checked: flush at commit = 1, 0 warning(s)" in text,
          "the durability check did not run (or did not read 1): %r" % text[-800:])
    check("innodb_flush_log_at_trx_commit" not in text and "not InnoDB" not in text,
          "a durable database drew a warning: %r" % text[-800:])


@test
def warns_when_flush_at_commit_is_not_1():
    admin_sql("SET GLOBAL innodb_flush_log_at_trx_commit = 2")
    try:
        text = start_log()
    finally:
        admin_sql("SET GLOBAL innodb_flush_log_at_trx_commit = 1")
    check("innodb_flush_log_at_trx_commit is 2, not 1" in text,
          "no warning about innodb_flush_log_at_trx_commit = 2 in: %r" % text[-800:])
    log("warned: " + [l for l in text.splitlines() if "flush_log" in l][0])


@test
def warns_about_a_non_transactional_table():
    db("CREATE TABLE durability_probe (a INT) ENGINE=MyISAM")
    try:
        text = start_log()
    finally:
        db("DROP TABLE IF EXISTS durability_probe")
    check("table durability_probe uses MyISAM, not InnoDB" in text,
          "no warning about a MyISAM table in: %r" % text[-800:])


if __name__ == "__main__":
    run()
