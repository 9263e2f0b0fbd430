#!/usr/bin/env python3
"""Send raw bytes to an HTTP server and print what comes back.

    http_raw.py PORT [--wait SECS] [--slow SECS]   request bytes on stdin

Prints everything the server sends until it closes the connection or
--wait seconds (default 3) pass without data. With --slow, the request is
sent one byte every SECS seconds (a slow client); a closed connection
while sending prints 'closed while sending after N bytes' on stderr.
"""
import socket
import sys
import time

port = int(sys.argv[1])
wait, slow = 3.0, 0.0
args = sys.argv[2:]
while args:
    if args[0] == "--wait":
        wait = float(args[1])
    elif args[0] == "--slow":
        slow = float(args[1])
    args = args[2:]
data = sys.stdin.buffer.read()
s = socket.create_connection(("127.0.0.1", port), timeout=10)
if slow:
    for i in range(len(data)):
        try:
            s.sendall(data[i:i + 1])
        except OSError:
            print("closed while sending after %d bytes" % i, file=sys.stderr)
            break
        time.sleep(slow)
else:
    s.sendall(data)
s.settimeout(wait)
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except (socket.timeout, ConnectionResetError):
    pass
sys.stdout.buffer.write(out)
