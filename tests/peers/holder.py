#!/usr/bin/env python3
"""A process that holds a socket, for the whois-port tests.

holder.py PROTO HOST [OPTIONS]
  PROTO        tcp (a listener) or udp (a bound socket)
  HOST         the address to bind: 127.0.0.1, ::1, ::, ::ffff:127.0.0.1
  --port N     bind N instead of 0
  --no-listen  TCP: bind only, never listen
  --fork       fork once; parent and child both hold the socket
  --ignore-term  ignore SIGTERM (only SIGKILL stops it)
  --connect N  do not bind: connect to 127.0.0.1:N and hold the connection
  --comm NAME  set the process's short name (/proc/PID/comm) to NAME
Prints 'listening on HOST:PORT' (or 'connected') and, with --fork, the
line 'child PID' on stderr, then waits up to 60 s. SIGHUP and SIGUSR1 are
reported on stderr as 'got SIGNAME' and do not stop it.
"""
import os
import signal
import socket
import sys
import time


def main():
    args = sys.argv[1:]
    proto, host = args[0], args[1]
    port = int(args[args.index("--port") + 1]) if "--port" in args else 0
    for sig in (signal.SIGHUP, signal.SIGUSR1):
        signal.signal(sig, lambda n, f: print("got " + signal.Signals(n).name,
                                              file=sys.stderr, flush=True))
    if "--comm" in args:
        with open("/proc/self/comm", "w") as f:
            f.write(args[args.index("--comm") + 1])
    if "--ignore-term" in args:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if "--connect" in args:
        target = int(args[args.index("--connect") + 1])
        s = socket.create_connection(("127.0.0.1", target))
        print("connected from %d" % s.getsockname()[1], file=sys.stderr, flush=True)
    else:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        s = socket.socket(family, kind)
        if family == socket.AF_INET6 and host == "::":
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind((host, port))
        if kind == socket.SOCK_STREAM and "--no-listen" not in args:
            s.listen(16)
        shown = "[%s]" % host if family == socket.AF_INET6 else host
        if "--fork" in args:
            pid = os.fork()
            if pid == 0:  # ends with its parent, or after 60 s
                parent, deadline = os.getppid(), time.time() + 60
                while os.getppid() == parent and time.time() < deadline:
                    time.sleep(0.1)
                os._exit(0)
            print("child %d" % pid, file=sys.stderr, flush=True)
        print("listening on %s:%d" % (shown, s.getsockname()[1]), file=sys.stderr, flush=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        time.sleep(0.2)


main()
