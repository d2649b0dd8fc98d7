// Sensu secrets and providers as stored rows: every field round-trips, an
// unset decrypters list stays distinct from an empty one, and a malformed
// row is an integrity error.
#include <gtest/gtest.h>

#include "storage/sensu_provider_record.h"
#include "storage/sensu_secret_record.h"
#include "tests/support/status_matchers.h"

namespace strongroom::storage {
namespace {

SensuSecretRecord Secret() {
  SensuSecretRecord r;
  r.namespace_name = "team-a";
  r.name = "db";
  r.id = "db-password";
  r.provider = "strongroom";
  r.labels = {{"region", "us"}};
  r.annotations = {{"owner", "ops team"}};
  r.created_by = "alice";
  r.updated_micros = 1234567;
  r.resource_version = 42;
  return r;
}

TEST(SensuRecords, ASecretRoundTripsWithAndWithoutDecrypters) {
  for (std::optional<std::vector<std::string>> decrypters :
       {std::optional<std::vector<std::string>>(),
        std::optional<std::vector<std::string>>(std::vector<std::string>{}),
        std::optional<std::vector<std::string>>(std::vector<std::string>{"svc-a", "svc-b"})}) {
    SensuSecretRecord in = Secret();
    in.decrypters = decrypters;
    StatusOr<SensuSecretRecord> out = DecodeSensuSecretRecord(EncodeSensuSecretRecord(in));
    ASSERT_OK(out);
    EXPECT_EQ(out->namespace_name, in.namespace_name);
    EXPECT_EQ(out->name, in.name);
    EXPECT_EQ(out->id, in.id);
    EXPECT_EQ(out->provider, in.provider);
    EXPECT_EQ(out->labels, in.labels);
    EXPECT_EQ(out->annotations, in.annotations);
    EXPECT_EQ(out->decrypters, in.decrypters);
    EXPECT_EQ(out->created_by, in.created_by);
    EXPECT_EQ(out->updated_micros, in.updated_micros);
    EXPECT_EQ(out->resource_version, in.resource_version);
  }
  EXPECT_EQ(SensuSecretKey("team-a", "db"), "team-a/db");
}

TEST(SensuRecords, AProviderRoundTrips) {
  SensuProviderRecord in{"env", "env", {"APP_*", "DB"}, "admin", 99, 7};
  StatusOr<SensuProviderRecord> out = DecodeSensuProviderRecord(EncodeSensuProviderRecord(in));
  ASSERT_OK(out);
  EXPECT_EQ(out->name, "env");
  EXPECT_EQ(out->type, "env");
  EXPECT_EQ(out->allow, in.allow);
  EXPECT_EQ(out->created_by, "admin");
  EXPECT_EQ(out->updated_micros, 99);
  EXPECT_EQ(out->resource_version, 7u);
}

TEST(SensuRecords, MalformedRowsAreIntegrityErrors) {
  Bytes row = EncodeSensuSecretRecord(Secret());
  Bytes cut(row.begin(), row.end() - 1);
  StatusOr<SensuSecretRecord> truncated = DecodeSensuSecretRecord(cut);
  ASSERT_STATUS(truncated, StatusCode::kIntegrityError);
  Bytes longer = row;
  longer.push_back(0);
  EXPECT_FALSE(DecodeSensuSecretRecord(longer).has_value());
  Bytes provider = EncodeSensuProviderRecord({"env", "env", {}, "", 0, 0});
  provider[0] = 9;  // an unknown format
  StatusOr<SensuProviderRecord> unknown = DecodeSensuProviderRecord(provider);
  ASSERT_STATUS(unknown, StatusCode::kIntegrityError);
}

}  // namespace
}  // namespace strongroom::storage
