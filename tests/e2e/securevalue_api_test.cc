// End-to-end tests of the SecureValue API (SPEC 6.1, issue 4) against the real
// `strongroom` binary over TLS: every status code of the Grafana seed for
// every endpoint, both sides of each validation limit, label selectors,
// pagination with writes during the listing, and the rotation endpoints
// followed by reading every old secret back, through the API and, after the
// server stopped, by unsealing the stored records with the token directly.
// Every response of every test passes through SecretLedger::Check
// (securevalue_api_client.h): no member named "value" and none of the
// values sent.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "crypto/keyring.h"
#include "crypto/token.h"
#include "storage/secure_value_record.h"
#include "storage/storage.h"
#include "tests/e2e/securevalue_api_client.h"
#include "tests/support/server_process.h"
#include "tests/support/status_matchers.h"

namespace strongroom::testing_support {
namespace {

using nlohmann::json;

TEST(SecureValueApi, CreateAndListAnswerEveryStatusCodeOfTheSeed) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  SecretLedger ledger;
  Api admin(server->CertClient(server->admin_cert()), &ledger);
  Api viewer = Viewer(*server, &ledger);
  Api anonymous = Anonymous(*server, &ledger);
  HttpsClient wrong_client(server->base_url(), server->ca_path());
  wrong_client.SetBasicAuth("admin", "not-the-admin-password");
  Api wrong_password(std::move(wrong_client), &ledger);
  HttpsClient bearer_client(server->base_url(), server->ca_path());
  bearer_client.SetBearerToken("srt_0123456789abcdef_" + std::string(64, 'a'));
  Api unknown_token(std::move(bearer_client), &ledger);

  Spec db{.name = "db-password", .value = "s3cr3t-create-db", .labels = {{"env", "prod"}}};
  json created = ExpectSecureValue(admin, admin.Create("default", db), 201, "default", db.name);
  EXPECT_EQ(Str(created, "/spec/description"), "e2e value");
  EXPECT_EQ(created["spec"].value("decrypters", json()), json::array({"demo-service"}));
  EXPECT_EQ(Str(created, "/metadata/labels/env"), "prod");
  EXPECT_EQ(admin.Create("other", {.name = "shared", .value = "s3cr3t-create-shared"}).status, 201);

  admin.ExpectFailure(admin.Send("POST", Collection("default"), "{not json"), 400, "BadRequest",
                      "create with malformed JSON");
  admin.ExpectFailure(admin.Send("POST", Collection("default"), R"({"metadata":{"name":"x"}})"),
                      400, "BadRequest", "create without spec");
  admin.ExpectFailure(admin.Create("default", {.name = "no-value", .value = ""}), 400, "BadRequest",
                      "create without a value");
  Spec fresh{.name = "fresh", .value = "s3cr3t-create-fresh"};
  anonymous.ExpectFailure(anonymous.Create("default", fresh), 401, "Unauthorized", "anonymous");
  wrong_password.ExpectFailure(wrong_password.Create("default", fresh), 401, "Unauthorized",
                               "wrong password");
  unknown_token.ExpectFailure(unknown_token.Create("default", fresh), 401, "Unauthorized",
                              "unknown token");
  viewer.ExpectFailure(viewer.Create("default", fresh), 403, "Forbidden", "viewer, other ns");
  viewer.ExpectFailure(viewer.Create("other", fresh), 403, "Forbidden", "viewer, own ns");
  EXPECT_EQ(admin.Get("default", "fresh").status, 404);
  EXPECT_EQ(admin.Get("other", "fresh").status, 404);
  admin.ExpectFailure(admin.Create("default", db), 409, "AlreadyExists", "create twice");

  HttpsResponse listed = admin.List("default");
  ASSERT_EQ(listed.status, 200) << admin.Shown(listed);
  json list = Parse(listed.body);
  EXPECT_EQ(Str(list, "/kind"), "SecureValueList");
  EXPECT_EQ(Str(list, "/apiVersion"), "secret.grafana.app/v1beta1");
  EXPECT_FALSE(Str(list, "/metadata/resourceVersion").empty());
  EXPECT_EQ(ItemNames(listed), std::set<std::string>{"db-password"});
  HttpsResponse viewed = viewer.List("other");
  EXPECT_EQ(viewed.status, 200) << viewer.Shown(viewed);
  EXPECT_EQ(ItemNames(viewed), std::set<std::string>{"shared"});
  anonymous.ExpectFailure(anonymous.List("default"), 401, "Unauthorized", "anonymous list");
  viewer.ExpectFailure(viewer.List("default"), 403, "Forbidden", "viewer lists another ns");
}

TEST(SecureValueApi, GetReplaceAndDeleteAnswerEveryStatusCodeOfTheSeed) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  SecretLedger ledger;
  Api admin(server->CertClient(server->admin_cert()), &ledger);
  Api viewer = Viewer(*server, &ledger);
  Api anonymous = Anonymous(*server, &ledger);
  json original = ExpectSecureValue(
      admin, admin.Create("default", {.name = "api-key", .value = "s3cr3t-replace-1"}), 201,
      "default", "api-key");
  ASSERT_EQ(admin.Create("other", {.name = "shared", .value = "s3cr3t-replace-shared"}).status,
            201);

