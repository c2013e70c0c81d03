#!/usr/bin/env python3
"""Accounts, sign-in, ownership and money (docs/SPEC-internal.md
"Accounts").

Users register and sign in through the API; each sends its own bearer token
or its session cookie, never the admin token. Covered: register (shape, 409
case-insensitive, 422 per field), login (token, cookies HttpOnly and
SameSite=Strict, same 401 for a wrong password and an unknown user), missing,
garbage and revoked tokens (401 + WWW-Authenticate), cookie sessions and CSRF
(Origin/Referer and the token; bearer needs neither), ownership (someone
else's order is 404 on read, pay and abort and stays unchanged; admin sees and
changes all; lists hold only one's own orders), admin-only calls (403 / 401),
pay, refund on abort (once), short funds, ship, transfers, ledger pages, a
clean audit and, last, the login rate limit (429)."""

import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import orderd_test as T  # noqa: E402
from orderd_test import (  # noqa: E402
    FREIGHT, assert_json, assert_problem, assert_status, check, db, eq, get_product, is_int,
    location, log, run, run_cases, test)
from accounts import (  # noqa: E402
    CSRF, FORBIDDEN, FUNDS, INVALID, NOT_FOUND, ORDER_STATE, ORIGIN, PASSWORD,
    RATE_LIMITED, TAKEN, TOKEN_RE, UNAUTHORIZED, admin, ample_product, anon, check_account,
    cookie_attrs, db_order_entries, db_user, login, new_user, orderd_admin, register, set_cookies,
    sha256_hex, sign_in, uname, wait_429)

BIG_ID = 10 ** 15


def product():
    """One product with ample stock for this file's orders (price 700)."""
    return ample_product(700)


def order_as(user, oid):
    return assert_json(user.get("/order/%d/" % oid), 200, "GET /order/%d/ as %s" % (oid, user.username))


def db_count_orders(uid):
    return int(db("SELECT COUNT(*) FROM orders WHERE user_id = %d" % uid)[0][0])


# ---------------------------------------------------------------------------
# register


@test
def register_answers_201_with_user_and_location():
    name = uname("reg")
    r = register(name)
    j = assert_json(r, 201, "POST /auth/register/ %s" % name)
    check(isinstance(j, dict) and isinstance(j.get("user"), dict), "answer %r has no user object" % j)
    u = j["user"]
    check(is_int(u.get("id")) and u["id"] > 0, "user.id %r" % u.get("id"))
    eq(u.get("username"), name, "user.username")
    eq(location(r), "/account/", "register Location")
    check("password" not in r.body.decode("utf-8", "replace").lower() and
          PASSWORD not in r.body.decode("utf-8", "replace"), "register answer mentions the password: %r" % r.body)
    # urlencoded works like JSON
    name2 = uname("regf")
    r2 = register(name2, form=True)
    j2 = assert_json(r2, 201, "POST /auth/register/ (form) %s" % name2)
    eq(j2.get("user", {}).get("username"), name2, "form register user.username")
    # stored as an Argon2id hash, never in clear
    rows = db("SELECT pw_hash FROM users WHERE id = %d" % u["id"])
    check(rows, "user %d not in the users table" % u["id"])
    check(rows[0][0].startswith("$argon2id$"), "password hash %r is not an Argon2id string" % rows[0][0][:20])
    check(PASSWORD not in rows[0][0], "the password is stored in clear")
    # a new user starts as a user with 0
    a = sign_in(name).account()
    eq((a["role"], a["balance"]), ("user", 0), "new account role, balance")


@test
def register_taken_username_is_409_case_insensitively():
    name = uname("dup")
    assert_status(register(name), 201, "first register")
    before = int(db("SELECT COUNT(*) FROM users")[0][0])
    for variant in (name, name.upper(), name.capitalize().swapcase()):
        r = register(variant, "another password")
        assert_problem(r, 409, TAKEN, what="register %r again (taken as %r)" % (variant, name))
    after = int(db("SELECT COUNT(*) FROM users WHERE username = '%s'" % name)[0][0])
    eq(after, 1, "users named %s (any case)" % name)
    # the first password still signs in; the refused ones do not
    assert_status(login(name), 200, "login with the first password")
    assert_problem(login(name, "another password"), 401, UNAUTHORIZED,
                   what="login with a refused registration's password")
    check(before >= 1, "users table empty?")


@test
def register_bad_username_or_password_is_422_naming_the_field():
    ok = uname("ok")
    cases = [
        ("username", "ab", PASSWORD),                       # too short
        ("username", "a" * 33, PASSWORD),                   # too long
        ("username", "has space", PASSWORD),
        ("username", "sl/ash", PASSWORD),
        ("username", "semi;colon", PASSWORD),
        ("username", "quote'x", PASSWORD),
        ("username", "\u00fcml\u00e4ut", PASSWORD),
        ("username", "", PASSWORD),
        ("password", ok + "p1", "short7!"),                 # 7 bytes
        ("password", ok + "p2", ""),
        ("password", ok + "p3", "x" * 257),                 # 257 bytes
        ("password", ok + "p4", "\u00e9" * 129),            # 258 bytes in UTF-8
    ]

    def one(case):
        field, name, pw = case
        for form in (False, True):
            r = register(name, pw, form=form)
            assert_problem(r, 422, INVALID, field, what="register %r / password of %d bytes (%s)"
                           % (name[:40], len(pw.encode()), "form" if form else "json"))
        if re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            check(db_user(name) is None, "refused user %r exists in the users table" % name)

    run_cases(cases, one)

    def missing(case):
        field, body = case
        r = wait_429(lambda: anon("POST", "/auth/register/", obj=body))
        assert_problem(r, 422, INVALID, field, what="register without %s" % field)
    run_cases([("username", {"password": PASSWORD}), ("password", {"username": ok + "m"})], missing)
    # boundaries that are allowed: 32 characters, every allowed sign; 8 and 256 byte passwords
    n32 = uname("b")
    n32 += "x" * (32 - len(n32))
    for name, pw in ((n32, "12345678"),
                     ("A.b-" + uname("c"), "p" * 256),
                     (uname("d"), "\u00e9" * 128)):
        r = register(name, pw)
        assert_json(r, 201, "register %r with a password of %d bytes" % (name, len(pw.encode())))
        assert_status(login(name, pw), 200, "login %r" % name)


# ---------------------------------------------------------------------------
# login, tokens, logout


