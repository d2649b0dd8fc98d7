// The token layer against a real SoftHSMv2 token (and the project's
// fault-injecting module that forwards to it).
#include "crypto/token.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <utility>
#include <vector>

#include "crypto/kek.h"
#include "crypto/pin_file.h"
#include "crypto/pkcs11_objects.h"
#include "tests/crypto/token_options.h"
#include "tests/support/fault_module.h"
#include "tests/support/test_token.h"
#include "tests/support/status_matchers.h"

namespace strongroom::crypto {
namespace {

using testing_support::FaultModule;
using testing_support::TestToken;
using testing_support::TestTokenOptions;
using testing_support::WriteFileBytes;

TokenOptions OptionsFor(const TestToken& t) { return TokenOptionsFor(t); }

TEST(PinFile, AcceptsAnOwnerOnlyFileAndStripsTheNewline) {
  testing_support::TempDir dir;
  ASSERT_TRUE(WriteFileBytes(dir.Join("pin"), "1234\n", 0600));
  StatusOr<SecretBytes> pin = ReadPinFile(dir.Join("pin"));
  ASSERT_OK(pin);
  EXPECT_EQ(pin->RevealSecretAsString(), "1234");
}

TEST(PinFile, RefusesGroupOrWorldReadableFiles) {
  testing_support::TempDir dir;
  for (unsigned mode : {0640u, 0604u, 0660u, 0620u}) {
    ASSERT_TRUE(WriteFileBytes(dir.Join("pin"), "1234", mode));
    StatusOr<SecretBytes> pin = ReadPinFile(dir.Join("pin"));
    ASSERT_STATUS(pin, StatusCode::kPermissionDenied);
    EXPECT_NE(pin.error().message().find("chmod 600"), std::string::npos);
    EXPECT_EQ(pin.error().message().find("1234"), std::string::npos) << "PIN leaked";
  }
}

TEST(PinFile, RefusesSymlinksDirectoriesMissingAndEmptyFiles) {
  testing_support::TempDir dir;
  ASSERT_TRUE(WriteFileBytes(dir.Join("real"), "1234", 0600));
  ASSERT_EQ(::symlink(dir.Join("real").c_str(), dir.Join("link").c_str()), 0);
  EXPECT_STATUS(ReadPinFile(dir.Join("link")), StatusCode::kPermissionDenied);
  ASSERT_EQ(::mkdir(dir.Join("d").c_str(), 0700), 0);
  EXPECT_STATUS(ReadPinFile(dir.Join("d")), StatusCode::kPermissionDenied);
  EXPECT_STATUS(ReadPinFile(dir.Join("missing")), StatusCode::kNotFound);
  ASSERT_TRUE(WriteFileBytes(dir.Join("empty"), "", 0600));
  EXPECT_STATUS(ReadPinFile(dir.Join("empty")), StatusCode::kInvalidArgument);
}

TEST(PinFile, RefusesAFileOwnedByAnotherUser) {
  testing_support::TempDir dir;
  std::string path = dir.Join("pin");
  std::string expected_owner = "owned by uid 65534";
  if (::geteuid() == 0) {
    ASSERT_TRUE(WriteFileBytes(path, "1234", 0600));
    ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0);
  } else {
    path = "/etc/passwd";  // a regular file owned by root
    expected_owner = "owned by uid 0";
  }
  StatusOr<SecretBytes> pin = ReadPinFile(path);
  ASSERT_STATUS(pin, StatusCode::kPermissionDenied);
  EXPECT_NE(pin.error().message().find(expected_owner), std::string::npos) << pin.error();
}

TEST(Token, OpensTheTokenNamedByItsUriAndLogsIn) {
  TestToken t;
  auto token = Token::Open(OptionsFor(t));
  ASSERT_OK(token);
  EXPECT_EQ((*token)->token_label(), t.label());
  EXPECT_OK((*token)->Probe());
  EXPECT_GE((*token)->counters().logins, 1u);
}

TEST(Token, RefusesAUriCarryingPinValueWithoutEchoingIt) {
  TestToken t;
  TokenOptions o = OptionsFor(t);
  o.token_uri = t.token_uri() + "?pin-value=" + t.pin();
  auto token = Token::Open(o);
  ASSERT_STATUS(token, StatusCode::kInvalidArgument);
  EXPECT_NE(token.error().message().find("pin-value"), std::string::npos);
  EXPECT_EQ(token.error().message().find(t.pin()), std::string::npos);
}

TEST(Token, ReadsThePinFromAPinSourceInTheUri) {
  TestToken t;
  TokenOptions o = OptionsFor(t);
  o.pin_file.clear();
  o.token_uri = t.token_uri() + "?pin-source=file:" + t.pin_file();
  auto token = Token::Open(o);
  ASSERT_OK(token);
}

TEST(Token, RefusesAWrongPinAndAnUnknownToken) {
  TestToken t;
  TokenOptions o = OptionsFor(t);
  ASSERT_TRUE(WriteFileBytes(t.dir() + "/wrong-pin", "not-the-pin", 0600));
  o.pin_file = t.dir() + "/wrong-pin";
  auto wrong = Token::Open(o);
  ASSERT_STATUS(wrong, StatusCode::kPermissionDenied);
  TokenOptions other = OptionsFor(t);
  other.token_uri = "pkcs11:token=no-such-token";
  auto missing = Token::Open(other);
  ASSERT_STATUS(missing, StatusCode::kTokenUnavailable);
}

TEST(Token, SurvivesTheTokenClosingAllSessions) {
  TestToken t;
  auto token = Token::Open(OptionsFor(t));
  ASSERT_OK(token);
  Token& tk = **token;
  ASSERT_OK(GenerateKek(tk, "kek-a"));
  ASSERT_EQ(tk.functions()->C_CloseAllSessions(tk.slot()), static_cast<CK_RV>(CKR_OK));
  // The pooled session is dead and so is the login; the next call re-opens,
  // logs in and succeeds.
  StatusOr<bool> exists = KekExists(tk, "kek-a");
  ASSERT_OK(exists);
  EXPECT_TRUE(*exists);
  EXPECT_GE(tk.counters().logins, 2u);
}

TEST(Token, DeviceRemovedGivesTokenUnavailableAndRecoversWhenItReturns) {
  TestToken t(TestTokenOptions{.through_fault_module = true});
  auto token = Token::Open(OptionsFor(t));
  ASSERT_OK(token);
  Token& tk = **token;
  ASSERT_OK(GenerateKek(tk, "kek-a"));
  auto fault = FaultModule::Attach();
  ASSERT_OK(fault);

  for (CK_RV rv : {CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT, CKR_DEVICE_ERROR}) {
    fault->SetFault(rv);
    StatusOr<bool> during = KekExists(tk, "kek-a");
    ASSERT_STATUS(during, StatusCode::kTokenUnavailable);
    EXPECT_STATUS(tk.Probe(), StatusCode::kTokenUnavailable);
    fault->ClearFault();
    StatusOr<bool> after = KekExists(tk, "kek-a");
    ASSERT_OK(after);
    EXPECT_TRUE(*after);
  }
  EXPECT_GE(tk.counters().recoveries, 3u);
}

TEST(Token, ALostSessionIsReplacedAndTheCallRetriedOnce) {
  TestToken t(TestTokenOptions{.through_fault_module = true});
  auto token = Token::Open(OptionsFor(t));
  ASSERT_OK(token);
  auto fault = FaultModule::Attach();
  ASSERT_OK(fault);
  fault->FailNext(CKR_SESSION_HANDLE_INVALID, 1);
  EXPECT_OK((*token)->Probe());
  // Two consecutive failures exhaust the single retry.
  fault->FailNext(CKR_SESSION_HANDLE_INVALID, 2);
  EXPECT_STATUS((*token)->Probe(), StatusCode::kTokenUnavailable);
  EXPECT_OK((*token)->Probe());
}

// SessionKeyCopies counts the session (non-token) secret keys the token
// holds, seen from a pooled session: every transient key copy, whichever
// session made it.
std::size_t SessionKeyCopies(Token& token) {
  std::size_t copies = 0;
  Status counted = token.Run("count", [&](CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session) {
    Attributes match;
    match.Ulong(CKA_CLASS, CKO_SECRET_KEY).Bool(CKA_TOKEN, false);
    std::vector<CK_OBJECT_HANDLE> found;
    CK_RV rv = FindObjects(fns, session, match, &found);
    copies = found.size();
    return rv;
  });
  EXPECT_OK(counted) << counted;
  return copies;
}

TEST(Token, AKeyCopyThatCannotBeDestroyedTakesItsSessionOutOfThePool) {
  TestToken t(TestTokenOptions{.through_fault_module = true});
  auto token = Token::Open(OptionsFor(t));
  ASSERT_OK(token);
  Token& tk = **token;
  ASSERT_OK(GenerateKek(tk, "kek-a"));
  ASSERT_OK(GenerateKek(tk, "kek-b"));
  StatusOr<GeneratedKey> data_key = GenerateWrappedKey(tk, "kek-a", WrappedKeyType::kAes256);
  ASSERT_OK(data_key);
  auto fault = FaultModule::Attach();
  ASSERT_OK(fault);

  // Every operation that makes a transient copy of a key.
  const std::vector<std::pair<const char*, std::function<Status()>>> operations = {
      {"unwrap",
       [&] {
         StatusOr<SecretBytes> key = UnwrapKey(tk, "kek-a", data_key->wrapped, WrappedKeyType::kAes256);
         if (key.has_value() && !key->ConstantTimeEquals(data_key->plaintext)) {
           return Status::Internal("unwrapped another key");
         }
         return key.has_value() ? Status::Ok() : key.error();
       }},
      {"rewrap",
       [&] {
         return ToStatus(RewrapKey(tk, "kek-a", "kek-b", data_key->wrapped, WrappedKeyType::kAes256));
       }},
      {"generate",
       [&] { return ToStatus(GenerateWrappedKey(tk, "kek-a", WrappedKeyType::kHmacSha256)); }},
  };
  for (const auto& [what, run] : operations) {
    SCOPED_TRACE(what);
    // The copy's C_DestroyObject fails once: its session is closed (which
    // destroys the copy) instead of going back to the pool, and the call is
    // retried once on a new session.
    unsigned long closed = fault->Calls("C_CloseSession");
    ASSERT_OK(fault->FailCallsOf("C_DestroyObject", CKR_FUNCTION_FAILED, 1));
    Status once = run();
    EXPECT_OK(once) << once;
    EXPECT_EQ(fault->Calls("C_CloseSession"), closed + 1);
    EXPECT_EQ(SessionKeyCopies(tk), 0u) << "a key copy survived on a pooled session";

    // It fails on the retry too: the token is reported unavailable, and
    // neither session keeps a copy.
    closed = fault->Calls("C_CloseSession");
    ASSERT_OK(fault->FailCallsOf("C_DestroyObject", CKR_FUNCTION_FAILED, 2));
    Status twice = run();
    EXPECT_STATUS(twice, StatusCode::kTokenUnavailable);
    EXPECT_EQ(fault->Calls("C_CloseSession"), closed + 2);
    EXPECT_EQ(SessionKeyCopies(tk), 0u) << "a key copy survived on a pooled session";
  }
  // The pool keeps working.
  EXPECT_OK(tk.Probe());
}

}  // namespace
}  // namespace strongroom::crypto