  json got = ExpectSecureValue(admin, admin.Get("default", "api-key"), 200, "default", "api-key");
  EXPECT_EQ(got["metadata"], original["metadata"]);
  ExpectSecureValue(viewer, viewer.Get("other", "shared"), 200, "other", "shared");
  anonymous.ExpectFailure(anonymous.Get("default", "api-key"), 401, "Unauthorized", "get");
  viewer.ExpectFailure(viewer.Get("default", "api-key"), 403, "Forbidden", "get other ns");
  viewer.ExpectFailure(viewer.Get("default", "missing"), 403, "Forbidden", "get missing, other ns");
  admin.ExpectFailure(admin.Get("default", "missing"), 404, "NotFound", "get missing");

  Spec next{.name = "api-key", .value = "s3cr3t-replace-2", .description = "rotated key"};
  json replaced =
      ExpectSecureValue(admin, admin.Replace("default", next), 200, "default", next.name);
  EXPECT_EQ(Str(replaced, "/metadata/uid"), Str(original, "/metadata/uid"));
  EXPECT_EQ(Str(replaced, "/metadata/creationTimestamp"),
            Str(original, "/metadata/creationTimestamp"));
  const std::string stale = Str(original, "/metadata/resourceVersion");
  const std::string current = Str(replaced, "/metadata/resourceVersion");
  EXPECT_NE(current, stale);
  EXPECT_GT(std::stoull("0" + current), std::stoull("0" + stale));
  EXPECT_EQ(Str(replaced, "/spec/description"), "rotated key");
  next.value = "s3cr3t-replace-3";
  next.resource_version = current;
  json again = ExpectSecureValue(admin, admin.Replace("default", next), 200, "default", next.name);
  const std::string latest = Str(again, "/metadata/resourceVersion");
  next.resource_version = stale;
  next.value = "s3cr3t-replace-stale";
  admin.ExpectFailure(admin.Replace("default", next), 409, "Conflict", "stale resourceVersion");
  next.resource_version.clear();
  admin.ExpectFailure(admin.Replace("default", {.name = "api-key",
                                                .value = "s3cr3t-replace-x",
                                                .description = std::string(26, 'd')}),
                      400, "BadRequest", "replace with a 26-character description");
  admin.ExpectFailure(admin.Send("PUT", Item("default", "api-key"), "[1,"), 400, "BadRequest",
                      "replace with malformed JSON");
  anonymous.ExpectFailure(anonymous.Replace("default", next), 401, "Unauthorized", "replace");
  viewer.ExpectFailure(viewer.Replace("default", next), 403, "Forbidden", "replace other ns");
  viewer.ExpectFailure(viewer.Replace("other", {.name = "shared", .value = "s3cr3t-replace-v"}),
                       403, "Forbidden", "viewer replaces in own ns");
  admin.ExpectFailure(admin.Replace("default", {.name = "missing", .value = "s3cr3t-replace-m"}),
                      404, "NotFound", "replace missing");
  EXPECT_EQ(Str(Parse(admin.Get("default", "api-key").body), "/metadata/resourceVersion"), latest);

  anonymous.ExpectFailure(anonymous.Delete("default", "api-key"), 401, "Unauthorized", "delete");
  viewer.ExpectFailure(viewer.Delete("default", "api-key"), 403, "Forbidden", "delete other ns");
  viewer.ExpectFailure(viewer.Delete("other", "shared"), 403, "Forbidden", "delete own ns");
  HttpsResponse deleted = admin.Delete("default", "api-key");
  EXPECT_EQ(deleted.status, 200) << admin.Shown(deleted);
  json status = Parse(deleted.body);
  EXPECT_EQ(Str(status, "/kind"), "Status");
  EXPECT_EQ(Str(status, "/status"), "Success");
  EXPECT_EQ(status.value("code", 0L), 200L);
  admin.ExpectFailure(admin.Get("default", "api-key"), 404, "NotFound", "get after delete");
  admin.ExpectFailure(admin.Delete("default", "api-key"), 404, "NotFound", "delete twice");
  EXPECT_EQ(ItemNames(admin.List("default")), std::set<std::string>{});
  EXPECT_EQ(admin.Get("other", "shared").status, 200);
}