@test
def login_gives_token_user_csrf_and_strict_httponly_cookie():
    name = uname("li")
    uid = assert_json(register(name), 201, "register")["user"]["id"]
    r = login(name)
    j = assert_json(r, 200, "POST /auth/login/")
    tok = j.get("token")
    check(isinstance(tok, str) and TOKEN_RE.fullmatch(tok), "token %r is not 43 base64url characters" % tok)
    lu = j.get("user") if isinstance(j.get("user"), dict) else {}
    eq((lu.get("id"), lu.get("username"), lu.get("role")), (uid, name, "user"),
       "login user (id, username, role)")
    csrf = j.get("csrf_token")
    check(isinstance(csrf, str) and len(csrf) >= 16, "csrf_token %r" % csrf)
    check(PASSWORD not in r.body.decode("utf-8", "replace"), "login answer holds the password")
    ck = set_cookies(r)
    check("orderd_session" in ck, "no orderd_session cookie in %r" % r.headers.get_all("Set-Cookie"))
    val, attrs = ck["orderd_session"]
    eq(val, tok, "orderd_session cookie value")
    a = cookie_attrs(attrs)
    check("httponly" in a, "orderd_session cookie lacks HttpOnly: %r" % attrs)
    eq(str(a.get("samesite", "")).lower(), "strict", "orderd_session SameSite")
    eq(a.get("path"), "/", "orderd_session Path")
    eq(a.get("max-age"), "2592000", "orderd_session Max-Age")
    check("orderd_csrf" in ck, "no orderd_csrf cookie in %r" % r.headers.get_all("Set-Cookie"))
    cval, cattrs = ck["orderd_csrf"]
    eq(cval, csrf, "orderd_csrf cookie value")
    eq(str(cookie_attrs(cattrs).get("samesite", "")).lower(), "strict", "orderd_csrf SameSite")
    # the token works, is random per login, and is stored only as SHA-256
    a = assert_json(T.request("GET", "/account/", None, {"Authorization": "Bearer " + tok}), 200,
                    "GET /account/ with the login token")
    eq((a.get("id"), a.get("username"), a.get("role"), a.get("balance")), (uid, name, "user", 0),
       "account")
    j2 = assert_json(login(name, form=True), 200, "second login (form)")
    check(j2.get("token") != tok, "two logins gave the same token %r" % tok)
    hashes = {sha256_hex(tok.encode())}
    try:
        import base64
        hashes.add(sha256_hex(base64.urlsafe_b64decode(tok + "=")))
    except ValueError:
        pass
    rows = db("SELECT LOWER(HEX(token_hash)) FROM sessions WHERE user_id = %d" % uid)
    stored = {x[0] for x in rows}
    check(stored & hashes, "no session row holds SHA-256 of the token (rows %r)" % sorted(stored))
    check(not any(tok in x for x in stored), "the token is stored in clear")


@test
def login_wrong_password_and_unknown_user_are_the_same_401():
    u = new_user("wp")
    r1 = login(u.username, "wrong password!")
    p1 = assert_problem(r1, 401, UNAUTHORIZED, what="login with a wrong password")
    r2 = login(uname("nobody"), "wrong password!")
    p2 = assert_problem(r2, 401, UNAUTHORIZED, what="login as an unknown user")
    eq((p2.get("title"), p2.get("detail")), (p1.get("title"), p1.get("detail")),
       "unknown user answer (title, detail) vs wrong password answer")
    for r in (r1, r2):
        check("orderd_session" not in set_cookies(r) or not set_cookies(r)["orderd_session"][0],
              "a refused login set a session cookie: %r" % r.headers.get_all("Set-Cookie"))
        check("token" not in (r.json or {}), "a refused login gave a token")
    r3 = login(u.username.upper(), "wrong password!")
    assert_problem(r3, 401, UNAUTHORIZED, what="login, other case, wrong password")


@test
def missing_token_is_401_and_changes_nothing():
    u = new_user("mt")
    pid = product()
    oid = u.order(pid)["id"]
    stock = get_product(pid)["stock"]
    calls = [
        ("GET", "/account/", None), ("GET", "/account/ledger/", None),
        ("GET", "/order/", None), ("GET", "/order/%d/" % oid, None),
        ("POST", "/order/", {"product": pid}),
        ("POST", "/checkout/", {"items": [{"product": pid, "quantity": 1}], "pay_method": "cod"}),
        ("POST", "/order/%d/pay/" % oid, None), ("POST", "/order/%d/abort/" % oid, None),
        ("PUT", "/order/%d/abort/" % oid, None),
        ("POST", "/transfer/", {"to": u.username, "amount": 1}),
        ("POST", "/auth/logout/", None),
    ]

    def one(c):
        method, path, body = c
        r = anon(method, path, obj=body)
        assert_problem(r, 401, what="%s %s without credentials" % (method, path))
    run_cases(calls, one)
    eq(get_product(pid)["stock"], stock, "product stock after refused calls")
    eq(db_count_orders(u.id), 1, "orders of the user")
    eq(order_as(u, oid)["status"], "placed", "order status")
    # public calls stay public
    assert_status(anon("GET", "/product/%d/" % pid), 200, "GET product without credentials")


@test
def garbage_or_unknown_bearer_token_is_401_with_www_authenticate():
    fake = "A" * 43
    for tok in ("garbage", fake, "x" * 300):
        for method, path in (("GET", "/account/"), ("POST", "/order/"), ("GET", "/product/")):
            r = T.request(method, path, b'{"product": %d}' % product() if method == "POST" else None,
                          {"Authorization": "Bearer " + tok},
                          ctype="application/json" if method == "POST" else None)
            assert_problem(r, 401, UNAUTHORIZED, what="%s %s with bearer %r" % (method, path, tok[:12]))
            wa = r.header("WWW-Authenticate") or ""
            check(wa.lower().startswith("bearer"),
                  "%s %s with a bad token: WWW-Authenticate %r, expected Bearer ..." % (method, path, wa))
    # a bad session cookie too
    r = T.request("GET", "/account/", None, {"Authorization": None, "Cookie": "orderd_session=" + fake})
    assert_problem(r, 401, UNAUTHORIZED, what="GET /account/ with an unknown session cookie")
    # ... but a stale cookie on a public call is ignored, and sign-in never looks at credentials
    r = T.request("GET", "/product/%d/" % product(), None,
                  {"Authorization": None, "Cookie": "orderd_session=" + fake})
    assert_status(r, 200, "GET a product with a stale session cookie")
    u = new_user("gb")
    r = wait_429(lambda: T.request("POST", "/auth/login/",
                                   ('{"username": "%s", "password": "%s"}' % (u.username, PASSWORD)).encode(),
                                   {"Authorization": "Bearer " + fake,
                                    "Cookie": "orderd_session=" + fake}, ctype="application/json"))
    assert_json(r, 200, "login while sending a stale bearer token and cookie")


