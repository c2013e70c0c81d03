#!/usr/bin/env python3
"""The pages without JavaScript: the cart in its cookie (orderd_cart, /cart/)
checked out as one order, order lines that name their product, and money
fields written as a person writes them (amount_decimal, price_decimal).

Runs against the stack in ORDERD_URL (nginx + the pool); see orderd_test."""

import html
import re
import urllib.parse

import orderd_test as T
from orderd_test import (BROWSER_ACCEPT, assert_json, assert_problem, check, eq, location,
                         query_of, run, test)
import accounts as A

CART = "orderd_cart"
INVALID = "/problems/invalid-field"


def esc(s):
    """s escaped as fcgi/views/html.c escapes text."""
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def text(r):
    """r's body; an SSI page must have no directive that failed."""
    t = r.body.decode("utf-8", "replace")
    check("error occurred while processing the directive" not in t,
          "%s %s: an SSI directive failed" % (r.method, r.path))
    return t


def first(loc):
    """A redirect's query as {name: first value}."""
    return {k: v[0] for k, v in query_of(loc).items()}


def cart_of(r):
    """The cart cookie r sets: its value ("" when it removes it), or None."""
    c = A.set_cookies(r).get(CART)
    if c is None:
        return None
    attrs = A.cookie_attrs(c[1])
    check(attrs.get("path") == "/" and attrs.get("samesite") == "Strict",
          "%s cookie attributes %r" % (CART, c[1]))
    check("httponly" not in attrs, "%s must be readable by app.js: %r" % (CART, c[1]))
    if attrs.get("max-age") == "0":
        return ""
    return c[0]


def anon_cart(method, path, cart=None, fields=None, browser=False, origin=A.ORIGIN):
    """A request of a browser that is not signed in, carrying cart."""
    h = {"Authorization": None}
    if cart is not None:
        h["Cookie"] = "%s=%s" % (CART, cart)
    if origin is not None:
        h["Origin"] = origin
    if browser:
        h["Accept"] = BROWSER_ACCEPT
    body = urllib.parse.urlencode(fields).encode() if fields is not None else None
    return T.request(method, path, body, h, ctype=T.FORM_CT if fields is not None else None)


def user_cart(u, method, path, cart=None, fields=None, browser=False, csrf=True):
    """The same as u's browser: session cookie, CSRF token in the form."""
    extra = {}
    if browser:
        extra["Accept"] = BROWSER_ACCEPT
    h = u.cookie_hdr(extra=extra)
    if cart is not None:
        h["Cookie"] += "; %s=%s" % (CART, cart)
    if fields is not None and csrf:
        fields = dict(fields, csrf_token=u.csrf)
    body = urllib.parse.urlencode(fields).encode() if fields is not None else None
    return T.request(method, path, body, h, ctype=T.FORM_CT if fields is not None else None)


def hostile_product(price=1290, stock=50):
    """A product whose name needs escaping."""
    name = T.unique_name("<b>Mug & \"cup\" 'x'</b>")
    return A.admin().make_product(stock=stock, price=price, name=name)


def new_admin():
    """A signed-in administrator with a browser session (cookie and CSRF token)."""
    u = A.new_user("adm")
    p = A.orderd_admin(u.username, "--promote")
    check(p.returncode == 0, "orderd admin --promote: %s %s" % (p.stdout, p.stderr))
    return A.sign_in(u.username, uid=u.id)


# ---------------------------------------------------------------------------
# the cart cookie


