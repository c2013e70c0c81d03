#!/usr/bin/env python3
"""Idempotency keys (docs/SPEC-internal.md "Accounts").

The same checkout sent 10 times at once with one Idempotency-Key makes one
order and ten identical answers (status, body bytes, Location), at least nine
marked `Idempotent-Replayed: true`; later repeats replay too. The same key with
another body (or path) is a 422 idempotency-key-reused and changes nothing;
another user's identical key is independent; a failed request leaves the key
unused. Pay, abort, transfer, credit and restock with a key: repeats (also
simultaneous ones) change nothing and replay. The form field idempotency_key
works like the header for a browser form post (303 replayed, same Location)."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import orderd_test as T  # noqa: E402
from orderd_test import (  # noqa: E402
    assert_json, assert_problem, assert_status, at_once, check, db, eq, get_product, location,
    run, test)
from accounts import (  # noqa: E402
    KEY_REUSED, OUT_OF_STOCK, admin, ample_product, anon, db_order_entries, new_key, new_user)


def replayed(r):
    return (r.header("Idempotent-Replayed") or "").strip().lower() == "true"


def same_answers(rs, status, what, min_replayed=None):
    """Every answer has `status`, the same body bytes and Location; at least
    min_replayed (default all but one) say Idempotent-Replayed: true."""
    bad = [r for r in rs if isinstance(r, str)]
    check(not bad, "%s: no answer: %s" % (what, bad[:3]))
    statuses = [r.status for r in rs]
    check(all(s == status for s in statuses), "%s: statuses %s, expected all %d; e.g. %s"
          % (what, statuses, status, [r.describe() for r in rs if r.status != status][:2]))
    bodies = {r.body for r in rs}
    check(len(bodies) == 1, "%s: %d different bodies: %s" % (what, len(bodies), [b[:200] for b in bodies]))
    locs = {r.header("Location") for r in rs}
    check(len(locs) == 1, "%s: different Locations: %s" % (what, locs))
    n_rep = sum(1 for r in rs if replayed(r))
    need = len(rs) - 1 if min_replayed is None else min_replayed
    check(n_rep >= need, "%s: %d of %d answers have Idempotent-Replayed: true, expected at least %d"
          % (what, n_rep, len(rs), need))
    check(n_rep <= len(rs) - 1 or min_replayed == len(rs),
          "%s: all %d answers claim to be replays; one must be the original" % (what, len(rs)))
    return rs[0]


def user_orders_db(uid):
    return [int(x[0]) for x in db("SELECT id FROM orders WHERE user_id = %d ORDER BY id" % uid)]


def product(stock=100000, price=900, fresh=False):
    """A new product (fresh), or the one this file shares (stock 100000)."""
    if fresh:
        return admin().make_product(stock=stock, price=price)["id"]
    return ample_product(price)


@test
def same_checkout_ten_times_at_once_makes_one_order_and_ten_identical_answers():
    u = new_user("idc")
    pid = product(stock=1000, fresh=True)
    key = new_key("co")
    body = {"items": [{"product": pid, "quantity": 3}], "pay_method": "balance"}
    rs = at_once(10, lambda i: u.post_json("/checkout/", body, key=key))
    first = same_answers(rs, 201, "10 simultaneous checkouts with one key", min_replayed=9)
    o = first.json
    check(isinstance(o, dict) and isinstance(o.get("id"), int), "answer is not an order: %s" % first.describe())
    eq(location(first), "/order/%d/" % o["id"], "Location")
    eq(user_orders_db(u.id), [o["id"]], "orders of the user in the table")
    eq([x["id"] for x in u.orders()], [o["id"]], "GET /order/ of the user")
    eq(get_product(pid)["stock"], 1000 - 3, "stock after 10 checkouts with one key")
    # a later repeat replays the same bytes
    r = u.post_json("/checkout/", body, key=key)
    eq((r.status, r.body, r.header("Location")), (201, first.body, first.header("Location")),
       "a later repeat (status, body, Location)")
    check(replayed(r), "a later repeat lacks Idempotent-Replayed: true: %s" % r.describe())
    eq(get_product(pid)["stock"], 1000 - 3, "stock after the later repeat")
    eq(user_orders_db(u.id), [o["id"]], "orders after the later repeat")


@test
def same_key_with_another_body_or_path_is_422_and_changes_nothing():
    u = new_user("idr")
    pid = product(stock=1000, fresh=True)
    key = new_key("rb")
    body = {"items": [{"product": pid, "quantity": 2}], "pay_method": "cod"}
    r = u.post_json("/checkout/", body, key=key)
    o = assert_json(r, 201, "first checkout with the key")
    check(not replayed(r), "the first answer says it is a replay")
    for what, fn in (
            ("another quantity", lambda: u.post_json(
                "/checkout/", {"items": [{"product": pid, "quantity": 5}], "pay_method": "cod"}, key=key)),
            ("another pay_method", lambda: u.post_json(
                "/checkout/", {"items": [{"product": pid, "quantity": 2}], "pay_method": "balance"}, key=key)),
            ("another path", lambda: u.post_json("/order/", {"product": pid, "quantity": 2}, key=key)),
            ("pay with it", lambda: u.pay(o["id"], key=key))):
        r = fn()
        assert_problem(r, 422, KEY_REUSED, what="same key, %s" % what)
        check(not replayed(r), "a 422 claims to be a replay")
    eq(user_orders_db(u.id), [o["id"]], "orders after key reuse")
    eq(get_product(pid)["stock"], 1000 - 2, "stock after key reuse")
    # the original still replays
    r = u.post_json("/checkout/", body, key=key)
    assert_status(r, 201, "replay after the 422s")
    check(replayed(r) and json.loads(r.body)["id"] == o["id"], "replay after the 422s: %s" % r.describe())


@test
def same_key_of_another_user_is_independent():
    a, b = new_user("ida"), new_user("idb")
    pid = product(stock=1000, fresh=True)
    key = new_key("shared")
    body = {"product": pid, "quantity": 1}
    ra = a.post_json("/order/", body, key=key)
    oa = assert_json(ra, 201, "alice's order with the key")
    rb = b.post_json("/order/", body, key=key)
    ob = assert_json(rb, 201, "bob's order with the same key")
    check(not replayed(rb), "bob's first use of alice's key is a replay: %s" % rb.describe())
    check(ob["id"] != oa["id"], "bob got alice's order %d" % oa["id"])
    eq((ob["user"], oa["user"]), (b.id, a.id), "owners")
    eq(get_product(pid)["stock"], 1000 - 2, "stock after two users' orders with one key")
    rb2 = b.post_json("/order/", body, key=key)
    check(replayed(rb2) and rb2.body == rb.body, "bob's repeat does not replay bob's answer: %s" % rb2.describe())
    ra2 = a.post_json("/order/", body, key=key)
    check(replayed(ra2) and ra2.body == ra.body, "alice's repeat: %s" % ra2.describe())
    eq(user_orders_db(a.id), [oa["id"]], "alice's orders")
    eq(user_orders_db(b.id), [ob["id"]], "bob's orders")


@test
def failed_request_leaves_the_key_unused():
    u = new_user("idf")
    ad = admin()
    pid = product(stock=1, fresh=True)
    key = new_key("oos")
    body = {"product": pid, "quantity": 2}
    for i in range(2):
        r = u.post_json("/order/", body, key=key)
        assert_problem(r, 409, OUT_OF_STOCK, what="order beyond stock with the key (try %d)" % (i + 1))
        check(not replayed(r), "a failed answer was stored and replayed: %s" % r.describe())
    eq(user_orders_db(u.id), [], "orders after out of stock")
    assert_json(ad.restock(pid, 5), 200, "restock")
    r = u.post_json("/order/", body, key=key)
    o = assert_json(r, 201, "the same key and body after restocking")
    check(not replayed(r), "the first success after failures is marked replayed")
    r2 = u.post_json("/order/", body, key=key)
    check(r2.status == 201 and replayed(r2) and r2.body == r.body, "repeat: %s" % r2.describe())
    eq(user_orders_db(u.id), [o["id"]], "orders")
    eq(get_product(pid)["stock"], 1 + 5 - 2, "stock")
    # a 422 (bad field) leaves it unused too
    key2 = new_key("bad")
    assert_problem(u.post_json("/order/", {"product": pid, "quantity": 0}, key=key2), 422,
                   what="quantity 0 with a key")
    r = u.post_json("/order/", {"product": pid, "quantity": 1}, key=key2)
    check(r.status == 201 and not replayed(r), "key used after a 422, with a valid body: %s" % r.describe())


@test
def idempotent_pay_and_abort_replay_and_move_money_once():
    u = new_user("idp", credit=100000)
    pid = product()
    o = u.checkout([(pid, 2)], "balance")
    total = o["total_amount"]
    kp = new_key("pay")
    rs = at_once(5, lambda i: u.pay(o["id"], key=kp))
    first = same_answers(rs, 200, "5 simultaneous pays with one key")
    eq(first.json.get("status"), "paid", "pay answer status")
    r = u.pay(o["id"], key=kp)
    check(r.status == 200 and replayed(r) and r.body == first.body, "later pay repeat: %s" % r.describe())
    eq(u.balance(), 100000 - total, "balance after pays with one key")
    ka = new_key("abort")
    ra = u.abort(o["id"], key=ka)
    eq(assert_json(ra, 200, "abort with a key").get("status"), "aborted", "abort status")
    rs = at_once(4, lambda i: u.abort(o["id"], key=ka))
    same_answers(rs + [ra], 200, "abort repeats with the key")
    eq(u.balance(), 100000, "balance after the refund and its repeats")
    eq(db_order_entries(o["id"]), {"payment": [-total], "refund": [total]}, "ledger rows of the order")
    # without a key the abort is a real second abort: 409
    assert_status(u.abort(o["id"]), 409, "abort without the key")
    # the pay key still replays the old answer ("paid"), changing nothing
    r = u.pay(o["id"], key=kp)
    check(r.status == 200 and replayed(r) and r.body == first.body, "pay repeat after abort: %s" % r.describe())
    eq(u.balance(), 100000, "balance after a pay replay")


@test
def idempotent_transfer_moves_money_once():
    a, b = new_user("ita", credit=10000), new_user("itb")
    k = new_key("tr")
    r1 = a.transfer(b.username, 1500, key=k)
    assert_json(r1, 200, "transfer with a key")
    for _ in range(3):
        r = a.transfer(b.username, 1500, key=k)
        check(r.status == 200 and replayed(r) and r.body == r1.body, "transfer repeat: %s" % r.describe())
    eq((a.balance(), b.balance()), (8500, 1500), "balances after a transfer and 3 repeats")
    k2 = new_key("trc")
    rs = at_once(8, lambda i: a.transfer(b.username, 700, key=k2))
    same_answers(rs, 200, "8 simultaneous transfers with one key")
    eq((a.balance(), b.balance()), (7800, 2200), "balances after 8 simultaneous transfers with one key")
    assert_problem(a.transfer(b.username, 701, key=k2), 422, KEY_REUSED, what="same key, another amount")
    eq((a.balance(), b.balance()), (7800, 2200), "balances after key reuse")
    eq(len([e for e in a.ledger()["items"] if e["kind"] == "transfer_out"]), 2, "sender transfer entries")


@test
def idempotent_credit_and_restock_apply_once():
    u = new_user("icr")
    ad = admin()
    k = new_key("cr")
    rs = at_once(5, lambda i: ad.credit(u.username, 4321, key=k))
    same_answers(rs, 200, "5 simultaneous credits with one key")
    r = ad.credit(u.username, 4321, key=k)
    check(r.status == 200 and replayed(r), "credit repeat: %s" % r.describe())
    eq(u.balance(), 4321, "balance after credits with one key")
    pid = product(stock=10, fresh=True)
    kr = new_key("rs")
    rs = at_once(5, lambda i: ad.restock(pid, 7, key=kr))
    same_answers(rs, 200, "5 simultaneous restocks with one key")
    eq(get_product(pid)["stock"], 17, "stock after restocks with one key")
    assert_problem(ad.restock(pid, 8, key=kr), 422, KEY_REUSED, what="restock key reuse")
    eq(get_product(pid)["stock"], 17, "stock after restock key reuse")


def browser_post_twice(u, pid, cookie):
    """The same browser form post (Accept text/html, idempotency_key field) twice:
    both 303 to the same Location, the second replayed, one order."""
    k = new_key("form")
    fields = {"product": pid, "quantity": 2, "next": "/orders.html", "idempotency_key": k}
    browser = {"Accept": T.BROWSER_ACCEPT}
    how = "cookie" if cookie else "bearer"
    if cookie:
        fields["csrf_token"] = u.csrf
        send = lambda: u.cookie_request("POST", "/order/", fields=fields, extra=browser)  # noqa: E731
    else:
        send = lambda: u.post_form("/order/", fields, headers=browser)  # noqa: E731
    before = len(user_orders_db(u.id))
    r1 = send()
    assert_status(r1, 303, "%s browser form post with idempotency_key" % how)
    loc = location(r1)
    check(loc.startswith("/orders.html?ok=order-created&id="), "%s: 303 Location %r" % (how, loc))
    check(not replayed(r1), "%s: the first form post is marked replayed" % how)
    r2 = send()
    assert_status(r2, 303, "%s: the same form post again" % how)
    eq(r2.header("Location"), r1.header("Location"), "%s: Location of the repeat" % how)
    check(replayed(r2), "%s: the repeat lacks Idempotent-Replayed: true" % how)
    eq(len(user_orders_db(u.id)), before + 1, "%s: orders after a form post and its repeat" % how)


@test
def form_field_idempotency_key_replays_a_browser_post_with_303():
    u = new_user("idh")
    pid = product(stock=1000, fresh=True)
    browser_post_twice(u, pid, cookie=False)
    eq(get_product(pid)["stock"], 1000 - 2, "stock")
    # a plain (JSON-accepting) form post with the field works alike
    k2 = new_key("bform")
    f2 = {"product": pid, "quantity": 1, "idempotency_key": k2}
    r3 = u.post_form("/order/", f2)
    o3 = assert_json(r3, 201, "bearer form post with idempotency_key")
    r4 = u.post_form("/order/", f2)
    check(r4.status == 201 and replayed(r4) and r4.body == r3.body, "bearer form repeat: %s" % r4.describe())
    eq(len(user_orders_db(u.id)), 2, "orders after two keyed form posts and repeats")
    check(o3["user"] == u.id, "owner")


@test
def cookie_browser_form_post_with_idempotency_key_replays_with_303():
    u = new_user("idk")
    pid = product(stock=1000, fresh=True)
    browser_post_twice(u, pid, cookie=True)
    eq(get_product(pid)["stock"], 1000 - 2, "stock")


@test
def bad_or_anonymous_key_is_refused_and_creates_nothing():
    """Idempotency-Key is 1..200 printable ASCII: anything else is refused (400
    or 422, never a 5xx) before any effect."""
    u = new_user("idx")
    pid = product(stock=1000, fresh=True)
    bad = []
    for key in ("x" * 201, "x" * 1000, "tab\there", "\u00e9t\u00e9"):
        r = u.post_json("/order/", {"product": pid}, headers={"Idempotency-Key": key})
        if r.status not in (400, 422):
            bad.append("header Idempotency-Key %r (%d chars): expected 400 or 422, got %s"
                       % (key[:12], len(key), r.describe()))
    r = u.post_form("/order/", {"product": pid, "idempotency_key": "x" * 201})
    if r.status != 422:
        bad.append("form idempotency_key of 201 characters: expected 422, got %s" % r.describe())
    r = anon("POST", "/order/", obj={"product": pid}, headers={"Idempotency-Key": new_key()})
    if r.status != 401:
        bad.append("anonymous order with a key: expected 401, got %s" % r.describe())
    n = len(user_orders_db(u.id))
    if n:
        bad.append("%d order(s) created by refused requests" % n)
    check(not bad, "%d problem(s):\n    %s" % (len(bad), "\n    ".join(bad)))
    r = u.post_json("/order/", {"product": pid}, key="k" * 200)
    assert_json(r, 201, "a 200-character key is fine")


@test
def repeat_of_the_order_that_took_the_last_unit_replays_once_it_is_sold_out():
    # The pool refuses orders for a product marked sold out without asking
    # the database; a repeat with a key may be the order that took the last
    # unit, and must get its own answer again, not a 409.
    u, v = new_user("idl"), new_user("idm")
    pid = product(stock=1, fresh=True)
    key = new_key("last")
    first = u.post_json("/order/", {"product": pid, "quantity": 1}, key=key)
    o = assert_json(first, 201, "the order of the last unit")
    assert_problem(v.post_json("/order/", {"product": pid, "quantity": 1}), 409, OUT_OF_STOCK,
                   what="the next order (marks the product sold out)")
    for i in range(2):
        r = u.post_json("/order/", {"product": pid, "quantity": 1}, key=key)
        eq((r.status, r.body), (201, first.body), "repeat %d of the order that took the last "
           "unit, after the sold-out mark" % (i + 1))
        check(replayed(r), "repeat %d lacks Idempotent-Replayed: true" % (i + 1))
    eq(user_orders_db(u.id), [o["id"]], "orders of the user")


@test
def a_repeat_is_replayed_from_the_pools_memory_while_the_database_is_frozen():
    # A committed answer is remembered by the pool: its repeat needs no
    # database round trip (it still answers with MariaDB stopped by SIGSTOP).
    import signal
    import time
    import faults as F
    u = new_user("idf")
    pid = product(stock=1000, fresh=True)
    db_pid = F.mariadb_pid()
    check(db_pid, "no live mariadbd")
    for attempt in range(3):
        key = new_key("frozen")
        first = u.post_json("/order/", {"product": pid, "quantity": 1}, key=key)
        assert_json(first, 201, "the order with the key")
        t_answer = time.monotonic()
        os.kill(db_pid, signal.SIGSTOP)
        try:
            if time.monotonic() - t_answer > 0.4:
                continue            # the session cache (0.8 s) may lapse: again
            t0 = time.monotonic()
            try:
                r = u.post_json("/order/", {"product": pid, "quantity": 1}, key=key, timeout=3)
            except T.ConnError as e:
                raise T.Fail("the repeat got no answer in 3 s with the database stopped: %s"
                             % e) from None
            took = time.monotonic() - t0
        finally:
            os.kill(db_pid, signal.SIGCONT)
        eq((r.status, r.body, r.header("Location")),
           (201, first.body, first.header("Location")), "the repeat with the database stopped")
        check(replayed(r), "the repeat lacks Idempotent-Replayed: true")
        check(took < 1.0, "the repeat took %.2fs with the database stopped" % took)
        return
    raise T.Fail("could not stop the database within 0.4 s of an answer in 3 tries")


@test
def audit_is_clean_after_idempotency():
    T.assert_audit_clean()


if __name__ == "__main__":
    run()
