// The trust anchor in the token (issue 16), end to end: the real binary,
// SoftHSM and files, attacked by someone who can write the data directory
// but has neither the PIN nor the token. Rolling the whole state back,
// rolling the store back with the log removed, and rewriting the log under
// a running server are refused; honest CLI writes, backup and restore, the
// upgrade of a store from before anchors (`strongroom anchor adopt`) and
// SIGKILL while the anchor is being written still work.
//
// SECURITY: the values stored here are test values, never printed; the PIN
// reaches pkcs11-tool through the shell reading the PIN file, never through
// this program's output.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "crypto/trust_anchor.h"
#include "tests/e2e/audit_test_support.h"
#include "tests/e2e/auth_test_support.h"
#include "tests/e2e/securevalue_api_client.h"
#include "tests/support/shell_command.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace strongroom::testing_support {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

const std::string kNs = "team-a";

// ---- requests -------------------------------------------------------------

// Create makes the SecureValue `name` in kNs as the admin certificate and
// returns the HTTP status (0 when the server did not answer).
long Create(const ServerProcess& server, const std::string& name) {
  HttpsClient client = server.CertClient(server.admin_cert());
  client.SetTimeoutMs(5'000);
  return client
      .Request("POST", SecureValues(kNs), ToBody({.name = name, .value = "anchor-value-" + name}))
      .status;
}
long Read(const ServerProcess& server, const std::string& name) {
  return server.CertClient(server.admin_cert()).Request("GET", SecureValue(kNs, name)).status;
}
long Delete(const ServerProcess& server, const std::string& name) {
  return server.CertClient(server.admin_cert()).Request("DELETE", SecureValue(kNs, name)).status;
}
long Ready(const ServerProcess& server) {
  HttpsClient probe(server.base_url(), server.ca_path());
  probe.SetTimeoutMs(5'000);
  return probe.Request("GET", "/readyz").status;
}

// ---- the data directory as an attacker sees it ----------------------------

// SaveState copies data/store and data/audit into `to`/store and `to`/audit
// (the server stopped).
void SaveState(const ServerProcess& server, const std::string& to) {
  fs::create_directories(to);
  for (const char* part : {"store", "audit"}) {
    fs::remove_all(to + "/" + part);
    fs::copy(server.data_dir() + "/" + part, to + "/" + part, fs::copy_options::recursive);
  }
}

// PutBack replaces data/`part` with the copy in `from`/`part`.
void PutBack(const ServerProcess& server, const std::string& from, const std::string& part) {
  fs::remove_all(server.data_dir() + "/" + part);
  fs::copy(from + "/" + part, server.data_dir() + "/" + part, fs::copy_options::recursive);
}
void PutStateBack(const ServerProcess& server, const std::string& from) {
  PutBack(server, from, "store");
  PutBack(server, from, "audit");
}

// LogFiles is every *.jsonl file of data/audit: name -> bytes.
std::map<std::string, std::string> LogFiles(const ServerProcess& server) {
  std::map<std::string, std::string> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(AuditDir(server))) {
    if (entry.path().extension() == ".jsonl") {
      files[entry.path().filename()] = ReadWhole(entry.path());
    }
  }
  return files;
}

// ---- starting and refusing ------------------------------------------------

// Serve runs `strongroom serve` on the server's configuration in the
// foreground, for a start that must be refused (it returns once the
// process exits; RunCli kills it after 60 s if it serves instead).
ServerProcess::CliResult Serve(const ServerProcess& server) {
  return server.RunCli({"serve", "--config", server.dir() + "/strongroom.toml"});
}

// ExpectRefused checks a refused start: exit status 1 and, on stderr, the
// one line `strongroom: failed_precondition: ...; start-up refused...`
// holding every one of `names`.
void ExpectRefused(const ServerProcess::CliResult& refused, const std::vector<std::string>& names) {
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_EQ(std::count(refused.err.begin(), refused.err.end(), '\n'), 1)
      << "one line: " << refused.err;
  EXPECT_TRUE(refused.err.starts_with("strongroom: failed_precondition: ")) << refused.err;
  EXPECT_NE(refused.err.find("start-up refused"), std::string::npos) << refused.err;
  for (const std::string& name : names) {
    EXPECT_NE(refused.err.find(name), std::string::npos) << "names " << name << ": " << refused.err;
  }
}

// ---- the anchor and the log offline ---------------------------------------

// AnchoredHead is the "sealed head" `strongroom anchor show` prints
// (seq 0 and "" after recording a failure, or when there is none).
audit::Head AnchoredHead(const ServerProcess& server) {
  ServerProcess::CliResult shown = server.RunCli({"anchor", "show"});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  const std::string label = "sealed head:";
  const std::size_t at = shown.out.find(label);
  if (at == std::string::npos) return {};
  std::istringstream rest(shown.out.substr(at + label.size()));
  std::string text;
  rest >> text;
  StatusOr<audit::Head> head = audit::ParseHead(text);
  EXPECT_OK(head) << shown.out;
  return head.value_or(audit::Head{});
}

// HasCheckpoint returns whether `log` (JSON lines) holds the checkpoint
// record `head`.
bool HasCheckpoint(const std::string& log, const audit::Head& head) {
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    StatusOr<audit::ParsedLine> parsed = audit::ParseLine(line);
    if (parsed && parsed->seq == head.seq && parsed->hash == head.hash &&
        parsed->type == audit::RecordType::kCheckpoint) {
      return true;
    }
  }
  return false;
}

