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
  reserve N         prints the first of N consecutive ports that nothing
                    holds (TCP and UDP, every address), then exits
Options:
  --port N          bind port N instead of 0
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
    listener = None
    port = int(opt(args, "--port", "0"))
    try:
        if kind in ("tcp", "udp"):
            fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
            s = socket.socket(fam, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
            keep.append(s)
            s.bind((addr, port))
            if kind == "tcp" and "--no-listen" not in args:
                s.listen(16)
                listener = s
            shown = "[%s]" % addr if fam == socket.AF_INET6 else addr
            watch.append(s)
            say("listening on %s:%d" % (shown, s.getsockname()[1]))
        elif kind in ("unix", "unix-dgram", "unix-seqpacket"):
            t = {"unix": socket.SOCK_STREAM, "unix-dgram": socket.SOCK_DGRAM,
                 "unix-seqpacket": socket.SOCK_SEQPACKET}[kind]
            s = socket.socket(socket.AF_UNIX, t)
            keep.append(s)
            s.bind(unix_addr(addr))
            if t != socket.SOCK_DGRAM and "--no-listen" not in args:
                s.listen(16)
                listener = s
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
        else:
            say("unknown kind " + kind)
            return 2
    except OSError as e:
        say("bind failed: %s" % errno.errorcode.get(e.errno, str(e.errno)))
        return 3
    accept = "--accept" in args
    if listener is not None and not accept:
        watch.remove(listener)
    deadline = time.time() + 60
    while time.time() < deadline:
        if close_when and os.path.exists(close_when):
            for s in keep:
                s.close()
            say("closed")
            return 0
        r, _, _ = select.select(watch, [], [], 0.02)
        for s in r:
            if s is listener:
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