@test
def cart_post_adds_sets_and_removes_lines_in_the_cookie():
    p1, p2 = hostile_product(), hostile_product()
    r = anon_cart("POST", "/cart/", fields={"product": p1["id"], "quantity": 2})
    j = assert_json(r, 200, "POST /cart/")
    eq(j, {"items": [{"product": p1["id"], "quantity": 2}]}, "cart after one add")
    c = cart_of(r)
    eq(c, "%d:2" % p1["id"], "cookie after one add")
    r = anon_cart("POST", "/cart/", c, {"product": p2["id"]})
    c = cart_of(r)
    eq(c, "%d:2-%d:1" % (p1["id"], p2["id"]), "cookie after a second product")
    r = anon_cart("POST", "/cart/", c, {"product": p1["id"], "quantity": 3})
    c = cart_of(r)
    eq(c, "%d:5-%d:1" % (p1["id"], p2["id"]), "adding the same product adds up")
    r = anon_cart("POST", "/cart/", c, {"product": p1["id"], "quantity": 9999})
    eq(cart_of(r), "%d:10000-%d:1" % (p1["id"], p2["id"]), "a line stops at 10000")
    r = anon_cart("POST", "/cart/%d/" % p2["id"], c, {"quantity": 7})
    c = cart_of(r)
    eq(c, "%d:5-%d:7" % (p1["id"], p2["id"]), "set the quantity")
    r = anon_cart("POST", "/cart/%d/remove/" % p1["id"], c, {})
    c = cart_of(r)
    eq(c, "%d:7" % p2["id"], "remove a line")
    r = anon_cart("POST", "/cart/%d/remove/" % p2["id"], c, {})
    eq(cart_of(r), "", "removing the last line removes the cookie")
    eq(assert_json(anon_cart("GET", "/cart/", c), 200, "GET /cart/"),
       {"items": [{"product": p2["id"], "quantity": 7}]}, "GET /cart/ reads the cookie")


@test
def cart_form_post_answers_303_back_with_the_outcome():
    # (The outcome takes the name from the product's JSON, as the other
    # outcomes do: a name with '"' or '\\' would show its JSON escapes.)
    p = A.admin().make_product(stock=5, price=100, name=T.unique_name("<b>Mug & co</b>"))
    r = anon_cart("POST", "/cart/", fields={"product": p["id"], "quantity": 1, "next": "/"},
                  browser=True)
    eq(r.status, 303, "browser POST /cart/ status")
    q = first(location(r))
    eq((q.get("ok"), q.get("id")), ("cart-added", str(p["id"])), "303 outcome")
    check(cart_of(r) == "%d:1" % p["id"], "303 sets the cookie: %r" % cart_of(r))
    page = T.get(location(r), headers={"Accept": BROWSER_ACCEPT, "Authorization": None})
    body = text(page)
    check(html.escape(p["name"], quote=False) in body,
          "the shop's outcome names the product added (%r)" % p["name"])
    check("is in your cart" in body, "the shop says the product is in the cart")


@test
def cart_refuses_bad_input_with_problem_json():
    p = hostile_product()
    ok = "%d:1" % p["id"]
    cases = [
        ("quantity 0", "/cart/", {"product": p["id"], "quantity": 0}, 422, "quantity"),
        ("quantity 10001", "/cart/", {"product": p["id"], "quantity": 10001}, 422, "quantity"),
        ("no product", "/cart/", {"quantity": 1}, 422, "product"),
        ("unknown field", "/cart/", {"product": p["id"], "price": 1}, 422, "price"),
        ("quantity 1.5", "/cart/", {"product": p["id"], "quantity": "1.5"}, 422, "quantity"),
        ("set quantity 0", "/cart/%d/" % p["id"], {"quantity": 0}, 422, "quantity"),
        ("set without quantity", "/cart/%d/" % p["id"], {}, 422, "quantity"),
    ]
    for what, path, fields, status, field in cases:
        assert_problem(anon_cart("POST", path, ok, fields), status, INVALID, field, what)
    assert_problem(anon_cart("POST", "/cart/", ok, {"product": 999999999}), 404,
                   "/problems/not-found", None, "unknown product")
    assert_problem(anon_cart("POST", "/cart/%d/" % (p["id"] + 999999), ok, {"quantity": 1}), 404,
                   "/problems/not-found", None, "set a product not in the cart")
    assert_problem(anon_cart("GET", "/cart/?format=xml", ok), 422, INVALID, "format", "format")
    assert_problem(anon_cart("POST", "/cart/", ok, {"product": p["id"]},
                             origin="http://evil.example"), 403, "/problems/csrf", None,
                   "another site filling the cart")
    u = A.new_user("cart")
    assert_problem(user_cart(u, "POST", "/cart/", ok, {"product": p["id"]}, csrf=False), 403,
                   "/problems/csrf", None, "signed in, no CSRF token")
    assert_json(user_cart(u, "POST", "/cart/", ok, {"product": p["id"]}), 200,
                "signed in with the CSRF token")
    full = "-".join("%d:1" % (10 ** 15 + i) for i in range(50))
    assert_problem(anon_cart("POST", "/cart/", full, {"product": p["id"]}), 422, INVALID,
                   "product", "a 51st product")


