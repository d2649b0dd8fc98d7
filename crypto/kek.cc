#include "crypto/kek.h"

#include <openssl/crypto.h>

#include "crypto/key_templates.h"
#include "crypto/pkcs11.h"
#include "crypto/pkcs11_objects.h"

namespace strongroom::crypto {
namespace {

constexpr std::string_view kKekLabelPrefix = "strongroom-kek-";
constexpr CK_ULONG kKeyBytes = kKeyValueBytes;
constexpr CK_ULONG kWrappedBytes = kKeyBytes + 8;  // RFC 3394 adds one 64-bit block

CK_MECHANISM WrapMechanism() { return CK_MECHANISM{CKM_AES_KEY_WRAP, nullptr, 0}; }

Attributes KekMatch(std::string_view kek_id) {
  Attributes t;
  t.Ulong(CKA_CLASS, CKO_SECRET_KEY).Ulong(CKA_KEY_TYPE, CKK_AES).Bool(CKA_TOKEN, true).Text(CKA_ID, kek_id);
  return t;
}

// FindKek finds the KEK in `session`; CKR_KEY_HANDLE_INVALID when absent.
CK_RV FindKek(CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session, std::string_view kek_id,
              CK_OBJECT_HANDLE* kek) {
  Attributes match = KekMatch(kek_id);
  return FindOneObject(fns, session, match, kek);
}

Status KekStatus(CK_RV rv, std::string_view what, std::string_view kek_id) {
  if (rv == CKR_KEY_HANDLE_INVALID) {
    return Status::NotFound("KEK " + std::string(kek_id) + " is not in the token");
  }
  return CkrStatus(rv, what);
}

// ReadValue copies CKA_VALUE of a (non-sensitive session) key into `out`.
CK_RV ReadValue(CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key,
                SecretBytes* out) {
  if (out->size() != kKeyBytes) return CKR_HOST_MEMORY;
  CK_ATTRIBUTE attr{CKA_VALUE, out->RevealMutableSecret().data(), kKeyBytes};
  CK_RV rv = fns->C_GetAttributeValue(session, key, &attr, 1);
  if (rv == CKR_OK && attr.ulValueLen != kKeyBytes) rv = CKR_GENERAL_ERROR;
  return rv;
}

}  // namespace

std::string KekLabel(std::string_view kek_id) {
  return std::string(kKekLabelPrefix) + std::string(kek_id);
}

Status GenerateKek(Token& token, std::string_view kek_id) {
  SR_ASSIGN_OR_RETURN(bool exists, KekExists(token, kek_id));
  if (exists) return Status::AlreadyExists("KEK " + std::string(kek_id) + " already exists");
  std::string label = KekLabel(kek_id);
  return token.RunCreating("generate KEK", [&](CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session) {
    Attributes t = KekTemplate(kek_id, label);
    CK_MECHANISM mechanism{CKM_AES_KEY_GEN, nullptr, 0};
    CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
    return fns->C_GenerateKey(session, &mechanism, t.data(), t.size(), &key);
  });
}

StatusOr<bool> KekExists(Token& token, std::string_view kek_id) {
  bool exists = false;
  SR_RETURN_IF_ERROR(token.Run("find KEK", [&](CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session) {
    CK_OBJECT_HANDLE kek = CK_INVALID_HANDLE;
    CK_RV rv = FindKek(fns, session, kek_id, &kek);
    exists = rv == CKR_OK;
    return rv == CKR_KEY_HANDLE_INVALID ? CKR_OK : rv;
  }));
  return exists;
}

StatusOr<std::vector<std::string>> ListKekIds(Token& token) {
  std::vector<std::string> ids;
  SR_RETURN_IF_ERROR(token.Run("list KEKs", [&](CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session) {
    ids.clear();
    Attributes match;
    match.Ulong(CKA_CLASS, CKO_SECRET_KEY).Ulong(CKA_KEY_TYPE, CKK_AES).Bool(CKA_TOKEN, true);
    std::vector<CK_OBJECT_HANDLE> found;
    CK_RV rv = FindObjects(fns, session, match, &found, 4096);
    if (rv != CKR_OK) return rv;
    for (CK_OBJECT_HANDLE h : found) {
      Bytes label, id;
      if (GetBytesAttribute(fns, session, h, CKA_LABEL, &label) != CKR_OK) continue;
      if (AsChars(label).substr(0, kKekLabelPrefix.size()) != kKekLabelPrefix) continue;
      if (GetBytesAttribute(fns, session, h, CKA_ID, &id) != CKR_OK) continue;
      ids.emplace_back(AsChars(id));
    }
    return CKR_OK;
  }));
  return ids;
}

StatusOr<GeneratedKey> GenerateWrappedKey(Token& token, std::string_view kek_id,
                                          WrappedKeyType type) {
  GeneratedKey out;
  SR_ASSIGN_OR_RETURN(out.plaintext, SecretBytes::Allocate(kKeyBytes));
  CK_RV failed_rv = CKR_OK;
  Status run = token.RunWithSessionObjects("generate data key", [&](CK_FUNCTION_LIST* fns,
                                                                    CK_SESSION_HANDLE session,
                                                                    SessionObjects& created) {
    CK_OBJECT_HANDLE kek = CK_INVALID_HANDLE;
    CK_RV rv = FindKek(fns, session, kek_id, &kek);
    if (rv != CKR_OK) return failed_rv = rv;
    Attributes t = SessionKeyTemplate(type, /*with_length=*/true);
    CK_MECHANISM gen{type == WrappedKeyType::kAes256 ? CKM_AES_KEY_GEN : CKM_GENERIC_SECRET_KEY_GEN,
                     nullptr, 0};
    CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
    rv = fns->C_GenerateKey(session, &gen, t.data(), t.size(), &key);
    if (rv != CKR_OK) return failed_rv = rv;
    created.Add(key);
    CK_MECHANISM wrap = WrapMechanism();
    out.wrapped.assign(kWrappedBytes, 0);
    CK_ULONG wrapped_len = kWrappedBytes;
    rv = fns->C_WrapKey(session, &wrap, kek, key, out.wrapped.data(), &wrapped_len);
    if (rv == CKR_OK) {
      out.wrapped.resize(wrapped_len);
      rv = ReadValue(fns, session, key, &out.plaintext);
    }
    return failed_rv = rv;
  });
  if (!run.ok()) return std::unexpected(failed_rv == CKR_KEY_HANDLE_INVALID ? KekStatus(failed_rv, "", kek_id) : run);
  return out;
}

StatusOr<SecretBytes> UnwrapKey(Token& token, std::string_view kek_id, ByteSpan wrapped,
                                WrappedKeyType type) {
  if (wrapped.size() != kWrappedBytes) {
    return std::unexpected(Status::IntegrityError("wrapped key has the wrong length"));
  }
  SR_ASSIGN_OR_RETURN(SecretBytes plaintext, SecretBytes::Allocate(kKeyBytes));
  CK_RV failed_rv = CKR_OK;
  Status run = token.RunWithSessionObjects("unwrap key", [&](CK_FUNCTION_LIST* fns,
                                                             CK_SESSION_HANDLE session,
                                                             SessionObjects& created) {
    CK_OBJECT_HANDLE kek = CK_INVALID_HANDLE;
    CK_RV rv = FindKek(fns, session, kek_id, &kek);
    if (rv != CKR_OK) return failed_rv = rv;
    Attributes t = SessionKeyTemplate(type, /*with_length=*/false);
    CK_MECHANISM wrap = WrapMechanism();
    CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
    rv = fns->C_UnwrapKey(session, &wrap, kek, const_cast<CK_BYTE*>(wrapped.data()),
                          wrapped.size(), t.data(), t.size(), &key);
    if (rv != CKR_OK) return failed_rv = rv;
    created.Add(key);
    return failed_rv = ReadValue(fns, session, key, &plaintext);
  });
  if (!run.ok()) {
    if (failed_rv == CKR_KEY_HANDLE_INVALID) return std::unexpected(KekStatus(failed_rv, "", kek_id));
    if (failed_rv == CKR_ENCRYPTED_DATA_INVALID || failed_rv == CKR_WRAPPED_KEY_INVALID ||
        failed_rv == CKR_FUNCTION_FAILED || failed_rv == CKR_GENERAL_ERROR) {
      // SoftHSM reports a failed RFC 3394 integrity check as a generic failure.
      return std::unexpected(Status::IntegrityError("wrapped key failed to unwrap under KEK " +
                                                    std::string(kek_id)));
    }
    return std::unexpected(run);
  }
  return plaintext;
}

StatusOr<Bytes> RewrapKey(Token& token, std::string_view from_kek_id, std::string_view to_kek_id,
                          ByteSpan wrapped, WrappedKeyType type) {
  if (wrapped.size() != kWrappedBytes) {
    return std::unexpected(Status::IntegrityError("wrapped key has the wrong length"));
  }
  Bytes rewrapped(kWrappedBytes, 0);
  CK_RV failed_rv = CKR_OK;
  Status run = token.RunWithSessionObjects("rewrap key", [&](CK_FUNCTION_LIST* fns,
                                                             CK_SESSION_HANDLE session,
                                                             SessionObjects& created) {
    CK_OBJECT_HANDLE from = CK_INVALID_HANDLE, to = CK_INVALID_HANDLE;
    CK_RV rv = FindKek(fns, session, from_kek_id, &from);
    if (rv == CKR_OK) rv = FindKek(fns, session, to_kek_id, &to);
    if (rv != CKR_OK) return failed_rv = rv;
    Attributes t = SessionKeyTemplate(type, /*with_length=*/false);
    CK_MECHANISM wrap = WrapMechanism();
    CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
    rv = fns->C_UnwrapKey(session, &wrap, from, const_cast<CK_BYTE*>(wrapped.data()),
                          wrapped.size(), t.data(), t.size(), &key);
    if (rv != CKR_OK) return failed_rv = rv;
    created.Add(key);
    CK_ULONG len = kWrappedBytes;
    rewrapped.assign(kWrappedBytes, 0);
    rv = fns->C_WrapKey(session, &wrap, to, key, rewrapped.data(), &len);
    if (rv == CKR_OK) rewrapped.resize(len);
    return failed_rv = rv;
  });
  if (!run.ok()) {
    if (failed_rv == CKR_KEY_HANDLE_INVALID) {
      return std::unexpected(Status::NotFound("a KEK needed for re-wrapping is not in the token"));
    }
    return std::unexpected(run);
  }
  return rewrapped;
}

}  // namespace strongroom::crypto
