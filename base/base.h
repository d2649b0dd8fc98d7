// base/base.h — the vocabulary every Strongroom module shares. Read first.
//
//   status.h        Status, StatusOr<T> = std::expected<T, Status>, and the
//                   SR_RETURN_IF_ERROR / SR_ASSIGN_OR_RETURN macros.
//   secret_bytes.h  SecretBytes: the only home of plaintext keys and values.
//   secure_arena.h  the locked, wiped, undumpable region SecretBytes uses.
//   clock.h         injectable UTC clock (ManualClock for tests).
//   bytes.h         big-endian binary writer/reader and hex.
//   openssl_ptr.h   unique_ptr owners for OpenSSL handles, OpenSslError().
//   utf8.h          strict UTF-8 validation.
//   node_name.h     the one rule for node and cluster names.
//   json_text.h     JSON string literals written directly (hot paths).
//   shared_snapshot.h  a replaceable value read without a lock.
//   certificate_facts.h  what TLS verified about a client certificate.
//
// base/ depends on the C++ standard library and OpenSSL only.
#pragma once

#include "base/bytes.h"
#include "base/certificate_facts.h"
#include "base/clock.h"
#include "base/json_text.h"
#include "base/node_name.h"
#include "base/openssl_ptr.h"
#include "base/secret_bytes.h"
#include "base/secure_arena.h"
#include "base/shared_snapshot.h"
#include "base/status.h"
#include "base/utf8.h"
