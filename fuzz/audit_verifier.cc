// Fuzz target: the offline audit verifier (audit/verifier.h, Verify) over
// up to three log files cut from the input at "\n----\n" lines, each held
// in memory (memfd). Verified as given, and again with every line's prev
// and hash re-chained (so mutations reach the links, sequence numbers,
// first record and checkpoints), with and without require_sealed and an
// expected head. Also ParseHead on the input's first line.
#include <unistd.h>

#include <cstdint>
#include <memory>

#include "audit/log_files.h"
#include "audit/verifier.h"
#include "fuzz/audit_chain.h"
#include "fuzz/fuzz_support.h"

namespace {

using namespace strongroom;

constexpr std::size_t kMaxFiles = 3;

fuzz::MemoryFile& File(std::size_t i) {
  static std::unique_ptr<fuzz::MemoryFile> files[kMaxFiles];
  if (!files[i]) files[i] = std::make_unique<fuzz::MemoryFile>();
  return *files[i];
}

audit::VerifyReport VerifyPieces(const std::vector<std::string>& pieces,
                                 const audit::VerifyOptions& options) {
  std::vector<audit::LogFileSource> sources;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    File(i).Replace(pieces[i]);
    int fd = dup(File(i).fd());
    fuzz::Check(fd >= 0, "dup failed");
    audit::LogFileSource source;
    source.name = i + 1 == pieces.size() ? "current.jsonl" : audit::RotatedFileName(i + 1);
    source.file = audit::OpenFile(fd);
    sources.push_back(std::move(source));
  }
  audit::VerifyReport report = audit::Verify(sources, options);
  fuzz::Check(report.ok == (report.Summary().rfind("OK", 0) == 0), "summary disagrees with ok");
  if (report.ok) fuzz::Check(report.problem.empty(), "ok with a problem");
  return report;
}

// Rechain re-links every line of every piece after the one before it.
std::vector<std::string> Rechain(const std::vector<std::string>& pieces) {
  std::vector<std::string> out;
  std::string prev(audit::kZeroHash);
  for (const std::string& piece : pieces) {
    std::string text;
    std::size_t start = 0;
    while (start < piece.size()) {
      std::size_t end = piece.find('\n', start);
      bool complete = end != std::string::npos;
      if (!complete) end = piece.size();
      std::string line = fuzz::Rehash(std::string_view(piece).substr(start, end - start), prev);
      std::string hash = fuzz::HashOf(line);
      if (hash.size() == 64) prev = hash;
      text += line;
      if (complete) text += '\n';
      start = end + 1;
    }
    out.push_back(std::move(text));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text = fuzz::AsText(data, size);
  (void)audit::ParseHead(text.substr(0, text.find('\n')));
  std::vector<std::string> pieces;
  for (std::string_view piece : fuzz::SplitPieces(text, kMaxFiles)) pieces.emplace_back(piece);

  audit::VerifyOptions options;
  options.public_key_pem = std::string(fuzz::kAuditPublicKeyPem);
  (void)VerifyPieces(pieces, options);

  std::vector<std::string> chained = Rechain(pieces);
  audit::VerifyReport report = VerifyPieces(chained, options);
  if (report.ok && report.records > 0) {
    // The head it reported must verify as the expected head, and a sealed
    // log must verify when sealing is required.
    options.expect_head = audit::Head{report.last_seq, report.head_hash};
    options.require_sealed = report.pending == 0;
    fuzz::Check(VerifyPieces(chained, options).ok, "a log does not verify against its own head");
  } else if (!report.ok) {
    options.require_sealed = true;
    fuzz::Check(!VerifyPieces(chained, options).ok, "require_sealed made a bad log verify");
  }
  return 0;
}
