#!/usr/bin/env python3
"""What the server and its pages send: the security headers on
every kind of answer, errors and redirects included, whoever made it (orderd,
nginx's static files, nginx's own error answers), and the 404 for an unknown
path: the site's page for a browser, problem+json for everyone else.

Runs against the stack in ORDERD_URL (nginx + the pool); see orderd_test."""

import json
import os
import socket
import time

import orderd_test as T
from orderd_test import (BROWSER_ACCEPT, JSON_CT, PROBLEM_CT, Fail, assert_problem, browser_post,
                         check, eq, get, make_product, post_json, request, run, test)
import accounts as A

# At least what the issue asks for; the stack sends more directives.
CSP_MUST = ["default-src 'self'", "frame-ancestors 'none'"]
NOT_FOUND = "/problems/not-found"


def security_issues(r, what):
    """What is wrong with r's security headers (a list, empty when right)."""
    bad = []
    csp = r.headers.get_all("Content-Security-Policy") or []
    if len(csp) != 1:
        bad.append("%s: %d Content-Security-Policy headers %r" % (what, len(csp), csp))
    else:
        for d in CSP_MUST:
            if d not in [x.strip() for x in csp[0].split(";")]:
                bad.append("%s: Content-Security-Policy %r lacks %r" % (what, csp[0], d))
        if "unsafe-inline" in csp[0] or "unsafe-eval" in csp[0]:
            bad.append("%s: Content-Security-Policy allows inline code: %r" % (what, csp[0]))
    xcto = r.headers.get_all("X-Content-Type-Options") or []
    if xcto != ["nosniff"]:
        bad.append("%s: X-Content-Type-Options %r, want exactly ['nosniff']" % (what, xcto))
    rp = r.headers.get_all("Referrer-Policy") or []
    if rp != ["same-origin"]:
        bad.append("%s: Referrer-Policy %r, want exactly ['same-origin']" % (what, rp))
    return bad


def assert_secure(r, what):
    bad = security_issues(r, what)
    check(not bad, "; ".join(bad))


def raw_http(data, timeout=10):
    """Sends raw bytes to nginx; returns (status, headers as a Message-like dict of lists, body)."""
    s = socket.create_connection((T._URL.hostname, T._URL.port or 80), timeout=timeout)
    try:
        s.sendall(data)
        buf = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    finally:
        s.close()
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    return status, lines[1:], body


class RawAnswer:
    """Just enough of a Response for security_issues()."""

    class _H:
        def __init__(self, lines):
            self.lines = lines

        def get_all(self, name):
            out = [ln.split(":", 1)[1].strip() for ln in self.lines
                   if ":" in ln and ln.split(":", 1)[0].strip().lower() == name.lower()]
            return out or None

    def __init__(self, status, lines, body):
        self.status = status
        self.headers = self._H(lines)
        self.body = body


# ---------------------------------------------------------------------------