@test
def logout_revokes_that_token_and_clears_cookies():
    u = new_user("lo")
    other = sign_in(u.username)          # a second session of the same user
    r = u.post("/auth/logout/")
    j = assert_json(r, 200, "POST /auth/logout/")
    eq(j, {"ok": True}, "logout answer")
    ck = set_cookies(r)
    for name in ("orderd_session", "orderd_csrf"):
        check(name in ck, "logout does not clear cookie %s: %r" % (name, r.headers.get_all("Set-Cookie")))
        val, attrs = ck[name]
        a = cookie_attrs(attrs)
        cleared = a.get("max-age") == "0" or "expires" in a and "1970" in str(a["expires"]) or val == ""
        check(cleared, "logout's %s cookie is not cleared: %r" % (name, (val, attrs)))
    for what, r in (("GET /account/", u.get("/account/")),
                    ("POST /order/", u.post_json("/order/", {"product": product()})),
                    ("POST /auth/logout/ again", u.post("/auth/logout/")),
                    ("cookie GET /account/", T.request("GET", "/account/", None, u.cookie_hdr()))):
        assert_problem(r, 401, UNAUTHORIZED, what="%s with the revoked token" % what)
        check((r.header("WWW-Authenticate") or "").lower().startswith("bearer") or what.startswith("cookie"),
              "%s with a revoked token: no WWW-Authenticate: Bearer" % what)
    eq(db_count_orders(u.id), 0, "orders made with a revoked token")
    # the other session lives on
    eq(other.account()["username"], u.username, "the user's other session after logout")
    rows = db("SELECT COUNT(*) FROM sessions WHERE user_id = %d AND revoked_at IS NOT NULL" % u.id)
    check(int(rows[0][0]) >= 1, "no revoked session row for user %d" % u.id)


# ---------------------------------------------------------------------------
# cookie sessions and CSRF


@test
def cookie_session_reads_account_with_csrf_token():
    u = new_user("ck")
    r = T.request("GET", "/account/", None, u.cookie_hdr(origin=None))
    a = assert_json(r, 200, "GET /account/ with only the session cookie")
    check_account(a, u, "cookie GET /account/")
    eq(a.get("csrf_token"), u.csrf, "csrf_token in the cookie GET /account/ (vs login's)")
    # GET needs no Origin and no token; a second read gives the same token (stable per session)
    a2 = assert_json(T.request("GET", "/account", None, u.cookie_hdr(origin=None)), 200, "again")
    eq(a2.get("csrf_token"), u.csrf, "csrf_token on a second read")


@test
def cookie_post_without_csrf_token_is_403_and_changes_nothing():
    u = new_user("nc")
    pid = product()
    stock = get_product(pid)["stock"]
    for fields, extra in (({"product": pid}, None),
                          ({"product": pid, "csrf_token": "0" * len(u.csrf or "x" * 43)}, None),
                          ({"product": pid}, {"X-CSRF-Token": "wrong"})):
        r = u.cookie_request("POST", "/order/", fields=fields, extra=extra)
        assert_problem(r, 403, CSRF, what="cookie POST /order/ %r %r" % (sorted(fields), extra))
    r = u.cookie_request("POST", "/order/", obj={"product": pid})
    assert_problem(r, 403, CSRF, what="cookie POST /order/ JSON without a CSRF token")
    eq(db_count_orders(u.id), 0, "orders after refused cookie posts")
    eq(get_product(pid)["stock"], stock, "stock after refused cookie posts")
    assert_problem(u.cookie_request("POST", "/auth/logout/"), 403, CSRF,
                   what="cookie logout without a CSRF token")
    u.account()   # not logged out


@test
def cookie_post_with_empty_csrf_token_field_is_403_not_422():
    """An empty csrf_token field carries no token: the CSRF refusal, not a field error."""
    u = new_user("ec")
    pid = product()
    r = u.cookie_request("POST", "/order/", fields={"product": pid, "csrf_token": ""})
    assert_problem(r, 403, CSRF, what="cookie POST /order/ with csrf_token=''")
    eq(db_count_orders(u.id), 0, "orders after the refused cookie post")


@test
def cookie_post_from_another_origin_is_403_even_with_the_token():
    u = new_user("or")
    pid = product()
    cases = [("origin", "http://evil.example", None),
             ("origin", "null", None),
             ("origin", ORIGIN + ".evil.example", None),
             ("origin", ORIGIN.replace("http://", "https://x."), None),
             ("referer", None, "http://evil.example/order.html"),
             ("neither", None, None)]

    def one(c):
        kind, origin, referer = c
        for how in ("header", "form"):
            if how == "header":
                r = u.cookie_request("POST", "/order/", fields={"product": pid}, origin=origin,
                                     referer=referer, csrf=u.csrf)
            else:
                r = u.cookie_request("POST", "/order/", fields={"product": pid, "csrf_token": u.csrf},
                                     origin=origin, referer=referer)
            assert_problem(r, 403, CSRF, what="cookie POST /order/ with token (%s), Origin %r, Referer %r"
                           % (how, origin, referer))
    run_cases(cases, one)
    eq(db_count_orders(u.id), 0, "orders after cross-origin cookie posts")


@test
def cookie_post_with_origin_and_token_succeeds():
    u = new_user("okc")
    pid = product()
    r = u.cookie_request("POST", "/order/", fields={"product": pid}, csrf=u.csrf)
    o = assert_json(r, 201, "cookie POST /order/ with Origin and X-CSRF-Token")
    eq(o.get("user"), u.id, "order.user")
    r = u.cookie_request("POST", "/order/", fields={"product": pid, "csrf_token": u.csrf})
    assert_json(r, 201, "cookie POST /order/ with Origin and form csrf_token")
    r = u.cookie_request("POST", "/order/", fields={"product": pid, "csrf_token": u.csrf},
                         origin=None, referer=ORIGIN + "/index.html")
    assert_json(r, 201, "cookie POST /order/ with a same-origin Referer and form csrf_token")
    r = u.cookie_request("POST", "/checkout/", obj={"items": [{"product": pid, "quantity": 1}],
                                                    "pay_method": "cod"}, csrf=u.csrf)
    assert_json(r, 201, "cookie POST /checkout/ JSON with Origin and X-CSRF-Token")
    # a browser form post: 303 back to next
    r = u.cookie_request("POST", "/order/", fields={"product": pid, "csrf_token": u.csrf,
                                                    "next": "/orders.html"},
                         extra={"Accept": T.BROWSER_ACCEPT})
    assert_status(r, 303, "browser form cookie POST /order/")
    check(location(r).startswith("/orders.html?ok=order-created&id="), "303 Location %r" % location(r))
    eq(len(u.orders()), 5, "orders of the cookie user")
    # cookie abort and logout work too
    r = u.cookie_request("POST", "/order/%d/abort/" % o["id"], csrf=u.csrf)
    eq(assert_json(r, 200, "cookie abort").get("status"), "aborted", "cookie abort status")
    r = u.cookie_request("POST", "/auth/logout/", csrf=u.csrf)
    assert_json(r, 200, "cookie logout with the token")
    assert_problem(u.get("/account/"), 401, UNAUTHORIZED, what="after cookie logout")


@test
def bearer_post_needs_no_csrf_token_nor_origin():
    u = new_user("br")
    pid = product()
    r = u.post_json("/order/", {"product": pid}, headers={"Origin": "http://evil.example"})
    assert_json(r, 201, "bearer POST /order/ with a foreign Origin, no CSRF token")
    r = u.post_form("/order/", {"product": pid})
    assert_json(r, 201, "bearer form POST /order/ without Origin or CSRF token")


