#!/usr/bin/env python3
"""A scripted fake proxy (SOCKS4, SOCKS4a, SOCKS5, HTTP CONNECT) for proxy.bats,
and one target the real proxies need.

    proxy_peer.py [--host H] [--count N] [--auth] [--bnd ipv4|ipv6|name] MODE [ARG]
        listens on H (default 127.0.0.1) port 0, prints 'listening on
        H:PORT' ('[H]:PORT' for IPv6) on stderr; serves N connections
        (default 1), each in its own thread. The protocol is the client's
        first byte: 5 SOCKS5, 4 SOCKS4/4a, anything else HTTP CONNECT.
    proxy_peer.py target exchange FILE N
        a target: listens like the proxy; for one connection sends FILE while
        reading exactly N bytes, then reads on to EOF and prints 'N SHA256' of
        all it read on stdout (it never half-closes first: a proxy that closes
        both ways at the first EOF still carries everything).

What the client sent during the handshake is printed on stdout, one line per
message, each the message's bytes in hex:
    socks5: 'greeting HEX', 'auth HEX' (RFC 1929), 'request HEX'
    socks4: 'request HEX' (up to and including the NUL after the user id,
            and for 4a the NUL after the name)
    http:   'head HEX' (the request head, up to and including the empty line)
and 'early N' if N bytes came after the request before any answer (a client
must wait for the grant). Then 'relayed UP DOWN' / 'echoed N' when a relay
or echo ends.

--auth: SOCKS5 asks for username/password (method 2) and accepts any; a
client that does not offer it gets 0xFF. Without it, method 0 is chosen if
offered, else 2 (the credentials are read and accepted).
--bnd: the address type of the SOCKS5 grant's BND.ADDR (default ipv4).

Modes (what is answered after the client's request):
    relay         grant, connect to the requested target (names resolved
                  here), relay both ways; each EOF is passed on as a half-close
    echo          grant, send back what comes, half-close at EOF
    reply CODE    SOCKS5 REP CODE / SOCKS4 CD CODE / HTTP status CODE, close
    auth-reject N SOCKS5: the username/password status N (not 0), close
    no-method     SOCKS5: method 0xFF to any greeting, close
    garbage       an answer that is no protocol's (an SSH banner) at the
                  first step, then hold the connection
                  (HTTP: a complete head: the banner and an empty line)
    garbage-late  SOCKS5: a proper method choice, then garbage as the reply
                  to the request; HTTP: a complete head whose status code is
                  not a number; then hold
    truncate K    the first K bytes of the grant, then close
    stall [K]     the first K bytes of the grant (default 0), then send
                  nothing more; hold until the client goes (or 60 s)
    endless       HTTP: '200' then header lines without end, until the client
                  goes
    oversized N   HTTP: a complete 200 head of about N bytes (exactly, for
                  15000 and 20000), then echo
    with-data TEXT  the grant and TEXT in one send(2), then read to EOF and
                  close
    bad-atyp      SOCKS5: a success reply with address type 7, then hold
    mute          answer nothing at all (not even SOCKS5's method choice);
                  hold until the client goes (or 60 s)
    hangup        close as soon as the client's first bytes are in
Every blocking step has a timeout so a broken test cannot hang.
"""
import hashlib
import socket
import struct
import sys
import threading

TIMEOUT = 20
HOLD = 60
lock = threading.Lock()
REASONS = {200: "Connection established", 403: "Forbidden", 407: "Proxy Authentication Required",
           502: "Bad Gateway", 503: "Service Unavailable"}
GARBAGE = b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"


def out(*a):
    with lock:
        print(*a, flush=True)


class Conn:
    """The client's connection, with exact reads (a buffer keeps what came early)."""

    def __init__(self, s):
        self.s, self.buf = s, b""

    def take(self, n):
        while len(self.buf) < n:
            b = self.s.recv(65536)
            if not b:
                raise EOFError("client closed after %d of %d bytes" % (len(self.buf), n))
            self.buf += b
        got, self.buf = self.buf[:n], self.buf[n:]
        return got

    def until(self, end, limit=65536):
        while end not in self.buf:
            if len(self.buf) > limit:
                raise EOFError("no %r in %d bytes" % (end, len(self.buf)))
            b = self.s.recv(65536)
            if not b:
                raise EOFError("client closed inside a request")
            self.buf += b
        i = self.buf.index(end) + len(end)
        got, self.buf = self.buf[:i], self.buf[i:]
        return got


def hold(s):
    """Wait until the client closes (or HOLD seconds), reading and discarding."""
    s.settimeout(HOLD)
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass


