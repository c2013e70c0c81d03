#!/usr/bin/env python3
"""orderd audit catches every kind of inconsistency it is meant to.

Each test makes fresh rows through the API (goods, products, a multi-line
checkout, sometimes an abort), checks the audit does not name them, corrupts
one column or row on purpose straight in the tables, runs `orderd audit` and
expects exit 1 with exactly the lines naming those rows that the corruption
implies (row id, what it should be, what was found). Then it repairs the row
to its original value (in a finally: the database is never left corrupted,
other suites run after this one) and expects the audit clean again.

On a shared stack another client's short-lived deliberate corruption may show
up in the audit too: only lines naming this test's rows are compared exactly,
and the final "clean" is waited for a few seconds when only other rows are
named."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from orderd_test import (  # noqa: E402
    FREIGHT, Fail, abort, assert_json, audit_lines_about, audit_trouble, check, db, eq,
    get_product, log, make_product, post_json, run, test, unique_name)


# ---------------------------------------------------------------------------
# helpers


def expect_stock(pid, should, found):
    return r"product %d: stock should be %d\b.*\bfound %d( \(negative\))?$" % (pid, should, found)


def expect_psales(pid, should, found):
    return r"product %d: sales should be %d\b.*\bfound %d$" % (pid, should, found)


def expect_gsales(gid, should, found):
    return r"goods %d: sales should be %d\b.*\bfound %d$" % (gid, should, found)


def expect_count(oid, should, found):
    return r"order %d: total_count should be %d\b.*\bfound %d$" % (oid, should, found)


def expect_amount(oid, should, found):
    return r"order %d: total_amount should be %d\b.*\bfound %d$" % (oid, should, found)


def expect_no_lines(oid):
    return r"order %d: .*no lines" % oid


def expect_status(oid):
    return r"order %d: .*(status|aborted_at)" % oid


class Fixture:
    """goods G with products A (price 300) and B (price 500), product C
    (price 700, no goods), all stock 10; order O = A x2 + B x3 (placed);
    order S = C x2 (a single line, placed); order X = A x1 + C x1, aborted."""

    def __init__(self):
        r = post_json("/goods/", {"name": unique_name("audit-g")})
        self.G = assert_json(r, 201, "POST /goods/")["id"]
        self.A = make_product(stock=10, price=300, goods=self.G, name=unique_name("audit"))["id"]
        self.B = make_product(stock=10, price=500, goods=self.G, name=unique_name("audit"))["id"]
        self.C = make_product(stock=10, price=700, name=unique_name("audit"))["id"]
        self.O = self.checkout([(self.A, 2), (self.B, 3)])
        self.S = self.checkout([(self.C, 2)])
        self.X = self.checkout([(self.A, 1), (self.C, 1)])
        o = assert_json(abort(self.X), 200, "abort of order %d" % self.X)
        eq(o["status"], "aborted", "status after abort")
        self.rows = {("product", self.A), ("product", self.B), ("product", self.C),
                     ("goods", self.G), ("order", self.O), ("order", self.S), ("order", self.X)}
        # what the API says now
        eq([(get_product(p)["stock"], get_product(p)["sales"]) for p in (self.A, self.B, self.C)],
           [(8, 2), (7, 3), (8, 2)], "stock, sales of A, B, C")
        self.O_amount = 2 * 300 + 3 * 500 + FREIGHT
        self.S_amount = 2 * 700 + FREIGHT

    @staticmethod
    def checkout(lines):
        r = post_json("/checkout/", {"items": [{"product": p, "quantity": q} for p, q in lines],
                                     "pay_method": "cod"})
        return assert_json(r, 201, "checkout %r" % lines)["id"]

    def names(self):
        return "goods G=%d, products A=%d B=%d C=%d, orders O=%d S=%d X=%d (aborted)" % (
            self.G, self.A, self.B, self.C, self.O, self.S, self.X)


def one_value(sql):
    rows = db(sql)
    check(len(rows) == 1 and len(rows[0]) == 1, "%s: expected one value, got %r" % (sql, rows))
    return rows[0][0]


def corruption(what, corrupt, repair, expected, fx):
    """Runs corrupt() (SQL through db()), expects the audit to exit 1 with
    exactly the lines matching the regexes in `expected` among those naming
    fx's rows, and always runs repair(); then the audit must be clean."""
    # (fresh rows are consistent: any line about them beyond `expected` fails)
    try:
        corrupt()
        rc, mine, out = audit_lines_about(fx.rows)
        problems = []
        if rc != 1:
            problems.append("exit %d, expected 1" % rc)
        left = list(mine)
        for rx in expected:
            hits = [l for l in left if re.match(rx, l)]
            if len(hits) != 1:
                problems.append("%d line(s) match /%s/, expected exactly 1" % (len(hits), rx))
            for h in hits[:1]:
                left.remove(h)
        if left:
            problems.append("unexpected line(s) about this test's rows: %s" % " | ".join(left))
        if not re.search(r"^audit: \d+ violations?$", out, re.M):
            problems.append("no final 'audit: N violation(s)' line")
        if problems:
            raise Fail("%s (%s): orderd audit: %s\n    its lines about these rows:\n    %s"
                       "\n    all its output (head):\n    %s"
                       % (what, fx.names(), "; ".join(problems), "\n    ".join(mine) or "(none)",
                          "\n    ".join(out.strip().splitlines()[:20])))
        log("%s: the audit said %s" % (what, " | ".join(mine)))
    finally:
        repair()
    why = audit_trouble(fx.rows)
    check(why is None, why)