// VerifyWithCli runs `strongroom audit verify --log data/audit --public-key
// FILE [extra]` (the auditor's offline check) and returns its result
// (stdout and stderr together).
ShellResult VerifyWithCli(const ServerProcess& server, const std::string& public_key_file,
                          const std::string& extra = "") {
  return RunShell(std::string(STRONGROOM_BINARY) + " audit verify --log '" + AuditDir(server) +
                  "' --public-key '" + public_key_file + "' " + extra + " 2>&1");
}

// ExpectSealedLogVerifies checks, with the server stopped, that the log
// verifies with every record sealed, and that the token anchors its last
// checkpoint (a clean stop seals the log and anchors it).
void ExpectSealedLogVerifies(const ServerProcess& server, const std::string& public_key) {
  audit::VerifyOptions options;
  options.public_key_pem = public_key;
  options.require_sealed = true;
  audit::VerifyReport report = audit::VerifyDirectory(AuditDir(server), options);
  EXPECT_TRUE(report.ok) << report.Summary();
  const audit::Head anchored = AnchoredHead(server);
  EXPECT_EQ(anchored.seq, report.last_seq) << "the anchor names the last checkpoint";
  EXPECT_EQ(anchored.hash, report.head_hash) << "the anchor names the last checkpoint";
}

// ---- forging the log ------------------------------------------------------

// ForgeLog returns `honest` (current.jsonl) as someone without the audit
// key can rewrite it: without the checkpoints and the records `drop`
// selects, then (to reach record `reach_seq`) its last record repeated,
// renumbered and chained again (hash = SHA-256(prev ‖ bytes before
// `,"hash":`), audit/record.h), so every line verifies on its own and the
// chain is whole.
std::string ForgeLog(const std::string& honest,
                     const std::function<bool(const nlohmann::json&)>& drop,
                     std::uint64_t reach_seq = 0) {
  std::istringstream lines(honest);
  std::string line;
  std::vector<std::string> kept;  // the bodies: the bytes before `,"hash":`
  std::uint64_t seq = 0;
  std::string prev;
  while (std::getline(lines, line)) {
    const nlohmann::json record = nlohmann::json::parse(line);
    if (prev.empty()) {
      seq = record.at("seq").get<std::uint64_t>() - 1;
      prev = record.at("prev").get<std::string>();
    }
    if (Field(record, "/type") == "checkpoint" || drop(record)) continue;
    kept.push_back(line.substr(0, line.rfind(",\"hash\":\"")));
  }
  while (!kept.empty() && seq + kept.size() < reach_seq) kept.push_back(kept.back());
  std::string forged;
  for (std::string body : kept) {
    body = "{\"seq\":" + std::to_string(++seq) + body.substr(body.find(','));
    body = body.substr(0, body.rfind(",\"prev\":\"")) + ",\"prev\":\"" + prev + "\"";
    const std::string hash = audit::ChainHash(prev, body);
    line = body + ",\"hash\":\"" + hash + "\"}";
    EXPECT_OK(audit::ParseLine(line)) << "the forger's own line " << seq;
    forged += line + "\n";
    prev = hash;
  }
  return forged;
}

