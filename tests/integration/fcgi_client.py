"""fcgi_client: a minimal FastCGI (responder) client, standard library only.

One request per connection (keep_conn=0), or many on a KeptConnection (the
way nginx talks to orderd with fastcgi_keep_conn on). Used by test_pool.py to
talk to an orderd pool directly, without nginx.

    r = fcgi_request("/tmp/x/o.sock", "GET", "/product/1/")
    r.status, r.headers["Content-Type"], r.body, r.json

An address is a unix socket path (anything with a '/'), a (host, port) tuple,
or "host:port".

Errors (all subclasses of FcgiError):
  ConnectError  the connection could not be made (refused, no such socket)
  NoAnswer      connected (and maybe sent), but the server closed or reset the
                connection before sending a single byte of an answer
  Truncated     some of an answer arrived, but not all of it: the connection
                ended before FCGI_END_REQUEST, or the CGI header block or the
                Content-Length do not add up
  Garbled       the bytes that arrived are not valid FastCGI / CGI
  Timeout       no complete answer within the timeout
"""

import json
import os
import socket
import struct
import time

FCGI_VERSION_1 = 1
FCGI_BEGIN_REQUEST = 1
FCGI_ABORT_REQUEST = 2
FCGI_END_REQUEST = 3
FCGI_PARAMS = 4
FCGI_STDIN = 5
FCGI_STDOUT = 6
FCGI_STDERR = 7
FCGI_RESPONDER = 1
FCGI_KEEP_CONN = 1          # BEGIN_REQUEST flag: leave the connection open
FCGI_REQUEST_COMPLETE = 0

_HEADER = struct.Struct("!BBHHBx")
REQUEST_ID = 1


class FcgiError(Exception):
    kind = "error"
    t_connected = None   # monotonic time the connection was made (None: it was not)


class ConnectError(FcgiError):
    kind = "connect"


class NoAnswer(FcgiError):
    kind = "no-answer"


class Truncated(FcgiError):
    kind = "truncated"


class Garbled(FcgiError):
    kind = "garbled"


class Timeout(FcgiError):
    kind = "timeout"


class Response:
    """A parsed CGI answer: status, reason, headers (case-insensitive get),
    body bytes, json (None unless a JSON type that parses), stderr bytes,
    app_status from FCGI_END_REQUEST, t_connected (monotonic time the
    connection was established)."""

    def __init__(self, status, reason, headers, body, stderr, app_status, t_connected):
        self.status = status
        self.reason = reason
        self.header_list = headers
        self.body = body
        self.stderr = stderr
        self.app_status = app_status
        self.t_connected = t_connected
        self.content_type = self.header("Content-Type", "") or ""
        self.json = None
        if "json" in self.content_type.lower():
            try:
                self.json = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                self.json = None

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.header_list:
            if k.lower() == name:
                return v
        return default

    def media_type(self):
        return self.content_type.split(";")[0].strip().lower()

    def __repr__(self):
        return "%d %s %s" % (self.status, self.content_type or "(no type)", self.body[:300])

    describe = __repr__


def _record(rtype, content, request_id=REQUEST_ID):
    out = []
    # a record holds at most 65535 bytes; pad to a multiple of 8 like real servers
    for i in range(0, max(len(content), 1), 65535):
        chunk = content[i:i + 65535]
        pad = (8 - len(chunk) % 8) % 8
        out.append(_HEADER.pack(FCGI_VERSION_1, rtype, request_id, len(chunk), pad)
                   + chunk + b"\0" * pad)
        if not content:
            break
    return b"".join(out)


def _nv_len(n):
    return struct.pack("!B", n) if n < 128 else struct.pack("!I", n | 0x80000000)


def encode_params(params):
    out = []
    for k, v in params.items():
        k = k.encode("latin-1") if isinstance(k, str) else k
        v = v.encode("latin-1") if isinstance(v, str) else v
        out.append(_nv_len(len(k)) + _nv_len(len(v)) + k + v)
    return b"".join(out)


