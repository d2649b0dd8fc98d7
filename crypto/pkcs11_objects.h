// crypto/pkcs11_objects.h — small helpers for PKCS#11 attribute templates
// and object search inside one session. Private to crypto/.
//
// Object handles found here are borrowed from the session they were found
// in and must not outlive it (they are used inside one Token::Run call).
#pragma once

#include <p11-kit/pkcs11.h>

#include <string_view>
#include <vector>

#include "base/bytes.h"

namespace strongroom::crypto {

// Attributes owns the storage behind a CK_ATTRIBUTE template.
class Attributes {
 public:
  Attributes& Bool(CK_ATTRIBUTE_TYPE type, bool value);
  Attributes& Ulong(CK_ATTRIBUTE_TYPE type, CK_ULONG value);
  Attributes& Data(CK_ATTRIBUTE_TYPE type, ByteSpan value);
  Attributes& Text(CK_ATTRIBUTE_TYPE type, std::string_view value);
  CK_ATTRIBUTE* data();
  CK_ULONG size() const { return static_cast<CK_ULONG>(types_.size()); }

 private:
  std::vector<CK_ATTRIBUTE_TYPE> types_;
  std::vector<Bytes> values_;
  std::vector<CK_ATTRIBUTE> built_;
};

// FindObjects returns every object matching `match` (at most `max`).
CK_RV FindObjects(CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session, Attributes& match,
                  std::vector<CK_OBJECT_HANDLE>* out, CK_ULONG max = 64);

// FindOneObject sets `out` to the single object matching `match`;
// CKR_KEY_HANDLE_INVALID when there is none or more than one.
CK_RV FindOneObject(CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session, Attributes& match,
                    CK_OBJECT_HANDLE* out);

// GetBytesAttribute reads one variable-length attribute.
CK_RV GetBytesAttribute(CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session,
                        CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type, Bytes* out);

}  // namespace strongroom::crypto
