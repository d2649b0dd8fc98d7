#include "api/http/request_reader.h"

#include <gtest/gtest.h>

namespace strongroom::api {
namespace {

using Outcome = RequestReader::Outcome;

RequestReader::Result ReadAll(std::string_view bytes, RequestLimits limits = {}) {
  RequestReader reader(limits);
  return reader.Next(bytes);
}

TEST(RequestReader, ParsesAGetWithoutBody) {
  auto r = ReadAll("GET /livez?x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(r.outcome, Outcome::kComplete) << r.message;
  EXPECT_EQ(r.request.resource(), "/livez");
  EXPECT_EQ(r.request.query().get("x").value_or(""), "1");
  EXPECT_EQ(r.consumed, 36u);
}

// The reader adds the header fields itself (issue 19): what handlers and
// the front read must be what Pistache's parser gave them.
TEST(RequestReader, GivesHandlersTheHeadersPistachesParserGave) {
  auto r = ReadAll(
      "GET /a?x=1&y HTTP/1.1\r\nHost: h\r\nX-Token:  first \r\nx-token: second\r\n"
      "Cookie: a=1; b=2\r\nConnection: close\r\nAccept: ;;\r\n\r\n");
  ASSERT_EQ(r.outcome, Outcome::kComplete) << r.message;
  const Pistache::Http::Header::Collection& headers = r.request.headers();
  ASSERT_TRUE(headers.tryGetRaw("x-token").has_value());
  EXPECT_EQ(headers.tryGetRaw("X-TOKEN")->value(), "first ")
      << "the first field of a name wins; leading spaces go, trailing ones stay";
  EXPECT_EQ(headers.tryGetRaw("accept")->value(), ";;") << "kept raw, never parsed typed";
  auto connection = headers.tryGet<Pistache::Http::Header::Connection>();
  ASSERT_NE(connection, nullptr);
  EXPECT_EQ(connection->control(), Pistache::Http::ConnectionControl::Close);
  EXPECT_TRUE(r.request.cookies().has("b"));
  EXPECT_EQ(r.request.cookies().get("a").value, "1");
  EXPECT_TRUE(headers.tryGetRaw("cookie").has_value());
  EXPECT_EQ(r.request.query().get("x").value_or(""), "1");
  EXPECT_TRUE(r.request.query().has("y"));
  EXPECT_EQ(r.request.method(), Pistache::Http::Method::Get);
  EXPECT_EQ(r.request.version(), Pistache::Http::Version::Http11);
  EXPECT_EQ(headers.tryGet<Pistache::Http::Header::ContentLength>(), nullptr);
}

TEST(RequestReader, WaitsForTheWholeHeaderBlockAndBody) {
  RequestReader reader(RequestLimits{});
  std::string request = "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
  for (std::size_t n = 1; n < request.size(); ++n) {
    EXPECT_EQ(reader.Next(std::string_view(request).substr(0, n)).outcome, Outcome::kNeedMore) << n;
  }
  auto r = reader.Next(request);
  ASSERT_EQ(r.outcome, Outcome::kComplete) << r.message;
  EXPECT_EQ(r.request.body(), "hello");
  auto length = r.request.headers().tryGet<Pistache::Http::Header::ContentLength>();
  ASSERT_NE(length, nullptr);
  EXPECT_EQ(length->value(), 5u);
  EXPECT_EQ(r.consumed, request.size());
}

TEST(RequestReader, KeepsPipelinedRequestsApart) {
  std::string two =
      "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhiGET /b HTTP/1.1\r\nHost: "
      "a\r\n\r\n";
  RequestReader reader(RequestLimits{});
  auto first = reader.Next(two);
  ASSERT_EQ(first.outcome, Outcome::kComplete);
  EXPECT_EQ(first.request.resource(), "/a");
  EXPECT_EQ(first.request.body(), "hi");
  auto second = reader.Next(std::string_view(two).substr(first.consumed));
  ASSERT_EQ(second.outcome, Outcome::kComplete);
  EXPECT_EQ(second.request.resource(), "/b");
  EXPECT_EQ(first.consumed + second.consumed, two.size());
}

TEST(RequestReader, RefusesRequestSmugglingShapes) {
  struct Case {
    const char* text;
    int status;
  } cases[] = {
      {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
      {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
       400},
      {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 411},
      {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nX-A: b\r\n\r\n", 400},  // no Host
      {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n", 400},
      {"BREW / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET / HTTP/9.9\r\nHost: a\r\n\r\n", 400},
  };
  for (const Case& c : cases) {
    auto r = ReadAll(c.text);
    EXPECT_EQ(r.outcome, Outcome::kError) << c.text;
    EXPECT_EQ(r.status, c.status) << c.text;
  }
}

TEST(RequestReader, EnforcesHeaderAndBodyLimitsOnBothSides) {
  RequestLimits limits;
  limits.max_header_bytes = 1024;
  limits.max_body_bytes = 100;
  std::string head = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ";
  auto at_limit = ReadAll(head + "100\r\n\r\n" + std::string(100, 'x'), limits);
  EXPECT_EQ(at_limit.outcome, Outcome::kComplete);
  auto over = ReadAll(head + "101\r\n\r\n", limits);
  EXPECT_EQ(over.status, 413);
  std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(2000, 'b') + "\r\n\r\n";
  EXPECT_EQ(ReadAll(big, limits).status, 431);
  std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 101; ++i) many += "X-" + std::to_string(i) + ": 1\r\n";
  EXPECT_EQ(ReadAll(many + "\r\n").status, 431);
}

// Found by fuzz/http_request_reader (fuzz/corpus/http_request_reader/
// huge_content_length): Pistache's parser reserved the whole announced body
// as soon as it read the headers, 100 GB here (bad_alloc, answered 400, or an
// out-of-memory abort under ASan). The reader refuses it first, with the
// 413 and the path a smaller oversized body gets.
TEST(RequestReader, RefusesAHugeContentLengthBeforeReservingIt) {
  auto huge = ReadAll(
      "PUT /apis/x/namespaces/a/things/b?dryRun=All HTTP/1.1\r\nHost: a\r\n"
      "Content-Length: 99999999999\r\n\r\n");
  EXPECT_EQ(huge.outcome, Outcome::kError);
  EXPECT_EQ(huge.status, 413);
  EXPECT_EQ(huge.path, "/apis/x/namespaces/a/things/b");
  auto no_host = ReadAll("PUT /a HTTP/1.1\r\nContent-Length: 999999999999999\r\n\r\n");
  EXPECT_EQ(no_host.status, 400) << "the Host check still comes first";
  auto http10 = ReadAll("PUT /a HTTP/1.0\r\nContent-Length: 999999999999999\r\n\r\n");
  EXPECT_EQ(http10.status, 413);
  // The reader is ready for another connection's bytes after the error.
  RequestReader reader(RequestLimits{});
  EXPECT_EQ(reader.Next("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999\r\n\r\n")
                .status,
            413);
  EXPECT_EQ(reader.Next("GET /b HTTP/1.1\r\nHost: a\r\n\r\n").outcome, Outcome::kComplete);
}

}  // namespace
}  // namespace strongroom::api