def build_request(method, uri, body=b"", content_type=None, accept="application/json",
                  extra_params=None, keep_conn=False):
    """The bytes of one complete FastCGI request."""
    path, _, query = uri.partition("?")
    params = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_SOFTWARE": "fcgi_client.py",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50000",
        "REQUEST_METHOD": method,
        "REQUEST_URI": uri,
        "DOCUMENT_URI": path,
        "SCRIPT_NAME": path,
        "QUERY_STRING": query,
        "CONTENT_TYPE": content_type or "",
        "CONTENT_LENGTH": str(len(body)) if body else "",
        "HTTP_HOST": "localhost",
    }
    if accept is not None:
        params["HTTP_ACCEPT"] = accept
    # The suites' administrator (the runner exports its token), as nginx
    # would pass an Authorization header.
    token = os.environ.get("ORDERD_ADMIN_TOKEN")
    if token:
        params["HTTP_AUTHORIZATION"] = "Bearer " + token
    params.update(extra_params or {})
    begin = struct.pack("!HB5x", FCGI_RESPONDER, FCGI_KEEP_CONN if keep_conn else 0)
    parts = [_record(FCGI_BEGIN_REQUEST, begin),
             _record(FCGI_PARAMS, encode_params(params)),
             _record(FCGI_PARAMS, b"")]
    if body:
        parts.append(_record(FCGI_STDIN, body))
    parts.append(_record(FCGI_STDIN, b""))
    return b"".join(parts)


def _connect(addr, timeout):
    if isinstance(addr, tuple):
        family, target = socket.AF_INET, addr
    elif "/" in addr:
        family, target = socket.AF_UNIX, addr
    else:
        host, _, port = addr.rpartition(":")
        family, target = socket.AF_INET, (host, int(port))
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(target)
    except socket.timeout:
        s.close()
        raise ConnectError("connect %r: timed out" % (addr,)) from None
    except OSError as e:
        s.close()
        raise ConnectError("connect %r: %s" % (addr, e)) from None
    return s


def parse_cgi(stdout):
    """(status, reason, [(name, value)], body) of a CGI answer; raises
    Truncated/Garbled when it is not a complete one."""
    end = stdout.find(b"\r\n\r\n")
    sep = 4
    if end < 0:
        end, sep = stdout.find(b"\n\n"), 2
    if end < 0:
        raise Truncated("no end of the CGI header block in %d bytes: %r"
                        % (len(stdout), stdout[:200]))
    head, body = stdout[:end], stdout[end + sep:]
    headers = []
    for line in head.replace(b"\r\n", b"\n").split(b"\n"):
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise Garbled("bad CGI header line %r in %r" % (line, head[:300]))
        try:
            headers.append((name.decode("ascii"), value.strip().decode("latin-1")))
        except UnicodeDecodeError:
            raise Garbled("non-ASCII header name %r" % name) from None
    status, reason = 200, "OK"
    for k, v in headers:
        if k.lower() == "status":
            code, _, reason = v.partition(" ")
            if not (code.isdigit() and len(code) == 3):
                raise Garbled("bad Status header %r" % v)
            status = int(code)
    for k, v in headers:
        if k.lower() == "content-length":
            if not v.isdigit():
                raise Garbled("bad Content-Length %r" % v)
            if int(v) != len(body):
                raise Truncated("Content-Length %s but %d body bytes: %r"
                                % (v, len(body), body[:200]))
    return status, reason, headers, body


