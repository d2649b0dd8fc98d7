// tokend/request_handler.h — one request frame in, one answer out, on a
// crypto::TokenService (private to tokend/).
// Thread-safety: as the service.
#pragma once

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "crypto/token_service.h"
#include "tokend/protocol.h"

namespace strongroom::tokend {

// Response is a whole answer frame: in `secret` when it carries key
// material, else in `plain`.
struct Response {
  Bytes plain;
  SecretBytes secret;
};

// HandleRequest validates `body` (a request frame without its length)
// field by field, runs it on `service` and fills `out`. False, having run
// nothing, when the frame is malformed: unknown op, a field missing, out of
// bounds or invalid (a KEK id, a key type, an anchor that does not parse),
// or bytes left over; the caller then closes the connection.
bool HandleRequest(crypto::TokenService& service, ByteSpan body, Response* out);

}  // namespace strongroom::tokend
