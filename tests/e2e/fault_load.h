// tests/e2e/fault_load.h — what the fault end-to-end tests
// (token_fault_e2e_test.cc, disk_fault_e2e_test.cc) share: SecureValue
// request helpers, a bounded load of client threads that records every
// answer with its latency and the phase it was sent in, and the checks made
// after a fault (every acknowledged create reads back, the audit log
// verifies with `strongroom audit verify`).
//
// Thread-safety: a FaultLoad runs its own threads; Phase may be changed and
// the recorded answers read from the test thread (under the load's mutex).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <atomic>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/server_process.h"
#include "tests/support/shell_command.h"
#include "tests/support/temp_dir.h"

namespace strongroom::testing_support::fault_e2e {

using Clock = std::chrono::steady_clock;

// A policy binding the test decrypter (CN demo-service) everywhere.
inline const char* kDecryptEverywhere = R"({
  "bindings": [{"service": "demo-service", "role": "Decrypter", "namespace": "*"}]
})";

inline std::string Values(const std::string& ns) {
  return "/apis/secret.grafana.app/v1beta1/namespaces/" + ns + "/securevalues";
}
inline std::string Value(const std::string& ns, const std::string& name) {
  return Values(ns) + "/" + name;
}
inline std::string DecryptPath(const std::string& ns, const std::string& name) {
  return Value(ns, name) + "/decrypt";
}
// Body is a create/replace body decryptable by demo-service.
inline std::string Body(const std::string& name, const std::string& value) {
  nlohmann::json body = {
      {"apiVersion", "secret.grafana.app/v1beta1"},
      {"kind", "SecureValue"},
      {"metadata", {{"name", name}}},
      {"spec", {{"description", "fault e2e"}, {"value", value}, {"decrypters", {"demo-service"}}}}};
  return body.dump();
}
// ValueOf is the (test-only, not secret) value stored under `name`.
inline std::string ValueOf(const std::string& name) { return "v-" + name + "-0123456789"; }

// Answer is one request's outcome as the load saw it.
struct Answer {
  std::string kind;  // "decrypt" or "create"
  std::string name;
  long status = 0;
  std::chrono::milliseconds latency{0};
  int phase = 0;  // FaultLoad::phase when the request was sent
};

