// The web view's sessions (api/auth/browser_sessions.h, issue 21) over a
// real store (LMDB in a temp dir) with a hand-moved clock: 256-bit tokens
// that resume only while live, idle and absolute expiry without sleeping,
// the end of a session when its user is deleted, re-created, demoted or
// given a new password, sign-out only with the session's CSRF token, the
// sign-in form's CSRF tokens, and the caps on sessions.
//
// SECURITY: session tokens and passwords are never printed.
#include "api/auth/browser_sessions.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "accounts/accounts.h"
#include "api/auth/policy_holder.h"
#include "tests/storage/storage_test_util.h"
#include "tests/support/status_matchers.h"

namespace strongroom::api {
namespace {

using std::chrono::minutes;
using storage::testing::OpenTestStore;
using storage::testing::TestOptions;

constexpr std::string_view kPassword = "correct horse battery";

class BrowserSessionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.Join("policy"));
    std::ofstream(dir_.Join("policy") + "/bindings.json") << R"({"bindings": []})";
    ASSERT_OK(policy_.Load());
    store_ = OpenTestStore(TestOptions(dir_));
    ASSERT_NE(store_, nullptr);
    AddUser("root", true);
    AddUser("sam", true);
    AddUser("audrey", false, "Auditor", "*");
    AddUser("vic", false, "Viewer", "team-a");
  }

  void AddUser(const std::string& login, bool server_admin, const std::string& role = "",
               const std::string& ns = "") {
    StatusOr<SecretBytes> password = SecretBytes::CopyFrom(kPassword);
    ASSERT_OK(password);
    ASSERT_OK(accounts::CreateUser(*store_, {login, login, "", &*password, server_admin}, clock_));
    if (!role.empty()) {
      ASSERT_OK(
          accounts::AddBinding(*store_, *policy_.Get(), {"user", login, role, ns, 0}, clock_));
    }
  }

  storage::UserRecord User(const std::string& login) {
    StatusOr<storage::ReadTxn> txn = store_->BeginRead();
    EXPECT_OK(txn);
    StatusOr<storage::UserRecord> user = accounts::FindUser(*txn, login);
    EXPECT_OK(user);
    return user.value_or(storage::UserRecord{});
  }

  std::unique_ptr<BrowserSessions> Sessions(BrowserSessionOptions options = {}) {
    StatusOr<std::unique_ptr<BrowserSessions>> sessions = BrowserSessions::Create(clock_, options);
    EXPECT_OK(sessions);
    return sessions.has_value() ? std::move(*sessions) : nullptr;
  }

  // SignIn signs `login` in with the role its bindings give; returns the
  // token ("" after recording a failure). SECURITY: never printed.
  std::string SignIn(BrowserSessions& sessions, const std::string& login) {
    storage::UserRecord user = User(login);
    StatusOr<storage::ReadTxn> txn = store_->BeginRead();
    EXPECT_OK(txn);
    StatusOr<ViewRole> role = ViewRoleOf(*policy_.Get(), *txn, user);
    EXPECT_OK(role);
    StatusOr<IssuedBrowserSession> issued = sessions.SignIn(user, role.value_or(ViewRole::kNone));
    EXPECT_OK(issued);
    return issued.has_value() ? std::string(issued->token.RevealSecretAsString()) : "";
  }

  StatusOr<BrowserSession> Resume(BrowserSessions& sessions, std::string_view token) {
    StatusOr<storage::ReadTxn> txn = store_->BeginRead();
    if (!txn.has_value()) return std::unexpected(txn.error());
    return sessions.Resume(token, *policy_.Get(), *txn);
  }

  testing_support::TempDir dir_;
  PolicyHolder policy_{dir_.Join("policy")};
  ManualClock clock_{TimePoint(std::chrono::hours(24 * 20000))};
  std::unique_ptr<storage::Store> store_;
};

TEST_F(BrowserSessionsTest, OnlyAuditorsAndServerAdminsHaveAViewRole) {
  StatusOr<storage::ReadTxn> txn = store_->BeginRead();
  ASSERT_OK(txn);
  const policies::Policy& policy = *policy_.Get();
  EXPECT_EQ(ViewRoleOf(policy, *txn, User("audrey")).value_or(ViewRole::kNone), ViewRole::kAuditor);
  EXPECT_EQ(ViewRoleOf(policy, *txn, User("sam")).value_or(ViewRole::kNone),
            ViewRole::kServerAdmin);
  EXPECT_EQ(ViewRoleOf(policy, *txn, User("vic")).value_or(ViewRole::kAuditor), ViewRole::kNone);
  EXPECT_EQ(ViewRoleName(ViewRole::kAuditor), "Auditor");
  EXPECT_EQ(ViewRoleName(ViewRole::kServerAdmin), "ServerAdmin");
}