# ---------------------------------------------------------------------------
# products


@test
def audit_catches_product_stock_one_too_many():
    fx = Fixture()
    orig = one_value("SELECT stock FROM products WHERE id = %d" % fx.A)
    corruption("product A stock + 1",
               lambda: db("UPDATE products SET stock = stock + 1 WHERE id = %d" % fx.A),
               lambda: db("UPDATE products SET stock = %s WHERE id = %d" % (orig, fx.A)),
               [expect_stock(fx.A, 8, 9)], fx)


@test
def audit_catches_product_stock_one_too_few_and_check_forbids_negative():
    fx = Fixture()
    orig = one_value("SELECT stock FROM products WHERE id = %d" % fx.B)
    # a negative stock cannot even be written: the CHECK constraint refuses it
    try:
        db("UPDATE products SET stock = -1 WHERE id = %d" % fx.B)
        refused = False
    except Fail:
        refused = True
    try:
        check(refused, "UPDATE products SET stock = -1 was accepted: the CHECK (stock >= 0) "
              "constraint is missing")
    finally:
        if not refused:
            db("UPDATE products SET stock = %s WHERE id = %d" % (orig, fx.B))
    eq(one_value("SELECT stock FROM products WHERE id = %d" % fx.B), orig,
       "stock after the refused negative update")
    corruption("product B stock - 1",
               lambda: db("UPDATE products SET stock = stock - 1 WHERE id = %d" % fx.B),
               lambda: db("UPDATE products SET stock = %s WHERE id = %d" % (orig, fx.B)),
               [expect_stock(fx.B, 7, 6)], fx)


@test
def audit_catches_product_initial_stock_changed():
    fx = Fixture()
    orig = one_value("SELECT initial_stock FROM products WHERE id = %d" % fx.C)
    corruption("product C initial_stock - 3",
               lambda: db("UPDATE products SET initial_stock = initial_stock - 3 WHERE id = %d"
                          % fx.C),
               lambda: db("UPDATE products SET initial_stock = %s WHERE id = %d" % (orig, fx.C)),
               [expect_stock(fx.C, 5, 8)], fx)


