#include "tests/support/https_client.h"

#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string_view>

namespace strongroom::testing_support {
namespace {

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

// InitCurlOnce runs curl_global_init once per process, before the first
// handle (it is not thread-safe itself, hence the once_flag). It also
// ignores SIGPIPE for the test process: with CURLOPT_NOSIGNAL (needed with
// threads) curl leaves SIGPIPE alone, and OpenSSL writes with write(), so a
// server closing a kept-alive connection would otherwise kill the test.
void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      std::fprintf(stderr, "HttpsClient: curl_global_init failed\n");
      std::abort();
    }
  });
}

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

std::string_view Trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  std::size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(kSpace) - begin + 1);
}

std::size_t AppendBody(char* data, std::size_t size, std::size_t count, void* body) {
  static_cast<std::string*>(body)->append(data, size * count);
  return size * count;
}

// AppendHeader collects one response header line. A status line starts a new
// response (after a 1xx, or on a redirect), whose headers replace the ones so far.
std::size_t AppendHeader(char* data, std::size_t size, std::size_t count, void* headers) {
  auto* map = static_cast<std::map<std::string, std::string>*>(headers);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    map->clear();
  } else if (std::size_t colon = line.find(':'); colon != std::string_view::npos) {
    (*map)[Lower(Trim(line.substr(0, colon)))] = std::string(Trim(line.substr(colon + 1)));
  }
  return size * count;
}

// Setter applies curl_easy_setopt calls and keeps the first failure.
class Setter {
 public:
  explicit Setter(CURL* curl) : curl_(curl) {}
  template <typename T>
  void operator()(CURLoption option, T value) {
    if (result_ == CURLE_OK) result_ = curl_easy_setopt(curl_, option, value);
  }
  CURLcode result() const { return result_; }

 private:
  CURL* curl_;
  CURLcode result_ = CURLE_OK;
};

bool SendsBody(const std::string& method, const std::string& body) {
  return !body.empty() || method == "POST" || method == "PUT" || method == "PATCH";
}

}  // namespace

HttpsClient::HttpsClient(std::string base_url, std::string ca_cert_path)
    : base_url_(std::move(base_url)), ca_cert_path_(std::move(ca_cert_path)) {
  InitCurlOnce();
  curl_.reset(curl_easy_init());
  if (curl_ == nullptr) {
    std::fprintf(stderr, "HttpsClient: curl_easy_init failed\n");
    std::abort();
  }
}

HttpsClient::~HttpsClient() = default;
HttpsClient::HttpsClient(HttpsClient&&) noexcept = default;
HttpsClient& HttpsClient::operator=(HttpsClient&&) noexcept = default;

void HttpsClient::SetClientCertificate(std::string cert_path, std::string key_path) {
  cert_path_ = std::move(cert_path);
  key_path_ = std::move(key_path);
}

void HttpsClient::SetBasicAuth(std::string user, std::string password) {
  bearer_token_.clear();
  basic_user_ = std::move(user);
  basic_password_ = std::move(password);
}

void HttpsClient::SetBearerToken(std::string token) {
  basic_user_.clear();
  basic_password_.clear();
  bearer_token_ = std::move(token);
}

void HttpsClient::SetHeader(std::string name, std::string value) {
  std::string key = Lower(name);
  if (value.empty()) {
    extra_headers_.erase(key);
  } else {
    extra_headers_[key] = {std::move(name), std::move(value)};
  }
}

void HttpsClient::ClearAuth() {
  basic_user_.clear();
  basic_password_.clear();
  bearer_token_.clear();
}

void HttpsClient::SetTimeoutMs(long ms) { timeout_ms_ = ms; }

void HttpsClient::SetSourceAddress(std::string address) {
  // "host!" makes curl treat the value as an address, never an interface name.
  source_address_ = address.empty() ? "" : "host!" + address;
}