@test
def cart_malformed_cookie_is_an_empty_cart():
    for bad in ["3", "3:0", "03:1", "3:1-3:2", "3:10001", "3:1-", "3:1,4:1", "%22x%22",
                "9223372036854775808:1", "-".join("%d:1" % (i + 1) for i in range(51))]:
        j = assert_json(anon_cart("GET", "/cart/", bad), 200, "GET /cart/ with %r" % bad)
        eq(j, {"items": []}, "cart of cookie %r" % bad)


@test
def cart_fragment_lists_names_prices_quantities_escaped():
    p1, p2 = hostile_product(price=1250), hostile_product(price=99)
    c = "%d:2-%d:3" % (p1["id"], p2["id"])
    r = anon_cart("GET", "/cart/?format=html&next=/cart.html", c)
    eq(r.status, 200, "GET /cart/?format=html")
    body = text(r)
    check("<b>" not in body, "a product name is not escaped in the cart fragment")
    for p in (p1, p2):
        check(esc(p["name"]) in body, "the fragment lacks the escaped name %r" % p["name"])
    check("25.00" in body and "2.97" in body and "27.97" in body and "37.97" in body,
          "amounts 25.00, 2.97, items 27.97 and total 37.97 (freight 10.00) in the fragment")
    inputs = dict(re.findall(r'form="checkout" name="(items\[\d+\]\[\w+\])" value="(\d+)"', body))
    eq(inputs, {"items[0][product]": str(p1["id"]), "items[0][quantity]": "2",
                "items[1][product]": str(p2["id"]), "items[1][quantity]": "3"},
       "the checkout form's hidden lines")
    page = anon_cart("GET", "/cart.html", c)
    check(esc(p1["name"]) in text(page) and 'name="items[1][quantity]"' in text(page),
          "cart.html (SSI) does not include the cart's lines")
    empty = text(anon_cart("GET", "/cart/?format=html", None))
    check("Your cart is empty" in empty, "the empty cart's sentence: %r" % empty[:200])


@test
def cart_checkout_without_js_is_one_order_and_empties_the_cart():
    u = A.new_user("nojs", credit=1000000)
    ps = [hostile_product(price=100 * (i + 1)) for i in range(3)]
    c = None
    for i, p in enumerate(ps):
        r = user_cart(u, "POST", "/cart/", c, {"product": p["id"], "quantity": i + 1,
                                                "next": "/"}, browser=True)
        eq(r.status, 303, "add %d to the cart" % p["id"])
        c = cart_of(r)
    page = text(user_cart(u, "GET", "/cart.html", c))
    fields = re.findall(r'form="checkout" name="(items\[\d+\]\[\w+\])" value="(\d+)"', page)
    eq(len(fields), 6, "hidden item fields of the cart page")
    body = dict(fields, pay_method="cod", next="/cart.html", idempotency_key=A.new_key("co"))
    r = user_cart(u, "POST", "/checkout/", c, body, browser=True)
    eq(r.status, 303, "checkout status: %s" % r.describe())
    q = first(location(r))
    eq(q.get("ok"), "order-created", "checkout outcome")
    eq(cart_of(r), "", "a checkout empties the cart cookie")
    o = assert_json(u.get("/order/%s/" % q["id"]), 200, "the order")
    eq(sorted((l["product"], l["quantity"]) for l in o["lines"]),
       sorted((p["id"], i + 1) for i, p in enumerate(ps)), "one order with the 3 lines")
    r = user_cart(u, "POST", "/checkout/", c, dict(body, idempotency_key=A.new_key("co")))
    check(r.status == 201 and cart_of(r) == "", "a JSON checkout with the cart cookie empties "
          "it too: %s %r" % (r.status, cart_of(r)))
    r = u.post_json("/checkout/", {"items": [{"product": ps[0]["id"]}], "pay_method": "cod"})
    check(r.status == 201 and cart_of(r) is None, "a bearer checkout without the cookie sets "
          "no cookie: %s %r" % (r.status, cart_of(r)))


