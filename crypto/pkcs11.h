// crypto/pkcs11.h — the PKCS#11 header as p11-kit ships it, plus the one
// function that turns a CK_RV into a Status. Private to crypto/.
#pragma once

#include <p11-kit/pkcs11.h>

#include <string_view>

#include "base/status.h"

namespace strongroom::crypto {

// CkrName returns the constant's name ("CKR_DEVICE_REMOVED"), or "CKR_0x..".
std::string CkrName(CK_RV rv);

// IsSessionLost: the session is gone but the token may be fine
// (CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED, CKR_USER_NOT_LOGGED_IN).
bool IsSessionLost(CK_RV rv);
// IsTokenLost: the device or token went away (CKR_DEVICE_REMOVED,
// CKR_TOKEN_NOT_PRESENT, CKR_DEVICE_ERROR, CKR_CRYPTOKI_NOT_INITIALIZED,
// CKR_SLOT_ID_INVALID, CKR_TOKEN_NOT_RECOGNIZED).
bool IsTokenLost(CK_RV rv);

// CkrStatus maps `rv` to a Status: OK for CKR_OK; kTokenUnavailable for lost
// sessions/tokens; kIntegrityError for CKR_WRAPPED_KEY_INVALID,
// CKR_ENCRYPTED_DATA_INVALID, CKR_SIGNATURE_INVALID; kPermissionDenied for
// CKR_PIN_INCORRECT/CKR_PIN_LOCKED; kInternal otherwise. The message is
// "<context>: <CKR name>".
Status CkrStatus(CK_RV rv, std::string_view context);

}  // namespace strongroom::crypto
