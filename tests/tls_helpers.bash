# Helpers for tls.bats: certificates made with the openssl CLI, a python3
# TLS peer that reports what it saw (SNI, ALPN, the client's certificate,
# close_notify or not), and the port of a server that does not print it
# (openssl s_server). Loaded after helpers.bash.

# make_certs DIR: a CA and, signed by it, good (localhost, 127.0.0.1, ::1),
# wrongname (wrong.example), expired (localhost, expired in 2020) and client
# (clientAuth, CN sockctl-client); another CA (other-ca) signing untrusted
# (localhost...) and other-client; a self-signed self (localhost...); good-
# both.pem holds good's certificate and key; stray.key matches nothing.
make_certs() {
	local d=$1 san="DNS:localhost,IP:127.0.0.1,IP:::1"
	mkdir -p "$d" && (
		set -e
		cd "$d"
		newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
		ca() { # ca NAME CN
			newkey "$1.key"
			openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 30 -subj "/CN=$2" \
				-addext basicConstraints=critical,CA:TRUE \
				-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
		}
		leaf() { # leaf NAME CA CN SAN EKU
			newkey "$1.key"
			openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$3" \
				-addext "subjectAltName=$4" -addext "extendedKeyUsage=$5" 2>/dev/null
			openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial \
				-days 30 -copy_extensions copyall -out "$1.pem" 2>/dev/null
		}
		ca ca "sockctl test CA"
		ca other-ca "sockctl other CA"
		leaf good ca localhost "$san" serverAuth
		leaf wrongname ca wrong.example DNS:wrong.example serverAuth
		leaf client ca sockctl-client DNS:sockctl-client clientAuth
		leaf untrusted other-ca localhost "$san" serverAuth
		leaf other-client other-ca other-client DNS:other-client clientAuth
		newkey self.key
		openssl req -x509 -new -key self.key -out self.pem -days 30 -subj /CN=localhost \
			-addext "subjectAltName=$san" 2>/dev/null
		newkey stray.key
		# Expired: 'openssl ca' takes explicit dates (x509 -days cannot go back).
		newkey expired.key
		openssl req -new -key expired.key -out expired.csr -subj /CN=localhost \
			-addext "subjectAltName=$san" 2>/dev/null
		mkdir -p cadb
		: >cadb/index
		echo 01 >cadb/serial
		printf '%s\n' '[ca]' 'default_ca = tca' '[tca]' 'database = cadb/index' \
			'new_certs_dir = cadb' 'serial = cadb/serial' 'default_md = sha256' \
			'policy = pol' 'copy_extensions = copy' 'unique_subject = no' \
			'[pol]' 'commonName = supplied' >ca.cnf
		openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr \
			-out expired.pem -startdate 20200101000000Z -enddate 20200201000000Z \
			-notext 2>/dev/null
		cat good.pem good.key >good-both.pem
		cat client.pem client.key >client-both.pem
	)
}

# fp CERT: the certificate's fingerprint as sockctl prints it,
# sha256:<64 lowercase hex digits>.
fp() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' |
		tr 'A-F' 'a-f' | sed 's/^/sha256:/'
}

# fp_colon CERT: the same in openssl's form, AB:CD:...
fp_colon() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//'
}

