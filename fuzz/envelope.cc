// Fuzz target: AES-256-GCM envelopes (crypto/envelope.h). Stored bytes are
// parsed (ParseEnvelope) and opened under a fixed key (OpenEnvelope, which
// must refuse anything not sealed by it); the input is also sealed as a
// plaintext and must open back to itself and parse to its own header.
#include <cstdint>

#include "crypto/envelope.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strongroom;
  fuzz::InstallArena();
  static const SecretBytes* key = [] {
    StatusOr<SecretBytes> bytes = SecretBytes::CopyFrom(std::string(32, 'k'));
    fuzz::Check(bytes.has_value(), "cannot allocate the data key");
    return new SecretBytes(std::move(*bytes));
  }();
  const ByteSpan input(data, size);
  crypto::EnvelopeContext context{"default", "db-password", "uid-1", 7, "dk-1"};

  StatusOr<crypto::EnvelopeHeader> header = crypto::ParseEnvelope(input);
  if (header.has_value()) {
    fuzz::Check(header->data_key_id.size() >= 1 &&
                    header->data_key_id.size() <= crypto::kMaxDataKeyIdBytes,
                "a data-key id outside 1..128 bytes");
    fuzz::Check(header->ciphertext_size <= crypto::kMaxEnvelopePlaintext, "ciphertext too large");
    context.data_key_id = header->data_key_id;
  } else {
    fuzz::Check(header.error().code() == StatusCode::kIntegrityError,
                "a malformed envelope is not kIntegrityError");
  }
  StatusOr<SecretBytes> opened = crypto::OpenEnvelope(*key, context, input);
  fuzz::Check(!opened.has_value(), "an envelope from outside opened");

  context.data_key_id = "dk-1";
  StatusOr<Bytes> sealed = crypto::SealEnvelope(*key, context, input);
  fuzz::Check(sealed.has_value(), "sealing failed");
  StatusOr<crypto::EnvelopeHeader> own = crypto::ParseEnvelope(*sealed);
  fuzz::Check(own.has_value() && own->data_key_id == "dk-1" && own->ciphertext_size == size,
              "a sealed envelope does not parse to its header");
  StatusOr<SecretBytes> back = crypto::OpenEnvelope(*key, context, *sealed);
  fuzz::Check(back.has_value() && back->size() == size &&
                  std::equal(input.begin(), input.end(), back->RevealSecret().begin()),
              "a sealed envelope does not open to its plaintext");
  context.generation = 6;
  fuzz::Check(!crypto::OpenEnvelope(*key, context, *sealed).has_value(),
              "an envelope opened under an older generation");
  return 0;
}
