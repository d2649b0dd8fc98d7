// `strongroom escrow setup` and `strongroom escrow recover` (issue 22):
// M-of-N escrow of the KEKs under a key the token's security officer
// trusts, and recovery into a new token after the old one is lost.
// docs/escrow.md is the operator's procedure and threat model.
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>

#include "appliance/commands.h"
#include "appliance/environment.h"
#include "audit/verifier.h"
#include "crypto/crypto.h"

namespace strongroom::appliance {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxPinBytes = 256;

// PromptSoPin reads the SO PIN from the controlling terminal, echo off.
StatusOr<SecretBytes> PromptSoPin() {
  int fd = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    return std::unexpected(Status::InvalidArgument(
        "no terminal to ask for the security officer PIN: give --so-pin-file (an owner-only file "
        "you remove afterwards)"));
  }
  static constexpr char kPrompt[] = "Security officer (SO) PIN of the token: ";
  (void)!::write(fd, kPrompt, sizeof kPrompt - 1);
  termios saved{};
  const bool tty = ::tcgetattr(fd, &saved) == 0;
  if (tty) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    (void)::tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  StatusOr<SecretBytes> pin = SecretBytes::Allocate(kMaxPinBytes);
  std::size_t length = 0;
  while (pin.has_value() && length < kMaxPinBytes) {
    std::uint8_t c = 0;
    if (::read(fd, &c, 1) != 1 || c == '\n') break;
    pin->RevealMutableSecret()[length++] = c;
  }
  if (tty) (void)::tcsetattr(fd, TCSAFLUSH, &saved);
  (void)!::write(fd, "\n", 1);
  ::close(fd);
  if (!pin.has_value()) return pin;
  if (length == 0) return std::unexpected(Status::InvalidArgument("no security officer PIN given"));
  pin->Truncate(length);
  return pin;
}

// ReadSoPin reads the SO PIN once: from the file if given, else a prompt.
// SECURITY: never stored, never logged, never in argv.
StatusOr<SecretBytes> ReadSoPin(const std::string& so_pin_file) {
  if (!so_pin_file.empty()) return crypto::ReadPinFile(so_pin_file);
  return PromptSoPin();
}

crypto::TokenOptions TokenOptionsOf(const CommonFlags& flags) {
  crypto::TokenOptions options;
  options.module = flags.module;
  options.token_uri = flags.token_uri;
  options.pin_file = flags.pin_file;
  return options;
}

Status RefuseWhileServerRuns(const CommonFlags& flags, std::string_view what) {
  SR_ASSIGN_OR_RETURN(bool running, storage::Store::ServerRunning(flags.data_dir));
  if (running) {
    return Status::FailedPrecondition("the server is running; stop it before `strongroom escrow " +
                                      std::string(what) + "` (it creates token objects)");
  }
  return Status::Ok();
}

std::string ShareFileName(const crypto::EscrowShare& share) {
  return "escrow-share-" + share.escrow_key_sha256.substr(0, 16) + "-" +
         std::to_string(share.number) + "-of-" + std::to_string(share.officers) + ".txt";
}

// WriteShares writes every share into `dir`; on failure removes those
// written. Returns the file paths.
StatusOr<std::vector<std::string>> WriteShares(const std::string& dir,
                                               const std::vector<crypto::EscrowShare>& shares) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return std::unexpected(
        Status::InvalidArgument("--escrow-shares-dir " + dir + " is not a directory"));
  }
  std::vector<std::string> paths;
  for (const crypto::EscrowShare& share : shares) {
    std::string path = (fs::path(dir) / ShareFileName(share)).string();
    Status written = crypto::WriteShareFile(path, share);
    if (!written.ok()) {
      for (const std::string& p : paths) fs::remove(p, ec);
      return std::unexpected(written);
    }
    paths.push_back(path);
  }
  return paths;
}

