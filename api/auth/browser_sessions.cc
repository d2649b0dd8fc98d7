#include "api/auth/browser_sessions.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <vector>

#include "accounts/accounts.h"
#include "base/bytes.h"
#include "policies/names.h"

namespace strongroom::api {
namespace {

constexpr std::size_t kTokenBytes = 32;       // 256 bits (session and CSRF tokens)
constexpr std::size_t kLoginNonceBytes = 16;  // the sign-in form's token: nonce ‖ MAC
constexpr std::size_t kLoginMacBytes = 16;

std::array<std::uint8_t, 32> Sha256(std::string_view text) {
  std::array<std::uint8_t, 32> digest{};
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return digest;
}

bool SameText(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// RandomHex returns `bytes` random bytes as hex; kInternal when the RNG fails.
StatusOr<std::string> RandomHex(std::size_t bytes) {
  std::vector<std::uint8_t> random(bytes);
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    return std::unexpected(Status::Internal("RAND_bytes failed"));
  }
  std::string hex = HexEncode(random);
  OPENSSL_cleanse(random.data(), random.size());
  return hex;
}

Status Ended() { return Status::Unauthenticated("the session has ended; sign in again"); }

}  // namespace

std::string_view ViewRoleName(ViewRole role) {
  switch (role) {
    case ViewRole::kAuditor:
      return "Auditor";
    case ViewRole::kServerAdmin:
      return "ServerAdmin";
    case ViewRole::kNone:
      break;
  }
  return "";
}

StatusOr<ViewRole> ViewRoleOf(const policies::Policy& policy, const storage::ReadTxn& txn,
                              const storage::UserRecord& user) {
  if (user.server_admin) return ViewRole::kServerAdmin;
  const policies::Subject subject{policies::SubjectKind::kUser, user.login};
  std::vector<policies::Binding> bindings = policy.BindingsFor(subject);
  SR_ASSIGN_OR_RETURN(std::vector<policies::Binding> stored,
                      accounts::StoredBindings(txn, subject));
  bindings.insert(bindings.end(), stored.begin(), stored.end());
  ViewRole role = ViewRole::kNone;
  for (const policies::Binding& binding : bindings) {
    if (binding.namespace_name != "*") continue;
    if (policies::EqualsIgnoringAsciiCase(binding.role, "ServerAdmin"))
      return ViewRole::kServerAdmin;
    if (policies::EqualsIgnoringAsciiCase(binding.role, "Auditor")) role = ViewRole::kAuditor;
  }
  return role;
}

std::optional<std::string> RequestCookie(const HttpRequest& request, const std::string& name) {
  const Pistache::Http::CookieJar& jar = request.message.cookies();
  if (!jar.has(name)) return std::nullopt;
  return jar.get(name).value;
}

Principal BrowserSessionPrincipal(const BrowserSession& session, const PeerInfo& peer) {
  Principal principal{Principal::Kind::kUser, session.login, session.server_admin};
  principal.address = peer.address;
  if (peer.certificate) principal.certificate_fingerprint = peer.certificate->fingerprint_sha256;
  return principal;
}

StatusOr<std::unique_ptr<BrowserSessions>> BrowserSessions::Create(const Clock& clock,
                                                                   BrowserSessionOptions options) {
  SR_ASSIGN_OR_RETURN(SecretBytes key, SecretBytes::Allocate(kTokenBytes));
  if (RAND_bytes(key.RevealMutableSecret().data(), static_cast<int>(kTokenBytes)) != 1) {
    return std::unexpected(Status::Internal("RAND_bytes failed"));
  }
  return std::unique_ptr<BrowserSessions>(new BrowserSessions(clock, options, std::move(key)));
}

bool BrowserSessions::Expired(const Entry& entry, TimePoint now) const {
  return now - entry.created >= options_.absolute_timeout ||
         now - entry.last_used >= options_.idle_timeout;
}

TimePoint BrowserSessions::Expires(const Entry& entry) const {
  return std::min(entry.created + options_.absolute_timeout,
                  entry.last_used + options_.idle_timeout);
}

void BrowserSessions::DropExpired(TimePoint now) {
  std::erase_if(sessions_, [&](const auto& item) { return Expired(item.second, now); });
}

bool BrowserSessions::MakeRoomFor(const std::string& login, TimePoint now) {
  std::vector<std::map<TokenHash, Entry>::iterator> own;
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (it->second.login == login) own.push_back(it);
  }
  if (own.size() >= options_.max_sessions_per_user) {
    std::sort(own.begin(), own.end(),
              [](const auto& a, const auto& b) { return a->second.created < b->second.created; });
    for (std::size_t i = 0; i + options_.max_sessions_per_user <= own.size(); ++i) {
      sessions_.erase(own[i]);
    }
  }
  if (sessions_.size() >= options_.max_sessions) DropExpired(now);
  return sessions_.size() < options_.max_sessions;
}