// FaultLoad runs `decrypt_threads` threads decrypting `decryptable` names in
// `ns` (and checking the value) and `create_threads` threads creating new
// values in `ns` (names "<prefix>-<thread>-<i>"), each thread at most
// `max_per_thread` requests, one every 10 ms or so, and never after Stop().
// Creates go through the
// admin's client certificate (no scrypt check).
class FaultLoad {
 public:
  FaultLoad(const ServerProcess& server, std::string ns, std::vector<std::string> decryptable,
            int decrypt_threads, int create_threads, std::string prefix, int max_per_thread = 2000)
      : ns_(std::move(ns)), decryptable_(std::move(decryptable)) {
    for (int t = 0; t < decrypt_threads; ++t) {
      threads_.emplace_back([this, &server, t, max_per_thread] {
        HttpsClient client = server.CertClient(server.decrypter_cert());
        client.SetTimeoutMs(8000);
        for (int i = 0; i < max_per_thread && !stop_; ++i) {
          const std::string& name = decryptable_[(i + t) % decryptable_.size()];
          Record(Send(client, "decrypt", name, "POST", DecryptPath(ns_, name), ""));
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
      });
    }
    for (int t = 0; t < create_threads; ++t) {
      threads_.emplace_back([this, &server, t, max_per_thread, prefix] {
        HttpsClient client = server.CertClient(server.admin_cert());
        client.SetTimeoutMs(8000);
        for (int i = 0; i < max_per_thread && !stop_; ++i) {
          const std::string name = prefix + "-" + std::to_string(t) + "-" + std::to_string(i);
          Record(Send(client, "create", name, "POST", Values(ns_), Body(name, ValueOf(name))));
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
      });
    }
  }
  ~FaultLoad() { Stop(); }
  FaultLoad(const FaultLoad&) = delete;
  FaultLoad& operator=(const FaultLoad&) = delete;

  void SetPhase(int phase) { phase_ = phase; }
  void Stop() {
    stop_ = true;
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }
  // answers returns what was recorded so far.
  std::vector<Answer> answers() const {
    std::lock_guard lock(mu_);
    return answers_;
  }
  // wrong_values counts 200 decrypts whose value was not ValueOf(name).
  int wrong_values() const { return wrong_values_; }

 private:
  Answer Send(HttpsClient& client, const std::string& kind, const std::string& name,
              const std::string& method, const std::string& path, const std::string& body) {
    Answer answer{kind, name, 0, {}, phase_.load()};
    const Clock::time_point start = Clock::now();
    HttpsResponse response = client.Request(method, path, body);
    answer.latency = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    answer.status = response.status;
    if (kind == "decrypt" && response.status == 200) {
      nlohmann::json parsed = nlohmann::json::parse(response.body, nullptr, false);
      if (parsed.is_discarded() || parsed.value("value", "") != ValueOf(name)) ++wrong_values_;
    }
    return answer;
  }
  void Record(Answer answer) {
    std::lock_guard lock(mu_);
    answers_.push_back(std::move(answer));
  }

  const std::string ns_;
  const std::vector<std::string> decryptable_;
  std::atomic<bool> stop_{false};
  std::atomic<int> phase_{0};
  std::atomic<int> wrong_values_{0};
  mutable std::mutex mu_;
  std::vector<Answer> answers_;
  std::vector<std::thread> threads_;
};

// Acknowledged returns the names whose create got 201.
inline std::set<std::string> Acknowledged(const std::vector<Answer>& answers) {
  std::set<std::string> names;
  for (const Answer& a : answers) {
    if (a.kind == "create" && a.status == 201) names.insert(a.name);
  }
  return names;
}

// Summary is a one-line count of statuses per kind and phase, for failure
// messages and the test log (names and statuses only: no values).
inline std::string Summary(const std::vector<Answer>& answers) {
  std::map<std::string, int> counts;
  for (const Answer& a : answers) {
    ++counts[a.kind + "/p" + std::to_string(a.phase) + "/" + std::to_string(a.status)];
  }
  std::string text;
  for (const auto& [key, count] : counts) text += key + "=" + std::to_string(count) + " ";
  return text;
}

// MaxLatency returns the slowest answer among those matching `pred`.
template <typename Pred>
std::chrono::milliseconds MaxLatency(const std::vector<Answer>& answers, Pred pred) {
  std::chrono::milliseconds worst{0};
  for (const Answer& a : answers) {
    if (pred(a)) worst = std::max(worst, a.latency);
  }
  return worst;
}

// WaitForStatus polls GET `path` with `client` until it answers `status`
// or `limit` passes; returns how long it took, or -1 ms on time-out.
inline std::chrono::milliseconds WaitForStatus(HttpsClient& client, const std::string& path,
                                               long status, std::chrono::milliseconds limit) {
  const Clock::time_point start = Clock::now();
  while (Clock::now() - start < limit) {
    if (client.Request("GET", path).status == status) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return std::chrono::milliseconds(-1);
}

// ExpectAcknowledgedReadBack checks that every acknowledged create exists
// and decrypts to its value.
inline void ExpectAcknowledgedReadBack(const ServerProcess& server, const std::string& ns,
                                       const std::set<std::string>& names) {
  HttpsClient admin = server.CertClient(server.admin_cert());
  HttpsClient decrypter = server.CertClient(server.decrypter_cert());
  int missing = 0;
  int wrong = 0;
  for (const std::string& name : names) {
    if (admin.Request("GET", Value(ns, name)).status != 200) ++missing;
    HttpsResponse value = decrypter.Request("POST", DecryptPath(ns, name));
    nlohmann::json parsed = nlohmann::json::parse(value.body, nullptr, false);
    if (value.status != 200 || parsed.is_discarded() || parsed.value("value", "") != ValueOf(name)) {
      ++wrong;
    }
  }
  EXPECT_EQ(missing, 0) << "acknowledged creates missing, of " << names.size();
  EXPECT_EQ(wrong, 0) << "acknowledged creates not decrypting to their value, of " << names.size();
}

// ExpectAuditVerifies stops nothing: call it with the server stopped. It
// fetches nothing either: `public_key_pem` was read while the server ran.
// Runs `strongroom audit verify --require-sealed` on the server's log.
inline void ExpectAuditVerifies(const ServerProcess& server, const std::string& public_key_pem) {
  const std::string key_path = server.dir() + "/audit-public-key.pem";
  ASSERT_TRUE(WriteFileBytes(key_path, public_key_pem));
  ShellResult verify = RunShell(std::string(STRONGROOM_BINARY) + " audit verify --log '" +
                                server.data_dir() + "/audit' --public-key '" + key_path +
                                "' --require-sealed 2>&1");
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
}

}  // namespace strongroom::testing_support::fault_e2e