// SeqOf returns the seq of the allowed create record of `name` (0 if none).
std::uint64_t SeqOf(const ServerProcess& server, const std::string& name) {
  for (const nlohmann::json& r : WithAction(AuditRecords(server), "secret.securevalues:create")) {
    if (Field(r, "/resource/name") == name && Field(r, "/outcome/result") == "allowed") {
      return r.value("seq", std::uint64_t{0});
    }
  }
  return 0;
}

// ---- the tests --------------------------------------------------------------

TEST(Anchor, AWholeStateRolledBackIsRefusedAndTheHonestFilesStartAgain) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(Create(*server, "rolled-back"), 201);
  const std::string token = IssueToken(*server, "admin", "ServerAdmin", "*");
  ASSERT_FALSE(token.empty());
  ASSERT_EQ(server->Stop(), 0);
  TempDir copies;
  const std::string old_state = copies.Join("old");
  SaveState(*server, old_state);

  ASSERT_EQ(server->Restart(), 0);
  EXPECT_EQ(Delete(*server, "rolled-back"), 200);
  CliOk(*server, {"token", "revoke", TokenId(token)});
  for (const std::string name : {"later-1", "later-2", "later-3"}) {
    EXPECT_EQ(Create(*server, name), 201) << name;
  }
  ASSERT_EQ(server->Stop(), 0);
  const std::string honest_state = copies.Join("honest");
  SaveState(*server, honest_state);

  // The attacker puts the older store and log back, both consistent with
  // each other and the log's own checkpoints.
  PutStateBack(*server, old_state);
  const std::map<std::string, std::string> log_before = LogFiles(*server);
  ServerProcess::CliResult refused = Serve(*server);
  ExpectRefused(refused, {"audit log"});
  EXPECT_TRUE(LogFiles(*server) == log_before) << "a refused start appends nothing";

  PutStateBack(*server, honest_state);
  ASSERT_EQ(server->Restart(), 0);
  EXPECT_EQ(Read(*server, "rolled-back"), 404) << "the deletion stands";
  EXPECT_EQ(Read(*server, "later-2"), 200);
  HttpsClient revoked = TokenClient(*server, token);
  EXPECT_EQ(ListStatus(revoked, kNs), 401) << "the revocation stands";
}

TEST(Anchor, AStoreRolledBackWithTheLogRemovedIsRefusedAndTheHonestFilesStartAgain) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(Create(*server, "first"), 201);
  ASSERT_EQ(server->Stop(), 0);
  TempDir copies;
  const std::string old_state = copies.Join("old");
  SaveState(*server, old_state);
  ASSERT_EQ(server->Restart(), 0);
  ASSERT_EQ(Create(*server, "second"), 201);
  ASSERT_EQ(Delete(*server, "first"), 200);
  ASSERT_EQ(server->Stop(), 0);
  const std::string honest_state = copies.Join("honest");
  SaveState(*server, honest_state);

  // The older store, and no log at all to contradict it.
  PutBack(*server, old_state, "store");
  for (const fs::directory_entry& entry : fs::directory_iterator(AuditDir(*server))) {
    fs::remove_all(entry.path());
  }
  ServerProcess::CliResult refused = Serve(*server);
  ExpectRefused(refused, {"audit log", "missing or empty"});
  for (const auto& [name, bytes] : LogFiles(*server)) {
    EXPECT_EQ(bytes.size(), 0u) << name << ": a refused start writes no record";
  }

  // The older store beside the honest log: refused too, by the anchor's
  // resourceVersion.
  PutBack(*server, honest_state, "audit");
  refused = Serve(*server);
  ExpectRefused(refused, {"store", "rolled back"});

  PutStateBack(*server, honest_state);
  ASSERT_EQ(server->Restart(), 0);
  EXPECT_EQ(Read(*server, "first"), 404);
  EXPECT_EQ(Read(*server, "second"), 200);
}

