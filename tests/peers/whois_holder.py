#!/usr/bin/env python3
"""Socket holders for tests/whois_more.bats (whois-port additions).

whois_holder.py KIND ADDR [OPTIONS]
  tcp HOST          a TCP listener on HOST (127.0.0.1, ::1, ...)
  udp HOST          a bound UDP socket on HOST
  unix PATH         a unix stream listener; PATH '@NAME' is an abstract name
  unix-dgram PATH   a bound unix datagram socket
  unix-seqpacket PATH  a unix seqpacket listener
  tcp-client PORT   a TCP connection to 127.0.0.1:PORT
  unix-client PATH  a unix stream connection to PATH (or @NAME)
  unix-dgram-client PATH  an unbound unix datagram socket connect()ed to PATH
  reserve N         prints the first of N consecutive ports that nothing
                    holds (TCP and UDP, every address), then exits
Options:
  --port N          bind port N instead of 0
  --fixed           tcp, udp: pick a port as --port 0 would (bind, close),
                    then bind it explicitly: the kernel keeps a port bound
                    by number when the socket is closed from outside
  --reuseaddr       tcp, udp: set SO_REUSEADDR before binding
  --reuseport       tcp, udp: set SO_REUSEPORT before binding
  --count N         tcp, udp: N sockets on the same address and port (with
                    --reuseport), one 'listening on' line for them all
  --chdir DIR       chdir to DIR first (to bind a relative unix path)
  --no-listen       stream sockets: bind only, never listen
  --accept          listeners: accept connections and hold them
  --record FILE     append the name of every signal received (but KILL and
                    STOP) to FILE, one per line; SIGTERM and SIGINT are
                    recorded, then end the process
  --close-when FILE once FILE exists, close every socket and exit 0

Prints on stderr 'listening on HOST:PORT' ('listening on PATH' for unix,
'connected from PORT' / 'connected' for clients), or 'bind failed: ERRNO'
and exits 3. Then reports events: 'accepted', 'accept failed: ERRNO',
'conn: eof', 'conn: error ERRNO', 'recv failed: ERRNO'. Lives at most 60 s.
A unix PATH of 108 bytes (all of sun_path, no NUL, which Python's bind()
refuses) is bound through libc's.
"""
import errno
import os
import select
import signal
import socket
import sys
import time


def say(msg):
    print(msg, file=sys.stderr, flush=True)


def opt(args, name, default=None):
    return args[args.index(name) + 1] if name in args else default


def reserve(n):
    try:
        t = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        t.bind(("::", 0))
        t.close()
        v6 = True
    except OSError:
        v6 = False
    for _ in range(200):
        socks = []
        try:
            fam = socket.AF_INET6 if v6 else socket.AF_INET
            host = "::" if v6 else "0.0.0.0"

            def bind(kind, port):
                s = socket.socket(fam, kind)
                socks.append(s)
                if v6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                s.bind((host, port))
                return s.getsockname()[1]

            base = bind(socket.SOCK_STREAM, 0)
            if base + n - 1 > 65535:
                continue
            bind(socket.SOCK_DGRAM, base)
            for i in range(1, n):
                bind(socket.SOCK_STREAM, base + i)
                bind(socket.SOCK_DGRAM, base + i)
            print(base)
            return 0
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    return 1


def unix_addr(path):
    return "\0" + path[1:] if path.startswith("@") else path


def bind_unix(s, path):
    """Binds s to path; Python refuses a path that fills all of sun_path."""
    raw = os.fsencode(path)
    if path.startswith("@") or len(raw) != 108:
        s.bind(unix_addr(path))
        return
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    addr = ctypes.create_string_buffer(socket.AF_UNIX.to_bytes(2, sys.byteorder) + raw, 110)
    if libc.bind(s.fileno(), addr, ctypes.c_uint(110)) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def pick_port(fam, kind, addr):
    """A port that nothing holds now: bound to port 0, then closed."""
    t = socket.socket(fam, kind)
    try:
        t.bind((addr, 0))
        return t.getsockname()[1]
    finally:
        t.close()