// LimitCase is one body change and whether the server must accept it.
struct LimitCase {
  std::string what;
  Spec spec;
  bool accepted;
};

std::string Repeat(const std::string& unit, std::size_t count) {
  std::string text;
  for (std::size_t i = 0; i < count; ++i) text += unit;
  return text;
}

// Issue 20: a replace names its object in the body as Kubernetes requires:
// with no metadata.name, an empty one, only a generateName, or another
// name, it is refused with 400 (Kubernetes' "the name of the object ()
// does not match the name on the URL") and the stored value stays.
TEST(SecureValueApi, AReplaceWithoutTheUrlsNameInItsBodyIsRefusedAndChangesNothing) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  SecretLedger ledger;
  Api admin(server->CertClient(server->admin_cert()), &ledger);
  json created = ExpectSecureValue(
      admin, admin.Create("default", {.name = "named", .value = "s3cr3t-named-1"}), 201, "default",
      "named");
  const std::string version = Str(created, "/metadata/resourceVersion");
  const std::string spec = R"("spec":{"description":"d","value":"s3cr3t-named-2","decrypters":[]})";
  const std::vector<std::pair<std::string, std::string>> bodies = {
      {"no metadata", "{" + spec + "}"},
      {"metadata without a name", R"({"metadata":{},)" + spec + "}"},
      {"an empty name", R"({"metadata":{"name":""},)" + spec + "}"},
      {"only a generateName", R"({"metadata":{"generateName":"named-"},)" + spec + "}"},
      {"another name", R"({"metadata":{"name":"other"},)" + spec + "}"},
  };
  for (const auto& [what, body] : bodies) {
    HttpsResponse response = admin.Send("PUT", Item("default", "named"), body);
    admin.ExpectFailure(response, 400, "BadRequest", "replace with " + what);
    EXPECT_NE(response.body.find("does not match the name on the URL (named)"), std::string::npos)
        << what << ": " << response.body;
  }
  json after = ExpectSecureValue(admin, admin.Get("default", "named"), 200, "default", "named");
  EXPECT_EQ(Str(after, "/metadata/resourceVersion"), version) << "nothing was written";
}

std::vector<std::string> Decrypters(int count) {
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i) names.push_back("service-" + std::to_string(i));
  return names;
}

std::vector<LimitCase> LimitCases() {
  const std::string value = "s3cr3t-limits";
  return {
      {"description of 1 character", {.value = value, .description = "d"}, true},
      {"description of 25 characters", {.value = value, .description = std::string(25, 'd')}, true},
      {"25 two-byte characters", {.value = value, .description = Repeat("\u00e9", 25)}, true},
      {"25 three-byte characters", {.value = value, .description = Repeat("\u754c", 25)}, true},
      {"empty description", {.value = value, .description = ""}, false},
      {"description of 26 characters",
       {.value = value, .description = std::string(26, 'd')},
       false},
      {"26 two-byte characters", {.value = value, .description = Repeat("\u00e9", 26)}, false},
      {"value of 1 byte", {.value = "v"}, true},
      {"value of 24,576 bytes", {.value = std::string(24576, 'x')}, true},
      {"value of 24,576 bytes in 3-byte characters", {.value = Repeat("\u20ac", 8192)}, true},
      {"empty value", {.value = ""}, false},
      {"value of 24,577 bytes", {.value = std::string(24577, 'y')}, false},
      {"value of 24,577 bytes with 3-byte characters",
       {.value = Repeat("\u20ac", 8192) + "z"},
       false},
      {"64 decrypters", {.value = value, .decrypters = Decrypters(64)}, true},
      {"65 decrypters", {.value = value, .decrypters = Decrypters(65)}, false},
  };
}

