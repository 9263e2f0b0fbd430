#!/usr/bin/env bats
# serve-http --precompressed (issue 16): X.br, X.zst, X.gz beside X are
# sent for X when Accept-Encoding allows, with their own ETag and length,
# Range and 304 on the variant chosen.

load http_more_helpers

setup_www() {
	command -v gzip >/dev/null || { echo "gzip is missing (tests/run installs it)"; return 1; }
	command -v zstd >/dev/null || { echo "zstd is missing (tests/run installs it)"; return 1; }
	command -v brotli >/dev/null || { echo "brotli is missing (tests/run installs it)"; return 1; }
	mkdir -p "$TMP/www" "$TMP/outside"
	# Compressible, but not trivially: the three variants differ in size.
	python3 - "$TMP/www/app.js" <<'PY'
import random, sys
r = random.Random(16)
words = ["function", "return", "const", "let", "await", "async", "=>", "{", "}", "(", ")",
         "document", "window", "fetch", "promise", "value", "index", "length", "map"]
lines = []
for i in range(3000):
    lines.append("  " * r.randint(0, 4) + " ".join(r.choice(words) for _ in range(r.randint(3, 12)))
                 + " // %d %08x" % (i, r.getrandbits(32)))
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
	gzip -k -9 "$TMP/www/app.js"
	brotli -k -q 11 "$TMP/www/app.js"
	zstd -q -k -19 "$TMP/www/app.js"
	# A file with only a .gz sibling, and one with none.
	cp "$TMP/www/app.js" "$TMP/www/only.txt"
	gzip -k "$TMP/www/only.txt"
	printf 'plain text\n' >"$TMP/www/none.txt"
	size_br=$(stat -c %s "$TMP/www/app.js.br")
	size_zst=$(stat -c %s "$TMP/www/app.js.zst")
	size_gz=$(stat -c %s "$TMP/www/app.js.gz")
	size_id=$(stat -c %s "$TMP/www/app.js")
	[ "$size_gz" -lt "$size_id" ]
}

# identity: the type and ETag of app.js itself (asked without Accept-Encoding).
identity() {
	[ "$(req "$url/app.js")" = 200 ]
	cmp "$TMP/b" "$TMP/www/app.js"
	type_id=$(hdr Content-Type)
	etag_id=$(hdr ETag)
	[ -n "$type_id" ] && [ -n "$etag_id" ]
}

# choose ACCEPT-ENCODING WANT [FILE]: GET /FILE (default app.js) with that
# Accept-Encoding is answered with the variant WANT (br, zstd, gzip or
# identity): its bytes, Content-Encoding, length, X's type, and Vary.
choose() {
	local ae=$1 want=$2 f=${3:-app.js} ext
	local h=(-H "Accept-Encoding: $ae")
	[ -n "$ae" ] || h=(-H 'Accept-Encoding;')
	[ "$(req "${h[@]}" "$url/$f")" = 200 ] || { echo "Accept-Encoding '$ae': $(head -n 1 "$TMP/h")"; return 1; }
	case $want in
	br) ext=.br ;;
	zstd) ext=.zst ;;
	gzip) ext=.gz ;;
	identity) ext= ;;
	esac
	if [ "$want" = identity ]; then
		no_hdr Content-Encoding || { echo "for Accept-Encoding '$ae'"; return 1; }
	else
		want_hdr Content-Encoding "$want" || { echo "for Accept-Encoding '$ae'"; return 1; }
	fi
	cmp "$TMP/b" "$TMP/www/$f$ext" || { echo "Accept-Encoding '$ae': the body is not $f$ext"; return 1; }
	want_hdr Content-Length "$(stat -c %s "$TMP/www/$f$ext")"
	want_hdr Content-Type "$type_id" || { echo "for Accept-Encoding '$ae'"; return 1; }
	list_has "$(hdr Vary)" Accept-Encoding || { echo "Vary, for Accept-Encoding '$ae'"; return 1; }
}

@test "precompressed: the best variant Accept-Encoding allows; q-values, q=0, *, ties br > zstd > gzip > identity" {
	setup_www
	serve --precompressed
	identity
	choose 'gzip, deflate, br, zstd' br
	choose 'gzip, zstd' zstd
	choose 'gzip' gzip
	choose 'deflate' identity
	choose 'identity' identity
	choose '' identity
	choose 'br;q=0.5, gzip;q=0.8' gzip
	choose 'br;q=0.5, zstd;q=0.6, gzip;q=0.4' zstd
	choose 'br;q=0, *' zstd
	choose 'br;q=0, zstd;q=0, *' gzip
	choose '*;q=0.5, gzip' gzip
	choose '*' br
	choose 'br;q=0.9, zstd;q=0.9, gzip;q=0.9' br
	choose 'zstd;q=0.9, gzip;q=0.9' zstd
	choose 'gzip;q=0, br;q=0, zstd;q=0' identity
	choose 'br;q=0.0, zstd;q=0.000, gzip' gzip
	choose 'gzip;q=0.5, identity' identity
	choose 'identity;q=0.5, gzip;q=0.5' gzip
	choose 'identity;q=0, gzip' gzip
	choose 'br; q=0.2, gzip; q=0.3' gzip
	choose 'GZIP' gzip
}

