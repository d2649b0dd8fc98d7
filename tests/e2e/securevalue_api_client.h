// tests/e2e/securevalue_api_client.h — helpers for the SecureValue API
// end-to-end tests (securevalue_api_test.cc): request bodies, JSON access,
// and a client whose every response is checked for secret values
// (SPEC 4 and 6.1: `spec.value` is never returned by any endpoint).
//
// Thread-safety: a SecretLedger may be shared by clients on several threads;
// an Api is used by one thread at a time (as HttpsClient).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/server_process.h"

namespace strongroom::testing_support {

// Collection and Item return the SecureValue paths of namespace `ns`.
inline std::string Collection(const std::string& ns) {
  return "/apis/secret.grafana.app/v1beta1/namespaces/" + ns + "/securevalues";
}
inline std::string Item(const std::string& ns, const std::string& name) {
  return Collection(ns) + "/" + name;
}

// Spec is one SecureValue request body; empty members are left out.
struct Spec {
  std::string name;
  std::string value;
  std::string description = "e2e value";
  std::vector<std::string> decrypters = {"demo-service"};
  std::map<std::string, std::string> labels;
  std::string resource_version;
  std::string generate_name;
};

// ToBody returns the JSON text of `spec` as a client would send it.
inline std::string ToBody(const Spec& spec) {
  nlohmann::json metadata = nlohmann::json::object();
  if (!spec.name.empty()) metadata["name"] = spec.name;
  if (!spec.generate_name.empty()) metadata["generateName"] = spec.generate_name;
  if (!spec.labels.empty()) metadata["labels"] = spec.labels;
  if (!spec.resource_version.empty()) metadata["resourceVersion"] = spec.resource_version;
  nlohmann::json body = nlohmann::json::object();
  body["apiVersion"] = "secret.grafana.app/v1beta1";
  body["kind"] = "SecureValue";
  body["metadata"] = metadata;
  body["spec"] = {
      {"description", spec.description}, {"value", spec.value}, {"decrypters", spec.decrypters}};
  return body.dump();
}

// Parse returns the JSON of `text`, or a discarded value if it is not JSON.
inline nlohmann::json Parse(const std::string& text) {
  return nlohmann::json::parse(text, nullptr, false);
}

// Str returns the string at the JSON pointer, or "" if absent or not a string.
inline std::string Str(const nlohmann::json& node, const std::string& pointer) {
  nlohmann::json::json_pointer at(pointer);
  if (node.is_discarded() || !node.contains(at) || !node.at(at).is_string()) return "";
  return node.at(at).get<std::string>();
}

// HasKeyNamedValue returns whether any object in `node` has a member "value".
inline bool HasKeyNamedValue(const nlohmann::json& node) {
  if (node.is_object()) {
    for (const auto& [key, child] : node.items()) {
      if (key == "value" || HasKeyNamedValue(child)) return true;
    }
  }
  if (node.is_array()) {
    for (const nlohmann::json& child : node) {
      if (HasKeyNamedValue(child)) return true;
    }
  }
  return false;
}

// SecretLedger remembers the secret values a test sent and checks responses
// for them.
class SecretLedger {
 public:
  // Remember watches `value` from now on (values under 6 bytes are too
  // common to search for).
  void Remember(const std::string& value) {
    if (value.size() < 6) return;
    std::lock_guard lock(mutex_);
    values_.push_back(value);
  }
  // Check records a failure if `response` has a member named "value" or
  // holds a remembered value. SECURITY: prints neither values nor the body.
  void Check(const std::string& what, const HttpsResponse& response) const {
    nlohmann::json body = Parse(response.body);
    EXPECT_FALSE(!body.is_discarded() && HasKeyNamedValue(body))
        << what << ": the response has a member named \"value\"";
    std::lock_guard lock(mutex_);
    for (const std::string& value : values_) {
      EXPECT_EQ(response.body.find(value), std::string::npos)
          << what << ": the response holds a secret value sent earlier";
    }
  }
  // Shown returns the status and the first 600 bytes of the body, with
  // remembered values replaced, for failure messages.
  std::string Shown(const HttpsResponse& response) const {
    std::string text = response.body.substr(0, 600);
    std::lock_guard lock(mutex_);
    for (const std::string& value : values_) {
      for (auto at = text.find(value); at != std::string::npos; at = text.find(value, at)) {
        text.replace(at, value.size(), "<redacted>");
      }
    }
    return "HTTP " + std::to_string(response.status) + " " + response.error + " " + text;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> values_;
};

// Api is one client whose every response goes through SecretLedger::Check.
class Api {
 public:
  // Api uses `client`; `ledger` must outlive it.
  Api(HttpsClient client, SecretLedger* ledger) : client_(std::move(client)), ledger_(ledger) {}