TEST(SecureValueApi, DescriptionValueAndDecryptersAreCheckedOnBothSidesOfEachLimit) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  SecretLedger ledger;
  Api admin(server->CertClient(server->admin_cert()), &ledger);
  ASSERT_EQ(admin.Create("default", {.name = "target", .value = "s3cr3t-target"}).status, 201);
  int index = 0;
  for (LimitCase limit : LimitCases()) {
    limit.spec.name = "limit-" + std::to_string(index++);
    HttpsResponse created = admin.Create("default", limit.spec);
    if (limit.accepted) {
      EXPECT_EQ(created.status, 201) << "create, " << limit.what << ": " << admin.Shown(created);
    } else {
      admin.ExpectFailure(created, 400, "BadRequest", "create, " + limit.what);
      EXPECT_EQ(admin.Get("default", limit.spec.name).status, 404) << limit.what;
    }
    const std::string before =
        Str(Parse(admin.Get("default", "target").body), "/metadata/resourceVersion");
    limit.spec.name = "target";
    HttpsResponse replaced = admin.Replace("default", limit.spec);
    const std::string after =
        Str(Parse(admin.Get("default", "target").body), "/metadata/resourceVersion");
    if (limit.accepted) {
      EXPECT_EQ(replaced.status, 200) << "replace, " << limit.what << ": " << admin.Shown(replaced);
      EXPECT_NE(after, before) << limit.what;
    } else {
      admin.ExpectFailure(replaced, 400, "BadRequest", "replace, " + limit.what);
      EXPECT_EQ(after, before) << limit.what;
    }
  }
}

TEST(SecureValueApi, NamesFollowKubernetesRulesAndGenerateNameKeepsThePrefix) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  SecretLedger ledger;
  Api admin(server->CertClient(server->admin_cert()), &ledger);
  const std::string labels =
      std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + ".";
  const std::string longest = labels + std::string(61, 'd');
  ASSERT_EQ(longest.size(), 253u);
  ExpectSecureValue(admin, admin.Create("default", {.name = longest, .value = "s3cr3t-names"}), 201,
                    "default", longest);
  EXPECT_EQ(admin.Get("default", longest).status, 200);
  for (const std::string& bad :
       {labels + std::string(62, 'd'), std::string("Upper-case"), std::string("under_score"),
        std::string("-leading-dash"), std::string("trailing-dash-"), std::string("dot..dot"),
        std::string("label.-dash")}) {
    admin.ExpectFailure(admin.Create("default", {.name = bad, .value = "s3cr3t-names"}), 400,
                        "BadRequest", "create named " + bad.substr(0, 20));
  }
  admin.ExpectFailure(admin.Get("default", "Upper_Case"), 400, "BadRequest", "get a bad name");
  admin.ExpectFailure(admin.Create("default", {.value = "s3cr3t-names"}), 400, "BadRequest",
                      "neither name nor generateName");

  std::set<std::string> generated;
  for (int i = 0; i < 2; ++i) {
    HttpsResponse made =
        admin.Create("default", {.value = "s3cr3t-names", .generate_name = "gen-"});
    EXPECT_EQ(made.status, 201) << admin.Shown(made);
    const std::string name = Str(Parse(made.body), "/metadata/name");
    EXPECT_TRUE(name.starts_with("gen-") && name.size() > 4) << name;
    EXPECT_EQ(admin.Get("default", name).status, 200) << name;
    generated.insert(name);
  }
  EXPECT_EQ(generated.size(), 2u);
  admin.ExpectFailure(admin.Create("default", {.value = "s3cr3t-names", .generate_name = "Bad_"}),
                      400, "BadRequest", "generateName with bad characters");
  generated.insert(longest);
  EXPECT_EQ(ItemNames(admin.List("default")), generated);
}

// PaddedTo returns `body` followed by JSON whitespace up to `size` bytes.
std::string PaddedTo(std::string body, std::size_t size) {
  if (body.size() < size) body.append(size - body.size(), ' ');
  return body;
}

