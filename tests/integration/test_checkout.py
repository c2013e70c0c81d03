#!/usr/bin/env python3
"""Multi-item checkout, goods and the catalogue (docs/api.md).

POST /checkout/ in both encodings (JSON with numbers or decimal strings,
form items[N][product]/items[N][quantity] with gaps), repeats merged, lines
sorted by product with the price at the time of purchase, freight and totals;
every validation error is a 422 naming its field; a short line is a 409 naming
the short product with the lowest id and its available stock; an unknown
product is a 404. Every refused checkout is checked to have changed nothing:
the whole products table (id, stock, sales), the whole goods table (id, sales)
and the number of orders, lines and restocks, read in one snapshot before and
after. Then aborts of multi-line orders (every line, once), goods (create, get,
sales), product list pagination, browser form posts (303) and a clean audit.

Other clients may write to the same database at the same time (a shared
development stack). A before/after difference is then examined: any change to
this test's own rows, a new order holding one of its products, or a new order
without lines fails; changes to other rows only are retried a few times and,
if the stack is never quiet, logged (the comparison is exact on a quiet stack,
which is how ./stack test runs the suites)."""

import os
import re
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from orderd_test import (  # noqa: E402
    FREIGHT, JSON_CT, Fail, RawJSON, abort, assert_json, assert_problem, assert_status,
    audit_rows, audit_trouble, browser_post, check, check_order_shape, check_product_shape, db,
    dump_json, eq, get, get_order, get_product, id_list, is_int, location, log, make_product,
    post_form, post_json, post_raw, query_of, run, run_cases, test, unique_name)

BIG_ID = 10 ** 15       # far beyond any id this database will hand out
OUT_OF_STOCK = "/problems/out-of-stock"
INVALID = "/problems/invalid-field"
NOT_FOUND = "/problems/not-found"
ORDER_STATE = "/problems/order-state"


# ---------------------------------------------------------------------------
# helpers: requests


def checkout_json(obj, **kw):
    """POST /checkout/ with a JSON body (obj may hold RawJSON tokens, or be raw bytes)."""
    body = obj if isinstance(obj, bytes) else dump_json(obj)
    return post_raw("/checkout/", body, JSON_CT, **kw)


def checkout_form(pairs, **kw):
    """POST /checkout/ urlencoded; pairs: list of (name, value)."""
    return post_form("/checkout/", pairs, **kw)


def form_items(items, pay_method="cod"):
    """items: [(index, product, quantity or None)] -> form pairs."""
    pairs = []
    for idx, pid, q in items:
        pairs.append(("items[%d][product]" % idx, str(pid)))
        if q is not None:
            pairs.append(("items[%d][quantity]" % idx, str(q)))
    if pay_method is not None:
        pairs.append(("pay_method", pay_method))
    return pairs


def checkout_lines(items, enc):
    """POST /checkout/ of a cod cart [(product, quantity)] in one encoding:
    "json", or "form" (items[N][product], items[N][quantity])."""
    if enc == "json":
        return checkout_json({"items": [{"product": p, "quantity": q} for p, q in items],
                              "pay_method": "cod"})
    return checkout_form(form_items([(i, p, q) for i, (p, q) in enumerate(items)]))


def make_goods(name=None):
    name = name or unique_name("g")
    r = post_json("/goods/", {"name": name})
    g = assert_json(r, 201, "POST /goods/ %r" % name)
    check(isinstance(g, dict) and is_int(g.get("id")), "POST /goods/: no id in %r" % (g,))
    return g


def get_goods(gid):
    return assert_json(get("/goods/%d/" % gid), 200, "GET /goods/%d/" % gid)


def state(pids, gids=()):
    """{('p', id): (stock, sales)} and {('g', id): sales} as the API answers now."""
    out = {}
    for pid in pids:
        p = get_product(pid)
        out[("p", pid)] = (p["stock"], p["sales"])
    for gid in gids:
        out[("g", gid)] = get_goods(gid)["sales"]
    return out


def created_order(r, what):
    o = assert_json(r, 201, what)
    check(isinstance(o, dict) and is_int(o.get("id")), "%s: no order id in %r" % (what, o))
    eq(location(r, what), "/order/%d/" % o["id"], what + " Location")
    return o


def db_order(oid):
    """(status, pay_method, total_count, freight, total_amount, aborted_at is null,
    [(product, quantity, price)]) from the tables."""
    rows = db("SELECT status, pay_method, total_count, freight, total_amount, "
              "aborted_at IS NULL FROM orders WHERE id = %d" % oid)
    check(rows, "order %d is not in the orders table" % oid)
    s = rows[0]
    lines = db("SELECT product_id, quantity, price FROM order_lines WHERE order_id = %d "
               "ORDER BY product_id" % oid)
    return (s[0], s[1], int(s[2]), int(s[3]), int(s[4]), s[5] == "1",
            [tuple(int(x) for x in l) for l in lines])


# ---------------------------------------------------------------------------
# helpers: "nothing changed", compared on whole tables


class Snapshot:
    """The whole products (id -> (stock, sales)) and goods (id -> sales)
    tables, and the count and max id of orders, order lines and restocks,
    all read in one consistent snapshot."""

    def __init__(self):
        rows = db("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ; "
                  "START TRANSACTION WITH CONSISTENT SNAPSHOT; "
                  "SELECT 'p', id, stock, sales FROM products "
                  "UNION ALL SELECT 'g', id, sales, 0 FROM goods "
                  "UNION ALL SELECT 'o', COUNT(*), COALESCE(MAX(id), 0), 0 FROM orders "
                  "UNION ALL SELECT 'l', COUNT(*), 0, 0 FROM order_lines "
                  "UNION ALL SELECT 'r', COUNT(*), COALESCE(MAX(id), 0), 0 FROM restocks; "
                  "COMMIT")
        self.products, self.goods = {}, {}
        for kind, a, b, c in rows:
            a, b, c = int(a), int(b), int(c)
            if kind == "p":
                self.products[a] = (b, c)
            elif kind == "g":
                self.goods[a] = b
            elif kind == "o":
                self.orders = (a, b)
            elif kind == "l":
                self.lines = a
            elif kind == "r":
                self.restocks = (a, b)

    def key(self):
        return (self.products, self.goods, self.orders, self.lines, self.restocks)

    def __eq__(self, other):
        return self.key() == other.key()


