// Disk faults end to end (SPEC 5, 8, 9; issue 20), over the real server:
//   - the audit disk really full: <data_dir>/audit is a bind mount of a
//     directory on a small tmpfs of this test's own, filled with a filler
//     file until the kernel answers ENOSPC, then emptied again;
//   - the LMDB map full under concurrent writers: the server runs with a
//     2 MiB map (`[store] map_size_mib`) and three threads create values
//     until it refuses, then values are deleted to make room.
// Expected (docs/faults.md): clear 503 answers (promptly, never a 500 or a
// hang), /readyz false while the audit disk is full, nothing half-written (a
// refused create is absent afterwards, the audit log verifies sealed, the
// store reopens and passes its integrity check), and recovery without a
// restart once space returns.
// Mounting needs CAP_SYS_ADMIN: without it the audit-disk test is skipped
// (tests/e2e/audit_e2e_test.cc covers the same path with the ENOSPC trigger).
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/audit_test_support.h"
#include "tests/e2e/fault_load.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"

namespace strongroom::testing_support {
namespace {

using fault_e2e::Body;
using fault_e2e::DecryptPath;
using fault_e2e::Value;
using fault_e2e::ValueOf;
using fault_e2e::Values;
using std::chrono::milliseconds;

constexpr milliseconds kPromptly{2000};

// Timed is one request with its latency.
struct Timed {
  HttpsResponse response;
  milliseconds latency{0};
};
Timed Send(HttpsClient& client, const std::string& method, const std::string& path,
           const std::string& body = "") {
  const auto start = fault_e2e::Clock::now();
  Timed timed{client.Request(method, path, body), {}};
  timed.latency = std::chrono::duration_cast<milliseconds>(fault_e2e::Clock::now() - start);
  return timed;
}

// FillFile writes zeros to `path` until the filesystem answers ENOSPC;
// returns how many bytes it wrote, or -1 on another error.
long long FillFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  std::vector<char> block(4096, 0);
  long long written = 0;
  for (;;) {
    const ssize_t n = ::write(fd, block.data(), block.size());
    if (n > 0) {
      written += n;
      continue;
    }
    const int saved = errno;
    ::close(fd);
    return n < 0 && saved == ENOSPC ? written : -1;
  }
}

class AuditDiskFullE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    fs_ = mounts_.Join("fs");
    ASSERT_EQ(::mkdir(fs_.c_str(), 0700), 0);
    if (::mount("tmpfs", fs_.c_str(), "tmpfs", 0, "size=2m,mode=0700") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs (" << std::strerror(errno)
                   << "): needs CAP_SYS_ADMIN; audit_e2e_test covers the trigger path";
    }
    mounted_fs_ = true;
    ServerProcessOptions options;
    options.extra_policy_files["faults.json"] = fault_e2e::kDecryptEverywhere;
    options.extra_config_text = "[audit]\nfree_space_watermark_mib = 0\n";
    options.before_init = [this](const std::string& data_dir) -> std::string {
      const std::string source = fs_ + "/audit";
      audit_ = data_dir + "/audit";
      if (::mkdir(source.c_str(), 0700) != 0 || ::mkdir(audit_.c_str(), 0700) != 0) {
        return "mkdir: " + std::string(std::strerror(errno));
      }
      if (::mount(source.c_str(), audit_.c_str(), nullptr, MS_BIND, nullptr) != 0) {
        return "bind mount: " + std::string(std::strerror(errno));
      }
      mounted_audit_ = true;
      return "";
    };
    server_ = ServerProcess::Start(options);
    ASSERT_NE(server_, nullptr);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Stop();
    if (mounted_audit_) ::umount2(audit_.c_str(), MNT_DETACH);
    if (mounted_fs_) ::umount2(fs_.c_str(), MNT_DETACH);
    server_.reset();
  }

