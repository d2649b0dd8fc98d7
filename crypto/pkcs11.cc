#include "crypto/pkcs11.h"

#include <cstdio>
#include <string>

namespace strongroom::crypto {

std::string CkrName(CK_RV rv) {
  switch (rv) {
#define SR_CKR(name) case name: return #name;
    SR_CKR(CKR_OK)
    SR_CKR(CKR_GENERAL_ERROR)
    SR_CKR(CKR_HOST_MEMORY)
    SR_CKR(CKR_FUNCTION_FAILED)
    SR_CKR(CKR_ARGUMENTS_BAD)
    SR_CKR(CKR_ATTRIBUTE_SENSITIVE)
    SR_CKR(CKR_ATTRIBUTE_TYPE_INVALID)
    SR_CKR(CKR_ATTRIBUTE_VALUE_INVALID)
    SR_CKR(CKR_DEVICE_ERROR)
    SR_CKR(CKR_DEVICE_MEMORY)
    SR_CKR(CKR_DEVICE_REMOVED)
    SR_CKR(CKR_ENCRYPTED_DATA_INVALID)
    SR_CKR(CKR_KEY_HANDLE_INVALID)
    SR_CKR(CKR_KEY_FUNCTION_NOT_PERMITTED)
    SR_CKR(CKR_KEY_UNEXTRACTABLE)
    SR_CKR(CKR_MECHANISM_INVALID)
    SR_CKR(CKR_MECHANISM_PARAM_INVALID)
    SR_CKR(CKR_OBJECT_HANDLE_INVALID)
    SR_CKR(CKR_OPERATION_ACTIVE)
    SR_CKR(CKR_PIN_INCORRECT)
    SR_CKR(CKR_PIN_LOCKED)
    SR_CKR(CKR_SESSION_CLOSED)
    SR_CKR(CKR_SESSION_COUNT)
    SR_CKR(CKR_SESSION_HANDLE_INVALID)
    SR_CKR(CKR_SIGNATURE_INVALID)
    SR_CKR(CKR_SLOT_ID_INVALID)
    SR_CKR(CKR_TEMPLATE_INCOMPLETE)
    SR_CKR(CKR_TEMPLATE_INCONSISTENT)
    SR_CKR(CKR_TOKEN_NOT_PRESENT)
    SR_CKR(CKR_TOKEN_NOT_RECOGNIZED)
    SR_CKR(CKR_USER_ALREADY_LOGGED_IN)
    SR_CKR(CKR_USER_NOT_LOGGED_IN)
    SR_CKR(CKR_USER_PIN_NOT_INITIALIZED)
    SR_CKR(CKR_WRAPPED_KEY_INVALID)
    SR_CKR(CKR_WRAPPED_KEY_LEN_RANGE)
    SR_CKR(CKR_BUFFER_TOO_SMALL)
    SR_CKR(CKR_CRYPTOKI_NOT_INITIALIZED)
    SR_CKR(CKR_CRYPTOKI_ALREADY_INITIALIZED)
#undef SR_CKR
    default: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "CKR_0x%lx", static_cast<unsigned long>(rv));
      return buf;
    }
  }
}

bool IsSessionLost(CK_RV rv) {
  return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
         rv == CKR_USER_NOT_LOGGED_IN;
}

bool IsTokenLost(CK_RV rv) {
  return rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_ERROR ||
         rv == CKR_CRYPTOKI_NOT_INITIALIZED || rv == CKR_SLOT_ID_INVALID ||
         rv == CKR_TOKEN_NOT_RECOGNIZED;
}

Status CkrStatus(CK_RV rv, std::string_view context) {
  if (rv == CKR_OK) return Status::Ok();
  std::string message(context);
  message += ": ";
  message += CkrName(rv);
  if (IsSessionLost(rv) || IsTokenLost(rv)) return Status::TokenUnavailable(std::move(message));
  switch (rv) {
    case CKR_WRAPPED_KEY_INVALID:
    case CKR_WRAPPED_KEY_LEN_RANGE:
    case CKR_ENCRYPTED_DATA_INVALID:
    case CKR_SIGNATURE_INVALID:
      return Status::IntegrityError(std::move(message));
    case CKR_PIN_INCORRECT:
    case CKR_PIN_LOCKED:
      return Status::PermissionDenied(std::move(message));
    default:
      return Status::Internal(std::move(message));
  }
}

}  // namespace strongroom::crypto
