#!/usr/bin/env python3
"""The payment window: stock held by orders nobody pays.

An order placed with pay_method=balance that is not paid within the pool's
--hold (ORDERD_HOLD) expires: status "expired", its stock back exactly once,
through the locked path of a cancel. Cash-on-delivery orders never expire. A
pay after the deadline is refused (409 /problems/order-state). A user may hold
at most --max-open (ORDERD_MAX_OPEN, default 20) placed balance orders; the
next balance checkout is a 409 /problems/too-many-open-orders, also when
checkouts race. The orders page shows the deadline and the time left.

The max-open and page tests run against the pool as found (default hold);
the expiry tests restart the stack's pool with ORDERD_HOLD=2 (hold.use_pool)
and the suite puts the pool back as it found it at the end."""

import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import orderd_test as T  # noqa: E402
from orderd_test import (  # noqa: E402
    Fail, assert_json, assert_problem, at_once, check, db, eq, get_product, is_int, log, test)
import accounts as A  # noqa: E402
from accounts import ORDER_STATE, admin, new_user  # noqa: E402
import hold as H  # noqa: E402

TOO_MANY = "/problems/too-many-open-orders"
SHORT_HOLD = 2          # seconds, for the expiry tests
EXPIRE_WAIT = 20.0      # the reaper runs about once a second; a loaded machine is slow


def usual_pool():
    """The pool as found, unless its settings would make these tests wrong or
    slow (an expiry during a test, a huge --max-open): then with defaults."""
    H.use_pool()
    fix = {}
    if hold_seconds() < 120:
        fix["ORDERD_HOLD"] = 900
    if max_open() > 100:
        fix["ORDERD_MAX_OPEN"] = 20
    return H.use_pool(**fix) if fix else None


def max_open():
    return int(H.pool_setting("ORDERD_MAX_OPEN", "--max-open", "20"))


def hold_seconds():
    return int(H.pool_setting("ORDERD_HOLD", "--hold", "900"))


def checkout(u, pid, q=1, pay_method="balance"):
    body = {"items": [{"product": pid, "quantity": q}], "pay_method": pay_method}
    return u.post_json("/checkout/", body)


def open_count(uid):
    return int(db("SELECT COUNT(*) FROM orders WHERE user_id = %d AND status = 'placed' "
                  "AND pay_method = 'balance'" % uid)[0][0])


def order_of(u, oid):
    return assert_json(u.get("/order/%d/" % oid), 200, "GET /order/%d/" % oid)


def wait_status(u, oid, status, seconds=EXPIRE_WAIT):
    deadline = time.monotonic() + seconds
    while True:
        o = order_of(u, oid)
        if o.get("status") == status or time.monotonic() > deadline:
            return o
        time.sleep(0.2)


def check_pay_by(o, hold, what):
    """pay_by of a placed balance order = created_at + hold; null otherwise."""
    check("pay_by" in o, "%s: no member pay_by in %r" % (what, o))
    if o.get("status") == "placed" and o.get("pay_method") == "balance":
        eq(H.parse_ts(o["pay_by"], what + " pay_by") - H.parse_ts(o["created_at"], what + " created_at"),
           hold, what + ": pay_by - created_at (the hold)")
    else:
        eq(o["pay_by"], None, what + ": pay_by of a %s %s order" % (o.get("status"), o.get("pay_method")))


def stock_sales(pid):
    p = get_product(pid)
    return p["stock"], p["sales"]


# ---------------------------------------------------------------------------
# --max-open (the pool as found)


