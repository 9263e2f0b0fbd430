#!/usr/bin/env python3
"""Test peer for sockctl: a small TCP server or client with scripted behaviour.

    peer.py server MODE [ARG]       listens on 127.0.0.1 port 0 (or --host),
                                    prints 'listening on HOST:PORT' on stderr
    peer.py client HOST PORT MODE [ARG]

Modes:
    sink [REPLYFILE]   read to EOF, print 'N SHA256' on stdout, then send
                       REPLYFILE (if given) and close
    source FILE        send FILE, shut down writing, read to EOF, print
                       'N SHA256' of what was read, close
    both FILE          send FILE while reading; print 'N SHA256' of what was read
    hello              send 'hello\\n' and close at once
    reset              read a little, then close with a reset (SO_LINGER 0)
    reset-after N      read N bytes, then close with a reset: mid-transfer
    http               read a request head, answer HTTP/1.0 with a body, close
    noeof              read ARG bytes, then say 'eof' or 'no-eof' depending on
                       whether EOF follows within 0.5 s; send that and close
    hold               accept and keep the connection open until EOF or 20 s
    backlog            listen with backlog 0, never accept (for timeouts)
Every blocking step has a timeout so a broken test cannot hang.
"""
import hashlib
import socket
import struct
import sys
import time

TIMEOUT = 20


def read_all(conn):
    h, n = hashlib.sha256(), 0
    while True:
        b = conn.recv(1 << 16)
        if not b:
            return n, h.hexdigest()
        n += len(b)
        h.update(b)


def send_file(conn, path):
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 16)
            if not b:
                return
            conn.sendall(b)


def serve(conn, mode, arg):
    if mode == "sink":
        n, digest = read_all(conn)
        print(n, digest, flush=True)
        if arg:
            send_file(conn, arg)
    elif mode == "source":
        send_file(conn, arg)
        conn.shutdown(socket.SHUT_WR)
        n, digest = read_all(conn)
        print(n, digest, flush=True)
    elif mode == "both":
        import threading
        t = threading.Thread(target=lambda: (send_file(conn, arg), conn.shutdown(socket.SHUT_WR)))
        t.start()
        n, digest = read_all(conn)
        t.join()
        print(n, digest, flush=True)
    elif mode == "hello":
        conn.sendall(b"hello\n")
    elif mode == "reset":
        conn.recv(1)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    elif mode == "reset-after":  # read ARG bytes, then reset mid-transfer
        got = 0
        while got < int(arg):
            b = conn.recv(65536)
            if not b:
                break
            got += len(b)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    elif mode == "http":
        head = b""
        while b"\r\n\r\n" not in head:
            b = conn.recv(4096)
            if not b:
                break
            head += b
        body = b"x" * 100000 + b"end\n"
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    elif mode == "noeof":
        want, got = int(arg), b""
        while len(got) < want:
            b = conn.recv(want - len(got))
            if not b:
                break
            got += b
        conn.settimeout(0.5)
        try:
            verdict = b"eof\n" if conn.recv(1) == b"" else b"data\n"
        except socket.timeout:
            verdict = b"no-eof\n"
        conn.settimeout(TIMEOUT)
        conn.sendall(got + b" " + verdict)
    elif mode == "hold":
        read_all(conn)
    conn.close()


def server(mode, arg, host):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, 0))
    s.listen(0 if mode == "backlog" else 8)
    port = s.getsockname()[1]
    shown = "[%s]" % host if family == socket.AF_INET6 else host
    print("listening on %s:%d" % (shown, port), file=sys.stderr, flush=True)
    if mode == "backlog":
        time.sleep(TIMEOUT)
        return
    s.settimeout(TIMEOUT)
    conn, _ = s.accept()
    conn.settimeout(TIMEOUT)
    serve(conn, mode, arg)


def client(host, port, mode, arg):
    conn = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    serve(conn, mode, arg)


def main(argv):
    host = "127.0.0.1"
    if len(argv) > 2 and argv[1] == "--host":
        host = argv[2]
        argv = argv[:1] + argv[3:]
    if argv[1] == "server":
        server(argv[2], argv[3] if len(argv) > 3 else None, host)
    else:
        client(argv[2], argv[3], argv[4], argv[5] if len(argv) > 5 else None)


if __name__ == "__main__":
    main(sys.argv)