def _diff_rows(before, after):
    keys = set(before) | set(after)
    return sorted(k for k in keys if before.get(k) != after.get(k))


def compare(before, after, pids, gids, what):
    """None when equal; a string describing unexplained foreign changes
    ('noise') when only other rows changed; raises Fail when this test's rows
    changed or a new order holds its products or has no lines."""
    if before == after:
        return None
    pids, gids = set(pids), set(gids)
    bad = []
    for k in _diff_rows(before.products, after.products):
        if k in pids:
            bad.append("product %d (stock, sales) %r -> %r" % (k, before.products.get(k),
                                                             after.products.get(k)))
    for k in _diff_rows(before.goods, after.goods):
        if k in gids:
            bad.append("goods %d sales %r -> %r" % (k, before.goods.get(k), after.goods.get(k)))
    lo, hi = before.orders[1], after.orders[1]
    if hi > lo:
        rows = db("SELECT o.id, COUNT(l.order_id), COALESCE(SUM(l.product_id IN (%s)), 0) "
                  "FROM orders o LEFT JOIN order_lines l ON l.order_id = o.id "
                  "WHERE o.id > %d AND o.id <= %d GROUP BY o.id "
                  "HAVING COUNT(l.order_id) = 0 OR SUM(l.product_id IN (%s)) > 0"
                  % (id_list(pids), lo, hi, id_list(pids)))
        for oid, n, ours in rows[:10]:
            bad.append("new order %s (%s lines, %s of them on this test's products)"
                       % (oid, n, ours))
    if after.restocks[1] > before.restocks[1] and pids:
        rows = db("SELECT id, product_id FROM restocks WHERE id > %d AND product_id IN (%s)"
                  % (before.restocks[1], id_list(pids)))
        for rid, pid in rows[:10]:
            bad.append("new restock %s of product %s" % (rid, pid))
    if bad:
        raise Fail("%s changed something: %s" % (what, "; ".join(bad)))
    return ("%d product row(s), %d goods row(s), orders %r -> %r, lines %d -> %d, "
            "restocks %r -> %r" % (len(_diff_rows(before.products, after.products)),
                                   len(_diff_rows(before.goods, after.goods)),
                                   before.orders, after.orders, before.lines, after.lines,
                                   before.restocks, after.restocks))


def unchanged_by(fn, what, pids=(), gids=(), tries=3):
    """Runs fn() (a request that must change nothing, and checks its own answer)
    between two whole-table snapshots. Exact on a quiet database; with other
    writers about, only this test's rows are held against it (see the module
    doc) after `tries` attempts found no quiet window. Returns fn's result."""
    noise = None
    for _ in range(tries):
        before = Snapshot()
        t0 = time.monotonic()
        res = fn()
        spent = time.monotonic() - t0
        after = Snapshot()
        noise = compare(before, after, pids, gids, what)
        if noise is None:
            return res
    # Control: is the database changing without us too? If an idle window of
    # the same length is quiet, the changes came from our call.
    for _ in range(tries):
        before = Snapshot()
        time.sleep(max(spent, 0.05))
        if Snapshot() != before:
            log("%s: other writers changed the database meanwhile (%s); only this test's "
                "rows and new orders were compared" % (what, noise))
            return res
    raise Fail("%s changed rows it does not own (idle windows of the same length were quiet, "
               "so no other writer explains it): %s" % (what, noise))


# Every row this run makes, for the final audit.
MINE = {"p": set(), "g": set(), "o": set()}


def product(stock=10, price=1500, goods=None):
    extra = {} if goods is None else {"goods": goods}
    p = make_product(stock=stock, price=price, **extra)
    MINE["p"].add(p["id"])
    eq(p["goods"], goods, "goods of the created product")
    return p


def goods():
    g = make_goods()
    MINE["g"].add(g["id"])
    return g


# ---------------------------------------------------------------------------
# success


@test
def checkout_json_merges_repeats_sorts_lines_and_totals():
    g = goods()
    a = product(stock=10, price=250, goods=g["id"])
    b = product(stock=10, price=1999, goods=g["id"])
    c = product(stock=5, price=0)
    A, B, C = a["id"], b["id"], c["id"]
    prices = {A: 250, B: 1999, C: 0}
    # numbers as decimal strings, B named twice, C first: out of order on purpose
    body = {"items": [{"product": str(C), "quantity": "3"}, {"product": str(B), "quantity": "2"},
                      {"product": A}, {"product": B, "quantity": 1}],
            "pay_method": "balance"}
    r = checkout_json(body)
    o = created_order(r, "POST /checkout/ %r" % body)
    MINE["o"].add(o["id"])
    lines = [(A, 1), (B, 3), (C, 3)]
    check_order_shape(o, lines, prices, "balance", "checkout answer")
    eq(o["total_amount"], 250 + 3 * 1999 + FREIGHT, "total_amount")
    eq(get_order(o["id"]), o, "GET /order/%d/ equals the checkout answer" % o["id"])
    eq(db_order(o["id"]),
       ("placed", "balance", 7, FREIGHT, 250 + 3 * 1999 + FREIGHT, True,
        [(A, 1, 250), (B, 3, 1999), (C, 3, 0)]),
       "order %d and its lines in the tables" % o["id"])
    eq(state([A, B, C], [g["id"]]),
       {("p", A): (9, 1), ("p", B): (7, 3), ("p", C): (2, 3), ("g", g["id"]): 4},
       "stock, sales of products and goods sales after the checkout")


