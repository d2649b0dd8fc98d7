// Secret scanning end to end (SPEC 4 and 8; issue 20): random canary values
// go into the real server only as SecureValue values (created, decrypted,
// replaced, deleted); afterwards every artefact the session left (the
// server's log, the audit segments, the LMDB files, the CLI outputs, the
// token directory, this test's own output and every management response) is
// scanned for each canary: raw, hex (both cases) and base64 (standard and
// URL-safe, at every alignment). The old value of a replaced secret and the
// value of a deleted one must not be left in LMDB's free pages either. The
// scan fails unless it read at least one log, one audit segment and one
// data.mdb. Then the server is checked to be unable to dump core: its
// RLIMIT_CORE is 0 although it was started with the hard limit, and a
// SIGSEGV ends it without a core (waitid says CLD_KILLED, not CLD_DUMPED,
// and no core file appears in its working directory).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/e2e/fault_load.h"
#include "tests/support/server_process.h"
#include "tests/support/shell_command.h"
#include "tests/support/temp_dir.h"

namespace strongroom::testing_support {
namespace {

using fault_e2e::DecryptPath;
using fault_e2e::Value;
using fault_e2e::Values;

// RandomCanary is 32 random hex characters after a marker.
std::string RandomCanary() {
  unsigned char bytes[16];
  EXPECT_EQ(RAND_bytes(bytes, sizeof bytes), 1);
  static const char* kHex = "0123456789abcdef";
  std::string text = "cnry";
  for (unsigned char b : bytes) {
    text += kHex[b >> 4];
    text += kHex[b & 15];
  }
  return text;
}

std::string Hex(const std::string& bytes, bool upper) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string text;
  for (unsigned char b : bytes) {
    text += digits[b >> 4];
    text += digits[b & 15];
  }
  return text;
}

std::string Base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// Encodings returns the forms to look for: the canary, its hex, and for each
// alignment of the canary in a base64 stream the characters that depend on
// the canary alone (standard and URL-safe alphabets).
std::vector<std::pair<std::string, std::string>> Encodings(const std::string& canary) {
  std::vector<std::pair<std::string, std::string>> forms = {
      {"raw", canary}, {"hex", Hex(canary, false)}, {"HEX", Hex(canary, true)}};
  for (std::size_t skip = 0; skip < 3; ++skip) {
    std::string tail = canary.substr(skip);
    tail.resize(tail.size() - tail.size() % 3);  // whole groups only
    std::string b64 = Base64(tail);
    forms.emplace_back("base64/" + std::to_string(skip), b64);
    std::string url = b64;
    for (char& c : url) c = c == '+' ? '-' : c == '/' ? '_' : c;
    if (url != b64) forms.emplace_back("base64url/" + std::to_string(skip), url);
  }
  return forms;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Finding is one canary form found somewhere.
struct Finding {
  std::string where;
  std::string canary_label;
  std::string form;
};

void Scan(const std::string& where, const std::string& bytes,
          const std::map<std::string, std::string>& canaries, std::vector<Finding>& findings) {
  for (const auto& [label, canary] : canaries) {
    for (const auto& [form, text] : Encodings(canary)) {
      if (bytes.find(text) != std::string::npos) findings.push_back({where, label, form});
    }
  }
}

// CoreLimit returns the soft "Max core file size" of process `pid` as
// /proc shows it ("0", "unlimited"...), or "" if it cannot be read.
std::string CoreLimit(pid_t pid) {
  std::istringstream lines(ReadAll("/proc/" + std::to_string(pid) + "/limits"));
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.starts_with("Max core file size")) continue;
    std::istringstream fields(line.substr(std::string("Max core file size").size()));
    std::string soft;
    fields >> soft;
    return soft;
  }
  return "";
}

// RaiseCoreLimit sets this process's soft RLIMIT_CORE to its hard limit
// while alive (so the server, forked meanwhile, could dump core unless it
// hardens itself), and restores it after.
class RaiseCoreLimit {
 public:
  RaiseCoreLimit() {
    ::getrlimit(RLIMIT_CORE, &saved_);
    rlimit raised = saved_;
    raised.rlim_cur = raised.rlim_max;
    ::setrlimit(RLIMIT_CORE, &raised);
  }
  ~RaiseCoreLimit() { ::setrlimit(RLIMIT_CORE, &saved_); }

 private:
  rlimit saved_{};
};