TEST_F(BrowserSessionsTest, ASignInGivesA256BitTokenThatResumesItsUser) {
  auto sessions = Sessions();
  const std::string token = SignIn(*sessions, "audrey");
  const std::string other = SignIn(*sessions, "audrey");
  EXPECT_EQ(token.size(), 64u) << "256 bits as hex";
  EXPECT_NE(token, other);
  StatusOr<BrowserSession> session = Resume(*sessions, token);
  ASSERT_OK(session);
  EXPECT_EQ(session->login, "audrey");
  EXPECT_EQ(session->role, ViewRole::kAuditor);
  EXPECT_EQ(session->csrf_token.size(), 64u);
  EXPECT_EQ(session->expires, clock_.Now() + minutes(15));
  EXPECT_EQ(sessions->size(), 2u);
}

TEST_F(BrowserSessionsTest, AnUnknownOrAlteredTokenIsRefused) {
  auto sessions = Sessions();
  std::string token = SignIn(*sessions, "audrey");
  std::string altered = token;
  altered[10] = altered[10] == 'a' ? 'b' : 'a';
  EXPECT_STATUS(Resume(*sessions, altered), StatusCode::kUnauthenticated);
  EXPECT_STATUS(Resume(*sessions, token.substr(1)), StatusCode::kUnauthenticated);
  EXPECT_STATUS(Resume(*sessions, ""), StatusCode::kUnauthenticated);
  EXPECT_OK(Resume(*sessions, token)) << "a wrong guess does not end the real session";
}

TEST_F(BrowserSessionsTest, AnIdleSessionEndsAndUseRestartsTheIdleTime) {
  auto sessions = Sessions();
  const std::string token = SignIn(*sessions, "audrey");
  clock_.Advance(minutes(14));
  EXPECT_OK(Resume(*sessions, token));
  clock_.Advance(minutes(14));
  EXPECT_OK(Resume(*sessions, token)) << "28 minutes after sign-in, 14 after the last use";
  clock_.Advance(minutes(15));
  EXPECT_STATUS(Resume(*sessions, token), StatusCode::kUnauthenticated);
  EXPECT_EQ(sessions->size(), 0u) << "the ended session is dropped";
}

TEST_F(BrowserSessionsTest, TheAbsoluteLifetimeEndsEvenASessionInUse) {
  auto sessions = Sessions({.idle_timeout = minutes(15), .absolute_timeout = minutes(60)});
  const std::string token = SignIn(*sessions, "audrey");
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(minutes(10));
    ASSERT_OK(Resume(*sessions, token)) << "after " << (i + 1) * 10 << " minutes";
  }
  clock_.Advance(minutes(10));
  EXPECT_STATUS(Resume(*sessions, token), StatusCode::kUnauthenticated);
}

TEST_F(BrowserSessionsTest, ANewPasswordEndsTheSession) {
  auto sessions = Sessions();
  const std::string token = SignIn(*sessions, "audrey");
  StatusOr<SecretBytes> password = SecretBytes::CopyFrom(std::string_view("a new pass phrase"));
  ASSERT_OK(password);
  ASSERT_OK(accounts::SetPassword(*store_, "audrey", *password));
  EXPECT_STATUS(Resume(*sessions, token), StatusCode::kUnauthenticated);
}

TEST_F(BrowserSessionsTest, DeletingOrReCreatingTheUserEndsTheSession) {
  auto sessions = Sessions();
  const std::string deleted = SignIn(*sessions, "audrey");
  const std::string recreated = SignIn(*sessions, "audrey");
  ASSERT_OK(accounts::DeleteUser(*store_, "audrey", clock_));
  EXPECT_STATUS(Resume(*sessions, deleted), StatusCode::kUnauthenticated);
  clock_.Advance(std::chrono::seconds(1));
  AddUser("audrey", false, "Auditor", "*");
  EXPECT_STATUS(Resume(*sessions, recreated), StatusCode::kUnauthenticated)
      << "a new account of the same login inherits nothing";
}

TEST_F(BrowserSessionsTest, DemotionEndsTheSession) {
  auto sessions = Sessions();
  const std::string token = SignIn(*sessions, "sam");
  ASSERT_OK(Resume(*sessions, token));
  ASSERT_OK(accounts::SetServerAdmin(*store_, "sam", false));
  EXPECT_STATUS(Resume(*sessions, token), StatusCode::kUnauthenticated);
}