def pipe(src, dst, count, i):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
            count[i] += len(b)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def relay(c, far):
    """Both ways with half-close; c.buf (client bytes that came early) first."""
    count = [0, 0]
    if c.buf:
        far.sendall(c.buf)
        count[0] += len(c.buf)
    c.s.settimeout(None)
    far.settimeout(None)
    t = threading.Thread(target=pipe, args=(c.s, far, count, 0))
    t.start()
    pipe(far, c.s, count, 1)
    t.join()
    far.close()
    out("relayed %d %d" % tuple(count))


def echo(c):
    n = len(c.buf)
    if c.buf:
        c.s.sendall(c.buf)
    while True:
        b = c.s.recv(65536)
        if not b:
            break
        n += len(b)
        c.s.sendall(b)
    c.s.shutdown(socket.SHUT_WR)
    out("echoed %d" % n)


def bnd(kind, far):
    """A SOCKS5 BND.ADDR/BND.PORT of the kind asked for."""
    port = far.getsockname()[1] if far else 4242
    if kind == "ipv6":
        return b"\x04" + socket.inet_pton(socket.AF_INET6, "::1") + struct.pack("!H", port)
    if kind == "name":
        return b"\x03\x09localhost" + struct.pack("!H", port)
    return b"\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", port)


def early(c):
    if c.buf:
        out("early %d" % len(c.buf))


def dial(host, port):
    return socket.create_connection((host, port), timeout=TIMEOUT)


def finish(c, o, grant, far_to):
    """The common tail: what the mode does once the request is read. grant()
    makes the success answer (given the far socket or None)."""
    mode, arg = o["mode"], o["arg"]
    s = c.s
    if mode == "relay":
        far = dial(*far_to)
        s.sendall(grant(far))
        relay(c, far)
    elif mode == "echo":
        s.sendall(grant(None))
        echo(c)
    elif mode == "truncate":
        s.sendall(grant(None)[:int(arg)])
    elif mode == "stall":
        if arg:
            s.sendall(grant(None)[:int(arg)])
        hold(s)
    elif mode == "with-data":
        s.sendall(grant(None) + arg.encode())
        hold(s)
    else:
        return False
    return True


def socks5(c, o):
    s, mode = c.s, o["mode"]
    head = c.take(2)
    methods = c.take(head[1])
    out("greeting", (head + methods).hex())
    if mode == "garbage":
        s.sendall(GARBAGE)
        return hold(s)
    if mode == "no-method":
        return s.sendall(b"\x05\xff")
    if o["auth"] or 0 not in methods:
        if 2 not in methods:
            return s.sendall(b"\x05\xff")
        s.sendall(b"\x05\x02")
        ver_ulen = c.take(2)
        user = c.take(ver_ulen[1])
        plen = c.take(1)
        pw = c.take(plen[0])
        out("auth", (ver_ulen + user + plen + pw).hex())
        if mode == "auth-reject":
            return s.sendall(b"\x01" + bytes([int(o["arg"])]))
        s.sendall(b"\x01\x00")
    else:
        s.sendall(b"\x05\x00")
    req = c.take(4)
    atyp = req[3]
    if atyp == 1:
        addr = c.take(4)
        host = socket.inet_ntoa(addr)
    elif atyp == 4:
        addr = c.take(16)
        host = socket.inet_ntop(socket.AF_INET6, addr)
    elif atyp == 3:
        n = c.take(1)
        addr = n + c.take(n[0])
        host = addr[1:].decode()
    else:
        out("request", (req + c.buf).hex())
        return
    port = c.take(2)
    out("request", (req + addr + port).hex())
    early(c)
    if mode == "reply":
        return s.sendall(b"\x05" + bytes([int(o["arg"])]) + b"\x00" + bnd("ipv4", None))
    if mode == "garbage-late":
        s.sendall(GARBAGE)
        return hold(s)
    if mode == "bad-atyp":
        s.sendall(b"\x05\x00\x00\x07" + b"\x00" * 6)
        return hold(s)
    finish(c, o, lambda far: b"\x05\x00\x00" + bnd(o["bnd"], far),
           (host, struct.unpack("!H", port)[0]))


def socks4(c, o):
    s, mode = c.s, o["mode"]
    req = c.take(8)
    user = c.until(b"\x00", 1024)
    ip = req[4:8]
    host = socket.inet_ntoa(ip)
    name = b""
    if ip[:3] == b"\x00\x00\x00" and ip[3] != 0:
        name = c.until(b"\x00", 1024)
        host = name[:-1].decode()
    out("request", (req + user + name).hex())
    early(c)
    if mode == "garbage":
        s.sendall(GARBAGE)
        return hold(s)
    if mode == "reply":
        return s.sendall(b"\x00" + bytes([int(o["arg"])]) + b"\x00" * 6)
    finish(c, o, lambda far: b"\x00\x5a" + (struct.pack("!H", far.getsockname()[1]) + socket.inet_aton("127.0.0.1") if far else b"\x00" * 6),
           (host, struct.unpack("!H", req[2:4])[0]))


