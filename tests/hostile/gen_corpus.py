#!/usr/bin/env python3
"""Writes the hostile-input corpus: tests/hostile/cases/NN-<category>.jsonl.

The .jsonl files are the corpus (tests/integration/test_hostile.py reads only
them); this script is how they were made, kept so that the big cases (1001
items, 64 KiB bodies, 20000 brackets) stay reproducible and reviewable. Edit
a case here and re-run `python3 tests/hostile/gen_corpus.py`, or edit the
.jsonl by hand. The format is described in tests/hostile/README.md.
"""

import base64
import collections
import json
import os
import re
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "cases")

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

MALFORMED = "/problems/malformed-body"
INVALID = "/problems/invalid-field"
NOT_FOUND = "/problems/not-found"
METHOD = "/problems/method-not-allowed"
TOO_LARGE = "/problems/body-too-large"
MEDIA = "/problems/unsupported-media-type"
UNAUTH = "/problems/unauthorized"
FORBIDDEN = "/problems/forbidden"
CSRF = "/problems/csrf"
OUT_OF_STOCK = "/problems/out-of-stock"
ORDER_STATE = "/problems/order-state"
FUNDS = "/problems/insufficient-funds"
TAKEN = "/problems/username-taken"
IDEM_REUSED = "/problems/idempotency-key-reused"

CASES = collections.OrderedDict()   # category -> [case]
_names = set()


def case(cat, name, method="POST", path="/product/", body=None, ctype=None, *,
         body_b64=None, headers=None, auth="admin", status, ptype=None, field=None,
         by="orderd", valid=False, creates=None, chunked=False, raw=None, note=None,
         location=None, version=None, cl=None, no_host=False):
    """One case. status: an int or a list of acceptable ones; ptype: the
    problem type of status[0] (other statuses get the default type of their
    code); field: the 422 `field` member (string, or a list of acceptable
    names); by: who must answer (orderd = problem+json, nginx = nginx may
    answer with its own HTML page, any = either)."""
    assert name not in _names, name
    _names.add(name)
    c = collections.OrderedDict()
    c["name"] = name
    c["method"] = method
    c["path"] = path
    if auth != "admin":
        c["auth"] = auth
    if headers:
        c["headers"] = [list(h) for h in headers]
    if ctype is not None:
        c["ctype"] = ctype
    if body is not None:
        if isinstance(body, bytes):
            try:
                text = body.decode("utf-8")
                if "\x00" in text:
                    raise UnicodeDecodeError("utf-8", body, 0, 1, "NUL kept binary")
                c["body"] = text
            except UnicodeDecodeError:
                c["body_b64"] = base64.b64encode(body).decode("ascii")
        else:
            c["body"] = body
    if body_b64 is not None:
        c["body_b64"] = body_b64
    if chunked:
        c["chunked"] = True
    if cl is not None:
        c["content_length"] = cl
    if no_host:
        c["no_host"] = True
    if version is not None:
        c["http_version"] = version
    if raw is not None:
        c["raw_request_b64"] = base64.b64encode(raw).decode("ascii")
    e = collections.OrderedDict()
    e["status"] = status if isinstance(status, list) else [status]
    if ptype is not None:
        e["type"] = ptype
    if field is not None:
        e["field"] = field
    if by != "orderd":
        e["by"] = by
    if location is not None:
        e["location"] = location
    c["expect"] = e
    if valid:
        c["valid"] = True
    if creates is not None:
        c["creates"] = creates
    if note:
        c["note"] = note
    CASES.setdefault(cat, []).append(c)
    return c


