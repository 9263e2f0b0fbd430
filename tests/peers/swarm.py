#!/usr/bin/env python3
"""Many clients against one server, for the soak tests.

swarm.py tcp PORT SEQ CONC EXPECT   SEQ clients one after another, then CONC
                                    at once; each connects, reads to EOF and
                                    checks it read EXPECT
swarm.py http PORT SEQ CONC PATH    the same with GET PATH (Connection: close),
                                    checking for a 200 and the whole body
Prints 'ok N' (N clients served) or the first failure; exits 1 on failure.
Every socket has a timeout, so a broken server cannot hang it.
"""
import socket
import sys
import threading

TIMEOUT = 20


def one(kind, port, arg):
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as c:
        if kind == "http":
            c.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % arg.encode())
        data = b""
        while True:
            b = c.recv(65536)
            if not b:
                break
            data += b
    if kind == "tcp":
        if data != arg.encode() + b"\n":
            raise RuntimeError("got %r" % data[:80])
    else:
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200 "):
            raise RuntimeError("got %r" % head[:80])
        length = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
        if not length or int(length[0].split(b":")[1]) != len(body):
            raise RuntimeError("short body: %d bytes" % len(body))


def main():
    kind, port, seq, conc, arg = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    errors = []
    for _ in range(seq):
        one(kind, port, arg)

    def worker():
        try:
            one(kind, port, arg)
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 2)
    if errors or any(t.is_alive() for t in threads):
        print("failed: %s" % (errors[0] if errors else "a client hung"))
        sys.exit(1)
    print("ok %d" % (seq + conc))


main()