@test
def order_lines_in_html_name_their_product():
    u = A.new_user("names", credit=100000)
    p1, p2 = hostile_product(), hostile_product()
    u.checkout([(p1["id"], 1), (p2["id"], 2)], "cod")
    body = text(u.get("/order/?format=html"))
    check("<b>" not in body, "a product name is not escaped in the orders fragment")
    for p in (p1, p2):
        check(esc(p["name"]) in body, "order line does not name %r" % p["name"])
    check("Product No." not in body, "an order line says 'Product No.' for a product that exists")
    page = text(T.request("GET", "/orders.html", None, u.cookie_hdr()))
    check(esc(p1["name"]) in page, "orders.html (SSI) lacks the product's name")


# ---------------------------------------------------------------------------
# money as a person writes it


@test
def money_decimal_fields_become_exact_cents():
    a = A.new_user("payer", credit=100000)
    b = A.new_user("payee")
    for txt, cents in [("12.5", 1250), ("12.50", 1250), ("12", 1200), ("0.01", 1),
                        (" 3.07 ", 307)]:
        before = a.balance()
        j = assert_json(a.post_form("/transfer/", {"to": b.username, "amount_decimal": txt}),
                        200, "transfer %r" % txt)
        eq(j.get("amount"), cents, "transfer of %r in cents" % txt)
        eq(a.balance(), before - cents, "balance after a transfer of %r" % txt)
    adm = A.admin()
    j = assert_json(adm.post_form("/account/%s/credit/" % b.username, {"amount_decimal": "7.05"}),
                    200, "credit 7.05")
    eq(j["balance"], 1250 + 1250 + 1200 + 1 + 307 + 705, "credit of 7.05 in cents")
    for txt, cents in [("12.5", 1250), ("0", 0), ("19.99", 1999)]:
        p = assert_json(adm.post_form("/product/", {"name": T.unique_name("m"),
                                                     "price_decimal": txt, "stock": 1}),
                        201, "create product at %r" % txt)
        eq(p["price"], cents, "price of %r" % txt)
    j = assert_json(a.post_json("/transfer/", {"to": b.username, "amount_decimal": "1.10"}),
                    200, "JSON amount_decimal")
    eq(j["amount"], 110, "JSON amount_decimal in cents")


