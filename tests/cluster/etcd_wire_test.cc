// The JSON shapes of etcd's gateway and the key-range helper, without etcd.
#include <gtest/gtest.h>

#include "cluster/etcd_json.h"
#include "cluster/etcd_types.h"

namespace strongroom::cluster {
namespace {

TEST(EtcdWire, PrefixEndSelectsEveryKeyStartingWithThePrefix) {
  EXPECT_EQ(PrefixEnd("/sr/values/"), "/sr/values0");
  EXPECT_EQ(PrefixEnd(std::string("a\xff\xff", 3)), "b");
  EXPECT_EQ(PrefixEnd(""), std::string(1, '\0'));
  EXPECT_EQ(PrefixEnd(std::string("\xff", 1)), std::string(1, '\0'));
}

TEST(EtcdWire, Base64RoundTripsEveryByteAndLength) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  for (std::size_t length : {0u, 1u, 2u, 3u, 4u, 5u, 256u}) {
    const std::string bytes = all.substr(0, length);
    EXPECT_EQ(json_wire::Base64Decode(json_wire::Base64Encode(bytes)), bytes) << length;
  }
  EXPECT_EQ(json_wire::Base64Encode("foo"), "Zm9v");
  EXPECT_THROW(json_wire::Base64Decode("Zm9"), std::invalid_argument);
  EXPECT_THROW(json_wire::Base64Decode("Z!9v"), std::invalid_argument);
}

TEST(EtcdWire, Int64FieldsAreReadFromDecimalStringsAndAbsentIsZero) {
  const auto answer = json_wire::Json::parse(
      R"({"header":{"cluster_id":"18446744073709551615","revision":"9223372036854775807"},)"
      R"("kvs":[{"key":"Zm9v","mod_revision":"7","value":"AP8="}],"count":"1"})");
  const RangeResult range = json_wire::DecodeRange(answer);
  EXPECT_EQ(range.header.cluster_id, 18446744073709551615ull);
  EXPECT_EQ(range.header.revision, 9223372036854775807ll);
  EXPECT_EQ(range.header.member_id, 0u);
  ASSERT_EQ(range.kvs.size(), 1u);
  EXPECT_EQ(range.kvs[0].key, "foo");
  EXPECT_EQ(range.kvs[0].value, std::string("\0\xff", 2));
  EXPECT_EQ(range.kvs[0].mod_revision, 7);
  EXPECT_EQ(range.kvs[0].create_revision, 0);
  EXPECT_FALSE(range.more);
  EXPECT_THROW(json_wire::DecodeRange(json_wire::Json::parse(R"({"count":"1x"})")),
               std::invalid_argument);
}

TEST(EtcdWire, TxnEncodesComparesAndBothBranches) {
  TxnRequest txn{.compare = {Compare::ModRevisionIs("k", 5), Compare::KeyMissing("n")},
                 .success = {PutRequest{.key = "k", .value = "v", .lease = 9}},
                 .failure = {RangeRequest{.key = "k"}, DeleteRequest{.key = "d"}}};
  const json_wire::Json wire = json_wire::EncodeTxn(txn);
  EXPECT_EQ(wire["compare"][0]["target"], "MOD");
  EXPECT_EQ(wire["compare"][0]["mod_revision"], "5");
  EXPECT_EQ(wire["compare"][1]["target"], "CREATE");
  EXPECT_EQ(wire["compare"][1]["create_revision"], "0");
  EXPECT_EQ(wire["success"][0]["request_put"]["lease"], "9");
  EXPECT_EQ(wire["success"][0]["request_put"]["value"], "dg==");
  EXPECT_TRUE(wire["failure"][0].contains("request_range"));
  EXPECT_TRUE(wire["failure"][1].contains("request_delete_range"));
}

}  // namespace
}  // namespace strongroom::cluster