TEST(SecureValueApi, BodySizeContentTypeAndMalformedBodiesAreRefused) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  SecretLedger ledger;
  Api admin(server->CertClient(server->admin_cert()), &ledger);
  const std::size_t limit = 160 * 1024;
  // A legal value JSON-escaped six times over (\u0001 per byte), padded to the limit.
  Spec escaped{.name = "escaped", .value = std::string(24576, '\x01')};
  ledger.Remember(escaped.value);
  const std::string at_limit = PaddedTo(ToBody(escaped), limit);
  ASSERT_EQ(at_limit.size(), limit);
  HttpsResponse created = admin.Send("POST", Collection("default"), at_limit);
  EXPECT_EQ(created.status, 201) << admin.Shown(created);
  escaped.name = "escaped-over";
  admin.ExpectFailure(
      admin.Send("POST", Collection("default"), PaddedTo(ToBody(escaped), limit + 1)), 413,
      "RequestEntityTooLarge", "create one byte over the limit");
  escaped.name = "escaped";
  admin.ExpectFailure(
      admin.Send("PUT", Item("default", "escaped"), PaddedTo(ToBody(escaped), limit + 1)), 413,
      "RequestEntityTooLarge", "replace one byte over the limit");

  const std::string bad_utf8 = std::string(R"({"metadata":{"name":"bad-utf8"},)") +
                               R"("spec":{"description":"d","value":"ab)" + "\xC3\x28" + R"(cd"}})";
  admin.ExpectFailure(admin.Send("POST", Collection("default"), bad_utf8), 400, "BadRequest",
                      "create with invalid UTF-8 in the value");
  admin.ExpectFailure(admin.Send("PUT", Item("default", "bad-utf8"), bad_utf8), 400, "BadRequest",
                      "replace with invalid UTF-8 in the value");

  const std::string plain = ToBody({.name = "typed", .value = "s3cr3t-typed"});
  admin.ExpectFailure(admin.Send("POST", Collection("default"), plain, "text/plain"), 415,
                      "UnsupportedMediaType", "text/plain");
  admin.ExpectFailure(admin.Send("POST", Collection("default"), plain, ""), 415,
                      "UnsupportedMediaType", "no Content-Type");
  admin.ExpectFailure(admin.Send("PUT", Item("default", "escaped"), plain, "text/plain"), 415,
                      "UnsupportedMediaType", "replace as text/plain");
  HttpsResponse typed =
      admin.Send("POST", Collection("default"), plain, "application/json; charset=utf-8");
  EXPECT_EQ(typed.status, 201) << admin.Shown(typed);

  const std::string spec = R"("spec":{"description":"d","value":"s3cr3t-fields")";
  for (const std::string& body :
       {R"({"metadata":{"name":"u1"},)" + spec + R"(,"colour":"red"}})",
        R"({"metadata":{"name":"u2"},"extra":1,)" + spec + "}}",
        R"({"metadata":{"name":"u3","owner":"me"},)" + spec + "}}",
        R"({"metadata":{"name":"u4","namespace":"other"},)" + spec + "}}"}) {
    admin.ExpectFailure(admin.Send("POST", Collection("default"), body), 400, "BadRequest",
                        "unknown field or namespace mismatch");
  }
  admin.ExpectFailure(admin.Send("PUT", Item("default", "typed"),
                                 R"({"metadata":{"name":"escaped"},)" + spec + "}}"),
                      400, "BadRequest", "replace with metadata.name != path");
  admin.ExpectFailure(
      admin.Send("PUT", Item("default", "typed"),
                 R"({"metadata":{"name":"typed","namespace":"other"},)" + spec + "}}"),
      400, "BadRequest", "replace with metadata.namespace mismatch");
  EXPECT_EQ(ItemNames(admin.List("default")), (std::set<std::string>{"escaped", "typed"}));
}

TEST(SecureValueApi, LabelSelectorsOfEveryFormFilterTheList) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  SecretLedger ledger;
  Api admin(server->CertClient(server->admin_cert()), &ledger);
  const std::map<std::string, std::map<std::string, std::string>> objects = {
      {"a", {{"env", "prod"}, {"tier", "web"}}},
      {"b", {{"env", "dev"}, {"tier", "db"}}},
      {"c", {{"env", "staging"}}},
      {"d", {}},
      {"e", {{"env", "prod"}, {"tier", "db"}, {"team", "x"}}}};
  for (const auto& [name, labels] : objects) {
    ASSERT_EQ(admin.Create("sel", {.name = name, .value = "s3cr3t-sel", .labels = labels}).status,
              201);
  }
  using Names = std::set<std::string>;
  const std::vector<std::pair<std::string, Names>> cases = {
      {"", {"a", "b", "c", "d", "e"}},
      {"env=prod", {"a", "e"}},
      {"env==prod", {"a", "e"}},
      {"env!=prod", {"b", "c", "d"}},
      {"env%20in%20(prod,dev)", {"a", "b", "e"}},
      {"env%20notin%20(prod,dev)", {"c", "d"}},
      {"tier", {"a", "b", "e"}},
      {"!tier", {"c", "d"}},
      {"env=prod,tier=db", {"e"}},
      {"tier,env!=dev", {"a", "e"}},
      {"env%20in%20(prod),!team", {"a"}},
      {"env=nope", {}},
      {"env%3Dprod%2Ctier%3Dweb", {"a"}},
      {"env%20notin%20%28prod%29", {"b", "c", "d"}},
      {"%21tier", {"c", "d"}},
      {"env+in+(dev,staging)", {"b", "c"}},
      {"env%20%3D%3D%20prod%20,%20team", {"e"}},
  };
  for (const auto& [selector, expected] : cases) {
    HttpsResponse listed = admin.List("sel", "?labelSelector=" + selector);
    EXPECT_EQ(listed.status, 200) << selector << ": " << admin.Shown(listed);
    EXPECT_EQ(ItemNames(listed), expected) << "labelSelector=" << selector;
  }
  for (const std::string selector :
       {"env%20in%20prod", "env=(", "=prod", "env%20in%20()", "env%", "env%20notin", "!",
        "bad%20key=x", "env=a=b", "env=prod,,tier"}) {
    admin.ExpectFailure(admin.List("sel", "?labelSelector=" + selector), 400, "BadRequest",
                        "labelSelector=" + selector);
  }
}

