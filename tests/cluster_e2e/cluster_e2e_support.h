// tests/cluster_e2e/cluster_e2e_support.h — what the cluster end-to-end and
// chaos tests share (issue 18): the policy that lets the decrypter
// certificate decrypt, request paths and bodies, a node's whole SecureValue
// set (paged list), polling with a bound, the SHA-256 of a value (the tests
// compare hashes, never print values) and percentiles.
//
// SECURITY: values the tests send are compared through their SHA-256 only;
// failure messages name records, never values.
//
// Thread-safety: functions; each HttpsClient is used by one thread.
#pragma once

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/https_client.h"

namespace strongroom::testing_support::cluster_e2e {

// kPolicy binds the decrypter certificate (CN demo-service) to the
// Decrypter role (SecureValue and Sensu decrypts) in the test namespaces.
inline const char kPolicy[] = R"({"bindings": [
  {"service": "demo-service", "role": "Decrypter", "namespace": "c1"},
  {"service": "demo-service", "role": "Decrypter", "namespace": "chaos"}
]})";

inline std::string Collection(const std::string& ns) {
  return "/apis/secret.grafana.app/v1beta1/namespaces/" + ns + "/securevalues";
}
inline std::string Item(const std::string& ns, const std::string& name) {
  return Collection(ns) + "/" + name;
}
inline std::string DecryptOne(const std::string& ns, const std::string& name) {
  return Item(ns, name) + "/decrypt";
}
inline std::string DecryptBatch(const std::string& ns) {
  return "/apis/secret.grafana.app/v1beta1/namespaces/" + ns + "/decrypt";
}

// SecureValueBody is a create (or, with `resource_version`, replace) body.
inline std::string SecureValueBody(const std::string& name, const std::string& value,
                                   const std::string& description = "cluster e2e",
                                   const std::string& resource_version = "") {
  nlohmann::json metadata = {{"name", name}};
  if (!resource_version.empty()) metadata["resourceVersion"] = resource_version;
  return nlohmann::json(
             {{"apiVersion", "secret.grafana.app/v1beta1"},
              {"kind", "SecureValue"},
              {"metadata", metadata},
              {"spec",
               {{"description", description}, {"value", value}, {"decrypters", {"demo-service"}}}}})
      .dump();
}

inline nlohmann::json ParseJson(const std::string& text) {
  return nlohmann::json::parse(text, nullptr, false);
}

// Sha256Hex is the SHA-256 of `value`, hex: what the tests keep and
// compare instead of the value.
inline std::string Sha256Hex(const std::string& value) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(value.data(), value.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return "";
  }
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

// WaitUntil calls `done` every 20 ms until it returns true or `limit`
// passes; returns its last answer.
inline bool WaitUntil(const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// ListedSet is a node's SecureValues of one namespace: name ->
// resourceVersion, read with paged lists (limit 500). `ok` is false when a
// page did not answer 200.
struct ListedSet {
  bool ok = false;
  std::map<std::string, std::string> versions;
};
inline ListedSet ListAll(HttpsClient& client, const std::string& ns) {
  ListedSet set;
  std::string next;
  for (int page = 0; page < 1000; ++page) {
    HttpsResponse listed = client.Request(
        "GET", Collection(ns) + "?limit=500" + (next.empty() ? "" : "&continue=" + next));
    if (listed.status != 200) return set;
    nlohmann::json body = ParseJson(listed.body);
    if (body.is_discarded()) return set;
    for (const nlohmann::json& item : body.value("items", nlohmann::json::array())) {
      set.versions[item["metadata"].value("name", "")] =
          item["metadata"].value("resourceVersion", "");
    }
    next = body["metadata"].value("continue", "");
    if (next.empty()) {
      set.ok = true;
      return set;
    }
  }
  return set;
}

// DecryptedHashes decrypts `names` in `ns` through the batch endpoint (100
// names a request) and returns name -> SHA-256 of the value for every name
// that decrypted; names that failed are left out.
inline std::map<std::string, std::string> DecryptedHashes(HttpsClient& decrypter,
                                                          const std::string& ns,
                                                          const std::vector<std::string>& names) {
  std::map<std::string, std::string> hashes;
  for (std::size_t at = 0; at < names.size(); at += 100) {
    const std::vector<std::string> chunk(names.begin() + at,
                                         names.begin() + std::min(names.size(), at + 100));
    HttpsResponse batch =
        decrypter.Request("POST", DecryptBatch(ns), nlohmann::json({{"names", chunk}}).dump());
    if (batch.status != 200) continue;
    nlohmann::json results = ParseJson(batch.body)["results"];
    if (!results.is_object()) continue;
    for (const std::string& name : chunk) {
      if (results.contains(name) && results[name].contains("value") &&
          results[name]["value"].is_string()) {
        hashes[name] = Sha256Hex(results[name]["value"].get<std::string>());
      }
    }
  }
  return hashes;
}

// OkLines counts the logs `strongroom audit verify` reported as verified
// ("OK records=" once per log).
inline int OkLines(const std::string& out) {
  int count = 0;
  for (std::size_t at = out.find("OK records="); at != std::string::npos;
       at = out.find("OK records=", at + 1)) {
    ++count;
  }
  return count;
}

// Percentile is the p-th percentile (0..100, nearest rank) of `samples`
// (sorted here); 0 when empty.
inline double Percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  std::size_t rank = static_cast<std::size_t>(p / 100.0 * samples.size() + 0.5);
  rank = std::clamp<std::size_t>(rank, 1, samples.size());
  return samples[rank - 1];
}

}  // namespace strongroom::testing_support::cluster_e2e
