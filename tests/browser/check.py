#!/usr/bin/env python3
"""Fixture and checks for tests/browser/run.

  check.py fixture DIR [UPLOAD_DIR CORS_DIR]
        fill DIR with the served tree (and UPLOAD_DIR, CORS_DIR with theirs)
  check.py check BASE_URL DIR CHROMIUM [UPLOAD_URL UPLOAD_DIR CORS_URL NOCORS_URL]
        load pages in headless Chromium, check them; with the extra
        arguments also upload a file through the listing's form of
        `serve-http --upload` (UPLOAD_URL serving UPLOAD_DIR), and fetch()
        across origins from a page of BASE_URL: from `serve-http --cors`
        (CORS_URL) it works, from the same server without --cors
        (NOCORS_URL) the browser blocks it

The checks print one PASS/FAIL line each and "N passed, N failed" at the end;
the exit status is 1 when any check failed.
"""
import base64
import hashlib
import html.parser
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
import zlib

SPECIAL = "a b&c #1%.txt"
SPECIAL_TEXT = "special characters survived\n"
DATA_SIZE = 200 * 1024
CSS_COLOR = "rgb(0, 128, 0)"
PNG_W, PNG_H = 3, 2
RANGE = (1000, 1999)

SITE_INDEX = """<!doctype html>
<html><head><meta charset="utf-8">
<title>Browser Test Page</title>
<link rel="stylesheet" href="style.css">
</head>
<body>
<h1 id="greeting">Hello from sockctl</h1>
<p>The quick brown fox jumps over the lazy dog.</p>
<img id="pic" src="pic.png" alt="pic">
<p>path: <span id="out-path">pending</span></p>
<p>color: <span id="out-color">pending</span></p>
<p>img: <span id="out-img">pending</span></p>
<script>
window.addEventListener("load", function () {
  var img = document.getElementById("pic");
  document.getElementById("out-path").textContent = location.pathname;
  document.getElementById("out-color").textContent =
    getComputedStyle(document.getElementById("greeting")).color;
  document.getElementById("out-img").textContent =
    (img.complete && img.naturalWidth > 0) ? img.naturalWidth + "x" + img.naturalHeight : "broken";
});
</script>
</body></html>
"""

SITE_CSS = "#greeting { color: %s; }\n" % CSS_COLOR

