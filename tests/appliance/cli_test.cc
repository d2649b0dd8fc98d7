// The `strongroom` binary as an operator runs it, against a real SoftHSM
// token and a real data directory.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <memory>

#include "crypto/audit_signing_key.h"
#include "crypto/kek.h"
#include "crypto/token.h"
#include "storage/storage.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_token.h"
#include "tests/support/status_matchers.h"

namespace strongroom {
namespace {

using testing_support::TempDir;
using testing_support::TestToken;

struct Result {
  int exit_code = -1;
  std::string out;  // stdout and stderr
};

// ValueAfter returns the whitespace-free token following `marker` in
// `text` ("" when absent).
std::string ValueAfter(const std::string& text, const std::string& marker) {
  std::size_t at = text.find(marker);
  if (at == std::string::npos) return "";
  at += marker.size();
  std::size_t end = text.find_first_of(" \n", at);
  return text.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

// Run executes the strongroom binary with `args` (no shell).
Result RunStrongroom(const std::vector<std::string>& args) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipefd[1], 1);
    dup2(pipefd[1], 2);
    close(pipefd[0]);
    close(pipefd[1]);
    std::vector<char*> argv;
    std::string binary = STRONGROOM_BINARY;
    argv.push_back(binary.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(pipefd[1]);
  Result r;
  std::array<char, 4096> buf;
  ssize_t n;
  while ((n = read(pipefd[0], buf.data(), buf.size())) > 0) r.out.append(buf.data(), n);
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class CliTest : public ::testing::Test {
 protected:
  std::vector<std::string> Common() {
    return {"--data-dir",         data_.Join("data"), "--module",
            token_.module_path(), "--token-uri",      token_.token_uri(),
            "--pin-file",         token_.pin_file(),  "--allow-unlocked-memory"};
  }
  Result Cmd(std::vector<std::string> head, std::vector<std::string> tail = {}) {
    for (auto& c : Common()) head.push_back(c);
    for (auto& t : tail) head.push_back(t);
    return RunStrongroom(head);
  }
  TestToken token_;
  TempDir data_;
};

TEST_F(CliTest, InitTwiceSucceedsAndCreatesKeysOnce) {
  Result first = Cmd({"init"});
  ASSERT_EQ(first.exit_code, 0) << first.out;
  EXPECT_NE(first.out.find("created"), std::string::npos);
  std::string fingerprint = ValueAfter(first.out, "fingerprint: ");
  ASSERT_EQ(fingerprint.size(), 64u) << "no audit key fingerprint in the init output";
  std::string password = ValueAfter(first.out, "shown once, store it now): ");
  ASSERT_EQ(password.size(), 24u);
  Result second = Cmd({"init"});
  ASSERT_EQ(second.exit_code, 0) << second.out;
  EXPECT_NE(second.out.find("already initialised: nothing changed"), std::string::npos)
      << second.out;
  EXPECT_EQ(second.out.find(password), std::string::npos) << "password printed twice";
  EXPECT_NE(second.out.find(fingerprint), std::string::npos);

  crypto::TokenOptions o{token_.module_path(), token_.token_uri(), token_.pin_file()};
  auto token = crypto::Token::Open(o);
  ASSERT_OK(token);
  EXPECT_EQ(crypto::ListKekIds(**token)->size(), 1u);
}

TEST_F(CliTest, KeysListShowsKeksWithoutKeyMaterial) {
  ASSERT_EQ(Cmd({"init"}).exit_code, 0);
  Result list = Cmd({"keys", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.out;
  std::string kek = ValueAfter(list.out, "  kek-");
  EXPECT_EQ(kek.size(), 16u) << list.out;
  EXPECT_NE(list.out.find("kek-" + kek + "   yes      yes"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("Data keys (0)"), std::string::npos);
}

TEST_F(CliTest, BackupAndRestoreRoundTrip) {
  ASSERT_EQ(Cmd({"init"}).exit_code, 0);
  Result backup = Cmd({"backup"}, {"--to", data_.Join("backup")});
  ASSERT_EQ(backup.exit_code, 0) << backup.out;
  EXPECT_NE(testing_support::ReadFileBytes(data_.Join("backup/manifest.json")).find("keks_needed"),
            std::string::npos);
  // A second backup into the same directory is refused.
  EXPECT_EQ(Cmd({"backup"}, {"--to", data_.Join("backup")}).exit_code, 1);
  Result restore = Cmd({"restore"}, {"--from", data_.Join("backup")});
  ASSERT_EQ(restore.exit_code, 0) << restore.out;
  // The restored store opens with the same keys.
  Result list = Cmd({"keys", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.out;
}

TEST_F(CliTest, RestoreIsRefusedWhileTheServerHoldsTheStore) {
  ASSERT_EQ(Cmd({"init"}).exit_code, 0);
  ASSERT_EQ(Cmd({"backup"}, {"--to", data_.Join("backup")}).exit_code, 0);
  storage::StoreOptions so;
  so.data_dir = data_.Join("data");
  so.hold_server_lock = true;
  auto server = storage::Store::Open(so);
  ASSERT_OK(server);
  Result restore = Cmd({"restore"}, {"--from", data_.Join("backup")});
  EXPECT_EQ(restore.exit_code, 1);
  EXPECT_NE(restore.out.find("stop it before restoring"), std::string::npos) << restore.out;
}

TEST_F(CliTest, RestoreIsRefusedWhenAKekOfTheBackupIsMissingFromTheToken) {
  ASSERT_EQ(Cmd({"init"}).exit_code, 0);
  ASSERT_EQ(Cmd({"backup"}, {"--to", data_.Join("backup")}).exit_code, 0);
  TestToken other;  // a fresh token without that KEK
  std::vector<std::string> args = {
      "restore",          "--from",     data_.Join("backup"), "--data-dir",
      data_.Join("data"), "--module",   other.module_path(),  "--token-uri",
      other.token_uri(),  "--pin-file", other.pin_file(),     "--allow-unlocked-memory"};
  Result restore = RunStrongroom(args);
  EXPECT_EQ(restore.exit_code, 1);
  EXPECT_NE(restore.out.find("not in the token"), std::string::npos) << restore.out;
}

TEST_F(CliTest, BadFlagsAndBadPinFilesFailWithAClearMessage) {
  Result unknown = RunStrongroom({"frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  testing_support::WriteFileBytes(data_.Join("open-pin"), token_.pin(), 0644);
  std::vector<std::string> args = {"init",
                                   "--data-dir",
                                   data_.Join("data"),
                                   "--module",
                                   token_.module_path(),
                                   "--token-uri",
                                   token_.token_uri(),
                                   "--pin-file",
                                   data_.Join("open-pin"),
                                   "--allow-unlocked-memory"};
  Result open_pin = RunStrongroom(args);
  EXPECT_EQ(open_pin.exit_code, 1);
  EXPECT_NE(open_pin.out.find("chmod 600"), std::string::npos) << open_pin.out;
  EXPECT_EQ(open_pin.out.find(token_.pin()), std::string::npos) << "PIN echoed";
  Result with_value = RunStrongroom(
      {"init", "--data-dir", data_.Join("data"), "--module", token_.module_path(), "--token-uri",
       token_.token_uri() + "?pin-value=" + token_.pin(), "--allow-unlocked-memory"});
  EXPECT_EQ(with_value.exit_code, 1);
  EXPECT_EQ(with_value.out.find(token_.pin()), std::string::npos) << "PIN echoed";
  for (const char* cmd : {"init", "keys", "backup", "restore"}) {
    Result help = RunStrongroom({cmd, "--help"});
    EXPECT_EQ(help.exit_code, 0) << cmd;
    EXPECT_NE(help.out.find("Usage"), std::string::npos) << cmd;
  }
}

// SplitLines returns the non-empty lines of `text`.
std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

class AuditCliTest : public CliTest {
 protected:
  void SetUp() override {
    ASSERT_EQ(Cmd({"init"}).exit_code, 0);
    ASSERT_EQ(Cmd({"backup"}, {"--to", data_.Join("backup")}).exit_code, 0);
    crypto::TokenOptions o{token_.module_path(), token_.token_uri(), token_.pin_file()};
    auto token = crypto::Token::Open(o);
    ASSERT_OK(token);
    auto key = crypto::GetAuditPublicKey(**token);
    ASSERT_OK(key);
    ASSERT_TRUE(testing_support::WriteFileBytes(KeyFile(), key->pem));
  }
  std::string LogDir() { return data_.Join("data/audit"); }
  std::string KeyFile() { return data_.Join("audit-key.pem"); }
  void RemoveKeyFile() { ::unlink(KeyFile().c_str()); }
  Result Verify(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"audit",  "verify",       "--log",
                                     LogDir(), "--public-key", KeyFile()};
    for (auto& e : extra) args.push_back(e);
    return RunStrongroom(args);
  }
};

TEST_F(AuditCliTest, VerifyNeedsOnlyTheFilesAndTheKeyAndNamesTheFirstBadRecord) {
  Result ok = Verify({"--require-sealed"});
  ASSERT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_EQ(ok.out.rfind("OK records=", 0), 0u) << ok.out;
  EXPECT_NE(ok.out.find(" checkpoints="), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find(" from=20"), std::string::npos) << ok.out;
  std::string head = ValueAfter(ok.out, "head=");
  ASSERT_GT(head.size(), 64u) << ok.out;

  // Cut the last record (the closing checkpoint) at its line boundary.
  const std::string current = LogDir() + "/current.jsonl";
  const std::string original = testing_support::ReadFileBytes(current);
  std::vector<std::string> lines = SplitLines(original);
  std::string shorter;
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) shorter += lines[i] + "\n";
  ASSERT_TRUE(testing_support::WriteFileBytes(current, shorter));
  Result cut = Verify();
  EXPECT_EQ(cut.exit_code, 0) << "without a known head a clean cut looks valid: " << cut.out;
  EXPECT_NE(cut.out.find("pending=1"), std::string::npos) << cut.out;
  Result against_head = Verify({"--expect-head", head});
  EXPECT_EQ(against_head.exit_code, 1) << against_head.out;
  EXPECT_NE(against_head.out.find("FAIL seq=" + std::to_string(lines.size())), std::string::npos)
      << against_head.out;
  Result unsealed = Verify({"--require-sealed"});
  EXPECT_EQ(unsealed.exit_code, 1) << unsealed.out;

  std::string tampered = original;
  std::size_t second_line = tampered.find('\n') + 1;
  tampered[second_line + 20] ^= 0x01;
  ASSERT_TRUE(testing_support::WriteFileBytes(current, tampered));
  Result bad = Verify();
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("FAIL seq=2 file=current.jsonl line=2: "), std::string::npos) << bad.out;
}

TEST_F(AuditCliTest, VerifyRefusesAMissingOrWrongKeyClearly) {
  RemoveKeyFile();
  Result missing = Verify();
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.out.find("cannot read public key file"), std::string::npos) << missing.out;
  ASSERT_TRUE(testing_support::WriteFileBytes(KeyFile(), "not a key"));
  Result garbage = Verify();
  EXPECT_EQ(garbage.exit_code, 1);
  EXPECT_NE(garbage.out.find("is not a PEM public key"), std::string::npos) << garbage.out;
  Result bad_head = Verify({"--expect-head", "12"});
  EXPECT_EQ(bad_head.exit_code, 1);
  Result no_key = RunStrongroom({"audit", "verify", "--log", LogDir()});
  EXPECT_EQ(no_key.exit_code, 2) << no_key.out;
}

TEST_F(AuditCliTest, ShowPrintsFilteredRecordsAsATableOrAsStoredJson) {
  Result table = RunStrongroom({"audit", "show", "--log", LogDir()});
  ASSERT_EQ(table.exit_code, 0) << table.out;
  EXPECT_EQ(table.out.rfind("SEQ ", 0), 0u) << table.out;
  EXPECT_NE(table.out.find("appliance.init"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("store.backup"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("(checkpoint)"), std::string::npos) << table.out;

  Result json =
      RunStrongroom({"audit", "show", "--log", LogDir(), "--action", "store.backup", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.out;
  std::vector<std::string> lines = SplitLines(json.out);
  ASSERT_EQ(lines.size(), 1u) << json.out;
  EXPECT_EQ(lines[0].rfind("{\"seq\":", 0), 0u);
  EXPECT_NE(lines[0].find("\"action\":\"store.backup\""), std::string::npos);
  std::string on_disk = testing_support::ReadFileBytes(LogDir() + "/current.jsonl");
  EXPECT_NE(on_disk.find(lines[0] + "\n"), std::string::npos) << "--json prints records as stored";

  Result limited = RunStrongroom({"audit", "show", "--log", LogDir(), "--limit", "1"});
  EXPECT_EQ(SplitLines(limited.out).size(), 2u) << limited.out;  // header + one record
  Result none = RunStrongroom({"audit", "show", "--log", LogDir(), "--actor", "nobody", "--json"});
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_TRUE(none.out.empty()) << none.out;
  Result bad = RunStrongroom({"audit", "show", "--log", LogDir(), "--outcome", "ok"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("outcome must be allowed, denied or failed"), std::string::npos)
      << bad.out;
}

}  // namespace
}  // namespace strongroom