def fcgi_request(addr, method, uri, body=b"", content_type=None, accept="application/json",
                 extra_params=None, timeout=10.0):
    """Sends one request to the FastCGI server at addr and returns a Response.
    Raises a FcgiError subclass when there is no complete, valid answer."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    data = build_request(method, uri, body, content_type, accept, extra_params)
    deadline = time.monotonic() + timeout
    s = _connect(addr, timeout)
    t_connected = time.monotonic()
    try:
        return _exchange(s, data, method, uri, deadline, timeout, t_connected)
    except FcgiError as e:
        e.t_connected = t_connected
        raise
    finally:
        s.close()


def _exchange(s, data, method, uri, deadline, timeout, t_connected):
    got = bytearray()
    if True:
        try:
            s.sendall(data)
        except socket.timeout:
            raise Timeout("%s %s: sending timed out" % (method, uri)) from None
        except OSError:
            pass   # the server may have answered and closed early: read what it said
        stdout, stderr = bytearray(), bytearray()
        app_status = None
        pos = 0
        while True:
            # parse the complete records we have
            while len(got) - pos >= 8:
                ver, rtype, rid, clen, plen = _HEADER.unpack_from(got, pos)
                if ver != FCGI_VERSION_1:
                    raise Garbled("%s %s: record with version %d at byte %d: %r"
                                  % (method, uri, ver, pos, bytes(got[pos:pos + 16])))
                if len(got) - pos < 8 + clen + plen:
                    break
                content = bytes(got[pos + 8:pos + 8 + clen])
                pos += 8 + clen + plen
                if rid != REQUEST_ID:
                    raise Garbled("%s %s: record for request id %d" % (method, uri, rid))
                if rtype == FCGI_STDOUT:
                    stdout += content
                elif rtype == FCGI_STDERR:
                    stderr += content
                elif rtype == FCGI_END_REQUEST:
                    if clen < 8:
                        raise Garbled("%s %s: short END_REQUEST" % (method, uri))
                    app_status, proto = struct.unpack_from("!IB", content)
                    if proto != FCGI_REQUEST_COMPLETE:
                        raise Garbled("%s %s: END_REQUEST protocolStatus %d" % (method, uri, proto))
                    if pos != len(got):
                        raise Garbled("%s %s: %d bytes after END_REQUEST"
                                      % (method, uri, len(got) - pos))
                    status, reason, headers, rbody = parse_cgi(bytes(stdout))
                    return Response(status, reason, headers, rbody, bytes(stderr),
                                    app_status, t_connected)
                else:
                    raise Garbled("%s %s: unexpected record type %d" % (method, uri, rtype))
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout("%s %s: no complete answer in %.1fs (%d bytes)"
                              % (method, uri, timeout, len(got)))
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                raise Timeout("%s %s: no complete answer in %.1fs (%d bytes)"
                              % (method, uri, timeout, len(got))) from None
            except OSError as e:
                if not got:
                    raise NoAnswer("%s %s: %s before any answer" % (method, uri, e)) from None
                raise Truncated("%s %s: %s after %d bytes: %r"
                                % (method, uri, e, len(got), bytes(got[:200]))) from None
            if not chunk:
                if not got:
                    raise NoAnswer("%s %s: connection closed before any answer" % (method, uri))
                raise Truncated("%s %s: connection closed after %d bytes without END_REQUEST: %r"
                                % (method, uri, len(got), bytes(got[:200])))
            got += chunk


class KeptConnection:
    """One connection that carries request after request (FCGI_KEEP_CONN, as
    nginx with fastcgi_keep_conn on): the server must leave it open; only
    this side closes it."""

    def __init__(self, addr, timeout=10.0):
        self.timeout = timeout
        self.sock = _connect(addr, timeout)

    def request(self, method, uri, body=b"", content_type=None, accept="application/json",
                extra_params=None):
        if isinstance(body, str):
            body = body.encode("utf-8")
        data = build_request(method, uri, body, content_type, accept, extra_params,
                             keep_conn=True)
        t = time.monotonic()
        return _exchange(self.sock, data, method, uri, t + self.timeout, self.timeout, t)

    def closed_by_server(self):
        """True once the server has closed its end (EOF is waiting)."""
        self.sock.setblocking(False)
        try:
            return self.sock.recv(1, socket.MSG_PEEK) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True
        finally:
            self.sock.setblocking(True)

    def close(self):
        self.sock.close()


def fcgi_json(addr, method, uri, obj, **kw):
    """A request with a JSON body."""
    return fcgi_request(addr, method, uri, json.dumps(obj).encode("utf-8"),
                        content_type="application/json", **kw)