@test
def checkout_form_encoding_with_gaps_repeats_and_default_quantity():
    g = goods()
    a = product(stock=6, price=300, goods=g["id"])
    b = product(stock=6, price=700)
    A, B = a["id"], b["id"]
    pairs = [("items[7][quantity]", "1"), ("items[7][product]", str(A)),
             ("items[0][product]", str(B)), ("items[0][quantity]", "2"),
             ("items[3][product]", str(A)),            # quantity defaults to 1
             ("items[999][product]", str(B)), ("items[999][quantity]", "1"),
             ("pay_method", "cod")]
    r = checkout_form(pairs)
    o = created_order(r, "POST /checkout/ form %r" % pairs)
    MINE["o"].add(o["id"])
    check_order_shape(o, [(A, 2), (B, 3)], {A: 300, B: 700}, "cod", "form checkout answer")
    eq(state([A, B], [g["id"]]), {("p", A): (4, 2), ("p", B): (3, 3), ("g", g["id"]): 2},
       "stock, sales after the form checkout")
    # a JSON quantity default too
    r = checkout_json({"items": [{"product": A}], "pay_method": "cod"})
    o = created_order(r, "JSON checkout without quantity")
    MINE["o"].add(o["id"])
    check_order_shape(o, [(A, 1)], {A: 300}, "cod", "JSON checkout without quantity")


@test
def checkout_boundaries_1000_elements_100_products_merged_10000_are_accepted():
    # 1000 elements of one product (quantity 1 each): one line of 1000
    p = product(stock=1000, price=3)
    P = p["id"]
    r = checkout_json({"items": [{"product": P}] * 1000, "pay_method": "cod"})
    o = created_order(r, "1000 elements of product %d" % P)
    MINE["o"].add(o["id"])
    check_order_shape(o, [(P, 1000)], {P: 3}, "cod", "1000-element checkout")
    eq(get_product(P)["stock"], 0, "stock after 1000 x 1 of a stock of 1000")
    # merged to exactly 10000 units
    q = product(stock=10000, price=1)
    Q = q["id"]
    r = checkout_json({"items": [{"product": Q, "quantity": 5000},
                                 {"product": Q, "quantity": "5000"}], "pay_method": "cod"})
    o = created_order(r, "5000 + 5000 of product %d" % Q)
    MINE["o"].add(o["id"])
    check_order_shape(o, [(Q, 10000)], {Q: 1}, "cod", "merged 10000 checkout")
    # exactly 100 distinct products, under one goods
    g = goods()
    ps = [product(stock=2, price=10 + i, goods=g["id"]) for i in range(100)]
    items = [{"product": x["id"], "quantity": 1 + i % 2} for i, x in enumerate(ps)]
    items.reverse()
    r = checkout_json({"items": items, "pay_method": "balance"})
    o = created_order(r, "checkout of 100 distinct products")
    MINE["o"].add(o["id"])
    lines = sorted((x["id"], 1 + i % 2) for i, x in enumerate(ps))
    check_order_shape(o, lines, {x["id"]: x["price"] for x in ps}, "balance", "100-line checkout")
    eq(get_goods(g["id"])["sales"], sum(q for _, q in lines), "goods sales after 100 lines")
    eq(get_goods(g["id"])["products"], sorted(x["id"] for x in ps), "goods products list")
    eq(get_order(o["id"]), o, "GET /order/%d/ of the 100-line order" % o["id"])
    page = assert_json(get("/order/?limit=2&after=%d" % (o["id"] + 1)), 200, "GET /order/ list")
    check(page["items"] and page["items"][0]["id"] == o["id"],
          "GET /order/?limit=2&after=%d does not start with order %d: %r"
          % (o["id"] + 1, o["id"], [x.get("id") for x in page["items"]]))
    eq(page["items"][0], o, "the 100-line order in GET /order/")
    # 1000 form elements (indices 0..999) of one product
    p = product(stock=1500, price=2)
    P = p["id"]
    r = checkout_form(form_items([(i, P, 1) for i in range(1000)]))
    o = created_order(r, "1000 form elements of product %d" % P)
    MINE["o"].add(o["id"])
    check_order_shape(o, [(P, 1000)], {P: 2}, "cod", "1000-element form checkout")
    eq(get_product(P)["stock"], 500, "stock after 1000 x 1 of a stock of 1500")


# ---------------------------------------------------------------------------
# validation: 422 naming the field, nothing changed


