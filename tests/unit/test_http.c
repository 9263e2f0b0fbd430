/* Unit tests of lib/http/http.c: request heads, target paths, ranges, dates, escaping. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "http.h"

static int path(const char *t, char *out, bool *slash)
{
	return sk_http_target_path(t, strlen(t), out, SK_HTTP_MAX_TARGET + 1, slash);
}

static void paths(void)
{
	char out[SK_HTTP_MAX_TARGET + 1];
	bool slash;

	CHECK(path("/", out, &slash) == 0 && strcmp(out, "") == 0 && slash);
	CHECK(path("/a/b.txt?x=1#f", out, &slash) == 0 && strcmp(out, "a/b.txt") == 0 && !slash);
	CHECK(path("/a//b/./c/", out, &slash) == 0 && strcmp(out, "a/b/c") == 0 && slash);
	CHECK(path("/a/../b", out, &slash) == 0 && strcmp(out, "b") == 0);
	CHECK(path("/a/..", out, &slash) == 0 && strcmp(out, "") == 0 && slash);
	CHECK(path("/a%20b%2Fc", out, &slash) == 0 && strcmp(out, "a b/c") == 0);
	CHECK(path("/%252e%252e", out, &slash) == 0 && strcmp(out, "%2e%2e") == 0);
	CHECK(path("http://host/x", out, &slash) == 0 && strcmp(out, "x") == 0);
	CHECK(path("/..", out, &slash) < 0);
	CHECK(path("/../a", out, &slash) < 0);
	CHECK(path("/a/../../b", out, &slash) < 0);
	CHECK(path("/%2e%2e/a", out, &slash) < 0);
	CHECK(path("/.%2E/a", out, &slash) < 0);
	CHECK(path("/a%2f..%2f..%2fb", out, &slash) < 0);
	CHECK(path("/a%00b", out, &slash) < 0);
	CHECK(path("/a%zz", out, &slash) < 0);
	CHECK(path("/a%2", out, &slash) < 0);
	CHECK(path("a", out, &slash) < 0);
	CHECK(path("*", out, &slash) < 0);
	CHECK(sk_http_target_path("/x/.\0\0", 6, out, sizeof(out), &slash) < 0); /* fuzz_http */
}

/* RFC 9112 3.2.2: absolute-form, either scheme, and an empty path means "/". */
static void absolute_paths(void)
{
	char out[SK_HTTP_MAX_TARGET + 1];
	bool slash;

	CHECK(path("http://h:1234", out, &slash) == 0 && strcmp(out, "") == 0 && slash);
	CHECK(path("http://h:1234?q=1", out, &slash) == 0 && strcmp(out, "") == 0 && slash);
	CHECK(path("http://h?q=/etc/passwd", out, &slash) == 0 && strcmp(out, "") == 0 && slash);
	CHECK(path("http://h#f/x", out, &slash) == 0 && strcmp(out, "") == 0 && slash);
	CHECK(path("HTTP://h", out, &slash) == 0 && strcmp(out, "") == 0 && slash);
	CHECK(path("https://h:443", out, &slash) == 0 && strcmp(out, "") == 0 && slash);
	CHECK(path("https://h/a/b?x", out, &slash) == 0 && strcmp(out, "a/b") == 0 && !slash);
	CHECK(path("HtTpS://h/sub/", out, &slash) == 0 && strcmp(out, "sub") == 0 && slash);
	CHECK(path("https://h/../x", out, &slash) < 0);
	CHECK(path("http://h/a/%2e%2e/..", out, &slash) < 0);
	CHECK(path("http://", out, &slash) < 0);
	CHECK(path("https://", out, &slash) < 0);
	CHECK(path("http://?q", out, &slash) < 0);
	CHECK(sk_http_target_path("http://h\0/..", 13, out, sizeof(out), &slash) < 0);
	CHECK(path("http:/h", out, &slash) < 0);
	CHECK(path("ftp://h/x", out, &slash) < 0);
	CHECK(path("httpx://h/x", out, &slash) < 0);
}

/* The parse of s as a number: 0 complete, -1 for more, or the error status. */
static int parse(const char *s, struct sk_http_req *r)
{
	switch (sk_http_parse(s, strlen(s), r)) {
	case SK_HTTP_COMPLETE: return 0;
	case SK_HTTP_PARTIAL: return -1;
	case SK_HTTP_BAD: return r->status >= 400 ? r->status : 1;
	}
	return 1;
}

