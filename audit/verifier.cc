#include "audit/verifier.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <charconv>
#include <map>

#include "audit/record.h"
#include "base/bytes.h"
#include "base/openssl_ptr.h"
#include "crypto/audit_signing_key.h"

namespace strongroom::audit {
namespace {

StatusOr<Bytes> DecodeSignature(std::string_view text) {
  // 64 raw bytes are 88 base64 characters ending in "==".
  if (text.size() != 88 || !text.ends_with("==")) {
    return std::unexpected(Status::IntegrityError("the signature is not 64 bytes of base64"));
  }
  Bytes out(66, 0);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n != 66) return std::unexpected(Status::IntegrityError("the signature is not valid base64"));
  out.resize(64);
  return out;
}

// Walk holds the state of one verification.
class Walk {
 public:
  Walk(const VerifyOptions& options, std::string fingerprint)
      : options_(options), fingerprint_(fingerprint), key_in_force_(std::move(fingerprint)) {
    pinned_[fingerprint_] = options_.public_key_pem;
  }

  // Pin adds a later token's audit key.
  void Pin(const std::string& fingerprint, const std::string& pem) { pinned_[fingerprint] = pem; }

  // Line checks one complete line; false stops the walk (report_ says why).
  bool Line(const std::string& file, std::uint64_t line_number, std::string_view text) {
    StatusOr<ParsedLine> parsed = ParseLine(text);
    const std::uint64_t expected = report_.last_seq + 1;
    if (!parsed.has_value()) return Fail(expected, file, line_number, parsed.error().message());
    const ParsedLine& r = *parsed;
    if (r.seq != expected) {
      std::string what = r.seq > expected ? "record " + std::to_string(expected) +
                                                " is missing (found " + std::to_string(r.seq) + ")"
                                          : "record " + std::to_string(r.seq) +
                                                " is out of order or repeated (expected " +
                                                std::to_string(expected) + ")";
      return Fail(expected, file, line_number, what);
    }
    const std::string& previous = report_.records == 0 ? std::string(kZeroHash) : report_.head_hash;
    if (r.prev != previous) {
      return Fail(r.seq, file, line_number,
                  "its prev does not match the hash of the record before it");
    }
    if (Status node = FollowNode(report_.node, r.node); !node.ok()) {
      return Fail(r.seq, file, line_number, node.message());
    }
    if (r.seq == 1) {
      if (r.action != kLogCreatedAction) {
        return Fail(r.seq, file, line_number, "the first record does not open the log");
      }
      if (r.key_sha256 != fingerprint_) {
        std::string what = "the log was opened for audit key " + r.key_sha256 +
                           ", not the given key " + fingerprint_;
        if (!options_.current_key_only) return Fail(r.seq, file, line_number, what);
        // Reported unless a key change to the given key follows.
        deferred_ = Deferred{r.seq, file, line_number, std::move(what)};
      }
      key_in_force_ = r.key_sha256;
    }
    if (r.action == kAuditKeyChangedAction) {
      if (!pinned_.contains(r.key_sha256)) {
        return Fail(r.seq, file, line_number,
                    "the audit key changes here (an escrow recovery) to key " + r.key_sha256 +
                        ", which is not pinned: pass that key with another --public-key if you "
                        "trust it (the recovery printed its fingerprint)");
      }
      key_in_force_ = r.key_sha256;
      ++report_.key_changes;
    }
    if (r.checkpoint) {
      if (!CheckpointHolds(r)) return Fail(r.seq, file, line_number, problem_);
      ++report_.checkpoints;
      last_checkpoint_ = r.seq;
    }
    if (report_.records == 0) {
      report_.first_seq = r.seq;
      report_.first_time = r.time;
    }
    ++report_.records;
    report_.last_seq = r.seq;
    report_.last_time = r.time;
    report_.head_hash = r.hash;
    if (options_.expect_head && options_.expect_head->seq == r.seq &&
        options_.expect_head->hash != r.hash) {
      return Fail(r.seq, file, line_number, "it is not the record of the expected head");
    }
    positions_.last_file = file;
    positions_.last_line = line_number;
    if (last_checkpoint_ + 1 == r.seq) {
      positions_.first_pending_file = file;
      positions_.first_pending_line = line_number;
    }
    return true;
  }

