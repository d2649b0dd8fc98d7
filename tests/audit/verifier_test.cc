// Tamper tests: a log written by the real AuditLog (checkpoints signed in
// the token), changed the ways an attacker with write access to the files
// could, must fail verification at the first bad record; an untouched log
// verifies. Line i (1-based) of the log holds record i: one file, no
// rotation, except in the rotation test.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <sstream>

#include "tests/audit/audit_fixture.h"
#include "tests/support/status_matchers.h"

namespace strongroom {
namespace {

using testing_support::AuditFixture;
using testing_support::ReadFileBytes;
using testing_support::WriteFileBytes;

class VerifierTest : public AuditFixture {
 protected:
  void SetUp() override {
    AuditFixture::SetUp();
    if (HasFatalFailure()) return;
    BuildLog(Options());
    lines_ = ReadCurrent();
    ASSERT_GT(lines_.size(), 100u);
  }

  void BuildLog(audit::AuditLogOptions options) {
    options.checkpoint_every_records = 20;
    options.checkpoint_interval = std::chrono::hours(1);
    auto log = Open(options);
    ASSERT_OK(log);
    for (int i = 0; i < 100; ++i) {
      audit::Event event =
          UserEvent(i % 2 ? "secret.securevalues:read" : "secret.securevalues:list");
      event.request_id = "req-" + std::to_string(i);
      ASSERT_OK((*log)->Record(event));
    }
    ASSERT_OK((*log)->Close());
    head_ = (*log)->head();
  }