# tcp_listen_port PID: the port of PID's listening TCP socket (from
# /proc/net/tcp{,6}, matched by socket inode); fails while it has none.
tcp_listen_port() {
	local f ino inodes='' hex
	for f in /proc/"$1"/fd/*; do
		ino=$(readlink "$f" 2>/dev/null) || continue
		case $ino in socket:\[*\]) inodes+=" ${ino//[^0-9]/}" ;; esac
	done
	[ -n "$inodes" ] || return 1
	hex=$(awk -v inodes="$inodes" '
		BEGIN { n = split(inodes, a, " "); for (i = 1; i <= n; i++) want[a[i]] = 1 }
		$4 == "0A" && ($10 in want) { n = split($2, la, ":"); print la[n]; exit }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null)
	[ -n "$hex" ] && echo $((16#$hex))
}

# port_of_pid PID: waits (bounded) until PID listens, prints the port.
port_of_pid() {
	wait_until 10 tcp_listen_port "$1" >/dev/null && tcp_listen_port "$1"
}

# s_server NAME ARGS...: openssl s_server on 127.0.0.1, a kernel-chosen
# port, with ARGS; sets NAME_pid and port. It does not print the port when
# quiet, so the port comes from /proc.
s_server() {
	local name=$1
	shift
	bg "$name" openssl s_server -accept 127.0.0.1:0 "$@"
	local pidvar="${name}_pid"
	port=$(port_of_pid "${!pidvar}")
	[ -n "$port" ]
}

# write_tlspeer FILE: writes the python3 TLS peer.
write_tlspeer() {
	cat >"$1" <<'EOF'
"""TLS test peer for sockctl.

    tlspeer.py server [OPTIONS] MODE [ARG]   listens on 127.0.0.1 port 0, prints
                                             'listening on 127.0.0.1:PORT' on stderr
    tlspeer.py client [OPTIONS] HOST PORT MODE [ARG]

Options: --cert F --key F (own certificate), --ca F (server: require a client
certificate from this CA; client: verify the server against it, name
localhost), --alpn LIST, --max 1.2 (highest version), --count N (server:
serve N connections one after the other).

The server prints, per connection, on stdout: 'handshake ok' or 'handshake
failed: REASON', then 'sni NAME' (or 'sni -'), 'alpn PROTO' (or 'alpn -'),
'version V', 'client CN' (or 'client -'), then what the mode prints.

Modes:
    sink [REPLY]   read to the end: print 'N SHA256 close_notify' (or 'ragged'
                   when the TCP connection closed without close_notify); then
                   send REPLY (if given), send close_notify, and print 'fin'
                   if the peer had also half-closed the TCP connection
    truncate FILE  send FILE, read to the end (printing as sink does), then
                   close the TCP connection without close_notify
    truncate-now FILE  send FILE, then close the TCP connection at once,
                   without close_notify
    echo-hold      (client) send 'ping\\n', wait for it to come back, print
                   'echoed', then hold the connection until EOF or 20 s
Every blocking step has a timeout so a broken test cannot hang.
"""
import hashlib
import socket
import ssl
import sys

TIMEOUT = 20


def opts(argv):
    o = {"cert": None, "key": None, "ca": None, "alpn": None, "max": None, "count": "1"}
    rest = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("--") and a[2:] in o:
            o[a[2:]] = argv[i + 1]
            i += 2
        else:
            rest.append(a)
            i += 1
    return o, rest


def read_all(s):
    h, n = hashlib.sha256(), 0
    try:
        while True:
            b = s.recv(1 << 16)
            if not b:
                return n, h.hexdigest(), "close_notify"
            n += len(b)
            h.update(b)
    except ssl.SSLError:
        # suppress_ragged_eofs=False: a TCP close without close_notify.
        return n, h.hexdigest(), "ragged"
    except ConnectionResetError:
        return n, h.hexdigest(), "reset"


def send_file(s, path):
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 16)
            if not b:
                return
            s.sendall(b)


def out(*a):
    print(*a, flush=True)


def serve(s, mode, arg):
    if mode == "sink":
        n, digest, how = read_all(s)
        out(n, digest, how)
        if how != "close_notify":
            s.close()
            return
        if arg:
            send_file(s, arg)
        raw = s.unwrap()  # our close_notify (theirs already came)
        raw.settimeout(TIMEOUT)
        try:
            out("fin" if raw.recv(1) == b"" else "data after close_notify")
        except OSError as e:
            out("no fin: %s" % e)
        raw.close()
    elif mode == "truncate":
        send_file(s, arg)
        n, digest, how = read_all(s)
        out(n, digest, how)
        s.shutdown(socket.SHUT_RDWR)  # the TCP connection only: no close_notify
        s.close()
    elif mode == "truncate-now":
        send_file(s, arg)
        s.shutdown(socket.SHUT_RDWR)  # at once, without close_notify
        s.close()
    elif mode == "echo-hold":
        s.sendall(b"ping\n")
        got = b""
        while not got.endswith(b"\n"):
            b = s.recv(100)
            if not b:
                break
            got += b
        out("echoed" if got == b"ping\n" else "got %r" % got)
        try:
            while s.recv(1 << 16):
                pass
        except (OSError, ssl.SSLError):
            pass
        s.close()
    else:
        raise SystemExit("unknown mode " + mode)


def context(o, server):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    if o["cert"]:
        ctx.load_cert_chain(o["cert"], o["key"])
    if o["max"] == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if o["alpn"]:
        ctx.set_alpn_protocols(o["alpn"].split(","))
    if server:
        if o["ca"]:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(o["ca"])
    elif o["ca"]:
        ctx.load_verify_locations(o["ca"])
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def server(o, mode, arg):
    ctx = context(o, True)
    seen = {}

    def sni(sslobj, name, c):
        seen["sni"] = name

    ctx.sni_callback = sni
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    ls.settimeout(TIMEOUT)
    print("listening on 127.0.0.1:%d" % ls.getsockname()[1], file=sys.stderr, flush=True)
    for _ in range(int(o["count"])):
        conn, _ = ls.accept()
        conn.settimeout(TIMEOUT)
        seen.clear()
        s = ctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False,
                            suppress_ragged_eofs=False)
        try:
            s.do_handshake()
        except (ssl.SSLError, OSError) as e:
            out("handshake failed: %s" % e)
            conn.close()
            continue
        out("handshake ok")
        out("sni", seen.get("sni") or "-")
        out("alpn", s.selected_alpn_protocol() or "-")
        out("version", s.version())
        cn = "-"
        cert = s.getpeercert()
        if cert:
            cn = dict(x[0] for x in cert["subject"]).get("commonName", "-")
        out("client", cn)
        serve(s, mode, arg)


def client(o, host, port, mode, arg):
    ctx = context(o, False)
    conn = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    s = ctx.wrap_socket(conn, server_hostname="localhost" if o["ca"] else None,
                        suppress_ragged_eofs=False)
    serve(s, mode, arg)


def main(argv):
    o, rest = opts(argv[2:])
    if argv[1] == "server":
        server(o, rest[0], rest[1] if len(rest) > 1 else None)
    else:
        client(o, rest[0], rest[1], rest[2], rest[3] if len(rest) > 3 else None)


if __name__ == "__main__":
    main(sys.argv)
EOF
}

# tls_built_in: sockctl was built with TLS.
tls_built_in() {
	"$SK" --version 2>/dev/null | grep -q '^tls: OpenSSL'
}

# no_payload FILE: a tlspeer server's output shows no application byte
# arrived (the handshake failed, or it ended with nothing read).
no_payload() {
	! grep -qE '^[1-9][0-9]* [0-9a-f]{64} ' "$1"
}
