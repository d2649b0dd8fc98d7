// Escrow in the token: the SO's trusted import, escrowable KEKs and their
// RSA-OAEP wrap, and the import of a recovered KEK.
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/uri.h>

#include <memory>

#include "base/openssl_ptr.h"
#include "crypto/escrow.h"
#include "crypto/kek.h"
#include "crypto/key_templates.h"
#include "crypto/pkcs11.h"
#include "crypto/pkcs11_objects.h"

namespace strongroom::crypto {
namespace {

constexpr std::string_view kEscrowLabelPrefix = "strongroom-escrow-";
constexpr CK_ULONG kEscrowWrappedBytes = kEscrowRsaBits / 8;

std::string EscrowKeyLabel(std::string_view fingerprint) {
  return std::string(kEscrowLabelPrefix) + std::string(fingerprint.substr(0, 16));
}

// OaepParameters: SHA-1 and MGF1-SHA-1 without a label, the only OAEP
// SoftHSM 2.6.1's C_WrapKey accepts.
CK_RSA_PKCS_OAEP_PARAMS OaepParameters() {
  return CK_RSA_PKCS_OAEP_PARAMS{CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, nullptr, 0};
}

Attributes EscrowKeyMatch(std::string_view fingerprint) {
  Attributes t;
  t.Ulong(CKA_CLASS, CKO_PUBLIC_KEY)
      .Ulong(CKA_KEY_TYPE, CKK_RSA)
      .Bool(CKA_TOKEN, true)
      .Text(CKA_ID, fingerprint);
  return t;
}

CK_RV ReadBool(CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
               CK_ATTRIBUTE_TYPE type, bool* out) {
  CK_BBOOL value = CK_FALSE;
  CK_ATTRIBUTE attr{type, &value, sizeof value};
  CK_RV rv = fns->C_GetAttributeValue(session, object, &attr, 1);
  *out = rv == CKR_OK && value == CK_TRUE;
  return rv;
}

Status UnsupportedModule(std::string_view attribute) {
  return Status::FailedPrecondition(
      "this PKCS#11 module does not support " + std::string(attribute) +
      ", which escrow needs so that a KEK can leave the token only under the security "
      "officer's trusted key; escrow refused, nothing was changed");
}

// RsaNumbers reads the modulus and public exponent of a DER public key.
Status RsaNumbers(ByteSpan public_key_der, Bytes* modulus, Bytes* exponent) {
  const unsigned char* p = public_key_der.data();
  EvpPkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(public_key_der.size())));
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
    ClearOpenSslErrors();
    return Status::InvalidArgument("the escrow public key is not an RSA key");
  }
  for (auto [name, out] :
       {std::pair{OSSL_PKEY_PARAM_RSA_N, modulus}, std::pair{OSSL_PKEY_PARAM_RSA_E, exponent}}) {
    BIGNUM* raw = nullptr;
    if (EVP_PKEY_get_bn_param(key.get(), name, &raw) != 1) {
      return OpenSslError("reading the escrow public key");
    }
    BignumPtr bn(raw);
    out->assign(static_cast<std::size_t>(BN_num_bytes(bn.get())), 0);
    BN_bn2bin(bn.get(), out->data());
  }
  return Status::Ok();
}