@test
def money_decimal_refuses_ambiguous_input_naming_the_field():
    a = A.new_user("amb", credit=100000)
    b = A.new_user("amb2")
    before = a.balance()
    for txt in ["12.505", "12.500", "1,2", "1,20", "-1", "1e3", "", " ", "12.", ".5", "+1",
                 "0", "0.00", "0x10", "1 000", "NaN", "10000000000.01", "99999999999999999999",
                 "１２"]:
        assert_problem(a.post_form("/transfer/", {"to": b.username, "amount_decimal": txt}),
                       422, INVALID, "amount_decimal", "transfer of %r" % txt)
    assert_problem(a.post_json("/transfer/", {"to": b.username, "amount_decimal": 12.5}), 422,
                   INVALID, "amount_decimal", "a JSON number for amount_decimal")
    assert_problem(a.post_form("/transfer/", {"to": b.username, "amount": 5,
                                              "amount_decimal": "5"}),
                   422, INVALID, "amount_decimal", "both amount and amount_decimal")
    eq(a.balance(), before, "balance after refused transfers")
    adm = A.admin()
    for txt in ["12.505", "-0.01", "1,5", "1e2"]:
        assert_problem(adm.post_form("/product/", {"name": T.unique_name("m"),
                                                   "price_decimal": txt, "stock": 1}),
                       422, INVALID, "price_decimal", "price %r" % txt)
    assert_problem(adm.post_form("/account/%s/credit/" % b.username, {"amount_decimal": "1,2"}),
                   422, INVALID, "amount_decimal", "credit of 1,2")
    r = a.cookie_request("POST", "/transfer/", fields={
        "to": b.username, "amount_decimal": "12.505", "csrf_token": a.csrf,
        "next": "/account.html"}, extra={"Accept": BROWSER_ACCEPT})
    eq(r.status, 303, "browser transfer of 12.505")
    q = first(location(r))
    eq((q.get("error"), q.get("field")), ("invalid-field", "amount_decimal"), "303 outcome")
    page = text(T.request("GET", location(r), None, a.cookie_hdr()))
    m = re.search(r'id="tr-amount-msg"[^>]*>([^<]*)<', page)
    check(m and "at most two after a point" in m.group(1),
          "account.html shows no sentence next to the amount field: %r" % (m and m.group(0)))


@test
def integer_cents_clients_keep_working():
    a = A.new_user("cents", credit=100000)
    b = A.new_user("cents2")
    j = assert_json(a.transfer(b.username, 1250), 200, "transfer of 1250 cents")
    eq(j["amount"], 1250, "amount=1250 is 1250 cents")
    j = assert_json(a.post_form("/transfer/", {"to": b.username, "amount": "12"}), 200,
                    "form amount=12")
    eq(j["amount"], 12, "a form's amount=12 is 12 cents")
    assert_problem(a.post_form("/transfer/", {"to": b.username, "amount": "12.50"}), 422,
                   INVALID, "amount", "amount=12.50 (cents are integers)")


@test
def admin_credit_confirmation_shows_decimals_and_refuses_ambiguous():
    adm = new_admin()
    b = A.new_user("crd")
    q = urllib.parse.urlencode({"credit": b.username, "amount_decimal": "12.5",
                                "csrf_token": adm.csrf})
    page = text(T.request("GET", "/admin.html?" + q, None, adm.cookie_hdr()))
    check('id="credit-confirm"' in page, "no credit confirmation for 12.5")
    check("<strong>12.50</strong>" in page, "the confirmation does not show 12.50")
    check('name="amount_decimal" value="12.50"' in page, "the confirmation posts 12.50")
    for bad in ["12.505", "1,2", "-1", "1e3"]:
        q = urllib.parse.urlencode({"credit": b.username, "amount_decimal": bad,
                                    "csrf_token": adm.csrf})
        page = text(T.request("GET", "/admin.html?" + q, None, adm.cookie_hdr()))
        check('id="credit-confirm"' not in page, "a credit of %r is confirmed" % bad)
        m = re.search(r'id="cr-amount-msg"[^>]*>([^<]*)<', page)
        check(m and "at most two after a point" in m.group(1),
              "no sentence next to the credit amount for %r: %r" % (bad, m and m.group(0)))
    r = adm.cookie_request("POST", "/account/%s/credit/" % b.username, fields={
        "amount_decimal": "12.50", "csrf_token": adm.csrf, "next": "/admin.html",
        "idempotency_key": A.new_key("cr")}, extra={"Accept": BROWSER_ACCEPT})
    eq(r.status, 303, "confirmed credit")
    eq(b.balance(), 1250, "balance after a credit of 12.50")


if __name__ == "__main__":
    run()
