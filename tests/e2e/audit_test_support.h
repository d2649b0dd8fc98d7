// tests/e2e/audit_test_support.h — what the audit end-to-end tests
// (audit_e2e_test.cc, audit_crash_test.cc) share: reading the server's
// audit files back as an auditor would, finding the records of one request
// by its X-Request-Id, verifying the log offline with the audit public key,
// and polling for records that are written after the response.
//
// SECURITY: the records read here never hold a secret; the tests scan the
// files' raw bytes for the values they used (AuditBytes).
//
// Thread-safety: functions; they only read the files.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit.h"
#include "tests/support/server_process.h"

namespace strongroom::testing_support {

// AuditDir is the server's audit folder.
inline std::string AuditDir(const ServerProcess& server) { return server.data_dir() + "/audit"; }

// ReadWhole returns the bytes of `path` ("" if it cannot be read).
inline std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// LogFilesInOrder returns the chain's files: rotated files by name, then
// current.jsonl.
inline std::vector<std::string> LogFilesInOrder(const std::string& dir) {
  std::vector<std::string> rotated;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("audit-") && name.ends_with(".jsonl")) rotated.push_back(entry.path());
  }
  std::sort(rotated.begin(), rotated.end());
  rotated.push_back(dir + "/current.jsonl");
  return rotated;
}

// AuditRecords parses every complete line of the log, in chain order. A
// line that is not JSON is recorded as a test failure and skipped.
inline std::vector<nlohmann::json> AuditRecords(const ServerProcess& server) {
  std::vector<nlohmann::json> records;
  for (const std::string& file : LogFilesInOrder(AuditDir(server))) {
    std::istringstream lines(ReadWhole(file));
    std::string line;
    while (std::getline(lines, line)) {
      if (line.empty()) continue;
      nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
      if (record.is_discarded()) {
        ADD_FAILURE() << "not JSON in " << file;
        continue;
      }
      records.push_back(std::move(record));
    }
  }
  return records;
}

// AuditBytes is every file under the audit folder (quarantine files
// included), concatenated, for scanning for secrets.
inline std::string AuditBytes(const ServerProcess& server) {
  std::string all;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(AuditDir(server))) {
    if (entry.is_regular_file()) all += ReadWhole(entry.path()) + "\n";
  }
  return all;
}

// Get returns the string at `pointer` in `record`, or "".
inline std::string Field(const nlohmann::json& record, const std::string& pointer) {
  nlohmann::json::json_pointer at(pointer);
  if (!record.contains(at)) return "";
  const nlohmann::json& value = record.at(at);
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

// Matching returns the records for which `keep` is true.
inline std::vector<nlohmann::json> Matching(
    const std::vector<nlohmann::json>& records,
    const std::function<bool(const nlohmann::json&)>& keep) {
  std::vector<nlohmann::json> out;
  std::copy_if(records.begin(), records.end(), std::back_inserter(out), keep);
  return out;
}

// WithRequestId returns the event records that carry `request_id`.
inline std::vector<nlohmann::json> WithRequestId(const std::vector<nlohmann::json>& records,
                                                 const std::string& request_id) {
  return Matching(records, [&](const nlohmann::json& r) {
    return Field(r, "/type") == "event" && Field(r, "/request_id") == request_id;
  });
}

// WithAction returns the event records whose action is `action`.
inline std::vector<nlohmann::json> WithAction(const std::vector<nlohmann::json>& records,
                                              const std::string& action) {
  return Matching(records, [&](const nlohmann::json& r) {
    return Field(r, "/type") == "event" && Field(r, "/action") == action;
  });
}

// Describe is "action actor.kind/actor.name ns/kind/name result status
// reason" of a record: what the action-class test compares.
inline std::string Describe(const nlohmann::json& record) {
  return Field(record, "/action") + " " + Field(record, "/actor/kind") + "/" +
         Field(record, "/actor/name") + " " + Field(record, "/resource/namespace") + "/" +
         Field(record, "/resource/kind") + "/" + Field(record, "/resource/name") + " " +
         Field(record, "/outcome/result") + " " + Field(record, "/outcome/status") + " " +
         Field(record, "/outcome/reason");
}

// WaitForRecords polls the log (every 50 ms, at most `limit`) until `done`
// holds for its records, and returns the last records read.
inline std::vector<nlohmann::json> WaitForRecords(
    const ServerProcess& server,
    const std::function<bool(const std::vector<nlohmann::json>&)>& done,
    std::chrono::milliseconds limit = std::chrono::milliseconds(5'000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::vector<nlohmann::json> records = AuditRecords(server);
  while (!done(records) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    records = AuditRecords(server);
  }
  return records;
}

// WaitForReadiness polls GET /readyz (every 50 ms, at most 30 s) until it
// answers `status`, and returns the last status (0: no answer).
inline long WaitForReadiness(const ServerProcess& server, long status) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  long last = 0;
  for (;;) {
    HttpsClient probe(server.base_url(), server.ca_path());
    probe.SetTimeoutMs(5'000);
    last = probe.Request("GET", "/readyz").status;
    if (last == status || std::chrono::steady_clock::now() >= deadline) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// NoCheckpointAfter returns whether the bytes `log` (current.jsonl) has
// after its first `prefix_size` bytes hold no checkpoint: nothing was signed
// since.
inline bool NoCheckpointAfter(const std::string& log, std::size_t prefix_size) {
  return log.size() < prefix_size ||
         log.find("\"type\":\"checkpoint\"", prefix_size) == std::string::npos;
}

// AuditPublicKey fetches the audit public key PEM as the admin ("" after
// recording a failure).
inline std::string AuditPublicKey(const ServerProcess& server) {
  HttpsClient admin = server.AdminClient();
  HttpsResponse key = admin.Request("GET", "/api/audit/public-key");
  EXPECT_EQ(key.status, 200) << key.body;
  EXPECT_TRUE(key.body.starts_with("-----BEGIN PUBLIC KEY-----")) << key.body;
  return key.status == 200 ? key.body : "";
}

// VerifyOffline runs the offline verifier (what `strongroom audit verify`
// runs) on the server's log with `public_key_pem`.
inline audit::VerifyReport VerifyOffline(const ServerProcess& server,
                                         const std::string& public_key_pem) {
  audit::VerifyOptions options;
  options.public_key_pem = public_key_pem;
  return audit::VerifyDirectory(AuditDir(server), options);
}

}  // namespace strongroom::testing_support
