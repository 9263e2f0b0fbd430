#!/usr/bin/env python3
"""An HTTP client with scripted timing, for upload tests of serve-http.

    http_send.py PORT METHOD TARGET [OPTIONS]

Sends one request and prints every byte of the answer on stdout (interim
100 responses included) until the server closes or --wait seconds pass
without data. Events go to stderr, one line each, flushed:

    head sent
    interim HTTP/1.1 100 Continue   an interim response arrived before the body
    final before body STATUS-LINE    a final response arrived before the body
    no answer to Expect after N s    (the body is then sent anyway, as curl does)
    body N                           N body bytes sent so far (with --trickle)
    paused at N                      --pause-at reached; waiting for --go FILE
    answer while sending after N     the server answered mid-body; sending stops
    send failed after N: ERR         the connection broke while sending
    reset sent                       --vanish: closed with RST
    done                             the answer is complete

Options:
    -H 'Name: value'   a header (repeatable). Host and Connection: close are
                       added unless given; Content-Length is added for a
                       --body unless a Content-Length or Transfer-Encoding
                       header is given
    --body FILE        the body bytes (sent as they are; build chunked
                       encoding yourself, or use --chunked)
    --chunked N        send the --body in chunked encoding, N-byte chunks
    --expect SECS      send 'Expect: 100-continue' and wait up to SECS for
                       an answer before the body
    --trickle N,SECS   send the body N bytes at a time, SECS apart
    --pause-at N       after N body bytes, print 'paused at N' and wait
                       (30 s at most) until the file --go names exists
    --go FILE          see --pause-at
    --stop-at N        send only N body bytes, then shut down writing (FIN)
                       and read the answer
    --vanish           with --pause-at or --stop-at: close with a reset
                       (SO_LINGER 0) instead of sending more
    --wait SECS        how long to wait for more answer bytes (default 10)
    --tls              speak TLS (certificate not verified)
Every blocking step has a timeout.
"""
import os
import select
import socket
import ssl
import struct
import sys
import time

TIMEOUT = 30


def event(msg):
    print(msg, file=sys.stderr, flush=True)


def main(argv):
    port, method, target = int(argv[0]), argv[1], argv[2]
    headers, body = [], b""
    expect = trickle = pause_at = stop_at = chunked = None
    go, vanish, wait, use_tls = None, False, 10.0, False
    args = argv[3:]
    while args:
        a = args.pop(0)
        if a == "-H":
            headers.append(args.pop(0))
        elif a == "--body":
            with open(args.pop(0), "rb") as f:
                body = f.read()
        elif a == "--chunked":
            chunked = int(args.pop(0))
        elif a == "--expect":
            expect = float(args.pop(0))
        elif a == "--trickle":
            n, secs = args.pop(0).split(",")
            trickle = (int(n), float(secs))
        elif a == "--pause-at":
            pause_at = int(args.pop(0))
        elif a == "--go":
            go = args.pop(0)
        elif a == "--stop-at":
            stop_at = int(args.pop(0))
        elif a == "--vanish":
            vanish = True
        elif a == "--wait":
            wait = float(args.pop(0))
        elif a == "--tls":
            use_tls = True
        else:
            sys.exit("http_send.py: unknown option %s" % a)

    names = {h.split(":", 1)[0].strip().lower() for h in headers}
    if "host" not in names:
        headers.insert(0, "Host: 127.0.0.1:%d" % port)
    if "connection" not in names:
        headers.append("Connection: close")
    if chunked:
        headers.append("Transfer-Encoding: chunked")
        out = b""
        for i in range(0, len(body), chunked):
            piece = body[i:i + chunked]
            out += b"%x\r\n" % len(piece) + piece + b"\r\n"
        body = out + b"0\r\n\r\n"
    elif body and "content-length" not in names and "transfer-encoding" not in names:
        headers.append("Content-Length: %d" % len(body))
    if expect is not None:
        headers.append("Expect: 100-continue")
    head = ("%s %s HTTP/1.1\r\n" % (method, target)).encode("latin-1")
    head += b"".join(h.encode("latin-1") + b"\r\n" for h in headers) + b"\r\n"

    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    if use_tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s, server_hostname="localhost")
    s.sendall(head)
    event("head sent")

    got = b""  # every answer byte, in order

    def readable(secs):
        if use_tls and s.pending():
            return True
        return bool(select.select([s], [], [], secs)[0])

    def read_some():
        nonlocal got
        try:
            b = s.recv(65536)
        except (ConnectionResetError, ssl.SSLError, socket.timeout) as e:
            event("read failed: %s" % e)
            return False
        if not b:
            return False
        got += b
        return True

    send_body = True
    if expect is not None:
        deadline = time.time() + expect
        while time.time() < deadline and b"\r\n\r\n" not in got:
            if readable(max(0.0, deadline - time.time())):
                if not read_some():
                    break
        if b"\r\n\r\n" in got:
            first, rest = got.split(b"\r\n\r\n", 1)
            line = first.split(b"\r\n")[0].decode("latin-1")
            if line.split(" ")[1:2] == ["100"]:
                event("interim " + line)
            else:
                event("final before body " + line)
                send_body = False
        elif got:
            event("partial answer before body: %r" % got[:80])
        else:
            event("no answer to Expect after %g s" % expect)

    sent, closed = 0, False
    if send_body and body:
        step, delay = trickle if trickle else (65536, 0.0)
        limit = len(body) if stop_at is None else min(stop_at, len(body))
        while sent < limit:
            if pause_at is not None and sent >= pause_at:
                event("paused at %d" % sent)
                deadline = time.time() + TIMEOUT
                while go and not os.path.exists(go) and time.time() < deadline:
                    time.sleep(0.02)
                pause_at = None
                if vanish:
                    break
            end = min(limit, sent + step)
            if pause_at is not None and sent < pause_at < end:
                end = pause_at
            # An answer already waiting (413, 507, ...): stop sending, read it.
            if readable(0):
                event("answer while sending after %d" % sent)
                break
            try:
                s.sendall(body[sent:end])
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError) as e:
                event("send failed after %d: %s" % (sent, e))
                break
            sent = end
            if trickle:
                event("body %d" % sent)
                time.sleep(delay)
        if vanish:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            event("reset sent")
            closed = True
        elif stop_at is not None:
            if not use_tls:  # over TLS: simply stop sending
                try:
                    s.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
            event("stopped at %d" % sent)

    if not closed:
        s.settimeout(wait)
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except (ConnectionResetError, ssl.SSLError) as e:
                event("read failed: %s" % e)
                break
            if not b:
                break
            got += b
        s.close()
    sys.stdout.buffer.write(got)
    sys.stdout.flush()
    event("done")


if __name__ == "__main__":
    main(sys.argv[1:])
