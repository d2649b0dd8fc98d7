// Policy::LoadDirectory: reads the *.json files of a policy directory.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "policies/policy.h"
#include "policies/policy_file_parser.h"
#include "policies/source_document.h"

namespace strongroom::policies {
namespace {

namespace fs = std::filesystem;

// A policy file is a few kilobytes; the cap keeps a stray large file from
// being read into memory whole.
constexpr std::uintmax_t kMaxFileBytes = 4 << 20;

// PolicyFiles returns the regular *.json files directly in `dir`, sorted by
// name.
StatusOr<std::vector<fs::path>> PolicyFiles(const std::string& dir) {
  std::error_code error;
  fs::file_status status = fs::status(dir, error);
  if (!fs::exists(status)) return std::unexpected(Status::NotFound(dir + ": no such directory"));
  if (!fs::is_directory(status)) {
    return std::unexpected(Status::InvalidArgument(dir + ": not a directory"));
  }
  std::vector<fs::path> files;
  fs::directory_iterator it(dir, error);
  for (; !error && it != fs::directory_iterator(); it.increment(error)) {
    if (it->path().extension() == ".json" && it->is_regular_file(error))
      files.push_back(it->path());
  }
  if (error) {
    return std::unexpected(Status::InvalidArgument(dir + ": cannot list: " + error.message()));
  }
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
  return files;
}

StatusOr<std::string> ReadFile(const fs::path& path) {
  std::error_code error;
  std::uintmax_t size = fs::file_size(path, error);
  if (!error && size > kMaxFileBytes) {
    return std::unexpected(Status::InvalidArgument(path.string() + ": larger than 4 MiB"));
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in || error) {
    return std::unexpected(Status::InvalidArgument(path.string() + ": cannot read"));
  }
  return std::move(text).str();
}

}  // namespace

StatusOr<std::shared_ptr<const Policy>> Policy::LoadDirectory(const std::string& dir) {
  SR_ASSIGN_OR_RETURN(std::vector<fs::path> files, PolicyFiles(dir));
  std::vector<SourceDocument> documents;
  documents.reserve(files.size());
  for (const fs::path& file : files) {
    SR_ASSIGN_OR_RETURN(std::string text, ReadFile(file));
    SR_ASSIGN_OR_RETURN(SourceDocument document, SourceDocument::Parse(file.string(), text));
    documents.push_back(std::move(document));
  }
  PolicyFileParser parser;
  for (const SourceDocument& document : documents) SR_RETURN_IF_ERROR(parser.AddRoles(document));
  for (std::size_t i = 0; i < documents.size(); ++i) {
    SR_RETURN_IF_ERROR(parser.AddBindingsAndIdentities(documents[i], files[i].filename().string()));
  }
  return parser.Finish(documents.size());
}

}  // namespace strongroom::policies
