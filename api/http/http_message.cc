#include "api/http/http_message.h"

#include <cstring>

namespace strongroom::api {

std::string_view TrimOws(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  return value;
}

std::optional<std::string> HttpRequest::Header(const std::string& name) const {
  std::optional<Pistache::Http::Header::Raw> raw = message.headers().tryGetRaw(name);
  if (!raw) return std::nullopt;
  return raw->value();
}

void RouteParams::Add(std::string_view name, std::size_t begin, std::size_t length) {
  Param& param = params_[count_++];
  std::memcpy(param.name, name.data(), name.size());
  param.name_length = static_cast<std::uint8_t>(name.size());
  param.begin = static_cast<std::uint32_t>(begin);
  param.length = static_cast<std::uint32_t>(length);
}

std::string_view RouteParams::Get(std::string_view name, std::string_view path) const {
  for (std::size_t i = 0; i < count_; ++i) {
    if (this->name(i) == name) return value(i, path);
  }
  return {};
}

std::string_view HttpRequest::Param(std::string_view name) const {
  return params.Get(name, path);
}

std::string SerializeResponse(const HttpResponse& response, std::string_view request_id,
                              bool keep_alive) {
  std::string out;
  AppendResponse(out, response, request_id, keep_alive);
  return out;
}

void AppendResponse(std::string& out, const HttpResponse& response, std::string_view request_id,
                    bool keep_alive) {
  out.reserve(out.size() + 256 + response.body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(response.status);
  out += ' ';
  out += Pistache::Http::codeString(static_cast<Pistache::Http::Code>(response.status));
  if (!response.content_type.empty()) {
    out += "\r\nContent-Type: ";
    out += response.content_type;
  }
  // RFC 9110 8.6: no Content-Length in a 204 (it never has a body).
  if (response.status != 204) {
    out += "\r\nContent-Length: ";
    out += std::to_string(response.body.size());
  }
  // The server speaks only TLS: browsers that reached it once keep to HTTPS
  // for a year (RFC 6797). Not includeSubDomains: the appliance's name says
  // nothing about its neighbours.
  out += "\r\nStrict-Transport-Security: max-age=31536000";
  out += "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nX-Request-Id: ";
  out += request_id;
  if (!keep_alive) out += "\r\nConnection: close";
  for (const auto& [name, value] : response.headers) {
    out += "\r\n";
    out += name;
    out += ": ";
    out += value;
  }
  out += "\r\n\r\n";
  out += response.body;
}

}  // namespace strongroom::api
