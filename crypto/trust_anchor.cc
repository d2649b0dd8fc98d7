#include "crypto/trust_anchor.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "crypto/pkcs11.h"
#include "crypto/pkcs11_objects.h"

namespace strongroom::crypto {
namespace {

constexpr std::string_view kFormatLine = "strongroom-anchor-v1";
// More anchor objects than this means something else writes them; the
// newest are still found because every object is listed.
constexpr CK_ULONG kMaxObjects = 256;

std::string LabelFor(std::string_view node, std::uint64_t sealed_seq) {
  char digits[21];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(sealed_seq));
  return AnchorApplication(node) + "-" + digits;
}

bool IsHex(std::string_view text, std::size_t size) {
  return text.size() == size &&
         std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool ParseU64(std::string_view text, std::uint64_t* out) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

Attributes AnchorMatch(const std::string& application) {
  Attributes match;
  match.Ulong(CKA_CLASS, CKO_DATA).Bool(CKA_TOKEN, true).Text(CKA_APPLICATION, application);
  return match;
}

// Generation is one anchor object found in the token.
struct Generation {
  CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
  std::optional<TrustAnchor> anchor;  // nullopt: does not parse
};

// ListGenerations reads every anchor object of the session, newest first
// (objects that do not parse last). Handles are borrowed from `session`.
CK_RV ListGenerations(CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session, std::string_view node,
                      std::vector<Generation>* out) {
  out->clear();
  const std::string application = AnchorApplication(node);
  Attributes match = AnchorMatch(application);
  std::vector<CK_OBJECT_HANDLE> handles;
  CK_RV rv = FindObjects(fns, session, match, &handles, kMaxObjects);
  if (rv != CKR_OK) return rv;
  for (CK_OBJECT_HANDLE handle : handles) {
    Bytes value;
    Generation generation{handle, std::nullopt};
    if (GetBytesAttribute(fns, session, handle, CKA_VALUE, &value) == CKR_OK) {
      StatusOr<TrustAnchor> parsed = ParseTrustAnchor(AsChars(value));
      if (parsed.has_value()) generation.anchor = std::move(*parsed);
    }
    out->push_back(std::move(generation));
  }
  std::stable_sort(out->begin(), out->end(), [](const Generation& a, const Generation& b) {
    if (a.anchor.has_value() != b.anchor.has_value()) return a.anchor.has_value();
    return a.anchor && a.anchor->sealed_seq > b.anchor->sealed_seq;
  });
  return CKR_OK;
}

CK_RV CreateGeneration(CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session, const TrustAnchor& anchor,
                       std::string_view node) {
  const std::string value = EncodeTrustAnchor(anchor);
  const std::string application = AnchorApplication(node);
  Attributes object;
  // SECURITY: private, so only a logged-in session (the PIN) can create,
  // read or destroy it; not modifiable, since a new state is a new object.
  object.Ulong(CKA_CLASS, CKO_DATA)
      .Bool(CKA_TOKEN, true)
      .Bool(CKA_PRIVATE, true)
      .Bool(CKA_MODIFIABLE, false)
      .Text(CKA_APPLICATION, application)
      .Text(CKA_LABEL, LabelFor(node, anchor.sealed_seq))
      .Text(CKA_VALUE, value);
  CK_OBJECT_HANDLE created = CK_INVALID_HANDLE;
  return fns->C_CreateObject(session, object.data(), object.size(), &created);
}

// DestroyGenerations destroys generations[from..] (handles of `session`).
// An object already gone was destroyed by another process writing its own
// generation (the CLI while the server runs) between our listing and now:
// that is the outcome wanted, not an error.
CK_RV DestroyGenerations(CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session,
                         const std::vector<Generation>& generations, std::size_t from) {
  for (std::size_t i = from; i < generations.size(); ++i) {
    CK_RV rv = fns->C_DestroyObject(session, generations[i].handle);
    if (rv != CKR_OK && rv != CKR_OBJECT_HANDLE_INVALID) return rv;
  }
  return CKR_OK;
}

}  // namespace

std::string AnchorApplication(std::string_view node) {
  if (node.empty()) return std::string(kAnchorApplication);
  return std::string(kAnchorApplication) + ":" + std::string(node);
}

std::string EncodeTrustAnchor(const TrustAnchor& anchor) {
  std::string out(kFormatLine);
  out += "\nlog_id=" + anchor.log_id;
  out += "\nsealed_seq=" + std::to_string(anchor.sealed_seq);
  out += "\nhead_hash=" + anchor.head_hash;
  out += "\nresource_version=" + std::to_string(anchor.resource_version);
  out += "\nstore_digest=" + anchor.store_digest;
  out += "\n";
  return out;
}

StatusOr<TrustAnchor> ParseTrustAnchor(std::string_view text) {
  auto bad = [](std::string what) {
    return std::unexpected(Status::IntegrityError("trust anchor: " + what));
  };
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    if (end == std::string_view::npos) return bad("no final newline");
    lines.push_back(text.substr(0, end));
    text.remove_prefix(end + 1);
  }
  static constexpr std::string_view kKeys[] = {"log_id", "sealed_seq", "head_hash",
                                               "resource_version", "store_digest"};
  if (lines.size() != 1 + std::size(kKeys) || lines[0] != kFormatLine) return bad("unknown format");
  std::string_view values[std::size(kKeys)];
  for (std::size_t i = 0; i < std::size(kKeys); ++i) {
    std::string_view line = lines[i + 1];
    if (!line.starts_with(kKeys[i]) || line.size() <= kKeys[i].size() ||
        line[kKeys[i].size()] != '=') {
      return bad("expected " + std::string(kKeys[i]));
    }
    values[i] = line.substr(kKeys[i].size() + 1);
  }
  TrustAnchor anchor;
  anchor.log_id = std::string(values[0]);
  anchor.head_hash = std::string(values[2]);
  anchor.store_digest = std::string(values[4]);
  if (!IsHex(anchor.log_id, 64) || !IsHex(anchor.head_hash, 64) ||
      !(anchor.store_digest.empty() || IsHex(anchor.store_digest, 64)) ||
      !ParseU64(values[1], &anchor.sealed_seq) || !ParseU64(values[3], &anchor.resource_version)) {
    return bad("malformed value");
  }
  return anchor;
}