  bool Partial(const std::string& file, std::uint64_t line_number) {
    return Fail(report_.last_seq + 1, file, line_number,
                "the line is incomplete (no newline at its end)");
  }

  bool Fail(std::uint64_t seq, const std::string& file, std::uint64_t line, std::string what) {
    if (deferred_ && report_.key_changes == 0) {
      // The first record's key was the first thing wrong.
      Deferred first = std::move(*deferred_);
      deferred_.reset();
      return Fail(first.seq, first.file, first.line, std::move(first.what));
    }
    report_.ok = false;
    report_.bad_seq = seq;
    report_.bad_file = file;
    report_.bad_line = line;
    report_.problem = std::move(what);
    failed_ = true;
    return false;
  }

  // Finish applies the checks that need the whole chain.
  VerifyReport Finish() {
    if (failed_) return report_;
    report_.pending = report_.last_seq - last_checkpoint_;
    if (options_.current_key_only && report_.records > 0 && key_in_force_ != fingerprint_) {
      Fail(report_.last_seq, positions_.last_file, positions_.last_line,
           "the log ends under audit key " + key_in_force_ + ", not this token's key " + fingerprint_);
      return report_;
    }
    deferred_.reset();
    if (report_.records == 0) {
      Fail(1, std::string(kCurrentFileName), 0, "the log is empty");
      return report_;
    }
    if (options_.expect_head && report_.last_seq < options_.expect_head->seq) {
      Fail(report_.last_seq + 1, positions_.last_file, positions_.last_line + 1,
           "the log ends at record " + std::to_string(report_.last_seq) +
               " but the expected head is record " + std::to_string(options_.expect_head->seq) +
               ": records were removed from its end");
      return report_;
    }
    if (options_.require_sealed && report_.pending > 0) {
      Fail(last_checkpoint_ + 1, positions_.first_pending_file, positions_.first_pending_line,
           std::to_string(report_.pending) + " record(s) after the last checkpoint are not sealed");
      return report_;
    }
    report_.ok = true;
    return report_;
  }

 private:
  bool CheckpointHolds(const ParsedLine& r) {
    auto pem = pinned_.find(key_in_force_);
    if (pem == pinned_.end()) {
      // Only with current_key_only: an earlier token's key, not at hand.
      const CheckpointBody& body = *r.checkpoint;
      if (body.head_seq + 1 != r.seq || body.head_hash != r.prev) {
        problem_ = "the checkpoint does not cover the record before it";
        return false;
      }
      if (body.key_sha256 != key_in_force_) {
        problem_ = "the checkpoint is signed by another key (" + body.key_sha256 + ")";
        return false;
      }
      return true;
    }
    Status holds = CheckCheckpoint(r, pem->second, key_in_force_);
    if (!holds.ok()) problem_ = holds.message();
    return holds.ok();
  }

  struct Deferred {
    std::uint64_t seq = 0;
    std::string file;
    std::uint64_t line = 0;
    std::string what;
  };
  std::optional<Deferred> deferred_;

  struct Positions {
    std::string last_file, first_pending_file;
    std::uint64_t last_line = 0, first_pending_line = 0;
  };

  const VerifyOptions& options_;
  std::string fingerprint_;               // of options_.public_key_pem
  std::string key_in_force_;              // signs the checkpoints from here on
  std::map<std::string, std::string> pinned_;  // fingerprint -> PEM
  VerifyReport report_;
  Positions positions_;
  std::uint64_t last_checkpoint_ = 0;
  std::string problem_;
  bool failed_ = false;
};

}  // namespace

StatusOr<Head> ParseHead(std::string_view text) {
  std::size_t colon = text.find(':');
  Head head;
  if (colon == std::string_view::npos) {
    return std::unexpected(Status::InvalidArgument("a head is SEQ:HASH"));
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + colon, head.seq);
  head.hash = std::string(text.substr(colon + 1));
  if (ec != std::errc() || end != text.data() + colon || head.seq == 0 || head.hash.size() != 64 ||
      !HexDecode(head.hash).has_value()) {
    return std::unexpected(Status::InvalidArgument("a head is SEQ:HASH (64 hex characters)"));
  }
  return head;
}

