// tests/support/https_client.h — a small HTTPS client for tests, on libcurl,
// that talks to the server as real clients do: HTTP/1.1 over verified TLS,
// keep-alive by default, optional client certificate, Basic or Bearer auth.
//
// One libcurl easy handle per client, reused for every Request(), so a
// connection the server keeps open is reused (new_connections() counts the
// ones opened). The server's certificate is verified against the given CA
// file only (not the system store), and its name against the URL's host.
//
// Thread-safety: an HttpsClient is used by one thread at a time; separate
// clients may run on separate threads (libcurl's global set-up runs once,
// under std::call_once, in the first constructor). That first constructor
// also sets SIGPIPE to SIG_IGN for the whole test process (see the .cc).
#pragma once

#include <curl/curl.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace strongroom::testing_support {

struct HttpsResponse {
  // status is the HTTP status code; 0 when the transfer failed (then `error`
  // says why).
  long status = 0;
  std::string body;
  // headers holds the response headers by lower-case name; the last value
  // of a repeated header wins.
  std::map<std::string, std::string> headers;
  // error is curl's description of a failed transfer; empty on success.
  std::string error;
};

class HttpsClient {
 public:
  // HttpsClient prepares a client for `base_url` ("https://127.0.0.1:PORT")
  // that trusts only the CA certificate(s) in `ca_cert_path` (PEM). No
  // connection is made until Request().
  HttpsClient(std::string base_url, std::string ca_cert_path);
  ~HttpsClient();
  HttpsClient(HttpsClient&&) noexcept;
  HttpsClient& operator=(HttpsClient&&) noexcept;
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  // SetClientCertificate presents this PEM certificate and key in later
  // handshakes; empty paths present none. Connections are only reused with
  // the same certificate.
  void SetClientCertificate(std::string cert_path, std::string key_path);
  // SetBasicAuth sends "Authorization: Basic ..." (encoded by curl) on later
  // requests, replacing any Bearer token.
  void SetBasicAuth(std::string user, std::string password);
  // SetBearerToken sends "Authorization: Bearer <token>" on later requests,
  // replacing any Basic credentials.
  void SetBearerToken(std::string token);
  // SetHeader adds "name: value" to every later request; an empty value
  // removes a header set earlier. A name curl sets itself (Content-Type,
  // Authorization, ...) is replaced by this value.
  void SetHeader(std::string name, std::string value);
  // ClearAuth drops Basic credentials and the Bearer token (not the client
  // certificate, not SetHeader headers).
  void ClearAuth();
  // SetTimeoutMs bounds each whole transfer (connect, handshake, request,
  // response). Default 10,000 ms.
  void SetTimeoutMs(long ms);
  // SetSourceAddress binds later connections' local end to this IP address
  // (CURLOPT_INTERFACE "host!<address>"), e.g. "127.0.0.2", so a test can
  // talk to a loopback server from several client addresses. Empty: the
  // system's choice (default). Connections are only reused from the same
  // address.
  void SetSourceAddress(std::string address);

  // Request sends `method` to base_url + `path` (appended verbatim: curl is
  // told not to normalise "/../" or dot segments, and nothing is escaped)
  // with `body`, and returns the response. Sends Content-Type `content_type`
  // when it is non-empty (never curl's form-encoded default), Content-Length
  // for a body or any POST/PUT/PATCH, no Connection header, no
  // "Expect: 100-continue", HTTP/1.1 only. A transfer error (refused
  // connection, failed verification, timeout) gives status 0 and `error`.
  HttpsResponse Request(const std::string& method, const std::string& path,
                        const std::string& body = "",
                        const std::string& content_type = "application/json");

  // new_connections is the number of connections this client has opened
  // so far (libcurl's CURLINFO_NUM_CONNECTS summed over every Request()).
  long new_connections() const { return new_connections_; }

 private:
  struct CurlDeleter {
    void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
  };

  // HeaderLines returns the request header lines for one Request(): ours
  // first, each unless SetHeader gave the same name, then SetHeader's.
  std::vector<std::string> HeaderLines(const std::string& content_type) const;
  // SetOptions sets every option of one transfer on the (freshly reset)
  // handle; the pointers given must outlive curl_easy_perform.
  CURLcode SetOptions(const std::string& url, const std::string& method, const std::string& body,
                      curl_slist* headers, HttpsResponse* response, char* error_buffer);

  std::unique_ptr<CURL, CurlDeleter> curl_;  // kept between requests for keep-alive
  std::string base_url_;
  std::string ca_cert_path_;
  std::string cert_path_;
  std::string key_path_;
  std::string basic_user_;
  std::string basic_password_;
  std::string bearer_token_;
  std::string source_address_;  // "host!<ip>" for CURLOPT_INTERFACE, or empty
  // extra_headers_ maps a lower-case name to the name as given and its value.
  std::map<std::string, std::pair<std::string, std::string>> extra_headers_;
  long timeout_ms_ = 10'000;
  long new_connections_ = 0;
};

}  // namespace strongroom::testing_support