def main():
    args = sys.argv[1:]
    kind, addr = args[0], args[1]
    if kind == "reserve":
        return reserve(int(addr))
    if "--chdir" in args:
        os.chdir(opt(args, "--chdir"))
    record = opt(args, "--record")
    if record:
        def handler(n, _frame):
            try:
                name = signal.Signals(n).name
            except ValueError:
                name = "SIG%d" % n
            with open(record, "a") as f:
                f.write(name + "\n")
            if n in (signal.SIGTERM, signal.SIGINT):
                raise SystemExit(0)
        for n in signal.valid_signals():
            if n in (signal.SIGKILL, signal.SIGSTOP):
                continue
            try:
                signal.signal(n, handler)
            except (OSError, ValueError, RuntimeError):
                pass
    close_when = opt(args, "--close-when")
    keep = []        # every socket, open until the end
    watch = []       # sockets select() waits on
    listeners = []   # listening sockets
    port = int(opt(args, "--port", "0"))
    try:
        if kind in ("tcp", "udp"):
            fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
            stype = socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM
            for tries in range(20):
                if "--fixed" in args and port == 0:
                    port = pick_port(fam, stype, addr)
                try:
                    for i in range(int(opt(args, "--count", "1"))):
                        s = socket.socket(fam, stype)
                        keep.append(s)
                        if "--reuseaddr" in args:
                            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                        if "--reuseport" in args:
                            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                        s.bind((addr, port))
                        port = s.getsockname()[1]
                        if kind == "tcp" and "--no-listen" not in args:
                            s.listen(16)
                            listeners.append(s)
                        watch.append(s)
                    break
                except OSError as e:
                    # a picked port taken in between: pick another
                    if "--fixed" not in args or "--port" in args or e.errno != errno.EADDRINUSE:
                        raise
                    for s in keep:
                        s.close()
                    keep, watch, listeners, port = [], [], [], 0
            shown = "[%s]" % addr if fam == socket.AF_INET6 else addr
            say("listening on %s:%d" % (shown, port))
        elif kind in ("unix", "unix-dgram", "unix-seqpacket"):
            t = {"unix": socket.SOCK_STREAM, "unix-dgram": socket.SOCK_DGRAM,
                 "unix-seqpacket": socket.SOCK_SEQPACKET}[kind]
            s = socket.socket(socket.AF_UNIX, t)
            keep.append(s)
            bind_unix(s, addr)
            if t != socket.SOCK_DGRAM and "--no-listen" not in args:
                s.listen(16)
                listeners.append(s)
            watch.append(s)
            say("listening on %s" % addr)
        elif kind == "tcp-client":
            s = socket.create_connection(("127.0.0.1", int(addr)), timeout=5)
            s.settimeout(None)
            keep.append(s)
            watch.append(s)
            say("connected from %d" % s.getsockname()[1])
        elif kind == "unix-client":
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            keep.append(s)
            s.connect(unix_addr(addr))
            watch.append(s)
            say("connected")
        elif kind == "unix-dgram-client":
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            keep.append(s)
            s.connect(unix_addr(addr))
            say("connected")
        else:
            say("unknown kind " + kind)
            return 2
    except OSError as e:
        say("bind failed: %s" % errno.errorcode.get(e.errno, str(e.errno)))
        return 3
    accept = "--accept" in args
    if not accept:
        for s in listeners:
            watch.remove(s)
    deadline = time.time() + 60
    while time.time() < deadline:
        if close_when and os.path.exists(close_when):
            for s in keep:
                s.close()
            say("closed")
            return 0
        r, _, _ = select.select(watch, [], [], 0.02)
        for s in r:
            if s in listeners:
                try:
                    c, _ = s.accept()
                except OSError as e:
                    say("accept failed: %s" % errno.errorcode.get(e.errno, str(e.errno)))
                    watch.remove(s)
                    continue
                keep.append(c)
                watch.append(c)
                say("accepted")
            elif s.type == socket.SOCK_DGRAM:
                try:
                    s.recv(65536)
                except OSError as e:
                    say("recv failed: %s" % errno.errorcode.get(e.errno, str(e.errno)))
                    watch.remove(s)
            else:
                try:
                    b = s.recv(65536)
                except OSError as e:
                    say("conn: error %s" % errno.errorcode.get(e.errno, str(e.errno)))
                    watch.remove(s)
                    continue
                if not b:
                    say("conn: eof")
                    watch.remove(s)
    return 0


sys.exit(main())
