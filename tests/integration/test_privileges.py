#!/usr/bin/env python3
"""The private stack's privileges: the database passwords are made
on the first run and kept in var/etc mode 0600; the MariaDB socket's directory
is closed to other users; the pool's database account has only SELECT,
INSERT, UPDATE, DELETE and EXECUTE on the schema (the owner account does the
rest); started as root, MariaDB, the pool and nginx's workers run as an
unprivileged user.

Runs against the stack under ORDERD_VAR (or the one ORDERD_PIDFILE is in);
see orderd_test and faults."""

import os
import stat
import subprocess

import orderd_test as T
from orderd_test import Fail, check, eq, get, log, make_product, make_order, run, test
import faults as F

APP_USER = os.environ.get("ORDERD_DB_USER", "orderd")
DB_NAME = os.environ.get("ORDERD_DB_NAME", "orderd")
SECRETS = ("db-password", "db-owner-password", "owner.cnf")


def socket_path():
    return os.environ.get("ORDERD_DB_SOCKET") or F.var_path("run", "mariadb.sock")


def app_password():
    with open(F.var_path("etc", "db-password")) as f:
        return f.read().strip()


def mysql_as(user, password, sql):
    """Runs sql as user through the mariadb client; (returncode, stdout, stderr)."""
    env = dict(os.environ, MYSQL_PWD=password)
    p = subprocess.run(["mariadb", "--no-defaults", "--socket=" + socket_path(), "-u", user,
                        "-N", "-B", DB_NAME, "-e", sql],
                       capture_output=True, text=True, timeout=60, env=env)
    return p.returncode, p.stdout, p.stderr


def uid_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    raise Fail("no Uid line for pid %d" % pid)


@test
def password_files_are_private_and_not_the_old_fixed_one():
    for name in SECRETS:
        path = F.var_path("etc", name)
        check(os.path.isfile(path), "%s is missing" % path)
        mode = stat.S_IMODE(os.stat(path).st_mode)
        eq(oct(mode), oct(0o600), "mode of %s" % path)
    etc = F.var_path("etc")
    check(stat.S_IMODE(os.stat(etc).st_mode) & 0o066 == 0,
          "%s can be listed or written by others: %o" % (etc, stat.S_IMODE(os.stat(etc).st_mode)))
    pw = app_password()
    check(len(pw) >= 32, "the pool's password has %d characters, want at least 32" % len(pw))
    with open(F.var_path("etc", "db-owner-password")) as f:
        owner = f.read().strip()
    check(len(owner) >= 32 and owner != pw, "the owner's password is short or the pool's")


@test
def fixed_password_orderd_is_refused():
    for user in (APP_USER, "orderd_owner"):
        rc, out, err = mysql_as(user, "orderd", "SELECT 1")
        check(rc != 0, "%s signs in with the old fixed password 'orderd'" % user)


@test
def mariadb_socket_directory_is_closed_to_other_users():
    d = os.path.dirname(socket_path())
    mode = stat.S_IMODE(os.stat(d).st_mode)
    check(mode & 0o007 == 0, "%s is mode %o: other users can reach the MariaDB socket" % (d, mode))


@test
def pool_account_cannot_drop_create_or_alter():
    """The pool's account is refused DDL and grants; the owner makes (and
    removes) the table it tries them on, so nothing real is at stake."""
    probe = "privprobe_%s" % T.RUN_TAG
    T.db("CREATE TABLE %s (a INT)" % probe)
    try:
        refused = []
        allowed = []
        for sql in ("DROP TABLE %s" % probe,
                    "ALTER TABLE %s ADD COLUMN b INT" % probe,
                    "CREATE TABLE %s_2 (a INT)" % probe,
                    "CREATE INDEX i_a ON %s (a)" % probe,
                    "TRUNCATE TABLE %s" % probe,
                    "CREATE PROCEDURE %s_p() SELECT 1" % probe,
                    "DROP PROCEDURE orderd_take_line",
                    "CREATE DATABASE %s_db" % probe,
                    "GRANT SELECT ON %s.* TO '%s'@'localhost'" % (DB_NAME, APP_USER)):
            rc, out, err = mysql_as(APP_USER, app_password(), sql)
            if rc == 0:
                allowed.append(sql)
            else:
                check("denied" in err.lower(), "%r failed, but not as a refused privilege: %s" % (sql, err.strip()))
                refused.append(sql)
        check(not allowed, "the pool's account may: %s" % "; ".join(allowed))
        # What the pool needs still works.
        rc, out, err = mysql_as(APP_USER, app_password(),
                                "SELECT COUNT(*) FROM %s; INSERT INTO %s VALUES (1); UPDATE %s SET a = 2; "
                                "DELETE FROM %s" % (probe, probe, probe, probe))
        eq(rc, 0, "SELECT, INSERT, UPDATE, DELETE as the pool's account (%s)" % err.strip())
        rc, out, err = mysql_as(APP_USER, app_password(), "SHOW GRANTS")
        eq(rc, 0, "SHOW GRANTS as the pool's account (%s)" % err.strip())
        grants = [g for g in out.splitlines() if not g.startswith("GRANT USAGE ON *.*")]
        eq(grants, ["GRANT SELECT, INSERT, UPDATE, DELETE, EXECUTE ON `%s`.* TO `%s`@`localhost`"
                    % (DB_NAME, APP_USER)], "the pool's grants")
    finally:
        T.db("DROP TABLE IF EXISTS %s" % probe)
        T.db("DROP TABLE IF EXISTS %s_2" % probe)
        T.db("DROP PROCEDURE IF EXISTS %s_p" % probe)


@test
def pool_works_with_the_narrow_account():
    """An order goes through orderd_take_line (EXECUTE) and the audit agrees."""
    p = make_product(stock=3)
    o = make_order(p["id"], 2)
    eq(o["status"], "placed", "order status")
    eq(T.get_product(p["id"])["stock"], 1, "stock after the order")
    T.assert_audit_clean()


@test
def services_run_as_an_unprivileged_user_when_started_as_root():
    if os.geteuid() != 0:
        log("the suite does not run as root: the stack runs as the caller; nothing to check")
        return
    procs = []
    db = F.mariadb_pid()
    check(db, "no live mariadbd in %s" % F.mariadb_pidfile())
    procs.append(("mariadbd", db))
    master = F.pool_master()
    check(master, "no live pool master")
    procs.append(("pool master", master))
    workers = T.children(master)
    check(workers, "the pool master %d has no workers" % master)
    procs += [("pool worker", w) for w in workers]
    ngx = F.read_pid(F.var_path("run", "nginx.pid"))
    check(ngx and T.alive(ngx), "no live nginx master")
    nw = T.children(ngx)
    check(nw, "nginx %d has no workers" % ngx)
    procs += [("nginx worker", w) for w in nw]
    root = ["%s %d" % (what, pid) for what, pid in procs if uid_of(pid) == 0]
    check(not root, "running as root: %s" % ", ".join(root))
    log("uids: %s" % ", ".join("%s %d=%d" % (w, p, uid_of(p)) for w, p in procs))


if __name__ == "__main__":
    run()