TEST(Anchor, ALogRewrittenUnderARunningServerLatchesItAndIsNeverSigned) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  const std::string public_key = AuditPublicKey(*server);
  ASSERT_FALSE(public_key.empty());
  TempDir work;
  const std::string key_file = work.Join("audit-public-key.pem");
  ASSERT_TRUE(WriteFileBytes(key_file, public_key));
  for (const std::string name : {"before-1", "hidden", "before-2"}) {
    ASSERT_EQ(Create(*server, name), 201) << name;
  }
  // The token anchors a head past the create the attacker wants gone (the
  // server anchors at most once a second after a checkpoint).
  const std::uint64_t hidden_seq = SeqOf(*server, "hidden");
  ASSERT_GT(hidden_seq, 0u);
  audit::Head anchored_before;
  const Clock::time_point anchored_by = Clock::now() + milliseconds(10'000);
  while (anchored_before.seq <= hidden_seq && Clock::now() < anchored_by) {
    anchored_before = AnchoredHead(*server);
    if (anchored_before.seq <= hidden_seq) std::this_thread::sleep_for(milliseconds(200));
  }
  ASSERT_GT(anchored_before.seq, hidden_seq) << "the server anchored no head past the create";

  const std::string current = AuditDir(*server) + "/current.jsonl";
  const std::string honest = ReadWhole(current);
  const std::string forged = ForgeLog(
      honest, [](const nlohmann::json& r) { return Field(r, "/resource/name") == "hidden"; });
  ASSERT_LT(forged.size(), honest.size());
  const std::string staged = AuditDir(*server) + "/forged.tmp";
  ASSERT_TRUE(WriteFileBytes(staged, forged));
  fs::rename(staged, current);

  // The next audited write finds the file replaced: refused, and readiness
  // drops. No create after the rename may succeed.
  const Clock::time_point deadline = Clock::now() + milliseconds(5'000);
  long status = 0;
  int attempt = 0;
  while (status != 503 && Clock::now() < deadline) {
    status = Create(*server, "after-forgery-" + std::to_string(++attempt));
    EXPECT_NE(status, 201) << "a write was accepted onto the forged log (attempt " << attempt
                           << ")";
    if (status != 503) std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(status, 503) << "after " << attempt << " attempts";
  long ready = Ready(*server);
  while (ready == 200 && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(50));
    ready = Ready(*server);
  }
  EXPECT_NE(ready, 200) << "/readyz";
  const int stopped = server->Stop();
  std::printf("a server whose log was rewritten stopped with status %d\n", stopped);

  // Nothing was written after the forged lines, and in particular no
  // checkpoint signs them.
  const std::string after = ReadWhole(current);
  EXPECT_TRUE(after.starts_with(forged)) << "the forged lines are as the attacker left them";
  EXPECT_EQ(after.size(), forged.size()) << "the server appended to the forged log";
  EXPECT_EQ(after.find("\"type\":\"checkpoint\""), std::string::npos) << "a checkpoint was signed";
  // The auditor's offline checks: the forged records are unsealed, and the
  // log does not hold the head copied off the host earlier.
  ShellResult sealed = VerifyWithCli(*server, key_file, "--require-sealed");
  EXPECT_NE(sealed.exit_code, 0) << sealed.out;
  EXPECT_NE(sealed.out.find("FAIL "), std::string::npos) << sealed.out;
  ShellResult against_head = VerifyWithCli(
      *server, key_file,
      "--expect-head " + std::to_string(anchored_before.seq) + ":" + anchored_before.hash);
  EXPECT_NE(against_head.exit_code, 0) << against_head.out;
  // Without a head or --require-sealed the chain itself is whole: the
  // verifier can only report every forged record as unsealed.
  ShellResult plain = VerifyWithCli(*server, key_file);
  const auto forged_records = std::count(forged.begin(), forged.end(), '\n');
  EXPECT_NE(plain.out.find("checkpoints=0 pending=" + std::to_string(forged_records)),
            std::string::npos)
      << plain.out;

  // The token still names the honest head, and a start on the forged log
  // is refused.
  const audit::Head anchored_after = AnchoredHead(*server);
  EXPECT_GE(anchored_after.seq, anchored_before.seq);
  EXPECT_TRUE(HasCheckpoint(honest, anchored_after))
      << "the anchor " << anchored_after.seq << " is a checkpoint of the honest log";
  EXPECT_EQ(after.find(anchored_after.hash), std::string::npos);
  ExpectRefused(Serve(*server), {"audit log", "ends at record"});
  // A forged log long enough to reach the anchored record is refused by
  // the record's hash.
  const std::string longer = ForgeLog(
      honest, [](const nlohmann::json& r) { return Field(r, "/resource/name") == "hidden"; },
      anchored_after.seq + 3);
  ASSERT_TRUE(WriteFileBytes(current, longer));
  ExpectRefused(Serve(*server), {"audit log", "rewritten"});
  EXPECT_EQ(ReadWhole(current), longer) << "a refused start appends nothing";
}

TEST(Anchor, AnHonestCliWriteWhileTheServerRunsIsAdoptedAndServiceGoesOn) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  const std::string public_key = AuditPublicKey(*server);
  ASSERT_FALSE(public_key.empty());
  ASSERT_EQ(Create(*server, "before-cli"), 201);
  ASSERT_EQ(AddUser(*server, "carol", "Viewer", kNs).exit_code, 0);
  const std::string token = IssueToken(*server, "admin", "ServerAdmin", "*");
  ASSERT_FALSE(token.empty());

  EXPECT_EQ(Create(*server, "after-cli"), 201);
  EXPECT_EQ(Ready(*server), 200);
  HttpsClient carol = BasicClient(*server, "carol", PasswordOf("carol"));
  EXPECT_EQ(ListStatus(carol, kNs), 200);
  HttpsClient bearer = TokenClient(*server, token);
  EXPECT_EQ(ListStatus(bearer, kNs), 200);
  EXPECT_EQ(Create(*server, "after-logins"), 201);

  ASSERT_EQ(server->Stop(), 0);
  const std::vector<nlohmann::json> records = AuditRecords(*server);
  EXPECT_EQ(WithAction(records, "user:create").size(), 1u);
  EXPECT_EQ(WithAction(records, "token:create").size(), 1u);
  ExpectSealedLogVerifies(*server, public_key);
  TempDir work;
  const std::string key_file = work.Join("audit-public-key.pem");
  ASSERT_TRUE(WriteFileBytes(key_file, public_key));
  ShellResult verified = VerifyWithCli(*server, key_file, "--require-sealed");
  EXPECT_EQ(verified.exit_code, 0) << verified.out;
  ASSERT_EQ(server->Restart(), 0);
  EXPECT_EQ(Read(*server, "after-logins"), 200);
}