std::string VerifyReport::Summary() const {
  if (!ok) {
    return "FAIL seq=" + std::to_string(bad_seq) + " file=" + bad_file +
           " line=" + std::to_string(bad_line) + ": " + problem;
  }
  return "OK records=" + std::to_string(records) + " checkpoints=" + std::to_string(checkpoints) +
         (key_changes > 0 ? " key_changes=" + std::to_string(key_changes) : std::string()) +
         " pending=" + std::to_string(pending) + " from=" + first_time + " to=" + last_time +
         " head=" + std::to_string(last_seq) + ":" + head_hash;
}

StatusOr<std::string> PublicKeyFingerprint(std::string_view public_key_pem) {
  BioPtr bio(BIO_new_mem_buf(public_key_pem.data(), static_cast<int>(public_key_pem.size())));
  EvpPkeyPtr key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) {
    (void)OpenSslError("reading the audit public key");
    return std::unexpected(Status::InvalidArgument("the audit public key is not a PEM public key"));
  }
  int length = i2d_PUBKEY(key.get(), nullptr);
  if (length <= 0) return std::unexpected(OpenSslError("encoding the audit public key"));
  Bytes der(static_cast<std::size_t>(length));
  std::uint8_t* p = der.data();
  i2d_PUBKEY(key.get(), &p);
  std::uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  if (EVP_Digest(der.data(), der.size(), digest, &digest_length, EVP_sha256(), nullptr) != 1) {
    return std::unexpected(OpenSslError("hashing the audit public key"));
  }
  return HexEncode(ByteSpan(digest, digest_length));
}

Status CheckCheckpoint(const ParsedLine& line, std::string_view public_key_pem,
                       std::string_view key_sha256) {
  if (!line.checkpoint) return Status::IntegrityError("the record is not a checkpoint");
  const CheckpointBody& body = *line.checkpoint;
  if (body.head_seq + 1 != line.seq || body.head_hash != line.prev) {
    return Status::IntegrityError("the checkpoint does not cover the record before it");
  }
  if (body.key_sha256 != key_sha256) {
    return Status::IntegrityError("the checkpoint is signed by another key (" + body.key_sha256 +
                                  ")");
  }
  SR_ASSIGN_OR_RETURN(Bytes signature, DecodeSignature(body.signature));
  std::string message = CheckpointMessage(body);
  if (!crypto::VerifyAuditSignature(public_key_pem, AsBytes(message), signature).ok()) {
    return Status::IntegrityError("the checkpoint's signature does not verify");
  }
  return Status::Ok();
}

VerifyReport Verify(const std::vector<LogFileSource>& files, const VerifyOptions& options) {
  StatusOr<std::string> fingerprint = PublicKeyFingerprint(options.public_key_pem);
  Walk walk(options, fingerprint.value_or(""));
  if (!fingerprint.has_value()) {
    walk.Fail(0, "", 0, fingerprint.error().message());
    return walk.Finish();
  }
  for (const std::string& pem : options.more_public_key_pems) {
    StatusOr<std::string> more = PublicKeyFingerprint(pem);
    if (!more.has_value()) {
      walk.Fail(0, "", 0, more.error().message());
      return walk.Finish();
    }
    walk.Pin(*more, pem);
  }
  for (const LogFileSource& file : files) {
    StatusOr<FileLines> lines = ReadLines(file);
    if (!lines.has_value()) {
      walk.Fail(0, file.name, 0, lines.error().message());
      return walk.Finish();
    }
    for (std::size_t i = 0; i < lines->lines.size(); ++i) {
      if (!walk.Line(file.name, i + 1, lines->Line(i))) return walk.Finish();
    }
    if (lines->partial && !walk.Partial(file.name, lines->lines.size() + 1)) return walk.Finish();
  }
  return walk.Finish();
}

VerifyReport VerifyDirectory(const std::string& dir, const VerifyOptions& options) {
  StatusOr<std::vector<LogFileSource>> files = OpenLogFiles(dir);
  if (!files.has_value()) {
    VerifyReport report;
    report.problem = files.error().message();
    return report;
  }
  return Verify(*files, options);
}

}  // namespace strongroom::audit