// Page is one list response of a paged listing.
struct Page {
  std::vector<std::string> names;  // in response order
  std::string next;                // metadata.continue
};

Page ListPage(Api& api, const std::string& ns, const std::string& continue_token) {
  std::string query = "?limit=100";
  if (!continue_token.empty()) query += "&continue=" + continue_token;
  HttpsResponse response = api.List(ns, query);
  EXPECT_EQ(response.status, 200) << api.Shown(response);
  Page page;
  json body = Parse(response.body);
  if (!body.is_object() || !body["items"].is_array()) return page;
  for (const json& item : body["items"]) page.names.push_back(Str(item, "/metadata/name"));
  page.next = Str(body, "/metadata/continue");
  return page;
}

std::string PageName(int i) {
  char name[16];
  std::snprintf(name, sizeof(name), "m-%03d", i);
  return name;
}

// CreateMany creates PageName(0..count-1) in `ns` on two connections.
void CreateMany(const ServerProcess& server, SecretLedger* ledger, const std::string& ns,
                int count) {
  std::atomic<int> failures{0};
  auto work = [&](int first) {
    Api api(server.CertClient(server.admin_cert()), ledger);
    for (int i = first; i < count; i += 2) {
      if (api.Create(ns, {.name = PageName(i), .value = "s3cr3t-page"}).status != 201) ++failures;
    }
  };
  std::thread other(work, 1);
  work(0);
  other.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(SecureValueApi, PagesOf100ListEachRecordOnceWhileRecordsAreCreated) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  SecretLedger ledger;
  ledger.Remember("s3cr3t-page");
  CreateMany(*server, &ledger, "pages", 250);
  Api admin(server->CertClient(server->admin_cert()), &ledger);
  const std::vector<std::vector<std::string>> created_after_page = {
      {"a-before", "m-050x", "m-150x", "z-after"}, {"m-120y", "m-230y", "m-000a"}};
  std::map<std::string, int> seen;
  std::map<std::string, bool> expected_new;  // name -> must it appear
  Page page;
  std::string first_token;
  for (int number = 0; number < 10; ++number) {
    page = ListPage(admin, "pages", page.next);
    for (const std::string& name : page.names) ++seen[name];
    if (page.next.empty()) break;
    if (first_token.empty()) first_token = page.next;
    EXPECT_EQ(page.names.size(), 100u) << "page " << number;
    ASSERT_FALSE(page.names.empty());
    if (number < static_cast<int>(created_after_page.size())) {
      for (const std::string& name : created_after_page[number]) {
        ASSERT_EQ(admin.Create("pages", {.name = name, .value = "s3cr3t-page"}).status, 201);
        expected_new[name] = name > page.names.back();
      }
    }
  }
  EXPECT_TRUE(page.next.empty()) << "the listing did not end within 10 pages";
  EXPECT_LE(page.names.size(), 100u);
  for (int i = 0; i < 250; ++i) EXPECT_EQ(seen[PageName(i)], 1) << PageName(i);
  for (const auto& [name, appears] : expected_new) {
    EXPECT_EQ(seen[name], appears ? 1 : 0) << name << (appears ? " sorts after" : " before");
  }
  std::size_t total = 0;
  for (const auto& entry : seen) total += static_cast<std::size_t>(entry.second);
  EXPECT_EQ(total, 250u + std::count_if(expected_new.begin(), expected_new.end(),
                                        [](const auto& entry) { return entry.second; }));

  ASSERT_GT(first_token.size(), 8u);
  std::string tampered = first_token;
  char& middle = tampered[tampered.size() / 2];
  middle = middle == 'A' ? 'B' : 'A';
  const std::string prefix = "?limit=100&continue=";
  admin.ExpectFailure(admin.List("pages", prefix + tampered), 400, "BadRequest", "tampered");
  admin.ExpectFailure(admin.List("pages", prefix + first_token.substr(1)), 400, "BadRequest",
                      "truncated continue");
  admin.ExpectFailure(admin.List("pages", prefix + "not-a-token"), 400, "BadRequest", "garbage");
  admin.ExpectFailure(admin.List("elsewhere", prefix + first_token), 400, "BadRequest",
                      "continue from another namespace");
}