static void heads(void)
{
	struct sk_http_req r;

	CHECK(parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r) == 0 && r.method == SK_GET &&
	      r.keep_alive && r.head_len == 27);
	CHECK(parse("GET / HTTP/1.1\r\nHost: x\r\n", &r) == -1);
	CHECK(parse("HEAD / HTTP/1.0\n\n", &r) == 0 && r.method == SK_HEAD && !r.keep_alive);
	CHECK(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r) == 0 && r.keep_alive);
	CHECK(parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n", &r) == 0 &&
	      !r.keep_alive);
	CHECK(parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n", &r) == 0 &&
	      r.has_body);
	CHECK(parse("POST / HTTP/1.1\r\nHost: x\r\n\r\n", &r) == 0 && r.method == SK_POST);
	CHECK(parse("PUT / HTTP/1.1\r\nHost: x\r\n\r\n", &r) == 0 && r.method == SK_PUT);
	CHECK(parse("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", &r) == 0 && r.method == SK_OPTIONS);
	CHECK(parse("DELETE / HTTP/1.1\r\nHost: x\r\n\r\n", &r) == 0 && r.method == SK_OTHER_KNOWN);
	/* What the additions read: auth, CORS, encodings, uploads. */
	CHECK(parse("PUT /f HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YTpi\r\n"
		    "Origin: http://o\r\nAccess-Control-Request-Method: PUT\r\n"
		    "Access-Control-Request-Headers: x-a\r\nAccept-Encoding: br\r\n"
		    "Accept-Encoding: gzip\r\nContent-Type: text/plain\r\n"
		    "Expect: 100-Continue\r\nContent-Length: 1\r\n\r\n",
		    &r) == 0 &&
	      r.authorization_len == 10 && !memcmp(r.authorization, "Basic YTpi", 10) &&
	      r.origin_len == 8 && r.ac_method_len == 3 && r.ac_headers_len == 3 &&
	      r.accept_encoding_len == 2 && r.content_type_len == 10 && r.expect_continue &&
	      !r.expect_other);
	CHECK(parse("PUT /f HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n", &r) == 0 &&
	      r.expect_other && !r.expect_continue);
	CHECK(parse("GET / HTTP/1.1\r\nHost: x\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n",
		    &r) == 400);
	CHECK(parse("BREW / HTTP/1.1\r\nHost: x\r\n\r\n", &r) == 0 && r.method == SK_UNKNOWN);
	CHECK(parse("GET / HTTP/1.1\r\n\r\n", &r) == 400);
	CHECK(parse("GET / HTTP/1.1\r\nXHost: x\r\n\r\n", &r) == 400);
	CHECK(parse("GET / HTTP/2.0\r\nHost: x\r\n\r\n", &r) == 505);
	CHECK(parse("GET / HTTP/1.1\r\nHost : x\r\n\r\n", &r) == 400);
	CHECK(parse("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", &r) == 400);
	CHECK(parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		    &r) == 400);
	CHECK(parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: "
		    "chunked\r\n\r\n",
		    &r) == 400);
	CHECK(parse("GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n", &r) == 400);
}

static int te(const char *value, struct sk_http_req *r)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: %s\r\n\r\n",
		 value);
	return parse(buf, r);
}

/* RFC 9112 6.1 and 6.3: chunked must be the final coding, applied once; 1.0 has no TE. */
static void framing(void)
{
	struct sk_http_req r;

	CHECK(te("chunked", &r) == 0 && r.chunked && r.has_body && r.content_length == 0);
	CHECK(te("Chunked", &r) == 0 && r.chunked);
	CHECK(te("gzip, CHUNKED", &r) == 0 && r.chunked);
	CHECK(te("gzip;level=1 ; q=\"a,\\\"b\" ,chunked;x=y", &r) == 0 && r.chunked);
	CHECK(te(", chunked ,", &r) == 0 && r.chunked); /* empty list elements: RFC 9110 5.6.1 */
	CHECK(te("gzip\r\nTransfer-Encoding: chunked", &r) == 0 && r.chunked);
	CHECK(te("chunked, deflate", &r) == 400);
	CHECK(te("pigeons", &r) == 400);
	CHECK(te("chunkedchunked", &r) == 400);
	CHECK(te("identity", &r) == 400);
	CHECK(te("", &r) == 400);
	CHECK(te(" , ,", &r) == 400);
	CHECK(te("chunked, chunked", &r) == 400);
	CHECK(te("chunked, gzip, chunked", &r) == 400);
	CHECK(te("chunked\r\nTransfer-Encoding: chunked", &r) == 400);
	CHECK(te("chunked\r\nTransfer-Encoding: gzip", &r) == 400);
	CHECK(te("chunked\r\nTransfer-Encoding:", &r) == 0 && r.chunked);
	CHECK(te("chunked;", &r) == 400);
	CHECK(te("chunked;x", &r) == 400);
	CHECK(te("chunked;x=", &r) == 400);
	CHECK(te("chunked;=1", &r) == 400);
	CHECK(te("chunked;x=\"open", &r) == 400);
	CHECK(te("chunked;x=a b", &r) == 400);
	CHECK(te("chunked x", &r) == 400);
	CHECK(te("chunked/1", &r) == 400);
	CHECK(te("\"chunked\"", &r) == 400);
	CHECK(parse("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", &r) == 400);
	CHECK(parse("HEAD / HTTP/1.0\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", &r) == 400);
	CHECK(parse("GET / HTTP/1.0\r\nContent-Length: 7\r\n\r\n", &r) == 0 && r.has_body &&
	      !r.chunked && r.content_length == 7);
	CHECK(parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 42\r\nContent-Length: 42\r\n\r\n",
		    &r) == 0 &&
	      r.has_body && !r.chunked && r.content_length == 42);
	CHECK(parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &r) == 0 &&
	      !r.has_body && r.content_length == 0);
	CHECK(parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r) == 0 && !r.has_body && !r.chunked);
	CHECK(parse("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: "
		    "0\r\n\r\n",
		    &r) == 400);
}