  std::vector<std::string> ReadCurrent() const {
    std::vector<std::string> lines;
    std::istringstream in(ReadFileBytes(CurrentFile()));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  void WriteCurrent(const std::vector<std::string>& lines, bool final_newline = true) {
    std::string text;
    for (const std::string& line : lines) text += line + "\n";
    if (!final_newline && !text.empty()) text.pop_back();
    ASSERT_TRUE(WriteFileBytes(CurrentFile(), text));
  }

  // Rehash renumbers lines[from..] and recomputes their chain, as an
  // attacker without the signing key can.
  static void Rehash(std::vector<std::string>& lines, std::size_t from) {
    for (std::size_t i = from; i < lines.size(); ++i) {
      std::string body = lines[i].substr(0, lines[i].rfind(",\"hash\":"));
      std::size_t seq_end = body.find(',');
      body = "{\"seq\":" + std::to_string(i + 1) + body.substr(seq_end);
      std::string prev = i == 0 ? std::string(audit::kZeroHash) : HashOf(lines[i - 1]);
      std::size_t at = body.rfind(",\"prev\":\"") + 9;
      body.replace(at, 64, prev);
      lines[i] = body + ",\"hash\":\"" + audit::ChainHash(prev, body) + "\"}";
    }
  }

  static std::string HashOf(const std::string& line) {
    return line.substr(line.rfind(",\"hash\":\"") + 9, 64);
  }

  // CheckpointIndex returns the index of the first checkpoint at or after `from`.
  std::size_t CheckpointIndex(std::size_t from) const {
    for (std::size_t i = from; i < lines_.size(); ++i) {
      if (lines_[i].find("\"type\":\"checkpoint\"") != std::string::npos) return i;
    }
    ADD_FAILURE() << "no checkpoint after line " << from + 1;
    return 0;
  }

  void ExpectFailure(std::uint64_t seq, std::uint64_t line, const std::string& problem = "") {
    audit::VerifyReport report = VerifyLog();
    EXPECT_FALSE(report.ok) << report.Summary();
    EXPECT_EQ(report.bad_seq, seq) << report.Summary();
    EXPECT_EQ(report.bad_line, line) << report.Summary();
    EXPECT_EQ(report.bad_file, "current.jsonl");
    EXPECT_NE(report.problem.find(problem), std::string::npos) << report.Summary();
    std::string expected = "FAIL seq=" + std::to_string(seq) +
                           " file=current.jsonl line=" + std::to_string(line) + ": ";
    EXPECT_EQ(report.Summary().rfind(expected, 0), 0u) << report.Summary();
  }

  std::vector<std::string> lines_;
  audit::Head head_;
};

TEST_F(VerifierTest, AnUntouchedLogVerifiesWithItsCountsAndHead) {
  audit::VerifyReport report = VerifyLog({.expect_head = head_, .require_sealed = true});
  ASSERT_TRUE(report.ok) << report.Summary();
  std::size_t checkpoints = 0;
  for (const std::string& line : lines_)
    checkpoints += line.find("\"checkpoint\":{") != std::string::npos;
  EXPECT_EQ(report.records, lines_.size());
  EXPECT_EQ(report.checkpoints, checkpoints);
  EXPECT_GE(report.checkpoints, 5u);
  EXPECT_EQ(report.pending, 0u);
  EXPECT_EQ(report.first_seq, 1u);
  EXPECT_EQ(report.last_seq, head_.seq);
  EXPECT_EQ(report.head_hash, head_.hash);
  EXPECT_EQ(
      report.Summary().rfind("OK records=" + std::to_string(lines_.size()) + " checkpoints=", 0),
      0u)
      << report.Summary();
}

TEST_F(VerifierTest, FlippingAnyByteFailsAtTheRecordHoldingIt) {
  const std::string original = ReadFileBytes(CurrentFile());
  std::size_t tried = 0;
  // Every 53rd byte: positions inside JSON, hashes, prevs and signatures.
  for (std::size_t p = 0; p < original.size(); p += 53) {
    std::string tampered = original;
    tampered[p] = static_cast<char>(tampered[p] ^ 0x01);
    ASSERT_TRUE(WriteFileBytes(CurrentFile(), tampered));
    const auto line = static_cast<std::uint64_t>(
        std::count(original.begin(), original.begin() + static_cast<std::ptrdiff_t>(p), '\n') + 1);
    audit::VerifyReport report = VerifyLog();
    ASSERT_FALSE(report.ok) << "flipping byte " << p << " went unnoticed";
    EXPECT_EQ(report.bad_line, line) << "byte " << p << ": " << report.Summary();
    EXPECT_EQ(report.bad_seq, line) << "byte " << p << ": " << report.Summary();
    ++tried;
  }
  EXPECT_GT(tried, 500u);
}

TEST_F(VerifierTest, ADeletedRecordIsNamedAsMissing) {
  lines_.erase(lines_.begin() + 49);  // record 50
  WriteCurrent(lines_);
  ExpectFailure(50, 50, "record 50 is missing");
}

TEST_F(VerifierTest, TwoSwappedRecordsFailAtTheFirst) {
  std::swap(lines_[49], lines_[50]);
  WriteCurrent(lines_);
  ExpectFailure(50, 50, "missing");
}

TEST_F(VerifierTest, AReplayedRecordFailsWhereItRepeats) {
  lines_.insert(lines_.begin() + 50, lines_[49]);
  WriteCurrent(lines_);
  ExpectFailure(51, 51, "repeated");
}

TEST_F(VerifierTest, ALineCutInHalfInTheMiddleFails) {
  lines_[59].resize(lines_[59].size() / 2);
  WriteCurrent(lines_);
  ExpectFailure(60, 60);
}

TEST_F(VerifierTest, ALineCutInHalfAtTheEndFailsAsIncomplete) {
  lines_.back().resize(lines_.back().size() / 2);
  WriteCurrent(lines_, /*final_newline=*/false);
  ExpectFailure(lines_.size(), lines_.size(), "incomplete");
}

TEST_F(VerifierTest, AForgedRecordWithARecomputedChainFailsAtTheNextCheckpoint) {
  std::string forged = lines_[49];
  std::size_t at = forged.find("\"name\":\"alice\"");
  ASSERT_NE(at, std::string::npos);
  forged.replace(at, 14, "\"name\":\"mallory\"");
  lines_.insert(lines_.begin() + 50, forged);
  Rehash(lines_, 50);
  std::size_t next_checkpoint = CheckpointIndex(51);
  WriteCurrent(lines_);
  ExpectFailure(next_checkpoint + 1, next_checkpoint + 1, "does not cover");
}

TEST_F(VerifierTest, ADroppedCheckpointFails) {
  std::size_t checkpoint = CheckpointIndex(30);
  lines_.erase(lines_.begin() + static_cast<std::ptrdiff_t>(checkpoint));
  WriteCurrent(lines_);
  ExpectFailure(checkpoint + 1, checkpoint + 1, "missing");
}

TEST_F(VerifierTest, ADroppedCheckpointWithARecomputedChainFailsAtTheNextOne) {
  std::size_t checkpoint = CheckpointIndex(30);
  lines_.erase(lines_.begin() + static_cast<std::ptrdiff_t>(checkpoint));
  Rehash(lines_, checkpoint);
  std::size_t next = CheckpointIndex(checkpoint);
  WriteCurrent(lines_);
  ExpectFailure(next + 1, next + 1, "does not cover");
}

TEST_F(VerifierTest, ACheckpointSignatureReplacedByAValidSignatureOverOtherDataFails) {
  auto other = crypto::SignWithAuditKey(*token_, AsBytes(std::string_view("other data")));
  ASSERT_OK(other);
  std::string encoded(89, '\0');
  ASSERT_EQ(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()), other->data(), 64),
            88);
  encoded.resize(88);
  std::size_t checkpoint = CheckpointIndex(30);
  std::string& line = lines_[checkpoint];
  std::size_t at = line.find("\"signature\":\"");
  ASSERT_NE(at, std::string::npos);
  line.replace(at + 13, 88, encoded);
  Rehash(lines_, checkpoint);  // the chain itself stays consistent
  WriteCurrent(lines_);
  ExpectFailure(checkpoint + 1, checkpoint + 1, "signature does not verify");
}

TEST_F(VerifierTest, ALogCutAtARecordBoundaryIsFoundOnlyAgainstTheExpectedHead) {
  lines_.resize(lines_.size() - 3);  // the closing checkpoint and two records
  WriteCurrent(lines_);
  std::size_t last_checkpoint = 0;
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    if (lines_[i].find("\"type\":\"checkpoint\"") != std::string::npos) last_checkpoint = i;
  }
  audit::VerifyReport plain = VerifyLog();
  EXPECT_TRUE(plain.ok) << plain.Summary();
  EXPECT_EQ(plain.pending, lines_.size() - 1 - last_checkpoint);
  EXPECT_GT(plain.pending, 0u);
  audit::VerifyReport against_head = VerifyLog({.expect_head = head_});
  EXPECT_FALSE(against_head.ok);
  EXPECT_EQ(against_head.bad_seq, lines_.size() + 1) << against_head.Summary();
  EXPECT_NE(against_head.problem.find("removed from its end"), std::string::npos);
  audit::VerifyReport sealed = VerifyLog({.require_sealed = true});
  EXPECT_FALSE(sealed.ok);
  EXPECT_EQ(sealed.bad_seq, last_checkpoint + 2) << sealed.Summary();
  EXPECT_NE(sealed.problem.find("not sealed"), std::string::npos);
}