@test "precompressed: only the siblings that exist; Vary also on identity answers; none without siblings" {
	setup_www
	serve --precompressed
	type_id=$(curl -sS -o /dev/null -w '%{content_type}' "$url/only.txt")
	choose 'br, zstd' identity only.txt
	choose 'br, gzip' gzip only.txt
	choose 'br;q=1, zstd, gzip;q=0.1' gzip only.txt
	# No Accept-Encoding: X itself, and Vary says the answer depends on it.
	[ "$(req "$url/only.txt")" = 200 ]
	cmp "$TMP/b" "$TMP/www/only.txt"
	no_hdr Content-Encoding
	list_has "$(hdr Vary)" Accept-Encoding
	[ "$(req -H 'Accept-Encoding: gzip, br' "$url/none.txt")" = 200 ]
	cmp "$TMP/b" "$TMP/www/none.txt"
	no_hdr Content-Encoding
}

@test "precompressed: each variant has its own ETag; HEAD gives the variant's length" {
	setup_www
	serve --precompressed
	identity
	etags="$etag_id"
	for ae in br zstd gzip; do
		[ "$(req -I -H "Accept-Encoding: $ae" "$url/app.js")" = 200 ]
		want_hdr Content-Encoding "$ae"
		raw_head /app.js "Accept-Encoding: $ae"
		want_hdr Content-Encoding "$ae" "$TMP/r.out"
		no_body_after_head
		e=$(hdr ETag)
		[ -n "$e" ]
		etags+=$'\n'"$e"
	done
	want_hdr Content-Length "$size_gz"
	[ "$(sort -u <<<"$etags" | wc -l)" -eq 4 ] || { echo "ETags not distinct: $etags"; false; }
	# The same variant keeps its ETag.
	req -I -H 'Accept-Encoding: gzip' "$url/app.js" >/dev/null
	[ "$(hdr ETag)" = "$(tail -n 1 <<<"$etags")" ]
}

@test "precompressed: If-None-Match gives 304 only for the variant chosen" {
	setup_www
	serve --precompressed
	identity
	req -H 'Accept-Encoding: gzip' "$url/app.js" >/dev/null
	etag_gz=$(hdr ETag)
	req -H 'Accept-Encoding: br' "$url/app.js" >/dev/null
	etag_br=$(hdr ETag)
	[ "$(req -H 'Accept-Encoding: gzip' -H "If-None-Match: $etag_gz" "$url/app.js")" = 304 ]
	[ ! -s "$TMP/b" ]
	[ "$(req -H 'Accept-Encoding: br, gzip' -H "If-None-Match: $etag_br" "$url/app.js")" = 304 ]
	# Another variant, or X itself, is not matched by that ETag.
	[ "$(req -H 'Accept-Encoding: br' -H "If-None-Match: $etag_gz" "$url/app.js")" = 200 ]
	want_hdr Content-Encoding br
	cmp "$TMP/b" "$TMP/www/app.js.br"
	[ "$(req -H "If-None-Match: $etag_gz" "$url/app.js")" = 200 ]
	cmp "$TMP/b" "$TMP/www/app.js"
	[ "$(req -H 'Accept-Encoding: gzip' -H "If-None-Match: $etag_id" "$url/app.js")" = 200 ]
	want_hdr Content-Encoding gzip
	[ "$(req -H "If-None-Match: $etag_id" "$url/app.js")" = 304 ]
}

@test "precompressed: Range works on the variant chosen, within its size" {
	setup_www
	serve --precompressed
	[ "$(req -H 'Accept-Encoding: gzip' -r 10-19 "$url/app.js")" = 206 ]
	want_hdr Content-Encoding gzip
	want_hdr Content-Range "bytes 10-19/$size_gz"
	cmp "$TMP/b" <(tail -c +11 "$TMP/www/app.js.gz" | head -c 10)
	[ "$(req -H 'Accept-Encoding: br' -r "-100" "$url/app.js")" = 206 ]
	want_hdr Content-Range "bytes $((size_br - 100))-$((size_br - 1))/$size_br"
	cmp "$TMP/b" <(tail -c 100 "$TMP/www/app.js.br")
	# Past the variant's end (but inside X): unsatisfiable for the variant.
	[ "$(req -H 'Accept-Encoding: gzip' -r "$((size_gz + 5))-$((size_gz + 10))" "$url/app.js")" = 416 ]
	want_hdr Content-Range "bytes */$size_gz"
	# The same range without Accept-Encoding: X's bytes.
	[ "$(req -r "$((size_gz + 5))-$((size_gz + 10))" "$url/app.js")" = 206 ]
	want_hdr Content-Range "bytes $((size_gz + 5))-$((size_gz + 10))/$size_id"
	no_hdr Content-Encoding
}

