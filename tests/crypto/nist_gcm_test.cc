// AES-256-GCM (crypto/aes_gcm.h, the primitive every envelope goes through)
// against the NIST CAVP vectors that Debian's python3-cryptography-vectors
// installs. Nothing is copied into the repository: a missing file fails the
// test and says how to install it.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/secure_arena.h"
#include "base/status.h"
#include "crypto/aes_gcm.h"
#include "tests/support/status_matchers.h"

namespace strongroom::crypto {
namespace {

constexpr std::string_view kVectorDir =
    "/usr/lib/python3/dist-packages/cryptography_vectors/ciphers/AES/GCM/";

// One record of a CAVP .rsp file: the bracketed section parameters in force
// (IVlen, PTlen, AADlen, Taglen, ...), its own fields (Count, Key, IV, PT,
// AAD, CT, Tag) and whether it is marked FAIL (decrypt files only).
struct CavpRecord {
  std::map<std::string, std::string> section;
  std::map<std::string, std::string> fields;
  bool fail = false;
  int line = 0;
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// ParseRsp reads a CAVP response file. A record starts at "Count = " and
// takes every "Name = value" and "FAIL" line up to the next record or
// section header.
std::vector<CavpRecord> ParseRsp(std::istream& in) {
  std::vector<CavpRecord> records;
  std::map<std::string, std::string> section;
  bool in_record = false;
  std::string raw;
  int line_number = 0;
  while (std::getline(in, raw)) {
    ++line_number;
    std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '[' && line.back() == ']') {
      std::string_view inner = line.substr(1, line.size() - 2);
      std::size_t eq = inner.find('=');
      if (eq != std::string_view::npos) {
        section[std::string(Trim(inner.substr(0, eq)))] = std::string(Trim(inner.substr(eq + 1)));
      }
      in_record = false;
      continue;
    }
    if (line == "FAIL") {
      if (in_record) records.back().fail = true;
      continue;
    }
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string name(Trim(line.substr(0, eq)));
    std::string value(Trim(line.substr(eq + 1)));
    if (name == "Count") {
      records.push_back(CavpRecord{section, {}, false, line_number});
      in_record = true;
    }
    if (in_record) records.back().fields[name] = value;
  }
  return records;
}

// LoadVectors fails the calling test (it never skips) when the file is
// missing or holds no record.
void LoadVectors(std::string_view file, std::vector<CavpRecord>* out) {
  std::string path = std::string(kVectorDir) + std::string(file);
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << "NIST CAVP vectors not found at " << path
                         << ": run scripts/setup.sh (it installs python3-cryptography-vectors)";
  *out = ParseRsp(in);
  ASSERT_FALSE(out->empty()) << "no vector parsed from " << path;
}

Bytes Hex(const CavpRecord& record, const std::string& field) {
  auto it = record.fields.find(field);
  if (it == record.fields.end()) {
    ADD_FAILURE() << "line " << record.line << ": no " << field;
    return {};
  }
  StatusOr<Bytes> bytes = HexDecode(it->second);
  if (!bytes.has_value()) {
    ADD_FAILURE() << "line " << record.line << ": " << field << ": " << bytes.error();
    return {};
  }
  return *bytes;
}

std::size_t SectionBits(const CavpRecord& record, const std::string& name) {
  auto it = record.section.find(name);
  return it == record.section.end() ? 0 : static_cast<std::size_t>(std::stoul(it->second));
}

// Interleaved puts records of different IV lengths next to each other (one
// 96-bit, one 8-bit, one 1024-bit, ...) instead of the file's grouped order,
// so a 96-bit call always follows a non-standard one: the thread's cipher
// context must not carry an IV length from one call into the next.
std::vector<const CavpRecord*> Interleaved(const std::vector<CavpRecord>& records) {
  std::map<std::size_t, std::vector<const CavpRecord*>> by_iv_bits;
  for (const CavpRecord& r : records) by_iv_bits[SectionBits(r, "IVlen")].push_back(&r);
  std::vector<const CavpRecord*> out;
  for (std::size_t i = 0; out.size() < records.size(); ++i) {
    for (const auto& [bits, group] : by_iv_bits) {
      if (i < group.size()) out.push_back(group[i]);
    }
  }
  return out;
}

// The files hold 7,875 records each: 2,625 per IV length (96, 8 and 1,024
// bits), all tag lengths from 32 to 128 bits. The minimums catch a parser
// that silently reads less.
constexpr int kMinVectorsPerIvLength = 2625;
constexpr int kMinDecryptFailVectors = 1000;

TEST(NistAesGcm, EncryptMatchesEveryVectorOfTheExtIv256File) {
  std::vector<CavpRecord> records;
  ASSERT_NO_FATAL_FAILURE(LoadVectors("gcmEncryptExtIV256.rsp", &records));
  std::map<std::size_t, int> checked_by_iv_bits;
  std::map<std::size_t, int> checked_by_tag_bits;
  int failures = 0;
  for (const CavpRecord* r : Interleaved(records)) {
    ASSERT_EQ(SectionBits(*r, "Keylen"), 256u) << "line " << r->line;
    std::size_t tag_bits = SectionBits(*r, "Taglen");
    Bytes key = Hex(*r, "Key"), iv = Hex(*r, "IV"), plaintext = Hex(*r, "PT"), aad = Hex(*r, "AAD"),
          ciphertext = Hex(*r, "CT"), tag = Hex(*r, "Tag");
    ASSERT_EQ(iv.size() * 8, SectionBits(*r, "IVlen")) << "line " << r->line;
    ASSERT_EQ(tag.size() * 8, tag_bits) << "line " << r->line;

    Bytes ciphertext_out(plaintext.size());
    Bytes tag_out(tag.size());
    Status status = AesGcmEncryptRaw(key, iv, aad, plaintext, ciphertext_out, tag_out);
    if (!status.ok() || ciphertext_out != ciphertext || tag_out != tag) {
      ++failures;
      ADD_FAILURE() << "line " << r->line << " (Count " << r->fields.at("Count") << "): " << status
                    << " ciphertext " << HexEncode(ciphertext_out) << " tag " << HexEncode(tag_out);
    }
    ++checked_by_iv_bits[iv.size() * 8];
    ++checked_by_tag_bits[tag_bits];
  }
  EXPECT_EQ(failures, 0);
  EXPECT_GE(checked_by_iv_bits[96], kMinVectorsPerIvLength);
  EXPECT_GE(checked_by_iv_bits[8], kMinVectorsPerIvLength);
  EXPECT_GE(checked_by_iv_bits[1024], kMinVectorsPerIvLength);
  for (std::size_t bits : {32, 64, 96, 104, 112, 120, 128}) {
    EXPECT_GT(checked_by_tag_bits[bits], 0) << bits << "-bit tags";
  }
  int total = 0;
  for (const auto& [bits, count] : checked_by_iv_bits) total += count;
  std::printf("[ vectors  ] encrypt: %d checked (%d with 96-bit IVs), %d failures\n", total,
              checked_by_iv_bits[96], failures);
}

TEST(NistAesGcm, DecryptMatchesOrRejectsEveryVectorOfTheDecrypt256File) {
  std::vector<CavpRecord> records;
  ASSERT_NO_FATAL_FAILURE(LoadVectors("gcmDecrypt256.rsp", &records));
  SecureArena* arena = SecureArena::Process();
  ASSERT_NE(arena, nullptr);
  std::map<std::size_t, int> checked_by_iv_bits;
  int rejected = 0;
  int failures = 0;
  for (const CavpRecord* r : Interleaved(records)) {
    ASSERT_EQ(SectionBits(*r, "Keylen"), 256u) << "line " << r->line;
    Bytes key = Hex(*r, "Key"), iv = Hex(*r, "IV"), ciphertext = Hex(*r, "CT"),
          aad = Hex(*r, "AAD"), tag = Hex(*r, "Tag");
    ASSERT_EQ(iv.size() * 8, SectionBits(*r, "IVlen")) << "line " << r->line;
    ASSERT_EQ(tag.size() * 8, SectionBits(*r, "Taglen")) << "line " << r->line;

    const std::size_t in_use_before = arena->bytes_in_use();
    StatusOr<SecretBytes> plaintext = AesGcmDecryptRaw(key, iv, aad, ciphertext, tag);
    bool ok;
    if (r->fail) {
      ++rejected;
      ok = !plaintext.has_value() && plaintext.error().code() == StatusCode::kIntegrityError;
      plaintext = StatusOr<SecretBytes>();  // release anything returned before comparing
      ok = ok && arena->bytes_in_use() == in_use_before;
    } else {
      ok = plaintext.has_value() && plaintext->ConstantTimeEquals(Hex(*r, "PT"));
    }
    if (!ok) {
      ++failures;
      ADD_FAILURE() << "line " << r->line << " (Count " << r->fields.at("Count") << ", "
                    << (r->fail ? "FAIL" : "valid")
                    << "): " << (plaintext.has_value() ? Status() : plaintext.error());
    }
    ++checked_by_iv_bits[iv.size() * 8];
  }
  EXPECT_EQ(failures, 0);
  EXPECT_GE(checked_by_iv_bits[96], kMinVectorsPerIvLength);
  EXPECT_GE(checked_by_iv_bits[8], kMinVectorsPerIvLength);
  EXPECT_GE(checked_by_iv_bits[1024], kMinVectorsPerIvLength);
  EXPECT_GE(rejected, kMinDecryptFailVectors);
  int total = 0;
  for (const auto& [bits, count] : checked_by_iv_bits) total += count;
  std::printf(
      "[ vectors  ] decrypt: %d checked (%d with 96-bit IVs, %d marked FAIL), %d failures\n", total,
      checked_by_iv_bits[96], rejected, failures);
}

TEST(NistAesGcm, ParserReadsSectionsRecordsAndFailMarks) {
  std::istringstream in(
      "# comment\r\n\r\n[Keylen = 256]\r\n[IVlen = 96]\r\n[Taglen = 128]\r\n\r\n"
      "Count = 0\r\nKey = 00ff\r\nPT = \r\n\r\n"
      "Count = 1\r\nKey = 01\r\nFAIL\r\n\r\n[IVlen = 8]\r\n\r\nCount = 0\r\nIV = ab\r\n");
  std::vector<CavpRecord> records = ParseRsp(in);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].fields.at("Key"), "00ff");
  EXPECT_EQ(records[0].fields.at("PT"), "");
  EXPECT_FALSE(records[0].fail);
  EXPECT_TRUE(records[1].fail);
  EXPECT_EQ(records[1].section.at("IVlen"), "96");
  EXPECT_EQ(records[2].section.at("IVlen"), "8");
  EXPECT_EQ(records[2].section.at("Taglen"), "128");
  EXPECT_EQ(records[2].fields.at("IV"), "ab");
}