// SoSession is one session of the security officer on a module loaded for
// it alone; it logs out, closes and finalises when destroyed.
class SoSession {
 public:
  static StatusOr<std::unique_ptr<SoSession>> Open(const TokenOptions& options,
                                                   const SecretBytes& so_pin) {
    std::unique_ptr<SoSession> s(new SoSession());
    SR_RETURN_IF_ERROR(s->Load(options));
    SR_RETURN_IF_ERROR(s->FindSlot(options.token_uri));
    SR_RETURN_IF_ERROR(
        CkrStatus(s->fns_->C_OpenSession(s->slot_, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr,
                                         nullptr, &s->session_),
                  "C_OpenSession"));
    s->open_ = true;
    auto pin = so_pin.RevealSecret();
    CK_RV rv =
        s->fns_->C_Login(s->session_, CKU_SO, const_cast<CK_UTF8CHAR*>(pin.data()), pin.size());
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE) {
      return std::unexpected(Status::PermissionDenied("the security officer PIN is wrong"));
    }
    if (rv == CKR_USER_ANOTHER_ALREADY_LOGGED_IN || rv == CKR_SESSION_READ_ONLY_EXISTS) {
      return std::unexpected(Status::FailedPrecondition(
          "the token is in use by another session of this process; the security officer cannot "
          "log in"));
    }
    SR_RETURN_IF_ERROR(CkrStatus(rv, "C_Login (security officer)"));
    s->logged_in_ = true;
    return s;
  }

  ~SoSession() {
    if (logged_in_) (void)fns_->C_Logout(session_);
    if (open_) (void)fns_->C_CloseSession(session_);
    if (initialised_) (void)p11_kit_module_finalize(fns_);
    if (loaded_modules_ != nullptr) {
      p11_kit_modules_release(loaded_modules_);
    } else if (fns_ != nullptr) {
      p11_kit_module_release(fns_);
    }
  }

  CK_FUNCTION_LIST* fns() const { return fns_; }
  CK_SESSION_HANDLE session() const { return session_; }

 private:
  SoSession() = default;

  Status Load(const TokenOptions& options) {
    if (options.module.find('/') != std::string::npos) {
      fns_ = p11_kit_module_load(options.module.c_str(), 0);
    } else {
      loaded_modules_ = p11_kit_modules_load(nullptr, 0);
      fns_ = loaded_modules_ == nullptr
                 ? nullptr
                 : p11_kit_module_for_name(loaded_modules_, options.module.c_str());
    }
    if (fns_ == nullptr) {
      return Status::InvalidArgument("cannot load PKCS#11 module " + options.module);
    }
    SR_RETURN_IF_ERROR(CkrStatus(p11_kit_module_initialize(fns_), "C_Initialize"));
    initialised_ = true;
    return Status::Ok();
  }

  Status FindSlot(const std::string& token_uri) {
    std::unique_ptr<P11KitUri, void (*)(P11KitUri*)> uri(p11_kit_uri_new(), p11_kit_uri_free);
    if (!uri ||
        p11_kit_uri_parse(token_uri.c_str(), P11_KIT_URI_FOR_TOKEN, uri.get()) != P11_KIT_URI_OK) {
      return Status::InvalidArgument("the token URI is not a valid PKCS#11 URI");
    }
    CK_ULONG count = 0;
    SR_RETURN_IF_ERROR(CkrStatus(fns_->C_GetSlotList(CK_TRUE, nullptr, &count), "C_GetSlotList"));
    std::vector<CK_SLOT_ID> slots(count);
    if (count > 0) {
      SR_RETURN_IF_ERROR(
          CkrStatus(fns_->C_GetSlotList(CK_TRUE, slots.data(), &count), "C_GetSlotList"));
    }
    int matches = 0;
    for (CK_ULONG i = 0; i < count; ++i) {
      CK_TOKEN_INFO info{};
      if (fns_->C_GetTokenInfo(slots[i], &info) != CKR_OK) continue;
      if (p11_kit_uri_match_token_info(uri.get(), &info) != 1) continue;
      if (++matches == 1) slot_ = slots[i];
    }
    if (matches != 1) {
      return Status::FailedPrecondition("the token URI must match exactly one token (it matches " +
                                        std::to_string(matches) + ")");
    }
    return Status::Ok();
  }

  CK_FUNCTION_LIST** loaded_modules_ = nullptr;
  CK_FUNCTION_LIST* fns_ = nullptr;
  CK_SLOT_ID slot_ = 0;
  CK_SESSION_HANDLE session_ = CK_INVALID_HANDLE;
  bool initialised_ = false, open_ = false, logged_in_ = false;
};

}  // namespace

Status ImportTrustedEscrowKey(const TokenOptions& options, const SecretBytes& so_pin,
                              ByteSpan public_key_der, std::string_view fingerprint) {
  if (EscrowKeyFingerprint(public_key_der) != fingerprint) {
    return Status::InvalidArgument("the escrow public key does not have the given fingerprint");
  }
  Bytes modulus, exponent;
  SR_RETURN_IF_ERROR(RsaNumbers(public_key_der, &modulus, &exponent));
  SR_ASSIGN_OR_RETURN(std::unique_ptr<SoSession> so, SoSession::Open(options, so_pin));
  CK_FUNCTION_LIST* fns = so->fns();
  Attributes match = EscrowKeyMatch(fingerprint);
  CK_OBJECT_HANDLE existing = CK_INVALID_HANDLE;
  CK_RV rv = FindOneObject(fns, so->session(), match, &existing);
  if (rv == CKR_OK) {
    bool trusted = false;
    SR_RETURN_IF_ERROR(CkrStatus(ReadBool(fns, so->session(), existing, CKA_TRUSTED, &trusted),
                                 "reading the escrow key"));
    if (trusted) return Status::Ok();
    return Status::FailedPrecondition(
        "the token holds escrow key " + std::string(fingerprint.substr(0, 16)) +
        " but not as a trusted key; remove it and run the setup again");
  }
  Attributes t =
      TrustedEscrowKeyTemplate(fingerprint, EscrowKeyLabel(fingerprint), modulus, exponent);
  CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
  rv = fns->C_CreateObject(so->session(), t.data(), t.size(), &key);
  if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_TEMPLATE_INCONSISTENT) {
    return UnsupportedModule("trusted keys (CKA_TRUSTED)");
  }
  SR_RETURN_IF_ERROR(CkrStatus(rv, "importing the trusted escrow key"));
  bool trusted = false;
  rv = ReadBool(fns, so->session(), key, CKA_TRUSTED, &trusted);
  if (rv != CKR_OK || !trusted) {
    (void)fns->C_DestroyObject(so->session(), key);
    return UnsupportedModule("trusted keys (CKA_TRUSTED)");
  }
  return Status::Ok();
}

