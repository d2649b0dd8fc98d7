// HmacRecordAuthenticator (crypto/record_mac.h): the tag is HMAC-SHA256 of
// the documented encoding, and the per-thread context it reuses restarts
// cleanly: the same record gives the same tag on every call, on every
// thread, and two authenticators used in turn on one thread never mix keys.
#include "crypto/record_mac.h"
#include "tests/support/status_matchers.h"

#include <gtest/gtest.h>
#include <openssl/hmac.h>

#include <atomic>
#include <thread>
#include <vector>

namespace strongroom::crypto {
namespace {

SecretBytes Key(std::uint8_t fill) {
  Bytes raw(32, fill);
  return *SecretBytes::CopyFrom(ByteSpan(raw));
}

// Reference computes the tag with one-shot HMAC over the encoding.
storage::RecordTag Reference(std::uint8_t fill, storage::Table table, std::string_view key,
                             std::uint64_t generation, std::string_view value) {
  std::string input = "strongroom.record.v1";
  auto put = [&](std::uint64_t n, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) input.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  };
  put(static_cast<std::uint8_t>(table), 1);
  put(key.size(), 4);
  input.append(key);
  put(generation, 8);
  put(value.size(), 8);
  input.append(value);
  Bytes raw_key(32, fill);
  storage::RecordTag tag{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), raw_key.data(), 32, reinterpret_cast<const unsigned char*>(input.data()),
       input.size(), tag.data(), &length);
  return tag;
}

ByteSpan Span(std::string_view text) {
  return ByteSpan(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

TEST(HmacRecordAuthenticator, RepeatedTagsMatchTheReferenceAndKeysNeverMix) {
  auto a = HmacRecordAuthenticator::Create(Key(0x11));
  auto b = HmacRecordAuthenticator::Create(Key(0x22));
  ASSERT_OK(a);
  ASSERT_OK(b);
  const auto want_a = Reference(0x11, storage::Table::kSecureValues, "ns/x", 7, "value");
  const auto want_b = Reference(0x22, storage::Table::kSecureValues, "ns/x", 7, "value");
  ASSERT_NE(want_a, want_b);
  for (int i = 0; i < 5; ++i) {
    auto tag_a = (*a)->Tag(storage::Table::kSecureValues, "ns/x", 7, Span("value"));
    auto tag_b = (*b)->Tag(storage::Table::kSecureValues, "ns/x", 7, Span("value"));
    ASSERT_OK(tag_a);
    ASSERT_OK(tag_b);
    EXPECT_EQ(*tag_a, want_a) << "call " << i;
    EXPECT_EQ(*tag_b, want_b) << "call " << i;
  }
  auto other = (*a)->Tag(storage::Table::kUsers, "ns/x", 7, Span("value"));
  ASSERT_OK(other);
  EXPECT_EQ(*other, Reference(0x11, storage::Table::kUsers, "ns/x", 7, "value"));
  // A new authenticator with a's key, created after a is gone, starts clean.
  a->reset();
  auto c = HmacRecordAuthenticator::Create(Key(0x33));
  ASSERT_OK(c);
  auto tag_c = (*c)->Tag(storage::Table::kSecureValues, "ns/x", 7, Span("value"));
  ASSERT_OK(tag_c);
  EXPECT_EQ(*tag_c, Reference(0x33, storage::Table::kSecureValues, "ns/x", 7, "value"));
}

TEST(HmacRecordAuthenticator, EveryThreadComputesTheSameTags) {
  auto a = HmacRecordAuthenticator::Create(Key(0x44));
  ASSERT_OK(a);
  const auto want = Reference(0x44, storage::Table::kBindings, "k", 1, "v");
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto tag = (*a)->Tag(storage::Table::kBindings, "k", 1, Span("v"));
        if (!tag.has_value() || *tag != want) ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

// ReferenceHkdf is RFC 5869 HKDF-SHA256 with no salt (HashLen zero bytes)
// for one output block, computed with one-shot HMAC: PRK = HMAC(0^32, IKM),
// OKM = HMAC(PRK, info ‖ 0x01).
Bytes ReferenceHkdf(std::uint8_t fill, std::string_view info) {
  Bytes ikm(32, fill), salt(32, 0), prk(32), okm(32);
  unsigned int length = 0;
  HMAC(EVP_sha256(), salt.data(), 32, ikm.data(), ikm.size(), prk.data(), &length);
  std::string block(info);
  block.push_back('\x01');
  HMAC(EVP_sha256(), prk.data(), 32, reinterpret_cast<const unsigned char*>(block.data()),
       block.size(), okm.data(), &length);
  return okm;
}

TEST(RecordMac, DeriveKeyIsHkdfSha256OfTheMacKeyWithThePurposeAsInfo) {
  auto authenticator = HmacRecordAuthenticator::Create(Key(0x5a));
  ASSERT_OK(authenticator);
  auto derived = (*authenticator)->DeriveKey("strongroom continue cursor v1", 32);
  ASSERT_OK(derived);
  EXPECT_TRUE(derived->ConstantTimeEquals(ReferenceHkdf(0x5a, "strongroom continue cursor v1")));
  // The same key derives the same bytes in another authenticator (another
  // node, a restart); another purpose or key derives others.
  auto again = HmacRecordAuthenticator::Create(Key(0x5a));
  ASSERT_OK(again);
  auto same = (*again)->DeriveKey("strongroom continue cursor v1", 32);
  ASSERT_OK(same);
  EXPECT_TRUE(derived->ConstantTimeEquals(*same));
  auto other_purpose = (*authenticator)->DeriveKey("strongroom other v1", 32);
  ASSERT_OK(other_purpose);
  EXPECT_FALSE(derived->ConstantTimeEquals(*other_purpose));
  auto other_key = HmacRecordAuthenticator::Create(Key(0x5b));
  ASSERT_OK(other_key);
  auto other = (*other_key)->DeriveKey("strongroom continue cursor v1", 32);
  ASSERT_OK(other);
  EXPECT_FALSE(derived->ConstantTimeEquals(*other));
  EXPECT_STATUS((*authenticator)->DeriveKey("", 32), StatusCode::kInvalidArgument);
  EXPECT_STATUS((*authenticator)->DeriveKey("x", 8), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace strongroom::crypto