@test
def balance_checkout_past_max_open_is_409_and_changes_nothing():
    usual_pool()
    n = max_open()
    u = new_user("mo")
    pid = admin().make_product(stock=1000, price=100)["id"]
    for i in range(n):
        r = checkout(u, pid)
        assert_json(r, 201, "balance checkout %d of %d" % (i + 1, n))
    eq(open_count(u.id), n, "placed balance orders of the user")
    before = stock_sales(pid)
    orders_before = db("SELECT COUNT(*) FROM orders WHERE user_id = %d" % u.id)[0][0]
    r = checkout(u, pid)
    p = assert_problem(r, 409, TOO_MANY, what="balance checkout number %d (max-open %d)" % (n + 1, n))
    eq(p.get("limit"), n, "problem member limit")
    check(isinstance(p.get("detail"), str) and str(n) in p["detail"],
          "the detail should say the limit %d: %r" % (n, p.get("detail")))
    eq(stock_sales(pid), before, "stock, sales after the refused checkout")
    eq(db("SELECT COUNT(*) FROM orders WHERE user_id = %d" % u.id)[0][0], orders_before,
       "orders of the user after the refused checkout")
    # cash on delivery is not limited; a cancel frees a place
    assert_json(checkout(u, pid, pay_method="cod"), 201, "cod checkout at max-open")
    first = db("SELECT MIN(id) FROM orders WHERE user_id = %d AND status = 'placed' "
               "AND pay_method = 'balance'" % u.id)[0][0]
    assert_json(u.abort(int(first)), 200, "cancel of one open order")
    assert_json(checkout(u, pid), 201, "balance checkout after a cancel freed a place")
    assert_problem(checkout(u, pid), 409, TOO_MANY, what="the next one, at the limit again")
    eq(open_count(u.id), n, "placed balance orders of the user at the end")


@test
def concurrent_balance_checkouts_at_max_open_minus_one_make_only_one_order():
    usual_pool()
    n = max_open()
    racers = 6
    # one product per racer: no product row lock lines them up, only the
    # limit's own lock may
    pids = [admin().make_product(stock=100000, price=100)["id"] for _ in range(racers)]
    for round_ in range(5):
        u = new_user("mc%d" % round_)
        for i in range(n - 1):
            assert_json(checkout(u, pids[i % racers]), 201, "balance checkout %d of %d" % (i + 1, n - 1))
        answers = at_once(racers, lambda i: checkout(u, pids[i]))
        codes = sorted(getattr(r, "status", r) for r in answers)
        made = sum(1 for r in answers if getattr(r, "status", None) == 201)
        refused = [r for r in answers if getattr(r, "status", None) == 409]
        for r in refused:
            assert_problem(r, 409, TOO_MANY, what="a racing checkout refused")
        eq(open_count(u.id), n, "round %d: placed balance orders after %d checkouts raced at %d open "
           "(answers %r)" % (round_, racers, n - 1, codes))
        eq((made, len(refused)), (1, racers - 1), "round %d: (201s, 409s) of the racing checkouts"
           % round_)


@test
def orders_page_shows_the_time_left_to_pay():
    usual_pool()
    hold = hold_seconds()
    u = new_user("pg")
    pid = admin().make_product(stock=100, price=250)["id"]
    bal = assert_json(checkout(u, pid), 201, "balance checkout")
    cod = assert_json(checkout(u, pid, pay_method="cod"), 201, "cod checkout")
    check_pay_by(bal, hold, "balance checkout answer")
    check_pay_by(cod, hold, "cod checkout answer")
    check_pay_by(order_of(u, bal["id"]), hold, "GET balance order")
    listed = {o["id"]: o for o in u.orders()}
    check_pay_by(listed[bal["id"]], hold, "balance order in GET /order/")
    check_pay_by(listed[cod["id"]], hold, "cod order in GET /order/")
    # the server-rendered list (the no-JS orders page includes it)
    r = u.get("/order/?format=html")
    check(r.status == 200, "GET /order/?format=html: %s" % r.describe())
    page = r.body.decode()
    item = page.split('id="order-%d"' % bal["id"], 1)[-1].split("</li>", 1)[0]
    check('data-pay-by="%s"' % bal["pay_by"] in item,
          "the placed balance order's item has no data-pay-by=%r: %s" % (bal["pay_by"], item[:600]))
    check(re.search(r"Pay by <time[^>]*>[^<]+ UTC</time> &middot; <span class=\"left\">\d+ (s|min) left<", item)
          or re.search(r"Pay by <time[^>]*>[^<]+ UTC</time> &middot; <span class=\"left\">\d+ h \d+ min left<", item),
          "the placed balance order's item does not say how long is left to pay: %s" % item[:600])
    citem = page.split('id="order-%d"' % cod["id"], 1)[-1].split("</li>", 1)[0]
    check("data-pay-by" not in citem, "a cod order shows a payment deadline: %s" % citem[:600])