TEST(Anchor, AnHonestRestoreStartsAndTheAnchorFollowsIt) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  const std::string public_key = AuditPublicKey(*server);
  ASSERT_FALSE(public_key.empty());
  ASSERT_EQ(Create(*server, "in-backup"), 201);
  TempDir backups;
  const std::string backup = backups.Join("b1");
  ServerProcess::CliResult backed_up = server->RunCli({"backup", "--to", backup});
  ASSERT_EQ(backed_up.exit_code, 0) << backed_up.err;
  ASSERT_EQ(Create(*server, "after-backup"), 201);
  ASSERT_EQ(Delete(*server, "in-backup"), 200);
  ASSERT_EQ(server->Stop(), 0);

  ServerProcess::CliResult restored = server->RunCli({"restore", "--from", backup});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  ASSERT_EQ(server->Restart(), 0);
  EXPECT_EQ(Read(*server, "in-backup"), 200);
  EXPECT_EQ(Read(*server, "after-backup"), 404);
  EXPECT_EQ(Create(*server, "after-restore"), 201);

  ASSERT_EQ(server->Stop(), 0);
  ExpectSealedLogVerifies(*server, public_key);
  ASSERT_EQ(server->Restart(), 0) << "a second start after the restore";
  EXPECT_EQ(Read(*server, "in-backup"), 200);
  EXPECT_EQ(Read(*server, "after-restore"), 200);
  EXPECT_EQ(WithAction(AuditRecords(*server), "store.restore").size(), 1u);
}