StatusOr<IssuedBrowserSession> BrowserSessions::SignIn(const storage::UserRecord& user,
                                                       ViewRole role) {
  SR_ASSIGN_OR_RETURN(SecretBytes token, SecretBytes::Allocate(kTokenBytes * 2));
  {
    SR_ASSIGN_OR_RETURN(std::string hex, RandomHex(kTokenBytes));
    std::copy(hex.begin(), hex.end(), token.RevealMutableSecret().begin());
    OPENSSL_cleanse(hex.data(), hex.size());
  }
  SR_ASSIGN_OR_RETURN(std::string csrf_token, RandomHex(kTokenBytes));
  Entry entry;
  entry.token_hash = Sha256(token.RevealSecretAsString());
  entry.login = user.login;
  entry.user_created_micros = user.created_micros;
  entry.password_hash_digest = Sha256(user.password_hash);
  entry.role = role;
  entry.server_admin = user.server_admin;
  entry.csrf_token = csrf_token;
  entry.created = entry.last_used = clock_.Now();
  BrowserSession session{user.login, role, user.server_admin, csrf_token, Expires(entry)};
  std::lock_guard lock(mu_);
  if (!MakeRoomFor(user.login, entry.created)) {
    return std::unexpected(Status::Unavailable("too many web view sessions; retry later"));
  }
  const TokenHash key = entry.token_hash;
  sessions_[key] = std::move(entry);
  return IssuedBrowserSession{std::move(token), std::move(session)};
}

std::map<BrowserSessions::TokenHash, BrowserSessions::Entry>::iterator BrowserSessions::Find(
    const TokenHash& hash) {
  auto it = sessions_.find(hash);
  // SECURITY: the map compares hashes of the token, never the token; the
  // constant-time check makes the match itself independent of timing too.
  if (it == sessions_.end() ||
      CRYPTO_memcmp(it->second.token_hash.data(), hash.data(), hash.size()) != 0) {
    return sessions_.end();
  }
  return it;
}

StatusOr<BrowserSession> BrowserSessions::Resume(std::string_view token,
                                                 const policies::Policy& policy,
                                                 const storage::ReadTxn& txn) {
  if (token.size() != kTokenBytes * 2) return std::unexpected(Ended());
  const TokenHash hash = Sha256(token);
  const TimePoint now = clock_.Now();
  Entry entry;
  {
    std::lock_guard lock(mu_);
    auto it = Find(hash);
    if (it == sessions_.end()) return std::unexpected(Ended());
    if (Expired(it->second, now)) {
      sessions_.erase(it);
      return std::unexpected(Ended());
    }
    entry = it->second;
  }
  // The user as stored now: outside the lock (a store read).
  StatusOr<storage::UserRecord> user = accounts::FindUser(txn, entry.login);
  bool still_valid = false;
  ViewRole role = ViewRole::kNone;
  if (user.has_value()) {
    SR_ASSIGN_OR_RETURN(role, ViewRoleOf(policy, txn, *user));
    still_valid = user->created_micros == entry.user_created_micros &&
                  CRYPTO_memcmp(Sha256(user->password_hash).data(),
                                entry.password_hash_digest.data(), 32) == 0 &&
                  role != ViewRole::kNone;
  } else if (user.error().code() != StatusCode::kNotFound) {
    return std::unexpected(user.error());
  }
  std::lock_guard lock(mu_);
  auto it = Find(hash);
  if (it == sessions_.end()) return std::unexpected(Ended());  // signed out meanwhile
  if (!still_valid) {
    sessions_.erase(it);
    return std::unexpected(Ended());
  }
  it->second.last_used = std::max(it->second.last_used, now);
  it->second.role = role;
  it->second.server_admin = user->server_admin;
  return BrowserSession{it->second.login, role, user->server_admin, it->second.csrf_token,
                        Expires(it->second)};
}

Status BrowserSessions::SignOut(std::string_view token, std::string_view csrf_token) {
  if (token.size() != kTokenBytes * 2) return Ended();
  const TokenHash hash = Sha256(token);
  std::lock_guard lock(mu_);
  auto it = Find(hash);
  if (it == sessions_.end()) return Ended();
  if (Expired(it->second, clock_.Now())) {
    sessions_.erase(it);
    return Ended();
  }
  if (!SameText(csrf_token, it->second.csrf_token)) {
    return Status::PermissionDenied("missing or wrong X-CSRF-Token");
  }
  sessions_.erase(it);
  return Status::Ok();
}

std::string BrowserSessions::LoginCsrfMac(std::string_view nonce_hex) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  auto key = csrf_key_.RevealSecret();
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(nonce_hex.data()), nonce_hex.size(), mac, &length);
  return HexEncode(ByteSpan(mac, kLoginMacBytes));
}

std::string BrowserSessions::NewLoginCsrfToken() const {
  StatusOr<std::string> nonce = RandomHex(kLoginNonceBytes);
  // Without randomness no token is minted, and so no sign-in can pass.
  if (!nonce.has_value()) return "";
  return *nonce + LoginCsrfMac(*nonce);
}

bool BrowserSessions::LoginCsrfTokenValid(std::string_view header, std::string_view cookie) const {
  constexpr std::size_t kSize = (kLoginNonceBytes + kLoginMacBytes) * 2;
  if (header.size() != kSize || !SameText(header, cookie)) return false;
  const std::string_view nonce = header.substr(0, kLoginNonceBytes * 2);
  return SameText(header.substr(kLoginNonceBytes * 2), LoginCsrfMac(nonce));
}

std::size_t BrowserSessions::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

}  // namespace strongroom::api