@test
def pages_explain_an_expired_order_and_the_open_order_limit():
    # a plain form post's 303 lands on the page with the problem in the query
    r = T.get("/orders.html?error=order-state&status=409&order=12&state=expired",
              headers={"Accept": T.BROWSER_ACCEPT})
    check(r.status == 200, "GET /orders.html?error=order-state...: %s" % r.describe())
    check("Order 12 is expired (it was not paid in time" in r.body.decode(),
          "the orders page does not explain a pay refused as expired: %s"
          % re.findall(r'<div class="outcome[^>]*>.*?</div>', r.body.decode(), re.S)[:1])
    r = T.get("/cart.html?error=too-many-open-orders&status=409&limit=20&open=20",
              headers={"Accept": T.BROWSER_ACCEPT})
    check(r.status == 200, "GET /cart.html?error=too-many-open-orders...: %s" % r.describe())
    check("You already have 20 orders waiting to be paid" in r.body.decode(),
          "the cart page does not explain the open-order limit: %s"
          % re.findall(r'<div class="outcome[^>]*>.*?</div>', r.body.decode(), re.S)[:1])


# ---------------------------------------------------------------------------
# expiry (the pool restarted with ORDERD_HOLD=2)


@test
def unpaid_balance_order_expires_and_its_stock_comes_back_once():
    H.use_pool(ORDERD_HOLD=SHORT_HOLD)
    u = new_user("ex")
    pid = admin().make_product(stock=5, price=300)["id"]
    o = assert_json(checkout(u, pid, 3), 201, "balance checkout of 3")
    check_pay_by(o, SHORT_HOLD, "checkout answer")
    c = assert_json(checkout(u, pid, 1, "cod"), 201, "cod checkout of 1")
    eq(stock_sales(pid), (1, 4), "stock, sales with both orders placed")
    e = wait_status(u, o["id"], "expired")
    eq(e.get("status"), "expired", "status of the unpaid balance order %.0f s after its hold of %d s"
       % (EXPIRE_WAIT, SHORT_HOLD))
    eq(e.get("pay_by"), None, "pay_by of an expired order")
    eq(stock_sales(pid), (4, 1), "stock, sales after the expiry (3 back, once)")
    time.sleep(SHORT_HOLD + 1.5)            # more reaper rounds: nothing moves again
    eq(stock_sales(pid), (4, 1), "stock, sales a while after the expiry")
    eq(order_of(u, c["id"]).get("status"), "placed", "the cash-on-delivery order (never expires)")
    eq(db("SELECT status, aborted_at IS NOT NULL, paid_at IS NULL FROM orders WHERE id = %d"
          % o["id"]), [["expired", "1", "1"]], "orders row (status, aborted_at set, paid_at null)")
    # an expired order is done: neither a cancel nor a pay changes it
    p = assert_problem(u.abort(o["id"]), 409, ORDER_STATE, what="cancel of an expired order")
    eq(p.get("state"), "expired", "problem state")
    assert_problem(u.pay(o["id"]), 409, ORDER_STATE, what="pay of an expired order")
    eq(stock_sales(pid), (4, 1), "stock, sales after the refused cancel and pay")
    T.assert_audit_clean()


@test
def pay_after_the_deadline_is_refused_and_expires_the_order():
    master = H.use_pool(ORDERD_HOLD=SHORT_HOLD)
    u = new_user("late", credit=100000)
    pid = admin().make_product(stock=10, price=700)["id"]
    reaper = T.reaper(master)
    check(reaper, "the pool has no reaper")
    # With the reaper stopped, only the pay itself can notice the deadline.
    os.kill(reaper, signal.SIGSTOP)
    try:
        o = assert_json(checkout(u, pid, 2), 201, "balance checkout")
        time.sleep(SHORT_HOLD + 1.2)
        r = u.pay(o["id"])
        p = assert_problem(r, 409, ORDER_STATE, what="pay %.1f s after a hold of %d s"
                           % (SHORT_HOLD + 1.2, SHORT_HOLD))
        eq((p.get("order"), p.get("state")), (o["id"], "expired"), "problem order, state")
        eq(u.balance(), 100000, "balance after the refused pay")
        eq(db("SELECT COUNT(*) FROM ledger WHERE order_id = %d" % o["id"]), [["0"]],
           "ledger entries of the order")
        eq(order_of(u, o["id"]).get("status"), "expired", "status after the late pay")
        eq(stock_sales(pid), (10, 0), "stock, sales: back at once")
    finally:
        os.kill(reaper, signal.SIGCONT)
    time.sleep(2.5)                         # the reaper runs again: nothing twice
    eq(stock_sales(pid), (10, 0), "stock, sales after the reaper ran again")
    T.assert_audit_clean()