/* RFC 9112 3.2: a request-target is visible ASCII; anything else is 400 on every request. */
static void target_bytes(void)
{
	struct sk_http_req r;

	CHECK(parse("GET /a\x80 HTTP/1.1\r\nHost: x\r\n\r\n", &r) == 400);
	CHECK(parse("GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", &r) == 400);
	CHECK(parse("GET /\xff HTTP/1.0\r\n\r\n", &r) == 400);
	CHECK(parse("GET /a\x7f HTTP/1.1\r\nHost: x\r\n\r\n", &r) == 400);
	CHECK(parse("GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n", &r) == 400);
	CHECK(parse("POST /\x80 HTTP/1.1\r\nHost: x\r\n\r\n", &r) == 400);
	CHECK(parse("BREW /\x01 HTTP/1.1\r\nHost: x\r\n\r\n", &r) == 400);
	CHECK(parse("GET http://h/\x80 HTTP/1.1\r\nHost: x\r\n\r\n", &r) == 400);
	CHECK(parse("GET /~a!$&'()*+,;=:@%C3%A9?q=[x]| HTTP/1.1\r\nHost: x\r\n\r\n", &r) == 0);
}

static void ranges(void)
{
	struct sk_http_range g;

	CHECK(sk_http_range("bytes=0-4", 9, 10, &g) == SK_RANGE_OK && g.start == 0 && g.len == 5);
	CHECK(sk_http_range("bytes=5-", 8, 10, &g) == SK_RANGE_OK && g.start == 5 && g.len == 5);
	CHECK(sk_http_range("bytes=-3", 8, 10, &g) == SK_RANGE_OK && g.start == 7 && g.len == 3);
	CHECK(sk_http_range("bytes=-30", 9, 10, &g) == SK_RANGE_OK && g.start == 0 && g.len == 10);
	CHECK(sk_http_range("bytes=8-100", 11, 10, &g) == SK_RANGE_OK && g.len == 2);
	CHECK(sk_http_range("bytes=10-", 9, 10, &g) == SK_RANGE_UNSATISFIABLE);
	CHECK(sk_http_range("bytes=-0", 8, 10, &g) == SK_RANGE_UNSATISFIABLE);
	CHECK(sk_http_range("bytes=0-0", 9, 0, &g) == SK_RANGE_UNSATISFIABLE);
	CHECK(sk_http_range("bytes=0-1,3-4", 13, 10, &g) == SK_RANGE_IGNORE);
	CHECK(sk_http_range("bytes=5-2", 9, 10, &g) == SK_RANGE_IGNORE);
	CHECK(sk_http_range("items=0-1", 9, 10, &g) == SK_RANGE_IGNORE);
	CHECK(sk_http_range("bytes=a-b", 9, 10, &g) == SK_RANGE_IGNORE);
}

static void misc(void)
{
	char buf[64];
	time_t t;

	CHECK(strcmp(sk_http_date(784111777, buf), "Sun, 06 Nov 1994 08:49:37 GMT") == 0);
	CHECK(sk_http_parse_date("Sun, 06 Nov 1994 08:49:37 GMT", 29, &t) == 0 && t == 784111777);
	CHECK(sk_http_parse_date("Sunday, 06-Nov-94 08:49:37 GMT", 30, &t) == 0 && t == 784111777);
	CHECK(sk_http_parse_date("Sun Nov  6 08:49:37 1994", 24, &t) == 0 && t == 784111777);
	CHECK(sk_http_parse_date("yesterday", 9, &t) < 0);
	CHECK(sk_http_etag_match("\"a\", W/\"b\"", 10, "\"b\""));
	CHECK(sk_http_etag_match("*", 1, "\"b\""));
	CHECK(!sk_http_etag_match("\"ab\"", 4, "\"a\""));
	CHECK(sk_html_escape("<a href='x'>&\"", 14, buf) &&
	      strcmp(buf, "&lt;a href=&#39;x&#39;&gt;&amp;&quot;") == 0);
	CHECK(sk_url_encode("a b/%~", 6, buf) && strcmp(buf, "a%20b%2F%25~") == 0);
	CHECK(sk_log_escape("a\"\\\x1b\xc3", 5, buf) && strcmp(buf, "a\\\"\\\\\\x1b\\xc3") == 0);
}

int main(void)
{
	paths();
	absolute_paths();
	heads();
	target_bytes();
	framing();
	ranges();
	misc();
	return check_summary("http");
}