StatusOr<std::optional<TrustAnchor>> ReadTrustAnchor(Token& token, std::string_view node) {
  std::optional<TrustAnchor> newest;
  SR_RETURN_IF_ERROR(token.Run("read the trust anchor", [&](CK_FUNCTION_LIST* fns,
                                                            CK_SESSION_HANDLE session) {
    newest.reset();
    std::vector<Generation> generations;
    CK_RV rv = ListGenerations(fns, session, node, &generations);
    if (rv == CKR_OK && !generations.empty()) newest = generations.front().anchor;
    return rv;
  }));
  return newest;
}

Status WriteTrustAnchor(Token& token, const TrustAnchor& anchor, std::string_view node) {
  return token.RunCreating("write the trust anchor", [&](CK_FUNCTION_LIST* fns,
                                                         CK_SESSION_HANDLE session) {
    std::vector<Generation> generations;
    CK_RV rv = ListGenerations(fns, session, node, &generations);
    if (rv != CKR_OK) return rv;
    const bool newer = generations.empty() || !generations.front().anchor ||
                       generations.front().anchor->sealed_seq < anchor.sealed_seq;
    if (!newer) return CKR_OK;
    rv = CreateGeneration(fns, session, anchor, node);
    if (rv != CKR_OK) return rv;
    // The new object is the newest; keep the one before it in case the
    // token's file for the new one does not survive a crash.
    return DestroyGenerations(fns, session, generations, 1);
  });
}

Status ReplaceTrustAnchor(Token& token, const TrustAnchor& anchor, std::string_view node) {
  return token.RunCreating("replace the trust anchor", [&](CK_FUNCTION_LIST* fns,
                                                           CK_SESSION_HANDLE session) {
    std::vector<Generation> generations;
    CK_RV rv = ListGenerations(fns, session, node, &generations);
    if (rv != CKR_OK) return rv;
    rv = DestroyGenerations(fns, session, generations, 0);
    return rv != CKR_OK ? rv : CreateGeneration(fns, session, anchor, node);
  });
}

}  // namespace strongroom::crypto