std::vector<std::string> HttpsClient::HeaderLines(const std::string& content_type) const {
  std::vector<std::string> lines;
  auto ours = [&](const char* lower_name, std::string line) {
    if (!extra_headers_.contains(lower_name)) lines.push_back(std::move(line));
  };
  // "Content-Type:" with no value stops curl from adding its form-encoded
  // default to a POST; "Expect:" stops "Expect: 100-continue".
  ours("content-type", content_type.empty() ? "Content-Type:" : "Content-Type: " + content_type);
  if (!bearer_token_.empty()) ours("authorization", "Authorization: Bearer " + bearer_token_);
  ours("expect", "Expect:");
  for (const auto& [key, header] : extra_headers_) {
    lines.push_back(header.first + ": " + header.second);
  }
  return lines;
}

CURLcode HttpsClient::SetOptions(const std::string& url, const std::string& method,
                                 const std::string& body, curl_slist* headers,
                                 HttpsResponse* response, char* error_buffer) {
  Setter set(curl_.get());
  set(CURLOPT_URL, url.c_str());
  set(CURLOPT_PATH_AS_IS, 1L);
  set(CURLOPT_NOPROXY, "*");
  set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_TIMEOUT_MS, timeout_ms_);
  set(CURLOPT_ERRORBUFFER, error_buffer);
  set(CURLOPT_CAINFO, ca_cert_path_.c_str());
  set(CURLOPT_CAPATH, static_cast<const char*>(nullptr));  // the test CA only
  set(CURLOPT_SSL_VERIFYPEER, 1L);
  set(CURLOPT_SSL_VERIFYHOST, 2L);
  if (!cert_path_.empty()) {
    set(CURLOPT_SSLCERT, cert_path_.c_str());
    set(CURLOPT_SSLKEY, key_path_.c_str());
  }
  if (!source_address_.empty()) set(CURLOPT_INTERFACE, source_address_.c_str());
  if (!basic_user_.empty()) {
    set(CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    set(CURLOPT_USERNAME, basic_user_.c_str());
    set(CURLOPT_PASSWORD, basic_password_.c_str());
  }
  set(CURLOPT_HTTPHEADER, headers);
  set(CURLOPT_WRITEFUNCTION, &AppendBody);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&response->body));
  set(CURLOPT_HEADERFUNCTION, &AppendHeader);
  set(CURLOPT_HEADERDATA, static_cast<void*>(&response->headers));
  if (method == "HEAD") {
    set(CURLOPT_NOBODY, 1L);
  } else if (SendsBody(method, body)) {
    set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    set(CURLOPT_POSTFIELDS, body.data());
  } else {
    set(CURLOPT_HTTPGET, 1L);
  }
  set(CURLOPT_CUSTOMREQUEST, method.c_str());
  return set.result();
}

HttpsResponse HttpsClient::Request(const std::string& method, const std::string& path,
                                   const std::string& body, const std::string& content_type) {
  HttpsResponse response;
  SlistPtr headers;
  for (const std::string& line : HeaderLines(content_type)) {
    curl_slist* appended = curl_slist_append(headers.get(), line.c_str());
    if (appended == nullptr) {
      response.error = "curl_slist_append failed";
      return response;
    }
    headers.release();  // `appended` is the same list, grown
    headers.reset(appended);
  }
  CURL* curl = curl_.get();
  char error_buffer[CURL_ERROR_SIZE] = {};
  // curl_easy_reset keeps the handle's open connections and TLS sessions:
  // only the options go, so every request states all of its own.
  curl_easy_reset(curl);
  CURLcode result =
      SetOptions(base_url_ + path, method, body, headers.get(), &response, error_buffer);
  if (result != CURLE_OK) {
    response.error = std::string("curl_easy_setopt: ") + curl_easy_strerror(result);
  } else {
    result = curl_easy_perform(curl);
    long connects = 0;
    if (curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK) {
      new_connections_ += connects;
    }
    if (result == CURLE_OK) {
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    } else {
      response.error = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(result);
    }
  }
  // The handle must not keep pointers to this call's buffers and header list.
  curl_easy_reset(curl);
  return response;
}

}  // namespace strongroom::testing_support
