// Authorize (api/auth/authorizer.h) for services, whose resolved bindings are
// cached per thread: a binding stored at run time and a reloaded policy
// take effect on the next request, never a stale answer.
#include "api/auth/authorizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "accounts/accounts.h"
#include "tests/storage/storage_test_util.h"
#include "tests/support/status_matchers.h"

namespace strongroom::api {
namespace {

constexpr std::string_view kDecrypt = "secret.securevalues:decrypt";

std::shared_ptr<const policies::Policy> LoadPolicy(const testing_support::TempDir& dir,
                                                   const std::string& name,
                                                   const std::string& text) {
  const std::string path = dir.path() + "/" + name;
  std::filesystem::create_directories(path);
  std::ofstream(path + "/bindings.json") << text;
  auto policy = policies::Policy::LoadDirectory(path);
  EXPECT_OK(policy);
  return policy.has_value() ? *policy : nullptr;
}

bool May(const policies::Policy& policy, storage::Store& store, const Principal& service,
         std::string_view ns) {
  auto txn = store.BeginRead();
  EXPECT_OK(txn);
  StatusOr<bool> may = Authorize(policy, *txn, service, {kDecrypt, ns, "any"});
  EXPECT_OK(may);
  return may.value_or(false);
}

TEST(AuthorizeService, StoredBindingsAndReloadedPoliciesTakeEffectOnTheNextRequest) {
  testing_support::TempDir dir;
  std::unique_ptr<storage::Store> store =
      storage::testing::OpenTestStore(storage::testing::TestOptions(dir));
  ASSERT_NE(store, nullptr);
  auto policy = LoadPolicy(
      dir, "v1", R"({"bindings": [{"service": "svc", "role": "Decrypter", "namespace": "a"}]})");
  ASSERT_NE(policy, nullptr);
  Principal svc{Principal::Kind::kService, "svc", false};
  Principal other{Principal::Kind::kService, "other", false};

  EXPECT_TRUE(May(*policy, *store, svc, "a"));
  EXPECT_TRUE(May(*policy, *store, svc, "a")) << "answered from the cache";
  EXPECT_FALSE(May(*policy, *store, svc, "b"));
  EXPECT_FALSE(May(*policy, *store, other, "a"));

  // A binding stored at run time (as the CLI does while the server runs).
  ASSERT_TRUE(
      accounts::AddBinding(*store, *policy, {"service", "svc", "Decrypter", "b", 0}, *Clock::Real())
          .ok());
  EXPECT_TRUE(May(*policy, *store, svc, "b"));
  EXPECT_FALSE(May(*policy, *store, other, "b"));

  // A reloaded policy without the file binding: "a" is gone, "b" stays.
  auto reloaded = LoadPolicy(dir, "v2", R"({"bindings": []})");
  ASSERT_NE(reloaded, nullptr);
  policy.reset();  // the old policy may be freed; its address must not matter
  EXPECT_FALSE(May(*reloaded, *store, svc, "a"));
  EXPECT_TRUE(May(*reloaded, *store, svc, "b"));
}

}  // namespace
}  // namespace strongroom::api