@test
def audit_catches_product_sales_and_the_goods_sum_it_breaks():
    fx = Fixture()
    orig = one_value("SELECT sales FROM products WHERE id = %d" % fx.A)
    # A belongs to G: G's sales (5) no longer equal its products' sales (6)
    corruption("product A sales + 1",
               lambda: db("UPDATE products SET sales = sales + 1 WHERE id = %d" % fx.A),
               lambda: db("UPDATE products SET sales = %s WHERE id = %d" % (orig, fx.A)),
               [expect_psales(fx.A, 2, 3), expect_gsales(fx.G, 6, 5)], fx)


@test
def audit_catches_product_sales_of_a_product_without_goods():
    fx = Fixture()
    orig = one_value("SELECT sales FROM products WHERE id = %d" % fx.C)
    corruption("product C sales - 1",
               lambda: db("UPDATE products SET sales = sales - 1 WHERE id = %d" % fx.C),
               lambda: db("UPDATE products SET sales = %s WHERE id = %d" % (orig, fx.C)),
               [expect_psales(fx.C, 2, 1)], fx)


@test
def audit_catches_goods_sales():
    fx = Fixture()
    orig = one_value("SELECT sales FROM goods WHERE id = %d" % fx.G)
    eq(orig, "5", "goods G sales in the table")
    corruption("goods G sales + 1",
               lambda: db("UPDATE goods SET sales = sales + 1 WHERE id = %d" % fx.G),
               lambda: db("UPDATE goods SET sales = %s WHERE id = %d" % (orig, fx.G)),
               [expect_gsales(fx.G, 5, 6)], fx)


@test
def audit_catches_a_restock_row_without_its_stock():
    fx = Fixture()
    box = {}

    def corrupt():
        rows = db("INSERT INTO restocks (product_id, quantity) VALUES (%d, 4); "
                  "SELECT LAST_INSERT_ID()" % fx.A)
        box["id"] = int(rows[-1][0])

    def repair():
        if "id" in box:
            db("DELETE FROM restocks WHERE id = %d AND product_id = %d" % (box["id"], fx.A))
        else:   # the insert may have happened without us learning its id
            db("DELETE FROM restocks WHERE product_id = %d" % fx.A)
    corruption("a restock row of 4 for product A, stock unchanged", corrupt, repair,
               [expect_stock(fx.A, 12, 8)], fx)


# ---------------------------------------------------------------------------
# orders


@test
def audit_catches_order_total_count():
    fx = Fixture()
    orig = one_value("SELECT total_count FROM orders WHERE id = %d" % fx.O)
    eq(orig, "5", "order O total_count in the table")
    corruption("order O total_count + 1",
               lambda: db("UPDATE orders SET total_count = total_count + 1 WHERE id = %d" % fx.O),
               lambda: db("UPDATE orders SET total_count = %s WHERE id = %d" % (orig, fx.O)),
               [expect_count(fx.O, 5, 6)], fx)


@test
def audit_catches_order_total_amount():
    fx = Fixture()
    orig = one_value("SELECT total_amount FROM orders WHERE id = %d" % fx.O)
    eq(orig, str(fx.O_amount), "order O total_amount in the table")
    corruption("order O total_amount - 1",
               lambda: db("UPDATE orders SET total_amount = total_amount - 1 WHERE id = %d"
                          % fx.O),
               lambda: db("UPDATE orders SET total_amount = %s WHERE id = %d" % (orig, fx.O)),
               [expect_amount(fx.O, fx.O_amount, fx.O_amount - 1)], fx)


@test
def audit_catches_order_freight():
    fx = Fixture()
    orig = one_value("SELECT freight FROM orders WHERE id = %d" % fx.S)
    eq(orig, str(FREIGHT), "order S freight in the table")
    corruption("order S freight + 100",
               lambda: db("UPDATE orders SET freight = freight + 100 WHERE id = %d" % fx.S),
               lambda: db("UPDATE orders SET freight = %s WHERE id = %d" % (orig, fx.S)),
               [expect_amount(fx.S, fx.S_amount + 100, fx.S_amount)], fx)