constexpr char kAdminEncryption[] = "/api/admin/encryption/";

TEST(SecureValueApi, RotationEndpointsAnswerServerAdminsOnly) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  SecretLedger ledger;
  Api basic_admin(server->AdminClient(), &ledger);
  Api viewer = Viewer(*server, &ledger);
  Api anonymous = Anonymous(*server, &ledger);
  auto issued = server->RunCli(
      {"token", "create", "--user", "admin", "--role", "ServerAdmin", "--namespace", "*"});
  ASSERT_EQ(issued.exit_code, 0) << issued.err;
  std::string token = issued.out.substr(0, issued.out.find_first_of(" \r\n"));
  ASSERT_TRUE(token.starts_with("srt_")) << "token create printed no token";
  ledger.Remember(token);
  HttpsClient bearer(server->base_url(), server->ca_path());
  bearer.SetBearerToken(token);
  Api token_api(std::move(bearer), &ledger);
  EXPECT_EQ(token_api.List("default").status, 200);  // the token itself is valid
  for (const char* operation :
       {"rotate-data-keys", "reencrypt-data-keys", "reencrypt-secrets", "rotate-kek"}) {
    const std::string path = std::string(kAdminEncryption) + operation;
    anonymous.ExpectMessage(anonymous.Send("POST", path), 401, "anonymous " + path);
    viewer.ExpectMessage(viewer.Send("POST", path), 403, "viewer " + path);
    token_api.ExpectMessage(token_api.Send("POST", path), 403, "ServerAdmin token " + path);
  }
  HttpsResponse rotated =
      basic_admin.Send("POST", std::string(kAdminEncryption) + "rotate-data-keys");
  EXPECT_EQ(rotated.status, 204) << basic_admin.Shown(rotated);
  EXPECT_TRUE(rotated.body.empty());
  HttpsResponse reencrypted =
      basic_admin.Send("POST", std::string(kAdminEncryption) + "reencrypt-secrets");
  EXPECT_EQ(reencrypted.status, 200) << basic_admin.Shown(reencrypted);
}

// Known is a secure value whose plaintext and stored metadata the test knows.
struct Known {
  std::string ns, name, value;
  json metadata, spec;
};

// ExpectStoredValues opens the stopped server's store and token in this
// process and unseals every known record.
void ExpectStoredValues(ServerProcess& server, const std::vector<Known>& known) {
  crypto::TokenOptions token_options;
  token_options.module = server.token().module_path();
  token_options.token_uri = server.token().token_uri();
  token_options.pin_file = server.token().pin_file();
  auto token = crypto::Token::Open(token_options);
  ASSERT_OK(token);
  storage::StoreOptions store_options;
  store_options.data_dir = server.data_dir();
  store_options.create_if_missing = false;
  auto store = storage::Store::Open(store_options);
  ASSERT_OK(store);
  crypto::LocalTokenService service(**token);
  auto keyring = crypto::Keyring::Open(service, **store);
  ASSERT_OK(keyring);
  auto txn = (*store)->BeginRead();
  ASSERT_OK(txn);
  for (const Known& k : known) {
    auto raw = txn->Get(storage::Table::kSecureValues, storage::SecureValueKey(k.ns, k.name));
    ASSERT_OK(raw) << k.ns << "/" << k.name;
    auto record = storage::DecodeSecureValueRecord(raw->value);
    ASSERT_OK(record) << k.name;
    EXPECT_EQ(record->uid, Str(k.metadata, "/uid")) << k.name;
    auto plain = (*keyring)->Unseal(
        crypto::ValueBinding{k.ns, k.name, record->uid, raw->generation}, record->envelope);
    ASSERT_OK(plain) << k.ns << "/" << k.name;
    EXPECT_TRUE(plain->RevealSecretAsString() == k.value) << k.ns << "/" << k.name;
  }
  std::size_t stored = 0;
  ASSERT_OK(txn->Scan(storage::Table::kSecureValues, "rot-", "",
                      [&](std::string_view, const storage::Record&) { return ++stored > 0; }));
  EXPECT_EQ(stored, known.size());
}

