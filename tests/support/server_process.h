// tests/support/server_process.h — starts the real `strongroom` binary for
// end-to-end tests, as an operator would: a SoftHSM test token, a test PKI,
// `strongroom init`, a TOML configuration, then `strongroom serve` as a child
// process on a free loopback port, talked to over real TLS.
//
// Layout of the private temporary directory (removed at destruction):
//   pki/          ca.pem, server.pem/.key, admin.pem/.key, decrypter.pem/.key
//   data/         the data directory given to init and serve
//   policies/     policies/default/*.json of the source tree, identities.json
//                 (the admin certificate mapped to user "admin" by its
//                 SHA-256 fingerprint) and ServerProcessOptions' extra files
//   admin-password, strongroom.toml, port, server.stderr (the server's log)
//
// SECURITY: the admin password and the token PIN are secrets even here: they
// are never printed; text shown in a failure has them replaced by
// "<redacted>".
//
// Thread-safety: one test thread drives a ServerProcess; the const accessors
// may be called from other threads while it runs. Start() makes a TestToken,
// which changes the process environment (SOFTHSM2_CONF): start the server
// before starting threads. Each child gets SOFTHSM2_CONF naming this
// server's own token, so several ServerProcesses may run at once. Children
// (the server, RunCli's commands) get SIGKILL when the thread that started
// them exits (PR_SET_PDEATHSIG), so a crashed test leaves no server behind:
// start and stop a server on a thread that outlives it (the test's own).
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/fault_module.h"
#include "tests/support/https_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"
#include "tests/support/test_token.h"

namespace strongroom::testing_support {

class ServerProcess;

struct ServerProcessOptions {
  // through_fault_module loads the token through the fault-injecting module
  // (TestTokenOptions::through_fault_module), and gives the server (and the
  // CLI runs) a control page the test drives with fault_control(). Default
  // false.
  bool through_fault_module = false;
  // before_init runs after the data directory is made and before
  // `strongroom init` (e.g. to mount a small tmpfs on <data_dir>/audit);
  // it returns "" or what went wrong. Default none.
  std::function<std::string(const std::string& data_dir)> before_init;
  // extra_config_lines are appended to the configuration under [limits],
  // verbatim (for example "idle_timeout_ms = 500"). Default none.
  std::vector<std::string> extra_config_lines;
  // extra_config_text is appended to the configuration verbatim, after the
  // [limits] lines (for whole sections such as "[audit]\n..."). Default "".
  std::string extra_config_text;
  // extra_policy_files are written into the policy directory: file name ->
  // content (JSON). A name "identities.json" replaces the default mapping.
  std::map<std::string, std::string> extra_policy_files;
  // init_extra_args are appended to `strongroom init` (for example the
  // escrow options). Default none.
  std::vector<std::string> init_extra_args;
  // token_ready runs once the token exists and before `strongroom init`
  // (for example to write the SO PIN into a file init reads); false fails
  // the start. Default none.
  std::function<bool(const TestToken&)> token_ready;
  // share_token_of: when set, this server uses that server's SoftHSM token
  // (the same token directory, as the nodes of one cluster share an HSM
  // partition), its PKI (CA, server and client certificates), admin
  // password and policy directory instead of making its own (issue 18:
  // several appliances of one cluster, tests/support/appliance_cluster.h).
  // That server must outlive this one. Default none.
  const ServerProcess* share_token_of = nullptr;
  // join_cluster runs `strongroom join --config <this server's config>` in
  // place of `strongroom init`: a node whose store comes from the cluster
  // named by its [cluster] section (issue 18). Default false.
  bool join_cluster = false;
};

class ServerProcess {
 public:
  // Start makes the token, the PKI (CA; server; client "admin" with CN admin,
  // mapped to user admin; client "decrypter" with CN demo-service), runs
  // `strongroom init` with a random admin password, writes the configuration
  // and starts `strongroom serve`, then waits (at most 30 s in all) for the
  // port file and for GET /readyz to answer 200 over TLS. Returns nullptr
  // after recording a test failure (with the tail of the server's stderr) if
  // any step fails; the child is killed then.
  static std::unique_ptr<ServerProcess> Start(ServerProcessOptions options = {});
  // ~ServerProcess stops a running server (SIGTERM, SIGKILL after 10 s).
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Stop sends SIGTERM and waits (SIGKILL after 10 s); returns the exit
  // status, or -N if a signal N ended it. A server that already stopped
  // returns the status it had; one never started returns -1.
  int Stop();
  // Restart stops the server and starts it again on the same data, token,
  // PKI and policies (the port may change), with the configuration written
  // again (UseCrl). Returns 0 once it is ready, -1
  // after recording a test failure.
  int Restart();
  // RestartListening is Restart for a server that must turn not ready
  // after it starts (a start-up verification that fails, issue 19): it
  // returns 0 once the server answers GET /livez, without waiting for
  // /readyz; -1 after recording a test failure.
  int RestartListening();