  HttpsResponse Send(const std::string& method, const std::string& path,
                     const std::string& body = "", const std::string& type = "application/json") {
    HttpsResponse response = client_.Request(method, path, body, type);
    ledger_->Check(method + " " + path, response);
    return response;
  }
  // Create and Replace remember spec.value before sending it.
  HttpsResponse Create(const std::string& ns, const Spec& spec) {
    ledger_->Remember(spec.value);
    return Send("POST", Collection(ns), ToBody(spec));
  }
  HttpsResponse Replace(const std::string& ns, const Spec& spec) {
    ledger_->Remember(spec.value);
    return Send("PUT", Item(ns, spec.name), ToBody(spec));
  }
  HttpsResponse Get(const std::string& ns, const std::string& name) {
    return Send("GET", Item(ns, name));
  }
  HttpsResponse Delete(const std::string& ns, const std::string& name) {
    return Send("DELETE", Item(ns, name));
  }
  // List appends `query` ("?labelSelector=...") verbatim.
  HttpsResponse List(const std::string& ns, const std::string& query = "") {
    return Send("GET", Collection(ns) + query);
  }
  std::string Shown(const HttpsResponse& response) const { return ledger_->Shown(response); }

  // ExpectFailure checks that `response` is a Kubernetes Status failure with
  // `code` and `reason` (the error body of /apis paths).
  void ExpectFailure(const HttpsResponse& response, long code, const std::string& reason,
                     const std::string& what) const {
    EXPECT_EQ(response.status, code) << what << ": " << Shown(response);
    if (response.status != code) return;  // the body checks would only repeat it
    nlohmann::json body = Parse(response.body);
    ASSERT_TRUE(body.is_object()) << what << ": " << Shown(response);
    EXPECT_EQ(Str(body, "/kind"), "Status") << what << ": " << Shown(response);
    EXPECT_EQ(Str(body, "/status"), "Failure") << what;
    EXPECT_EQ(body.value("code", 0L), code) << what;
    EXPECT_EQ(Str(body, "/reason"), reason) << what;
  }
  // ExpectMessage checks `response` has `code` and a {"message": ...} body
  // (the error body outside /apis).
  void ExpectMessage(const HttpsResponse& response, long code, const std::string& what) const {
    EXPECT_EQ(response.status, code) << what << ": " << Shown(response);
    nlohmann::json body = Parse(response.body);
    EXPECT_TRUE(body.is_object() && body.contains("message") && body["message"].is_string() &&
                !body.contains("kind"))
        << what << ": " << Shown(response);
  }

 private:
  HttpsClient client_;
  SecretLedger* ledger_;
};

// Anonymous returns a client with no credentials and no certificate.
inline Api Anonymous(const ServerProcess& server, SecretLedger* ledger) {
  return Api(HttpsClient(server.base_url(), server.ca_path()), ledger);
}

// Viewer adds user "olivia", Viewer in namespace "other" only, and returns a
// Basic-auth client for her.
inline Api Viewer(const ServerProcess& server, SecretLedger* ledger) {
  static const std::string kPassword = "viewer-password-0123";
  auto added = server.RunCli({"user", "add", "olivia", "--role", "Viewer", "--namespace", "other"},
                             kPassword + "\n");
  EXPECT_EQ(added.exit_code, 0) << added.err;
  HttpsClient client(server.base_url(), server.ca_path());
  client.SetBasicAuth("olivia", kPassword);
  return Api(std::move(client), ledger);
}

// ItemNames returns metadata.name of every item of a list response.
inline std::set<std::string> ItemNames(const HttpsResponse& response) {
  std::set<std::string> names;
  nlohmann::json body = Parse(response.body);
  if (!body.is_object() || !body.contains("items") || !body["items"].is_array()) return names;
  for (const nlohmann::json& item : body["items"]) names.insert(Str(item, "/metadata/name"));
  return names;
}

// ExpectSecureValue checks that `response` has `status` and is the
// SecureValue `ns`/`name` with the metadata SPEC 6.1 requires, and returns
// its JSON (an empty object if it is not JSON).
inline nlohmann::json ExpectSecureValue(const Api& api, const HttpsResponse& response, long status,
                                        const std::string& ns, const std::string& name) {
  EXPECT_EQ(response.status, status) << name << ": " << api.Shown(response);
  nlohmann::json body = Parse(response.body);
  if (!body.is_object()) return nlohmann::json::object();
  EXPECT_EQ(Str(body, "/apiVersion"), "secret.grafana.app/v1beta1");
  EXPECT_EQ(Str(body, "/kind"), "SecureValue");
  EXPECT_EQ(Str(body, "/metadata/name"), name);
  EXPECT_EQ(Str(body, "/metadata/namespace"), ns);
  EXPECT_FALSE(Str(body, "/metadata/uid").empty()) << name;
  EXPECT_FALSE(Str(body, "/metadata/resourceVersion").empty()) << name;
  EXPECT_TRUE(std::regex_match(Str(body, "/metadata/creationTimestamp"),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
      << name;
  EXPECT_TRUE(body.contains("spec") && body["spec"].is_object()) << name;
  return body;
}

}  // namespace strongroom::testing_support