TEST_F(VerifierTest, AnExpectedHeadThatDiffersFromTheRecordAtItsSeqFails) {
  audit::Head wrong{head_.seq - 5, std::string(64, 'e')};
  audit::VerifyReport report = VerifyLog({.expect_head = wrong});
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_seq, head_.seq - 5) << report.Summary();
}

TEST_F(VerifierTest, AnotherPublicKeyFailsAtTheFirstRecord) {
  audit::VerifyOptions options;
  options.public_key_pem = OtherPublicKeyPem();
  audit::VerifyReport report = audit::VerifyDirectory(LogDir(), options);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_seq, 1u) << report.Summary();
  EXPECT_EQ(report.bad_line, 1u);
}

TEST_F(VerifierTest, TamperingWithARotatedFileNamesThatFile) {
  testing_support::TempDir other;
  audit::AuditLogOptions options = Options();
  options.dir = other.Join("audit");
  options.max_file_bytes = 4000;
  BuildLog(options);
  std::vector<std::string> rotated;
  auto files = audit::OpenLogFiles(options.dir);
  ASSERT_OK(files);
  for (const auto& f : *files) {
    if (f.name != "current.jsonl") rotated.push_back(f.name);
  }
  ASSERT_GE(rotated.size(), 3u);
  audit::VerifyOptions verify;
  verify.public_key_pem = public_key_pem_;
  ASSERT_TRUE(audit::VerifyDirectory(options.dir, verify).ok);
  const std::string path = options.dir + "/" + rotated[1];
  std::string text = ReadFileBytes(path);
  std::size_t at = text.find("\"alice\"");
  ASSERT_NE(at, std::string::npos);
  text[at + 1] = 'A';
  ASSERT_TRUE(WriteFileBytes(path, text));
  audit::VerifyReport report = audit::VerifyDirectory(options.dir, verify);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_file, rotated[1]) << report.Summary();
  EXPECT_EQ(report.bad_line,
            static_cast<std::uint64_t>(std::count(text.begin(), text.begin() + at, '\n') + 1));
}

}  // namespace
}  // namespace strongroom