@test
def checkout_each_validation_error_is_422_naming_field_and_changes_nothing():
    g = goods()
    a = product(stock=5, price=100, goods=g["id"])
    b = product(stock=5, price=200, goods=g["id"])
    A, B = a["id"], b["id"]
    ok2 = [{"product": A}, {"product": B}]

    def j(items, pm="cod", **more):
        body = {}
        if items is not _MISSING:
            body["items"] = items
        if pm is not _MISSING:
            body["pay_method"] = pm
        body.update(more)
        return body

    J = "json"
    F = "form"
    R = "raw"
    cases = [
        # items missing, empty, not an array
        (J, j(_MISSING), "items"),
        (J, j([]), "items"),
        (J, j({"product": A, "quantity": 1}), "items"),
        (J, j(5), "items"),
        (J, j(str(A)), "items"),
        (J, j(None), "items"),
        # an element that is not an object
        (J, j([A]), "items"),
        (J, j([[A, 1]]), "items"),
        (J, j(ok2 + ["x"]), "items"),
        (J, j(ok2 + [None]), "items"),
        # an unknown member in an element
        (J, j([{"product": A, "qty": 2}]), "items"),
        (J, j(ok2 + [{"product": A, "quantity": 1, "price": 1}]), "items"),
        # a bad product
        (J, j(ok2 + [{"product": "abc"}]), "items[2].product"),
        (J, j([{"product": 0}]), "items[0].product"),
        (J, j([{"product": -1}]), "items[0].product"),
        (J, j(ok2 + [{"product": RawJSON("1.5")}]), "items[2].product"),
        (J, j([{"product": True}]), "items[0].product"),
        (J, j([{"product": None}]), "items[0].product"),
        (J, j([{"product": ""}]), "items[0].product"),
        (J, j([{"product": "1e3"}]), "items[0].product"),
        (J, j([{"product": RawJSON("99999999999999999999999")}]), "items[0].product"),
        (J, j([{}]), "items[0].product"),
        # a bad quantity
        (J, j(ok2 + [{"product": A, "quantity": "x"}]), "items[2].quantity"),
        (J, j(ok2 + [{"product": A, "quantity": 0}]), "items[2].quantity"),
        (J, j([{"product": A, "quantity": "0"}]), "items[0].quantity"),
        (J, j([{"product": A, "quantity": -1}]), "items[0].quantity"),
        (J, j([{"product": A, "quantity": RawJSON("2.5")}]), "items[0].quantity"),
        (J, j([{"product": A, "quantity": RawJSON("1e2")}]), "items[0].quantity"),
        (J, j([{"product": A, "quantity": None}]), "items[0].quantity"),
        (J, j(ok2 + [{"product": A, "quantity": 10001}]), "items[2].quantity"),
        (J, j([{"product": A, "quantity": "1000000001"}]), "items[0].quantity"),
        (J, j([{"product": A, "quantity": RawJSON("1" + "0" * 30)}]), "items[0].quantity"),
        # merged quantity over 10000
        (J, j([{"product": A, "quantity": 6000}, {"product": B}, {"product": A, "quantity": 4001}]),
         "quantity"),
        (J, j([{"product": A, "quantity": 10000}, {"product": A, "quantity": 1}]), "quantity"),
        # more than 100 distinct products (nonexistent ones too: the limit comes first)
        (J, j(ok2 + [{"product": BIG_ID + i} for i in range(99)]), "items"),
        # more than 1000 elements
        (J, j([{"product": A}] * 1001), "items"),
        # pay_method missing, unknown, wrong type
        (J, j(ok2, pm=_MISSING), "pay_method"),
        (J, j(ok2, pm="cash"), "pay_method"),
        (J, j(ok2, pm="COD"), "pay_method"),
        (J, j(ok2, pm=""), "pay_method"),
        (J, j(ok2, pm=5), "pay_method"),
        (J, j(ok2, pm=None), "pay_method"),
        # an unknown top-level field, or one that belongs to another call
        (J, j(ok2, coupon="x"), "coupon"),
        (J, j(ok2, product=A), "product"),
        (J, j(ok2, quantity=1), "quantity"),
        # given twice
        (R, ('{"items":[{"product":%d}],"items":[{"product":%d}],"pay_method":"cod"}'
             % (A, B)).encode(), "items"),
        (R, ('{"items":[{"product":%d,"product":%d}],"pay_method":"cod"}' % (A, B)).encode(),
         "items[0].product"),
        (R, ('{"items":[{"product":%d,"quantity":1,"quantity":2}],"pay_method":"cod"}'
             % A).encode(), "items[0].quantity"),
        # form encoding
        (F, [("pay_method", "cod")], "items"),
        (F, [("items", str(A)), ("pay_method", "cod")], "items"),
        (F, form_items([(0, A, None), (1000, B, None)]), "items"),
        (F, form_items([(0, A, 0)]), "items[0].quantity"),
        (F, form_items([(0, A, None), (4, A, "x")]), "items[4].quantity"),
        (F, form_items([(0, A, None), (2, "x", None)]), "items[2].product"),
        (F, form_items([(0, A, 6000), (1, A, 4001)]), "quantity"),
        (F, form_items([(0, A, None)], pay_method="cash"), "pay_method"),
        (F, form_items([(0, A, None)], pay_method=None), "pay_method"),
        (F, form_items([(0, A, None)]) + [("items[0][product]", str(B))], "items[0].product"),
        (F, form_items([(0, A, None)]) + [("items[0][price]", "1")], "items[0][price]"),
        (F, form_items([(0, A, None)]) + [("items[01][product]", str(B))], "items[01][product]"),
        (F, form_items([(0, A, None)]) + [("coupon", "x")], "coupon"),
    ]
    pids, gids = [A, B], [g["id"]]

    def one(case):
        kind, body, field = case
        what = "%s %s" % (kind, (body if kind != J else dump_json(body))[:160])

        def call():
            if kind == F:
                r = checkout_form(body)
            elif kind == R:
                r = checkout_json(body)
            else:
                r = checkout_json(body)
            assert_problem(r, 422, INVALID, field, what)
            return r
        unchanged_by(call, what, pids, gids)
    run_cases(cases, one)
    eq(state(pids, gids), {("p", A): (5, 0), ("p", B): (5, 0), ("g", g["id"]): 0},
       "stock, sales after every refused checkout")


_MISSING = object()