@test
def audit_catches_a_line_quantity_in_stock_sales_and_totals():
    fx = Fixture()
    where = "order_id = %d AND product_id = %d" % (fx.O, fx.A)
    orig = one_value("SELECT quantity FROM order_lines WHERE %s" % where)
    eq(orig, "2", "quantity of A's line in order O")
    # 2 -> 3: A should have one unit less in stock and one more sold; O's
    # totals should count it; G's sales still equal its products' sales
    corruption("quantity of A's line in order O + 1",
               lambda: db("UPDATE order_lines SET quantity = quantity + 1 WHERE %s" % where),
               lambda: db("UPDATE order_lines SET quantity = %s WHERE %s" % (orig, where)),
               [expect_stock(fx.A, 7, 8), expect_psales(fx.A, 3, 2),
                expect_count(fx.O, 6, 5), expect_amount(fx.O, fx.O_amount + 300, fx.O_amount)],
               fx)


@test
def audit_catches_a_line_price():
    fx = Fixture()
    where = "order_id = %d AND product_id = %d" % (fx.O, fx.B)
    orig = one_value("SELECT price FROM order_lines WHERE %s" % where)
    eq(orig, "500", "price of B's line in order O")
    corruption("price of B's line in order O + 10 (x3 units)",
               lambda: db("UPDATE order_lines SET price = price + 10 WHERE %s" % where),
               lambda: db("UPDATE order_lines SET price = %s WHERE %s" % (orig, where)),
               [expect_amount(fx.O, fx.O_amount + 30, fx.O_amount)], fx)


@test
def audit_catches_an_order_whose_only_line_was_deleted():
    fx = Fixture()
    row = db("SELECT quantity, price FROM order_lines WHERE order_id = %d AND product_id = %d"
             % (fx.S, fx.C))
    eq(row, [["2", "700"]], "order S's only line (quantity, price)")

    def repair():
        if not db("SELECT 1 FROM order_lines WHERE order_id = %d AND product_id = %d"
                  % (fx.S, fx.C)):
            db("INSERT INTO order_lines (order_id, product_id, quantity, price) "
               "VALUES (%d, %d, 2, 700)" % (fx.S, fx.C))
    # S holds nothing any more: C's 2 units should be back on the shelf and
    # not sold; S's totals should be 0 units and just the freight
    corruption("order S's only line deleted",
               lambda: db("DELETE FROM order_lines WHERE order_id = %d AND product_id = %d"
                          % (fx.S, fx.C)),
               repair,
               [expect_stock(fx.C, 10, 8), expect_psales(fx.C, 0, 2),
                expect_count(fx.S, 0, 2), expect_amount(fx.S, FREIGHT, fx.S_amount),
                expect_no_lines(fx.S)], fx)


@test
def audit_catches_one_line_of_two_deleted():
    fx = Fixture()
    where = "order_id = %d AND product_id = %d" % (fx.O, fx.B)
    eq(db("SELECT quantity, price FROM order_lines WHERE %s" % where), [["3", "500"]],
       "B's line in order O")

    def repair():
        if not db("SELECT 1 FROM order_lines WHERE %s" % where):
            db("INSERT INTO order_lines (order_id, product_id, quantity, price) "
               "VALUES (%d, %d, 3, 500)" % (fx.O, fx.B))
    corruption("B's line of order O deleted",
               lambda: db("DELETE FROM order_lines WHERE %s" % where), repair,
               [expect_stock(fx.B, 10, 7), expect_psales(fx.B, 0, 3),
                expect_count(fx.O, 2, 5), expect_amount(fx.O, 600 + FREIGHT, fx.O_amount)], fx)