// DeleteAnchorObjects removes every anchor object from the server's token
// with pkcs11-tool (the PIN holder's tool, not Strongroom), one per run;
// returns how many it removed.
int DeleteAnchorObjects(ServerProcess& server) {
  const TestToken& token = server.token();
  const std::string command =
      "env SOFTHSM2_CONF='" + token.conf_path() + "' pkcs11-tool --module '" + SoftHsmModulePath() +
      "' --token-label '" + token.label() + "' --login --pin \"$(cat '" + token.pin_file() +
      "')\" --delete-object --type data --application-label " +
      std::string(crypto::kAnchorApplication) + " >/dev/null 2>&1";
  int removed = 0;
  while (removed < 16 && RunShell(command).exit_code == 0) ++removed;
  return removed;
}

TEST(Anchor, AStoreFromBeforeAnchorsIsRefusedUntilAnchorAdoptAndThenStarts) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  const std::string public_key = AuditPublicKey(*server);
  ASSERT_FALSE(public_key.empty());
  ASSERT_EQ(Create(*server, "from-before"), 201);
  ASSERT_EQ(server->Stop(), 0);

  EXPECT_GE(DeleteAnchorObjects(*server), 1);
  ServerProcess::CliResult shown = server->RunCli({"anchor", "show"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  ASSERT_NE(shown.out.find("the token holds no trust anchor"), std::string::npos) << shown.out;

  ExpectRefused(Serve(*server), {"no trust anchor", "strongroom anchor adopt"});
  ServerProcess::CliResult listed = server->RunCli({"token", "list"});
  EXPECT_EQ(listed.exit_code, 1) << "a CLI command opening the store is refused too";
  EXPECT_NE(listed.err.find("strongroom anchor adopt"), std::string::npos) << listed.err;

  ServerProcess::CliResult adopted = server->RunCli({"anchor", "adopt"});
  ASSERT_EQ(adopted.exit_code, 0) << adopted.err << adopted.out;
  EXPECT_NE(adopted.out.find("audit log: OK"), std::string::npos) << adopted.out;
  const std::size_t adopted_at = adopted.out.find("adopted:\n");
  ASSERT_NE(adopted_at, std::string::npos) << adopted.out;
  EXPECT_NE(adopted.out.find("sealed head:", adopted_at), std::string::npos) << adopted.out;
  const audit::Head anchored = AnchoredHead(*server);
  EXPECT_NE(adopted.out.find(std::to_string(anchored.seq) + ":" + anchored.hash, adopted_at),
            std::string::npos)
      << "adopt printed the anchor the token now holds: " << adopted.out;

  ASSERT_EQ(server->Restart(), 0);
  EXPECT_EQ(Read(*server, "from-before"), 200);
  EXPECT_EQ(WithAction(AuditRecords(*server), "anchor.adopt").size(), 1u);
  ASSERT_EQ(server->Stop(), 0);
  ExpectSealedLogVerifies(*server, public_key);
}

// LoadThenKill creates secrets "r<round>-c<client>-<n>" from kClients
// clients and kills the server with SIGKILL after `kill_after`; returns how
// many creates were answered 201.
int LoadThenKill(ServerProcess& server, int round, milliseconds kill_after) {
  constexpr int kClients = 3;
  constexpr int kMaxRequests = 300;  // per client
  std::atomic<int> created{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      HttpsClient client = server.CertClient(server.admin_cert());
      client.SetTimeoutMs(3'000);
      for (int n = 0; n < kMaxRequests; ++n) {
        const std::string name =
            "r" + std::to_string(round) + "-c" + std::to_string(c) + "-" + std::to_string(n);
        const long status =
            client.Request("POST", SecureValues(kNs), ToBody({.name = name, .value = "v-" + name}))
                .status;
        if (status == 201) ++created;
        if (status == 0) break;  // the server is gone
      }
    });
  }
  std::this_thread::sleep_for(kill_after);
  EXPECT_EQ(::kill(server.pid(), SIGKILL), 0);
  for (std::thread& client : clients) client.join();
  return created;
}