@test
def checkout_element_without_product_is_422_and_changes_nothing():
    a = product(stock=5)
    A = a["id"]
    cases = [("json", {"items": [{"product": A}, {"quantity": 2}], "pay_method": "cod"}),
             ("form", form_items([(0, A, None), (5, A, None)]) + [("items[3][quantity]", "2")])]

    def one(case):
        kind, body = case
        what = "%s checkout with an element lacking its product: %r" % (kind, body)

        def call():
            r = checkout_json(body) if kind == "json" else checkout_form(body)
            p = assert_problem(r, 422, INVALID, None, what)
            idx = 1 if kind == "json" else 3
            check(p.get("field") in ("items", "items[%d].product" % idx),
                  "%s: field %r, expected 'items' or 'items[%d].product'"
                  % (what, p.get("field"), idx))
        unchanged_by(call, what, [A])
    run_cases(cases, one)


@test
def checkout_form_quantity_over_10000_names_the_element_index_as_sent():
    # form indices may have gaps: the field must name the element the client
    # sent (items[5]), not its position after compaction (items[1])
    a = product(stock=5)
    b = product(stock=5)
    A, B = a["id"], b["id"]
    pairs = form_items([(0, A, None), (5, B, 10001)])

    def call():
        assert_problem(checkout_form(pairs), 422, INVALID, "items[5].quantity",
                       "form %s" % urllib.parse.urlencode(pairs))
    unchanged_by(call, "form quantity 10001 at items[5]", [A, B])


# ---------------------------------------------------------------------------
# 409 short line and 404 unknown product: nothing changed


def assert_short(r, pid, available, what):
    p = assert_problem(r, 409, OUT_OF_STOCK, None, what)
    eq((p.get("product"), p.get("available")), (pid, available),
       what + ": members product, available")


@test
def checkout_short_line_is_409_naming_lowest_short_product_and_changes_nothing():
    g = goods()
    a = product(stock=5, price=100, goods=g["id"])
    b = product(stock=1, price=200, goods=g["id"])
    c = product(stock=3, price=300)
    A, B, C = a["id"], b["id"], c["id"]
    pids, gids = [A, B, C], [g["id"]]
    cases = [
        ("2nd line short", [(A, 1), (B, 2), (C, 1)], B, 1),
        ("2nd line short, cart reversed", [(C, 1), (B, 2), (A, 1)], B, 1),
        ("A and B short: the lower id is named", [(B, 2), (A, 6), (C, 1)], A, 5),
        ("A and C short, listed C first", [(C, 4), (A, 6)], A, 5),
        ("last line short", [(A, 5), (B, 1), (C, 4)], C, 3),
        ("a repeat merged beyond stock", [(C, 2), (A, 1), (C, 2)], C, 3),
        ("a repeat merged beyond stock of 1", [(B, 1), (B, 1)], B, 1),
    ]

    def one(case):
        name, items, short, avail = case
        for enc in ("json", "form"):
            what = "%s (%s): %r" % (name, enc, items)

            def call():
                assert_short(checkout_lines(items, enc), short, avail, what)
            unchanged_by(call, what, pids, gids)
    run_cases(cases, one)
    eq(state(pids, gids), {("p", A): (5, 0), ("p", B): (1, 0), ("p", C): (3, 0),
                           ("g", g["id"]): 0}, "stock, sales after the refused carts")
    # and nothing was held back: the whole stock can be bought at once
    r = checkout_json({"items": [{"product": C, "quantity": 3}, {"product": B},
                                 {"product": A, "quantity": 5}], "pay_method": "cod"})
    o = created_order(r, "checkout of the whole stock after the refusals")
    MINE["o"].add(o["id"])
    check_order_shape(o, [(A, 5), (B, 1), (C, 3)], {A: 100, B: 200, C: 300}, "cod", "whole stock")
    eq(state(pids, gids), {("p", A): (0, 5), ("p", B): (0, 1), ("p", C): (0, 3),
                           ("g", g["id"]): 6}, "stock, sales after buying everything")
    what = "one more unit of B after it is sold out"
    unchanged_by(lambda: assert_short(checkout_json({"items": [{"product": B}],
                                                     "pay_method": "cod"}), B, 0, what),
                 what, pids, gids)


@test
def checkout_unknown_product_is_404_and_changes_nothing():
    g = goods()
    a = product(stock=5, goods=g["id"])
    A = a["id"]
    pids, gids = [A], [g["id"]]
    cases = [
        ("known then unknown", [(A, 1), (BIG_ID, 1)], BIG_ID),
        ("unknown listed first", [(BIG_ID + 7, 2), (A, 2)], BIG_ID + 7),
        ("two unknown: the lower is named", [(BIG_ID + 9, 1), (A, 1), (BIG_ID + 3, 1)], BIG_ID + 3),
    ]

    def one(case):
        name, items, missing = case
        for enc in ("json", "form"):
            what = "%s (%s): %r" % (name, enc, items)

            def call():
                p = assert_problem(checkout_lines(items, enc), 404, NOT_FOUND, None, what)
                eq(p.get("product"), missing, what + ": member product")
            unchanged_by(call, what, pids, gids)
    run_cases(cases, one)
    # the lowest id decides between a short line and an unknown product
    what = "short known product (lower id) with an unknown one"
    unchanged_by(lambda: assert_short(checkout_json(
        {"items": [{"product": BIG_ID}, {"product": A, "quantity": 6}], "pay_method": "cod"}),
        A, 5, what), what, pids, gids)
    eq(state(pids, gids), {("p", A): (5, 0), ("g", g["id"]): 0}, "stock, sales at the end")


# ---------------------------------------------------------------------------
# abort


