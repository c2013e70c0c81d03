#!/usr/bin/env python3
"""Writes the seed corpora in tests/fuzz/corpus/<harness>/ from the tables
below: real requests of the API and the pages, and the edge cases the
parsers must refuse. Run it after changing a table; the fuzzer itself never
writes there (fuzz.mk fuzzes a copy in its build dir).

  python3 tests/fuzz/mkseeds.py           (re)write every seed of the tables
  python3 tests/fuzz/mkseeds.py --check   exit 1 if a seed of the tables is
                                          missing or differs

Files in corpus/ that no table names are left alone. Crash inputs kept as
regressions go to regress/<harness>/ (README.md), not here."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
JSON_CT, FORM_CT = 0, 1
METHODS = {"GET": 0, "HEAD": 1, "POST": 2, "PUT": 3, "DELETE": 4, "PATCH": 5,
           "OPTIONS": 6, None: 7}


def b(s):
    return s if isinstance(s, bytes) else s.encode("utf-8")


def request(method="POST", path="/product/", ctype=JSON_CT, accept=None,
            override=None, body=b"", oversize=False, arena=0, keep_query=False,
            method_text=None, ctype_text=None):
    """One fuzz_request input (format in fuzz_request.c)."""
    msel = 8 if method_text is not None else METHODS[method]
    csel = 6 if ctype_text is not None else ctype
    flags = (0x01 if accept is None else 0) | (0x02 if override is None else 0) | \
        (0x04 if oversize else 0) | (arena << 3) | (0x40 if keep_query else 0) | \
        (0x20 if path is None else 0)
    parts = [b(method_text or ""), b(path or ""), b(ctype_text or ""), b(accept or ""),
             b(override or "")]
    return bytes([msel, csel, flags]) + b"\0".join(parts) + b"\0" + b(body)


REQUEST = {
    "get-products": request("GET", "/product/?limit=20&after=0", accept="application/json"),
    "get-products-html": request("GET", "/product?format=html", accept=BROWSER),
    "get-product-id": request("GET", "/product/42", accept="*/*"),
    "head-product": request("HEAD", "/product/9223372036854775807/"),
    "get-product-id-overflow": request("GET", "/product/9223372036854775808"),
    "get-product-id-zero": request("GET", "/product/0"),
    "get-product-id-lead0": request("GET", "/product/042"),
    "get-query-in-path": request("GET", "/order/?limit=5", keep_query=True),
    "get-query-bad-int": request("GET", "/order/?limit=abc&cb=123"),
    "get-query-bad-pct": request("GET", "/order/?limit=%zz"),
    "get-ledger": request("GET", "/account/ledger?after=7&limit=200"),
    "get-account": request("GET", "/account", accept="application/json;q=0.5, text/html;q=0.4"),
    "post-product-json": request(body=b'{"name":"Tea cup","price":250,"stock":10,"goods":1}',
                                 accept="application/json"),
    "post-product-form-browser": request(ctype=FORM_CT, accept=BROWSER,
                                         body="name=Tea+cup&price=250&stock=10&goods=1&next=%2Fadmin"),
    "post-order-form": request(path="/order/", ctype=FORM_CT, accept=BROWSER,
                               body="product=3&quantity=2&idempotency_key=k-1&csrf_token=abc&next=%2F"),
    "post-checkout-json": request(path="/checkout/", accept="application/json",
                                  body=b'{"items":[{"product":1,"quantity":2},{"product":5}],'
                                       b'"idempotency_key":"c-1"}'),
    "post-checkout-form-gaps": request(path="/checkout", ctype=FORM_CT, accept=BROWSER,
                                       body="items[7][quantity]=1&items[7][product]=2&"
                                            "items[0][product]=3&items[999][product]=4&next=%2Fcart"),
    "post-abort-override-header": request(path="/order/12/abort", override="PUT",
                                          body=b'{"csrf_token":"t"}'),
    "post-abort-method-field": request(path="/order/12/abort/", ctype=FORM_CT, accept=BROWSER,
                                       body="_method=put&next=%2Forders"),
    "post-override-bad": request(path="/order/12/abort", override="TRACE", body=b"{}"),
    "put-abort": request("PUT", "/order/12/abort", body=b""),
    "delete-product": request("DELETE", "/product/3"),
    "options-product": request("OPTIONS", "/product/"),
    "method-lowercase": request(method_text="post", path="/product/", body=b"{}"),
    "method-empty": request(method_text="", path="/"),
    "method-absent": request(None, "/product/"),
    "path-absent": request("GET", None),
    "path-double-slash": request("GET", "//product/"),
    "path-dotdot": request("GET", "/product/../order/1"),
    "path-pct": request("GET", "/product/%2F/"),
    "path-backslash": request("GET", "/product\\1"),
    "path-long-segment": request("GET", "/" + "a" * 60),
    "path-five-segments": request("GET", "/a/b/c/d/e"),
    "path-too-long": request("GET", "/" + "p/" * 520),
    "register": request(path="/auth/register", ctype=FORM_CT, accept=BROWSER,
                        body="username=alice&password=s3cret+pass&next=%2F"),
    "login-json": request(path="/auth/login", body=b'{"username":"alice","password":"pw"}'),
    "logout": request(path="/auth/logout/", ctype=FORM_CT, body="csrf_token=x"),
    "credit": request(path="/account/alice_1.x-y/credit", body=b'{"amount":1000}'),
    "credit-bad-name": request(path="/account/al!ce/credit", body=b'{"amount":1}'),
    "transfer": request(path="/transfer", body=b'{"to":"bob","amount":"25"}'),
    "pay": request(path="/order/7/pay", ctype=FORM_CT, body="pay_method=card"),
    "ship": request(path="/order/7/ship", body=b'{}'),
    "goods-create": request(path="/goods/", body=b'{"name":"Crate"}'),
    "restock": request(path="/product/1/restock", body=b'{"stock":5}'),
    "ct-text-plain": request(path="/order/", ctype=4, body="product=1"),
    "ct-multipart": request(path="/order/", ctype=5, body="--x\r\n\r\n--x--"),
    "ct-absent": request(path="/order/", ctype=3, body="product=1"),
    "ct-custom-json-params": request(path="/order/", ctype_text=" Application/JSON ;charset=utf-8",
                                     body=b'{"product":1}'),
    "ct-json-prefix": request(path="/order/", ctype_text="application/jsonx", body=b'{"product":1}'),
    "oversize-body": request(path="/order/", oversize=True),
    "oversize-get": request("GET", "/order/", oversize=True),
    "small-arena-json": request(path="/checkout/", arena=2,
                                body=b'{"items":[' + b",".join([b'{"product":1}'] * 50) + b']}'),
    "tiny-arena-form": request(path="/product/", ctype=FORM_CT, arena=3, accept=BROWSER,
                               body="name=" + "x" * 200 + "&next=%2F"),
    "accept-q-zero-html": request(path="/order/", ctype=FORM_CT,
                                  accept="text/html;q=0, application/json", body="product=x"),
    "accept-wildcard-types": request(path="/order/", ctype=FORM_CT,
                                     accept="text/*;q=0.8, application/*;q=0.7", body="product=x"),
    "accept-garbage-q": request(path="/order/", ctype=FORM_CT,
                                accept="text/html;q=nan, */*;q=1e9, ;;, /, text/html;Q=0.5",
                                body="quantity=0&next=%2F%2Fevil"),
    "browser-next-crlf": request(path="/order/", ctype=FORM_CT, accept=BROWSER,
                                 body="product=0&next=%2Fa%0D%0ASet-Cookie:x"),
    "body-with-nul": request(path="/order/", body=b'{"product":1}\0{"x":1}'),
}

FORM = {
    "product-create": "name=Tea+cup&price=250&stock=10&goods=1",
    "order-create": "product=3&quantity=2&next=%2Fshop%3Ftab%3D1&idempotency_key=k-1",
    "utf8-name": "name=caf%C3%A9+%E2%98%95",
    "raw-utf8-name": b"name=caf\xc3\xa9",
    "padded-int": "quantity=+7+",
    "method-field": "_method=PUT&next=%2Forders",
    "method-field-bad": "_method=TRACE",
    "max-price": "price=1000000000000",
    "over-price": "price=1000000000001",
    "max-after": "after=9223372036854775807",
    "overflow-after": "after=9223372036854775808",
    "checkout-two": "items[0][product]=1&items[0][quantity]=2&items[1][product]=5",
    "checkout-gaps": "items[7][quantity]=1&items[7][product]=2&items[0][product]=3&"
                     "items[0][quantity]=2&items[3][product]=2&items[999][product]=3",
    "checkout-index-1000": "items[1000][product]=1",
    "checkout-index-lead0": "items[01][product]=1",
    "checkout-no-product": "items[0][quantity]=2",
    "checkout-dup": "items[0][product]=1&items[0][product]=2",
    "checkout-plain-items": "items=1",
    "checkout-bracket-junk": "items[0][product]x=1&items[][product]=1&items[0]=1",
    "checkout-many": "&".join("items[%d][product]=%d&items[%d][quantity]=1" % (i, i + 1, i)
                              for i in range(0, 64, 2)),
    "register": "username=alice&password=s3cret+pass&csrf_token=abc&next=%2F",
    "password-bytes": b"password=%20%20spaced%20&username=b%C3%B6b",
    "transfer": "to=bob&amount=25&idempotency_key=t-1",
    "pay": "pay_method=card&csrf_token=x",
    "pay-upper": "pay_method=Card",
    "query-list": "limit=20&after=0&format=html&cb=1700000000",
    "unknown-field": "colour=red",
    "dup-field": "name=a&name=b",
    "empty-name": "=1",
    "no-equals": "product",
    "empty-pairs": "&&&product=1&&",
    "bad-pct": "name=%ZZ",
    "short-pct": "name=%4",
    "pct-nul": "name=a%00b",
    "overlong-utf8": "name=%C0%AF",
    "surrogate": "name=%ED%A0%80",
    "c1-control": "name=a%C2%85b",
    "del": "name=a%7Fb",
    "crlf-name": "name=a%0D%0Ab",
    "html-name": "name=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "sql-name": "name=Robert%27%29%3B+DROP+TABLE+product%3B--",
    "long-name": "name=" + "x" * 201,
    "long-key": "k" * 65 + "=1",
    "long-value": "name=" + "%41" * 4097,
    "65-fields": "&".join("f%d=1" % i for i in range(65)),
    "next-evil": "product=0&next=%2F%2Fevil.example",
    "next-backslash": "product=0&next=%2F%5Cevil",
    "next-abs": "product=0&next=http%3A%2F%2Fevil",
    "next-twice": "next=%2Fa&next=%2Fb",
    "next-long": "product=0&next=%2F" + "a" * 600,
    "negative-qty": "product=1&quantity=-1",
    "float-qty": "product=1&quantity=1.5",
    "exp-qty": "product=1&quantity=1e3",
    "hex-qty": "product=1&quantity=0x10",
    "csrf-space": "csrf_token=a+b",
    "idem-long": "idempotency_key=" + "k" * 201,
    "nul-raw": b"name=a\0b&price=1",
    "non-utf8-raw": b"name=\xff\xfe",
}

JSON = {
    "product-create": '{"name":"Tea cup","price":250,"stock":10,"goods":1}',
    "order-create": '{"product":"3","quantity":2,"next":"/shop?tab=1","idempotency_key":"k-1"}',
    "utf8-escapes": '{"name":"caf\\u00e9 \\u2615 \\ud83d\\ude00"}',
    "raw-utf8": b'{"name":"caf\xc3\xa9"}',
    "padded-int-string": '{"quantity":" 7 "}',
    "method-field": '{"_method":"PUT"}',
    "max-price": '{"price":1000000000000}',
    "max-after-string": '{"after":"9223372036854775807"}',
    "checkout": '{"items":[{"product":1,"quantity":2},{"product":5}],"idempotency_key":"c-1"}',
    "checkout-strings": '{"items":[{"product":"1","quantity":"2"}]}',
    "checkout-empty": '{"items":[]}',
    "checkout-empty-el": '{"items":[{}]}',
    "checkout-not-array": '{"items":{"product":1}}',
    "checkout-el-not-object": '{"items":[1,2]}',
    "checkout-unknown-member": '{"items":[{"product":1,"colour":"red"}]}',
    "checkout-dup-member": '{"items":[{"product":1,"product":2}]}',
    "checkout-items-twice": '{"items":[{"product":1}],"items":[{"product":2}]}',
    "checkout-nested-value": '{"items":[{"product":[1,2],"quantity":3}],"after":4}',
    "checkout-1001": '{"items":[' + ",".join(['{"product":1}'] * 1001) + ']}',
    "numbers-in-nested": '{"x":[1,2,{"y":3}],"product":4,"quantity":5}',
    "numbers-around-items": '{"price":7,"items":[{"quantity":3,"product":9}],"stock":8}',
    "checkout-json-exact": '{"items":[{"product":9007199254740993,"quantity":1}]}',
    "float-as-int": '{"quantity":1.0}',
    "exp-as-int": '{"quantity":1e3}',
    "exp-upper": '{"quantity":1E+2}',
    "neg-zero": '{"after":-0}',
    "negative": '{"quantity":-1}',
    "overflow": '{"product":99999999999999999999999}',
    "int64-min": '{"after":-9223372036854775808}',
    "leading-zero": '{"quantity":01}',
    "number-junk": '{"quantity":1x}',
    "minus-alone": '{"quantity":-}',
    "bool-as-int": '{"quantity":true}',
    "null-as-int": '{"quantity":null}',
    "number-as-text": '{"name":5}',
    "object-as-text": '{"name":{"a":1}}',
    "array-root": '[{"product":1}]',
    "string-root": '"product"',
    "number-root": '42',
    "empty-object": '{}',
    "trailing-data": '{"product":1} x',
    "trailing-ws": '{"product":1} \r\n\t',
    "two-objects": '{"product":1}{"product":2}',
    "unterminated": '{"product":1',
    "u0000": '{"name":"a\\u0000b"}',
    "u0000-key": '{"na\\u0000me":"x"}',
    "lone-surrogate": '{"name":"\\ud800"}',
    "bad-escape": '{"name":"\\x41"}',
    "deep-16": '{"a":' + "[" * 15 + "]" * 15 + '}',
    "deep-17": '{"a":' + "[" * 16 + "]" * 16 + '}',
    "deep-in-string": '{"name":"' + "[" * 40 + '"}',
    "dup-field": '{"name":"a","name":"b"}',
    "unknown-field": '{"colour":"red"}',
    "empty-key": '{"":1}',
    "long-key": '{"' + "k" * 65 + '":1}',
    "long-value": '{"name":"' + "x" * 4097 + '"}',
    "html-name": '{"name":"<script>alert(1)</script>"}',
    "sql-name": '{"name":"Robert\'); DROP TABLE product;--"}',
    "control-in-name": '{"name":"a\\u0007b"}',
    "c1-in-name": '{"name":"a\\u0085b"}',
    "next-evil": '{"next":"//evil.example","product":0}',
    "next-number": '{"next":5}',
    # An unsafe `next` is dropped, not refused: the numbers inside it must
    # still be stepped over, or product/quantity get its numbers.
    "next-array-then-ints": '{"next":[1,{"a":2}],"product":3,"quantity":4}',
    "next-object-then-items": '{"next":{"x":-1.5e3},"items":[{"product":2,"quantity":6}]}',
    "next-twice-ints": '{"next":"/a","next":[9],"amount":10}',
    "password": '{"username":"alice","password":"  spaced  "}',
    "credit-amount": '{"amount":"1000000000000"}',
    "65-fields": "{" + ",".join('"f%d":%d' % (i, i) for i in range(65)) + "}",
    "non-utf8": b'{"name":"\xff"}',
    "nul-byte": b'{"name":"a"}\0',
    "bom": b'\xef\xbb\xbf{"product":1}',
}


def valid(int_sel, text_sel, value):
    return bytes([int_sel, text_sel]) + b(value)


VALID = {
    "int-plain": valid(3, 0, "42"),
    "int-padded": valid(3, 0, " \t42\r\n"),
    "int-negative": valid(6, 0, "-17"),
    "int-min": valid(6, 0, "-9223372036854775808"),
    "int-max": valid(2, 0, "9223372036854775807"),
    "int-overflow": valid(2, 0, "9223372036854775808"),
    "int-20-digits": valid(6, 0, "00000000000000000001"),
    "int-19-zeros": valid(5, 0, "0000000000000000000"),
    "int-plus": valid(3, 0, "+5"),
    "int-dot": valid(3, 0, "1.0"),
    "int-exp": valid(3, 0, "1e3"),
    "int-hex": valid(3, 0, "0x10"),
    "int-minus-only": valid(6, 0, "-"),
    "int-empty": valid(6, 0, ""),
    "int-inner-space": valid(6, 0, "1 2"),
    "int-nul": valid(6, 0, b"1\0"),
    "int-below": valid(7, 0, "-6"),
    "text-name": valid(0, 0, "  Tea cup  "),
    "text-utf8": valid(0, 1, "caf\xe9 \u2615 \U0001F600"),
    "text-empty": valid(0, 0, "   "),
    "text-c0": valid(0, 0, "a\x07b"),
    "text-c1": valid(0, 0, b"a\xc2\x85b"),
    "text-del": valid(0, 0, "a\x7fb"),
    "text-nul": valid(0, 0, b"a\0b"),
    "text-5-chars": valid(0, 3, "\u00e9\u00e9\u00e9\u00e9\u00e9"),
    "text-6-chars": valid(0, 3, "abcdef"),
    "utf8-overlong": valid(0, 4, b"\xc0\xaf\xe0\x80\xaf"),
    "utf8-surrogate": valid(0, 4, b"\xed\xa0\x80"),
    "utf8-max": valid(0, 4, b"\xf4\x8f\xbf\xbf"),
    "utf8-above-max": valid(0, 4, b"\xf4\x90\x80\x80"),
    "utf8-truncated": valid(0, 4, b"ab\xe2\x98"),
    "utf8-bare-cont": valid(0, 4, b"\x80"),
    "path-root": valid(0, 0, "/"),
    "path-shop": valid(0, 0, "/shop?tab=1&x=%2F"),
    "path-double": valid(0, 0, "//evil.example/"),
    "path-backslash": valid(0, 0, "/\\evil"),
    "path-space": valid(0, 0, "/a b"),
    "path-abs": valid(0, 0, "http://evil/"),
    "path-512": valid(0, 0, "/" + "a" * 511),
    "path-513": valid(0, 0, "/" + "a" * 512),
    "accept-browser": valid(0, 0, BROWSER),
    "accept-json": valid(0, 0, "application/json"),
    "accept-html-q0": valid(0, 0, "text/html;q=0,application/json"),
    "accept-specific-wins": valid(0, 0, "text/*;q=0.1, text/html;q=0.9, application/json;q=0.5"),
    "accept-garbage": valid(0, 0, ";;,,/,*/*;q=x, text/html ; q=1.5"),
    "accept-long-range": valid(0, 0, "text/" + "h" * 200 + ", text/html"),
    "route-product-id": valid(0, 0, "/product/42/"),
    "route-restock": valid(0, 0, "/product/9223372036854775807/restock"),
    "route-order-abort": valid(0, 0, "/order/1/abort"),
    "route-credit": valid(0, 0, "/account/alice.b-c_d/credit/"),
    "route-credit-33": valid(0, 0, "/account/" + "a" * 33 + "/credit"),
    "route-auth": valid(0, 0, "/auth/login"),
    "route-five": valid(0, 0, "/a/b/c/d/e"),
    "route-id-lead0": valid(0, 0, "/goods/01"),
}

def hdr(url, host="127.0.0.1:8080", header=""):
    """One fuzz_hdr input: Origin or Referer, the site's host:port, and a
    Cookie or Authorization header."""
    return b(url) + b"\0" + b(host) + b"\0" + b(header)


TOKEN = "A" * 21 + "-_" + "z" * 20
HDR = {
    "origin-same": hdr("http://127.0.0.1:8080", header="orderd_session=" + TOKEN),
    "origin-https-default": hdr("https://shop.example", "shop.example",
                                "a=1; orderd_session=" + TOKEN + "; orderd_csrf=x"),
    "origin-http-port-80": hdr("http://shop.example:80", "shop.example"),
    "origin-upper": hdr("http://SHOP.Example", "shop.example:80"),
    "origin-other-port": hdr("http://127.0.0.1:8081", header="Bearer " + TOKEN),
    "origin-null": hdr("null", header="bearer   " + TOKEN + "  "),
    "origin-userinfo": hdr("http://a@127.0.0.1:8080", header="Basic YWxpY2U6cHc="),
    "origin-ipv6": hdr("http://[::1]:8080", "[::1]:8080"),
    "origin-port-junk": hdr("http://127.0.0.1: +0080", "127.0.0.1:80"),
    "origin-port-big": hdr("http://127.0.0.1:99999999999999999999", "127.0.0.1:65536"),
    "referer-path": hdr("http://127.0.0.1:8080/cart.html?x=1#top",
                        header='orderd_session="' + TOKEN + '"'),
    "referer-prefix-attack": hdr("http://127.0.0.1:8080.evil.com/",
                                 header="orderd_session=a; orderd_session=b"),
    "referer-query-host": hdr("http://evil.com/?h=127.0.0.1:8080", header=";;  orderd_session="),
    "referer-empty-host": hdr("http:///x", "", "orderd_session"),
    "cookie-many": hdr("", "", "; ".join("c%d=v" % i for i in range(100)) +
                       "; orderd_session=" + "x" * 4000),
    "no-nul": b"https://127.0.0.1:443",
}

CORPORA = {"request": REQUEST, "form": FORM, "json": JSON, "valid": VALID, "hdr": HDR}


def main():
    check = "--check" in sys.argv[1:]
    bad = 0
    for harness, table in CORPORA.items():
        d = os.path.join(HERE, "corpus", harness)
        os.makedirs(d, exist_ok=True)
        for name, data in table.items():
            data = b(data)
            path = os.path.join(d, name)
            if check:
                try:
                    with open(path, "rb") as f:
                        same = f.read() == data
                except OSError:
                    same = False
                if not same:
                    print("differs or missing: %s" % os.path.relpath(path, HERE))
                    bad = 1
                continue
            with open(path, "wb") as f:
                f.write(data)
        if not check:
            print("%s: %d seeds" % (harness, len(table)))
    return bad


if __name__ == "__main__":
    sys.exit(main())