@test
def every_kind_of_answer_carries_the_security_headers():
    """A page, a static asset, API 200/201/401/404/405/422, a 303 form
    redirect, nginx's 404 for both kinds of client, its 413 and its 400."""
    p = make_product(stock=5)
    big = json.dumps({"name": "x" * (70 * 1024), "price": 1, "stock": 1}).encode()
    cases = [
        ("a page", lambda: get("/", headers={"Accept": BROWSER_ACCEPT}), 200),
        ("a page with SSI forms", lambda: get("/admin.html", headers={"Accept": BROWSER_ACCEPT}), 200),
        ("the stylesheet", lambda: get("/style.css"), 200),
        ("the script", lambda: get("/app.js"), 200),
        ("the 404 page itself", lambda: get("/404.html", headers={"Accept": BROWSER_ACCEPT}), 200),
        ("API 200", lambda: get("/product/%d/" % p["id"]), 200),
        ("API 201", lambda: post_json("/product/", {"name": T.unique_name("h"), "price": 1, "stock": 1}), 201),
        ("303 form redirect", lambda: browser_post("/order/", {"product": p["id"]}), 303),
        ("API 401", lambda: get("/account/", headers={"Authorization": None}), 401),
        ("API 404 problem", lambda: get("/order/abc/def"), 404),
        ("API 405 problem", lambda: request("DELETE", "/product/"), 405),
        ("API 422 problem", lambda: post_json("/product/", {"name": "", "price": 1, "stock": 1}), 422),
        ("nginx 404, API client", lambda: get("/nope-%s" % T.RUN_TAG), 404),
        ("nginx 404, browser", lambda: get("/nope-%s" % T.RUN_TAG, headers={"Accept": BROWSER_ACCEPT}), 404),
        ("nginx 404, missing asset", lambda: get("/nope-%s.css" % T.RUN_TAG), 404),
        ("nginx 404, internal piece", lambda: get("/_header.html"), 404),
        ("nginx 413", lambda: request("POST", "/product/", big, ctype=JSON_CT, fresh=True), 413),
    ]
    bad = []
    for what, fn, status in cases:
        r = fn()
        if r.status != status:
            bad.append("%s: expected HTTP %d, got %s" % (what, status, r.describe()))
        bad += security_issues(r, "%s (HTTP %d)" % (what, r.status))
    # nginx's own 400 for a request it cannot parse.
    st, lines, body = raw_http(b"GET /\x01bad HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    if st != 400:
        bad.append("malformed request: expected HTTP 400, got %d %r" % (st, body[:200]))
    bad += security_issues(RawAnswer(st, lines, body), "nginx 400 (HTTP %d)" % st)
    check(not bad, "%d problems:\n    %s" % (len(bad), "\n    ".join(bad)))


@test
def rate_limited_429_carries_the_security_headers():
    """nginx's 429 (the sign-in rate limit) is an error page of its own."""
    r = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r = A.login("nobody_" + T.RUN_TAG, "wrong password here", retry=False)
        if r.status == 429:
            break
    check(r is not None and r.status == 429, "no 429 from 60 s of sign-ins: %s" % (r and r.describe()))
    assert_problem(r, 429, A.RATE_LIMITED)
    assert_secure(r, "nginx 429")
    # Let the later suites sign in again.
    time.sleep(5)


RATE_SENTENCE = "Too many attempts; try again in a few seconds"


def first_429(path, accept, form=True):
    """Wrong sign-ins (or registrations of a taken name) to path with this
    Accept until nginx's rate limit answers 429; that answer."""
    fields = {"username": "nobody_" + T.RUN_TAG, "password": "wrong password here"}
    headers = {} if accept is None else {"Accept": accept}
    deadline = time.monotonic() + 60
    while True:
        r = A.anon("POST", path, form=fields, headers=headers) if form else \
            A.anon("POST", path, obj=fields, headers=headers)
        if r.status == 429 or time.monotonic() > deadline:
            check(r.status == 429, "no 429 from 60 s of posts to %s (Accept %r): %s"
                  % (path, accept, r.describe()))
            return r


@test
def rate_limited_browser_gets_the_signin_page_not_json():
    """A browser's form post that nginx rate limits (sign-in or registration)
    gets the site's sign-in page, status 429, with its header and navigation,
    the sentence in the page's outcome (role=alert) and the forms to try
    again; not nginx's problem+json."""
    for path in ("/auth/login/", "/auth/register/"):
        r = first_429(path, BROWSER_ACCEPT)
        eq(r.status, 429, "%s status" % path)
        eq(r.media_type(), "text/html", "%s type" % path)
        text = r.body.decode("utf-8", "replace")
        check("<title>Sign in" in text, "%s: not the sign-in page: %r" % (path, text[:300]))
        check('<nav aria-label="Main">' in text and 'href="/cart.html"' in text,
              "%s: the page lacks the site's navigation" % path)
        check('role="alert"><p>%s.</p>' % RATE_SENTENCE in text,
              "%s: the page does not say %r in its outcome" % (path, RATE_SENTENCE))
        check('action="/auth/login/"' in text and 'action="/auth/register/"' in text,
              "%s: the page lacks the forms to try again" % path)
        check("<!--#" not in text, "%s: SSI left unprocessed" % path)
        check(r.header("Retry-After"), "%s: no Retry-After" % path)
        assert_secure(r, "browser 429 on %s" % path)
    time.sleep(5)


@test
def rate_limited_api_client_keeps_problem_json():
    """An API client (Accept JSON, problem+json, */*, none, JSON before
    HTML) keeps nginx's problem+json 429, as it was."""
    for accept in (JSON_CT, PROBLEM_CT, "*/*", None, "application/json, text/html"):
        for path in ("/auth/login/", "/auth/register/"):
            r = first_429(path, accept, form=accept is None)
            what = "%s with Accept %r" % (path, accept)
            assert_problem(r, 429, A.RATE_LIMITED, what=what)
            eq(r.json.get("detail"), "too many sign-in attempts from this address; wait a moment",
               "%s detail" % what)
            eq(r.header("Retry-After"), "2", "%s Retry-After" % what)
            assert_secure(r, "API 429 %s" % what)
    time.sleep(5)


@test
def unknown_path_gives_a_browser_the_site_404_page():
    """A browser (text/html first) gets the site's page: status 404, HTML,
    the site's stylesheet and navigation, a link home; not nginx's bare page."""
    for path in ("/nope-%s" % T.RUN_TAG, "/a/b/c/nope.html", "/nope/"):
        r = get(path, headers={"Accept": BROWSER_ACCEPT})
        eq(r.status, 404, "%s status" % path)
        eq(r.media_type(), "text/html", "%s type" % path)
        text = r.body.decode("utf-8", "replace")
        check("<center>" not in text and "nginx" not in text, "%s: nginx's bare 404 page: %r" % (path, text[:300]))
        check('href="/style.css' in text, "%s: the page lacks the site's stylesheet" % path)
        check('<nav' in text and 'href="/cart.html"' in text, "%s: the page lacks the site's navigation" % path)
        check('href="/"' in text, "%s: the page has no way home" % path)
        check("not found" in text.lower(), "%s: the page does not say the page was not found" % path)


@test
def unknown_path_gives_an_api_client_problem_json():
    """Anything but a browser (JSON, */*, no Accept, text/html refused) gets
    problem+json /problems/not-found."""
    for accept in (JSON_CT, "*/*", None, "application/json, text/html", "text/html;q=0, */*"):
        for path in ("/nope-%s" % T.RUN_TAG, "/a/b/c/nope.html"):
            r = get(path, headers={"Accept": accept})
            assert_problem(r, 404, NOT_FOUND, what="%s with Accept %r" % (path, accept))


@test
def unknown_path_under_the_api_is_problem_json_for_both_kinds_of_client():
    """Under an API prefix the path is orderd's: problem+json 404 whatever
    the Accept (the API's contract), with the security headers."""
    for accept in (JSON_CT, BROWSER_ACCEPT):
        r = get("/order/abc/def", headers={"Accept": accept})
        assert_problem(r, 404, NOT_FOUND, what="/order/abc/def with Accept %r" % accept)
        assert_secure(r, "/order/abc/def with Accept %r" % accept)


@test
def pool_down_503_carries_the_security_headers():
    """nginx's own 503 (@unavailable) when the pool is not there: stop the
    pool, ask, start it again exactly as it was."""
    import faults as F
    master = F.pool_master()
    check(master, "no live pool master in ORDERD_PIDFILE")
    image = F.ProcImage(master)
    workers, _ = F.pool_conf(image)
    os.kill(master, 15)
    try:
        check(F.wait_gone(master, 30), "the pool master %d did not stop within 30 s" % master)
        r = get("/product/", fresh=True)
        eq(r.status, 503, "status with the pool stopped")
        assert_problem(r, 503, "/problems/unavailable")
        assert_secure(r, "nginx 503")
    finally:
        new = F.pool_start(image)
        F.wait_pool(new, workers, seconds=30)
        deadline = time.monotonic() + 30
        while get("/product/?limit=1", fresh=True).status != 200:
            if time.monotonic() > deadline:
                raise Fail("the pool started again does not answer within 30 s")
            time.sleep(0.2)


if __name__ == "__main__":
    run()
