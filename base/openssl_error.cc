#include <openssl/err.h>

#include <string>

#include "base/openssl_ptr.h"

namespace strongroom {

Status OpenSslError(std::string_view context) {
  unsigned long first = ERR_get_error();
  std::string message(context);
  if (first != 0) {
    char buf[256];
    ERR_error_string_n(first, buf, sizeof buf);
    message += ": ";
    message += buf;
  }
  ERR_clear_error();
  return Status::Internal(std::move(message));
}

void ClearOpenSslErrors() { ERR_clear_error(); }

}  // namespace strongroom