// LastAuditKey returns the fingerprint of the audit key that sealed the
// log in `dir` last (its last checkpoint's, else its first record's), ""
// when the log has none.
std::string LastAuditKey(const std::string& dir) {
  StatusOr<std::vector<audit::LogFileSource>> files = audit::OpenLogFiles(dir);
  if (!files.has_value()) return "";
  std::string key;
  for (const audit::LogFileSource& file : *files) {
    StatusOr<audit::FileLines> lines = audit::ReadLines(file);
    if (!lines.has_value()) return key;
    for (std::size_t i = 0; i < lines->lines.size(); ++i) {
      StatusOr<audit::ParsedLine> line = audit::ParseLine(lines->Line(i));
      if (!line.has_value()) continue;
      if (line->checkpoint) {
        key = line->checkpoint->key_sha256;
      } else if (line->action == audit::kLogCreatedAction ||
                 line->action == audit::kAuditKeyChangedAction) {
        key = line->key_sha256;
      }
    }
  }
  return key;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

// InProcessToken is the token opened in this process. Escrow's recovery and
// status work on token objects no token service operation reaches (the SO's
// trusted key, an imported KEK): they run as the token's owner, without
// --token-service.
StatusOr<crypto::Token*> InProcessToken(Environment& env) {
  auto* local = dynamic_cast<crypto::LocalTokenService*>(env.token.get());
  if (local == nullptr) {
    return std::unexpected(Status::FailedPrecondition(
        "escrow recover and escrow status open the token in this process: run them as the "
        "token's owner without --token-service (docs/escrow.md)"));
  }
  return &local->token();
}

}  // namespace

Status RunEscrowSetup(const CommonFlags& flags, const EscrowFlags& escrow) {
  if (escrow.threshold < 2 || escrow.officers < escrow.threshold || escrow.officers > 255) {
    return Status::InvalidArgument(
        "escrow needs 2 <= --threshold <= --officers <= 255 (with a threshold of 1 any one officer "
        "could rebuild the key alone)");
  }
  if (escrow.shares_dir.empty()) {
    return Status::InvalidArgument("--shares-dir: where to write the share files is required");
  }
  SR_RETURN_IF_ERROR(RefuseWhileServerRuns(flags, "setup"));
  std::error_code ec;
  if (!fs::exists(flags.data_dir + "/store/data.mdb", ec)) {
    return Status::FailedPrecondition("no store in " + flags.data_dir +
                                      ": run `strongroom init` first");
  }
  SR_RETURN_IF_ERROR(crypto::InstallEscrowSecureHeap());
  SR_ASSIGN_OR_RETURN(SecretBytes so_pin, ReadSoPin(escrow.so_pin_file));

  // 1. The escrow key, made outside the token; only its shares survive.
  std::string fingerprint;
  Bytes public_key_der;
  std::vector<std::string> share_paths;
  {
    SR_ASSIGN_OR_RETURN(crypto::EscrowKeyPair key, crypto::GenerateEscrowKey());
    fingerprint = key.fingerprint_sha256;
    public_key_der = key.public_key_der;
    // 2. The security officer makes its public half a trusted wrapping key.
    SR_RETURN_IF_ERROR(crypto::ImportTrustedEscrowKey(TokenOptionsOf(flags), so_pin,
                                                      key.public_key_der, fingerprint));
    // 3. The shares, written before any KEK is escrowed under the key.
    SR_ASSIGN_OR_RETURN(std::vector<crypto::EscrowShare> shares,
                        crypto::SplitEscrowKey(key, escrow.officers, escrow.threshold));
    SR_ASSIGN_OR_RETURN(share_paths, WriteShares(escrow.shares_dir, shares));
  }  // SECURITY: the private half and its shares are wiped here (SecretBytes).
  so_pin = SecretBytes();

  // 4. Escrow from now on, and rotate to an escrowable KEK at once.
  SR_ASSIGN_OR_RETURN(Environment env, OpenEnvironment(flags, /*create_if_missing=*/false,
                                                       /*with_keyring=*/true));
  crypto::EscrowConfig config;
  config.officers = escrow.officers;
  config.threshold = escrow.threshold;
  config.created_micros = UnixMicros(Clock::Real()->Now());
  config.fingerprint_sha256 = fingerprint;
  config.public_key_der = public_key_der;
  const audit::Resource resource{"", "escrow", fingerprint.substr(0, 16)};
  ExpectCliWrite(env, "escrow:config", resource);
  Status configured = crypto::WriteEscrowConfig(*env.store, config);
  StatusOr<crypto::KekRotationReport> rotation =
      configured.ok() ? env.keyring->RotateKek()
                      : StatusOr<crypto::KekRotationReport>(std::unexpected(configured));
  std::vector<std::pair<std::string, std::string>> details = {
      {"officers", std::to_string(escrow.officers)},
      {"threshold", std::to_string(escrow.threshold)},
      {"escrow_key_sha256", fingerprint}};
  if (!rotation.has_value()) {
    details.emplace_back("failed", rotation.error().message());
    (void)AuditCliEvent(env, "escrow.setup.failed", resource, details);
    return rotation.error();
  }
  details.emplace_back("old_kek_id", rotation->old_kek_id);
  details.emplace_back("kek_id", rotation->new_kek_id);
  details.emplace_back("rewrapped_data_keys", std::to_string(rotation->rewrap.rewrapped));
  SR_RETURN_IF_ERROR(AuditCliEvent(env, "escrow.setup", resource, details));

  std::cout << "escrow key SHA-256 fingerprint: " << fingerprint << "\n"
            << "  imported into token " << env.token->token_label()
            << " as a trusted wrapping key by the security officer\n"
            << "KEK " << rotation->new_kek_id << ": created escrowable, escrowed, now current ("
            << rotation->rewrap.rewrapped << " data keys re-wrapped; KEK " << rotation->old_kek_id
            << " kept in the token)\n"
            << escrow.officers << " share files, any " << escrow.threshold
            << " of which rebuild the escrow key:\n";
  for (const std::string& path : share_paths) std::cout << "  " << path << "\n";
  std::cout << "Give one share to each officer now, keep them offline and apart, and delete "
               "these copies (docs/escrow.md).\n";
  return Status::Ok();
}

