// Envelopes (crypto/envelope.h): round trips, fresh nonces, tamper and
// truncation resistance, and the AAD binding to namespace, name, uid,
// generation and data-key id.
#include "crypto/envelope.h"

#include <gtest/gtest.h>
#include <openssl/rand.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/secure_arena.h"
#include "base/status.h"
#include "tests/support/status_matchers.h"

namespace strongroom::crypto {
namespace {

constexpr std::size_t kFixedBytes = 1 + 1 + 2 + kEnvelopeNonceBytes + 4 + kEnvelopeTagBytes;

SecretBytes RandomKey(std::size_t size = 32) {
  StatusOr<SecretBytes> key = SecretBytes::Allocate(size);
  EXPECT_OK(key);
  if (!key.has_value()) return SecretBytes();
  EXPECT_EQ(RAND_bytes(key->RevealMutableSecret().data(), static_cast<int>(size)), 1);
  return std::move(*key);
}

EnvelopeContext TestContext() {
  EnvelopeContext c;
  c.namespace_name = "team-payments";
  c.name = "db-password";
  c.uid = "4f0c5e2a-8d1b-4c6e-9a57-1b2c3d4e5f60";
  c.generation = 3;
  c.data_key_id = "team-payments.2025-01-31.1";
  return c;
}

// Payload returns `size` bytes that run through every byte value, NULs
// included.
Bytes Payload(std::size_t size) {
  Bytes out(size);
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::uint8_t>(i * 7 + 3 * (i >> 8));
  return out;
}

// Offsets inside an envelope sealed under `data_key_id`.
std::size_t NonceOffset(std::string_view data_key_id) { return 4 + data_key_id.size(); }
std::size_t LengthOffset(std::string_view data_key_id) {
  return NonceOffset(data_key_id) + kEnvelopeNonceBytes;
}

Bytes Seal(const SecretBytes& key, const EnvelopeContext& context, ByteSpan plaintext) {
  StatusOr<Bytes> sealed = SealEnvelope(key, context, plaintext);
  EXPECT_OK(sealed);
  return sealed.has_value() ? *sealed : Bytes();
}

::testing::AssertionResult FailsIntegrity(const StatusOr<SecretBytes>& opened) {
  if (opened.has_value()) {
    return ::testing::AssertionFailure() << "opened " << opened->size() << " bytes";
  }
  if (opened.error().code() != StatusCode::kIntegrityError) {
    return ::testing::AssertionFailure() << "wrong error: " << opened.error();
  }
  return ::testing::AssertionSuccess();
}

// RefusedUnder seals a value under `sealed_under` and checks that, with the
// same key, it opens there but is refused under `opened_under`.
::testing::AssertionResult RefusedUnder(const EnvelopeContext& sealed_under,
                                        const EnvelopeContext& opened_under) {
  SecretBytes key = RandomKey();
  Bytes sealed = Seal(key, sealed_under, Payload(32));
  if (!OpenEnvelope(key, sealed_under, sealed).has_value()) {
    return ::testing::AssertionFailure() << "does not open under its own context";
  }
  return FailsIntegrity(OpenEnvelope(key, opened_under, sealed));
}

TEST(Envelope, RoundTripsEmptySmallAndLargeValues) {
  SecretBytes key = RandomKey();
  EnvelopeContext context = TestContext();
  for (std::size_t size : {0u, 1u, 1024u, 24576u}) {
    SCOPED_TRACE(size);
    Bytes plaintext = Payload(size);
    Bytes sealed = Seal(key, context, plaintext);
    EXPECT_EQ(sealed.size(), kFixedBytes + context.data_key_id.size() + size);
    StatusOr<SecretBytes> opened = OpenEnvelope(key, context, sealed);
    ASSERT_OK(opened);
    EXPECT_EQ(opened->size(), size);
    EXPECT_TRUE(opened->ConstantTimeEquals(plaintext));
  }
}

TEST(Envelope, RoundTripsArbitraryBytesIncludingNuls) {
  SecretBytes key = RandomKey();
  EnvelopeContext context = TestContext();
  Bytes plaintext;
  for (int round = 0; round < 3; ++round) {
    for (int b = 0; b < 256; ++b) plaintext.push_back(static_cast<std::uint8_t>(b));
  }
  plaintext.insert(plaintext.begin(), {0, 0, 0});
  plaintext.insert(plaintext.end(), {0, 0, 0});
  for (const Bytes& value : {plaintext, Bytes{0}, Bytes(17, 0)}) {
    StatusOr<SecretBytes> opened = OpenEnvelope(key, context, Seal(key, context, value));
    ASSERT_OK(opened);
    EXPECT_TRUE(opened->ConstantTimeEquals(value));
  }
}

TEST(Envelope, RoundTripsContextsTooLongForTheInlineAadBuffer) {
  SecretBytes key = RandomKey();
  std::string namespace_name(300, 'n'), name(400, 'm'), uid(200, 'u');
  EnvelopeContext context = TestContext();
  context.namespace_name = namespace_name;
  context.name = name;
  context.uid = uid;
  Bytes plaintext = Payload(100);
  Bytes sealed = Seal(key, context, plaintext);
  StatusOr<SecretBytes> opened = OpenEnvelope(key, context, sealed);
  ASSERT_OK(opened);
  EXPECT_TRUE(opened->ConstantTimeEquals(plaintext));

  std::string other_name = name;
  other_name.back() = 'x';
  EnvelopeContext moved = context;
  moved.name = other_name;
  EXPECT_TRUE(FailsIntegrity(OpenEnvelope(key, moved, sealed)));
}

TEST(Envelope, SealsTheSameValueDifferentlyEachTime) {
  SecretBytes key = RandomKey();
  EnvelopeContext context = TestContext();
  Bytes plaintext = Payload(64);
  Bytes first = Seal(key, context, plaintext);
  Bytes second = Seal(key, context, plaintext);
  ASSERT_EQ(first.size(), second.size());
  EXPECT_NE(first, second);
  std::size_t at = NonceOffset(context.data_key_id);
  EXPECT_NE(Bytes(first.begin() + at, first.begin() + at + kEnvelopeNonceBytes),
            Bytes(second.begin() + at, second.begin() + at + kEnvelopeNonceBytes));
  EXPECT_OK(OpenEnvelope(key, context, first));
  EXPECT_OK(OpenEnvelope(key, context, second));
}

TEST(Envelope, RejectsAnySingleByteFlipAnywhere) {
  SecretBytes key = RandomKey();
  EnvelopeContext context = TestContext();
  for (std::size_t size : {0u, 33u}) {
    Bytes sealed = Seal(key, context, Payload(size));
    ASSERT_OK(OpenEnvelope(key, context, sealed));
    for (std::size_t i = 0; i < sealed.size(); ++i) {
      for (std::uint8_t pattern : {0x01, 0x80, 0x10, 0xff, 0x5a}) {
        Bytes tampered = sealed;
        tampered[i] ^= pattern;
        EXPECT_TRUE(FailsIntegrity(OpenEnvelope(key, context, tampered)))
            << "size " << size << ", byte " << i << " xor " << int{pattern};
      }
    }
  }
}

TEST(Envelope, RejectsEveryTruncation) {
  SecretBytes key = RandomKey();
  EnvelopeContext context = TestContext();
  Bytes sealed = Seal(key, context, Payload(48));
  for (std::size_t length = 0; length < sealed.size(); ++length) {
    ByteSpan prefix(sealed.data(), length);
    EXPECT_TRUE(FailsIntegrity(OpenEnvelope(key, context, prefix))) << "length " << length;
    EXPECT_FALSE(ParseEnvelope(prefix).has_value()) << "length " << length;
  }
}

TEST(Envelope, RejectsAppendedBytes) {
  SecretBytes key = RandomKey();
  EnvelopeContext context = TestContext();
  Bytes sealed = Seal(key, context, Payload(48));
  for (const Bytes& tail : {Bytes{0}, Bytes{1}, Bytes(16, 0), Bytes(1000, 0xab)}) {
    Bytes longer = sealed;
    longer.insert(longer.end(), tail.begin(), tail.end());
    EXPECT_TRUE(FailsIntegrity(OpenEnvelope(key, context, longer))) << tail.size();
    EXPECT_STATUS(ParseEnvelope(longer), StatusCode::kIntegrityError);
  }
}

TEST(Envelope, RejectsCiphertextMovedToAnotherName) {
  EnvelopeContext moved = TestContext();
  moved.name = "api-token";
  EXPECT_TRUE(RefusedUnder(TestContext(), moved));
}

TEST(Envelope, RejectsCiphertextMovedToAnotherNamespace) {
  EnvelopeContext moved = TestContext();
  moved.namespace_name = "team-billing";
  EXPECT_TRUE(RefusedUnder(TestContext(), moved));
}

TEST(Envelope, RejectsCiphertextMovedToARecordWithAnotherUid) {
  // Same namespace and name: the record was deleted and re-created.
  EnvelopeContext recreated = TestContext();
  recreated.uid = "4f0c5e2a-8d1b-4c6e-9a57-1b2c3d4e5f61";
  EXPECT_TRUE(RefusedUnder(TestContext(), recreated));
}

TEST(Envelope, RejectsAnOlderValuePutBackUnderANewerGeneration) {
  SecretBytes key = RandomKey();
  EnvelopeContext generation1 = TestContext();
  generation1.generation = 1;
  EnvelopeContext generation2 = generation1;
  generation2.generation = 2;
  Bytes old_value = Seal(key, generation1, AsBytes("old password"));
  Bytes new_value = Seal(key, generation2, AsBytes("new password"));

  StatusOr<SecretBytes> current = OpenEnvelope(key, generation2, new_value);
  ASSERT_OK(current);
  EXPECT_EQ(current->RevealSecretAsString(), "new password");
  EXPECT_TRUE(FailsIntegrity(OpenEnvelope(key, generation2, old_value)));
}

TEST(Envelope, RejectsAnotherDataKeyId) {
  EnvelopeContext other = TestContext();
  other.data_key_id = "team-payments.2025-02-01.1";
  EXPECT_TRUE(RefusedUnder(TestContext(), other));
}

TEST(Envelope, RejectsAHeaderRelabelledToAnotherDataKeyId) {
  // Even if an attacker rewrites the header's id to match another context
  // (and the same key bytes were used), the AAD still binds the original id.
  SecretBytes key = RandomKey();
  EnvelopeContext context = TestContext();
  context.data_key_id = "dek-a";
  Bytes sealed = Seal(key, context, Payload(32));
  Bytes relabelled = sealed;
  relabelled[4 + 4] = 'b';  // "dek-a" -> "dek-b"
  EnvelopeContext other = context;
  other.data_key_id = "dek-b";
  ASSERT_EQ(ParseEnvelope(relabelled)->data_key_id, "dek-b");
  EXPECT_TRUE(FailsIntegrity(OpenEnvelope(key, other, relabelled)));
}

TEST(Envelope, RejectsContextsThatOnlyMoveAFieldBoundary) {
  EnvelopeContext context = TestContext();
  context.namespace_name = "ab";
  context.name = "c";
  EnvelopeContext shifted = context;
  shifted.namespace_name = "a";
  shifted.name = "bc";
  EXPECT_TRUE(RefusedUnder(context, shifted));
}

TEST(Envelope, RejectsAWrongKey) {
  SecretBytes key = RandomKey();
  SecretBytes other_key = RandomKey();
  EnvelopeContext context = TestContext();
  Bytes sealed = Seal(key, context, Payload(32));
  EXPECT_TRUE(FailsIntegrity(OpenEnvelope(other_key, context, sealed)));
}

TEST(Envelope, RejectsAForgedCiphertextLengthWithoutCrashing) {
  SecretBytes key = RandomKey();
  EnvelopeContext context = TestContext();
  Bytes sealed = Seal(key, context, Payload(32));
  const std::size_t at = LengthOffset(context.data_key_id);
  const std::uint32_t forged_lengths[] = {
      33,                                                     // one more than present
      32 + kEnvelopeTagBytes,                                 // swallows the tag
      static_cast<std::uint32_t>(sealed.size()),              // > remaining
      static_cast<std::uint32_t>(kMaxEnvelopePlaintext),      // at the limit, > remaining
      static_cast<std::uint32_t>(kMaxEnvelopePlaintext + 1),  // over the limit
      0x7fffffffu,                                            // int overflow bait
      0x80000000u,                                            // int overflow bait
      0xffffffffu,                                            // int overflow bait
      31,                                                     // leaves a trailing byte
      0,                                                      // leaves trailing bytes
  };
  for (std::uint32_t length : forged_lengths) {
    Bytes forged = sealed;
    forged[at] = static_cast<std::uint8_t>(length >> 24);
    forged[at + 1] = static_cast<std::uint8_t>(length >> 16);
    forged[at + 2] = static_cast<std::uint8_t>(length >> 8);
    forged[at + 3] = static_cast<std::uint8_t>(length);
    EXPECT_TRUE(FailsIntegrity(OpenEnvelope(key, context, forged))) << length;
    EXPECT_STATUS(ParseEnvelope(forged), StatusCode::kIntegrityError) << length;
  }
}

TEST(Envelope, RejectsAnEnvelopeLongerThanTheLimitEvenWhenConsistent) {
  // Length field and body agree, but the body is over kMaxEnvelopePlaintext.
  EnvelopeContext context = TestContext();
  const std::size_t size = kMaxEnvelopePlaintext + 1;
  ByteWriter w;
  w.U8(kEnvelopeVersion);
  w.U8(kEnvelopeAlgorithmAes256Gcm);
  w.Str16(context.data_key_id);
  w.Raw(Bytes(kEnvelopeNonceBytes, 1));
  w.U32(static_cast<std::uint32_t>(size));
  w.Raw(Bytes(size + kEnvelopeTagBytes, 2));
  Bytes forged = w.Take();
  SecretBytes key = RandomKey();
  EXPECT_TRUE(FailsIntegrity(OpenEnvelope(key, context, forged)));
  EXPECT_STATUS(ParseEnvelope(forged), StatusCode::kIntegrityError);
}

TEST(Envelope, ParseReturnsTheHeaderOfAGoodEnvelope) {
  SecretBytes key = RandomKey();
  EnvelopeContext context = TestContext();
  Bytes sealed = Seal(key, context, Payload(1024));
  StatusOr<EnvelopeHeader> header = ParseEnvelope(sealed);
  ASSERT_OK(header);
  EXPECT_EQ(header->version, kEnvelopeVersion);
  EXPECT_EQ(header->algorithm, kEnvelopeAlgorithmAes256Gcm);
  EXPECT_EQ(header->data_key_id, context.data_key_id);
  EXPECT_EQ(header->ciphertext_size, 1024u);
}

TEST(Envelope, ParseRejectsGarbage) {
  EXPECT_STATUS(ParseEnvelope({}), StatusCode::kIntegrityError);
  Bytes random(200);
  ASSERT_EQ(RAND_bytes(random.data(), static_cast<int>(random.size())), 1);
  random[0] = kEnvelopeVersion;
  random[1] = kEnvelopeAlgorithmAes256Gcm;
  EXPECT_STATUS(ParseEnvelope(random), StatusCode::kIntegrityError);
}

TEST(Envelope, ReturnsNoPlaintextAndHoldsNoArenaBlockWhenTheTagFails) {
  SecureArena* arena = SecureArena::Process();
  ASSERT_NE(arena, nullptr);
  SecretBytes key = RandomKey();
  EnvelopeContext context = TestContext();
  Bytes sealed = Seal(key, context, Payload(1024));
  sealed.back() ^= 1;  // last tag byte
  const std::size_t in_use_before = arena->bytes_in_use();
  {
    StatusOr<SecretBytes> opened = OpenEnvelope(key, context, sealed);
    EXPECT_TRUE(FailsIntegrity(opened));
    // Checked while the result is still alive: an error value holds no block.
    EXPECT_EQ(arena->bytes_in_use(), in_use_before);
  }
  EXPECT_EQ(arena->bytes_in_use(), in_use_before);
}

TEST(Envelope, SealsAndOpensOnManyThreadsAtOnce) {
  // Each thread re-keys its own cipher context; interleaving seals, opens
  // and failed opens under different keys must never mix their state.
  constexpr int kThreads = 4;
  constexpr int kRounds = 200;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &failures] {
      SecretBytes key = RandomKey();
      SecretBytes other_key = RandomKey();
      EnvelopeContext context = TestContext();
      context.generation = static_cast<std::uint64_t>(t);
      for (int round = 0; round < kRounds; ++round) {
        Bytes plaintext = Payload(static_cast<std::size_t>(round * 7 + t));
        StatusOr<Bytes> sealed = SealEnvelope(key, context, plaintext);
        if (!sealed.has_value()) {
          ++failures;
          continue;
        }
        if (OpenEnvelope(other_key, context, *sealed).has_value()) ++failures;
        StatusOr<SecretBytes> opened = OpenEnvelope(key, context, *sealed);
        if (!opened.has_value() || !opened->ConstantTimeEquals(plaintext)) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(Envelope, SealRejectsAKeyThatIsNot32Bytes) {
  SecretBytes short_key = RandomKey(16);
  EnvelopeContext context = TestContext();
  StatusOr<Bytes> sealed = SealEnvelope(short_key, context, Payload(8));
  ASSERT_STATUS(sealed, StatusCode::kInvalidArgument);

  SecretBytes key = RandomKey();
  Bytes good = Seal(key, context, Payload(8));
  StatusOr<SecretBytes> opened = OpenEnvelope(short_key, context, good);
  ASSERT_STATUS(opened, StatusCode::kInvalidArgument);
}

TEST(Envelope, SealRejectsAnInvalidDataKeyId) {
  SecretBytes key = RandomKey();
  std::string too_long(kMaxDataKeyIdBytes + 1, 'k');
  for (std::string_view id :
       {std::string_view(""), std::string_view("has space"), std::string_view("a/b"),
        std::string_view("nul\0id", 6), std::string_view(too_long)}) {
    EnvelopeContext context = TestContext();
    context.data_key_id = id;
    StatusOr<Bytes> sealed = SealEnvelope(key, context, Payload(8));
    ASSERT_STATUS(sealed, StatusCode::kInvalidArgument);
  }
  EnvelopeContext longest = TestContext();
  std::string max_id(kMaxDataKeyIdBytes, 'k');
  longest.data_key_id = max_id;
  EXPECT_OK(SealEnvelope(key, longest, Payload(8)));
}

TEST(Envelope, SealRejectsAPlaintextAboveTheLimit) {
  SecretBytes key = RandomKey();
  StatusOr<Bytes> sealed = SealEnvelope(key, TestContext(), Bytes(kMaxEnvelopePlaintext + 1));
  ASSERT_STATUS(sealed, StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace strongroom::crypto
