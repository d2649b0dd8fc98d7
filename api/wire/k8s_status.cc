#include "api/wire/k8s_status.h"

#include <nlohmann/json.hpp>

namespace strongroom::api {
namespace {

using nlohmann::ordered_json;

std::string_view DefaultReason(int code) {
  switch (code) {
    case 400:
    case 411:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 406:
      return "NotAcceptable";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";
    case 413:
      return "RequestEntityTooLarge";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    default:
      return "Unknown";
  }
}

std::string Dump(const ordered_json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void AddDetails(ordered_json& body, const StatusDetails& details) {
  if (details.name.empty() && details.kind.empty()) return;
  ordered_json d = ordered_json::object();
  if (!details.name.empty()) d["name"] = details.name;
  if (!details.group.empty()) d["group"] = details.group;
  if (!details.kind.empty()) d["kind"] = details.kind;
  body["details"] = std::move(d);
}

}  // namespace

std::string KubernetesStatusBody(int code, std::string_view message, std::string_view reason,
                                 const StatusDetails& details) {
  ordered_json body;
  body["apiVersion"] = "v1";
  body["kind"] = "Status";
  body["metadata"] = ordered_json::object();
  body["status"] = "Failure";
  body["message"] = std::string(message);
  body["reason"] = std::string(reason.empty() ? DefaultReason(code) : reason);
  AddDetails(body, details);
  body["code"] = code;
  return Dump(body);
}

std::string KubernetesSuccessBody(const StatusDetails& details) {
  ordered_json body;
  body["apiVersion"] = "v1";
  body["kind"] = "Status";
  body["metadata"] = ordered_json::object();
  body["status"] = "Success";
  AddDetails(body, details);
  body["code"] = 200;
  return Dump(body);
}

std::string JsonMessageBody(std::string_view message) {
  ordered_json body;
  body["message"] = std::string(message);
  return Dump(body);
}

}  // namespace strongroom::api