TEST(Anchor, KillNineWhileTheAnchorIsWrittenUnderLoadNeverRefusesTheNextStart) {
  constexpr int kRounds = 5;
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  const std::string public_key = AuditPublicKey(*server);
  ASSERT_FALSE(public_key.empty());
  std::mt19937 random(20261216);
  // Past the anchor thread's one-second interval, so it writes under the
  // load and a kill may land inside a write.
  std::uniform_int_distribution<int> kill_after_ms(1'100, 1'800);
  int created = 0;
  int anchored_under_load = 0;  // rounds in which the anchor thread wrote before the kill
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const audit::Head before_load = AnchoredHead(*server);
    created += LoadThenKill(*server, round, milliseconds(kill_after_ms(random)));
    const audit::Head at_kill = AnchoredHead(*server);
    if (at_kill.seq > before_load.seq) ++anchored_under_load;
    ASSERT_EQ(server->Restart(), 0) << "start after SIGKILL";
  }
  EXPECT_GT(created, 0) << "the load made no write";
  EXPECT_GT(anchored_under_load, 0) << "no kill came after an anchor written under the load";
  std::printf("%d creates answered 201; the anchor moved under the load in %d of %d rounds\n",
              created, anchored_under_load, kRounds);
  EXPECT_EQ(Create(*server, "after-the-kills"), 201);
  ASSERT_EQ(server->Stop(), 0);
  ExpectSealedLogVerifies(*server, public_key);
  ASSERT_EQ(server->Restart(), 0);
}

// Start-up reads the log only from the anchored checkpoint and verifies the
// rest after the server is ready (issue 19): a record altered in the middle
// of the log turns it not ready for good, and nothing is signed or
// anchored past it; a clean restart signs once the check has passed.
TEST(Anchor, ARecordAlteredInTheMiddleOfTheLogTurnsTheRestartedServerNotReadyAndUnsigned) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  for (int i = 0; i < 12; ++i) ASSERT_EQ(Create(*server, "mid-" + std::to_string(i)), 201);
  ASSERT_EQ(server->Stop(), 0);
  const audit::Head anchored = AnchoredHead(*server);
  const std::string current = AuditDir(*server) + "/current.jsonl";
  std::vector<std::string> lines;
  {
    std::istringstream text(ReadWhole(current));
    for (std::string line; std::getline(text, line);) lines.push_back(line);
  }
  ASSERT_GT(lines.size(), 12u);
  std::size_t altered = 0;
  for (std::size_t i = lines.size() / 2; i < lines.size() && altered == 0; ++i) {
    const std::size_t at = lines[i].find("\"mid-");
    if (at == std::string::npos) continue;
    lines[i][at + 1] = 'M';  // its hash no longer matches
    altered = i + 1;
  }
  ASSERT_GT(altered, 0u);
  std::string tampered;
  for (const std::string& line : lines) tampered += line + "\n";
  ASSERT_TRUE(WriteFileBytes(current, tampered));

  ASSERT_EQ(server->RestartListening(), 0) << "the tail from the anchor is intact";
  EXPECT_EQ(WaitForReadiness(*server, 503), 503) << "not ready once the log check failed";
  EXPECT_NE(Create(*server, "after"), 201);
  const std::string err = server->stderr_text();
  EXPECT_NE(err.find("start-up verification failed"), std::string::npos) << err;
  EXPECT_NE(err.find("line " + std::to_string(altered)), std::string::npos) << err;
  server->Stop();
  EXPECT_EQ(AnchoredHead(*server).seq, anchored.seq) << "nothing is anchored past it";
  EXPECT_TRUE(NoCheckpointAfter(ReadWhole(current), tampered.size()));
}

TEST(Anchor, ACleanRestartSignsAndAnchorsOnceItsStartupVerificationPassed) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(Create(*server, "first"), 201);
  const std::string public_key = AuditPublicKey(*server);
  ASSERT_EQ(server->Restart(), 0);
  ASSERT_EQ(Create(*server, "second"), 201);
  ASSERT_EQ(server->Stop(), 0);
  EXPECT_NE(server->stderr_text().find("start-up verification passed"), std::string::npos);
  ExpectSealedLogVerifies(*server, public_key);
}

}  // namespace
}  // namespace strongroom::testing_support