  // UseCrl makes later Restart()s start the server with `crl_path` as its
  // client CA's CRL (`[tls] crl`); "" for none (default). A CRL can only
  // revoke certificates issued after Start(), so it comes with a restart.
  void UseCrl(std::string crl_path) { crl_path_ = std::move(crl_path); }

  // pid is the server's process id while it runs, else -1 (for tests that
  // signal it themselves, e.g. SIGKILL; Stop() then reaps it).
  pid_t pid() const { return pid_; }
  // port is the bound port; base_url "https://127.0.0.1:PORT".
  int port() const { return port_; }
  std::string base_url() const;
  const TestPki& pki() const { return *pki_; }
  // pki (non-const) lets a test issue more client certificates from the
  // server's client CA (TestPki::IssueClient) while the server runs.
  TestPki& pki() { return *pki_; }
  const std::string& ca_path() const { return pki_->ca_cert_path(); }
  const IssuedCertificate& admin_cert() const { return admin_cert_; }
  const IssuedCertificate& decrypter_cert() const { return decrypter_cert_; }
  // admin_password is the bootstrap user admin's password. SECURITY: never
  // print it.
  const std::string& admin_password() const { return admin_password_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& policy_dir() const { return policy_dir_; }
  // dir is the private temporary directory holding everything above.
  const std::string& dir() const { return dir_.path(); }
  TestToken& token() { return *token_; }
  // fault_control drives the fault module inside the server (and the CLI
  // runs) when started through_fault_module; nullptr otherwise.
  const FaultControlFile* fault_control() const { return fault_control_.get(); }
  // stderr_text is everything the server has written to stderr so far,
  // across restarts.
  std::string stderr_text() const;

  // AdminClient returns a client for base_url() trusting the test CA, with
  // Basic auth admin:<password>. CertClient presents `cert` instead, with no
  // Authorization header.
  HttpsClient AdminClient() const;
  HttpsClient CertClient(const IssuedCertificate& cert) const;

  struct CliResult {
    int exit_code;  // exit status, -N if killed by signal N (also on the 60 s limit)
    std::string out;
    std::string err;
  };
  // RunCli runs `strongroom <args...> --data-dir D --module M --token-uri U
  // --pin-file P --allow-unlocked-memory` with stdin from /dev/null (or
  // `stdin_text` if not empty), killing it after 60 s.
  CliResult RunCli(std::vector<std::string> args, std::string stdin_text = "") const;

 private:
  explicit ServerProcess(ServerProcessOptions options);
  // Prepare makes the token, PKI, policies, data and configuration and runs
  // init. Launch starts `serve`; WaitReady waits for the port file and a
  // 200 from `probe`. Each returns "" or what went wrong.
  std::string Prepare();
  // PrepareShared is Prepare for share_token_of: only the data directory,
  // the configuration and init (or join).
  std::string PrepareShared();
  // InitOrJoin runs `strongroom init` (or `join`, join_cluster); "" or what
  // went wrong.
  std::string InitOrJoin();
  std::string WritePolicies() const;
  std::string WriteConfig() const;
  std::string Launch();
  std::string WaitReady(const std::string& probe = "/readyz");
  // Redact replaces the admin password and the PINs in `text`.
  std::string Redact(std::string text) const;
  // ChildOverrides are the environment entries ("NAME=value") every child
  // gets in place of this process's: SOFTHSM2_CONF, and
  // SR_FAULT_PKCS11_CONTROL when there is a fault control page.
  std::vector<std::string> ChildOverrides() const;
  // FailWithLog records a test failure: `what` plus the server's stderr tail.
  void FailWithLog(const std::string& what) const;

  ServerProcessOptions options_;
  TempDir dir_;
  // Shared with the servers started with share_token_of this one.
  std::shared_ptr<TestToken> token_;
  std::unique_ptr<FaultControlFile> fault_control_;
  std::shared_ptr<TestPki> pki_;
  IssuedCertificate server_cert_;
  IssuedCertificate admin_cert_;
  IssuedCertificate decrypter_cert_;
  std::string admin_password_;
  std::string data_dir_;
  std::string policy_dir_;
  pid_t pid_ = -1;
  int last_status_ = -1;
  int port_ = 0;
  std::string crl_path_;
};

}  // namespace strongroom::testing_support
