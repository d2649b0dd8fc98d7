#include "tests/support/server_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/rand.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string_view>
#include <thread>
#include <utility>

#include "base/bytes.h"

extern char** environ;

namespace strongroom::testing_support {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kReadyTimeout{30'000};
constexpr milliseconds kStopTimeout{10'000};
constexpr milliseconds kCliTimeout{60'000};
constexpr int kLogTailLines = 40;

// RandomHex returns 2 * bytes lower-case hex digits from OpenSSL's CSPRNG.
std::string RandomHex(std::size_t bytes) {
  std::vector<std::uint8_t> random(bytes);
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) std::abort();
  return HexEncode(random);
}

// DecodeWaitStatus returns the exit status, or -N for a signal N.
int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1;
}

// TryReap reaps `pid` if it has exited: true and its decoded status.
bool TryReap(pid_t pid, int* decoded) {
  int status = 0;
  pid_t done = ::waitpid(pid, &status, WNOHANG);
  if (done == pid) {
    *decoded = DecodeWaitStatus(status);
    return true;
  }
  if (done < 0 && errno == ECHILD) {  // reaped elsewhere: nothing more to learn
    *decoded = -1;
    return true;
  }
  return false;
}

// WaitForExit reaps `pid`, killing it with SIGKILL once `timeout` passes.
// Returns its decoded status.
int WaitForExit(pid_t pid, milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  int decoded = -1;
  while (!TryReap(pid, &decoded)) {
    if (Clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return DecodeWaitStatus(status);
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  return decoded;
}

// ChildEnvironment returns this process's environment with `overrides`
// ("NAME=value") in place of the entries of the same names: SOFTHSM2_CONF,
// so that each server and CLI run uses its own token even if another
// TestToken was made since (TestToken sets the variable in this process,
// for whichever was made last).
std::vector<std::string> ChildEnvironment(const std::vector<std::string>& overrides) {
  std::vector<std::string> entries;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    bool overridden = false;
    for (const std::string& override_entry : overrides) {
      const std::string_view name =
          std::string_view(override_entry).substr(0, override_entry.find('=') + 1);
      overridden = overridden || text.starts_with(name);
    }
    if (!overridden) entries.emplace_back(text);
  }
  entries.insert(entries.end(), overrides.begin(), overrides.end());
  return entries;
}

// Spawn starts argv[0] with ChildEnvironment(overrides), stdin from
// `stdin_path` and stdout/stderr appended to the given files (created 0600).
// The child gets SIGKILL if this thread dies, so a crashed test leaves no
// server behind. Returns its pid, or -1 and `error`.
pid_t Spawn(const std::vector<std::string>& args, const std::vector<std::string>& overrides,
            const std::string& stdin_path, const std::string& stdout_path,
            const std::string& stderr_path, std::string* error) {
  // Everything the child needs is made before fork: after it, only
  // async-signal-safe calls.
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const std::vector<std::string> environment = ChildEnvironment(overrides);
  std::vector<char*> envp;
  for (const std::string& entry : environment) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    return -1;
  }
  if (pid == 0) {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(126);
    const int flags = O_WRONLY | O_CREAT | O_APPEND;
    int in = ::open(stdin_path.c_str(), O_RDONLY);
    int out = ::open(stdout_path.c_str(), flags, 0600);
    int err = ::open(stderr_path.c_str(), flags, 0600);
    if (in < 0 || out < 0 || err < 0) ::_exit(126);
    if (::dup2(in, STDIN_FILENO) < 0 || ::dup2(out, STDOUT_FILENO) < 0 ||
        ::dup2(err, STDERR_FILENO) < 0) {
      ::_exit(126);
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

std::string MakeDirectory(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0)
    return "cannot create " + path + ": " + std::strerror(errno);
  return "";
}

// TailLines returns the last `count` lines of `text`.
std::string TailLines(const std::string& text, int count) {
  std::size_t start = text.size();
  if (start > 0 && text[start - 1] == '\n') --start;  // the last line's own newline
  for (int seen = 0; start > 0; --start) {
    if (text[start - 1] == '\n' && ++seen == count) break;
  }
  return text.substr(start);
}

}  // namespace

ServerProcess::ServerProcess(ServerProcessOptions options)
    : options_(std::move(options)),
      data_dir_(dir_.Join("data")),
      policy_dir_(dir_.Join("policies")) {}

std::unique_ptr<ServerProcess> ServerProcess::Start(ServerProcessOptions options) {
  std::unique_ptr<ServerProcess> server(new ServerProcess(std::move(options)));
  std::string error = server->Prepare();
  if (error.empty()) error = server->Launch();
  if (error.empty()) error = server->WaitReady();
  if (!error.empty()) {
    server->FailWithLog(error);
    return nullptr;  // the destructor kills a child that is still running
  }
  return server;
}

ServerProcess::~ServerProcess() { Stop(); }

std::string ServerProcess::PrepareShared() {
  const ServerProcess& first = *options_.share_token_of;
  token_ = first.token_;
  pki_ = first.pki_;
  server_cert_ = first.server_cert_;
  admin_cert_ = first.admin_cert_;
  decrypter_cert_ = first.decrypter_cert_;
  admin_password_ = first.admin_password_;
  policy_dir_ = first.policy_dir_;
  if (std::string error = MakeDirectory(data_dir_); !error.empty()) return error;
  const std::string password_file = dir_.Join("admin-password");
  if (!WriteFileBytes(password_file, admin_password_, 0600)) return "cannot write " + password_file;
  if (std::string error = WriteConfig(); !error.empty()) return error;
  return InitOrJoin();
}

std::string ServerProcess::InitOrJoin() {
  std::vector<std::string> init_args = {"init", "--admin-password-file",
                                        dir_.Join("admin-password")};
  if (options_.join_cluster) init_args = {"join", "--config", dir_.Join("strongroom.toml")};
  init_args.insert(init_args.end(), options_.init_extra_args.begin(),
                   options_.init_extra_args.end());
  CliResult init = RunCli(init_args);
  if (init.exit_code != 0) {
    // Only stderr: stdout is init's report, which is not needed to diagnose.
    return "strongroom " + init_args[0] + " exited with " + std::to_string(init.exit_code) + ": " +
           Redact(init.err);
  }
  return "";
}

std::string ServerProcess::Prepare() {
  if (options_.share_token_of != nullptr) return PrepareShared();
  token_ = std::make_unique<TestToken>(
      TestTokenOptions{.through_fault_module = options_.through_fault_module});
  for (const std::string& dir : {dir_.Join("pki"), data_dir_, policy_dir_}) {
    if (std::string error = MakeDirectory(dir); !error.empty()) return error;
  }
  if (options_.through_fault_module) {
    StatusOr<FaultControlFile> control = FaultControlFile::Create(dir_.Join("fault-control"));
    if (!control.has_value()) return control.error().ToString();
    fault_control_ = std::make_unique<FaultControlFile>(std::move(*control));
  }
  if (options_.before_init) {
    if (std::string error = options_.before_init(data_dir_); !error.empty()) return error;
  }
  pki_ = std::make_unique<TestPki>(dir_.Join("pki"));
  server_cert_ = pki_->IssueServer("server");
  admin_cert_ = pki_->IssueClient("admin", {.common_name = "admin"});
  decrypter_cert_ = pki_->IssueClient("decrypter", {.common_name = "demo-service"});
  admin_password_ = RandomHex(16);
  const std::string password_file = dir_.Join("admin-password");
  if (!WriteFileBytes(password_file, admin_password_, 0600)) return "cannot write " + password_file;
  if (std::string error = WritePolicies(); !error.empty()) return error;
  if (std::string error = WriteConfig(); !error.empty()) return error;

  if (options_.token_ready && !options_.token_ready(*token_)) return "token_ready failed";
  return InitOrJoin();
}

std::vector<std::string> ServerProcess::ChildOverrides() const {
  std::vector<std::string> overrides = {"SOFTHSM2_CONF=" + token_->conf_path()};
  if (fault_control_ != nullptr) {
    overrides.push_back("SR_FAULT_PKCS11_CONTROL=" + fault_control_->path());
  }
  return overrides;
}

std::string ServerProcess::WritePolicies() const {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path defaults = STRONGROOM_DEFAULT_POLICY_DIR;
  if (fs::is_directory(defaults, ec)) {
    for (const fs::directory_entry& entry : fs::directory_iterator(defaults, ec)) {
      if (entry.path().extension() != ".json") continue;
      if (!fs::copy_file(entry.path(), fs::path(policy_dir_) / entry.path().filename(), ec)) {
        return "cannot copy " + entry.path().string() + ": " + ec.message();
      }
    }
  }
  nlohmann::json admin_entry = {{"sha256", admin_cert_.fingerprint_sha256}, {"user", "admin"}};
  nlohmann::json identities = {{"certificates", nlohmann::json::array({admin_entry})}};
  std::map<std::string, std::string> files = {{"identities.json", identities.dump(2) + "\n"}};
  for (const auto& [name, content] : options_.extra_policy_files) files[name] = content;
  for (const auto& [name, content] : files) {
    const std::string path = policy_dir_ + "/" + name;
    if (!WriteFileBytes(path, content, 0600)) return "cannot write " + path;
  }
  return "";
}

std::string ServerProcess::WriteConfig() const {
  const std::string pki = dir_.Join("pki");
  toml::table config{
      {"listen", "127.0.0.1:0"},
      {"data_dir", data_dir_},
      {"policy_dir", policy_dir_},
      {"port_file", dir_.Join("port")},
      {"token", toml::table{{"module", token_->module_path()},
                            {"uri", token_->token_uri()},
                            {"pin_file", token_->pin_file()}}},
      {"tls", toml::table{{"certificate", server_cert_.cert_path},
                          {"private_key", server_cert_.key_path},
                          {"client_ca", pki_->ca_cert_path()}}},
      {"memory", toml::table{{"arena_mib", 16}, {"allow_unlocked", true}}},
  };
  if (!crl_path_.empty()) config["tls"].as_table()->insert_or_assign("crl", crl_path_);
  std::ostringstream text;
  text << "# Written by tests/support/server_process.cc for one test.\n" << config << "\n";
  if (!options_.extra_config_lines.empty()) {
    text << "\n[limits]\n";
    for (const std::string& line : options_.extra_config_lines) text << line << "\n";
  }
  if (!options_.extra_config_text.empty()) text << "\n" << options_.extra_config_text << "\n";
  const std::string path = dir_.Join("strongroom.toml");
  if (!WriteFileBytes(path, text.str(), 0600)) return "cannot write " + path;
  return "";
}

std::string ServerProcess::Launch() {
  ::unlink(dir_.Join("port").c_str());
  port_ = 0;
  std::string error;
  pid_ = Spawn({STRONGROOM_BINARY, "serve", "--config", dir_.Join("strongroom.toml")},
               ChildOverrides(), "/dev/null", dir_.Join("server.stdout"),
               dir_.Join("server.stderr"), &error);
  return pid_ > 0 ? "" : "cannot start " STRONGROOM_BINARY ": " + error;
}

std::string ServerProcess::WaitReady(const std::string& probe) {
  const Clock::time_point deadline = Clock::now() + kReadyTimeout;
  std::string last_answer = "no port file yet";
  while (Clock::now() < deadline) {
    if (int status = 0; TryReap(pid_, &status)) {
      pid_ = -1;
      last_status_ = status;
      return "strongroom serve ended (status " + std::to_string(status) + ") before it was ready";
    }
    const std::string port_text = ReadFileBytes(dir_.Join("port"));
    if (port_ == 0 && port_text.ends_with('\n')) port_ = std::atoi(port_text.c_str());
    if (port_ > 0) {
      HttpsClient client(base_url(), ca_path());
      client.SetTimeoutMs(2'000);
      HttpsResponse ready = client.Request("GET", probe, "", "");
      if (ready.status == 200) return "";
      last_answer =
          "GET " + probe + ": " +
          (ready.status == 0 ? ready.error : std::to_string(ready.status) + " " + ready.body);
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  last_status_ = WaitForExit(pid_, kStopTimeout);
  pid_ = -1;
  return "strongroom serve was not ready within 30 s (" + Redact(last_answer) + ")";
}

int ServerProcess::Stop() {
  if (pid_ <= 0) return last_status_;
  ::kill(pid_, SIGTERM);
  last_status_ = WaitForExit(pid_, kStopTimeout);
  pid_ = -1;
  return last_status_;
}

int ServerProcess::Restart() {
  Stop();
  std::string error = WriteConfig();
  if (error.empty()) error = Launch();
  if (error.empty()) error = WaitReady();
  if (error.empty()) return 0;
  FailWithLog(error);
  return -1;
}

int ServerProcess::RestartListening() {
  Stop();
  std::string error = WriteConfig();
  if (error.empty()) error = Launch();
  if (error.empty()) error = WaitReady("/livez");
  if (error.empty()) return 0;
  FailWithLog(error);
  return -1;
}

std::string ServerProcess::base_url() const { return "https://127.0.0.1:" + std::to_string(port_); }

std::string ServerProcess::stderr_text() const { return ReadFileBytes(dir_.Join("server.stderr")); }

HttpsClient ServerProcess::AdminClient() const {
  HttpsClient client(base_url(), ca_path());
  client.SetBasicAuth("admin", admin_password_);
  return client;
}

HttpsClient ServerProcess::CertClient(const IssuedCertificate& cert) const {
  HttpsClient client(base_url(), ca_path());
  client.SetClientCertificate(cert.cert_path, cert.key_path);
  return client;
}

ServerProcess::CliResult ServerProcess::RunCli(std::vector<std::string> args,
                                               std::string stdin_text) const {
  static std::atomic<int> counter{0};
  const std::string stem = dir_.Join("cli-" + std::to_string(++counter));
  std::string stdin_path = "/dev/null";
  if (!stdin_text.empty()) {
    stdin_path = stem + ".stdin";
    if (!WriteFileBytes(stdin_path, stdin_text, 0600))
      return {-1, "", "cannot write " + stdin_path};
  }
  args.insert(args.begin(), STRONGROOM_BINARY);
  for (const std::string& flag :
       {std::string("--data-dir"), data_dir_, std::string("--module"), token_->module_path(),
        std::string("--token-uri"), token_->token_uri(), std::string("--pin-file"),
        token_->pin_file(), std::string("--allow-unlocked-memory")}) {
    args.push_back(flag);
  }
  CliResult result{-1, "", ""};
  std::string error;
  pid_t pid = Spawn(args, ChildOverrides(), stdin_path, stem + ".out", stem + ".err", &error);
  if (pid < 0) {
    result.err = error;
    return result;
  }
  result.exit_code = WaitForExit(pid, kCliTimeout);
  result.out = ReadFileBytes(stem + ".out");
  result.err = ReadFileBytes(stem + ".err");
  for (const char* suffix : {".stdin", ".out", ".err"}) ::unlink((stem + suffix).c_str());
  return result;
}

std::string ServerProcess::Redact(std::string text) const {
  std::vector<std::string> secrets = {admin_password_};
  if (token_ != nullptr) {
    secrets.push_back(token_->pin());
    secrets.push_back(token_->so_pin());
  }
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
      text.replace(at, secret.size(), "<redacted>");
    }
  }
  return text;
}

void ServerProcess::FailWithLog(const std::string& what) const {
  ADD_FAILURE() << "ServerProcess: " << what << "\n--- last lines of the server's stderr ---\n"
                << Redact(TailLines(stderr_text(), kLogTailLines));
}

}  // namespace strongroom::testing_support