Status RunEscrowRecover(const CommonFlags& flags, const EscrowFlags& escrow) {
  SR_RETURN_IF_ERROR(RefuseWhileServerRuns(flags, "recover"));
  SR_RETURN_IF_ERROR(crypto::InstallEscrowSecureHeap());
  std::vector<crypto::EscrowShare> shares;
  std::vector<std::string> numbers;
  for (const std::string& path : escrow.share_files) {
    SR_ASSIGN_OR_RETURN(crypto::EscrowShare share, crypto::ReadShareFile(path));
    numbers.push_back(std::to_string(share.number));
    shares.push_back(std::move(share));
  }
  // M-1 shares end here: nothing in the token or the store has changed.
  SR_ASSIGN_OR_RETURN(crypto::EscrowKeyPair key, crypto::CombineShares(shares));
  shares.clear();
  const std::string fingerprint = key.fingerprint_sha256;
  const Bytes public_key_der = key.public_key_der;
  if (!escrow.so_pin_file.empty() || escrow.prompt_so_pin) {
    // The new token's SO trusts the same escrow key, so KEKs rotated after
    // the recovery are escrowed too.
    SR_ASSIGN_OR_RETURN(SecretBytes so_pin, ReadSoPin(escrow.so_pin_file));
    SR_RETURN_IF_ERROR(
        crypto::ImportTrustedEscrowKey(TokenOptionsOf(flags), so_pin, public_key_der, fingerprint));
  }

  SR_ASSIGN_OR_RETURN(Environment env, OpenEnvironment(flags, /*create_if_missing=*/false,
                                                       /*with_keyring=*/false));
  SR_ASSIGN_OR_RETURN(std::vector<crypto::EscrowedKek> escrowed,
                      crypto::ReadEscrowedKeks(*env.store));
  if (escrowed.empty()) {
    return Status::FailedPrecondition(
        "the store holds no escrowed KEK: escrow was never set up for it");
  }
  SR_ASSIGN_OR_RETURN(crypto::Token * token, InProcessToken(env));
  SR_ASSIGN_OR_RETURN(std::vector<std::string> present, env.token->ListKekIds());
  if (!present.empty()) {
    return Status::FailedPrecondition(
        "the token already holds KEKs; recovery goes into a new, empty "
        "token (softhsm2-util --init-token, or your HSM's procedure)");
  }
  std::vector<std::string> recovered;
  for (const crypto::EscrowedKek& kek : escrowed) {
    if (kek.escrow_key_sha256 != fingerprint) {
      std::fprintf(stderr,
                   "strongroom: warning: KEK %s is escrowed under another escrow key (%s); "
                   "not recovered\n",
                   kek.kek_id.c_str(), kek.escrow_key_sha256.substr(0, 16).c_str());
      continue;
    }
    SR_ASSIGN_OR_RETURN(SecretBytes value, crypto::EscrowDecrypt(key, kek.wrapped));
    SR_RETURN_IF_ERROR(crypto::ImportRecoveredKek(*token, kek.kek_id, value));
    recovered.push_back(kek.kek_id);
  }                               // SECURITY: each KEK's value is wiped as its SecretBytes goes.
  key = crypto::EscrowKeyPair();  // the escrow private key is wiped now

  // A new audit signing key; the keyring then proves the KEKs right (the
  // record-MAC key unwraps and every record verifies).
  SR_ASSIGN_OR_RETURN(bool created_audit_key, env.token->EnsureAuditKeyPair());
  if (!created_audit_key) {
    return Status::FailedPrecondition(
        "the token already holds an audit signing key; recovery goes "
        "into a new, empty token");
  }
  SR_ASSIGN_OR_RETURN(env.keyring, crypto::Keyring::Open(*env.token, *env.store));
  SR_ASSIGN_OR_RETURN(std::vector<crypto::DataKeyInfo> data_keys, env.keyring->ListDataKeys());
  std::set<std::string> missing;
  for (const crypto::DataKeyInfo& k : data_keys) {
    if (std::find(recovered.begin(), recovered.end(), k.kek_id) == recovered.end())
      missing.insert(k.kek_id);
  }
  for (const std::string& id : missing) {
    std::fprintf(stderr,
                 "strongroom: warning: data keys under KEK %s, which was not escrowed, "
                 "stay unreadable\n",
                 id.c_str());
  }
  SR_ASSIGN_OR_RETURN(std::optional<crypto::EscrowConfig> config,
                      crypto::ReadEscrowConfig(*env.store));
  if (config.has_value() && config->fingerprint_sha256 != fingerprint) {
    std::fprintf(stderr,
                 "strongroom: warning: the store's current escrow key is %s, not the one "
                 "these shares rebuild\n",
                 config->fingerprint_sha256.substr(0, 16).c_str());
  }
  const std::string log_dir = flags.data_dir + "/audit";
  const std::string old_audit_key = LastAuditKey(log_dir);
  SR_ASSIGN_OR_RETURN(crypto::AuditPublicKey audit_key, env.token->GetAuditPublicKey());
  // The log continues: an audit.key.changed record, then this one; a new
  // trust anchor replaces the lost token's.
  SR_RETURN_IF_ERROR(OpenAuditLog(flags, env, "cli", audit::AnchorMode::kRecover));
  SR_RETURN_IF_ERROR(AuditCliEvent(env, "escrow.recover", {"", "escrow", fingerprint.substr(0, 16)},
                                   {{"shares", Join(numbers)},
                                    {"escrow_key_sha256", fingerprint},
                                    {"kek_ids", Join(recovered)},
                                    {"previous_audit_key_sha256", old_audit_key},
                                    {"audit_key_sha256", audit_key.fingerprint_sha256}}));
  std::cout << "recovered into token " << env.token->token_label() << " from shares "
            << Join(numbers) << " of escrow key " << fingerprint.substr(0, 16) << "\n"
            << "KEKs imported (non-extractable): " << Join(recovered) << "\n"
            << "previous audit key SHA-256 fingerprint: " << old_audit_key << "\n"
            << "new audit key SHA-256 fingerprint:      " << audit_key.fingerprint_sha256 << "\n"
            << "  (give it to your auditors out of band; they pin both keys:\n"
            << "   strongroom audit verify --public-key OLD.pem --later-public-key NEW.pem)\n"
            << "new audit public key:\n"
            << audit_key.pem;
  return Status::Ok();
}