// CreateKnown creates `k` and fills in the metadata and spec the server gave.
void CreateKnown(Api& admin, Known& k, int index) {
  Spec spec{.name = k.name,
            .value = k.value,
            .description = "rotation " + std::to_string(index),
            .decrypters = {"demo-service", "svc-" + k.ns},
            .labels = {{"index", std::to_string(index)}}};
  json made = ExpectSecureValue(admin, admin.Create(k.ns, spec), 201, k.ns, k.name);
  k.metadata = made.value("metadata", json::object());
  k.spec = made.value("spec", json::object());
}

// PostAdmin POSTs /api/admin/encryption/<operation> and returns the JSON.
json PostAdmin(Api& admin, const std::string& operation, long expected) {
  HttpsResponse response = admin.Send("POST", std::string(kAdminEncryption) + operation);
  EXPECT_EQ(response.status, expected) << operation << ": " << admin.Shown(response);
  json body = Parse(response.body);
  return body.is_object() ? body : json::object();
}

TEST(SecureValueApi, EveryOldSecretReadsBackAfterTheRotationEndpoints) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  SecretLedger ledger;
  Api admin(server->CertClient(server->admin_cert()), &ledger);
  std::vector<Known> known;
  for (int i = 0; i < 20; ++i) {
    const std::string ns = i % 2 ? "rot-b" : "rot-a";
    known.push_back({ns,
                     "sv-" + std::to_string(i),
                     "s3cr3t-rot-" + std::to_string(i) + "-\u20ac-" + ns,
                     {},
                     {}});
    CreateKnown(admin, known.back(), i);
  }
  Known& replaced = known.front();
  replaced.value = "s3cr3t-rot-replaced-value";
  Spec again{.name = replaced.name,
             .value = replaced.value,
             .description = "rotation 0",
             .decrypters = {"demo-service", "svc-rot-a"},
             .labels = {{"index", "0"}}};
  json after = ExpectSecureValue(admin, admin.Replace("rot-a", again), 200, "rot-a", again.name);
  EXPECT_EQ(Str(after, "/metadata/uid"), Str(replaced.metadata, "/uid"));
  EXPECT_NE(Str(after, "/metadata/resourceVersion"), Str(replaced.metadata, "/resourceVersion"));
  replaced.metadata = after.value("metadata", json::object());

  PostAdmin(admin, "rotate-data-keys", 204);
  json rewrap = PostAdmin(admin, "reencrypt-data-keys", 200);
  EXPECT_TRUE(rewrap.is_object() && rewrap.value("rewrapped", json()).is_number()) << rewrap;
  json kek = PostAdmin(admin, "rotate-kek", 200);
  EXPECT_FALSE(Str(kek, "/newKekId").empty());
  EXPECT_NE(Str(kek, "/newKekId"), Str(kek, "/oldKekId"));
  json secrets = PostAdmin(admin, "reencrypt-secrets", 200);
  EXPECT_EQ(secrets.value("scanned", -1), 20) << secrets;
  EXPECT_EQ(secrets.value("reencrypted", -1), 20) << secrets;
  for (int i = 20; i < 23; ++i) {
    known.push_back({i % 2 ? "rot-b" : "rot-a",
                     "late-" + std::to_string(i),
                     "s3cr3t-rot-late-" + std::to_string(i),
                     {},
                     {}});
    CreateKnown(admin, known.back(), i);
  }

  for (const Known& k : known) {
    json got = ExpectSecureValue(admin, admin.Get(k.ns, k.name), 200, k.ns, k.name);
    for (const char* member : {"uid", "creationTimestamp", "labels"}) {
      EXPECT_EQ(got.value("metadata", json::object()).value(member, json()),
                k.metadata.value(member, json()))
          << k.name << " metadata." << member;
    }
    EXPECT_EQ(got.value("spec", json()), k.spec) << k.name;
  }
  EXPECT_EQ(ItemNames(admin.List("rot-a")).size(), 12u);
  EXPECT_EQ(ItemNames(admin.List("rot-b")).size(), 11u);
  ASSERT_EQ(server->Stop(), 0);
  ExpectStoredValues(*server, known);
}

}  // namespace
}  // namespace strongroom::testing_support