@test
def audit_catches_status_aborted_with_aborted_at_null():
    fx = Fixture()
    orig = one_value("SELECT aborted_at FROM orders WHERE id = %d" % fx.X)
    check(orig != "NULL", "aborted order X has no aborted_at in the table")
    eq(one_value("SELECT status FROM orders WHERE id = %d" % fx.X), "aborted", "X status")
    corruption("aborted order X with aborted_at NULL",
               lambda: db("UPDATE orders SET aborted_at = NULL WHERE id = %d" % fx.X),
               lambda: db("UPDATE orders SET aborted_at = '%s' WHERE id = %d" % (orig, fx.X)),
               [expect_status(fx.X)], fx)


@test
def audit_catches_placed_order_with_aborted_at_set():
    fx = Fixture()
    eq(one_value("SELECT aborted_at IS NULL FROM orders WHERE id = %d" % fx.O), "1",
       "placed order O has aborted_at NULL")
    corruption("placed order O with aborted_at set",
               lambda: db("UPDATE orders SET aborted_at = UTC_TIMESTAMP() WHERE id = %d" % fx.O),
               lambda: db("UPDATE orders SET aborted_at = NULL WHERE id = %d" % fx.O),
               [expect_status(fx.O)], fx)


@test
def audit_catches_an_order_aborted_in_the_table_without_giving_back_stock():
    fx = Fixture()
    # status and aborted_at agree, but A's 2 and B's 3 units were not returned
    corruption("order O marked aborted without restoring its lines",
               lambda: db("UPDATE orders SET status = 'aborted', aborted_at = UTC_TIMESTAMP() "
                          "WHERE id = %d" % fx.O),
               lambda: db("UPDATE orders SET status = 'placed', aborted_at = NULL WHERE id = %d"
                          % fx.O),
               [expect_stock(fx.A, 10, 8), expect_psales(fx.A, 0, 2),
                expect_stock(fx.B, 10, 7), expect_psales(fx.B, 0, 3)], fx)


@test
def audit_reports_every_violation_at_once():
    fx = Fixture()
    origs = {
        "stock": one_value("SELECT stock FROM products WHERE id = %d" % fx.B),
        "gsales": one_value("SELECT sales FROM goods WHERE id = %d" % fx.G),
        "count": one_value("SELECT total_count FROM orders WHERE id = %d" % fx.S),
    }

    def corrupt():
        db("UPDATE products SET stock = stock + 2 WHERE id = %d; "
           "UPDATE goods SET sales = sales + 1 WHERE id = %d; "
           "UPDATE orders SET total_count = total_count + 1 WHERE id = %d"
           % (fx.B, fx.G, fx.S))

    def repair():
        db("UPDATE products SET stock = %s WHERE id = %d; "
           "UPDATE goods SET sales = %s WHERE id = %d; "
           "UPDATE orders SET total_count = %s WHERE id = %d"
           % (origs["stock"], fx.B, origs["gsales"], fx.G, origs["count"], fx.S))
    corruption("three rows at once", corrupt, repair,
               [expect_stock(fx.B, 7, 9), expect_gsales(fx.G, 5, 6), expect_count(fx.S, 2, 3)],
               fx)


@test
def audit_that_cannot_reach_the_database_is_not_clean():
    import subprocess
    import shlex
    env = dict(os.environ)
    env["ORDERD_DB_SOCKET"] = "/nonexistent/orderd-audit-test.sock"
    env["ORDERD_DB_HOST"] = "localhost"
    try:
        p = subprocess.run(shlex.split(os.environ["ORDERD_BIN"]) + ["audit"], env=env,
                           capture_output=True, text=True, timeout=60)
    except (KeyError, OSError, subprocess.TimeoutExpired) as e:
        raise Fail("cannot run orderd audit: %s" % e) from None
    check(p.returncode not in (0, 1),
          "orderd audit without a database exited %d (0 = clean, 1 = violations found; "
          "neither is true): %r" % (p.returncode, (p.stdout + p.stderr)[:300]))
    check("audit: clean" not in p.stdout, "orderd audit without a database printed 'clean'")


if __name__ == "__main__":
    run()
