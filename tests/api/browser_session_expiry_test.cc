// The web view's sessions end on time (issue 21), through the real server
// in process over real TLS, with the server's clock moved by hand: an idle
// session ends after 15 minutes, a session in use after 8 hours; a read
// with an ended session is a 401 without a password prompt.
#include <gtest/gtest.h>

#include "tests/api/in_process_server.h"
#include "tests/support/browser_session.h"

namespace strongroom {
namespace {

using std::chrono::minutes;
using testing_support::HttpsClient;
using testing_support::HttpsResponse;

class BrowserSessionExpiry : public InProcessServerTest {
 protected:
  BrowserSessionExpiry() { server_clock_ = &clock_; }

  HttpsClient Browser() {
    return HttpsClient("https://127.0.0.1:" + std::to_string(server_->port()), pki_.ca_cert_path());
  }

  // SignedInBrowser is a client holding the session of the server admin
  // "admin" (the fixture's user); "" session after recording a failure.
  HttpsClient SignedInBrowser() {
    HttpsClient browser = Browser();
    testing_support::BrowserSignIn signed_in =
        testing_support::SignInAsBrowser(browser, "admin", kPassword);
    EXPECT_EQ(signed_in.response.status, 200) << signed_in.response.body;
    EXPECT_FALSE(signed_in.session.empty());
    testing_support::UseSession(browser, signed_in.session);
    return browser;
  }

  ManualClock clock_{TimePoint(std::chrono::hours(24 * 20000))};
};

TEST_F(BrowserSessionExpiry, AnIdleSessionEndsAfterFifteenMinutes) {
  HttpsClient browser = SignedInBrowser();
  EXPECT_EQ(browser.Request("GET", "/api/audit/verify").status, 200);
  clock_.Advance(minutes(14));
  EXPECT_EQ(browser.Request("GET", "/api/audit/verify").status, 200);
  clock_.Advance(minutes(14));
  EXPECT_EQ(browser.Request("GET", "/api/audit/verify").status, 200)
      << "each read restarts the idle time";
  clock_.Advance(minutes(15));
  HttpsResponse ended = browser.Request("GET", "/api/audit/verify");
  EXPECT_EQ(ended.status, 401) << ended.body;
  EXPECT_FALSE(ended.headers.contains("www-authenticate")) << "no password prompt in a browser";
  HttpsResponse who = browser.Request("GET", "/api/ui/session");
  EXPECT_EQ(who.status, 200);
  EXPECT_NE(who.body.find("\"signed_in\":false"), std::string::npos) << who.body;
}

TEST_F(BrowserSessionExpiry, ASessionInUseEndsEightHoursAfterSignIn) {
  HttpsClient browser = SignedInBrowser();
  for (int used = 0; used < 34; ++used) {
    clock_.Advance(minutes(14));
    ASSERT_EQ(browser.Request("GET", "/api/audit/public-key").status, 200)
        << "after " << (used + 1) * 14 << " minutes";
  }
  clock_.Advance(minutes(4));  // 480 minutes after sign-in
  EXPECT_EQ(browser.Request("GET", "/api/audit/public-key").status, 401);
}

}  // namespace
}  // namespace strongroom