@test
def orders_page_shows_expired_orders():
    H.use_pool(ORDERD_HOLD=SHORT_HOLD)
    u = new_user("pge")
    pid = admin().make_product(stock=10, price=100)["id"]
    o = assert_json(checkout(u, pid), 201, "balance checkout")
    eq(wait_status(u, o["id"], "expired").get("status"), "expired", "status after the hold")
    r = u.get("/order/?format=html")
    check(r.status == 200, "GET /order/?format=html: %s" % r.describe())
    item = r.body.decode().split('id="order-%d"' % o["id"], 1)[-1].split("</li>", 1)[0]
    for want in ('data-status="expired"', "status-expired", ">Expired<", "Not paid in time"):
        check(want in item, "the expired order's item lacks %r: %s" % (want, item[:600]))
    check('data-kind="pay"' not in item and 'data-kind="abort"' not in item,
          "an expired order still offers pay or cancel: %s" % item[:600])


@test
def reaper_is_respawned_when_killed_and_replaced_on_sighup():
    master = H.use_pool(ORDERD_HOLD=SHORT_HOLD)
    workers = T.children(master)
    first = T.reaper(master)
    check(first, "the pool has no reaper")
    os.kill(first, signal.SIGKILL)
    second = H.F.wait_for(lambda: (lambda r: r if r and r != first else None)(T.reaper(master)), 10, 0.1)
    check(second, "no new reaper 10 s after the reaper %d was killed" % first)
    os.kill(master, signal.SIGHUP)
    third = H.F.wait_for(lambda: (lambda r: r if r and r != second else None)(T.reaper(master)), 20, 0.1)
    check(third, "the reaper %d was not replaced within 20 s of a SIGHUP" % second)
    check(not T.alive(second), "the old reaper %d still runs after the SIGHUP" % second)
    H.F.wait_pool(master, len(workers), exclude=workers, seconds=30)
    check(T.reaper(master) == third, "more than one reaper: %r" % T.reaper(master))
    # the new one works
    u = new_user("rp")
    pid = admin().make_product(stock=3, price=100)["id"]
    o = assert_json(checkout(u, pid, 2), 201, "balance checkout")
    eq(wait_status(u, o["id"], "expired").get("status"), "expired", "status after the hold")
    eq(stock_sales(pid), (3, 0), "stock, sales after the expiry")


@test
def audit_reports_an_expired_order_that_was_paid():
    H.use_pool(ORDERD_HOLD=SHORT_HOLD)
    u = new_user("au")
    pid = admin().make_product(stock=10, price=100)["id"]
    o = assert_json(checkout(u, pid), 201, "balance checkout")
    eq(wait_status(u, o["id"], "expired").get("status"), "expired", "status after the hold")
    db("UPDATE orders SET paid_at = UTC_TIMESTAMP() WHERE id = %d" % o["id"])
    try:
        rc, out = T.audit()
        mine = [l for l in out.splitlines() if l.startswith("order %d:" % o["id"])]
        check(rc == 1 and any("expired" in l and "paid" in l for l in mine),
              "audit (exit %d) does not report order %d as expired and paid: %r"
              % (rc, o["id"], mine or out[-500:]))
    finally:
        db("UPDATE orders SET paid_at = NULL WHERE id = %d" % o["id"])
    T.assert_audit_clean("audit after the repair")


if __name__ == "__main__":
    H.run_with_restore()
