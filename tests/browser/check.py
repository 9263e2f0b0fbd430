#!/usr/bin/env python3
"""Fixture and checks for tests/browser/run.

  check.py fixture DIR                  fill DIR with the served tree
  check.py check BASE_URL DIR CHROMIUM  load pages in headless Chromium, check them

The checks print one PASS/FAIL line each and "N passed, N failed" at the end;
the exit status is 1 when any check failed.
"""
import hashlib
import html.parser
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import urllib.parse
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


def fixture(root):
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

    def dump_dom(self, url):
        """The DOM Chromium rendered for url, or None (after a FAIL line)."""
        profile = tempfile.mkdtemp(prefix="sockctl-chromium-")
        cmd = [self.chromium, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
               "--user-data-dir=" + profile, "--virtual-time-budget=5000",
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


def main(argv):
    if len(argv) == 3 and argv[1] == "fixture":
        fixture(argv[2])
        return 0
    if len(argv) != 5 or argv[1] != "check":
        sys.stderr.write(__doc__)
        return 2
    base, root, chromium = argv[2].rstrip("/"), argv[3], argv[4]
    c = Checks(chromium)
    check_listing(c, base, root)
    check_page(c, base)
    check_download(c, base, root)
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
