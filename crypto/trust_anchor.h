// crypto/trust_anchor.h — the audit log's and the store's trust anchor,
// kept in the token (SPEC sections 4 and 8).
//
// Someone who can write the data directory but cannot use the token must
// not be able to roll the store back or get a rewritten audit log signed.
// The last checkpoint and the store digest live in files that person can
// write; the anchor lives in the token, as private data objects that only
// a logged-in session (the PIN) can create, read or destroy.
//
// SoftHSM 2.6.1 refuses to change a data object's CKA_VALUE, and it does not
// fsync its object files (SPEC 10). So an anchor is written as a new object
// per generation, named by the sealed sequence number it anchors; older
// generations are destroyed after the new one exists, keeping the newest
// two, so a newest object lost or cut by a crash still leaves its
// predecessor. Reading takes the highest generation that parses.
//
// Thread-safety: functions are thread-safe (Token is); object creation runs
// under the token's creation lock. Two processes (the server and the CLI)
// may write anchors: generations are ordered by sequence number, so the
// newer head always wins and neither destroys the other's newer object.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "crypto/token.h"

namespace strongroom::crypto {

// kAnchorApplication is the CKA_APPLICATION of every anchor object of a
// node without a name (a single appliance); each object's CKA_LABEL is
// "strongroom-anchor-<sealed_seq, 20 digits>".
inline constexpr std::string_view kAnchorApplication = "strongroom-anchor";

// AnchorApplication returns the CKA_APPLICATION of the anchor objects of
// node `node` (issue 18: several nodes may share one token partition, each
// with its own log): kAnchorApplication for "", else
// "strongroom-anchor:<node>"; labels are "<application>-<sealed_seq>".
// Every function below reads, writes and destroys only the objects of the
// node it is given, so nodes never replace one another's anchors.
// REQUIRES: `node` is "" or a node name ([a-z0-9-], no ':').
std::string AnchorApplication(std::string_view node);

// TrustAnchor is what the token holds: state that was durable in both the
// audit log and LMDB when it was written.
struct TrustAnchor {
  // log_id names the log: the hash of its first record (hex).
  std::string log_id;
  // sealed_seq and head_hash name the last checkpoint record anchored.
  std::uint64_t sealed_seq = 0;
  std::string head_hash;
  // The store's committed resourceVersion and digest (hex; "" when the
  // store had no digest) when the anchor was written.
  std::uint64_t resource_version = 0;
  std::string store_digest;

  bool operator==(const TrustAnchor&) const = default;
};

// EncodeTrustAnchor and ParseTrustAnchor are the object's value: text
// lines, one key=value each, after a format line. Parse is strict:
// kIntegrityError for anything it did not write.
std::string EncodeTrustAnchor(const TrustAnchor& anchor);
StatusOr<TrustAnchor> ParseTrustAnchor(std::string_view text);

// ReadTrustAnchor returns the anchor with the highest sealed_seq among the
// token's anchor objects that parse (nullopt when there is none). Objects
// that do not parse are skipped. kTokenUnavailable or a CKR error when the
// token cannot be read.
StatusOr<std::optional<TrustAnchor>> ReadTrustAnchor(Token& token, std::string_view node = {});

// WriteTrustAnchor stores `anchor` as a new generation unless the token
// already holds one with a sealed_seq at or above it (then nothing
// changes), and destroys every generation older than the newest two.
// Returns once the new object exists. Errors as ReadTrustAnchor.
Status WriteTrustAnchor(Token& token, const TrustAnchor& anchor, std::string_view node = {});

// ReplaceTrustAnchor destroys every anchor object and creates `anchor`:
// for `strongroom anchor adopt` and for a new store on a reused token.
// SECURITY: only for a person holding the PIN who chose to; a crash in
// between leaves no anchor, which refuses start-up until run again.
Status ReplaceTrustAnchor(Token& token, const TrustAnchor& anchor, std::string_view node = {});

}  // namespace strongroom::crypto
