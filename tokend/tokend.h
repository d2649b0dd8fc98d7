// tokend/tokend.h — the token behind a privilege boundary (issue 17).
//
// `strongroom tokend` runs as its own system user, the only one that can
// read the token's files and the PIN file. It serves, over a unix socket,
// exactly the operations of crypto::TokenService (crypto/token_service.h)
// to one allowed uid (the appliance's), checked with SO_PEERCRED on every
// connection; the appliance process then holds neither the PIN nor the
// PKCS#11 module. tokend audits nothing: the appliance records every
// operation it asks for in its own audit log.
//
//   TokendServer            the service, over a crypto::TokenService
//   ConnectTokenService     the appliance's side: a crypto::TokenService
//                           whose calls go through the socket
//
// protocol.h (private) is the wire format; docs/tokend.md the deployment.
// Thread-safety: TokendServer's methods and the client are thread-safe.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>

#include "base/status.h"
#include "crypto/token_service.h"

namespace strongroom::tokend {

struct TokendServerOptions {
  // The socket's path. An existing socket there is replaced; anything else
  // there is refused. Required.
  std::string socket_path;
  // The socket file's mode. Default 0660: the appliance's user reaches it
  // through the socket's group (docs/tokend.md).
  mode_t socket_mode = 0660;
  // The only peer uid served (SO_PEERCRED); every other peer is closed
  // before it can send a frame. Required.
  uid_t allowed_uid = 0;
  // Connections served at once; more are closed at accept. Default 64.
  std::size_t max_connections = 64;
};

class TokendServer {
 public:
  // Start binds the socket and serves `service` from threads of its own.
  // `service` must outlive the server. kInvalidArgument for a bad path,
  // kUnavailable when the socket cannot be bound.
  static StatusOr<std::unique_ptr<TokendServer>> Start(const TokendServerOptions& options,
                                                       crypto::TokenService& service);
  // Stopping closes the socket and every connection, then joins.
  ~TokendServer();
  void Stop();

  // Counters, for tests: connections refused for their uid, and connections
  // closed for a malformed frame.
  std::uint64_t refused_peers() const;
  std::uint64_t malformed_frames() const;

  struct Impl;

 private:
  explicit TokendServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct TokenServiceClientOptions {
  // The socket tokend listens on. Required.
  std::string socket_path;
  // Connections kept open for reuse at most. Default 8.
  std::size_t max_idle_connections = 8;
};

// ConnectTokenService returns a crypto::TokenService whose calls go to
// tokend, after a first kProbe answered (kTokenUnavailable when tokend is
// not reachable or refuses this process). A call whose connection breaks
// is tried once more on a new connection; a service that stays unreachable
// gives kTokenUnavailable.
StatusOr<std::unique_ptr<crypto::TokenService>> ConnectTokenService(
    const TokenServiceClientOptions& options);

// ParseServiceAddress turns "unix:/abs/path" into the path: kInvalidArgument
// for any other form.
StatusOr<std::string> ParseServiceAddress(std::string_view address);

}  // namespace strongroom::tokend
