// crypto/pin_file.h — reading the token PIN. Private to crypto/.
//
// SECURITY: the PIN comes only from a file that is a regular file owned by
// the effective user with no group or other permission bits, opened with
// O_NOFOLLOW and checked with fstat on the open descriptor (no race between
// check and read). It is never taken from argv, never logged, and lives only
// in SecretBytes.
#pragma once

#include <string>

#include "base/secret_bytes.h"
#include "base/status.h"

namespace strongroom::crypto {

// ReadPinFile returns the file's first line (without the newline).
// kPermissionDenied: a symlink, not a regular file, owned by another user, or
// group/other bits set (the message says which and how to fix it).
// kNotFound: missing. kInvalidArgument: empty or longer than 256 bytes.
StatusOr<SecretBytes> ReadPinFile(const std::string& path);

}  // namespace strongroom::crypto
