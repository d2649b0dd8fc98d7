// The trust anchor kept in a real SoftHSMv2 token: its encoding, its
// generations, and that it is a private object.
#include "crypto/trust_anchor.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "crypto/pkcs11_objects.h"
#include "tests/crypto/token_options.h"
#include "tests/support/test_token.h"
#include "tests/support/status_matchers.h"

namespace strongroom::crypto {
namespace {

using testing_support::TestToken;

TrustAnchor AnchorAt(std::uint64_t seq, std::uint64_t resource_version = 7) {
  TrustAnchor anchor;
  anchor.log_id = std::string(64, 'a');
  anchor.sealed_seq = seq;
  anchor.head_hash = std::string(63, 'b') + std::to_string(seq % 10);
  anchor.resource_version = resource_version;
  anchor.store_digest = std::string(64, 'c');
  return anchor;
}

class TrustAnchorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto token = Token::Open(TokenOptionsFor(test_token_));
    ASSERT_OK(token);
    token_ = std::move(*token);
  }
  void TearDown() override { token_.reset(); }

  // Generations lists the sealed seqs of the anchor objects in the token
  // (from their labels) and whether each is private.
  std::vector<std::pair<std::string, bool>> Objects() {
    std::vector<std::pair<std::string, bool>> out;
    Status s = token_->Run("list", [&](CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session) {
      out.clear();
      Attributes match;
      match.Ulong(CKA_CLASS, CKO_DATA).Text(CKA_APPLICATION, kAnchorApplication);
      std::vector<CK_OBJECT_HANDLE> found;
      CK_RV rv = FindObjects(fns, session, match, &found);
      if (rv != CKR_OK) return rv;
      for (CK_OBJECT_HANDLE handle : found) {
        Bytes label, is_private;
        rv = GetBytesAttribute(fns, session, handle, CKA_LABEL, &label);
        if (rv == CKR_OK) rv = GetBytesAttribute(fns, session, handle, CKA_PRIVATE, &is_private);
        if (rv != CKR_OK) return rv;
        out.emplace_back(std::string(AsChars(label)), is_private.size() == 1 && is_private[0]);
      }
      return CKR_OK;
    });
    EXPECT_OK(s) << s;
    std::sort(out.begin(), out.end());
    return out;
  }

  TestToken test_token_;
  std::unique_ptr<Token> token_;
};

TEST(TrustAnchorEncoding, RoundTripsAndRefusesAnythingElse) {
  TrustAnchor anchor = AnchorAt(12);
  auto parsed = ParseTrustAnchor(EncodeTrustAnchor(anchor));
  ASSERT_OK(parsed);
  EXPECT_EQ(*parsed, anchor);
  anchor.store_digest.clear();  // a store that never had a digest
  ASSERT_OK(ParseTrustAnchor(EncodeTrustAnchor(anchor)));

  const std::string good = EncodeTrustAnchor(AnchorAt(12));
  for (const std::string& bad : {
           std::string(""),
           good.substr(0, good.size() - 1),                            // no final newline
           "strongroom-anchor-v2" + good.substr(good.find('\n')),      // another format
           good + "extra=1\n",                                         // an unknown line
           std::string(good).replace(good.find("sealed_seq=12"), 13, "sealed_seq=01"),
           std::string(good).replace(good.find("sealed_seq=12"), 13, "sealed_seq=-1"),
           std::string(good).replace(good.find("log_id=a"), 8, "log_id=A"),  // not lower hex
       }) {
    auto refused = ParseTrustAnchor(bad);
    ASSERT_STATUS(refused, StatusCode::kIntegrityError);
  }
}

TEST_F(TrustAnchorTest, ATokenWithoutAnchorsReadsAsNone) {
  auto anchor = ReadTrustAnchor(*token_);
  ASSERT_OK(anchor);
  EXPECT_FALSE(anchor->has_value());
}

TEST_F(TrustAnchorTest, TheNewestGenerationWinsAndTheTwoNewestArePrivateAndKept) {
  for (std::uint64_t seq : {5u, 9u, 14u, 20u}) {
    ASSERT_OK(WriteTrustAnchor(*token_, AnchorAt(seq)));
  }
  auto read = ReadTrustAnchor(*token_);
  ASSERT_OK(read);
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ(**read, AnchorAt(20));
  auto objects = Objects();
  ASSERT_EQ(objects.size(), 2u);
  EXPECT_EQ(objects[0].first, "strongroom-anchor-00000000000000000014");
  EXPECT_EQ(objects[1].first, "strongroom-anchor-00000000000000000020");
  EXPECT_TRUE(objects[0].second && objects[1].second) << "anchor objects must be private";
}

TEST_F(TrustAnchorTest, AnOlderAnchorNeverReplacesANewerOne) {
  // Two processes (server and CLI) anchor the same log: the higher head wins.
  ASSERT_OK(WriteTrustAnchor(*token_, AnchorAt(30, 12)));
  ASSERT_OK(WriteTrustAnchor(*token_, AnchorAt(25, 11)));
  auto read = ReadTrustAnchor(*token_);
  ASSERT_OK(read);
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->sealed_seq, 30u);
  EXPECT_EQ(Objects().size(), 1u);
}

TEST_F(TrustAnchorTest, ReplaceDropsEveryOtherGenerationEvenANewerOne) {
  ASSERT_OK(WriteTrustAnchor(*token_, AnchorAt(40)));
  ASSERT_OK(WriteTrustAnchor(*token_, AnchorAt(50)));
  ASSERT_OK(ReplaceTrustAnchor(*token_, AnchorAt(3, 1)));
  auto read = ReadTrustAnchor(*token_);
  ASSERT_OK(read);
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ(**read, AnchorAt(3, 1));
  EXPECT_EQ(Objects().size(), 1u);
}

TEST_F(TrustAnchorTest, AnObjectThatDoesNotParseIsSkippedAndCleanedUp) {
  ASSERT_OK(WriteTrustAnchor(*token_, AnchorAt(8)));
  // A newer-looking generation whose value was cut (a crash mid-write).
  Status s = token_->Run("plant", [&](CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session) {
    Attributes object;
    object.Ulong(CKA_CLASS, CKO_DATA)
        .Bool(CKA_TOKEN, true)
        .Bool(CKA_PRIVATE, true)
        .Text(CKA_APPLICATION, kAnchorApplication)
        .Text(CKA_LABEL, "strongroom-anchor-00000000000000000099")
        .Text(CKA_VALUE, "strongroom-anchor-v1\nlog_id=");
    CK_OBJECT_HANDLE created;
    return fns->C_CreateObject(session, object.data(), object.size(), &created);
  });
  ASSERT_OK(s) << s;
  auto read = ReadTrustAnchor(*token_);
  ASSERT_OK(read);
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->sealed_seq, 8u);
  ASSERT_OK(WriteTrustAnchor(*token_, AnchorAt(10)));
  auto objects = Objects();
  ASSERT_EQ(objects.size(), 2u) << "the cut object is destroyed, the last good one kept";
  EXPECT_EQ(objects[1].first, "strongroom-anchor-00000000000000000010");
}

}  // namespace
}  // namespace strongroom::crypto