# ---------------------------------------------------------------------------
# ownership and roles


@test
def other_users_order_is_404_on_read_pay_and_abort_and_unchanged():
    alice, bob = new_user("al", credit=100000), new_user("bo", credit=100000)
    pid = product()
    placed = alice.checkout([(pid, 1)], "balance")
    cod = alice.order(pid)
    stock = get_product(pid)["stock"]
    missing = assert_problem(bob.get("/order/%d/" % BIG_ID), 404, NOT_FOUND, what="bob GET missing order")
    for o in (placed, cod):
        oid = o["id"]
        for what, r in (("GET", bob.get("/order/%d/" % oid)),
                        ("GET no slash", bob.get("/order/%d" % oid)),
                        ("pay", bob.pay(oid)),
                        ("abort POST", bob.abort(oid)),
                        ("abort PUT", bob.request("PUT", "/order/%d/abort/" % oid))):
            p = assert_problem(r, 404, NOT_FOUND, what="bob %s alice's order %d" % (what, oid))
            eq(p.get("title"), missing.get("title"), "title of 404 for someone else's vs a missing order")
        check(oid not in [x["id"] for x in bob.orders()], "bob's order list holds alice's order %d" % oid)
        got = order_as(alice, oid)
        eq(got["status"], "placed", "alice's order %d status after bob's tries" % oid)
    eq(get_product(pid)["stock"], stock, "stock after bob's tries")
    eq((alice.balance(), bob.balance()), (100000, 100000), "balances after bob's tries")
    eq(db_order_entries(placed["id"]), {}, "ledger entries of alice's unpaid order")
    # alice's own pay still works (bob's refusal did not consume anything)
    assert_status(alice.pay(placed["id"]), 200, "alice pays her order")


@test
def admin_sees_every_order_and_can_abort_one():
    u = new_user("ao")
    ad = admin()
    pid = product()
    o = u.order(pid, 3)
    stock = get_product(pid)["stock"]
    got = order_as(ad, o["id"])
    eq((got["id"], got["user"], got["status"]), (o["id"], u.id, "placed"), "admin GET of the user's order")
    page = assert_json(ad.get("/order/?limit=200"), 200, "admin GET /order/")
    ids = [x["id"] for x in page["items"]]
    check(o["id"] in ids, "admin's order list (newest 200) lacks the user's order %d" % o["id"])
    check(ids == sorted(ids, reverse=True), "admin order list not newest first")
    r = ad.abort(o["id"])
    eq(assert_json(r, 200, "admin aborts the user's order").get("status"), "aborted", "status")
    eq(order_as(u, o["id"])["status"], "aborted", "the user sees the order aborted")
    eq(get_product(pid)["stock"], stock + 3, "stock after the admin's abort")
    assert_problem(u.abort(o["id"]), 409, ORDER_STATE, what="the user aborts it again")


@test
def order_list_holds_only_the_callers_orders_newest_first():
    a, b = new_user("la"), new_user("lb")
    pid = product()
    a1 = a.order(pid)["id"]
    b1 = b.order(pid)["id"]
    a2 = a.checkout([(pid, 2)], "cod")["id"]
    a3 = a.checkout([(pid, 1)], "balance")["id"]
    la = a.orders()
    eq([x["id"] for x in la], [a3, a2, a1], "alice's GET /order/ ids")
    check(all(x["user"] == a.id for x in la), "alice's list holds orders of others: %r"
          % [(x["id"], x["user"]) for x in la])
    eq([x["id"] for x in b.orders()], [b1], "bob's GET /order/ ids")
    page = assert_json(a.get("/order/?limit=1"), 200, "alice GET /order/?limit=1")
    eq([x["id"] for x in page["items"]], [a3], "first page")
    page = assert_json(a.get("/order/?limit=1&after=%d" % a3), 200, "second page")
    eq([x["id"] for x in page["items"]], [a2], "second page ids")


def rows_read():
    """MariaDB's count of rows read by every connection (SHOW GLOBAL STATUS
    Rows_read: base tables, not temporary ones)."""
    rows = db("SHOW GLOBAL STATUS LIKE 'Rows_read'")
    check(rows and len(rows[0]) == 2, "SHOW GLOBAL STATUS LIKE 'Rows_read': %r" % rows)
    return int(rows[0][1])


def rows_read_by(fn, repeats=7):
    """The fewest rows MariaDB read while fn() ran, over `repeats` runs (the
    minimum drops whatever else touched the server meanwhile)."""
    best = None
    for _ in range(repeats):
        before = rows_read()
        fn()
        n = rows_read() - before
        best = n if best is None else min(best, n)
    return best


def list_pages(user, limit):
    """Every order of GET /order/?limit=..., page after page (after=next)."""
    out, after, pages = [], None, 0
    while True:
        path = "/order/?limit=%d" % limit + ("&after=%d" % after if after is not None else "")
        page = assert_json(user.get(path), 200, "GET %s as %s" % (path, user.username))
        items = page.get("items") or []
        out.extend(items)
        pages += 1
        check(pages < 1000, "order pages of %s never end" % user.username)
        after = page.get("next")
        if after is None:
            return out
        eq(after, items[-1]["id"] if items else None, "next = the last id of the page")


