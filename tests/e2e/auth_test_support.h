// tests/e2e/auth_test_support.h — helpers for the authentication and
// authorization end-to-end tests (auth_test.cc): accounts made with the
// `strongroom` CLI while the server runs, clients for each kind of
// credential, SecureValue request bodies, and one row of the authorization
// matrix (SPEC sections 4 and 7).
//
// SECURITY: passwords and tokens made here are secrets even in tests: they
// are never printed; failure messages name the login or the token's public
// id, never the secret.
//
// Thread-safety: functions; an HttpsClient is used by one thread at a time.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/https_client.h"
#include "tests/support/server_process.h"

namespace strongroom::testing_support {

// SecureValues and SecureValue return the collection and item paths of `ns`.
inline std::string SecureValues(const std::string& ns) {
  return "/apis/secret.grafana.app/v1beta1/namespaces/" + ns + "/securevalues";
}
inline std::string SecureValue(const std::string& ns, const std::string& name) {
  return SecureValues(ns) + "/" + name;
}

inline const std::string kRotateDataKeys = "/api/admin/encryption/rotate-data-keys";

// PasswordOf is the test password of `login` (at least 12 characters, as
// the server requires). SECURITY: never printed.
inline std::string PasswordOf(const std::string& login) { return login + "-pass-phrase-42"; }

// ValueBody is a valid create/replace body for the SecureValue `name`.
inline std::string ValueBody(const std::string& name) {
  nlohmann::json body = {
      {"apiVersion", "secret.grafana.app/v1beta1"},
      {"kind", "SecureValue"},
      {"metadata", {{"name", name}}},
      {"spec", {{"description", "auth e2e"}, {"value", "v-" + name}, {"decrypters", {"svc-x"}}}}};
  return body.dump();
}

// AddUser runs `strongroom user add LOGIN [--role R --namespace NS]
// [--server-admin]` with PasswordOf(login) on stdin; returns the CLI result.
inline ServerProcess::CliResult AddUser(const ServerProcess& server, const std::string& login,
                                        const std::string& role = "", const std::string& ns = "",
                                        bool server_admin = false) {
  std::vector<std::string> args = {"user", "add", login};
  if (!role.empty()) args.insert(args.end(), {"--role", role, "--namespace", ns});
  if (server_admin) args.push_back("--server-admin");
  return server.RunCli(args, PasswordOf(login) + "\n");
}

// AddUserWithId runs AddUser and returns the id the CLI printed ("" after
// recording a failure with the exit code and the CLI's stderr).
inline std::string AddUserWithId(const ServerProcess& server, const std::string& login,
                                 const std::string& role = "", const std::string& ns = "",
                                 bool server_admin = false) {
  ServerProcess::CliResult added = AddUser(server, login, role, ns, server_admin);
  const std::size_t at = added.out.find("(id ");
  if (added.exit_code != 0 || at == std::string::npos) {
    ADD_FAILURE() << "user add " << login << " exited " << added.exit_code << ": " << added.err;
    return "";
  }
  return added.out.substr(at + 4, added.out.find(')', at) - at - 4);
}

// ParseBody reads a response body as JSON: a discarded value (not an
// exception) when the body is not JSON.
inline nlohmann::json ParseBody(const HttpsResponse& response) {
  return nlohmann::json::parse(response.body, nullptr, false);
}

// Contains says whether `haystack` holds `needle`; an empty needle (a
// value a failed step left empty) is never found, so it cannot pass a check.
inline bool Contains(const std::string& haystack, const std::string& needle) {
  return !needle.empty() && haystack.find(needle) != std::string::npos;
}

// IssueToken runs `strongroom token create` and returns the token (stdout
// without its newline), or "" after recording a failure with the CLI's
// stderr (which never holds the token).
inline std::string IssueToken(const ServerProcess& server, const std::string& owner,
                              const std::string& role, const std::string& ns,
                              const std::string& ttl = "") {
  std::vector<std::string> args = {"token",  "create", "--user",      owner,
                                   "--role", role,     "--namespace", ns};
  if (!ttl.empty()) args.insert(args.end(), {"--ttl", ttl});
  ServerProcess::CliResult created = server.RunCli(args);
  std::string token = created.out;
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  if (created.exit_code != 0 || !token.starts_with("srt_") || token.size() != 85) {
    ADD_FAILURE() << "token create --user " << owner << " --role " << role << " exited "
                  << created.exit_code << ": " << created.err;
    return "";
  }
  return token;
}

// Base64 encodes `text` with OpenSSL (for hand-made Authorization headers).
inline std::string Base64(const std::string& text) {
  std::string out(4 * ((text.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// HeaderClient sends `authorization` verbatim as the Authorization header.
inline HttpsClient HeaderClient(const ServerProcess& server, const std::string& authorization) {
  HttpsClient client(server.base_url(), server.ca_path());
  client.SetHeader("Authorization", authorization);
  return client;
}

// CliOk runs `args` and records a failure (with stderr) unless it exits 0.
inline void CliOk(const ServerProcess& server, const std::vector<std::string>& args,
                  const std::string& stdin_text = "") {
  ServerProcess::CliResult result = server.RunCli(args, stdin_text);
  EXPECT_EQ(result.exit_code, 0) << args[0] << " " << args[1] << ": " << result.err;
}

// TokenId returns the public id inside "srt_<16 hex id>_<64 hex secret>".
inline std::string TokenId(const std::string& token) { return token.substr(4, 16); }

inline HttpsClient BasicClient(const ServerProcess& server, const std::string& login,
                               const std::string& password) {
  HttpsClient client(server.base_url(), server.ca_path());
  client.SetBasicAuth(login, password);
  return client;
}
inline HttpsClient TokenClient(const ServerProcess& server, const std::string& token) {
  HttpsClient client(server.base_url(), server.ca_path());
  client.SetBearerToken(token);
  return client;
}

inline long ListStatus(HttpsClient& client, const std::string& ns) {
  return client.Request("GET", SecureValues(ns)).status;
}
inline long CreateStatus(HttpsClient& client, const std::string& ns, const std::string& name) {
  return client.Request("POST", SecureValues(ns), ValueBody(name)).status;
}
inline long DeleteStatus(HttpsClient& client, const std::string& ns, const std::string& name) {
  return client.Request("DELETE", SecureValue(ns, name)).status;
}
inline long RotateStatus(HttpsClient& client) {
  return client.Request("POST", kRotateDataKeys, "", "").status;
}

// The outcomes MatrixRow reports for a caller that may do everything in the
// namespace, only read there, or nothing there.
inline const std::string kAllAllowed = "create=201 list=200 get=200 replace=200 delete=200";
inline const std::string kReadOnly = "create=403 list=200 get=200 replace=403 delete=403";
inline const std::string kAllDenied = "create=403 list=403 get=403 replace=403 delete=403";

// MatrixRow has `admin` (a server admin) create the value "t-<tag>" in `ns`,
// then runs create ("c-<tag>"), list, get, replace and delete (of
// "t-<tag>") as `client`, and returns their statuses as
// "create=S list=S get=S replace=S delete=S". REQUIRES: `tag` makes valid
// object names and is unique per server.
inline std::string MatrixRow(HttpsClient& client, HttpsClient& admin, const std::string& ns,
                             const std::string& tag) {
  const std::string target = "t-" + tag;
  EXPECT_EQ(CreateStatus(admin, ns, target), 201) << "fixture " << ns << "/" << target;
  const long create = CreateStatus(client, ns, "c-" + tag);
  const long list = ListStatus(client, ns);
  const long get = client.Request("GET", SecureValue(ns, target)).status;
  const long replace = client.Request("PUT", SecureValue(ns, target), ValueBody(target)).status;
  const long remove = DeleteStatus(client, ns, target);
  return "create=" + std::to_string(create) + " list=" + std::to_string(list) +
         " get=" + std::to_string(get) + " replace=" + std::to_string(replace) +
         " delete=" + std::to_string(remove);
}

}  // namespace strongroom::testing_support