def http(c, o):
    s, mode, arg = c.s, o["mode"], o["arg"]
    head = c.until(b"\r\n\r\n")
    out("head", head.hex())
    early(c)
    target = head.split(b"\r\n")[0].split(b" ")[1].decode()
    host, _, port = target.rpartition(":")
    host = host.strip("[]")
    if mode == "garbage":  # a whole head, but no HTTP status line
        s.sendall(GARBAGE + b"\r\n")
        return hold(s)
    if mode == "garbage-late":  # an HTTP status line with no number
        s.sendall(b"HTTP/1.1 2x0 Fine\r\nServer: x\r\n\r\n")
        return hold(s)
    if mode == "reply":
        code = int(arg)
        return s.sendall(b"HTTP/1.1 %d %s\r\nProxy-Authenticate: Basic realm=\"peer\"\r\n"
                         b"Content-Length: 0\r\nConnection: close\r\n\r\n" % (code, REASONS[code].encode()))
    if mode == "endless":
        s.sendall(b"HTTP/1.1 200 Connection established\r\n")
        try:
            for i in range(100000):  # 100000 lines of 64 bytes: far past any limit
                s.sendall(b"X-Filler-%05d: %s\r\n" % (i, b"a" * 47))
        except OSError:
            pass
        return
    if mode == "oversized":
        first = b"HTTP/1.1 200 Connection established\r\n"
        fill = int(arg) - len(first) - 2
        lines = b""
        while fill > 0:
            n = min(fill, 1000)
            line = b"X-Filler: " + b"a" * max(n - 12, 0) + b"\r\n"
            lines += line
            fill -= len(line)
        s.sendall(first + lines + b"\r\n")
        return echo(c)
    finish(c, o, lambda far: b"HTTP/1.1 200 Connection established\r\nVia: 1.1 peer\r\n\r\n",
           (host, int(port)))


def serve(conn, o):
    conn.settimeout(TIMEOUT)
    c = Conn(conn)
    try:
        first = c.s.recv(1, socket.MSG_PEEK)
        if o["mode"] == "mute":
            hold(c.s)
        elif o["mode"] == "hangup":
            c.s.recv(65536)  # read, so that the close is a FIN, not a reset
            out("hung up")
        elif not first:
            out("closed at once")
        elif first == b"\x05":
            socks5(c, o)
        elif first == b"\x04":
            socks4(c, o)
        else:
            http(c, o)
    except (EOFError, OSError) as e:
        out("error %s" % e)
    finally:
        conn.close()


def listener(host):
    v6 = ":" in host
    ls = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET)
    ls.bind((host, 0))
    ls.listen(16)
    ls.settimeout(TIMEOUT)
    where = "[%s]" % host if v6 else host
    print("listening on %s:%d" % (where, ls.getsockname()[1]), file=sys.stderr, flush=True)
    return ls


def exchange(ls, path, n):
    conn, _ = ls.accept()
    conn.settimeout(TIMEOUT)
    h, got = hashlib.sha256(), 0

    def send():
        with open(path, "rb") as f:
            conn.sendall(f.read())

    t = threading.Thread(target=send)
    t.start()
    while got < n:
        b = conn.recv(min(65536, n - got))
        if not b:
            break
        got += len(b)
        h.update(b)
    t.join()
    while True:  # on to EOF
        try:
            b = conn.recv(65536)
        except OSError:
            break
        if not b:
            break
        got += len(b)
        h.update(b)
    out("%d %s" % (got, h.hexdigest()))
    conn.close()


def main(argv):
    o = {"host": "127.0.0.1", "count": "1", "auth": False, "bnd": "ipv4", "arg": None}
    rest, i = [], 1
    while i < len(argv):
        a = argv[i]
        if a == "--auth":
            o["auth"] = True
            i += 1
        elif a in ("--host", "--count", "--bnd"):
            o[a[2:]] = argv[i + 1]
            i += 2
        else:
            rest.append(a)
            i += 1
    ls = listener(o["host"])
    if rest[0] == "target":
        return exchange(ls, rest[2], int(rest[3]))
    o["mode"] = rest[0]
    o["arg"] = rest[1] if len(rest) > 1 else None
    threads = []
    for _ in range(int(o["count"])):
        conn, _ = ls.accept()
        t = threading.Thread(target=serve, args=(conn, o))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main(sys.argv)