def j(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def product_body(**over):
    """A product body with one field replaced (a raw JSON text value)."""
    fields = collections.OrderedDict([("name", '"hostile-{TAG}"'), ("price", "100"),
                                      ("stock", "1")])
    for k, v in over.items():
        if v is None:
            fields.pop(k, None)
        else:
            fields[k] = v
    return "{" + ",".join('"%s":%s' % (k, v) for k, v in fields.items()) + "}"


def raw_req(method, path, headers=(), body=b"", version=b"HTTP/1.1", host=True):
    """A whole request, byte for byte ({ATOK} etc. are substituted at run time)."""
    lines = [method + b" " + path + b" " + version]
    if host:
        lines.append(b"Host: {HOSTPORT}")
    lines.append(b"Connection: close")
    lines += list(headers)
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


# ---------------------------------------------------------------------------
# 1. broken JSON

cat = "json-syntax"
P = "/product/"
for name, body in [
    ("open-brace", "{"),
    ("unterminated-object", '{"name":"x","price":1,"stock":1'),
    ("trailing-comma", '{"name":"x","price":1,"stock":1,}'),
    ("single-quotes", "{'name':'x','price':1,'stock':1}"),
    ("unquoted-keys", '{name:"x",price:1,stock:1}'),
    ("missing-comma", '{"name":"x" "price":1,"stock":1}'),
    ("missing-colon", '{"name" "x","price":1,"stock":1}'),
    ("unterminated-string", '{"name":"abc'),
    ("comment", '{/* c */"name":"x","price":1,"stock":1}'),
    ("line-comment", '{"name":"x", // c\n"price":1,"stock":1}'),
    ("trailing-garbage", '{"name":"x","price":1,"stock":1} garbage'),
    ("two-objects", '{"name":"x","price":1,"stock":1}{}'),
    ("nan", product_body(price="NaN")),
    ("infinity", product_body(price="Infinity")),
    ("neg-infinity", product_body(price="-Infinity")),
    ("hex-number", product_body(price="0x10")),
    ("leading-zero", product_body(price="0100")),
    ("plus-sign", product_body(price="+100")),
    ("bare-fraction", product_body(price=".5")),
    ("trailing-dot", product_body(price="1.")),
    ("exponent-no-digits", product_body(price="1e")),
    ("minus-alone", product_body(price="-")),
    ("bad-escape", '{"name":"a\\x41","price":1,"stock":1}'),
    ("short-unicode-escape", '{"name":"a\\u12","price":1,"stock":1}'),
    ("lone-high-surrogate-escape", '{"name":"a\\ud800","price":1,"stock":1}'),
    ("lone-low-surrogate-escape", '{"name":"a\\udc00","price":1,"stock":1}'),
    ("root-array", '[{"name":"x","price":1,"stock":1}]'),
    ("root-string", '"name"'),
    ("root-number", "123"),
    ("root-null", "null"),
    ("root-true", "true"),
    ("whitespace-only", "   \r\n\t "),
    ("python-literals", "{'name': None, 'price': True}"),
    ("true-capital", product_body(stock="True")),
    ("unclosed-array-member", '{"name":["x","price":1}'),
    ("extra-close", '{"name":"x","price":1,"stock":1}}'),
]:
    status = [400, 422] if name in ("lone-high-surrogate-escape", "lone-low-surrogate-escape") \
        else 400
    case(cat, "json-" + name, "POST", P, body, JSON, status=status, ptype=MALFORMED)
case(cat, "json-bom-prefix", "POST", P, "\ufeff" + product_body(stock=None), JSON,
     status=[400, 422], ptype=MALFORMED, note="RFC 8259: no BOM; ignoring it is allowed, "
     "then the missing stock is a 422")
case(cat, "json-raw-control-char-in-string", "POST", P,
     '{"name":"a\x01b","price":1,"stock":1}', JSON, status=[400, 422], ptype=MALFORMED)
case(cat, "json-raw-newline-in-name", "POST", P, '{"name":"a\nb","price":1,"stock":1}', JSON,
     status=[400, 422], ptype=MALFORMED)
case(cat, "json-empty-object", "POST", P, "{}", JSON, status=422, ptype=INVALID,
     field=["name", "price", "stock"])

# 2. deeply nested JSON
cat = "json-depth"
case(cat, "json-depth-20000-arrays", "POST", P, "[" * 20000 + "]" * 20000, JSON,
     status=400, ptype=MALFORMED)
case(cat, "json-depth-20000-unclosed", "POST", P, "[" * 20000, JSON, status=400,
     ptype=MALFORMED)
case(cat, "json-depth-5000-objects", "POST", P, '{"a":' * 5000 + "1" + "}" * 5000, JSON,
     status=400, ptype=MALFORMED)
case(cat, "json-depth-17-in-name", "POST", P,
     '{"name":' + "[" * 17 + "]" * 17 + ',"price":1,"stock":1}', JSON,
     status=[400, 422], ptype=MALFORMED, field="name")
case(cat, "json-depth-16-in-name", "POST", P,
     '{"name":' + "[" * 15 + "]" * 15 + ',"price":1,"stock":1}', JSON,
     status=[422, 400], ptype=INVALID, field="name")
case(cat, "json-depth-in-items", "POST", "/checkout/",
     '{"items":[{"product":' + "[" * 30 + "]" * 30 + ',"quantity":1}],"pay_method":"cod"}',
     JSON, auth="user", status=[400, 422], ptype=MALFORMED)
case(cat, "json-many-numbers", "POST", P,
     '{"name":[' + ",".join(["1"] * 5000) + '],"price":1,"stock":1}', JSON,
     status=[400, 422], ptype=MALFORMED)
case(cat, "json-100-fields", "POST", P,
     "{" + ",".join('"f%d":%d' % (i, i) for i in range(100)) + "}", JSON,
     status=[400, 422], ptype=MALFORMED)

# ---------------------------------------------------------------------------
# 3. numbers: huge, negative, fractional, overflowing, exponent

cat = "numbers"
for fld, val, note in [
    ("price", "-1", "negative"),
    ("price", "1.5", "fractional"),
    ("price", "1.0", "fractional zero"),
    ("price", "100.000", "fractional zeros"),
    ("price", "1e3", "exponent"),
    ("price", "1E+2", "exponent capital"),
    ("price", "1e-2", "negative exponent"),
    ("price", "0e0", "zero exponent"),
    ("price", "1000000000001", "above 10^12"),
    ("price", "9223372036854775807", "int64 max"),
    ("price", "9223372036854775808", "int64 max + 1"),
    ("price", "18446744073709551616", "2^64"),
    ("price", "-9223372036854775808", "int64 min"),
    ("price", "-9223372036854775809", "below int64 min"),
    ("price", "1e400", "double overflow"),
    ("price", "-1e400", "negative double overflow"),
    ("price", "1" * 400, "400 digits"),
    ("price", "0." + "0" * 300 + "1", "tiny"),
    ("price", "-0.0", "negative zero fractional"),
    ("stock", "1000000001", "above 10^9"),
    ("stock", "-1", "negative stock"),
    ("stock", "2.5", "fractional stock"),
    ("stock", "9007199254740993", "2^53+1"),
    ("stock", "1e9", "exponent within range"),
]:
    case(cat, "num-%s-%s" % (fld, note.replace(" ", "-").replace("^", "")), "POST", P,
         product_body(**{fld: val}), JSON, status=422, ptype=INVALID, field=fld, note=note)
for fld, val, note in [
    ("price", "1.5", "form fractional"),
    ("price", "1e3", "form exponent"),
    ("price", "-5", "form negative"),
    ("price", "99999999999999999999", "form overflow"),
    ("stock", "0x10", "form hex"),
    ("stock", "%2B5", "form plus sign"),
    ("stock", "1%2C000", "form thousands separator"),
    ("stock", "%D9%A1%D9%A2", "form arabic-indic digits"),
    ("stock", "%EF%BC%91", "form fullwidth digit"),
    ("stock", "", "form empty"),
]:
    body = "name=hostile-{TAG}&price=100&stock=1".replace(
        "%s=%s" % (fld, "100" if fld == "price" else "1"), "%s=%s" % (fld, val))
    case(cat, "num-%s-%s" % (fld, note.replace(" ", "-")), "POST", P, body, FORM,
         status=422, ptype=INVALID, field=fld, note=note)
for val, note in [("0", "zero"), ("-1", "negative"), ("10001", "above 10000"),
                  ("1.5", "fractional"), ("1e2", "exponent"), ("99999999999999999999", "overflow")]:
    case(cat, "num-order-quantity-" + note.replace(" ", "-"), "POST", "/order/",
         '{"product":{P},"quantity":%s}' % val, JSON, auth="user", status=422, ptype=INVALID,
         field="quantity")
for val, note in [("0", "zero"), ("-1", "negative"), ("9223372036854775808", "int64 overflow"),
                  ("1.0", "fractional"), ("1e1", "exponent")]:
    case(cat, "num-order-product-" + note.replace(" ", "-"), "POST", "/order/",
         '{"product":%s}' % val, JSON, auth="user", status=422, ptype=INVALID, field="product")
case(cat, "num-order-product-int64-max-missing", "POST", "/order/",
     '{"product":9223372036854775807}', JSON, auth="user", status=[404, 422], ptype=NOT_FOUND,
     note="a well-formed id that does not exist")
for val, note in [("0", "zero"), ("-5", "negative"), ("1000000001", "above 10^9"),
                  ("2.5", "fractional"), ("1e3", "exponent")]:
    case(cat, "num-restock-" + note.replace(" ", "-").replace("^", ""), "POST",
         "/product/{P}/restock/", '{"quantity":%s}' % val, JSON, status=422, ptype=INVALID,
         field="quantity")
for q, note in [("limit=0", "limit-zero"), ("limit=201", "limit-201"), ("limit=-1", "limit-negative"),
                ("limit=1.5", "limit-fractional"), ("limit=1e1", "limit-exponent"),
                ("after=-1", "after-negative"), ("after=99999999999999999999", "after-overflow"),
                ("limit=1&limit=2", "limit-twice")]:
    fld = q.split("=")[0]
    case(cat, "num-query-" + note, "GET", "/product/?" + q, status=422, ptype=INVALID, field=fld)
for val, note in [("0", "zero"), ("-1", "negative"), ("1000000000001", "above 10^12"),
                  ("1.5", "fractional"), ("1e2", "exponent")]:
    case(cat, "num-credit-amount-" + note.replace(" ", "-").replace("^", ""), "POST",
         "/account/{U}/credit/", '{"amount":%s}' % val, JSON, status=422, ptype=INVALID,
         field="amount")

# 4. strings where numbers belong
cat = "strings-for-numbers"
for fld, val in [("price", '"abc"'), ("price", '"12abc"'), ("price", '"0x1F"'),
                 ("price", '"1 2"'), ("price", '""'), ("price", '"NaN"'),
                 ("stock", '"Infinity"'), ("stock", '"one"'), ("stock", '"1e3"'),
                 ("stock", '"-0.5"'), ("price", "true"), ("price", "null"), ("price", "[]"),
                 ("price", "{}"), ("price", "[100]"), ("stock", '{"value":1}')]:
    label = {"[]": "empty-array", "{}": "empty-object", '""': "empty-string"}.get(val) or \
        "".join(ch if ch.isalnum() else "_" for ch in val).strip("_")
    case(cat, "str-%s-%s" % (fld, label), "POST",
         P, product_body(**{fld: val}), JSON, status=422, ptype=INVALID, field=fld)
case(cat, "str-order-product-name", "POST", "/order/", '{"product":"espresso"}', JSON,
     auth="user", status=422, ptype=INVALID, field="product")
case(cat, "str-order-quantity-word", "POST", "/order/", '{"product":{P},"quantity":"two"}',
     JSON, auth="user", status=422, ptype=INVALID, field="quantity")
case(cat, "str-name-number", "POST", P, product_body(name="123"), JSON, status=422,
     ptype=INVALID, field="name")
case(cat, "str-name-null", "POST", P, product_body(name="null"), JSON, status=422,
     ptype=INVALID, field="name")
case(cat, "str-name-array", "POST", P, product_body(name='["x"]'), JSON, status=422,
     ptype=INVALID, field="name")
case(cat, "str-name-object", "POST", P, product_body(name='{"x":1}'), JSON, status=422,
     ptype=INVALID, field="name")
case(cat, "str-name-bool", "POST", P, product_body(name="false"), JSON, status=422,
     ptype=INVALID, field="name")

# ---------------------------------------------------------------------------
# 5. non-UTF-8 and overlong UTF-8

cat = "utf8"
for name, bad in [("ff-byte", b"\xff"), ("fe-byte", b"\xfe"), ("overlong-slash", b"\xc0\xaf"),
                  ("overlong-lt", b"\xc0\xbc"), ("overlong-3byte", b"\xe0\x80\xaf"),
                  ("overlong-4byte", b"\xf0\x80\x80\xaf"), ("surrogate", b"\xed\xa0\x80"),
                  ("above-10ffff", b"\xf4\x90\x80\x80"), ("truncated-3byte", b"\xe2\x82"),
                  ("lone-continuation", b"\x80"), ("latin1-e-acute", b"\xe9")]:
    case(cat, "utf8-json-" + name, "POST", P,
         b'{"name":"a' + bad + b'b","price":1,"stock":1}', JSON, status=400, ptype=MALFORMED)
case(cat, "utf8-json-truncated-at-end", "POST", P, b'{"name":"ab","price":1,"stock":1}\xe2\x82',
     JSON, status=400, ptype=MALFORMED)
case(cat, "utf8-json-utf16le-body", "POST", P,
     b"\xff\xfe" + '{"name":"x","price":1,"stock":1}'.encode("utf-16-le"), JSON,
     status=[400, 415], ptype=MALFORMED)
case(cat, "utf8-json-latin1-charset", "POST", P, b'{"name":"caf\xe9","price":1,"stock":1}',
     "application/json; charset=iso-8859-1", status=[400, 415], ptype=MALFORMED)
for name, enc in [("pct-ff", "%FF"), ("pct-overlong-slash", "%C0%AF"),
                  ("pct-overlong-lt", "%C0%BC"), ("pct-surrogate", "%ED%A0%80"),
                  ("pct-above-10ffff", "%F4%90%80%80"), ("pct-truncated", "%E2%82")]:
    case(cat, "utf8-form-" + name, "POST", P, "name=a%sb&price=1&stock=1" % enc, FORM,
         status=400, ptype=MALFORMED)
case(cat, "utf8-form-raw-ff", "POST", P, b"name=a\xffb&price=1&stock=1", FORM, status=400,
     ptype=MALFORMED)
case(cat, "utf8-form-bad-key", "POST", P, "%FF=1&name=x&price=1&stock=1", FORM,
     status=400, ptype=MALFORMED)
case(cat, "utf8-query-ff", "GET", "/product/?limit=%FF", status=[400, 422], ptype=MALFORMED)
case(cat, "utf8-query-key-overlong", "GET", "/product/?%C0%AF=1", status=[400, 200],
     ptype=MALFORMED, valid=True, note="an unknown query parameter may be ignored")
case(cat, "utf8-c1-control-in-name", "POST", P, '{"name":"a\u0085b","price":1,"stock":1}',
     JSON, status=[422, 400], ptype=INVALID, field="name")

# 6. NUL bytes
cat = "nul"
case(cat, "nul-raw-in-json-body", "POST", P, b'{"name":"a\x00b","price":1,"stock":1}', JSON,
     status=400, ptype=MALFORMED)
case(cat, "nul-raw-after-json", "POST", P, b'{"name":"ab","price":1,"stock":1}\x00', JSON,
     status=400, ptype=MALFORMED)
case(cat, "nul-escape-in-name", "POST", P, '{"name":"a\\u0000b","price":1,"stock":1}', JSON,
     status=400, ptype=MALFORMED, field="name")
case(cat, "nul-escape-in-key", "POST", P, '{"na\\u0000me":"x","price":1,"stock":1}', JSON,
     status=400, ptype=MALFORMED)
case(cat, "nul-escape-in-number-string", "POST", P, product_body(price='"1\\u0000"'), JSON,
     status=400, ptype=MALFORMED, field="price")
case(cat, "nul-pct-in-form-value", "POST", P, "name=a%00b&price=1&stock=1", FORM,
     status=400, ptype=MALFORMED, field="name")
case(cat, "nul-pct-in-form-key", "POST", P, "na%00me=x&price=1&stock=1", FORM,
     status=400, ptype=MALFORMED)
case(cat, "nul-raw-in-form", "POST", P, b"name=a\x00b&price=1&stock=1", FORM,
     status=400, ptype=MALFORMED)
case(cat, "nul-pct-in-path", "GET", "/product/%00/", status=[400, 404], ptype=MALFORMED,
     by="any")
case(cat, "nul-pct-in-id", "GET", "/product/1%00/", status=[400, 404], ptype=MALFORMED,
     by="any")
case(cat, "nul-pct-in-query", "GET", "/product/?limit=1%00", status=[400, 422],
     ptype=MALFORMED)
case(cat, "nul-raw-in-path", "GET", "", raw=raw_req(b"GET", b"/product/\x00/"), status=400,
     by="nginx")
case(cat, "nul-raw-in-header", "GET", "",
     raw=raw_req(b"GET", b"/product/", [b"X-Note: a\x00b"]), status=400, by="nginx")
case(cat, "nul-pct-in-credit-name", "POST", "/account/a%00b/credit/", '{"amount":1}', JSON,
     status=[400, 404], ptype=NOT_FOUND, by="any")
case(cat, "nul-in-password-json", "POST", "/auth/register/",
     '{"username":"nul_{TAG}","password":"abcd\\u0000efgh"}', JSON, auth="none",
     status=[400, 422], ptype=MALFORMED, field="password")
case(cat, "nul-in-password-form", "POST", "/auth/register/",
     "username=nulf_{TAG}&password=abcd%00efgh", FORM, auth="none", status=[400, 422],
     ptype=MALFORMED, field="password")
case(cat, "nul-in-username", "POST", "/auth/register/",
     '{"username":"nu\\u0000l_{TAG}","password":"long enough pw"}', JSON, auth="none",
     status=[400, 422], ptype=MALFORMED, field="username")

# ---------------------------------------------------------------------------
# 7. overlong fields and names

cat = "overlong"
case(cat, "long-name-201-chars", "POST", P, product_body(name=j("n" * 201)), JSON, status=422,
     ptype=INVALID, field="name")
case(cat, "long-name-201-two-byte-chars", "POST", P, product_body(name=j("\u00e9" * 201)),
     JSON, status=422, ptype=INVALID, field="name")
case(cat, "long-name-5000", "POST", P, product_body(name=j("n" * 5000)), JSON,
     status=[422, 400], ptype=INVALID, field="name")
case(cat, "long-name-60000", "POST", P, product_body(name=j("n" * 60000)), JSON,
     status=[422, 400], ptype=INVALID, field="name")
case(cat, "long-name-60000-form", "POST", P, "price=1&stock=1&name=" + "n" * 60000, FORM,
     status=[422, 400], ptype=INVALID, field="name")
case(cat, "long-field-name-65", "POST", P, product_body(**{"f" * 65: "1"}), JSON,
     status=[400, 422], ptype=MALFORMED)
case(cat, "long-field-name-10000", "POST", P, product_body(**{"f" * 10000: "1"}), JSON,
     status=[400, 422], ptype=MALFORMED)
case(cat, "long-field-name-10000-form", "POST", P,
     "name=x&price=1&stock=1&" + "f" * 10000 + "=1", FORM, status=[400, 422], ptype=MALFORMED)
case(cat, "long-pay-method", "POST", "/checkout/",
     '{"items":[{"product":{P},"quantity":1}],"pay_method":"%s"}' % ("b" * 300), JSON,
     auth="user", status=422, ptype=INVALID, field="pay_method")
case(cat, "long-transfer-to-65", "POST", "/transfer/", '{"to":"%s","amount":1}' % ("t" * 65),
     JSON, auth="user", status=[422, 404], ptype=INVALID, field="to")
case(cat, "long-path-2000", "GET", "/product/" + "1" * 2000 + "/", status=404, ptype=NOT_FOUND)
case(cat, "long-path-segment-5000", "GET", "/order/" + "a" * 5000 + "/", status=404,
     ptype=NOT_FOUND)
case(cat, "long-uri-20000", "GET", "/product/" + "a" * 20000, status=[414, 404, 400],
     ptype=NOT_FOUND, by="nginx")
case(cat, "long-query-value", "GET", "/product/?limit=" + "1" * 5000, status=[422, 400],
     ptype=INVALID, field="limit")
case(cat, "long-header-value", "POST", P, product_body(stock=None), JSON,
     headers=[("X-Junk", "j" * 9000)], status=[400, 431, 422], by="nginx")
case(cat, "long-header-name", "POST", P, product_body(stock=None), JSON,
     headers=[("X-" + "h" * 9000, "1")], status=[400, 431, 422], by="nginx")
case(cat, "many-headers", "POST", P, product_body(stock=None), JSON,
     headers=[("X-H%d" % i, "v" * 100) for i in range(300)], status=[400, 431, 422],
     field="stock", by="nginx")
case(cat, "long-accept", "POST", P, product_body(stock=None), JSON,
     headers=[("Accept", "application/json;q=0.9," + ",".join(["text/x%d" % i for i in range(600)]))],
     status=422, ptype=INVALID, field="stock")
case(cat, "long-next-field", "POST", P, product_body(stock=None, next=j("/" + "a" * 3000)),
     JSON, status=422, ptype=INVALID, field="stock")

# ---------------------------------------------------------------------------
# 8. duplicated, unknown, missing fields

cat = "fields"
case(cat, "dup-json-name", "POST", P, '{"name":"a","name":"b","price":1,"stock":1}', JSON,
     status=422, ptype=INVALID, field="name")
case(cat, "dup-json-price-different-types", "POST", P,
     '{"name":"a","price":1,"price":"1","stock":1}', JSON, status=422, ptype=INVALID,
     field="price")
case(cat, "dup-form-price", "POST", P, "name=x&price=1&price=2&stock=1", FORM, status=422,
     ptype=INVALID, field="price")
case(cat, "dup-form-name-encoded-key", "POST", P, "name=x&n%61me=y&price=1&stock=1", FORM,
     status=422, ptype=INVALID, field="name")
case(cat, "dup-json-items", "POST", "/checkout/",
     '{"items":[{"product":{P}}],"items":[{"product":{P}}],"pay_method":"cod"}', JSON,
     auth="user", status=422, ptype=INVALID, field="items")
case(cat, "dup-query-after", "GET", "/product/?after=1&after=2", status=422, ptype=INVALID,
     field="after")
for fld in ["admin", "id", "sales", "Name", "__proto__", "constructor", "name ", "role"]:
    case(cat, "unknown-json-" + "".join(ch if ch.isalnum() else "_" for ch in fld), "POST", P,
         product_body(**{fld: '"x"'}), JSON, status=422, ptype=INVALID, field=fld)
case(cat, "unknown-form-foo", "POST", P, "name=x&price=1&stock=1&foo=bar", FORM, status=422,
     ptype=INVALID, field="foo")
case(cat, "unknown-form-array-syntax", "POST", P, "name[]=x&price=1&stock=1", FORM, status=422,
     ptype=INVALID, field="name[]")
case(cat, "known-but-not-here-price-on-order", "POST", "/order/", '{"product":{P},"price":0}',
     JSON, auth="user", status=422, ptype=INVALID, field="price")
case(cat, "known-but-not-here-items-on-order", "POST", "/order/",
     '{"product":{P},"items":[{"product":{P}}]}', JSON, auth="user", status=422, ptype=INVALID,
     field="items")
case(cat, "known-but-not-here-name-on-restock", "POST", "/product/{P}/restock/",
     '{"quantity":1,"name":"x"}', JSON, status=422, ptype=INVALID, field="name")
case(cat, "body-on-pay", "POST", "/order/{O}/pay/", '{"amount":1}', JSON, auth="user",
     status=422, ptype=INVALID, field="amount")
case(cat, "body-on-abort", "POST", "/order/{O}/abort/", '{"quantity":1}', JSON, auth="user",
     status=422, ptype=INVALID, field="quantity")
case(cat, "body-on-logout-unknown", "POST", "/auth/logout/", '{"everywhere":true}', JSON,
     auth="user", status=422, ptype=INVALID, field="everywhere")
case(cat, "missing-name", "POST", P, product_body(name=None), JSON, status=422, ptype=INVALID,
     field="name")
case(cat, "missing-price", "POST", P, product_body(price=None), JSON, status=422,
     ptype=INVALID, field="price")
case(cat, "missing-stock", "POST", P, product_body(stock=None), JSON, status=422,
     ptype=INVALID, field="stock")
case(cat, "missing-all-empty-body", "POST", P, None, None, status=422, ptype=INVALID,
     field=["name", "price", "stock"])
case(cat, "missing-all-empty-form", "POST", P, "", FORM, status=422, ptype=INVALID,
     field=["name", "price", "stock"])
case(cat, "missing-all-ampersands", "POST", P, "&&&", FORM, status=422, ptype=INVALID,
     field=["name", "price", "stock"])
case(cat, "form-key-without-value", "POST", P, "name&price=1&stock=1", FORM, status=422,
     ptype=INVALID, field="name")
case(cat, "form-empty-key", "POST", P, "=x&name=x&price=1&stock=1", FORM, status=[400, 422],
     ptype=MALFORMED)
case(cat, "form-semicolon-separator", "POST", P, "name=x;price=1;stock=1", FORM, status=422,
     ptype=INVALID, field=["price", "stock"])
case(cat, "form-too-many-fields", "POST", P,
     "&".join("f%d=1" % i for i in range(100)), FORM, status=[400, 422], ptype=MALFORMED)
case(cat, "missing-order-product", "POST", "/order/", '{"quantity":1}', JSON, auth="user",
     status=422, ptype=INVALID, field="product")
case(cat, "missing-restock-quantity", "POST", "/product/{P}/restock/", "{}", JSON, status=422,
     ptype=INVALID, field="quantity")
case(cat, "goods-missing-name", "POST", "/goods/", "{}", JSON, status=422, ptype=INVALID,
     field="name")
case(cat, "product-unknown-goods", "POST", P, product_body(goods="9223372036854775807"), JSON,
     status=422, ptype=INVALID, field="goods")

# ---------------------------------------------------------------------------
# 9. content types and multipart

cat = "content-type"
for name, ct in [("text-plain", "text/plain"), ("text-html", "text/html"),
                 ("xml", "application/xml"), ("json-patch", "application/json-patch+json"),
                 ("jsonx", "application/jsonx"), ("json-suffix-vendor", "application/vnd.api+json"),
                 ("star-star", "*/*"), ("garbage", "garbage"), ("empty-type", ""),
                 ("octet-stream", "application/octet-stream"),
                 ("form-prefix-junk", "xapplication/x-www-form-urlencoded")]:
    case(cat, "ctype-" + name, "POST", P, product_body(), ct, status=415, ptype=MEDIA)
case(cat, "ctype-missing-with-body", "POST", P, product_body(), None, status=415, ptype=MEDIA)
case(cat, "ctype-uppercase-json", "POST", P, product_body(stock=None), "APPLICATION/JSON",
     status=422, ptype=INVALID, field="stock", note="media types are case-insensitive")
case(cat, "ctype-form-with-json-body", "POST", P, product_body(), FORM, status=[400, 422],
     ptype=INVALID)
case(cat, "ctype-json-with-form-body", "POST", P, "name=x&price=1&stock=1", JSON, status=400,
     ptype=MALFORMED)
case(cat, "ctype-xml-on-login", "POST", "/auth/login/",
     "<login><username>a</username></login>", "application/xml", auth="none", status=415,
     ptype=MEDIA)
case(cat, "ctype-two-headers", "POST", P, j({"name": "two-ctypes-{TAG}", "price": 9, "stock": 9}),
     headers=[("Content-Type", JSON), ("Content-Type", "text/plain")],
     status=[400, 415, 201], ptype=MALFORMED, by="any", valid=True,
     creates={"table": "products", "name": "two-ctypes-{TAG}", "price": 9, "stock": 9},
     note="two Content-Type headers: nginx passes the first (JSON) as CONTENT_TYPE, so a "
     "201 is acceptable; refusing is too")
case(cat, "content-encoding-gzip", "POST", P,
     base64.b64decode("H4sIAAAAAAAAA6tWykvMTVWyUkpJTc7PLUhNUdJRKijKL0hNzc1XsjI0qAUAPDAFWCIAAAA="),
     JSON, headers=[("Content-Encoding", "gzip")], status=[400, 415], ptype=MALFORMED,
     note="gzip bytes are not UTF-8 JSON; nothing decodes Content-Encoding")
cat = "multipart"
MP = ("--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"price\"\r\n\r\n1\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"stock\"\r\n\r\n1\r\n--XyZ--\r\n")
case(cat, "multipart-form-data", "POST", P, MP, "multipart/form-data; boundary=XyZ", status=415,
     ptype=MEDIA)
case(cat, "multipart-no-boundary", "POST", P, MP, "multipart/form-data", status=415,
     ptype=MEDIA)
case(cat, "multipart-file-upload", "POST", P,
     "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"../../etc/passwd\"\r\n"
     "Content-Type: application/octet-stream\r\n\r\n\x7fELF\r\n--b--\r\n",
     "multipart/form-data; boundary=b", status=415, ptype=MEDIA)
case(cat, "multipart-mixed", "POST", "/order/", MP, "multipart/mixed; boundary=XyZ",
     auth="user", status=415, ptype=MEDIA)
case(cat, "multipart-register", "POST", "/auth/register/", MP,
     "multipart/form-data; boundary=XyZ", auth="none", status=415, ptype=MEDIA)

# ---------------------------------------------------------------------------
# 10. oversize bodies

cat = "oversize"
big = '{"name":"' + "x" * 70000 + '","price":1,"stock":1}'
case(cat, "oversize-json-70k", "POST", P, big, JSON, status=413, ptype=TOO_LARGE, by="orderd")
case(cat, "oversize-form-65537", "POST", P, "name=" + "x" * (65537 - 5), FORM, status=413,
     ptype=TOO_LARGE, by="orderd")
case(cat, "oversize-300k", "POST", P, "x" * 300000, JSON, status=413, ptype=TOO_LARGE,
     by="orderd")
case(cat, "oversize-exactly-64k-ok", "POST", P, "{}" + " " * (65536 - 2), JSON, status=422,
     ptype=INVALID, field=["name", "price", "stock"],
     note="64 KiB exactly is allowed: a 422 for the missing fields")
case(cat, "oversize-content-length-only", "POST", "", status=413, ptype=TOO_LARGE, by="orderd",
     raw=raw_req(b"POST", b"/product/", [b"Authorization: Bearer {ATOK}",
                                         b"Content-Type: application/json",
                                         b"Content-Length: 1000000000000"]))
case(cat, "oversize-content-length-overflow", "POST", "", status=[400, 413], ptype=TOO_LARGE,
     by="nginx", raw=raw_req(b"POST", b"/product/", [b"Authorization: Bearer {ATOK}",
                                                     b"Content-Type: application/json",
                                                     b"Content-Length: 99999999999999999999999"]))
case(cat, "oversize-content-length-negative", "POST", "", status=400, by="nginx",
     raw=raw_req(b"POST", b"/product/", [b"Authorization: Bearer {ATOK}",
                                         b"Content-Type: application/json",
                                         b"Content-Length: -1"], b"{}"))
case(cat, "oversize-content-length-garbage", "POST", "", status=400, by="nginx",
     raw=raw_req(b"POST", b"/product/", [b"Authorization: Bearer {ATOK}",
                                         b"Content-Type: application/json",
                                         b"Content-Length: 12abc"], b"{}"))
case(cat, "oversize-two-content-lengths", "POST", "", status=400, by="nginx",
     raw=raw_req(b"POST", b"/product/", [b"Authorization: Bearer {ATOK}",
                                         b"Content-Type: application/json",
                                         b"Content-Length: 2", b"Content-Length: 3"], b"{} "))
case(cat, "oversize-content-length-short", "POST", "", status=400, ptype=MALFORMED,
     raw=raw_req(b"POST", b"/product/", [b"Authorization: Bearer {ATOK}",
                                         b"Content-Type: application/json",
                                         b"Content-Length: 5"],
                 b'{"name":"x","price":1,"stock":1}'),
     note="only '{\"nam' is the body; the rest is ignored (Connection: close)")
case(cat, "oversize-on-register", "POST", "/auth/register/", "x" * 70000, FORM, auth="none",
     status=413, ptype=TOO_LARGE, by="orderd")

# 11. chunked bodies
cat = "chunked"
case(cat, "chunked-broken-json", "POST", P, '{"name":"x","price":', JSON, chunked=True,
     status=400, ptype=MALFORMED)
case(cat, "chunked-missing-field", "POST", P, product_body(stock=None), JSON, chunked=True,
     status=422, ptype=INVALID, field="stock")
case(cat, "chunked-70k", "POST", P, big, JSON, chunked=True, status=413, ptype=TOO_LARGE,
     by="orderd")
case(cat, "chunked-nul", "POST", P, b'{"name":"a\x00","price":1,"stock":1}', JSON,
     chunked=True, status=400, ptype=MALFORMED)


def chunk(data):
    return b"%x\r\n" % len(data) + data + b"\r\n"


def chunked_raw(chunks, extra=()):
    return raw_req(b"POST", b"/product/", [b"Authorization: Bearer {ATOK}",
                                           b"Content-Type: application/json",
                                           b"Transfer-Encoding: chunked"] + list(extra), chunks)


case(cat, "chunked-bad-size", "POST", "", status=400, by="nginx",
     raw=chunked_raw(b"zz\r\n{}\r\n0\r\n\r\n"))
case(cat, "chunked-size-overflow", "POST", "", status=[400, 413], by="nginx",
     raw=chunked_raw(b"ffffffffffffffffffff\r\n{}\r\n0\r\n\r\n"))
case(cat, "chunked-negative-size", "POST", "", status=400, by="nginx",
     raw=chunked_raw(b"-2\r\n{}\r\n0\r\n\r\n"))
case(cat, "chunked-with-extension", "POST", "", status=422, ptype=INVALID, field="stock",
     raw=chunked_raw(chunk(b'{"name":"x","price":100}').replace(b"\r\n", b';ext="x"\r\n', 1)
                    + b"0\r\n\r\n"))
case(cat, "chunked-with-trailer", "POST", "", status=422, ptype=INVALID, field="stock",
     raw=chunked_raw(chunk(b'{"name":"x","price":100}') + b"0\r\nX-Trailer: 1\r\n\r\n"))
case(cat, "chunked-many-tiny-chunks", "POST", "", status=422, ptype=INVALID, field="stock",
     raw=chunked_raw(b"".join(b"1\r\n" + bytes([ch]) + b"\r\n"
                              for ch in b'{"name":"x","price":100}') + b"0\r\n\r\n"))
case(cat, "chunked-plus-content-length", "POST", "", status=[400, 422], by="nginx",
     raw=chunked_raw(b"2\r\n{}\r\n0\r\n\r\n", [b"Content-Length: 2"]),
     note="request smuggling shape")
case(cat, "chunked-te-gzip", "POST", "", status=[400, 415], by="nginx",
     raw=raw_req(b"POST", b"/product/", [b"Authorization: Bearer {ATOK}",
                                         b"Content-Type: application/json",
                                         b"Transfer-Encoding: gzip, chunked"],
                 b"2\r\n{}\r\n0\r\n\r\n"),
     note="an unknown transfer coding: a client error (api.md: a 5xx is never the client's "
     "mistake), though nginx's default is 501")
case(cat, "chunked-te-identity", "POST", "", status=[400, 415, 422], by="nginx",
     raw=raw_req(b"POST", b"/product/", [b"Authorization: Bearer {ATOK}",
                                         b"Content-Type: application/json",
                                         b"Transfer-Encoding: identity", b"Content-Length: 2"],
                 b"{}"),
     note="Transfer-Encoding identity was removed in RFC 7230")

# ---------------------------------------------------------------------------
# 12. odd methods

cat = "methods"
for m, path, in [("PATCH", "/product/{P}/"), ("DELETE", "/product/{P}/"), ("PUT", "/product/"),
                 ("DELETE", "/order/{O}/"), ("PATCH", "/order/{O}/abort/"), ("PUT", "/checkout/"),
                 ("GET", "/checkout/"), ("GET", "/transfer/"), ("DELETE", "/account/"),
                 ("POST", "/account/"), ("GET", "/auth/login/"), ("GET", "/auth/register/"),
                 ("PUT", "/auth/logout/"), ("PROPFIND", "/product/"), ("MKCOL", "/product/"),
                 ("COPY", "/product/{P}/"), ("MOVE", "/product/{P}/"), ("LOCK", "/order/"),
                 ("FOO", "/product/"), ("BREW", "/order/"), ("_", "/product/"),
                 ("X-GARBAGE_TOKEN", "/order/"), ("GET", "/order/{O}/pay/"), ("POST", "/status/"),
                 ("DELETE", "/order/{O}/abort/"), ("POST", "/goods/{P}/"), ("PUT", "/product/{P}/restock/")]:
    auth = "user" if path.startswith(("/order", "/checkout", "/transfer", "/account")) else "admin"
    if path in ("/auth/login/", "/auth/register/"):
        auth = "none"
    elif path.startswith("/auth/"):
        auth = "user"
    case(cat, "method-%s-%s" % (m.lower(), path.strip("/").replace("/", "-")
                                .replace("{", "").replace("}", "") or "root"),
         m, path, auth=auth, status=405, ptype=METHOD)
case(cat, "method-head-missing-order", "HEAD", "/order/0/", auth="user", status=404,
     ptype=NOT_FOUND, note="a HEAD answer has no body: only status and type are checked")
case(cat, "method-head-post-only", "HEAD", "/checkout/", auth="user", status=405, ptype=METHOD)
case(cat, "method-head-bad-limit", "HEAD", "/product/?limit=0", status=422, ptype=INVALID)
case(cat, "method-options", "OPTIONS", "/product/", status=[405, 204, 200], ptype=METHOD,
     valid=True, note="OPTIONS may be answered, or refused with 405 + Allow")
case(cat, "method-trace", "TRACE", "/product/", status=405, by="nginx",
     note="nginx refuses TRACE itself")
case(cat, "method-connect", "", status=[400, 405], by="nginx",
     raw=raw_req(b"CONNECT", b"127.0.0.1:80"))
case(cat, "method-lowercase", "", status=[400, 405], by="nginx",
     raw=raw_req(b"get", b"/product/"))
case(cat, "method-control-char", "", status=400, by="nginx",
     raw=raw_req(b"GE\x01T", b"/product/"))
case(cat, "method-2000-chars", "", status=[400, 405], ptype=METHOD, by="any",
     raw=raw_req(b"A" * 2000, b"/product/"))
case(cat, "method-options-star", "", status=[400, 405], by="nginx",
     raw=raw_req(b"OPTIONS", b"*"))

# ---------------------------------------------------------------------------
# 13. odd paths

cat = "paths"
for path, note in [("/order/0/", "id zero"), ("/order/-1/", "negative id"),
                   ("/order/1.5/", "fractional id"), ("/order/9223372036854775808/", "2^63"),
                   ("/order/18446744073709551616/", "2^64"), ("/order/9223372036854775807/",
                                                               "int64 max, no such order"),
                   ("/order/00001/", "leading zeros"), ("/order/1e3/", "exponent id"),
                   ("/order/0x10/", "hex id"), ("/order/%2B1/", "plus sign"),
                   ("/order/{O}abc/", "id with suffix"), ("/order/{O}/abort/extra/", "extra segment"),
                   ("/order/{O}/{O}/", "id twice"), ("/order/ /", "space")]:
    if " " in path:
        continue
    case(cat, "path-" + note.replace(" ", "-").replace(",", "").replace("^", ""), "GET", path,
         auth="user", status=404, ptype=NOT_FOUND)
for path, note, st in [
    ("/product/0/", "product zero", 404), ("/product/-1/", "product negative", 404),
    ("/product/1.5/", "product fractional", 404),
    ("/product/9223372036854775808/", "product 2^63", 404),
    ("/product//", "double slash end", 404), ("/product/{P}//", "double slash after id", 404),
    ("/product/{P}/restock/extra/", "restock extra", 404),
    ("/product/{P};jsessionid=x/", "matrix param", 404),
    ("/product/{P}%2F/", "encoded slash", 404), ("/product/%2F%2F/", "encoded double slash", 404),
    ("/product/%252e%252e/", "double encoded dots", 404),
    ("/product/%c0%ae%c0%ae/", "overlong utf8 dots", 404),
    ("/product/%e2%80%ae/", "rtl override", 404), ("/product/..%5C/", "encoded backslash", 404),
    ("/product/{P}/RESTOCK/", "upper restock", 404),
    ("/goods/0/", "goods zero", 404), ("/goods/abc/", "goods word", 404),
    ("/auth/register/extra/", "register extra", 404), ("/account/ledger/x/", "ledger extra", 404),
    ("/account/a%20b/credit/", "credit name with space", 404),
    ("/account/%27%20OR%201%3D1--/credit/", "credit name sql", 404),
    ("/account/" + "u" * 33 + "/credit/", "credit name 33", 404),
    ("/product/../order/", "dot dot segment", 404),
    ("/product/./", "dot segment", 404),
]:
    m = "POST" if "credit" in path or "restock" in path.lower() else "GET"
    body = '{"amount":1}' if "credit" in path else ('{"quantity":1}' if m == "POST" else None)
    case(cat, "path-" + note.replace(" ", "-"), m, path, body, JSON if body else None,
         status=st if "dot" not in note else [404, 400], ptype=NOT_FOUND,
         by="orderd" if "dot" not in note else "any")
case(cat, "path-leading-double-slash", "GET", "//product", status=[404, 200], ptype=NOT_FOUND,
     valid=True, note="nginx merges slashes for routing; orderd sees //product")
case(cat, "path-triple-slash-order", "GET", "///order/", auth="user", status=[404, 200],
     ptype=NOT_FOUND, valid=True)
case(cat, "path-pct-digit-id", "GET", "/product/%31/", status=[404, 200], ptype=NOT_FOUND,
     valid=True, note="%31 is '1': equivalent or not found, both harmless")
case(cat, "path-pct-dotdot", "GET", "/product/%2e%2e/", status=[404, 400, 200],
     ptype=NOT_FOUND, by="any", valid=True,
     note="nginx decodes to /product/../ = / and serves the home page")
case(cat, "path-dotdot-above-root", "GET", "/product/../../etc/passwd", status=[400, 404],
     by="nginx")
case(cat, "path-pct-zz", "GET", "/product/%zz/", status=[400, 404], by="nginx")
case(cat, "path-pct-truncated", "GET", "/product/%4/", status=[400, 404], by="nginx")
case(cat, "path-pct-alone", "GET", "/product/%/", status=[400, 404], by="nginx")
case(cat, "path-uppercase-api", "GET", "/PRODUCT/", status=404, by="nginx",
     note="not an API path: nginx's static 404")
case(cat, "path-raw-space", "", status=400, by="nginx", raw=raw_req(b"GET", b"/pro duct/"))
case(cat, "path-raw-utf8", "", status=404, ptype=NOT_FOUND, by="any",
     raw=raw_req(b"GET", b"/product/\xc3\xa9/"))
case(cat, "path-raw-ff", "", status=[400, 404], ptype=NOT_FOUND, by="any",
     raw=raw_req(b"GET", b"/product/\xff/"))
case(cat, "path-fragment", "", status=[404, 400], ptype=NOT_FOUND, by="any",
     raw=raw_req(b"GET", b"/product/1#frag"))
case(cat, "path-backslash", "GET", "/product\\1/", status=[404, 400], ptype=NOT_FOUND,
     by="any")
case(cat, "path-no-slash", "", status=400, by="nginx", raw=raw_req(b"GET", b"product/"))
case(cat, "path-absolute-other-host", "", status=[200, 400, 404], by="any", valid=True,
     raw=raw_req(b"GET", b"http://evil.example/product/?limit=1"),
     note="absolute-form: the Host comes from the URI; same site, harmless")
case(cat, "path-query-pct-zz", "GET", "/product/?after=%zz", status=[400, 422],
     ptype=MALFORMED)
case(cat, "path-query-sql", "GET", "/product/?after=1%20OR%201=1", status=422, ptype=INVALID,
     field="after")
case(cat, "path-query-format-bad", "GET", "/product/?format=xml", status=422, ptype=INVALID,
     field="format")
case(cat, "path-query-format-script", "GET", "/product/?format=%3Cscript%3E", status=422,
     ptype=INVALID, field="format")

# ---------------------------------------------------------------------------
# 14. percent-encoding tricks in bodies

cat = "percent"
for name, val in [("zz", "%zz"), ("bad-second-digit", "%4g"), ("alone", "%"),
                  ("percent-percent", "%%34%31"), ("space-in-escape", "% 41"),
                  ("unicode-u-escape", "%u0041")]:
    case(cat, "pct-form-" + name, "POST", P, "name=a%sb&price=1&stock=1" % val, FORM,
         status=400, ptype=MALFORMED)
case(cat, "pct-form-trailing-percent", "POST", P, "price=1&stock=1&name=ab%", FORM,
     status=400, ptype=MALFORMED)
case(cat, "pct-form-encoded-nul-key", "POST", P, "%6E%00ame=x&price=1&stock=1", FORM,
     status=400, ptype=MALFORMED)
case(cat, "pct-form-encoded-amp-in-value", "POST", P, "name=x%26price%3D1&price=1", FORM,
     status=422, ptype=INVALID, field="stock", note="%26 is data, not a separator")
case(cat, "pct-form-encoded-equals-in-key", "POST", P, "name%3Dx=1&price=1&stock=1", FORM,
     status=422, ptype=INVALID, field="name=x")
case(cat, "pct-form-double-encoded-number", "POST", P, "name=x&price=%2531&stock=1", FORM,
     status=422, ptype=INVALID, field="price", note="%2531 decodes once to '%31'")
case(cat, "pct-form-plus-in-number", "POST", P, "name=x&price=1+0&stock=1", FORM, status=422,
     ptype=INVALID, field="price")
case(cat, "pct-json-not-decoded", "POST", P, product_body(price='"%31"'), JSON, status=422,
     ptype=INVALID, field="price", note="JSON strings are not percent-decoded")
case(cat, "pct-double-encoded-name-valid", "POST", P,
     "name=%253Cscript%253E-{TAG}&price=5&stock=3", FORM, status=201, valid=True,
     creates={"table": "products", "name": "%3Cscript%3E-{TAG}", "price": 5, "stock": 3},
     note="decoded exactly once")
case(cat, "pct-encoded-key-valid", "POST", P, "n%61me=key-{TAG}&pri%63e=6&stock=%34", FORM,
     status=201, valid=True,
     creates={"table": "products", "name": "key-{TAG}", "price": 6, "stock": 4})
case(cat, "pct-plus-is-space-valid", "POST", P, "name=plus+sign+{TAG}&price=7&stock=2", FORM,
     status=201, valid=True,
     creates={"table": "products", "name": "plus sign {TAG}", "price": 7, "stock": 2})

# ---------------------------------------------------------------------------
# 15. SQL metacharacters and markup in names: stored and returned verbatim

cat = "names-sql-html"
NAMES = [
    "' OR 1=1 --",
    "\"; DROP TABLE products; --",
    "Robert'); DROP TABLE users;--",
    "1; SELECT SLEEP(5); --",
    "\\' OR \\'1\\'=\\'1",
    "%' AND '%'='",
    "admin'/*",
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "</textarea><svg onload=alert(1)>",
    "javascript:alert(document.cookie)",
    "{{7*7}} ${7*7} <%= 7*7 %>",
    "&lt;b&gt;not decoded&amp;",
    "back\\slash \"quote\" 'apos' `tick`",
    "\u00dcn\u00efc\u00f8d\u00e9 \U0001f355 \u2713 \u4e2d\u6587",
    "line\u2028sep\u2029para",
    "\u202eevil\u202c rtl",
    "-- comment",
    "\\x00 \\u0000 %00",
]
for i, nm in enumerate(NAMES):
    case(cat, "name-valid-%02d" % i, "POST", P,
         j({"name": nm, "price": 100 + i, "stock": 5}), JSON, status=201, valid=True,
         creates={"table": "products", "name": nm, "price": 100 + i, "stock": 5})
case(cat, "name-valid-form-script", "POST", P,
     "name=%3Cscript%3Ealert(%27form%27)%3C%2Fscript%3E&price=120&stock=5", FORM, status=201,
     valid=True, creates={"table": "products", "name": "<script>alert('form')</script>",
                          "price": 120, "stock": 5})
case(cat, "name-valid-200-two-byte-chars", "POST", P,
     j({"name": "\u00e9" * 200, "price": 121, "stock": 5}), JSON, status=201, valid=True,
     creates={"table": "products", "name": "\u00e9" * 200, "price": 121, "stock": 5},
     note="200 characters (400 bytes) is the limit, in characters")
case(cat, "name-valid-200-emoji", "POST", P,
     j({"name": "\U0001f355" * 200, "price": 122, "stock": 5}), JSON, status=201, valid=True,
     creates={"table": "products", "name": "\U0001f355" * 200, "price": 122, "stock": 5})
case(cat, "name-sql-in-transfer-to", "POST", "/transfer/", j({"to": "' OR 1=1 --", "amount": 1}),
     JSON, auth="user", status=[404, 422], ptype=NOT_FOUND, field="to")
case(cat, "name-sql-in-login", "POST", "/auth/login/",
     j({"username": "admin' OR '1'='1", "password": "' OR '1'='1"}), JSON, auth="none",
     status=[401, 422], ptype=UNAUTH, field="username")
case(cat, "name-sql-in-register", "POST", "/auth/register/",
     j({"username": "x'; DROP TABLE users;--", "password": "long enough password"}), JSON,
     auth="none", status=422, ptype=INVALID, field="username")
case(cat, "name-script-in-register", "POST", "/auth/register/",
     j({"username": "<script>", "password": "long enough password"}), JSON, auth="none",
     status=422, ptype=INVALID, field="username")
case(cat, "name-sql-in-pay-method", "POST", "/checkout/",
     '{"items":[{"product":{P}}],"pay_method":"cod\' OR \'1\'=\'1"}', JSON, auth="user",
     status=422, ptype=INVALID, field="pay_method")
case(cat, "name-sql-in-goods-query", "GET", "/goods/1%20OR%201=1/", status=404,
     ptype=NOT_FOUND)
case(cat, "name-control-chars", "POST", P, j({"name": "a\tb\x1bc", "price": 1, "stock": 1}),
     JSON, status=422, ptype=INVALID, field="name")
case(cat, "name-only-spaces", "POST", P, j({"name": "    ", "price": 1, "stock": 1}), JSON,
     status=422, ptype=INVALID, field="name")
case(cat, "name-empty", "POST", P, j({"name": "", "price": 1, "stock": 1}), JSON, status=422,
     ptype=INVALID, field="name")

# ---------------------------------------------------------------------------
# 16. bad Authorization headers (on a valid product body: a 201 would be a hole)

cat = "authorization"
VALID_PRODUCT = product_body()
for name, value in [
    ("bearer-no-token", "Bearer"),
    ("bearer-space-only", "Bearer "),
    ("basic", "Basic YWRtaW46YWRtaW4="),
    ("digest", 'Digest username="admin", realm="orderd"'),
    ("token-42-chars", "Bearer " + "A" * 42),
    ("token-44-chars", "Bearer " + "A" * 44),
    ("token-bad-alphabet", "Bearer " + "A" * 42 + "!"),
    ("token-plus-slash", "Bearer " + "A" * 41 + "+/"),
    ("token-unknown", "Bearer " + "Q" * 43),
    ("token-admin-plus-x", "Bearer {ATOK}x"),
    ("token-admin-twice", "Bearer {ATOK}{ATOK}"),
    ("token-admin-truncated", "Bearer {ATOK_SHORT}"),
    ("token-sql", "Bearer ' OR 1=1 --"),
    ("token-4000", "Bearer " + "A" * 4000),
    ("token-latin1", "Bearer " + "\u00e9" * 43),
    ("token-utf8", "Bearer " + "\u00f0\u009f\u008d\u0095" * 11),
    ("scheme-only-token", "{ATOK}"),
    ("bearer-comma-list", "Bearer {ATOK}, Bearer {ATOK}"),
    ("token-with-tab", "Bearer\t{ATOK}"),
]:
    case(cat, "authz-" + name, "POST", P, VALID_PRODUCT, JSON, auth="none",
         headers=[("Authorization", value)], status=401, ptype=UNAUTH,
         note="latin-1 header strings are sent as those bytes" if "latin1" in name or
         "utf8" in name else None)
case(cat, "authz-empty-header", "POST", P, VALID_PRODUCT, JSON, auth="none",
     headers=[("Authorization", "")], status=401, ptype=UNAUTH,
     note="an empty header is no credentials: 401 on an admin call")
case(cat, "authz-user-token-admin-call", "POST", P, VALID_PRODUCT, JSON, auth="user",
     status=403, ptype=FORBIDDEN)
case(cat, "authz-user-token-restock", "POST", "/product/{P}/restock/", '{"quantity":5}', JSON,
     auth="user", status=403, ptype=FORBIDDEN)
case(cat, "authz-user-token-credit-self", "POST", "/account/{U}/credit/", '{"amount":500}',
     JSON, auth="user", status=403, ptype=FORBIDDEN)
case(cat, "authz-user-token-ship", "POST", "/order/{O}/ship/", None, None, auth="user",
     status=403, ptype=FORBIDDEN)
case(cat, "authz-bad-token-on-public-get", "GET", "/product/?limit=1", auth="none",
     headers=[("Authorization", "Bearer " + "Q" * 43)], status=401, ptype=UNAUTH)
case(cat, "authz-two-headers", "", status=[400, 401], ptype=UNAUTH, by="any",
     raw=raw_req(b"POST", b"/product/", [b"Authorization: Bearer {ATOK}",
                                         b"Authorization: Basic eDp5",
                                         b"Content-Type: application/json",
                                         b"Content-Length: {LEN}"],
                 VALID_PRODUCT.encode()))
case(cat, "authz-raw-nul", "", status=400, by="nginx",
     raw=raw_req(b"GET", b"/account/", [b"Authorization: Bearer {ATOK}\x00x"]))
case(cat, "authz-anonymous-order", "POST", "/order/", '{"product":{P}}', JSON, auth="none",
     status=401, ptype=UNAUTH)
case(cat, "authz-anonymous-transfer", "POST", "/transfer/", '{"to":"{U2}","amount":1}', JSON,
     auth="none", status=401, ptype=UNAUTH)

# 17. bad cookies and CSRF
cat = "cookies-csrf"
TRANSFER = '{"to":"{U2}","amount":1}'
case(cat, "cookie-garbage-public-get", "GET", "/product/?limit=1", auth="none",
     headers=[("Cookie", "orderd_session=garbage")], status=200, valid=True,
     note="a stale cookie on a public call is ignored")
case(cat, "cookie-garbage-account", "GET", "/account/", auth="none",
     headers=[("Cookie", "orderd_session=garbage")], status=401, ptype=UNAUTH)
case(cat, "cookie-empty-value", "GET", "/account/", auth="none",
     headers=[("Cookie", "orderd_session=")], status=401, ptype=UNAUTH)
case(cat, "cookie-first-of-two-bad", "GET", "/account/", auth="none",
     headers=[("Cookie", "orderd_session=" + "Q" * 43 + "; orderd_session={UTOK}")],
     status=[401, 200], ptype=UNAUTH, valid=True,
     note="which duplicate wins is up to the server; a GET either way")
case(cat, "cookie-4000", "GET", "/account/", auth="none",
     headers=[("Cookie", "orderd_session=" + "A" * 4000)], status=401, ptype=UNAUTH)
case(cat, "cookie-16k", "GET", "/account/", auth="none",
     headers=[("Cookie", "orderd_session=" + "A" * 16000)], status=[400, 401, 431],
     ptype=UNAUTH, by="any")
case(cat, "cookie-latin1", "GET", "/account/", auth="none",
     headers=[("Cookie", "orderd_session=" + "\u00e9" * 43)], status=401, ptype=UNAUTH)
case(cat, "cookie-transfer-no-origin", "POST", "/transfer/", TRANSFER, JSON, auth="none",
     headers=[("Cookie", "orderd_session={UTOK}"), ("X-CSRF-Token", "{UCSRF}")], status=403,
     ptype=CSRF)
case(cat, "cookie-transfer-no-csrf-token", "POST", "/transfer/", TRANSFER, JSON, auth="none",
     headers=[("Cookie", "orderd_session={UTOK}"), ("Origin", "{ORIGIN}")], status=403,
     ptype=CSRF)
case(cat, "cookie-transfer-evil-origin", "POST", "/transfer/", TRANSFER, JSON, auth="none",
     headers=[("Cookie", "orderd_session={UTOK}"), ("Origin", "http://evil.example"),
              ("X-CSRF-Token", "{UCSRF}")], status=403, ptype=CSRF)
case(cat, "cookie-transfer-origin-null", "POST", "/transfer/", TRANSFER, JSON, auth="none",
     headers=[("Cookie", "orderd_session={UTOK}"), ("Origin", "null"),
              ("X-CSRF-Token", "{UCSRF}")], status=403, ptype=CSRF)
case(cat, "cookie-transfer-origin-suffix", "POST", "/transfer/", TRANSFER, JSON, auth="none",
     headers=[("Cookie", "orderd_session={UTOK}"), ("Origin", "{ORIGIN}.evil.example"),
              ("X-CSRF-Token", "{UCSRF}")], status=403, ptype=CSRF)
case(cat, "cookie-transfer-origin-other-port", "POST", "/transfer/", TRANSFER, JSON,
     auth="none", headers=[("Cookie", "orderd_session={UTOK}"), ("Origin", "{ORIGIN_HOST}:1"),
                           ("X-CSRF-Token", "{UCSRF}")], status=403, ptype=CSRF)
case(cat, "cookie-transfer-userinfo-origin", "POST", "/transfer/", TRANSFER, JSON, auth="none",
     headers=[("Cookie", "orderd_session={UTOK}"), ("Origin", "http://{HOSTPORT}@evil.example"),
              ("X-CSRF-Token", "{UCSRF}")], status=403, ptype=CSRF)
case(cat, "cookie-transfer-evil-referer", "POST", "/transfer/", TRANSFER, JSON, auth="none",
     headers=[("Cookie", "orderd_session={UTOK}"), ("Referer", "http://evil.example/{HOSTPORT}/"),
              ("X-CSRF-Token", "{UCSRF}")], status=403, ptype=CSRF)
case(cat, "cookie-transfer-wrong-csrf", "POST", "/transfer/", TRANSFER, JSON, auth="none",
     headers=[("Cookie", "orderd_session={UTOK}"), ("Origin", "{ORIGIN}"),
              ("X-CSRF-Token", "A" * 43)], status=403, ptype=CSRF)
case(cat, "cookie-transfer-csrf-is-session", "POST", "/transfer/", TRANSFER, JSON, auth="none",
     headers=[("Cookie", "orderd_session={UTOK}"), ("Origin", "{ORIGIN}"),
              ("X-CSRF-Token", "{UTOK}")], status=403, ptype=CSRF)
case(cat, "cookie-transfer-empty-csrf-field", "POST", "/transfer/",
     "to={U2}&amount=1&csrf_token=", FORM, auth="none",
     headers=[("Cookie", "orderd_session={UTOK}"), ("Origin", "{ORIGIN}")], status=403,
     ptype=CSRF)
case(cat, "cookie-admin-product-no-csrf", "POST", P, VALID_PRODUCT, JSON, auth="none",
     headers=[("Cookie", "orderd_session={ATOK}"), ("Origin", "{ORIGIN}")], status=403,
     ptype=CSRF)
case(cat, "cookie-order-override-no-csrf", "POST", "/order/{O}/abort/", None, None, auth="none",
     headers=[("Cookie", "orderd_session={UTOK}"), ("Origin", "{ORIGIN}"),
              ("X-HTTP-Method-Override", "PUT")], status=403, ptype=CSRF)

# 18. bad Idempotency-Key headers (on a valid order: a 201 would be a hole)
cat = "idempotency-key"
ORDER1 = '{"product":{P},"quantity":1}'
for name, key in [("empty", ""), ("space-inside", "a b"), ("201-chars", "k" * 201),
                  ("sql", "' OR 1=1 --"), ("latin1", "cl\u00e9"), ("tab", "a\tb"),
                  ("4000-chars", "k" * 4000)]:
    case(cat, "idem-" + name, "POST", "/order/", ORDER1, JSON, auth="user",
         headers=[("Idempotency-Key", key)], status=[422, 400], ptype=INVALID,
         field="idempotency_key")
case(cat, "idem-del-char", "POST", "/order/", ORDER1, JSON, auth="user",
     headers=[("Idempotency-Key", "a\x7fb")], status=[422, 400], ptype=INVALID,
     field="idempotency_key", by="any")
case(cat, "idem-form-field-bad", "POST", "/order/", "product={P}&idempotency_key=a%20b", FORM,
     auth="user", status=422, ptype=INVALID, field="idempotency_key")
case(cat, "idem-form-field-twice", "POST", "/order/",
     "product={P}&idempotency_key=a&idempotency_key=b", FORM, auth="user", status=422,
     ptype=INVALID, field="idempotency_key")
case(cat, "idem-raw-nul", "", status=400, by="nginx",
     raw=raw_req(b"POST", b"/order/", [b"Authorization: Bearer {UTOK}",
                                       b"Idempotency-Key: a\x00b",
                                       b"Content-Type: application/json",
                                       b"Content-Length: {LEN}"],
                 ORDER1.encode()))
case(cat, "idem-two-headers", "", status=[409, 422, 400], ptype=ORDER_STATE, by="any",
     raw=raw_req(b"POST", b"/order/{O}/pay/", [b"Authorization: Bearer {UTOK}",
                                                b"Idempotency-Key: one",
                                                b"Idempotency-Key: two"]),
     note="pay of a cod order: 409 whatever the key, or the key refused; never 5xx")

# 19. bad X-HTTP-Method-Override / _method
cat = "method-override"
for name, val in [("trace", "TRACE"), ("get", "GET"), ("garbage", "FOO BAR"),
                  ("long", "P" * 500), ("connect", "CONNECT"), ("head", "HEAD")]:
    case(cat, "override-header-" + name, "POST", P, VALID_PRODUCT, JSON,
         headers=[("X-HTTP-Method-Override", val)], status=[400, 405, 422], ptype=MALFORMED)
case(cat, "override-header-delete-product", "POST", "/product/{P}/", None, None,
     headers=[("X-HTTP-Method-Override", "DELETE")], status=405, ptype=METHOD)
case(cat, "override-header-lowercase-put-on-create", "POST", P, VALID_PRODUCT, JSON,
     headers=[("X-HTTP-Method-Override", "put")], status=405, ptype=METHOD)
case(cat, "override-header-on-get-ignored", "GET", "/product/?limit=1",
     headers=[("X-HTTP-Method-Override", "DELETE")], status=200, valid=True,
     note="only a POST may be overridden")
for name, val in [("trace", "TRACE"), ("get", "GET"), ("empty", ""), ("nul", "PUT%00"),
                  ("space", "PUT%20")]:
    case(cat, "override-field-" + name, "POST", P,
         "name=x&price=1&stock=1&_method=" + val, FORM, status=[422, 400], ptype=INVALID,
         field="_method")
case(cat, "override-field-delete-create", "POST", P, "name=x&price=1&stock=1&_method=DELETE",
     FORM, status=405, ptype=METHOD, note="the override decides the method before the create")
case(cat, "override-field-twice", "POST", P,
     "name=x&price=1&stock=1&_method=PUT&_method=DELETE", FORM, status=422, ptype=INVALID,
     field="_method")
case(cat, "override-json-number", "POST", P, product_body(_method="5"), JSON, status=422,
     ptype=INVALID, field="_method")
case(cat, "override-field-beats-header", "POST", "/product/{P}/restock/",
     "quantity=5&_method=DELETE", FORM, headers=[("X-HTTP-Method-Override", "POST")],
     status=405, ptype=METHOD)
case(cat, "override-patch-abort", "POST", "/order/{O}/abort/", "_method=PATCH", FORM,
     auth="user", status=405, ptype=METHOD)
case(cat, "override-query-on-get", "GET", "/product/?limit=1&_method=DELETE", status=[200, 422],
     valid=True, ptype=INVALID, note="a GET stays a GET")

# ---------------------------------------------------------------------------
# 20. checkout items shapes

cat = "checkout-items"
CO = "/checkout/"


def co(items, pm='"cod"'):
    return '{"items":%s,"pay_method":%s}' % (items, pm)


for name, items, fld in [
    ("object", '{"product":{P},"quantity":1}', "items"),
    ("string", '"{P}"', "items"),
    ("number", "{P}", "items"),
    ("null", "null", "items"),
    ("true", "true", "items"),
    ("empty", "[]", "items"),
    ("nested-array", '[[{"product":{P},"quantity":1}]]', "items"),
    ("pairs", "[[{P},1]]", "items"),
    ("array-of-numbers", "[{P},{P}]", "items"),
    ("array-of-null", "[null]", "items"),
    ("extra-member-price", '[{"product":{P},"quantity":1,"price":0}]', "items"),
    ("extra-member-proto", '[{"product":{P},"quantity":1,"__proto__":{"admin":true}}]', "items"),
    ("missing-product", '[{"quantity":1}]', "items[0].product"),
    ("empty-object", "[{}]", "items[0].product"),
    ("negative-quantity", '[{"product":{P},"quantity":-1}]', "items[0].quantity"),
    ("zero-quantity", '[{"product":{P},"quantity":0}]', "items[0].quantity"),
    ("quantity-10001", '[{"product":{P},"quantity":10001}]', "items[0].quantity"),
    ("fractional-quantity", '[{"product":{P},"quantity":1.5}]', "items[0].quantity"),
    ("exponent-quantity", '[{"product":{P},"quantity":"1e2"}]', "items[0].quantity"),
    ("quantity-array", '[{"product":{P},"quantity":[1]}]', "items[0].quantity"),
    ("product-zero", '[{"product":0,"quantity":1}]', "items[0].product"),
    ("product-string", '[{"product":"abc","quantity":1}]', "items[0].product"),
    ("product-overflow", '[{"product":9223372036854775808,"quantity":1}]', "items[0].product"),
    ("duplicate-member", '[{"product":{P},"product":{P},"quantity":1}]', "items[0].product"),
    ("second-line-bad", '[{"product":{P},"quantity":1},{"product":0}]', "items[1].product"),
]:
    case(cat, "items-" + name, "POST", CO, co(items), JSON, auth="user", status=422,
         ptype=INVALID, field=[fld, "items"] if fld != "items" else "items")
case(cat, "items-1001-elements", "POST", CO,
     co("[" + ",".join('{"product":{P},"quantity":1}' for _ in range(1001)) + "]"), JSON,
     auth="user", status=422, ptype=INVALID, field="items")
case(cat, "items-unknown-product", "POST", CO,
     co('[{"product":9223372036854775807,"quantity":1}]'), JSON, auth="user",
     status=[404, 422], ptype=NOT_FOUND)
case(cat, "items-second-out-of-stock", "POST", CO,
     co('[{"product":{P},"quantity":1},{"product":{Z},"quantity":1}]'), JSON, auth="user",
     status=409, ptype=OUT_OF_STOCK, note="nothing changes on any error: not even line 1")
case(cat, "items-second-unknown", "POST", CO,
     co('[{"product":{P},"quantity":1},{"product":9223372036854775806,"quantity":1}]'), JSON,
     auth="user", status=[404, 422], ptype=NOT_FOUND)
case(cat, "items-balance-insufficient", "POST", CO,
     co('[{"product":{P},"quantity":10000}]', '"balance"'), JSON, auth="user",
     status=409, ptype=OUT_OF_STOCK, note="more than in stock")
for name, pm in [("bitcoin", '"bitcoin"'), ("uppercase", '"BALANCE"'), ("number", "1"),
                 ("null", "null"), ("array", '["cod"]'), ("empty", '""'),
                 ("padded", '" cod "')]:
    case(cat, "pay-method-" + name, "POST", CO, co('[{"product":{P},"quantity":1}]', pm), JSON,
         auth="user", status=422, ptype=INVALID, field="pay_method")
case(cat, "pay-method-missing", "POST", CO, '{"items":[{"product":{P},"quantity":1}]}', JSON,
     auth="user", status=422, ptype=INVALID, field="pay_method")
case(cat, "items-missing", "POST", CO, '{"pay_method":"cod"}', JSON, auth="user", status=422,
     ptype=INVALID, field="items")
case(cat, "items-form-negative", "POST", CO,
     "items[0][product]={P}&items[0][quantity]=-1&pay_method=cod", FORM, auth="user",
     status=422, ptype=INVALID, field=["items[0].quantity", "items"])
case(cat, "items-form-index-1000", "POST", CO,
     "items[1000][product]={P}&pay_method=cod", FORM, auth="user", status=422, ptype=INVALID,
     field="items")
case(cat, "items-form-leading-zero-index", "POST", CO,
     "items[00][product]={P}&pay_method=cod", FORM, auth="user", status=422, ptype=INVALID,
     field=["items[00][product]", "items"])
case(cat, "items-form-huge-index", "POST", CO,
     "items[99999999999999999999][product]={P}&pay_method=cod", FORM, auth="user",
     status=422, ptype=INVALID)
case(cat, "items-form-negative-index", "POST", CO,
     "items[-1][product]={P}&pay_method=cod", FORM, auth="user", status=422, ptype=INVALID)
case(cat, "items-form-dup-product", "POST", CO,
     "items[0][product]={P}&items[0][product]={Z}&pay_method=cod", FORM, auth="user",
     status=422, ptype=INVALID, field=["items[0].product", "items"])
case(cat, "items-form-plain-items", "POST", CO, "items={P}&pay_method=cod", FORM, auth="user",
     status=422, ptype=INVALID, field="items")
case(cat, "items-form-quantity-only", "POST", CO, "items[0][quantity]=1&pay_method=cod", FORM,
     auth="user", status=422, ptype=INVALID, field=["items", "items[0].product"])

# 21. transfers
cat = "transfer"
T = "/transfer/"
for name, body, st, ty, fld in [
    ("to-self", '{"to":"{U}","amount":1}', 422, INVALID, "to"),
    ("to-self-other-case", '{"to":"{U_UPPER}","amount":1}', 422, INVALID, "to"),
    ("amount-zero", '{"to":"{U2}","amount":0}', 422, INVALID, "amount"),
    ("amount-negative", '{"to":"{U2}","amount":-100}', 422, INVALID, "amount"),
    ("amount-negative-string", '{"to":"{U2}","amount":"-100"}', 422, INVALID, "amount"),
    ("amount-above-10^12", '{"to":"{U2}","amount":1000000000001}', 422, INVALID, "amount"),
    ("amount-int64-min", '{"to":"{U2}","amount":-9223372036854775808}', 422, INVALID, "amount"),
    ("amount-overflow", '{"to":"{U2}","amount":99999999999999999999}', 422, INVALID, "amount"),
    ("amount-fraction", '{"to":"{U2}","amount":0.5}', 422, INVALID, "amount"),
    ("amount-decimal-string", '{"to":"{U2}","amount":"10.00"}', 422, INVALID, "amount"),
    ("amount-exponent", '{"to":"{U2}","amount":1e2}', 422, INVALID, "amount"),
    ("amount-null", '{"to":"{U2}","amount":null}', 422, INVALID, "amount"),
    ("amount-missing", '{"to":"{U2}"}', 422, INVALID, "amount"),
    ("to-missing", '{"amount":1}', 422, INVALID, "to"),
    ("to-empty", '{"to":"","amount":1}', 422, INVALID, "to"),
    ("to-number", '{"to":12,"amount":1}', 422, INVALID, "to"),
    ("to-array", '{"to":["{U2}"],"amount":1}', 422, INVALID, "to"),
    ("from-field", '{"from":"{U2}","to":"{U}","amount":1}', 422, INVALID, "from"),
    ("amount-max-short-funds", '{"to":"{U2}","amount":1000000000000}', 409, FUNDS, None),
    ("to-unknown", '{"to":"nobody_{TAG}","amount":1}', 404, NOT_FOUND, None),
]:
    case(cat, "transfer-" + name.replace("^", ""), "POST", T, body, JSON, auth="user",
         status=st, ptype=ty, field=fld)
case(cat, "transfer-to-with-spaces", "POST", T, '{"to":"{U2} ","amount":1000000000000}', JSON,
     auth="user", status=[409, 404, 422], ptype=FUNDS,
     note="trimmed to an existing user (then short of funds), or refused; never a 2xx")
case(cat, "transfer-form-twice-amount", "POST", T, "to={U2}&amount=1&amount=2", FORM,
     auth="user", status=422, ptype=INVALID, field="amount")

# 22. register and login
cat = "accounts"
R = "/auth/register/"
PW = "long enough password"
for name, user, fld in [
    ("spaces", "a b c", "username"),
    ("leading-space", " {TAG}", "username"),
    ("unicode", "\u00fcn\u00efc\u00f8de", "username"),
    ("emoji", "\U0001f355\U0001f355\U0001f355", "username"),
    ("33-chars", "u" * 33, "username"),
    ("2-chars", "ab", "username"),
    ("empty", "", "username"),
    ("slash", "a/b/c", "username"),
    ("at-sign", "me@example.com", "username"),
    ("quote", "o'neil", "username"),
    ("percent", "a%20b", "username"),
    ("fullwidth", "\uff41\uff42\uff43", "username"),
]:
    case(cat, "register-username-" + name, "POST", R, j({"username": user, "password": PW}),
         JSON, auth="none", status=422, ptype=INVALID, field=fld)
case(cat, "register-username-number", "POST", R, '{"username":12345,"password":"%s"}' % PW,
     JSON, auth="none", status=422, ptype=INVALID, field="username")
case(cat, "register-username-null", "POST", R, '{"username":null,"password":"%s"}' % PW,
     JSON, auth="none", status=422, ptype=INVALID, field="username")
for name, pw, st in [("7-bytes", "seven77", 422), ("257-bytes", "p" * 257, 422),
                     ("empty", "", 422)]:
    case(cat, "register-password-" + name, "POST", R,
         j({"username": "pw_{TAG}_" + name[:3].replace("-", ""), "password": pw}), JSON,
         auth="none", status=st, ptype=INVALID, field="password")
case(cat, "register-password-6-bytes-3-chars", "POST", R,
     j({"username": "pwe_{TAG}", "password": "\u00e9\u00e9\u00e9"}), JSON, auth="none",
     status=422, ptype=INVALID, field="password", note="6 bytes")
case(cat, "register-password-bad-utf8-form", "POST", R,
     "username=pwu_{TAG}&password=abcdefgh%FF", FORM, auth="none", status=[400, 422],
     ptype=MALFORMED, field="password")
case(cat, "register-password-number", "POST", R,
     '{"username":"pwn_{TAG}","password":12345678}', JSON, auth="none", status=422,
     ptype=INVALID, field="password")
case(cat, "register-missing-password", "POST", R, '{"username":"mp_{TAG}"}', JSON,
     auth="none", status=422, ptype=INVALID, field="password")
case(cat, "register-role-admin", "POST", R,
     j({"username": "role_{TAG}", "password": PW, "role": "admin"}), JSON, auth="none",
     status=422, ptype=INVALID, field="role", note="privilege escalation attempt")
case(cat, "register-role-admin-form", "POST", R,
     "username=rolef_{TAG}&password=long+enough+password&role=admin", FORM, auth="none",
     status=422, ptype=INVALID, field="role")
case(cat, "register-balance-field", "POST", R,
     j({"username": "bal_{TAG}", "password": PW, "balance": 1000000}), JSON, auth="none",
     status=422, ptype=INVALID, field="balance")
case(cat, "register-taken", "POST", R, j({"username": "{U}", "password": PW}), JSON,
     auth="none", status=409, ptype=TAKEN)
case(cat, "register-taken-other-case", "POST", R, j({"username": "{U_UPPER}", "password": PW}),
     JSON, auth="none", status=409, ptype=TAKEN)
case(cat, "register-dup-username", "POST", R,
     '{"username":"dup1_{TAG}","username":"dup2_{TAG}","password":"%s"}' % PW, JSON,
     auth="none", status=422, ptype=INVALID, field="username")
case(cat, "login-wrong-password", "POST", "/auth/login/",
     j({"username": "{U}", "password": "wrong password"}), JSON, auth="none", status=401,
     ptype=UNAUTH)
case(cat, "login-unknown-user", "POST", "/auth/login/",
     j({"username": "nobody_{TAG}", "password": PW}), JSON, auth="none", status=401,
     ptype=UNAUTH)
case(cat, "login-username-1000", "POST", "/auth/login/",
     j({"username": "u" * 1000, "password": PW}), JSON, auth="none", status=[401, 422],
     ptype=UNAUTH, field="username")
case(cat, "login-password-2000", "POST", "/auth/login/",
     j({"username": "{U}", "password": "p" * 2000}), JSON, auth="none", status=[401, 422],
     ptype=UNAUTH, field="password")
case(cat, "login-array-body", "POST", "/auth/login/", '["{U}","x"]', JSON, auth="none",
     status=400, ptype=MALFORMED)
case(cat, "login-password-null", "POST", "/auth/login/", '{"username":"{U}","password":null}',
     JSON, auth="none", status=422, ptype=INVALID, field="password")
case(cat, "logout-anonymous", "POST", "/auth/logout/", None, None, auth="none", status=401,
     ptype=UNAUTH)

# 23. request line and headers
cat = "request-line"
case(cat, "http-version-2", "", status=[400, 505], by="nginx",
     raw=raw_req(b"GET", b"/product/", version=b"HTTP/2.0"),
     note="HTTP/2.0 in an HTTP/1 request line: a client error; nginx's default is 505")
case(cat, "http-version-garbage", "", status=400, by="nginx",
     raw=raw_req(b"GET", b"/product/", version=b"HTTP/x.y"))
case(cat, "http-version-missing-slash", "", status=400, by="nginx",
     raw=raw_req(b"GET", b"/product/", version=b"HTTP1.1"))
case(cat, "http-version-lowercase", "", status=400, by="nginx",
     raw=raw_req(b"GET", b"/product/", version=b"http/1.1"))
case(cat, "no-host-header", "", status=400, by="nginx",
     raw=raw_req(b"GET", b"/product/", host=False))
case(cat, "two-host-headers", "", status=400, by="nginx",
     raw=raw_req(b"GET", b"/product/", [b"Host: evil.example"]))
case(cat, "header-obs-fold", "", status=400, by="nginx",
     raw=raw_req(b"POST", b"/product/", [b"Authorization: Bearer {ATOK}", b"X-A: a",
                                         b" folded", b"Content-Length: 0"]))
case(cat, "header-space-before-colon", "", status=[400, 422], by="nginx", ptype=INVALID,
     raw=raw_req(b"POST", b"/product/", [b"Authorization: Bearer {ATOK}",
                                         b"Content-Type : text/plain",
                                         b"Content-Type: application/json",
                                         b"Content-Length: 2"], b"{}"))
case(cat, "header-no-colon", "", status=[400, 200], by="nginx", valid=True,
     raw=raw_req(b"GET", b"/product/", [b"JustAWord"]),
     note="nginx drops invalid header lines (ignore_invalid_headers): a harmless GET")
case(cat, "header-bad-name-char", "", status=[400, 422], by="nginx", ptype=INVALID,
     raw=raw_req(b"POST", b"/product/", [b"Authorization: Bearer {ATOK}", b"X(A): 1",
                                         b"Content-Type: application/json",
                                         b"Content-Length: 2"], b"{}"))
case(cat, "request-line-only-spaces", "", status=400, by="nginx", raw=b"   \r\n\r\n")
case(cat, "request-line-binary", "", status=400, by="nginx",
     raw=b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n",
     note="a TLS ClientHello on the plain port")
case(cat, "header-expect-unknown", "POST", P, product_body(stock=None), JSON,
     headers=[("Expect", "200-ok")], status=[417, 422], ptype=INVALID, field="stock", by="any")
case(cat, "header-proxy-httpoxy", "POST", P, product_body(stock=None), JSON,
     headers=[("Proxy", "http://evil.example:1/")], status=422, ptype=INVALID, field="stock")

# 24. browser forms: a hostile `next` must not become an open redirect
cat = "browser-forms"
BROWSER = ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
for name, nxt in [("absolute", "https%3A%2F%2Fevil.example%2F"),
                  ("scheme-relative", "%2F%2Fevil.example%2F"),
                  ("backslash", "%2F%5Cevil.example%2F"),
                  ("javascript", "javascript%3Aalert(1)"),
                  ("crlf", "%2F%0D%0ASet-Cookie%3A%20x%3D1")]:
    case(cat, "browser-next-" + name, "POST", P, "name=x&price=-1&stock=1&next=" + nxt, FORM,
         headers=[BROWSER], status=303, location=r"^/(?![/\\])[^\r\n]*error=invalid-field",
         note="303 back to a same-origin path with the error; never to another site")


# ---------------------------------------------------------------------------
# The matrix: every call of the API (every route and method of fcgi/http/router.c)
# x every text value it reads (body fields in both encodings, query
# parameters, path segments, the headers the server reads) x every hostile
# class. It is generated from three tables - CALLS, HEADERS and CLASSES - so a
# new call, field, header or class adds its cases by itself. The outcome of
# each case is predicted from the field's rule (the same rules as
# fcgi/http/fields.c and fcgi/base/valid.c): 400 for a value that is not text
# (invalid UTF-8, NUL), 422 naming the field for one its rule refuses, and
# for a value it accepts the call's own answer with valid fields (its "base":
# every write is built so that a valid request still changes nothing - an
# unknown user, an unknown id, a product with no stock - except product and
# goods creation, whose 201 and new row the test checks).

INT64_MAX = 2 ** 63 - 1
NOUSER = "nobody{TAG}"              # in the username alphabet; nobody has it
NOID = "9000000000000000001"        # an id no row has
VALUE_MAX = 4096                    # REQ_VALUE_MAX: longer is a 400


def F(kind, lo=0, hi=0, valid="", narrow=(), optional=False):
    """A field: kind (text, int, word, verbatim, secret, key, method), its
    bounds (characters for text, bytes for the others, values for int), a
    valid value, and what the handler may still answer to a value that passes
    the field's rule: [(status, type, field)]."""
    return {"kind": kind, "lo": lo, "hi": hi, "valid": valid, "narrow": list(narrow),
            "optional": optional}


def GLOBAL_WRITE_FIELDS(idem):
    f = collections.OrderedDict()
    f["_method"] = F("method", valid="POST", optional=True)
    f["csrf_token"] = F("key", 0, 200, valid="x", optional=True)
    if idem:
        # a key kept from an earlier request (this run's or a previous one's)
        # is refused as reused
        f["idempotency_key"] = F("key", 1, 200, valid="k{TAG}", optional=True,
                                 narrow=[(422, None, "idempotency_key")])
    return f


def call(name, method, path, auth, fields=(), query=(), base=(), btype=None, bfield=None,
         creates=None, seg=None, idem=False, json_body=True, header_base=None):
    """A call: its method and path ({SEG} marks a hostile path segment of
    kind seg: "id" or "name", filled with segvalid otherwise); the fields it
    reads from the body (and the global ones every write reads), from the
    query; its base answer when every value is valid; creates: the table a
    valid request adds a row to."""
    body = collections.OrderedDict(fields)
    if method != "GET" and name not in ("login", "register"):
        for k, v in GLOBAL_WRITE_FIELDS(idem).items():
            body.setdefault(k, v)
    return {"name": name, "method": method, "path": path, "auth": auth, "body": body,
            "query": collections.OrderedDict(query), "base": list(base), "btype": btype,
            "bfield": bfield, "creates": creates, "seg": seg, "idem": idem,
            "header_base": header_base}


LIMIT = F("int", 1, 200, valid="5")
AFTER = F("int", 0, INT64_MAX, valid="0")
AMOUNT = F("int", 1, 10 ** 12, valid="1")
QTY = F("int", 1, 10 ** 9, valid="1")
# an order line: at most 10000 of a product (the handler's own bound)
LINE_QTY = lambda field: F("int", 1, 10 ** 9, valid="1",                  # noqa: E731
                           narrow=[(422, INVALID, field)])

# the original client's cancel names a product of the order (checked
# against the locked order, so an order that does not exist is a 404 first)
ABORT_PRODUCT = F("int", 1, INT64_MAX, valid="{Z}", optional=True,
                  narrow=[(404, NOT_FOUND, None), (422, INVALID, "product")])

CALLS = [
    call("product-list", "GET", "/product/", "user", base=[200],
         query=[("limit", LIMIT), ("after", AFTER),
                ("format", F("word", 1, 10, valid="json",
                             narrow=[(422, INVALID, "format")]))]),
    call("product-create", "POST", "/product/", "admin", idem=True,
         fields=[("name", F("text", 1, 200, valid="mx-{TAG}")),
                 ("price", F("int", 0, 10 ** 12, valid="100")),
                 ("stock", F("int", 0, 10 ** 9, valid="1")),
                 ("goods", F("int", 1, INT64_MAX, valid=NOID, optional=True,
                             narrow=[(422, INVALID, "goods")]))],
         base=[201], creates="products",
         header_base=([422], INVALID, "goods")),
    call("product-get", "GET", "/product/{SEG}/", "user", seg="id", base=[200]),
    call("product-restock", "POST", "/product/{SEG}/restock/", "admin", seg="id", idem=True,
         fields=[("quantity", QTY)], base=[404], btype=NOT_FOUND),
    call("order-list", "GET", "/order/", "user", base=[200],
         query=[("limit", LIMIT), ("after", AFTER)]),
    call("order-create", "POST", "/order/", "user", idem=True,
         fields=[("product", F("int", 1, INT64_MAX, valid="{Z}",
                               narrow=[(404, NOT_FOUND, None), (422, INVALID, "product")])),
                 ("quantity", LINE_QTY("quantity"))],
         base=[409], btype=OUT_OF_STOCK),
    call("order-get", "GET", "/order/{SEG}/", "user", seg="id", base=[200]),
    call("order-abort", "POST", "/order/{SEG}/abort/", "user", seg="id", idem=True,
         fields=[("product", ABORT_PRODUCT)], base=[404], btype=NOT_FOUND),
    call("order-abort-put", "PUT", "/order/{SEG}/abort/", "user", seg="id", idem=True,
         fields=[("product", ABORT_PRODUCT)], base=[404], btype=NOT_FOUND),
    call("order-pay", "POST", "/order/{SEG}/pay/", "user", seg="id", idem=True,
         base=[404], btype=NOT_FOUND),
    call("order-ship", "POST", "/order/{SEG}/ship/", "admin", seg="id",
         base=[404], btype=NOT_FOUND),
    call("checkout", "POST", "/checkout/", "user", idem=True,
         fields=[("items[0][product]", F("int", 1, INT64_MAX, valid="{Z}",
                                         narrow=[(404, NOT_FOUND, None),
                                                 (422, INVALID, "items")])),
                 ("items[0][quantity]", LINE_QTY("items")),
                 ("pay_method", F("word", 1, 16, valid="cod",
                                  narrow=[(422, INVALID, "pay_method")]))],
         base=[409], btype=OUT_OF_STOCK),
    call("goods-create", "POST", "/goods/", "admin",
         fields=[("name", F("text", 1, 200, valid="gx-{TAG}"))], base=[201], creates="goods"),
    call("goods-get", "GET", "/goods/{SEG}/", "user", seg="id", base=[404], btype=NOT_FOUND),
    call("register", "POST", "/auth/register/", "none",
         fields=[("username", F("verbatim", 1, 64, valid="{U}",
                                narrow=[(422, INVALID, "username")])),
                 ("password", F("secret", 1, 1024, valid="hostile-password",
                                narrow=[(422, INVALID, "password")]))],
         base=[409], btype=TAKEN),
    call("login", "POST", "/auth/login/", "none",
         fields=[("username", F("verbatim", 1, 64, valid="{U}")),
                 ("password", F("secret", 1, 1024, valid="not-the-password"))],
         base=[401], btype=UNAUTH),
    call("logout", "POST", "/auth/logout/", "fresh", base=[204, 200]),
    call("account", "GET", "/account/", "user", base=[200]),
    call("ledger", "GET", "/account/ledger/", "user", base=[200],
         query=[("limit", LIMIT), ("after", AFTER)]),
    call("credit", "POST", "/account/{SEG}/credit/", "admin", seg="name", idem=True,
         fields=[("amount", AMOUNT)], base=[404], btype=NOT_FOUND),
    call("transfer", "POST", "/transfer/", "user", idem=True,
         fields=[("to", F("verbatim", 1, 64, valid=NOUSER)), ("amount", AMOUNT)],
         base=[404], btype=NOT_FOUND),
    call("status", "GET", "/status/", "admin", base=[200],
         query=[("history", F("int", 0, 600, valid="5")), ("top", F("int", 0, 20, valid="3")),
                ("format", F("word", 1, 10, valid="prometheus",
                             narrow=[(422, INVALID, "format")]))]),
]
SEG_VALID = {"id": NOID, "name": NOUSER}
PUBLIC = ("product-list", "product-get", "goods-get")      # reads anyone may make
SEG_KEEP = {"product-get": "{P}", "order-get": "{O}"}     # reads of a real row

# The hostile classes: name -> the value, as bytes, for a field of a kind
# (None: the class does not apply to that kind). {V} stands for the field's
# valid value, {MAX}/{OVER} for a value at / just past the field's limit.
CLASSES = collections.OrderedDict([
    ("latin1", lambda f: "Caf\u00e9 na\u00efve \u00c5ngstr\u00f6m".encode()),
    ("latin1-byte", lambda f: b"caf\xe9"),
    ("emoji", lambda f: "\U0001F600\U0001F4A9".encode()),
    ("cjk", lambda f: "\u6ce8\u6587".encode()),
    ("overlong-slash", lambda f: b"a\xc0\xafb"),
    ("overlong-nul", lambda f: b"a\xc0\x80b"),
    ("overlong-3byte", lambda f: b"a\xe0\x80\xafb"),
    ("invalid-ff", lambda f: b"a\xff\xfeb"),
    ("lone-continuation", lambda f: b"a\x80b"),
    ("surrogate", lambda f: b"a\xed\xa0\x80b"),
    ("truncated", lambda f: b"ab\xe2\x82"),
    ("nul-raw", lambda f: b"a\x00b"),
    ("nul-escaped", lambda f: b"a\x00b"),       # %00 in a form, \u0000 in JSON
    ("ctl-soh", lambda f: b"a\x01b"),
    ("ctl-del", lambda f: b"a\x7fb"),
    ("ctl-c1", lambda f: "a\u0085b".encode()),
    ("ctl-crlf", lambda f: b"a\r\nX-Injected: 1"),
    ("ctl-tab-inside", lambda f: b"a\tb"),
    ("sql-quote", lambda f: b"' OR '1'='1' -- "),
    ("sql-stacked", lambda f: b"1; DROP TABLE users; --"),
    ("sql-backslash", lambda f: b"\\' OR 1=1#"),
    ("markup-script", lambda f: b"<script>alert(1)</script>"),
    ("markup-attr", lambda f: b"\"><img src=x onerror=alert(1)>"),
    # a character across the byte where a detail cuts a quoted value (40
    # for a user name, 64 for a field name): the answer must stay UTF-8
    ("straddle-40", lambda f: b"a" * 39 + "\u00e9".encode()),
    ("straddle-64-2byte", lambda f: b"a" * 63 + "\u00e9".encode()),
    ("straddle-64-3byte", lambda f: b"a" * 62 + "\u20ac".encode()),
    ("straddle-64-4byte", lambda f: b"a" * 61 + "\U0001F600".encode()),
    ("at-limit", lambda f: at_limit(f)),
    ("past-limit", lambda f: past_limit(f)),
    ("huge", lambda f: b"9" * (VALUE_MAX + 1)),
    ("empty", lambda f: b""),
    ("space-padded", lambda f: b"  " + f["valid"].encode() + b"  "),
    ("tab-padded", lambda f: b"\t" + f["valid"].encode() + b"\n"),
    ("only-spaces", lambda f: b"   "),
    ("num-negative", lambda f: b"-1" if f["kind"] == "int" else None),
    ("num-zero", lambda f: b"0" if f["kind"] == "int" else None),
    ("num-20-digits", lambda f: b"99999999999999999999" if f["kind"] == "int" else None),
    ("num-int64-overflow", lambda f: b"9223372036854775808" if f["kind"] == "int" else None),
    ("num-exponent", lambda f: b"1e3" if f["kind"] == "int" else None),
    ("num-fraction", lambda f: b"1.5" if f["kind"] == "int" else None),
    ("num-hex", lambda f: b"0x10" if f["kind"] == "int" else None),
    ("num-plus", lambda f: b"+1" if f["kind"] == "int" else None),
])
# Classes also sent as bare JSON numbers for an integer field.
JSON_NUMBERS = collections.OrderedDict([
    ("jnum-negative", "-1"), ("jnum-zero", "0"), ("jnum-fraction", "1.5"),
    ("jnum-exponent", "1e3"), ("jnum-huge-exponent", "1e400"),
    ("jnum-20-digits", "99999999999999999999"), ("jnum-int64-max", str(INT64_MAX)),
    ("jnum-minus-zero", "-0"), ("jnum-true", "true"), ("jnum-null", "null"),
    ("jnum-array", "[1]"), ("jnum-object", "{}"),
])


def at_limit(f):
    k = f["kind"]
    if k == "int":
        return str(f["hi"]).encode()
    if k == "text":
        return ("\u00e9" * f["hi"]).encode()        # hi characters, 2 bytes each
    if k in ("verbatim", "secret"):
        return ("\u00e9" * (f["hi"] // 2)).encode()     # hi bytes
    return b"a" * f["hi"] if f["hi"] else b"PUT"


def past_limit(f):
    k = f["kind"]
    if k == "int":
        return str(f["hi"] + 1).encode()
    if k == "text":
        return ("\u00e9" * (f["hi"] + 1)).encode()
    if k in ("verbatim", "secret"):
        return ("\u00e9" * (f["hi"] // 2)).encode() + b"x"
    return b"a" * (f["hi"] + 1) if f["hi"] else b"PUTX"


def utf8_ok(b):
    try:
        b.decode("utf-8", "strict")
    except UnicodeDecodeError:
        return False
    return True


def py_int(b, lo, hi):
    """valid_int: the value, or None."""
    s = b.strip(b" \t\r\n")
    m = re.fullmatch(rb"-?[0-9]{1,19}", s)
    if not m:
        return None
    v = int(s)
    return v if lo <= v <= hi else None


def py_text(b, lo, hi):
    """valid_text: the trimmed text, or None."""
    s = b.strip(b" \t\r\n")
    if b"\x00" in s or not utf8_ok(s):
        return None
    t = s.decode()
    if any(ord(ch) < 0x20 or 0x7f <= ord(ch) <= 0x9f for ch in t):
        return None
    return t if lo <= len(t) <= hi else None


def rule(f, b):
    """What a field's rule makes of raw value bytes b (after the body
    decoded): ("400",) not text, ("422",) refused, ("ok", parsed). A
    placeholder ({Z}: an id) is judged as the number it becomes."""
    if f["kind"] == "int":
        b = re.sub(rb"\{[A-Z0-9_]+\}", b"12345", b)
    if len(b) > VALUE_MAX:
        return ("400",)
    k = f["kind"]
    if k in ("verbatim", "secret", "key", "word", "method") and \
            (b"\x00" in b or not utf8_ok(b)):
        return ("400",)
    if b"\x00" in b or not utf8_ok(b):
        return ("400",)
    if k == "int":
        v = py_int(b, f["lo"], f["hi"])
        return ("ok", v) if v is not None else ("422",)
    if k == "text":
        t = py_text(b, f["lo"], f["hi"])
        return ("ok", t) if t is not None else ("422",)
    if k in ("verbatim", "secret"):
        return ("ok", b) if f["lo"] <= len(b) <= f["hi"] else ("422",)
    if k == "word":
        return ("ok", b) if f["lo"] <= len(b) <= f["hi"] and re.fullmatch(rb"[a-z_]+", b) \
            else ("422",)
    if k == "key":
        if len(b) == 0 and f["lo"] == 0:
            return ("ok", b)
        return ("ok", b) if f["lo"] <= len(b) <= f["hi"] and re.fullmatch(rb"[!-~]+", b) \
            else ("422",)
    if k == "method":
        return ("ok", b) if b.upper() in (b"PUT", b"DELETE", b"PATCH", b"POST") else ("422",)
    raise ValueError(k)


def field_label(name):
    m = re.fullmatch(r"items\[(\d+)\]\[(\w+)\]", name)
    return ["items[%s].%s" % m.groups(), "items"] if m else [name]


def form_value(b, safe=""):
    """Percent-encoded; safe="{}" keeps the run-time placeholders ({Z})."""
    return urllib.parse.quote_from_bytes(b, safe=safe)


def json_string(b):
    """b as a JSON string literal (bytes): escaped where it is text, raw
    bytes kept where it is not."""
    if utf8_ok(b):
        return json.dumps(b.decode(), ensure_ascii=False).encode()
    return b'"' + b.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def base_values(c, optional=False):
    """The valid value of every body field of c, as bytes; the optional ones
    (the global fields, goods) only when asked for: otherwise they are sent
    only when they are the hostile one."""
    return collections.OrderedDict((k, f["valid"].encode()) for k, f in c["body"].items()
                                   if optional or not f["optional"])


def with_value(values, fname, b):
    """values with fname set to b (appended when it is not there)."""
    out = collections.OrderedDict(values)
    out[fname] = b
    return out


def form_body(values, raw=None):
    """values percent-encoded as a form; the field named raw goes as it is."""
    return b"&".join(form_value(k.encode()).encode() + b"=" +
                     (v if k == raw else form_value(v, "{}").encode())
                     for k, v in values.items())


def json_body(c, values, hostile=None, hostile_raw=None):
    """values as a JSON object (items[N][x] become the items array): an
    integer field as a number, the others as strings; the field named
    hostile gets the JSON text hostile_raw."""
    top, items = [], collections.OrderedDict()
    for k, v in values.items():
        m = re.fullmatch(r"items\[(\d+)\]\[(\w+)\]", k)
        lit = hostile_raw if k == hostile else \
            v if c["body"][k]["kind"] == "int" else json_string(v)
        if m:
            items.setdefault(int(m.group(1)), []).append(
                json.dumps(m.group(2)).encode() + b":" + lit)
        else:
            top.append(json.dumps(k).encode() + b":" + lit)
    if items:
        top.insert(0, b'"items":[' + b",".join(b"{" + b",".join(v) + b"}"
                                             for _, v in sorted(items.items())) + b"]")
    return b"{" + b",".join(top) + b"}"


def outcome(c, fname, f, r):
    """(statuses, type, field, parsed or None) for rule result r of field
    fname of call c."""
    labels = field_label(fname)
    if r[0] == "400":
        return [400], MALFORMED, None, None
    if r[0] == "422":
        return [422], INVALID, labels, None
    only_narrow = f["optional"] and f["narrow"] and f["kind"] == "int"
    statuses, ptype, fields = ([] if only_narrow else list(c["base"]), c["btype"], [])
    for st, ty, fl in f["narrow"]:
        if not statuses:
            ptype = ty
        if st not in statuses:
            statuses.append(st)
        if fl:
            fields.append(fl)
    if f["kind"] == "method":
        # an override to another method: that method's answer here
        statuses += [s for s in (405, 404, 422) if s not in statuses]
    return statuses, ptype, (fields + labels if fields else None), r[1]


def matrix_case(cat, c, label, body, ctype, out, path=None, headers=None, auth=None,
                creates=None, by="orderd", note=None):
    statuses, ptype, field, parsed = out
    valid = any(200 <= s < 300 for s in statuses)
    case(cat, "m-%s-%s" % (c["name"], label), c["method"], path or seg_path(c), body, ctype,
         headers=headers, auth=auth or c["auth"], status=statuses,
         ptype=ptype if statuses[0] >= 400 else None, field=field, valid=valid,
         creates=creates if valid else None, by=by, note=note)


def seg_path(c, seg=None):
    if c["seg"] is None:
        return c["path"]
    v = seg if seg is not None else SEG_KEEP.get(c["name"], SEG_VALID[c["seg"]])
    return c["path"].replace("{SEG}", v)


def creates_for(c, values, fname=None, parsed=None):
    """The row a 201 of c adds, with fname's parsed value in place."""
    if c["creates"] == "products":
        row = {"table": "products", "name": values["name"].decode(),
               "price": int(values["price"]), "stock": int(values["stock"])}
    elif c["creates"] == "goods":
        row = {"table": "goods", "name": values["name"].decode()}
    else:
        return None
    if fname in row and parsed is not None:
        row[fname] = parsed if not isinstance(parsed, bytes) else parsed.decode()
    return row


def gen_body_matrix():
    n = 0
    for c in CALLS:
        if c["method"] == "GET":
            continue
        values = base_values(c)
        cat = "matrix-" + c["name"]
        for fname, f in c["body"].items():
            sends = []     # (label, form body or None, JSON body, rule result)
            for cname, gen in CLASSES.items():
                b = gen(f)
                if b is None:
                    continue
                r = rule(f, b)
                # the form: percent-encoded, but the raw-NUL and raw-byte
                # classes go as they are
                raw = cname in ("nul-raw", "latin1-byte")
                fb = form_body(with_value(values, fname, b), raw=fname if raw else None)
                # JSON: a string holding it (raw bytes where it is not text)
                jv = json_string(b)
                if cname == "nul-escaped":
                    jv = b'"a\\u0000b"'
                jb = json_body(c, with_value(values, fname, b), hostile=fname, hostile_raw=jv)
                jr = ("400",) if not utf8_ok(jb) or b"\x00" in jb else r
                sends.append(("form-" + cname, fb, FORM, r))
                sends.append(("json-" + cname, jb, JSON, jr))
            if f["kind"] == "int":
                for cname, lit in JSON_NUMBERS.items():
                    v = py_int(lit.encode(), f["lo"], f["hi"]) \
                        if re.fullmatch(r"-?[0-9]+", lit) else None
                    r = ("ok", v) if v is not None else ("422",)
                    jb = json_body(c, with_value(values, fname, b""), hostile=fname,
                                   hostile_raw=lit.encode())
                    sends.append((cname, jb, JSON, r))
            for label, body, ctype, r in sends:
                vals = collections.OrderedDict(values)
                if "name" in vals and fname != "name":
                    # its own name: the rows the cases create can be told apart
                    tag = ("-%d" % n).encode()
                    vals["name"] += tag
                    body = body.replace(b"mx-{TAG}", b"mx-{TAG}" + tag) \
                        .replace(b"gx-{TAG}", b"gx-{TAG}" + tag)
                n += 1
                out = outcome(c, fname, f, r)
                if label == "jnum-huge-exponent":
                    out = ([422, 400],) + out[1:]
                creates = creates_for(c, vals, fname, out[3])
                if creates and fname == "idempotency_key":
                    creates["keyed"] = True     # the key and its answer are kept too
                matrix_case(cat, c, "%s-%s" % (fname, label), body, ctype, out,
                            creates=creates)


def gen_query_matrix():
    for c in CALLS:
        for fname, f in c["query"].items():
            cat = "matrix-query"
            for cname, gen in CLASSES.items():
                b = gen(f)
                if b is None:
                    continue
                raw = cname in ("nul-raw", "latin1-byte")
                q = form_value(fname.encode()) + "=" + \
                    (b.decode("latin-1") if raw else form_value(b))
                r = rule(f, b)
                out = outcome(c, fname, f, r)
                by = "orderd"
                if raw:
                    # bytes nginx may refuse in a request line
                    out = ([400] + [s for s in out[0] if s != 400],) + out[1:]
                    by = "any"
                matrix_case(cat, c, "%s-query-%s" % (fname, cname), None, None, out,
                            path=seg_path(c) + "?" + q, by=by)


PATH_CLASSES = collections.OrderedDict([
    ("latin1", "caf%C3%A9"), ("emoji", "%F0%9F%98%80"), ("latin1-byte", "caf%E9"),
    ("overlong", "%C0%AF"), ("invalid-ff", "%FF%FE"), ("nul-escaped", "1%00"),
    ("ctl-soh", "1%01"), ("ctl-crlf", "1%0D%0AX-Injected:%201"),
    ("sql", "1%20OR%201=1"), ("sql-quote", "1'%20OR%20'1'='1"),
    ("markup", "%3Cscript%3Ealert(1)%3C%2Fscript%3E"), ("space-padded", "%201%20"),
    ("num-negative", "-1"), ("num-zero", "0"), ("num-leading-zero", "01"),
    ("num-int64-max", str(INT64_MAX)), ("num-int64-overflow", "9223372036854775808"),
    ("num-20-digits", "99999999999999999999"), ("num-exponent", "1e3"),
    ("num-fraction", "1.5"), ("num-plus", "+1"), ("long", "a" * 40),
    ("name-at-limit", "a" * 32), ("name-past-limit", "a" * 33), ("dot-dot", ".."),
    ("raw-utf8", "caf\u00c3\u00a9"), ("raw-latin1", "caf\u00e9"),
])


def gen_path_matrix():
    for c in CALLS:
        if c["seg"] is None:
            continue
        values = base_values(c)
        for cname, seg in PATH_CLASSES.items():
            by = "any" if cname.startswith("raw-") or cname in ("nul-escaped", "dot-dot") \
                else "orderd"
            st = [404, 400] if by == "any" else [404]
            if cname == "dot-dot" and c["method"] == "GET":
                st.append(200)      # /product/../ is /product/ (nginx resolves it): a list
            body = form_body(values) if values else None
            matrix_case("matrix-paths", c, "path-" + cname, body, FORM if body else None,
                        (st, NOT_FOUND, None, None), path=seg_path(c, seg), by=by)


HEADERS = collections.OrderedDict([
    ("Idempotency-Key", "idem"), ("X-HTTP-Method-Override", "override"),
    ("X-CSRF-Token", "csrf"), ("Origin", "origin"), ("Referer", "referer"),
    ("Content-Type", "ctype"), ("Accept", "accept"),
    # the credentials themselves: a hostile bearer token or session cookie
    ("Authorization", "bearer"), ("Cookie", "cookie"),
])
HEADER_CLASSES = collections.OrderedDict([
    ("latin1", "Caf\u00e9 na\u00efve".encode()), ("latin1-byte", b"caf\xe9"),
    ("emoji", "\U0001F600".encode()), ("overlong", b"a\xc0\xafb"),
    ("invalid-ff", b"a\xff\xfeb"), ("nul-raw", b"a\x00b"), ("ctl-soh", b"a\x01b"),
    ("ctl-del", b"a\x7fb"), ("sql-quote", b"' OR '1'='1' -- "),
    ("markup-script", b"<script>alert(1)</script>"),
    ("markup-attr", b"\"><img src=x onerror=alert(1)>"),
    ("at-limit", b"k" * 200), ("past-limit", b"k" * 201), ("long-4k", b"k" * 4000),
    ("long-16k", b"k" * 16000),         # past nginx's header buffers: its 400
    ("empty", b""), ("space-padded", b"  PUT  "),
])


def gen_header_matrix():
    for c in CALLS:
        values = base_values(c)
        if c["header_base"]:
            values = base_values(c, optional=True)
            for k in ("_method", "csrf_token", "idempotency_key"):
                values.pop(k, None)
        post = c["method"] != "GET"
        body = json_body(c, values) if post and values else None
        base = c["header_base"] or (c["base"], c["btype"], None)
        needs = c["auth"] in ("user", "admin", "fresh")
        for hname, what in HEADERS.items():
            if what in ("csrf", "origin", "referer") and not (needs or c["name"] in
                                                               ("login", "register")):
                continue
            if what == "ctype" and body is None:
                continue
            for cname, v in HEADER_CLASSES.items():
                statuses, ptype, field = list(base[0]), base[1], base[2]
                auth = c["auth"]
                if what == "idem" and c["idem"]:
                    # invalid-field, or idempotency-key-reused where an earlier
                    # request with that key is kept
                    statuses = [422] + statuses
                    ptype, field = None, ["idempotency_key"] + ([field] if field else [])
                elif what == "override" and post:
                    statuses = [400] + statuses + [405, 404]
                    ptype = MALFORMED
                elif what in ("csrf", "origin", "referer") and needs:
                    auth = "cookie-" + c["auth"]
                    if post:
                        statuses, ptype = [403] + (statuses if cname == "space-padded" and
                                                   what != "csrf" else []), CSRF
                elif what in ("origin", "referer"):
                    statuses = statuses + [403]     # sign-in from another site
                elif what == "ctype":
                    statuses = [415] + statuses + [400]
                    ptype = MEDIA
                elif what == "accept" and post:
                    statuses = statuses + [303]
                elif what in ("bearer", "cookie"):
                    auth = "none"
                    if c["auth"] == "none":
                        pass                    # sign-in reads no credentials
                    elif c["name"] not in PUBLIC:
                        statuses, ptype, field = [401], UNAUTH, None
                    elif what == "bearer":
                        # a public read: a bad bearer token is refused, a
                        # bad cookie leaves the caller anonymous
                        statuses, ptype = [401] + statuses, UNAUTH
                by = "orderd"
                if cname in ("nul-raw", "ctl-soh", "ctl-del", "latin1-byte", "overlong",
                             "invalid-ff", "long-4k", "long-16k"):
                    by = "any"      # nginx may refuse such a header itself
                    if 400 not in statuses:
                        statuses.append(400)
                hv = v
                if what in ("origin", "referer") and cname == "space-padded":
                    hv = b"  {ORIGIN}  "
                if what == "ctype" and cname == "space-padded":
                    hv = b"  application/json  "
                if what == "bearer":
                    hv = b"Bearer " + v
                if what == "cookie":
                    hv = b"orderd_session=" + v
                statuses = list(collections.OrderedDict.fromkeys(statuses))
                creates = None
                if c["creates"] and not c["header_base"]:
                    creates = creates_for(c, values)
                matrix_case("matrix-headers", c, "header-%s-%s" % (hname.lower(), cname),
                            body, JSON if body is not None else None,
                            (statuses, ptype if statuses[0] >= 400 else None, field, None),
                            headers=[(hname, hv.decode("latin-1"))], auth=auth,
                            creates=creates, by=by)


def name_rule(b):
    """What a field name gets: 400 unless it is 1..64 bytes of UTF-8 without
    NUL (REQ_NAME_MAX); then it is an unknown field, a 422 naming it."""
    if not 1 <= len(b) <= 64 or b"\x00" in b or not utf8_ok(b):
        return ("400",)
    return ("422",)


def gen_name_matrix():
    """Every class as the name of a field (an unknown one), in both
    encodings, on every call that reads a body; and as the name of a member
    of a checkout item (JSON), whose 422 quotes it cut to 64 bytes."""
    nf = F("text", 1, 64, valid="name")
    for c in CALLS:
        if c["method"] == "GET":
            continue
        values = base_values(c)
        for cname, gen in CLASSES.items():
            b = gen(nf)
            if b is None or b.strip() in (b"name", b""):
                continue
            r = name_rule(b)
            out = ([400], MALFORMED, None, None) if r[0] == "400" else \
                ([422], INVALID, [b.decode()], None)
            raw = cname in ("nul-raw", "latin1-byte")
            enc_name = b if raw else form_value(b).encode()
            fb = b"&".join([enc_name + b"=1"] + ([form_body(values)] if values else []))
            matrix_case("matrix-names", c, "fieldname-form-" + cname, fb, FORM, out)
            jn = json_string(b) if cname != "nul-escaped" else b'"a\\u0000b"'
            jb = b"{" + jn + b":1" + (b"," + json_body(c, values)[1:-1] if values else b"") + \
                b"}"
            jout = out if utf8_ok(jb) and b"\x00" not in jb else ([400], MALFORMED, None, None)
            matrix_case("matrix-names", c, "fieldname-json-" + cname, jb, JSON, jout)
    # a checkout item's member names
    c = next(x for x in CALLS if x["name"] == "checkout")
    for cname, gen in CLASSES.items():
        b = gen(nf)
        if b is None or b in (b"product", b"quantity"):
            continue
        jn = json_string(b) if cname != "nul-escaped" else b'"a\\u0000b"'
        jb = b'{"items":[{"product":{Z},"quantity":1,' + jn + b':1}],"pay_method":"cod"}'
        # any length (a member name has no limit of its own); \u0000 is a 400
        out = ([422], INVALID, ["items"], None) if utf8_ok(b) and b"\x00" not in b \
            else ([400], MALFORMED, None, None)
        matrix_case("matrix-names", c, "item-member-json-" + cname, jb, JSON, out)


gen_body_matrix()
gen_name_matrix()
gen_query_matrix()
gen_path_matrix()
gen_header_matrix()

# ---------------------------------------------------------------------------

def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".jsonl"):
            os.unlink(os.path.join(OUT, f))
    total = 0
    for i, (cat_name, cases) in enumerate(CASES.items(), 1):
        path = os.path.join(OUT, "%02d-%s.jsonl" % (i, cat_name))
        with open(path, "w", encoding="utf-8") as f:
            for c in cases:
                c["category"] = cat_name
                f.write(json.dumps(c, ensure_ascii=True) + "\n")
        total += len(cases)
        print("%-22s %4d" % (cat_name, len(cases)))
    print("%-22s %4d" % ("total", total))


if __name__ == "__main__":
    sys.exit(main())