TEST(AesGcmRaw, RejectsWrongKeyIvAndTagSizes) {
  Bytes key(32, 1), iv(12, 2), plaintext(5, 3), ciphertext(5), tag(16);
  EXPECT_STATUS(AesGcmEncryptRaw(Bytes(16, 1), iv, {}, plaintext, ciphertext, tag),
                StatusCode::kInvalidArgument);
  EXPECT_STATUS(AesGcmEncryptRaw(key, {}, {}, plaintext, ciphertext, tag),
                StatusCode::kInvalidArgument);
  EXPECT_STATUS(AesGcmEncryptRaw(key, Bytes(129, 2), {}, plaintext, ciphertext, tag),
                StatusCode::kInvalidArgument);
  Bytes short_tag(3), long_tag(17), short_ciphertext(4);
  EXPECT_STATUS(AesGcmEncryptRaw(key, iv, {}, plaintext, ciphertext, short_tag),
                StatusCode::kInvalidArgument);
  EXPECT_STATUS(AesGcmEncryptRaw(key, iv, {}, plaintext, ciphertext, long_tag),
                StatusCode::kInvalidArgument);
  EXPECT_STATUS(AesGcmEncryptRaw(key, iv, {}, plaintext, short_ciphertext, tag),
                StatusCode::kInvalidArgument);

  ASSERT_OK(AesGcmEncryptRaw(key, iv, {}, plaintext, ciphertext, tag));
  EXPECT_STATUS(AesGcmDecryptRaw(Bytes(31, 1), iv, {}, ciphertext, tag),
                StatusCode::kInvalidArgument);
  EXPECT_STATUS(AesGcmDecryptRaw(key, iv, {}, ciphertext, short_tag), StatusCode::kInvalidArgument);
  StatusOr<SecretBytes> opened = AesGcmDecryptRaw(key, iv, {}, ciphertext, tag);
  ASSERT_OK(opened);
  EXPECT_TRUE(opened->ConstantTimeEquals(plaintext));
}

}  // namespace
}  // namespace strongroom::crypto