StatusOr<bool> TrustedEscrowKeyPresent(Token& token, std::string_view fingerprint) {
  bool present = false;
  SR_RETURN_IF_ERROR(
      token.Run("find the escrow key", [&](CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session) {
        Attributes match = EscrowKeyMatch(fingerprint);
        CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
        CK_RV rv = FindOneObject(fns, session, match, &key);
        if (rv == CKR_KEY_HANDLE_INVALID) {
          present = false;
          return CKR_OK;
        }
        if (rv != CKR_OK) return rv;
        return ReadBool(fns, session, key, CKA_TRUSTED, &present);
      }));
  return present;
}

StatusOr<Bytes> GenerateEscrowableKek(Token& token, std::string_view kek_id,
                                      std::string_view fingerprint) {
  SR_ASSIGN_OR_RETURN(bool exists, KekExists(token, kek_id));
  if (exists)
    return std::unexpected(Status::AlreadyExists("KEK " + std::string(kek_id) + " already exists"));
  const std::string label = KekLabel(kek_id);
  Bytes wrapped;
  Status problem;
  Status run = token.RunCreating(
      "generate escrowable KEK", [&](CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session) -> CK_RV {
        problem = Status::Ok();
        Attributes match = EscrowKeyMatch(fingerprint);
        CK_OBJECT_HANDLE escrow_key = CK_INVALID_HANDLE;
        CK_RV rv = FindOneObject(fns, session, match, &escrow_key);
        bool trusted = false;
        if (rv == CKR_OK) rv = ReadBool(fns, session, escrow_key, CKA_TRUSTED, &trusted);
        if (rv == CKR_KEY_HANDLE_INVALID || (rv == CKR_OK && !trusted)) {
          problem = Status::FailedPrecondition(
              "the token does not hold the trusted escrow key " +
              std::string(fingerprint.substr(0, 16)) +
              "; the security officer imports it with `strongroom escrow setup`");
          return CKR_OK;
        }
        if (rv != CKR_OK) return rv;
        Attributes t = EscrowableKekTemplate(kek_id, label);
        CK_MECHANISM gen{CKM_AES_KEY_GEN, nullptr, 0};
        CK_OBJECT_HANDLE kek = CK_INVALID_HANDLE;
        rv = fns->C_GenerateKey(session, &gen, t.data(), t.size(), &kek);
        if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_TEMPLATE_INCONSISTENT) {
          problem = UnsupportedModule("CKA_WRAP_WITH_TRUSTED");
          return CKR_OK;
        }
        if (rv != CKR_OK) return rv;
        bool wrap_with_trusted = false, sensitive = false;
        rv = ReadBool(fns, session, kek, CKA_WRAP_WITH_TRUSTED, &wrap_with_trusted);
        if (rv == CKR_OK) rv = ReadBool(fns, session, kek, CKA_SENSITIVE, &sensitive);
        if (rv != CKR_OK || !wrap_with_trusted || !sensitive) {
          (void)fns->C_DestroyObject(session, kek);
          problem = UnsupportedModule("CKA_WRAP_WITH_TRUSTED");
          return CKR_OK;
        }
        CK_RSA_PKCS_OAEP_PARAMS params = OaepParameters();
        CK_MECHANISM wrap{CKM_RSA_PKCS_OAEP, &params, sizeof params};
        wrapped.assign(kEscrowWrappedBytes, 0);
        CK_ULONG length = kEscrowWrappedBytes;
        rv = fns->C_WrapKey(session, &wrap, escrow_key, kek, wrapped.data(), &length);
        if (rv != CKR_OK) {
          // SECURITY: a KEK that could not be escrowed is not left behind to be
          // used as if it were.
          (void)fns->C_DestroyObject(session, kek);
          return rv;
        }
        wrapped.resize(length);
        return CKR_OK;
      });
  SR_RETURN_IF_ERROR(run);
  SR_RETURN_IF_ERROR(problem);
  return wrapped;
}

Status ImportRecoveredKek(Token& token, std::string_view kek_id, const SecretBytes& value) {
  if (value.size() != kKeyValueBytes) {
    return Status::IntegrityError("an escrowed KEK has the wrong length");
  }
  SR_ASSIGN_OR_RETURN(bool exists, KekExists(token, kek_id));
  if (exists)
    return Status::AlreadyExists("KEK " + std::string(kek_id) + " already exists in the token");
  const std::string label = KekLabel(kek_id);
  return token.RunCreating(
      "import recovered KEK", [&](CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session) {
        Attributes t = RecoveredKekTemplate(kek_id, label);
        std::vector<CK_ATTRIBUTE> attributes(t.data(), t.data() + t.size());
        // The value is read from locked memory; the template holds only a
        // pointer to it.
        attributes.push_back(CK_ATTRIBUTE{CKA_VALUE,
                                          const_cast<std::uint8_t*>(value.RevealSecret().data()),
                                          static_cast<CK_ULONG>(value.size())});
        CK_OBJECT_HANDLE kek = CK_INVALID_HANDLE;
        return fns->C_CreateObject(session, attributes.data(),
                                   static_cast<CK_ULONG>(attributes.size()), &kek);
      });
}

}  // namespace strongroom::crypto