@test "precompressed: curl --compressed decodes every variant to X's bytes" {
	setup_www
	serve --precompressed
	for ae in br zstd gzip; do
		curl -sS --max-time 20 --compressed -H "Accept-Encoding: $ae" -D "$TMP/h" -o "$TMP/b" "$url/app.js"
		want_hdr Content-Encoding "$ae"
		cmp "$TMP/b" "$TMP/www/app.js"
	done
	# curl's own Accept-Encoding.
	curl -sS --max-time 20 --compressed -D "$TMP/h" -o "$TMP/b" "$url/app.js"
	hdr Content-Encoding >/dev/null
	cmp "$TMP/b" "$TMP/www/app.js"
	curl -sS --max-time 20 --compressed -D "$TMP/h" -o "$TMP/b" "$url/only.txt"
	want_hdr Content-Encoding gzip
	cmp "$TMP/b" "$TMP/www/only.txt"
}

@test "precompressed: X.gz asked by name is sent as it is, without Content-Encoding" {
	setup_www
	serve --precompressed
	for ae in '' gzip 'br, gzip'; do
		h=(-H "Accept-Encoding: $ae")
		[ -n "$ae" ] || h=()
		[ "$(req "${h[@]}" "$url/app.js.gz")" = 200 ]
		no_hdr Content-Encoding
		cmp "$TMP/b" "$TMP/www/app.js.gz"
	done
	[ "$(req -H 'Accept-Encoding: br' "$url/app.js.br")" = 200 ]
	no_hdr Content-Encoding
	cmp "$TMP/b" "$TMP/www/app.js.br"
}

@test "precompressed: without --precompressed the siblings are ignored" {
	setup_www
	serve
	for ae in br zstd gzip 'gzip, deflate, br, zstd'; do
		[ "$(req -H "Accept-Encoding: $ae" "$url/app.js")" = 200 ]
		no_hdr Content-Encoding
		cmp "$TMP/b" "$TMP/www/app.js"
	done
}

@test "precompressed: a sibling that leads out of DIR or is not a regular file is never sent" {
	setup_www
	printf 'inside\n' >"$TMP/www/p.txt"
	printf 'secret\n' | gzip >"$TMP/outside/secret.gz"
	ln -s ../outside/secret.gz "$TMP/www/p.txt.gz"
	mkdir "$TMP/www/p.txt.br"
	mkfifo "$TMP/www/p.txt.zst"
	serve --precompressed
	for ae in gzip br zstd 'gzip, br, zstd' '*'; do
		[ "$(req -H "Accept-Encoding: $ae" "$url/p.txt")" = 200 ] || { echo "$ae: $(head -n 1 "$TMP/h")"; return 1; }
		no_hdr Content-Encoding
		cmp "$TMP/b" "$TMP/www/p.txt"
	done
	[ "$(curl -sS --max-time 10 --compressed "$url/p.txt")" = inside ]
	# Asked by name, the link out is refused as ever.
	code=$(req "$url/p.txt.gz")
	[ "$code" = 403 ] || [ "$code" = 404 ]
}

@test "precompressed --upload: X.gz of an existing X is 409 without --overwrite; with it, used at once" {
	setup_www
	gzip -c "$TMP/www/none.txt" >"$TMP/none.txt.gz"
	serve --precompressed --upload
	[ "$(req -H 'Accept-Encoding: gzip' "$url/none.txt")" = 200 ]
	no_hdr Content-Encoding
	# It would change what the clients of none.txt get: refused like a
	# replacement of none.txt itself.
	for v in none.txt.gz none.txt.br none.txt.zst; do
		[ "$(req -T "$TMP/none.txt.gz" "$url/$v")" = 409 ] || { echo "PUT $v: $(head -n 1 "$TMP/h")"; return 1; }
		[ ! -e "$TMP/www/$v" ]
	done
	mp_body() { printf -- '--B\r\nContent-Disposition: form-data; name="f"; filename="%s"\r\n\r\nx\r\n--B--\r\n' "$1"; }
	mp_body none.txt.gz >"$TMP/mp"
	[ "$(req -H 'Content-Type: multipart/form-data; boundary=B' --data-binary "@$TMP/mp" "$url/")" = 409 ]
	[ ! -e "$TMP/www/none.txt.gz" ]
	# A .gz of nothing that exists is an ordinary upload.
	[ "$(req -T "$TMP/none.txt.gz" "$url/orphan.txt.gz")" = 201 ]
	kill "$srv_pid"
	serve --precompressed --upload --overwrite
	[ "$(req -H 'Accept-Encoding: gzip' "$url/none.txt")" = 200 ]
	no_hdr Content-Encoding
	[ "$(req -T "$TMP/none.txt.gz" "$url/none.txt.gz")" = 201 ]
	[ "$(req -H 'Accept-Encoding: gzip' "$url/none.txt")" = 200 ]
	want_hdr Content-Encoding gzip
	cmp "$TMP/b" "$TMP/none.txt.gz"
}
