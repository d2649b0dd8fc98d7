// tests/support/browser_session.h — signing in to the web view the way its
// pages do (issue 21; README "Web view sessions"): GET /api/ui/session for
// the sign-in form's CSRF token (body and `sr_login_csrf` cookie), then POST
// /api/ui/session with the name and password, the token as X-CSRF-Token and
// the cookie; the answer's `sr_session` cookie is the session.
//
// SECURITY: session tokens and passwords are secrets even in tests: never
// print them; failure messages show statuses and bodies of errors only
// (which never hold them).
// Thread-safety: functions; an HttpsClient is used by one thread at a time.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/https_client.h"

namespace strongroom::testing_support {

// CookieFromSetCookie returns the value `name` is set to by a Set-Cookie
// header ("sr_session=abc; Path=/; ..."), or "" when it sets another.
inline std::string CookieFromSetCookie(const std::string& set_cookie, const std::string& name) {
  const std::string prefix = name + "=";
  if (!set_cookie.starts_with(prefix)) return "";
  return set_cookie.substr(prefix.size(), set_cookie.find(';') - prefix.size());
}

// BrowserSignIn is what a sign-in answered.
struct BrowserSignIn {
  HttpsResponse response;  // the POST's answer (or the GET's, if that failed)
  std::string session;     // the sr_session cookie's value; "" unless 200
  std::string csrf_token;  // the session's CSRF token (for sign-out)
  std::string login_csrf;  // the form's CSRF token that was used
};

// SignInAsBrowser signs `user` in through `client` (no Authorization is
// sent: ClearAuth first if it had any). Leaves the client's Cookie and
// X-CSRF-Token headers cleared.
inline BrowserSignIn SignInAsBrowser(HttpsClient& client, const std::string& user,
                                     const std::string& password) {
  BrowserSignIn result;
  client.SetHeader("Cookie", "");
  client.SetHeader("X-CSRF-Token", "");
  HttpsResponse form = client.Request("GET", "/api/ui/session");
  nlohmann::json form_body = nlohmann::json::parse(form.body, nullptr, false);
  if (form.status != 200 || !form_body.is_object() || !form_body.contains("csrf_token")) {
    result.response = form;
    return result;
  }
  result.login_csrf = form_body["csrf_token"].get<std::string>();
  client.SetHeader("Cookie", "sr_login_csrf=" + result.login_csrf);
  client.SetHeader("X-CSRF-Token", result.login_csrf);
  result.response = client.Request("POST", "/api/ui/session",
                                   nlohmann::json{{"user", user}, {"password", password}}.dump());
  client.SetHeader("Cookie", "");
  client.SetHeader("X-CSRF-Token", "");
  if (result.response.status != 200) return result;
  result.session = CookieFromSetCookie(result.response.headers["set-cookie"], "sr_session");
  nlohmann::json body = nlohmann::json::parse(result.response.body, nullptr, false);
  if (body.is_object()) result.csrf_token = body.value("csrf_token", "");
  return result;
}

// UseSession makes `client` present the session cookie `session` ("" for
// none) on later requests.
inline void UseSession(HttpsClient& client, const std::string& session) {
  client.SetHeader("Cookie", session.empty() ? "" : "sr_session=" + session);
}

}  // namespace strongroom::testing_support
