// EncodeLine (audit/record.h): the exact bytes of a line, member by member
// in record.h's order, and lines that stay valid JSON whatever a
// certificate subject holds.
#include "audit/record.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/status_matchers.h"

namespace strongroom::audit {
namespace {

Event FullEvent() {
  Event event;
  event.action = "secret.securevalues:decrypt";
  event.actor = Actor{"service", "bench-svc", "", std::string(64, 'a'), "127.0.0.1"};
  event.resource = Resource{"ns-1", "securevalues", "db-\"password\""};
  event.outcome = Outcome::kDenied;
  event.http_status = 403;
  event.reason = "not_on_allowlist";
  event.request_id = "r-1";
  event.resource_version = 42;
  event.count = 3;
  event.details = {{"file", "a\nb"}};
  return event;
}

TEST(EncodeLine, WritesEveryMemberInTheDocumentedOrder) {
  const Event event = FullEvent();
  std::string hash;
  const std::string line = EncodeLine(7, "2026-12-04T00:00:00.000001Z", RecordType::kEvent, &event,
                                      nullptr, std::nullopt, kZeroHash, &hash);
  const std::string body =
      "{\"seq\":7,\"time\":\"2026-12-04T00:00:00.000001Z\",\"type\":\"event\","
      "\"action\":\"secret.securevalues:decrypt\",\"actor\":{\"kind\":\"service\","
      "\"name\":\"bench-svc\",\"certificate_sha256\":\"" +
      std::string(64, 'a') +
      "\",\"address\":\"127.0.0.1\"},\"resource\":{\"namespace\":\"ns-1\","
      "\"kind\":\"securevalues\",\"name\":\"db-\\\"password\\\"\"},\"outcome\":{"
      "\"result\":\"denied\",\"status\":403,\"reason\":\"not_on_allowlist\"},"
      "\"request_id\":\"r-1\",\"resource_version\":42,\"count\":3,"
      "\"details\":{\"file\":\"a\\nb\"},\"prev\":\"" +
      std::string(kZeroHash) + "\"";
  EXPECT_EQ(hash, ChainHash(kZeroHash, body));
  EXPECT_EQ(line, body + ",\"hash\":\"" + hash + "\"}\n");
  StatusOr<ParsedLine> parsed = ParseLine(std::string_view(line).substr(0, line.size() - 1));
  ASSERT_OK(parsed);
  EXPECT_EQ(parsed->seq, 7u);
  EXPECT_EQ(parsed->actor_name, "bench-svc");
  EXPECT_EQ(parsed->outcome, "denied");
  EXPECT_EQ(parsed->resource_version, 42u);
}

TEST(EncodeLine, OmitsWhatIsNotSetAndWritesCheckpointsAndRefersTo) {
  Event bare;
  bare.action = "server.start";
  std::string hash;
  std::string line =
      EncodeLine(1, "t", RecordType::kNotCommitted, &bare, nullptr, 9u, kZeroHash, &hash);
  EXPECT_EQ(line.substr(0, line.find(",\"prev\"")),
            "{\"seq\":1,\"time\":\"t\",\"type\":\"not-committed\",\"action\":\"server.start\","
            "\"actor\":{},\"outcome\":{\"result\":\"allowed\"},\"refers_to\":9");
  CheckpointBody checkpoint{1, std::string(64, 'b'), 5, "", "k", "c2ln"};
  line =
      EncodeLine(2, "t", RecordType::kCheckpoint, nullptr, &checkpoint, std::nullopt, hash, &hash);
  StatusOr<ParsedLine> parsed = ParseLine(std::string_view(line).substr(0, line.size() - 1));
  ASSERT_OK(parsed);
  ASSERT_TRUE(parsed->checkpoint.has_value());
  EXPECT_EQ(parsed->checkpoint->head_hash, std::string(64, 'b'));
  EXPECT_EQ(parsed->checkpoint->resource_version, 5u);
  EXPECT_EQ(parsed->checkpoint->store_digest, "");
  EXPECT_EQ(parsed->checkpoint->signature, "c2ln");
}

TEST(EncodeLine, ABodyEncodedAheadGivesTheSameLine) {
  Event bare;
  bare.action = "server.start";
  Event no_details = FullEvent();
  no_details.details.clear();
  for (const Event& event : {FullEvent(), bare, no_details}) {
    std::string hash_a, hash_b;
    const std::string whole = EncodeLine(12, "2026-12-04T00:00:00.000001Z", RecordType::kEvent,
                                         &event, nullptr, std::nullopt, kZeroHash, &hash_a);
    const std::string ahead = EncodeEventLine(12, "2026-12-04T00:00:00.000001Z",
                                              EncodeEventBody(event), kZeroHash, &hash_b);
    EXPECT_EQ(ahead, whole);
    EXPECT_EQ(hash_b, hash_a);
  }
}

TEST(EncodeLine, InvalidUtf8InACertificateNameStillMakesAValidLine) {
  Event event;
  event.action = "authenticate";
  event.actor.kind = "service";
  event.actor.name = "odd\xC3(\xFF\"name";
  std::string hash;
  const std::string line =
      EncodeLine(3, "t", RecordType::kEvent, &event, nullptr, std::nullopt, kZeroHash, &hash);
  StatusOr<ParsedLine> parsed = ParseLine(std::string_view(line).substr(0, line.size() - 1));
  ASSERT_OK(parsed);
  EXPECT_EQ(parsed->actor_name, "odd\xEF\xBF\xBD(\xEF\xBF\xBD\"name");
}

}  // namespace
}  // namespace strongroom::audit