  TempDir mounts_;
  std::string fs_;
  std::string audit_;
  bool mounted_fs_ = false;
  bool mounted_audit_ = false;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(AuditDiskFullE2e, AFullAuditFilesystemFailsClosedAndRecoversWithoutARestart) {
  const std::string public_key = AuditPublicKey(*server_);
  HttpsClient admin = server_->CertClient(server_->admin_cert());
  HttpsClient decrypter = server_->CertClient(server_->decrypter_cert());
  HttpsClient probe(server_->base_url(), server_->ca_path());
  std::set<std::string> acknowledged;
  for (int i = 0; i < 5; ++i) {
    const std::string name = "before-" + std::to_string(i);
    ASSERT_EQ(admin.Request("POST", Values("team-a"), Body(name, ValueOf(name))).status, 201);
    acknowledged.insert(name);
  }
  const pid_t pid = server_->pid();

  // Fill the filesystem for real.
  const std::string filler = fs_ + "/filler";
  const long long filled = FillFile(filler);
  ASSERT_GE(filled, 0) << std::strerror(errno);
  std::cout << "[ disk ] filler " << filled << " bytes\n";

  // Creates until the audit append meets ENOSPC (the current file's last
  // page may still hold a few records): then a prompt 503.
  std::set<std::string> refused;
  Timed first_refusal;
  for (int i = 0; i < 200 && refused.empty(); ++i) {
    const std::string name = "during-" + std::to_string(i);
    Timed created = Send(admin, "POST", Values("team-a"), Body(name, ValueOf(name)));
    if (created.response.status == 201) {
      acknowledged.insert(name);
    } else {
      EXPECT_EQ(created.response.status, 503) << created.response.body;
      refused.insert(name);
      first_refusal = created;
    }
  }
  ASSERT_FALSE(refused.empty()) << "the audit disk never filled";
  EXPECT_LE(first_refusal.latency, kPromptly) << first_refusal.latency.count() << " ms";
  EXPECT_EQ(first_refusal.response.headers["retry-after"], "1");
  // Full: every audited request is refused promptly, decrypts included.
  for (int i = 0; i < 5; ++i) {
    const std::string name = "full-" + std::to_string(i);
    Timed created = Send(admin, "POST", Values("team-a"), Body(name, ValueOf(name)));
    EXPECT_EQ(created.response.status, 503) << created.response.body;
    EXPECT_LE(created.latency, kPromptly);
    if (created.response.status != 201) refused.insert(name);
    Timed decrypted = Send(decrypter, "POST", DecryptPath("team-a", "before-0"));
    EXPECT_EQ(decrypted.response.status, 503) << "a decrypt that cannot be audited is refused";
    EXPECT_LE(decrypted.latency, kPromptly);
  }
  const milliseconds not_ready = fault_e2e::WaitForStatus(probe, "/readyz", 503, kPromptly);
  EXPECT_GE(not_ready.count(), 0) << "/readyz stayed 200 with the audit disk full";
  EXPECT_NE(probe.Request("GET", "/readyz").body.find(R"("audit":false)"), std::string::npos);

  // Space returns: no restart needed.
  ASSERT_EQ(::unlink(filler.c_str()), 0);
  const milliseconds ready = fault_e2e::WaitForStatus(probe, "/readyz", 200, milliseconds(15000));
  EXPECT_GE(ready.count(), 0) << "/readyz did not return to 200 once space returned";
  std::cout << "[ disk ] ready again " << ready.count() << " ms after the filler went\n";
  long status = 0;
  for (int i = 0; i < 40 && status != 201; ++i) {
    status = admin.Request("POST", Values("team-a"), Body("after", ValueOf("after"))).status;
    if (status != 201) std::this_thread::sleep_for(milliseconds(250));
  }
  EXPECT_EQ(status, 201);
  if (status == 201) acknowledged.insert("after");
  EXPECT_EQ(server_->pid(), pid);

  // Nothing half-written: refused creates are absent, acknowledged ones read
  // back, the log verifies sealed and the server starts again on it.
  for (const std::string& name : refused) {
    EXPECT_EQ(admin.Request("GET", Value("team-a", name)).status, 404) << name;
  }
  fault_e2e::ExpectAcknowledgedReadBack(*server_, "team-a", acknowledged);
  EXPECT_EQ(server_->Stop(), 0) << server_->stderr_text();
  fault_e2e::ExpectAuditVerifies(*server_, public_key);
  ASSERT_EQ(server_->Restart(), 0);
  fault_e2e::ExpectAcknowledgedReadBack(*server_, "team-a", acknowledged);
}

TEST(StoreMapFullE2e, ConcurrentWritersGetClear503sNothingHalfWrittenAndDeletesMakeRoom) {
  ServerProcessOptions options;
  options.extra_policy_files["faults.json"] = fault_e2e::kDecryptEverywhere;
  options.extra_config_text = "[store]\nmap_size_mib = 2\nintegrity_check_seconds = 1\n";
  auto server = ServerProcess::Start(options);
  ASSERT_NE(server, nullptr);
  const std::string public_key = AuditPublicKey(*server);
  const pid_t pid = server->pid();
  // Values of ~16 KiB: a 2 MiB map holds about a hundred.
  auto big_value = [](const std::string& name) {
    return ValueOf(name) + std::string(16 * 1024, 'x');
  };

  std::mutex mu;
  std::set<std::string> acknowledged;
  std::set<std::string> refused;
  std::vector<std::string> bad;  // statuses other than 201/503, with the body
  std::vector<std::thread> writers;
  for (int t = 0; t < 3; ++t) {
    writers.emplace_back([&, t] {
      HttpsClient admin = server->CertClient(server->admin_cert());
      int refusals = 0;
      for (int i = 0; i < 150 && refusals < 5; ++i) {
        const std::string name = "w" + std::to_string(t) + "-" + std::to_string(i);
        nlohmann::json body = nlohmann::json::parse(Body(name, ""));
        body["spec"]["value"] = big_value(name);
        Timed created = Send(admin, "POST", Values("team-a"), body.dump());
        std::lock_guard lock(mu);
        if (created.response.status == 201) {
          acknowledged.insert(name);
        } else if (created.response.status == 503 && created.latency <= kPromptly &&
                   created.response.body.find("store is nearly full") != std::string::npos) {
          refused.insert(name);
          ++refusals;
        } else {
          refused.insert(name);
          ++refusals;
          bad.push_back(std::to_string(created.response.status) + " after " +
                        std::to_string(created.latency.count()) + " ms: " + created.response.body);
        }
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  std::cout << "[ map ] acknowledged " << acknowledged.size() << ", refused " << refused.size()
            << "\n";
  EXPECT_TRUE(bad.empty()) << bad.size() << " unclear answers, first: " << bad.front();
  ASSERT_FALSE(refused.empty()) << "the map never filled";
  ASSERT_GE(acknowledged.size(), 20u);

  HttpsClient admin = server->CertClient(server->admin_cert());
  HttpsClient decrypter = server->CertClient(server->decrypter_cert());
  // Reads still work on a full map; refused creates are absent.
  for (const std::string& name : refused) {
    EXPECT_EQ(admin.Request("GET", Value("team-a", name)).status, 404) << name;
  }
  // Deletes are accepted (the store keeps a reserve for them) and make room.
  std::vector<std::string> deleted(acknowledged.begin(), std::next(acknowledged.begin(), 20));
  for (const std::string& name : deleted) {
    EXPECT_EQ(admin.Request("DELETE", Value("team-a", name)).status, 200) << name;
    acknowledged.erase(name);
  }
  long status = 0;
  for (int i = 0; i < 40 && status != 201; ++i) {
    nlohmann::json body = nlohmann::json::parse(Body("after", ""));
    body["spec"]["value"] = big_value("after");
    status = admin.Request("POST", Values("team-a"), body.dump()).status;
    if (status != 201) std::this_thread::sleep_for(milliseconds(250));
  }
  EXPECT_EQ(status, 201) << "creates resume once deletions freed space, without a restart";
  EXPECT_EQ(server->pid(), pid);

  // The store passes the server's periodic full integrity check (every 1 s)
  // and every acknowledged value decrypts to what was written.
  std::this_thread::sleep_for(milliseconds(2500));
  HttpsClient probe(server->base_url(), server->ca_path());
  EXPECT_EQ(probe.Request("GET", "/readyz").status, 200);
  int wrong = 0;
  for (const std::string& name : acknowledged) {
    HttpsResponse value = decrypter.Request("POST", DecryptPath("team-a", name));
    nlohmann::json parsed = nlohmann::json::parse(value.body, nullptr, false);
    if (value.status != 200 || parsed.is_discarded() || parsed.value("value", "") != big_value(name)) {
      ++wrong;
    }
  }
  EXPECT_EQ(wrong, 0) << "of " << acknowledged.size();
  for (const std::string& name : deleted) {
    EXPECT_EQ(admin.Request("GET", Value("team-a", name)).status, 404) << name;
  }
  EXPECT_EQ(server->Stop(), 0) << server->stderr_text();
  fault_e2e::ExpectAuditVerifies(*server, public_key);
  // The store and the log reopen (start-up checks both against the anchor).
  ASSERT_EQ(server->Restart(), 0);
  EXPECT_EQ(HttpsClient(server->base_url(), server->ca_path()).Request("GET", "/readyz").status, 200);
}

}  // namespace
}  // namespace strongroom::testing_support