Status RunEscrowStatus(const CommonFlags& flags) {
  SR_ASSIGN_OR_RETURN(Environment env, OpenEnvironment(flags, /*create_if_missing=*/false,
                                                       /*with_keyring=*/true));
  SR_ASSIGN_OR_RETURN(std::optional<crypto::EscrowConfig> config,
                      crypto::ReadEscrowConfig(*env.store));
  if (!config.has_value()) {
    std::cout << "escrow: not set up (KEKs are non-extractable; see `strongroom escrow setup`)\n";
    return Status::Ok();
  }
  SR_ASSIGN_OR_RETURN(crypto::Token * token, InProcessToken(env));
  SR_ASSIGN_OR_RETURN(bool trusted,
                      crypto::TrustedEscrowKeyPresent(*token, config->fingerprint_sha256));
  SR_ASSIGN_OR_RETURN(std::vector<crypto::EscrowedKek> escrowed,
                      crypto::ReadEscrowedKeks(*env.store));
  std::set<std::string> escrowed_ids;
  for (const crypto::EscrowedKek& k : escrowed) escrowed_ids.insert(k.kek_id);
  std::cout << "escrow key SHA-256 fingerprint: " << config->fingerprint_sha256 << "\n"
            << "shares: " << config->threshold << " of " << config->officers << "\n"
            << "trusted by the token: " << (trusted ? "yes" : "NO (new KEKs cannot be escrowed)")
            << "\n";
  SR_ASSIGN_OR_RETURN(std::vector<crypto::KekInfo> keks, env.keyring->ListKeks());
  std::printf("  %-22s %-8s %s\n", "KEK", "CURRENT", "ESCROWED");
  for (const crypto::KekInfo& k : keks) {
    std::printf("  %-22s %-8s %s\n", k.id.c_str(), k.current ? "yes" : "no",
                escrowed_ids.contains(k.id) ? "yes" : "no");
  }
  return Status::Ok();
}

}  // namespace strongroom::appliance
