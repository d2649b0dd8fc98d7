#include "crypto/token.h"

#include <p11-kit/p11-kit.h>
#include <p11-kit/uri.h>

#include <cstring>
#include <vector>

#include "crypto/pin_file.h"
#include "crypto/pkcs11.h"
#include "crypto/token_session_pool.h"

namespace strongroom::crypto {

struct Token::Uri {
  P11KitUri* uri = nullptr;
  ~Uri() {
    if (uri != nullptr) p11_kit_uri_free(uri);
  }
};

namespace {

std::string Trimmed(const unsigned char* padded, std::size_t n) {
  std::string s(reinterpret_cast<const char*>(padded), n);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

StatusOr<SecretBytes> ReadPin(const TokenOptions& options, const P11KitUri* uri) {
  if (!options.pin_file.empty()) return ReadPinFile(options.pin_file);
  const char* source = p11_kit_uri_get_pin_source(uri);
  if (source != nullptr && *source != '\0') {
    std::string path(source);
    if (path.rfind("file:", 0) == 0) path = path.substr(5);
    return ReadPinFile(path);
  }
  return std::unexpected(Status::InvalidArgument(
      "no token PIN: give --pin-file or a pin-source in the token URI"));
}

}  // namespace

StatusOr<std::unique_ptr<Token>> Token::Open(const TokenOptions& options) {
  std::unique_ptr<Token> token(new Token());
  SR_RETURN_IF_ERROR(token->Initialise(options));
  return token;
}

Status Token::Initialise(const TokenOptions& options) {
  uri_ = std::make_unique<Uri>();
  uri_->uri = p11_kit_uri_new();
  int parsed = p11_kit_uri_parse(options.token_uri.c_str(),
                                 static_cast<P11KitUriType>(P11_KIT_URI_FOR_TOKEN | P11_KIT_URI_FOR_SLOT),
                                 uri_->uri);
  // SECURITY: the URI may carry a PIN; it is never echoed in a message.
  if (parsed != P11_KIT_URI_OK) {
    return Status::InvalidArgument(std::string("the token URI is not a valid PKCS#11 URI: ") +
                                   p11_kit_uri_message(parsed));
  }
  if (p11_kit_uri_get_pin_value(uri_->uri) != nullptr) {
    return Status::InvalidArgument(
        "the token URI carries pin-value, which is refused: put the PIN in an owner-only file "
        "(--pin-file) or use pin-source");
  }
  SR_ASSIGN_OR_RETURN(pin_, ReadPin(options, uri_->uri));

  if (options.module.find('/') != std::string::npos) {
    functions_ = p11_kit_module_load(options.module.c_str(), 0);
    if (functions_ == nullptr) {
      return Status::InvalidArgument("cannot load PKCS#11 module " + options.module + ": " +
                                     (p11_kit_message() ? p11_kit_message() : "unknown error"));
    }
  } else {
    loaded_modules_ = p11_kit_modules_load(nullptr, 0);
    functions_ = loaded_modules_ == nullptr
                     ? nullptr
                     : p11_kit_module_for_name(loaded_modules_, options.module.c_str());
    if (functions_ == nullptr) {
      return Status::InvalidArgument("no PKCS#11 module named '" + options.module +
                                     "' in p11-kit's configuration");
    }
  }
  SR_RETURN_IF_ERROR(CkrStatus(p11_kit_module_initialize(functions_), "C_Initialize"));
  initialised_ = true;
  SR_RETURN_IF_ERROR(FindSlot());

  recovery_backoff_ = options.recovery_backoff;
  pool_ = std::make_unique<TokenSessionPool>(
      options.max_sessions, options.acquire_timeout,
      [this] { return OpenLoggedInSession(); },
      [this](CK_SESSION_HANDLE h) { (void)functions_->C_CloseSession(h); });
  // Log in now, so a wrong PIN fails at start.
  SR_ASSIGN_OR_RETURN(TokenSessionPool::Lease lease, pool_->Acquire());
  pool_->Release(lease);
  return Status::Ok();
}

Token::~Token() {
  {
    std::unique_lock<std::shared_mutex> lock(module_mu_);
    pool_.reset();
  }
  if (functions_ != nullptr && initialised_) (void)p11_kit_module_finalize(functions_);
  if (loaded_modules_ != nullptr) {
    p11_kit_modules_release(loaded_modules_);
  } else if (functions_ != nullptr) {
    p11_kit_module_release(functions_);
  }
}

// FindSlot picks the one slot whose token matches the URI.
// REQUIRES: module_mu_ held exclusively, or no other thread running yet.
Status Token::FindSlot() {
  slot_valid_ = false;
  CK_ULONG count = 0;
  SR_RETURN_IF_ERROR(CkrStatus(functions_->C_GetSlotList(CK_TRUE, nullptr, &count), "C_GetSlotList"));
  std::vector<CK_SLOT_ID> slots(count);
  if (count > 0) {
    SR_RETURN_IF_ERROR(
        CkrStatus(functions_->C_GetSlotList(CK_TRUE, slots.data(), &count), "C_GetSlotList"));
    slots.resize(count);
  }
  int matches = 0;
  for (CK_SLOT_ID id : slots) {
    CK_TOKEN_INFO info{};
    CK_SLOT_INFO slot_info{};
    if (functions_->C_GetTokenInfo(id, &info) != CKR_OK) continue;
    if (functions_->C_GetSlotInfo(id, &slot_info) != CKR_OK) continue;
    if (p11_kit_uri_match_token_info(uri_->uri, &info) != 1) continue;
    if (p11_kit_uri_match_slot_info(uri_->uri, &slot_info) != 1) continue;
    if (++matches == 1) {
      slot_ = id;
      token_label_ = Trimmed(info.label, sizeof info.label);
    }
  }
  if (matches == 0) {
    return Status::TokenUnavailable("no token present matches the configured token URI");
  }
  if (matches > 1) {
    return Status::FailedPrecondition(
        "several tokens match the configured token URI; make it more specific (token=, serial=)");
  }
  slot_valid_ = true;
  return Status::Ok();
}

StatusOr<CK_SESSION_HANDLE> Token::OpenLoggedInSession() {
  if (!slot_valid_) return std::unexpected(Status::TokenUnavailable("token not present"));
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  CK_RV rv = functions_->C_OpenSession(slot_, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr,
                                       nullptr, &session);
  if (rv != CKR_OK) return std::unexpected(CkrStatus(rv, "C_OpenSession"));
  sessions_opened_.fetch_add(1, std::memory_order_relaxed);
  // Login is per application and token; after every session was closed it
  // is gone, so each new session logs in (ALREADY_LOGGED_IN is fine).
  auto pin = pin_.RevealSecret();
  rv = functions_->C_Login(session, CKU_USER, const_cast<CK_UTF8CHAR*>(pin.data()), pin.size());
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
    (void)functions_->C_CloseSession(session);
    return std::unexpected(CkrStatus(rv, "C_Login"));
  }
  if (rv == CKR_OK) logins_.fetch_add(1, std::memory_order_relaxed);
  return session;
}

Status Token::RunOnce(std::string_view what, const ObjectOperation& op, bool* retry,
                      bool* recover, std::uint64_t* epoch) {
  CK_SESSION_HANDLE broken = CK_INVALID_HANDLE;
  Status result;
  {
    std::shared_lock<std::shared_mutex> lock(module_mu_);
    *epoch = pool_->epoch();
    StatusOr<TokenSessionPool::Lease> lease = pool_->Acquire();
    if (!lease.has_value()) {
      *recover = lease.error().code() == StatusCode::kTokenUnavailable;
      return lease.error().WithContext(what);
    }
    SessionObjects created;
    CK_RV rv = op(functions_, lease->handle, created);
    // Every object is destroyed even if one fails; the first failure is
    // reported unless the operation already failed.
    bool stranded = false;
    for (CK_OBJECT_HANDLE object : created.objects_) {
      CK_RV destroyed = functions_->C_DestroyObject(lease->handle, object);
      if (destroyed == CKR_OK) continue;
      if (!stranded && rv == CKR_OK) rv = destroyed;
      stranded = true;
    }
    // A session still holding an object is treated as lost: closed below
    // (which destroys its session objects), never returned to the pool.
    bool session_lost = stranded || IsSessionLost(rv), token_lost = IsTokenLost(rv);
    if (!session_lost && !token_lost) {
      pool_->Release(*lease);
      return CkrStatus(rv, what);
    }
    pool_->Discard(*lease);
    *epoch = lease->epoch;
    *retry = session_lost;
    *recover = token_lost;
    if (session_lost) broken = lease->handle;
    result = CkrStatus(rv, what);
  }
  if (broken != CK_INVALID_HANDLE) {
    // The session may still exist (e.g. only its login was lost, or it
    // holds an object that could not be destroyed); close it while no other
    // thread is opening one. Its handle has left the pool either way.
    std::unique_lock<std::shared_mutex> lock(module_mu_);
    (void)functions_->C_CloseSession(broken);
  }
  return result;
}

Status Token::Run(std::string_view what, const Operation& op) {
  return RunWithSessionObjects(
      what, [&op](CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session, SessionObjects&) {
        return op(fns, session);
      });
}

Status Token::RunWithSessionObjects(std::string_view what, const ObjectOperation& op) {
  operations_.fetch_add(1, std::memory_order_relaxed);
  Status result = RunWithRetry(what, op);
  if (!result.ok()) operation_errors_.fetch_add(1, std::memory_order_relaxed);
  return result;
}

Status Token::RunWithRetry(std::string_view what, const ObjectOperation& op) {
  bool retry = false, recover = false;
  std::uint64_t epoch = 0;
  Status first = RunOnce(what, op, &retry, &recover, &epoch);
  if (!retry && !recover) return first;
  if (recover) {
    Status recovered = Recover(epoch);
    if (!recovered.ok()) return recovered.WithContext(what);
  }
  retry = recover = false;
  Status second = RunOnce(what, op, &retry, &recover, &epoch);
  if (recover) (void)Recover(epoch);  // leave the pool ready for the next call
  if (retry || recover) {
    return Status::TokenUnavailable(std::string(what) + ": token unavailable (" +
                                    second.message() + ")");
  }
  return second;
}

Status Token::RunCreating(std::string_view what, const Operation& op) {
  std::lock_guard<std::mutex> lock(create_mu_);
  return Run(what, op);
}

Status Token::Recover(std::uint64_t failed_epoch) {
  std::lock_guard<std::mutex> recover_lock(recover_mu_);
  std::unique_lock<std::shared_mutex> lock(module_mu_);
  if (pool_->epoch() != failed_epoch && slot_valid_) return Status::Ok();  // done by another thread
  const auto now = std::chrono::steady_clock::now();
  if (last_failed_recovery_ != std::chrono::steady_clock::time_point{} &&
      now - last_failed_recovery_ < recovery_backoff_) {
    return Status::TokenUnavailable("token unavailable (recovery failed moments ago)");
  }
  recoveries_.fetch_add(1, std::memory_order_relaxed);
  Status recovered = RecoverLocked();
  last_failed_recovery_ = recovered.ok() ? std::chrono::steady_clock::time_point{} : now;
  return recovered;
}

Status Token::RecoverLocked() {
  for (CK_SESSION_HANDLE h : pool_->DropAll()) (void)functions_->C_CloseSession(h);
  Status found = FindSlot();
  if (found.ok()) return found;
  // The slot is gone or the module lost its state: start the module again.
  reinitialisations_.fetch_add(1, std::memory_order_relaxed);
  (void)p11_kit_module_finalize(functions_);
  CK_RV rv = p11_kit_module_initialize(functions_);
  initialised_ = rv == CKR_OK;
  if (rv != CKR_OK) return Status::TokenUnavailable("C_Initialize: " + CkrName(rv));
  found = FindSlot();
  if (!found.ok()) return Status::TokenUnavailable(found.message());
  return Status::Ok();
}

Status Token::Probe() {
  probes_.fetch_add(1, std::memory_order_relaxed);
  return Run("probe", [](CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session) {
    CK_SESSION_INFO info{};
    return fns->C_GetSessionInfo(session, &info);
  });
}

CK_SLOT_ID Token::slot() const { return slot_.load(); }

TokenCounters Token::counters() const {
  return TokenCounters{sessions_opened_.load(),   logins_.load(),     recoveries_.load(),
                       reinitialisations_.load(), operations_.load(), operation_errors_.load(),
                       probes_.load()};
}

}  // namespace strongroom::crypto