FETCH_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>fetch</title></head>
<body>
<p>status: <span id="out-status">pending</span></p>
<p>length: <span id="out-length">pending</span></p>
<p>sha256: <span id="out-sha256">pending</span></p>
<p>range status: <span id="out-range-status">pending</span></p>
<p>range header: <span id="out-content-range">pending</span></p>
<p>range sha256: <span id="out-range-sha256">pending</span></p>
<p>error: <span id="out-error"></span></p>
<script>
function put(id, v) { document.getElementById(id).textContent = String(v); }
async function sha256hex(buf) {
  var d = new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
  return Array.from(d, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
}
(async function () {
  try {
    var r = await fetch("/data.bin", { cache: "no-store" });
    var buf = await r.arrayBuffer();
    put("out-status", r.status);
    put("out-length", buf.byteLength);
    put("out-sha256", await sha256hex(buf));
    var rr = await fetch("/data.bin", { cache: "no-store", headers: { Range: "bytes=%RANGE%" } });
    var part = await rr.arrayBuffer();
    put("out-range-status", rr.status);
    put("out-content-range", rr.headers.get("Content-Range"));
    put("out-range-sha256", await sha256hex(part));
  } catch (e) {
    put("out-error", e);
  }
})();
</script>
</body></html>
""".replace("%RANGE%", "%d-%d" % RANGE)


UPLOAD_NAME = "from-browser.bin"
UPLOAD_SIZE = 150 * 1024
CORS_TEXT = "cross-origin data from sockctl"


def upload_bytes():
    """The bytes the browser uploads (the same in fixture and check)."""
    return random.Random(16).randbytes(UPLOAD_SIZE)


# Served by `serve-http --upload`: loads the listing of / in a frame of the
# same origin, puts a file into the listing's own form and submits it, as a
# person choosing a file and pressing the button would; then reports where
# the frame ended up, whether the listing shows the file, and the sha256 of
# the file fetched back.
UPLOAD_DRIVER = """<!doctype html>
<html><head><meta charset="utf-8"><title>upload driver</title></head>
<body>
<p>form: <span id="out-form">pending</span></p>
<p>after: <span id="out-after">pending</span></p>
<p>listed: <span id="out-listed">pending</span></p>
<p>sha256: <span id="out-sha256">pending</span></p>
<p>error: <span id="out-error"></span></p>
<iframe id="frame"></iframe>
<script>
function put(id, v) { document.getElementById(id).textContent = String(v); }
async function sha256hex(buf) {
  var d = new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
  return Array.from(d, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
}
function loaded(frame) {
  return new Promise(function (resolve) { frame.onload = resolve; });
}
(async function () {
  try {
    var bytes = Uint8Array.from(atob("%DATA%"), function (c) { return c.charCodeAt(0); });
    var frame = document.getElementById("frame");
    var first = loaded(frame);
    frame.src = "/";
    await first;
    var doc = frame.contentDocument;
    var form = doc.querySelector("form");
    var input = form && form.querySelector('input[type="file"]');
    if (!form || !input) { put("out-form", "missing"); return; }
    put("out-form", (form.getAttribute("method") || "").toLowerCase() + " " +
        (form.getAttribute("enctype") || "").toLowerCase());
    var dt = new DataTransfer();
    dt.items.add(new File([bytes], "%NAME%", { type: "application/octet-stream" }));
    input.files = dt.files;
    var second = loaded(frame);
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
    await second;
    put("out-after", frame.contentWindow.location.pathname);
    var names = Array.from(frame.contentDocument.querySelectorAll("a"),
                           function (a) { return a.textContent.trim(); });
    put("out-listed", names.indexOf("%NAME%") >= 0 ? "yes" : "no: " + names.join(" | "));
    var r = await fetch("/%NAME%", { cache: "no-store" });
    put("out-sha256", await sha256hex(await r.arrayBuffer()));
  } catch (e) {
    put("out-error", e);
  }
})();
</script>
</body></html>
"""

# Served by the main server: fetch() from two other origins (the query says
# which): B has --cors, C is the same server without it.
CORS_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>cors</title></head>
<body>
<p>cors status: <span id="out-cors-status">pending</span></p>
<p>cors text: <span id="out-cors-text">pending</span></p>
<p>cors etag: <span id="out-cors-etag">pending</span></p>
<p>preflighted: <span id="out-preflight">pending</span></p>
<p>no cors: <span id="out-nocors">pending</span></p>
<script>
function put(id, v) { document.getElementById(id).textContent = String(v); }
var q = new URLSearchParams(location.search);
(async function () {
  try {
    var r = await fetch(q.get("b") + "/data.txt", { cache: "no-store" });
    put("out-cors-status", r.status);
    put("out-cors-text", (await r.text()).trim());
    put("out-cors-etag", r.headers.get("ETag") ? "exposed" : "hidden");
  } catch (e) {
    put("out-cors-text", "error: " + e.name);
  }
  try {
    // A header of its own makes the browser send an OPTIONS preflight first.
    var p = await fetch(q.get("b") + "/data.txt",
                        { cache: "no-store", headers: { "X-Sockctl-Test": "1" } });
    put("out-preflight", p.status + " " + (await p.text()).trim());
  } catch (e) {
    put("out-preflight", "error: " + e.name);
  }
  try {
    var n = await fetch(q.get("c") + "/data.txt", { cache: "no-store" });
    put("out-nocors", "not blocked: " + n.status);
  } catch (e) {
    put("out-nocors", "blocked: " + e.name);
  }
})();
</script>
</body></html>
"""


def png(width, height):
    """A valid RGB PNG of width x height pixels."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def fixture(root, upload_dir=None, cors_dir=None):
    site = os.path.join(root, "site")
    os.mkdir(site)
    files = {
        os.path.join(site, "index.html"): SITE_INDEX.encode(),
        os.path.join(site, "style.css"): SITE_CSS.encode(),
        os.path.join(site, "pic.png"): png(PNG_W, PNG_H),
        os.path.join(site, "fetch.html"): FETCH_PAGE.encode(),
        os.path.join(root, SPECIAL): SPECIAL_TEXT.encode(),
        os.path.join(root, "data.bin"): os.urandom(DATA_SIZE),
    }
    if upload_dir:
        driver = (UPLOAD_DRIVER.replace("%DATA%", base64.b64encode(upload_bytes()).decode())
                  .replace("%NAME%", UPLOAD_NAME))
        files[os.path.join(upload_dir, "driver.html")] = driver.encode()
    if cors_dir:
        files[os.path.join(site, "cors.html")] = CORS_PAGE.encode()
        files[os.path.join(cors_dir, "data.txt")] = (CORS_TEXT + "\n").encode()
    for path, data in files.items():
        with open(path, "wb") as f:
            f.write(data)


class Dom(html.parser.HTMLParser):
    """Collects the anchors in order and the text of elements with an id."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.anchors = []  # [href, text]
        self.by_id = {}
        self._open = []  # [tag, id or None]
        self._anchor = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a":
            self._anchor = [a.get("href"), ""]
            self.anchors.append(self._anchor)
        if tag in ("img", "br", "meta", "link", "input", "hr"):
            return
        self._open.append([tag, a.get("id")])
        if a.get("id"):
            self.by_id.setdefault(a["id"], "")

    def handle_endtag(self, tag):
        if tag == "a":
            self._anchor = None
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i][0] == tag:
                del self._open[i:]
                break

    def handle_data(self, data):
        if self._anchor is not None:
            self._anchor[1] += data
        for _, ident in self._open:
            if ident:
                self.by_id[ident] += data


class Checks:
    def __init__(self, chromium):
        self.chromium = chromium
        self.passed = 0
        self.failed = 0

    def result(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("PASS: %s" % name)
        else:
            self.failed += 1
            print("FAIL: %s%s" % (name, ": " + detail if detail else ""))
        sys.stdout.flush()

    def dump_dom(self, url, budget=5000):
        """The DOM Chromium rendered for url, or None (after a FAIL line)."""
        profile = tempfile.mkdtemp(prefix="sockctl-chromium-")
        cmd = [self.chromium, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
               "--user-data-dir=" + profile, "--virtual-time-budget=%d" % budget,
               "--dump-dom", url]
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=90)
        except subprocess.TimeoutExpired:
            self.result("chromium loads " + url, False, "timed out after 90 s")
            return None
        finally:
            shutil.rmtree(profile, ignore_errors=True)
        out = p.stdout.decode("utf-8", "replace")
        if p.returncode != 0 or not out.strip():
            err = p.stderr.decode("utf-8", "replace").strip()
            self.result("chromium loads " + url, False,
                        "exit %d, stderr:\n%s" % (p.returncode, err[-2000:]))
            return None
        return out


def check_listing(c, base, root):
    url = base + "/"
    out = c.dump_dom(url)
    if out is None:
        return
    dom = Dom(out)
    hrefs = [h for h, _ in dom.anchors]
    texts = [t.strip() for _, t in dom.anchors]
    names = sorted(os.listdir(root))
    dirs = sorted(n + "/" for n in names if os.path.isdir(os.path.join(root, n)))
    files = sorted(n for n in names if not os.path.isdir(os.path.join(root, n)))

    want = dirs + files
    c.result("listing: names shown, directories first with a trailing slash "
             "(site/ before the files)",
             texts == want, "got %r, want %r" % (texts, want))

    enc = urllib.parse.quote(SPECIAL, safe="")
    i = texts.index(SPECIAL) if SPECIAL in texts else -1
    got = hrefs[i] if i >= 0 else None
    c.result("listing: %r has href %r" % (SPECIAL, enc),
             got == enc, "entry missing" if i < 0 else "href is %r" % got)

    # Follow that href the way the browser resolves it.
    if got is not None:
        link = urllib.parse.urljoin(url, got)
        out = c.dump_dom(link)
        if out is not None:
            c.result("listing: following the href of %r serves its content" % SPECIAL,
                     SPECIAL_TEXT.strip() in out,
                     "%s rendered %r" % (link, out[:300]))

    sub = c.dump_dom(base + "/site/")
    # /site/ has an index.html: it must be served rather than a listing.
    if sub is not None:
        c.result("listing: a directory with index.html serves the page, not a listing",
                 "Index of" not in sub and "Hello from sockctl" in sub,
                 sub[:300])


def check_page(c, base):
    url = base + "/site"
    out = c.dump_dom(url)
    if out is None:
        return
    dom = Dom(out)
    c.result("page: /site redirects to /site/",
             dom.by_id.get("out-path") == "/site/",
             "location.pathname is %r" % dom.by_id.get("out-path"))
    c.result("page: title and text rendered",
             "<title>Browser Test Page</title>" in out
             and dom.by_id.get("greeting") == "Hello from sockctl"
             and "The quick brown fox jumps over the lazy dog." in out,
             out[:400])
    c.result("page: style.css applied (color %s)" % CSS_COLOR,
             dom.by_id.get("out-color") == CSS_COLOR,
             "computed color is %r" % dom.by_id.get("out-color"))
    want = "%dx%d" % (PNG_W, PNG_H)
    c.result("page: pic.png loaded (%s)" % want,
             dom.by_id.get("out-img") == want,
             "image reports %r" % dom.by_id.get("out-img"))


def check_download(c, base, root):
    out = c.dump_dom(base + "/site/fetch.html")
    if out is None:
        return
    dom = Dom(out)
    with open(os.path.join(root, "data.bin"), "rb") as f:
        data = f.read()
    err = dom.by_id.get("out-error", "")
    got = (dom.by_id.get("out-status"), dom.by_id.get("out-length"),
           dom.by_id.get("out-sha256"))
    want = ("200", str(len(data)), hashlib.sha256(data).hexdigest())
    c.result("download: fetch('/data.bin') gives %s bytes with the file's sha256" % want[1],
             got == want, "got %r, want %r%s" % (got, want, ", error " + err if err else ""))

    lo, hi = RANGE
    got = (dom.by_id.get("out-range-status"), dom.by_id.get("out-content-range"),
           dom.by_id.get("out-range-sha256"))
    want = ("206", "bytes %d-%d/%d" % (lo, hi, len(data)),
            hashlib.sha256(data[lo:hi + 1]).hexdigest())
    c.result("download: Range bytes=%d-%d gives 206 and those bytes" % RANGE,
             got == want, "got %r, want %r%s" % (got, want, ", error " + err if err else ""))


def check_upload(c, up_base, up_dir):
    """The listing's form of serve-http --upload, used by a browser."""
    out = c.dump_dom(up_base + "/driver.html", budget=15000)
    if out is None:
        return
    dom = Dom(out)
    err = dom.by_id.get("out-error", "")
    suffix = ", error " + err if err else ""
    want = hashlib.sha256(upload_bytes()).hexdigest()
    c.result("upload: the listing has a form with method post, enctype multipart/form-data "
             "and a file input",
             dom.by_id.get("out-form") == "post multipart/form-data",
             "form is %r%s" % (dom.by_id.get("out-form"), suffix))
    c.result("upload: after submitting, the browser is back on the listing of /",
             dom.by_id.get("out-after") == "/",
             "the frame is at %r%s" % (dom.by_id.get("out-after"), suffix))
    c.result("upload: the listing shows %s" % UPLOAD_NAME,
             dom.by_id.get("out-listed") == "yes",
             "%r%s" % (dom.by_id.get("out-listed"), suffix))
    path = os.path.join(up_dir, UPLOAD_NAME)
    try:
        with open(path, "rb") as f:
            got = hashlib.sha256(f.read()).hexdigest()
    except OSError as e:
        got = str(e)
    c.result("upload: %s arrived in DIR with the bytes the browser sent (%d bytes)"
             % (UPLOAD_NAME, UPLOAD_SIZE), got == want, "sha256 %s, want %s" % (got, want))
    c.result("upload: fetching it back gives the same bytes",
             dom.by_id.get("out-sha256") == want,
             "sha256 %r%s" % (dom.by_id.get("out-sha256"), suffix))
    left = sorted(n for n in os.listdir(up_dir) if n not in ("driver.html", UPLOAD_NAME))
    c.result("upload: nothing else was left in DIR", not left, "also there: %r" % left)


def check_cors(c, base, cors_base, nocors_base):
    """fetch() from another origin: allowed by --cors, blocked without it."""
    # Both servers answer; only the headers differ (so a block is CORS's doing).
    for b, want in ((cors_base, "*"), (nocors_base, None)):
        try:
            with urllib.request.urlopen(b + "/data.txt", timeout=20) as r:
                ok = (r.status == 200 and r.read().decode().strip() == CORS_TEXT
                      and r.headers.get("Access-Control-Allow-Origin") == want)
                detail = "status %d, Access-Control-Allow-Origin %r" % (
                    r.status, r.headers.get("Access-Control-Allow-Origin"))
        except OSError as e:
            ok, detail = False, str(e)
        c.result("cors: %s serves data.txt with Access-Control-Allow-Origin %r" % (b, want),
                 ok, detail)
    query = urllib.parse.urlencode({"b": cors_base, "c": nocors_base})
    out = c.dump_dom(base + "/site/cors.html?" + query, budget=10000)
    if out is None:
        return
    dom = Dom(out)
    got = (dom.by_id.get("out-cors-status"), dom.by_id.get("out-cors-text"))
    c.result("cors: a page of another origin fetches data.txt from serve-http --cors "
             "and shows it", got == ("200", CORS_TEXT), "got %r" % (got,))
    c.result("cors: the ETag of that answer is exposed to the page (Access-Control-Expose-Headers)",
             dom.by_id.get("out-cors-etag") == "exposed",
             "got %r" % dom.by_id.get("out-cors-etag"))
    c.result("cors: a request with a header of its own passes the OPTIONS preflight",
             dom.by_id.get("out-preflight") == "200 " + CORS_TEXT,
             "got %r" % dom.by_id.get("out-preflight"))
    c.result("cors: without --cors the browser blocks the same fetch",
             dom.by_id.get("out-nocors") == "blocked: TypeError",
             "got %r" % dom.by_id.get("out-nocors"))


def main(argv):
    if len(argv) in (3, 5) and argv[1] == "fixture":
        fixture(*argv[2:])
        return 0
    if len(argv) not in (5, 9) or argv[1] != "check":
        sys.stderr.write(__doc__)
        return 2
    base, root, chromium = argv[2].rstrip("/"), argv[3], argv[4]
    c = Checks(chromium)
    check_listing(c, base, root)
    check_page(c, base)
    check_download(c, base, root)
    if len(argv) == 9:
        up_base, up_dir, cors_base, nocors_base = argv[5].rstrip("/"), argv[6], argv[7], argv[8]
        check_upload(c, up_base, up_dir)
        check_cors(c, base, cors_base.rstrip("/"), nocors_base.rstrip("/"))
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