@test
def abort_of_multi_line_order_restores_every_line_once():
    g1, g2 = goods(), goods()
    a = product(stock=4, price=100, goods=g1["id"])
    b = product(stock=4, price=200, goods=g1["id"])
    c = product(stock=4, price=300, goods=g2["id"])
    d = product(stock=4, price=400)
    A, B, C, D = a["id"], b["id"], c["id"], d["id"]
    pids, gids = [A, B, C, D], [g1["id"], g2["id"]]
    before = state(pids, gids)
    r = checkout_json({"items": [{"product": D}, {"product": C, "quantity": 3},
                                 {"product": A, "quantity": 2}, {"product": B},
                                 {"product": A}], "pay_method": "cod"})
    o = created_order(r, "multi-line checkout")
    MINE["o"].add(o["id"])
    oid = o["id"]
    lines = [(A, 3), (B, 1), (C, 3), (D, 1)]
    check_order_shape(o, lines, {A: 100, B: 200, C: 300, D: 400}, "cod", "multi-line order")
    eq(state(pids, gids), {("p", A): (1, 3), ("p", B): (3, 1), ("p", C): (1, 3),
                           ("p", D): (3, 1), ("g", g1["id"]): 4, ("g", g2["id"]): 3},
       "stock, sales after the checkout")
    r = abort(oid, "put")
    ab = assert_json(r, 200, "PUT /order/%d/abort/" % oid)
    eq((ab.get("id"), ab.get("status")), (oid, "aborted"), "abort answer id, status")
    eq(ab.get("lines"), o["lines"], "abort answer lines (kept as bought)")
    eq(state(pids, gids), before, "stock, sales of every line and goods after the abort")
    st = db_order(oid)
    eq((st[0], st[5]), ("aborted", False), "status, aborted_at IS NULL in the table")
    eq(st[6], [(A, 3, 100), (B, 1, 200), (C, 3, 300), (D, 1, 400)], "lines kept in the table")

    for way in ("form", "put", "override"):
        what = "abort %s of order %d already aborted" % (way, oid)

        def call():
            p = assert_problem(abort(oid, way), 409, ORDER_STATE, None, what)
            eq((p.get("order"), p.get("state")), (oid, "aborted"), what + ": order, state")
        unchanged_by(call, what, pids, gids)
    eq(state(pids, gids), before, "stock, sales after the repeated aborts (restored once)")
    eq(get_order(oid)["status"], "aborted", "GET order status")


@test
def goods_sales_follow_checkout_and_abort_of_lines_in_two_goods():
    g1, g2 = goods(), goods()
    a = product(stock=10, goods=g1["id"])
    b = product(stock=10, goods=g2["id"])
    c = product(stock=10, goods=g1["id"])
    A, B, C = a["id"], b["id"], c["id"]
    o1 = created_order(checkout_json({"items": [{"product": A, "quantity": 2},
                                                {"product": B, "quantity": 3},
                                                {"product": C, "quantity": 4}],
                                      "pay_method": "cod"}), "order 1")
    o2 = created_order(checkout_json({"items": [{"product": C}, {"product": B}],
                                      "pay_method": "balance"}), "order 2")
    MINE["o"].update((o1["id"], o2["id"]))
    eq((get_goods(g1["id"])["sales"], get_goods(g2["id"])["sales"]), (7, 4),
       "goods sales after two orders")
    assert_json(abort(o1["id"], "post"), 200, "abort order 1")
    eq((get_goods(g1["id"])["sales"], get_goods(g2["id"])["sales"]), (1, 1),
       "goods sales after aborting order 1")
    eq(state([A, B, C]), {("p", A): (10, 0), ("p", B): (9, 1), ("p", C): (9, 1)},
       "stock, sales after aborting order 1")
    assert_json(abort(o2["id"], "form"), 200, "abort order 2")
    eq((get_goods(g1["id"])["sales"], get_goods(g2["id"])["sales"]), (0, 0),
       "goods sales after aborting both")


# ---------------------------------------------------------------------------
# prices, freight and totals


@test
def line_prices_are_kept_at_time_of_purchase():
    a = product(stock=10, price=250)
    b = product(stock=10, price=1999)
    A, B = a["id"], b["id"]
    o1 = created_order(checkout_json({"items": [{"product": A, "quantity": 2},
                                                {"product": B}], "pay_method": "cod"}),
                       "first order")
    MINE["o"].add(o1["id"])
    check_order_shape(o1, [(A, 2), (B, 1)], {A: 250, B: 1999}, "cod", "first order")
    eq(o1["total_amount"], 2 * 250 + 1999 + FREIGHT, "first order total_amount")
    # a restock changes no price
    r = post_json("/product/%d/restock/" % A, {"quantity": 5})
    eq(assert_json(r, 200, "restock")["price"], 250, "price after a restock")
    # a price change in the catalogue (there is no API for it: straight in the table)
    db("UPDATE products SET price = 2500 WHERE id = %d" % B)
    eq(get_product(B)["price"], 2500, "price of B after the change")
    eq(get_order(o1["id"])["lines"], o1["lines"], "first order's lines after the price change")
    eq(get_order(o1["id"])["total_amount"], o1["total_amount"], "first order's total unchanged")
    o2 = created_order(checkout_json({"items": [{"product": B}, {"product": A}],
                                      "pay_method": "cod"}), "second order")
    MINE["o"].add(o2["id"])
    check_order_shape(o2, [(A, 1), (B, 1)], {A: 250, B: 2500}, "cod", "second order (new price)")
    # both orders' lines as stored
    eq(db_order(o1["id"])[6], [(A, 2, 250), (B, 1, 1999)], "first order's lines in the table")
    eq(db_order(o2["id"])[6], [(A, 1, 250), (B, 1, 2500)], "second order's lines in the table")
    # an abort of the first order restores stock at any price
    assert_json(abort(o1["id"]), 200, "abort of the first order")
    eq(state([A, B]), {("p", A): (14, 1), ("p", B): (9, 1)}, "stock, sales after the abort")


