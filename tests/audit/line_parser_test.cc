// The record reader made for the line format (audit/line_parser.h) against
// nlohmann/json's document parser: over writer-made lines, hand-made JSON
// variants and thousands of mutations of both (with and without a
// recomputed hash), ParseLine must accept exactly what ParseLineGeneral
// accepts, with the same members, and reject with the same reason.
#include "audit/line_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "audit/record.h"
#include "tests/support/status_matchers.h"

namespace strongroom::audit {
namespace {

const std::string kPrev(64, 'a');

Event SampleEvent() {
  Event e;
  e.action = "secret.securevalues:decrypt";
  e.actor = {"service", "billing", "", std::string(64, 'c'), "127.0.0.1:5000"};
  e.resource = {"default", "SecureValue", "db-password"};
  e.outcome = Outcome::kAllowed;
  e.http_status = 200;
  e.reason = "ok";
  e.request_id = "0a1b2c3d-0-1f";
  e.resource_version = 42;
  e.count = 3;
  e.details = {{"key_sha256", std::string(64, 'd')}, {"note", "plain"}};
  return e;
}

// WriterLines are lines as the log writes them, without their "\n".
std::vector<std::string> WriterLines() {
  std::vector<std::string> lines;
  auto add = [&lines](std::string line) {
    line.pop_back();
    lines.push_back(std::move(line));
  };
  std::string hash;
  Event full = SampleEvent();
  add(EncodeLine(7, "2026-12-06T07:00:00.000000Z", RecordType::kEvent, &full, nullptr, {}, kPrev,
                 &hash));
  add(EncodeEventLine(8, "2026-12-06T07:00:00.000001Z", EncodeEventBody(full), kPrev, &hash));
  Event bare;
  bare.action = "server.start";
  add(EncodeLine(1, "t", RecordType::kEvent, &bare, nullptr, {}, std::string(kZeroHash), &hash));
  Event odd = full;  // escapes and UTF-8: outside the fast reader's subset
  odd.actor.name = "O'Brien \"the\" \\ admin \xc3\xa9\t\x01";
  odd.details.push_back({"subject", "CN=\xe2\x98\x83"});
  add(EncodeLine(9, "t", RecordType::kEvent, &odd, nullptr, {}, kPrev, &hash));
  CheckpointBody body{9, kPrev, 40, std::string(64, 'e'), std::string(64, 'f'),
                      std::string(86, 'A') + "=="};
  add(EncodeLine(10, "t", RecordType::kCheckpoint, nullptr, &body, {}, kPrev, &hash));
  add(EncodeLine(11, "t", RecordType::kNotCommitted, nullptr, nullptr, 10, kPrev, &hash));
  return lines;
}

// Rehash replaces the hash at the end of `line` by the chain hash of what
// comes before its marker under kPrev, so a changed body still "verifies"
// and the two readers are compared past the hash check.
std::string Rehash(const std::string& line) {
  std::size_t marker = line.rfind(kHashMarker);
  if (marker == std::string::npos || line.size() < marker + kHashMarker.size() + 66) return line;
  return line.substr(0, marker) + std::string(kHashMarker) +
         ChainHash(kPrev, std::string_view(line).substr(0, marker)) + "\"}";
}

// HandMade are JSON variants the writer never produces, each with a hash
// that matches its body.
std::vector<std::string> HandMade() {
  const std::string p = "\"prev\":\"" + kPrev + "\"";
  std::vector<std::string> bodies = {
      "{\"seq\":1,\"time\":\"t\",\"type\":\"event\"," + p,                     // minimal
      "{ \"seq\": 1, \"time\":\"t\",\"type\":\"event\"," + p,                  // whitespace
      "{\"seq\":1,\"seq\":2,\"time\":\"t\",\"type\":\"event\"," + p,           // repeated key
      "{\"seq\":\"1\",\"time\":\"t\",\"type\":\"event\"," + p,                 // seq as text
      "{\"seq\":1.0,\"time\":\"t\",\"type\":\"event\"," + p,                   // float
      "{\"seq\":01,\"time\":\"t\",\"type\":\"event\"," + p,                    // leading zero
      "{\"seq\":-1,\"time\":\"t\",\"type\":\"event\"," + p,                    // negative
      "{\"seq\":18446744073709551616,\"time\":\"t\",\"type\":\"event\"," + p,  // past uint64
      "{\"seq\":18446744073709551615,\"time\":\"t\",\"type\":\"event\"," + p,  // uint64 max
      "{\"seq\":1,\"time\":\"t\",\"type\":\"event\",\"actor\":{\"kind\":\"user\"},"
      "\"actor\":\"x\"," + p,  // an object replaced by text
      "{\"seq\":1,\"time\":\"t\",\"type\":\"event\",\"actor\":\"x\","
      "\"actor\":{\"kind\":\"user\",\"kind\":\"svc\"}," + p,  // text replaced by an object
      "{\"seq\":1,\"time\":\"t\",\"type\":\"event\",\"\":{\"seq\":5}," + p,        // empty key
      "{\"seq\":1,\"time\":\"t\",\"type\":\"event\",\"a\":{\"b\":{\"c\":1}}," + p,  // deeper
      "{\"seq\":1,\"time\":\"t\",\"type\":\"event\",\"a\":[1,2],\"b\":true,\"c\":null," + p,
      "{\"seq\":1,\"time\":\"t\",\"type\":\"checkpoint\"," + p,  // a checkpoint without a body
      "{\"seq\":1,\"time\":\"t\",\"type\":\"checkpoint\",\"checkpoint\":{}," + p,
      "{\"seq\":1,\"time\":\"t\",\"type\":\"other\"," + p,
      "{\"seq\":1,\"time\":\"t\",\"type\":\"event\",\"a\":{}," + p,
      "{\"seq\":1,\"time\":\"t\",\"type\":\"event\",\"prev\":\"" + std::string(64, 'A') + "\"",
      "[\"seq\",1," + p,
      "{\"seq\":1,,\"time\":\"t\",\"type\":\"event\"," + p,
  };
  std::vector<std::string> lines;
  for (const std::string& body : bodies) {
    lines.push_back(body + std::string(kHashMarker) + ChainHash(kPrev, body) + "\"}");
  }
  return lines;
}

void ExpectSame(const std::string& line) {
  StatusOr<ParsedLine> fast = ParseLine(line);
  StatusOr<ParsedLine> general = ParseLineGeneral(line);
  ASSERT_EQ(fast.has_value(), general.has_value()) << line;
  if (!fast.has_value()) {
    EXPECT_EQ(fast.error().code(), general.error().code()) << line;
    EXPECT_EQ(fast.error().message(), general.error().message()) << line;
    return;
  }
  const ParsedLine& a = *fast;
  const ParsedLine& b = *general;
  EXPECT_EQ(a.seq, b.seq) << line;
  EXPECT_EQ(a.time, b.time) << line;
  EXPECT_EQ(a.type, b.type) << line;
  EXPECT_EQ(a.prev, b.prev) << line;
  EXPECT_EQ(a.hash, b.hash) << line;
  EXPECT_EQ(a.action, b.action) << line;
  EXPECT_EQ(a.actor_kind, b.actor_kind) << line;
  EXPECT_EQ(a.actor_name, b.actor_name) << line;
  EXPECT_EQ(a.namespace_name, b.namespace_name) << line;
  EXPECT_EQ(a.outcome, b.outcome) << line;
  EXPECT_EQ(a.request_id, b.request_id) << line;
  EXPECT_EQ(a.resource_version, b.resource_version) << line;
  EXPECT_EQ(a.refers_to, b.refers_to) << line;
  EXPECT_EQ(a.key_sha256, b.key_sha256) << line;
  ASSERT_EQ(a.checkpoint.has_value(), b.checkpoint.has_value()) << line;
  if (a.checkpoint) {
    EXPECT_EQ(a.checkpoint->head_seq, b.checkpoint->head_seq);
    EXPECT_EQ(a.checkpoint->head_hash, b.checkpoint->head_hash);
    EXPECT_EQ(a.checkpoint->resource_version, b.checkpoint->resource_version);
    EXPECT_EQ(a.checkpoint->store_digest, b.checkpoint->store_digest);
    EXPECT_EQ(a.checkpoint->key_sha256, b.checkpoint->key_sha256);
    EXPECT_EQ(a.checkpoint->signature, b.checkpoint->signature);
  }
}

TEST(LineParser, TheWritersAsciiLinesTakeTheFormattedReader) {
  std::vector<std::string> lines = WriterLines();
  for (std::size_t i : {0u, 1u, 2u, 4u, 5u}) {
    std::optional<StatusOr<ParsedLine>> formatted = ParseFormattedLine(lines[i]);
    ASSERT_TRUE(formatted.has_value()) << lines[i];
    EXPECT_OK(*formatted) << lines[i];
  }
  EXPECT_FALSE(ParseFormattedLine(lines[3]).has_value()) << "escapes go to the general parser";
}

TEST(LineParser, AcceptsAndRejectsExactlyWhatTheGeneralParserDoesOnKnownLines) {
  std::vector<std::string> lines = WriterLines();
  for (const std::string& line : HandMade()) lines.push_back(line);
  for (const std::string& line : lines) ExpectSame(line);
  std::size_t accepted = 0;
  for (const std::string& line : lines) accepted += ParseLine(line).has_value() ? 1 : 0;
  EXPECT_GE(accepted, 10u) << "the corpus holds valid lines, not only broken ones";
}

// Mutations: a byte changed, removed, inserted or duplicated, a cut, a
// piece moved; every mutant compared as it is and with its hash recomputed.
TEST(LineParser, AcceptsAndRejectsExactlyWhatTheGeneralParserDoesOnMutatedLines) {
  std::vector<std::string> seeds = WriterLines();
  for (const std::string& line : HandMade()) seeds.push_back(line);
  const std::string alphabet = "{}[]:,\"\\ 0123456789-.eE+tfnulxa\x01\x7f\xc3\xa9\xff";
  std::mt19937 random(20261206);
  std::size_t compared = 0, rehashed_valid = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string line = seeds[random() % seeds.size()];
    std::size_t mutations = 1 + random() % 3;
    for (std::size_t m = 0; m < mutations && !line.empty(); ++m) {
      std::size_t at = random() % line.size();
      char c = alphabet[random() % alphabet.size()];
      switch (random() % 5) {
        case 0: line[at] = c; break;
        case 1: line.erase(at, 1); break;
        case 2: line.insert(at, 1, c); break;
        case 3: line.insert(at, line.substr(at, 1 + random() % 8)); break;
        default: line.resize(at); break;
      }
    }
    ExpectSame(line);
    std::string rehashed = Rehash(line);
    ExpectSame(rehashed);
    compared += 2;
    rehashed_valid += ParseLineGeneral(rehashed).has_value() ? 1 : 0;
    if (HasFailure()) return;
  }
  EXPECT_EQ(compared, 6000u);
  EXPECT_GT(rehashed_valid, 100u) << "mutants past the hash check were compared too";
}

}  // namespace
}  // namespace strongroom::audit