TEST_F(BrowserSessionsTest, SigningOutNeedsTheSessionsOwnCsrfToken) {
  auto sessions = Sessions();
  const std::string token = SignIn(*sessions, "audrey");
  const std::string other = SignIn(*sessions, "audrey");
  StatusOr<BrowserSession> session = Resume(*sessions, token);
  StatusOr<BrowserSession> other_session = Resume(*sessions, other);
  ASSERT_OK(session);
  ASSERT_OK(other_session);
  EXPECT_STATUS(sessions->SignOut(token, ""), StatusCode::kPermissionDenied);
  EXPECT_STATUS(sessions->SignOut(token, other_session->csrf_token), StatusCode::kPermissionDenied);
  EXPECT_OK(Resume(*sessions, token)) << "a refused sign-out keeps the session";
  EXPECT_OK(sessions->SignOut(token, session->csrf_token));
  EXPECT_STATUS(Resume(*sessions, token), StatusCode::kUnauthenticated);
  EXPECT_STATUS(sessions->SignOut(token, session->csrf_token), StatusCode::kUnauthenticated);
  EXPECT_OK(Resume(*sessions, other)) << "only that session ended";
}

TEST_F(BrowserSessionsTest, LoginCsrfTokensAreMintedHereAndMustMatchTheCookie) {
  auto sessions = Sessions();
  auto elsewhere = Sessions();
  const std::string token = sessions->NewLoginCsrfToken();
  const std::string second = sessions->NewLoginCsrfToken();
  ASSERT_EQ(token.size(), 64u);
  EXPECT_NE(token, second);
  EXPECT_TRUE(sessions->LoginCsrfTokenValid(token, token));
  EXPECT_FALSE(sessions->LoginCsrfTokenValid(token, second)) << "header and cookie differ";
  EXPECT_FALSE(sessions->LoginCsrfTokenValid("", ""));
  std::string forged = token;
  forged[0] = forged[0] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(sessions->LoginCsrfTokenValid(forged, forged)) << "its MAC no longer matches";
  const std::string foreign = elsewhere->NewLoginCsrfToken();
  EXPECT_FALSE(sessions->LoginCsrfTokenValid(foreign, foreign)) << "minted by another process";
}

TEST_F(BrowserSessionsTest, AUsersSessionsAreCappedOldestFirst) {
  auto sessions = Sessions({.max_sessions_per_user = 2});
  const std::string first = SignIn(*sessions, "audrey");
  clock_.Advance(std::chrono::seconds(1));
  const std::string second = SignIn(*sessions, "audrey");
  clock_.Advance(std::chrono::seconds(1));
  const std::string third = SignIn(*sessions, "audrey");
  EXPECT_STATUS(Resume(*sessions, first), StatusCode::kUnauthenticated);
  EXPECT_OK(Resume(*sessions, second));
  EXPECT_OK(Resume(*sessions, third));
}

TEST_F(BrowserSessionsTest, AFullTableRefusesSignInsUntilSessionsEnd) {
  auto sessions = Sessions({.max_sessions = 2});
  SignIn(*sessions, "audrey");
  SignIn(*sessions, "sam");
  StatusOr<IssuedBrowserSession> refused = sessions->SignIn(User("root"), ViewRole::kServerAdmin);
  EXPECT_STATUS(refused, StatusCode::kUnavailable);
  clock_.Advance(minutes(15));
  EXPECT_OK(sessions->SignIn(User("root"), ViewRole::kServerAdmin)) << "the idle ones ended";
}

// RequestOf is a request whose Cookie header was `header`, parsed as the
// front parses it.
HttpRequest RequestOf(const std::string& header) {
  HttpRequest request;
  request.message.cookies().addFromRaw(header.data(), header.size());
  return request;
}

TEST(BrowserCookies, RequestCookieFindsExactlyTheNamedCookie) {
  EXPECT_EQ(RequestCookie(RequestOf("a=1; sr_session=abc; b=2"), kSessionCookie).value_or("-"),
            "abc");
  EXPECT_EQ(RequestCookie(RequestOf("sr_login_csrf=t"), kLoginCsrfCookie).value_or("-"), "t");
  EXPECT_FALSE(RequestCookie(RequestOf("sr_session_x=1; xsr_session=2"), kSessionCookie));
  EXPECT_FALSE(RequestCookie(RequestOf(""), kSessionCookie));
  EXPECT_FALSE(RequestCookie(HttpRequest{}, kSessionCookie));
}

}  // namespace
}  // namespace strongroom::api