@test
def every_worker_prices_at_the_row_after_a_price_change():
    # Workers remember prices (a product's price never changes through the
    # API): one changed in the table must still be what every order pays, in
    # both lock strategies (the locked read or the conditional UPDATE checks).
    c = product(stock=100, price=300)
    C = c["id"]
    n = 12       # more orders than workers, so that each worker has seen C
    for k in range(n):
        o = created_order(checkout_json({"items": [{"product": C}], "pay_method": "cod"}),
                          "order %d before the change" % (k + 1))
        MINE["o"].add(o["id"])
        eq(o["lines"][0]["price"], 300, "order %d before the change: price" % (k + 1))
    db("UPDATE products SET price = 3100 WHERE id = %d" % C)
    for k in range(n):
        o = created_order(checkout_json({"items": [{"product": C}], "pay_method": "cod"}),
                          "order %d after the change" % (k + 1))
        MINE["o"].add(o["id"])
        eq(o["lines"][0]["price"], 3100, "order %d after the change: price" % (k + 1))
        eq(o["total_amount"], 3100 + FREIGHT, "order %d after the change: total" % (k + 1))
        eq(db_order(o["id"])[6], [(C, 1, 3100)], "order %d after the change: line in the table"
           % (k + 1))
    eq(state([C]), {("p", C): (100 - 2 * n, 2 * n)}, "stock, sales of C")


@test
def freight_is_flat_per_order_and_totals_add_up():
    a = product(stock=20, price=0)
    b = product(stock=20, price=123456789)
    A, B = a["id"], b["id"]
    o = created_order(checkout_json({"items": [{"product": A, "quantity": 7}],
                                     "pay_method": "cod"}), "free product")
    MINE["o"].add(o["id"])
    eq((o["total_count"], o["freight"], o["total_amount"]), (7, FREIGHT, FREIGHT),
       "total_count, freight, total_amount of a free product")
    o = created_order(checkout_json({"items": [{"product": A, "quantity": 3},
                                               {"product": B, "quantity": 9}],
                                     "pay_method": "balance"}), "two lines")
    MINE["o"].add(o["id"])
    eq((o["total_count"], o["freight"], o["total_amount"]),
       (12, FREIGHT, 9 * 123456789 + FREIGHT), "totals of two lines (one freight)")
    eq(db_order(o["id"])[:5], ("placed", "balance", 12, FREIGHT, 9 * 123456789 + FREIGHT),
       "order row in the table")
    # a one-line POST /order/ goes through the same path: cod, same freight
    r = post_json("/order/", {"product": B, "quantity": 2})
    one = assert_json(r, 201, "POST /order/")
    MINE["o"].add(one["id"])
    check_order_shape(one, [(B, 2)], {B: 123456789}, "cod", "POST /order/ answer")
    eq(state([A, B]), {("p", A): (10, 10), ("p", B): (9, 11)}, "stock, sales after three orders")


# ---------------------------------------------------------------------------
# goods and the catalogue


@test
def goods_create_get_products_and_errors():
    name = unique_name("goods")
    r = post_json("/goods/", {"name": name})
    g = assert_json(r, 201, "POST /goods/")
    eq(set(g), {"id", "name", "sales", "products"}, "members of the created goods")
    check(is_int(g["id"]) and g["id"] > 0, "goods id %r" % g["id"])
    MINE["g"].add(g["id"])
    eq((g["name"], g["sales"], g["products"]), (name, 0, []), "created goods name, sales, products")
    eq(location(r, "POST /goods/"), "/goods/%d/" % g["id"], "Location of the created goods")
    G = g["id"]
    eq(get_goods(G), g, "GET /goods/%d/ right after creation" % G)
    eq(assert_json(get("/goods/%d" % G), 200, "GET without slash"), g, "GET /goods/%d" % G)
    # form-encoded create works alike
    r = post_form("/goods/", {"name": name + "-form"})
    g2 = assert_json(r, 201, "POST /goods/ form")
    MINE["g"].add(g2["id"])
    eq((g2["name"], g2["sales"], g2["products"]), (name + "-form", 0, []), "form-created goods")
    # products: listed ascending, only its own
    p1 = product(stock=3, price=10, goods=G)
    product(stock=3, price=10, goods=g2["id"])
    product(stock=3, price=10)
    p2 = product(stock=3, price=20, goods=G)
    p3 = product(stock=3, price=30, goods=G)
    eq(get_goods(G)["products"], [p1["id"], p2["id"], p3["id"]], "products of the goods")
    eq(get_product(p2["id"])["goods"], G, "GET product goods member")
    # sales after checkout and after abort
    o = created_order(checkout_json({"items": [{"product": p3["id"], "quantity": 2},
                                               {"product": p1["id"]}], "pay_method": "cod"}),
                      "checkout in goods %d" % G)
    MINE["o"].add(o["id"])
    eq(get_goods(G)["sales"], 3, "goods sales after a checkout of 3 units")
    eq(get_goods(g2["id"])["sales"], 0, "other goods sales untouched")
    assert_json(abort(o["id"]), 200, "abort")
    eq(get_goods(G)["sales"], 0, "goods sales after the abort")
    # 404s
    for path in ("/goods/%d/" % BIG_ID, "/goods/%d" % (BIG_ID + 1), "/goods/abc/", "/goods/0/"):
        assert_problem(get(path), 404, NOT_FOUND, what="GET " + path)
    # a product with unknown goods: 422 field goods, nothing created
    for bad in (BIG_ID, str(BIG_ID)):
        body = {"name": unique_name("nogoods"), "price": 1, "stock": 1, "goods": bad}

        def call():
            assert_problem(post_json("/product/", body), 422, INVALID, "goods",
                           "POST /product/ with goods %r" % bad)
        unchanged_by(call, "product with unknown goods %r" % bad, [], [])
        check(not db("SELECT id FROM products WHERE name = '%s'" % body["name"]),
              "a product named %r was created despite the 422" % body["name"])
    for body, field in (({"name": ""}, "name"), ({}, "name"), ({"name": "x" * 201}, "name"),
                        ({"name": "ok", "sales": 5}, "sales")):
        assert_problem(post_json("/goods/", body), 422, INVALID, field, "POST /goods/ %r" % body)