TEST(SecretScanE2e, TheScanFindsACanaryInEveryEncodingAtEveryOffset) {
  const std::string canary = RandomCanary();
  const std::map<std::string, std::string> canaries = {{"planted", canary}};
  for (std::size_t offset = 0; offset < 3; ++offset) {
    const std::string prefix = std::string(offset, 'p') + "{\"x\":\"";
    for (const std::string& text :
         {prefix + canary + "\"}", Base64(prefix + canary + "\"}"), Hex(prefix + canary, false),
          Hex(prefix + canary, true)}) {
      std::vector<Finding> findings;
      Scan("planted", text, canaries, findings);
      EXPECT_FALSE(findings.empty()) << "offset " << offset;
    }
    std::string url = Base64(prefix + canary + "?" "?>>");  // bytes that encode to + and /
    for (char& c : url) c = c == '+' ? '-' : c == '/' ? '_' : c;
    std::vector<Finding> findings;
    Scan("planted", url, canaries, findings);
    EXPECT_FALSE(findings.empty()) << "base64url, offset " << offset;
  }
  std::vector<Finding> none;
  Scan("clean", Base64(RandomCanary()) + RandomCanary(), canaries, none);
  EXPECT_TRUE(none.empty());
}

TEST(SecretScanE2e, NoCanaryValueLeavesTheServerInAnyArtefactAndNoCoreCanBeDumped) {
  std::map<std::string, std::string> canaries = {{"created-then-replaced", RandomCanary()},
                                                 {"replacement", RandomCanary()},
                                                 {"kept", RandomCanary()},
                                                 {"deleted", RandomCanary()}};
  std::unique_ptr<ServerProcess> server;
  std::string responses;  // every management response body, for the scan
  std::string deleted_record;
  bool residue_after_delete = false;
  int decrypted_ok = 0;
  TempDir scratch;
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  {
    RaiseCoreLimit raise;
    ServerProcessOptions options;
    options.extra_policy_files["faults.json"] = fault_e2e::kDecryptEverywhere;
    server = ServerProcess::Start(options);
  }
  if (server != nullptr) {
    HttpsClient admin = server->CertClient(server->admin_cert());
    HttpsClient service = server->CertClient(server->decrypter_cert());
    auto body = [](const std::string& name, const std::string& value) {
      return fault_e2e::Body(name, value);
    };
    auto keep = [&](const HttpsResponse& r) {
      responses += r.body;
      for (const auto& [name, value] : r.headers) responses += name + ": " + value + "\n";
      return r.status;
    };
    auto decrypts_to = [&](const std::string& name, const std::string& value) {
      HttpsResponse r = service.Request("POST", DecryptPath("team-a", name));
      nlohmann::json parsed = nlohmann::json::parse(r.body, nullptr, false);
      if (r.status == 200 && !parsed.is_discarded() && parsed.value("value", "") == value) {
        ++decrypted_ok;
      }
    };
    EXPECT_EQ(keep(admin.Request("POST", Values("team-a"),
                                 body("app", canaries["created-then-replaced"]))),
              201);
    decrypts_to("app", canaries["created-then-replaced"]);
    EXPECT_EQ(keep(admin.Request("POST", Values("team-a"), body("kept", canaries["kept"]))), 201);
    EXPECT_EQ(keep(admin.Request("POST", Values("team-a"), body("gone", canaries["deleted"]))), 201);
    decrypts_to("kept", canaries["kept"]);
    decrypts_to("gone", canaries["deleted"]);
    // Replace app's value: the old value's pages become free pages.
    EXPECT_EQ(keep(admin.Request("PUT", Value("team-a", "app"), body("app", canaries["replacement"]))),
              200);
    decrypts_to("app", canaries["replacement"]);
    // Batch and Dapr reads of the kept one.
    service.Request("POST", "/apis/secret.grafana.app/v1beta1/namespaces/team-a/decrypt",
                    R"({"names": ["kept", "app"]})");
    service.Request("GET", "/v1.0/secrets/team-a/kept");
    // The deleted value's stored record (mostly its ciphertext), read raw
    // before the delete, to look for it in free pages right after.
    ShellResult saved = RunShell(std::string(SR_STORE_TOOL) + " save '" + server->data_dir() +
                                 "' secure_values 'team-a/gone' '" + scratch.Join("gone") + "' 2>&1");
    EXPECT_EQ(saved.exit_code, 0) << saved.out;
    deleted_record = ReadAll(scratch.Join("gone"));
    EXPECT_EQ(keep(admin.Request("DELETE", Value("team-a", "gone"))), 200);
    if (deleted_record.size() >= 32) {
      // Informational (docs/faults.md): LMDB does not wipe freed pages, so
      // the deleted record's ciphertext stays in data.mdb until its page is
      // reused; the plaintext never reaches the file (scanned below).
      const std::string tail = deleted_record.substr(deleted_record.size() - 32);
      for (const auto& entry : std::filesystem::recursive_directory_iterator(server->data_dir())) {
        if (entry.path().filename() != "data.mdb") continue;
        residue_after_delete = ReadAll(entry.path().string()).find(tail) != std::string::npos;
      }
    }
    EXPECT_EQ(keep(admin.Request("GET", Value("team-a", "gone"))), 404);
    EXPECT_EQ(keep(admin.Request("GET", Value("team-a", "app"))), 200);
    EXPECT_EQ(keep(admin.Request("GET", Values("team-a"))), 200);
    EXPECT_EQ(keep(admin.Request("GET", "/api/audit/events")), 200);
    // More writes, so LMDB reuses and rewrites pages.
    for (int i = 0; i < 20; ++i) {
      const std::string name = "churn-" + std::to_string(i);
      keep(admin.Request("POST", Values("team-a"), body(name, fault_e2e::ValueOf(name))));
    }
    EXPECT_EQ(server->Stop(), 0);
  }
  const std::string test_stdout = ::testing::internal::GetCapturedStdout();
  const std::string test_stderr = ::testing::internal::GetCapturedStderr();
  std::cout << test_stdout;
  std::cerr << test_stderr;
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(decrypted_ok, 4) << "every canary was stored and decrypted";

  // The scan: every regular file the server, its CLI runs and its token
  // left, plus this test's output and every management response.
  std::vector<Finding> findings;
  int logs = 0, audit_segments = 0, data_files = 0, files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(server->dir())) {
    if (!entry.is_regular_file()) continue;
    const std::string path = entry.path().string();
    const std::string name = entry.path().filename().string();
    const std::string bytes = ReadAll(path);
    ++files;
    if (name == "server.stderr" && !bytes.empty()) ++logs;
    if (name.ends_with(".jsonl") && path.find("/audit/") != std::string::npos && !bytes.empty()) {
      ++audit_segments;
    }
    if (name == "data.mdb" && !bytes.empty()) ++data_files;
    Scan(path.substr(server->dir().size()), bytes, canaries, findings);
    if (name == "data.mdb" && deleted_record.size() >= 32) {
      const std::string tail = deleted_record.substr(deleted_record.size() - 32);
      std::cout << "[ scan ] the deleted record's ciphertext was "
                << (residue_after_delete ? "still in" : "absent from")
                << " data.mdb's free pages right after the delete, and is "
                << (bytes.find(tail) == std::string::npos ? "absent" : "still there")
                << " after 20 more writes\n";
    }
  }
  Scan("test stdout", test_stdout, canaries, findings);
  Scan("test stderr", test_stderr, canaries, findings);
  Scan("management responses", responses, canaries, findings);
  std::cout << "[ scan ] " << files << " files (" << logs << " logs, " << audit_segments
            << " audit segments, " << data_files << " data.mdb) for " << canaries.size()
            << " canaries in " << Encodings(canaries.begin()->second).size() << " forms each\n";
  EXPECT_GE(logs, 1) << "no server log was read";
  EXPECT_GE(audit_segments, 1) << "no audit segment was read";
  EXPECT_GE(data_files, 1) << "no data.mdb was read";
  for (const Finding& f : findings) {
    // Names the file and the canary's role, never the canary.
    ADD_FAILURE() << "canary \"" << f.canary_label << "\" (" << f.form << ") found in " << f.where;
  }

  // No core dump: start again with the core limit raised, from a scratch
  // working directory (where a core file named by the pattern "core" would
  // land).
  const std::filesystem::path cwd = std::filesystem::current_path();
  std::filesystem::current_path(scratch.path());
  int restarted = -1;
  {
    RaiseCoreLimit raise;
    restarted = server->Restart();
  }
  std::filesystem::current_path(cwd);
  ASSERT_EQ(restarted, 0);
  const pid_t pid = server->pid();
  EXPECT_EQ(CoreLimit(pid), "0") << "the server sets its own RLIMIT_CORE to 0";
  ASSERT_EQ(::kill(pid, SIGSEGV), 0);
  siginfo_t info{};
  // WNOWAIT: look without reaping; Stop() reaps it.
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT), 0);
  EXPECT_EQ(info.si_code, CLD_KILLED) << "CLD_DUMPED is " << CLD_DUMPED;
  // An ASan build's own SIGSEGV handler reports and then aborts: SIGABRT
  // there, SIGSEGV otherwise. Either way killed, not dumped.
  EXPECT_TRUE(info.si_status == SIGSEGV || info.si_status == SIGABRT) << info.si_status;
  EXPECT_EQ(server->Stop(), -info.si_status);
  for (const auto& entry : std::filesystem::directory_iterator(scratch.path())) {
    EXPECT_FALSE(entry.path().filename().string().starts_with("core")) << entry.path();
  }
}

}  // namespace
}  // namespace strongroom::testing_support