def interleaved_shop(lines_between=60):
    """Users a1, a2 and b. a1 places 4 orders of 3 lines one after another;
    a2 places 4 orders of 3 lines (the same products) with b's checkouts of 5
    lines each between them, lines_between of b's lines in each gap. Returns
    (a1, a2, b, products)."""
    ad = admin()
    ps = [ad.make_product(stock=100000, price=100 + 10 * i)["id"] for i in range(6)]
    a1, a2, b = new_user("la1"), new_user("la2"), new_user("lb")
    shape = [(ps[2], 1), (ps[0], 2), (ps[4], 3)]      # given unsorted: lines come back sorted
    for _ in range(4):
        a1.checkout(shape, "cod")
    for k in range(4):
        a2.checkout(shape, "cod")
        if k < 3:
            for _ in range(lines_between // 5):
                b.checkout([(p, 1) for p in ps[1:]], "cod")
    return a1, a2, b, ps


@test
def order_list_reads_only_the_callers_lines_however_many_others_order():
    """GET /order/ used to read every line of every order between the caller's
    oldest and newest listed order, other users' lines included: a user's
    list got slower with everyone else's orders. a1 and a2 have the same
    orders; between a2's lie 180 lines of b's. Listing a2 may not read more
    rows than listing a1."""
    a1, a2, b, ps = interleaved_shop(60)
    quiet = rows_read_by(lambda: a1.get("/order/"))
    busy = rows_read_by(lambda: a2.get("/order/"))
    log("rows read: a1's list (contiguous) %d, a2's list (180 of b's lines between) %d"
        % (quiet, busy))
    check(busy - quiet < 60, "listing a2's 4 orders read %d rows, a1's (the same orders, none of "
          "others between) %d: a2's list reads other users' lines" % (busy, quiet))
    # 4 orders, 12 lines, their 12 products and the session: about 35 rows;
    # a plan that scans a table (every product, every order) reads hundreds
    for who, n in (("a1", quiet), ("a2", busy)):
        check(n < 100, "listing %s's 4 orders of 3 lines read %d rows (a table scan?)" % (who, n))


@test
def order_list_gives_each_order_its_own_lines_on_every_page():
    """The list's lines, read apart from the orders and matched in one walk,
    are exactly each order's own (as GET /order/<id>/ shows them), products
    ascending, orders newest first, whatever the page size."""
    a1, a2, b, ps = interleaved_shop(20)
    ad = admin()
    for u in (a2, b):
        want = [order_as(u, x["id"]) for x in u.orders()]
        check(want, "%s has no orders" % u.username)
        for limit in (1, 2, 3, 200):
            eq(list_pages(u, limit), want, "%s's list in pages of %d against GET /order/<id>/"
               % (u.username, limit))
        for o in want:
            eq([l["product"] for l in o["lines"]], sorted(l["product"] for l in o["lines"]),
               "order %d lines by ascending product" % o["id"])
            eq(o["user"], u.id, "order %d user" % o["id"])
    eq([[l["product"] for l in o["lines"]] for o in a2.orders()], [[ps[0], ps[2], ps[4]]] * 4,
       "a2's orders' products")
    # an administrator's list: everyone's orders, each with its own lines
    mine = {o["id"] for u in (a1, a2, b) for o in u.orders()}
    page = assert_json(ad.get("/order/?limit=200"), 200, "admin GET /order/?limit=200")
    got = [o for o in page["items"] if o["id"] in mine]
    eq(len(got), len(mine), "the admin's newest 200 orders hold these users' orders")
    for o in got:
        eq(o, order_as(ad, o["id"]), "admin list entry of order %d" % o["id"])
    small = assert_json(ad.get("/order/?limit=3&after=%d" % max(mine)), 200, "admin page after=")
    for o in small["items"]:
        eq(o, order_as(ad, o["id"]), "admin page entry of order %d" % o["id"])


@test
def order_user_is_the_owner_id():
    u = new_user("ow")
    pid = product()
    for o in (u.order(pid), u.checkout([(pid, 1)], "cod"), u.checkout([(pid, 1)], "balance")):
        eq(o["user"], u.id, "order.user of order %d" % o["id"])
        eq(order_as(u, o["id"])["user"], u.id, "GET order.user")
        eq(db("SELECT user_id FROM orders WHERE id = %d" % o["id"])[0][0], str(u.id), "orders.user_id")


@test
def admin_only_calls_are_403_for_users_and_401_anonymous():
    u = new_user("na")
    pid = product()
    o = u.order(pid)
    stock = get_product(pid)["stock"]
    calls = [
        ("POST /product/", "/product/", {"name": "nope", "price": 1, "stock": 1}),
        ("restock", "/product/%d/restock/" % pid, {"quantity": 5}),
        ("POST /goods/", "/goods/", {"name": "nope"}),
        ("credit self", "/account/%s/credit/" % u.username, {"amount": 100}),
        ("credit admin", "/account/%s/credit/" % admin().username, {"amount": 100}),
        ("ship own order", "/order/%d/ship/" % o["id"], None),
    ]
    n_products = int(db("SELECT COUNT(*) FROM products")[0][0])

    def one(c):
        what, path, body = c
        r = u.post_json(path, body) if body is not None else u.post(path)
        assert_problem(r, 403, FORBIDDEN, what="user %s" % what)
        r = anon("POST", path, obj=body)
        assert_problem(r, 401, what="anonymous %s" % what)
    run_cases(calls, one)
    eq(get_product(pid)["stock"], stock, "stock after refused restocks")
    eq(u.balance(), 0, "balance after refused credits")
    eq(order_as(u, o["id"])["status"], "placed", "order after refused ship")
    check(int(db("SELECT COUNT(*) FROM products")[0][0]) <= n_products + 1,
          "products were created by refused calls")
    check(not db("SELECT id FROM products WHERE name = 'nope'"), "a product 'nope' was created")


# ---------------------------------------------------------------------------
# money


@test
def admin_credit_answers_account_and_validates():
    u = new_user("cr")
    ad = admin()
    a = ad.must_credit(u.username, 12345)
    check_account(a, u, "credit answer")
    eq(a["balance"], 12345, "credit answer balance")
    eq(u.balance(), 12345, "balance after credit")
    for amount in (0, -5, 10 ** 12 + 1, "1.5", "x"):
        assert_problem(ad.credit(u.username, amount), 422, INVALID, "amount",
                       what="credit amount %r" % (amount,))
    assert_problem(ad.credit(uname("ghost"), 100), 404, NOT_FOUND, what="credit an unknown user")
    eq(u.balance(), 12345, "balance after refused credits")
    led = u.ledger()["items"]
    eq(len(led), 1, "ledger entries after one credit")
    e = led[0]
    eq((e.get("kind"), e.get("amount"), e.get("order"), e.get("counterparty")),
       ("credit", 12345, None, None), "credit ledger entry")
    check(is_int(e.get("id")) and isinstance(e.get("created_at"), str), "ledger entry %r" % e)


@test
def pay_then_abort_refunds_exactly_once():
    u = new_user("pay", credit=50000)
    ad = admin()
    pid = product()
    o = u.checkout([(pid, 3)], "balance")
    total = o["total_amount"]
    eq(total, 3 * 700 + FREIGHT, "total_amount")
    eq(u.balance(), 50000, "balance after checkout before pay")
    p = assert_json(u.pay(o["id"]), 200, "pay")
    eq((p.get("id"), p.get("status")), (o["id"], "paid"), "pay answer (id, status)")
    eq(u.balance(), 50000 - total, "balance after pay")
    top = u.ledger(limit=1)["items"][0]
    eq((top["kind"], top["amount"], top["order"]), ("payment", -total, o["id"]), "ledger payment entry")
    stock = get_product(pid)["stock"]
    a = assert_json(u.abort(o["id"]), 200, "abort the paid order")
    eq(a.get("status"), "aborted", "abort answer status")
    eq(u.balance(), 50000, "balance after refund")
    top = u.ledger(limit=1)["items"][0]
    eq((top["kind"], top["amount"], top["order"]), ("refund", total, o["id"]), "ledger refund entry")
    eq(get_product(pid)["stock"], stock + 3, "stock after abort")
    for who in (u, ad):
        assert_problem(who.abort(o["id"]), 409, ORDER_STATE, what="second abort by %s" % who.username)
    eq(u.balance(), 50000, "balance after second aborts")
    eq(get_product(pid)["stock"], stock + 3, "stock after second aborts")
    eq(db_order_entries(o["id"]), {"payment": [-total], "refund": [total]}, "ledger rows of the order")
    assert_problem(u.pay(o["id"]), 409, ORDER_STATE, what="pay an aborted order")
    # an unpaid balance order aborts without any refund
    o2 = u.checkout([(pid, 1)], "balance")
    assert_status(u.abort(o2["id"]), 200, "abort an unpaid balance order")
    eq(u.balance(), 50000, "balance after aborting an unpaid order")
    eq(db_order_entries(o2["id"]), {}, "ledger rows of an unpaid aborted order")


@test
def pay_with_short_funds_is_409_with_shortfall_and_changes_nothing():
    u = new_user("sf", credit=1000)
    ad = admin()
    pid = product()
    o = u.checkout([(pid, 5)], "balance")
    total = o["total_amount"]
    n_led = len(u.ledger()["items"])
    p = assert_problem(u.pay(o["id"]), 409, FUNDS, what="pay %d with 1000" % total)
    eq((p.get("balance"), p.get("shortfall")), (1000, total - 1000), "problem balance, shortfall")
    eq(order_as(u, o["id"])["status"], "placed", "order status after refused pay")
    eq(u.balance(), 1000, "balance after refused pay")
    eq(len(u.ledger()["items"]), n_led, "ledger entries after refused pay")
    eq(db_order_entries(o["id"]), {}, "ledger rows of the order")
    ad.must_credit(u.username, total - 1000)
    eq(assert_json(u.pay(o["id"]), 200, "pay with exactly enough").get("status"), "paid", "status")
    eq(u.balance(), 0, "balance after paying with all of it")


@test
def pay_of_cod_order_or_twice_is_409_order_state():
    u = new_user("pc", credit=100000)
    pid = product()
    cod = u.order(pid)
    p = assert_problem(u.pay(cod["id"]), 409, ORDER_STATE, what="pay a cod order")
    eq(p.get("order"), cod["id"], "problem member order")
    cod2 = u.checkout([(pid, 1)], "cod")
    assert_problem(u.pay(cod2["id"]), 409, ORDER_STATE, what="pay a cod checkout")
    eq(u.balance(), 100000, "balance after refused cod pays")
    o = u.checkout([(pid, 1)], "balance")
    assert_status(u.pay(o["id"]), 200, "first pay")
    p = assert_problem(u.pay(o["id"]), 409, ORDER_STATE, what="second pay")
    eq(p.get("state"), "paid", "problem member state")
    eq(u.balance(), 100000 - o["total_amount"], "balance after paying once and refused again")
    eq(db_order_entries(o["id"]), {"payment": [-o["total_amount"]]}, "ledger rows of the order")
    assert_problem(u.pay(BIG_ID), 404, NOT_FOUND, what="pay a missing order")


@test
def admin_paying_a_users_order_is_404_and_moves_no_money():
    """Pay is the owner's alone: an administrator, who may read, abort and
    ship any order, may not pay one from its owner's balance."""
    u = new_user("ap", credit=100000)
    ad = admin()
    pid = product()
    o = u.checkout([(pid, 2)], "balance")
    admin_balance = ad.balance()
    missing = assert_problem(ad.pay(BIG_ID), 404, NOT_FOUND, what="admin pays a missing order")
    for what, r in (("POST", ad.pay(o["id"])),
                    ("POST no slash", ad.post("/order/%d/pay" % o["id"])),
                    ("with Idempotency-Key", ad.pay(o["id"], key=T.unique_name("adpay")))):
        p = assert_problem(r, 404, NOT_FOUND, what="admin pays the user's order (%s)" % what)
        eq(p.get("title"), missing.get("title"), "title of 404 for someone else's vs a missing order")
    eq(order_as(u, o["id"])["status"], "placed", "the user's order after the admin's pays")
    eq(u.balance(), 100000, "the user's balance after the admin's pays")
    eq(ad.balance(), admin_balance, "the admin's balance after its pays")
    eq(db_order_entries(o["id"]), {}, "ledger rows of the order after the admin's pays")
    # the owner still pays it, once
    eq(assert_json(u.pay(o["id"]), 200, "the owner pays").get("status"), "paid", "status")
    eq(u.balance(), 100000 - o["total_amount"], "balance after the owner's pay")
    # an administrator pays its own order like anyone else (reaches the funds check)
    mine = ad.checkout([(pid, 1)], "balance")
    r = ad.pay(mine["id"])
    check(r.status == 200 or (r.status == 409 and (r.json or {}).get("type") == FUNDS),
          "the admin pays its own order: %s" % r.describe())
    assert_status(ad.abort(mine["id"]), 200, "the admin aborts its own order")


@test
def ship_moves_cod_placed_and_paid_to_shipped_and_blocks_abort_and_pay():
    u = new_user("sh", credit=100000)
    ad = admin()
    pid = product()
    cod = u.order(pid)
    s = assert_json(ad.ship(cod["id"]), 200, "ship a placed cod order")
    eq(s.get("status"), "shipped", "ship answer status")
    o = u.checkout([(pid, 2)], "balance")
    assert_problem(ad.ship(o["id"]), 409, ORDER_STATE, what="ship an unpaid balance order")
    assert_status(u.pay(o["id"]), 200, "pay")
    bal = u.balance()
    eq(assert_json(ad.ship(o["id"]), 200, "ship a paid order").get("status"), "shipped", "status")
    stock = get_product(pid)["stock"]
    for oid in (cod["id"], o["id"]):
        eq(order_as(u, oid)["status"], "shipped", "order %d status" % oid)
        p = assert_problem(u.abort(oid), 409, ORDER_STATE, what="abort shipped order %d" % oid)
        eq(p.get("state"), "shipped", "problem state")
        assert_problem(ad.abort(oid), 409, ORDER_STATE, what="admin aborts shipped order %d" % oid)
        assert_problem(u.pay(oid), 409, ORDER_STATE, what="pay shipped order %d" % oid)
        assert_problem(ad.ship(oid), 409, ORDER_STATE, what="ship order %d twice" % oid)
    eq(u.balance(), bal, "balance after refused aborts of shipped orders (no refund)")
    eq(get_product(pid)["stock"], stock, "stock after refused aborts of shipped orders")
    eq(db_order_entries(o["id"]), {"payment": [-o["total_amount"]]}, "ledger rows of the shipped order")
    ab = u.order(pid)
    assert_status(u.abort(ab["id"]), 200, "abort")
    assert_problem(ad.ship(ab["id"]), 409, ORDER_STATE, what="ship an aborted order")
    assert_problem(ad.ship(BIG_ID), 404, NOT_FOUND, what="ship a missing order")


@test
def transfer_moves_money_between_two_accounts():
    a, b = new_user("ta", credit=10000), new_user("tb")
    r = a.transfer(b.username, 2500)
    j = assert_json(r, 200, "transfer 2500")
    check(isinstance(j.get("from"), dict), "transfer answer 'from' %r is not an account" % j.get("from"))
    check_account(j["from"], a, "transfer answer from")
    eq((j["from"]["balance"], j.get("to"), j.get("amount")), (7500, b.username, 2500),
       "transfer answer (from.balance, to, amount)")
    eq((a.balance(), b.balance()), (7500, 2500), "balances after transfer")
    ea, eb = a.ledger(limit=1)["items"][0], b.ledger(limit=1)["items"][0]
    eq((ea["kind"], ea["amount"], ea["counterparty"], ea["order"]),
       ("transfer_out", -2500, b.username, None), "sender's ledger entry")
    eq((eb["kind"], eb["amount"], eb["counterparty"], eb["order"]),
       ("transfer_in", 2500, a.username, None), "recipient's ledger entry")
    # form encoding and a decimal string amount
    assert_json(b.post_form("/transfer/", {"to": a.username, "amount": "500"}), 200, "form transfer back")
    eq((a.balance(), b.balance()), (8000, 2000), "balances after transfer back")
    # the whole balance may go
    assert_json(b.transfer(a.username, 2000), 200, "transfer everything")
    eq((a.balance(), b.balance()), (10000, 0), "balances after transferring everything")


@test
def transfer_to_self_zero_unknown_or_short_is_refused_and_changes_nothing():
    a, b = new_user("tx", credit=1000), new_user("ty")
    p = assert_problem(a.transfer(a.username, 10), 422, INVALID, "to", what="transfer to oneself")
    assert_problem(a.transfer(a.username.upper(), 10), 422, INVALID, "to",
                   what="transfer to oneself, other case")
    for amount in (0, -1, 10 ** 12 + 1, "1.5", "ten"):
        assert_problem(a.transfer(b.username, amount), 422, INVALID, "amount",
                       what="transfer amount %r" % (amount,))
    assert_problem(a.post_json("/transfer/", {"amount": 5}), 422, INVALID, "to", what="transfer without to")
    assert_problem(a.post_json("/transfer/", {"to": b.username}), 422, INVALID, "amount",
                   what="transfer without amount")
    assert_problem(a.transfer(uname("ghost"), 10), 404, NOT_FOUND, what="transfer to an unknown user")
    p = assert_problem(a.transfer(b.username, 1001), 409, FUNDS, what="transfer 1001 of 1000")
    eq((p.get("balance"), p.get("shortfall")), (1000, 1), "problem balance, shortfall")
    p = assert_problem(b.transfer(a.username, 1), 409, FUNDS, what="transfer from an empty account")
    eq((p.get("balance"), p.get("shortfall")), (0, 1), "problem balance, shortfall (empty)")
    eq((a.balance(), b.balance()), (1000, 0), "balances after refused transfers")
    eq(len(a.ledger()["items"]), 1, "sender ledger entries (only the credit)")
    eq(len(b.ledger()["items"]), 0, "recipient ledger entries")


@test
def ledger_pages_newest_first():
    u = new_user("lg")
    ad = admin()
    for amount in (1, 2, 3, 4, 5):
        ad.must_credit(u.username, amount)
    seen, after, pages = [], None, 0
    while True:
        page = u.ledger(limit=2, after=after)
        items = page.get("items")
        check(isinstance(items, list) and len(items) <= 2, "page %r" % page)
        seen.extend(items)
        pages += 1
        check(pages < 10, "ledger pages never end: %r" % seen)
        after = page.get("next")
        if after is None or not items:
            break
        eq(after, items[-1]["id"], "next = last id of the page")
    eq([e["amount"] for e in seen], [5, 4, 3, 2, 1], "ledger amounts newest first")
    ids = [e["id"] for e in seen]
    eq(ids, sorted(ids, reverse=True), "ledger ids newest first")
    check(all(e["kind"] == "credit" for e in seen), "kinds %r" % [e["kind"] for e in seen])
    first = u.ledger(limit=2)
    eq([e["amount"] for e in first["items"]], [5, 4], "first page")
    eq(first["next"], first["items"][-1]["id"], "first page next")
    for bad in ("limit=0", "limit=201", "limit=x", "after=-1", "after=x"):
        assert_problem(u.get("/account/ledger/?" + bad), 422, INVALID, what="ledger ?" + bad)
    # only one's own movements
    v = new_user("lv")
    eq(v.ledger()["items"], [], "a fresh user's ledger")


# ---------------------------------------------------------------------------
# login CSRF: a foreign page must not sign a browser in


FOREIGN = [("foreign Origin", {"Origin": "http://evil.example"}),
           ("Origin null", {"Origin": "null"}),
           ("look-alike Origin", {"Origin": ORIGIN + ".evil.example"}),
           ("foreign Origin, own Referer", {"Origin": "http://evil.example",
                                            "Referer": ORIGIN + "/signin.html"}),
           ("foreign Referer, no Origin", {"Referer": "http://evil.example/attack.html"})]


def signin_call(path, fields, headers, form=True):
    return wait_429(lambda: anon("POST", path, form=fields if form else None,
                                 obj=None if form else fields, headers=headers))


def no_session_set(r, what):
    ck = set_cookies(r)
    check(not ck.get("orderd_session", ("",))[0], "%s set a session cookie: %r"
          % (what, r.headers.get_all("Set-Cookie")))
    check("token" not in (r.json or {}), "%s gave a token" % what)


@test
def login_and_register_from_another_origin_are_403_and_sign_nobody_in():
    u = new_user("lc")

    def one(case):
        what, headers = case
        for form in (True, False):
            how = "form" if form else "JSON"
            r = signin_call("/auth/login/", {"username": u.username, "password": PASSWORD},
                            headers, form)
            assert_problem(r, 403, CSRF, what="login (%s) with %s" % (how, what))
            no_session_set(r, "login (%s) with %s" % (how, what))
            name = uname("lcr")
            r = signin_call("/auth/register/", {"username": name, "password": PASSWORD}, headers,
                            form)
            assert_problem(r, 403, CSRF, what="register (%s) with %s" % (how, what))
            check(db_user(name) is None, "register (%s) with %s created user %s" % (how, what, name))
    run_cases(FOREIGN, one)


@test
def browser_form_login_from_another_origin_is_refused_like_other_csrf():
    """A plain browser form gets the 303-with-error every refused form gets; still no session."""
    u = new_user("lb")
    h = {"Origin": "http://evil.example", "Accept": T.BROWSER_ACCEPT}
    r = signin_call("/auth/login/", {"username": u.username, "password": PASSWORD, "next": "/"}, h)
    assert_status(r, 303, "browser form login from another origin")
    q = T.query_of(location(r))
    eq((q.get("error"), q.get("status")), (["csrf"], ["403"]), "303 error of the refused login")
    no_session_set(r, "browser form login from another origin")
    name = uname("lbr")
    r = signin_call("/auth/register/", {"username": name, "password": PASSWORD, "next": "/"}, h)
    assert_status(r, 303, "browser form register from another origin")
    eq(T.query_of(location(r)).get("error"), ["csrf"], "303 error of the refused register")
    check(db_user(name) is None, "a refused browser register created user %s" % name)


@test
def login_and_register_from_this_site_or_a_script_still_work():
    cases = [("same Origin", {"Origin": ORIGIN}),
             ("same Referer", {"Referer": ORIGIN + "/signin.html"}),
             ("no Origin, no Referer (a script)", {})]

    def one(case):
        what, headers = case
        name = uname("ls")
        r = signin_call("/auth/register/", {"username": name, "password": PASSWORD}, headers)
        assert_json(r, 201, "register with %s" % what)
        r = signin_call("/auth/login/", {"username": name, "password": PASSWORD}, headers)
        j = assert_json(r, 200, "login with %s" % what)
        eq(set_cookies(r).get("orderd_session", ("",))[0], j.get("token"), "session cookie with %s" % what)
    run_cases(cases, one)


# ---------------------------------------------------------------------------
# orderd admin NAME on an existing account


def token_of(p, what):
    lines = p.stdout.strip().splitlines()
    check(p.returncode == 0 and lines, "%s exited %d: %s %s" % (what, p.returncode, p.stdout[-400:],
                                                                 p.stderr[-400:]))
    tok = lines[-1].strip()
    check(TOKEN_RE.fullmatch(tok), "%s: last line %r is not a token" % (what, tok))
    return tok


def bearer_account(tok):
    return T.request("GET", "/account/", None, {"Authorization": "Bearer " + tok})


@test
def admin_on_an_existing_user_is_refused_without_promote():
    """Whoever registered the name first must not become an administrator."""
    u = new_user("squat")
    assert_json(bearer_account(u.token), 200, "the user's own token before")
    p = orderd_admin(u.username)
    check(p.returncode != 0, "orderd admin %s on an existing user exited 0: %s" % (u.username, p.stdout[-300:]))
    check("--promote" in p.stderr, "the refusal does not name --promote: %r" % p.stderr[-300:])
    check(not TOKEN_RE.fullmatch((p.stdout.strip().splitlines() or [""])[-1]),
          "the refused orderd admin printed a token: %r" % p.stdout[-300:])
    eq(db_user(u.username)[1], "user", "role after the refused orderd admin")
    eq(assert_json(bearer_account(u.token), 200, "the user's token after")["role"], "user",
       "role seen with the user's token")


def check_promoted(u, p, what):
    tok = token_of(p, what)
    eq(db_user(u.username)[1], "admin", "role after %s" % what)
    # at once: no wait, and the session cache (filled above) does not keep them
    assert_problem(bearer_account(u.token), 401, UNAUTHORIZED,
                   what="the user's bearer token right after %s" % what)
    r = T.request("GET", "/account/", None, u.cookie_hdr(origin=None))
    assert_problem(r, 401, UNAUTHORIZED, what="the user's cookie session right after %s" % what)
    rows = db("SELECT COUNT(*) FROM sessions WHERE user_id = %d AND revoked_at IS NULL" % u.id)
    eq(int(rows[0][0]), 1, "live sessions of user %d after %s (the new token's only)" % (u.id, what))
    eq(assert_json(bearer_account(tok), 200, "the new token")["role"], "admin", "role with the new token")
    # the password stays: signing in again gives an admin session
    j = assert_json(login(u.username), 200, "login after %s" % what)
    eq(j["user"]["role"], "admin", "role at the next login")


@test
def admin_promote_makes_the_user_admin_and_revokes_its_sessions_at_once():
    u = new_user("promo")
    for _ in range(3):   # cached in the pool's shared session cache
        assert_json(bearer_account(u.token), 200, "the user's token before")
        assert_json(T.request("GET", "/account/", None, u.cookie_hdr(origin=None)), 200, "cookie before")
    pidfile = os.environ.get("ORDERD_PIDFILE")
    check(pidfile, "ORDERD_PIDFILE is not set (the pool's pid file)")
    t0 = time.monotonic()
    p = orderd_admin("--promote", "--pidfile", pidfile, u.username)
    took = time.monotonic() - t0
    check_promoted(u, p, "orderd admin --promote --pidfile")
    log("orderd admin --promote --pidfile took %.2f s: %s" % (took, p.stdout.strip().splitlines()[1]))
    # The master answers unless it runs as another user than a root caller
    # (then orderd admin waits out the cache instead).
    try:
        master_uid = os.stat("/proc/%s" % open(pidfile).read().split()[0]).st_uid
    except (OSError, IndexError):
        master_uid = None
    if master_uid in (0, os.geteuid()):
        check("forgot" in p.stdout, "the pool did not confirm it forgot its sessions: %r %r"
              % (p.stdout[-300:], p.stderr[-300:]))


@test
def admin_promote_without_a_pidfile_waits_out_the_session_cache():
    u = new_user("promn")
    for _ in range(3):
        assert_json(bearer_account(u.token), 200, "the user's token before")
    p = orderd_admin(u.username, "--promote")
    check_promoted(u, p, "orderd admin NAME --promote (no pid file)")


@test
def admin_on_an_existing_admin_resets_and_is_repeatable():
    """./stack test and ./stack suite run `admin stackadmin` on an admin that exists."""
    name = uname("adm")
    t1 = token_of(orderd_admin(name), "orderd admin %s (new)" % name)
    t2 = token_of(orderd_admin(name), "orderd admin %s (again)" % name)
    check(t1 != t2, "two runs gave the same token")
    for t in (t1, t2):
        a = assert_json(bearer_account(t), 200, "an admin token of %s" % name)
        eq((a["username"], a["role"]), (name, "admin"), "account of the admin token")


@test
def audit_is_clean_after_the_auth_suite():
    T.assert_audit_clean()


@test
def login_is_rate_limited_429_and_recovers():
    """Last: it may keep logins from this address refused for a few seconds."""
    u = new_user("rl")
    results = []
    lock = threading.Lock()

    def hammer(n):
        for _ in range(n):
            try:
                r = login(u.username, "wrong password!", retry=False)
            except T.ConnError as e:
                with lock:
                    results.append(("conn", str(e)))
                continue
            with lock:
                results.append((r.status, r))
    ts = [threading.Thread(target=hammer, args=(10,), daemon=True) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    codes = sorted({str(s) for s, _ in results})
    check(all(s in (401, 429) for s, _ in results), "login hammer answers: %s" % codes)
    limited = [r for s, r in results if s == 429]
    check(limited, "40 fast wrong logins from one address: no 429 (answers %s)" % codes)
    assert_problem(limited[0], 429, RATE_LIMITED, what="rate limited login")
    log("login hammer: %d x 401, %d x 429" % (len(results) - len(limited), len(limited)))
    deadline = time.monotonic() + 20
    while True:
        r = login(u.username, retry=False)
        if r.status == 200:
            break
        check(r.status == 429, "login after the hammer: %s" % r.describe())
        check(time.monotonic() < deadline, "logins still refused 20 s after the hammer: %s" % r.describe())
        time.sleep(1)


if __name__ == "__main__":
    run()