@test
def product_list_pagination_limit_after_next():
    ps = [product(stock=1, price=i) for i in range(5)]
    ids = [p["id"] for p in ps]
    check(ids == sorted(ids), "product ids not ascending in creation order: %r" % ids)
    after, seen, pages = ids[0] - 1, [], 0
    while True:
        page = assert_json(get("/product/?limit=2&after=%d" % after), 200,
                           "GET /product/?limit=2&after=%d" % after)
        got = [p["id"] for p in page["items"]]
        pages += 1
        check(len(got) <= 2, "page after %d has %d items, limit 2" % (after, len(got)))
        check(got == sorted(set(got)) and all(i > after for i in got),
              "page after %d: ids %r not ascending and > after" % (after, got))
        for p in page["items"]:
            check_product_shape(p, "list item")
        seen += got
        if page["next"] is None:
            break
        eq(page["next"], got[-1], "next of a full page after %d (its last id)" % after)
        after = page["next"]
        if after >= ids[-1]:
            break
        check(pages < 1000, "pagination does not end")
    check(set(ids) <= set(seen), "pages from %d missed some of %r: saw %r" % (ids[0] - 1, ids, seen))
    eq([i for i in seen if i in ids], ids, "this test's ids, in order, among the pages")
    item = [p for p in assert_json(get("/product/?limit=1&after=%d" % (ids[2] - 1)), 200,
                                   "limit=1")["items"]][0]
    eq(item, get_product(ids[2]), "list item equals GET /product/<id>/")
    page = assert_json(get("/product/?after=%d" % (BIG_ID)), 200, "after beyond the last")
    eq((page["items"], page["next"]), ([], None), "page after the last product")
    page = assert_json(get("/product/?limit=200&after=0"), 200, "limit=200")
    check(len(page["items"]) <= 200, "limit=200 gave %d" % len(page["items"]))
    if len(page["items"]) < 200:
        eq(page["next"], None, "next of a short page")
    for q, field in (("limit=0", "limit"), ("limit=201", "limit"), ("limit=x", "limit"),
                     ("after=-1", "after")):
        assert_problem(get("/product/?" + q), 422, INVALID, field, "GET /product/?" + q)


# ---------------------------------------------------------------------------
# browser form posts


def browser_location(r, what):
    assert_status(r, 303, what)
    return location(r, what)


@test
def browser_checkout_redirects_303_with_ok_or_error():
    a = product(stock=3, price=100)
    b = product(stock=1, price=200)
    A, B = a["id"], b["id"]
    pairs = form_items([(0, B, None), (2, A, 2)]) + [("next", "/cart/")]
    r = browser_post("/checkout/", pairs)
    loc = browser_location(r, "browser checkout")
    m = re.fullmatch(r"/cart/\?ok=order-created&id=(\d+)", loc)
    check(m, "Location %r, expected /cart/?ok=order-created&id=N" % loc)
    oid = int(m.group(1))
    MINE["o"].add(oid)
    check_order_shape(get_order(oid), [(A, 2), (B, 1)], {A: 100, B: 200}, "cod", "browser order")
    eq(state([A, B]), {("p", A): (1, 2), ("p", B): (0, 1)}, "stock, sales after the browser order")
    # short: 303 with the problem's members
    pairs = form_items([(0, A, 1), (1, B, 1)]) + [("next", "/cart/")]

    def short():
        loc = browser_location(browser_post("/checkout/", pairs), "browser checkout, B short")
        check(loc.startswith("/cart/?error=out-of-stock&status=409&"),
              "Location %r, expected /cart/?error=out-of-stock&status=409&..." % loc)
        q = query_of(loc)
        eq((q.get("product"), q.get("available")), ([str(B)], ["0"]),
           "product, available in the redirect")
        check(q.get("detail") and q["detail"][0].strip(), "no detail in %r" % loc)
    unchanged_by(short, "browser checkout, B short", [A, B])

    def invalid():
        loc = browser_location(browser_post("/checkout/", form_items([(0, A, 1)], "cash")
                                            + [("next", "/cart/")]), "browser, bad pay_method")
        q = query_of(loc)
        check(loc.startswith("/cart/?"), "Location %r should go back to /cart/" % loc)
        eq((q.get("error"), q.get("status"), q.get("field")),
           (["invalid-field"], ["422"], ["pay_method"]), "error, status, field in the redirect")
    unchanged_by(invalid, "browser checkout, bad pay_method", [A, B])

    def missing():
        loc = browser_location(browser_post("/checkout/", form_items([(0, BIG_ID, 1)])),
                               "browser, unknown product, no next")
        check(loc.startswith("/?error=not-found&status=404"),
              "Location %r, expected /?error=not-found&status=404..." % loc)
    unchanged_by(missing, "browser checkout, unknown product", [A, B])
    # no next: back to /
    r = browser_post("/checkout/", form_items([(0, A, 1)]))
    loc = browser_location(r, "browser checkout without next")
    m = re.fullmatch(r"/\?ok=order-created&id=(\d+)", loc)
    check(m, "Location %r, expected /?ok=order-created&id=N" % loc)
    MINE["o"].add(int(m.group(1)))


@test
def audit_is_clean_after_the_checkouts():
    why = audit_trouble(audit_rows(MINE["p"], MINE["g"], MINE["o"]))
    check(why is None, why)


if __name__ == "__main__":
    run()
