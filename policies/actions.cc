#include "policies/actions.h"

#include <algorithm>
#include <array>
#include <iterator>

namespace strongroom::policies {
namespace {

constexpr std::string_view kSecureValues = "secret.securevalues";
constexpr std::string_view kSensuSecrets = "sensu.secrets";

// The seeds name these scopes for the admin actions; each means "*" here,
// because Strongroom has one organisation and no per-user or per-setting scope.
constexpr std::array<std::string_view, 2> kUserScopes = {"users:*", "global.users:*"};
constexpr std::array<std::string_view, 1> kSettingsScopes = {"settings:*"};
constexpr std::array<std::string_view, 2> kProvisioningScopes = {"provisioners:accesscontrol",
                                                                 "provisioners:*"};
constexpr std::array<std::string_view, 1> kProviderScopes = {"sensu.providers:*"};

// The one table of every action. Names follow the seeds: Grafana's secrets
// management API for secure values, Grafana's admin API for users, tokens,
// stats, settings and provisioning; Strongroom's own for the rest.
constexpr ActionInfo kActions[] = {
    {"secret.securevalues:create", kSecureValues, {}, false},
    {"secret.securevalues:read", kSecureValues, {}, false},
    {"secret.securevalues:write", kSecureValues, {}, false},
    {"secret.securevalues:delete", kSecureValues, {}, false},
    {"secret.securevalues:decrypt", kSecureValues, {}, true},
    {"sensu.secrets:read", kSensuSecrets, {}, false},
    {"sensu.secrets:write", kSensuSecrets, {}, false},
    {"sensu.secrets:delete", kSensuSecrets, {}, false},
    {"sensu.secrets:decrypt", kSensuSecrets, {}, true},
    {"sensu.providers:read", {}, kProviderScopes, false},
    {"sensu.providers:write", {}, kProviderScopes, false},
    {"server.stats:read", {}, {}, false},
    {"audit:read", {}, {}, false},
    {"metrics:read", {}, {}, false},
    // Strongroom's own: the key inventory and the audit counts per hour
    // (issue 21), which name no record and no secret.
    {"inventory:read", {}, {}, false},
    {"users:create", {}, kUserScopes, false},
    {"users:read", {}, kUserScopes, false},
    {"users:write", {}, kUserScopes, false},
    {"users:delete", {}, kUserScopes, false},
    {"users.password:update", {}, kUserScopes, false},
    {"users.permissions:update", {}, kUserScopes, false},
    {"users.authtoken:list", {}, kUserScopes, false},
    {"users.authtoken:update", {}, kUserScopes, false},
    {"users.logout", {}, kUserScopes, false},
    {"keys:rotate", {}, {}, false},
    {"settings:read", {}, kSettingsScopes, false},
    {"provisioning:reload", {}, kProvisioningScopes, false},
};

}  // namespace

const ActionInfo* FindAction(std::string_view action) {
  auto it = std::find_if(std::begin(kActions), std::end(kActions),
                         [&](const ActionInfo& info) { return info.action == action; });
  return it == std::end(kActions) ? nullptr : &*it;
}

bool IsKnownAction(std::string_view action) { return FindAction(action) != nullptr; }

bool IsDecryptAction(std::string_view action) {
  const ActionInfo* info = FindAction(action);
  return info != nullptr && info->decrypt;
}

std::span<const ActionInfo> AllActions() { return kActions; }

}  // namespace strongroom::policies
