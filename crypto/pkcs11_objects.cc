#include "crypto/pkcs11_objects.h"

#include <cstring>

namespace strongroom::crypto {

Attributes& Attributes::Bool(CK_ATTRIBUTE_TYPE type, bool value) {
  CK_BBOOL b = value ? CK_TRUE : CK_FALSE;
  return Data(type, ByteSpan(&b, sizeof b));
}

Attributes& Attributes::Ulong(CK_ATTRIBUTE_TYPE type, CK_ULONG value) {
  return Data(type, ByteSpan(reinterpret_cast<const std::uint8_t*>(&value), sizeof value));
}

Attributes& Attributes::Data(CK_ATTRIBUTE_TYPE type, ByteSpan value) {
  types_.push_back(type);
  values_.emplace_back(value.begin(), value.end());
  return *this;
}

Attributes& Attributes::Text(CK_ATTRIBUTE_TYPE type, std::string_view value) {
  return Data(type, AsBytes(value));
}

CK_ATTRIBUTE* Attributes::data() {
  built_.clear();
  for (std::size_t i = 0; i < types_.size(); ++i) {
    built_.push_back(CK_ATTRIBUTE{types_[i], values_[i].empty() ? nullptr : values_[i].data(),
                                  static_cast<CK_ULONG>(values_[i].size())});
  }
  return built_.data();
}

CK_RV FindObjects(CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session, Attributes& match,
                  std::vector<CK_OBJECT_HANDLE>* out, CK_ULONG max) {
  out->clear();
  CK_RV rv = fns->C_FindObjectsInit(session, match.data(), match.size());
  if (rv != CKR_OK) return rv;
  std::vector<CK_OBJECT_HANDLE> found(max);
  CK_ULONG count = 0;
  rv = fns->C_FindObjects(session, found.data(), max, &count);
  CK_RV final_rv = fns->C_FindObjectsFinal(session);
  if (rv != CKR_OK) return rv;
  if (final_rv != CKR_OK) return final_rv;
  found.resize(count);
  *out = std::move(found);
  return CKR_OK;
}

CK_RV FindOneObject(CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session, Attributes& match,
                    CK_OBJECT_HANDLE* out) {
  std::vector<CK_OBJECT_HANDLE> found;
  CK_RV rv = FindObjects(fns, session, match, &found, 2);
  if (rv != CKR_OK) return rv;
  if (found.size() != 1) return CKR_KEY_HANDLE_INVALID;
  *out = found[0];
  return CKR_OK;
}

CK_RV GetBytesAttribute(CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session,
                        CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type, Bytes* out) {
  CK_ATTRIBUTE attr{type, nullptr, 0};
  CK_RV rv = fns->C_GetAttributeValue(session, object, &attr, 1);
  if (rv != CKR_OK) return rv;
  if (attr.ulValueLen == CK_UNAVAILABLE_INFORMATION) return CKR_ATTRIBUTE_SENSITIVE;
  out->assign(attr.ulValueLen, 0);
  attr.pValue = out->data();
  return fns->C_GetAttributeValue(session, object, &attr, 1);
}

}  // namespace strongroom::crypto
