// `strongroom keys list`: KEKs and data keys, never key material.
#include <cstdio>
#include <set>

#include "appliance/commands.h"
#include "crypto/crypto.h"

namespace strongroom::appliance {

namespace {
std::string Micros(std::int64_t micros) {
  return Rfc3339Micros(TimePoint(std::chrono::microseconds(micros)));
}
}  // namespace

Status RunKeysList(const CommonFlags& flags) {
  SR_ASSIGN_OR_RETURN(Environment env, OpenEnvironment(flags, /*create_if_missing=*/false,
                                                       /*with_keyring=*/true));
  SR_ASSIGN_OR_RETURN(std::vector<crypto::KekInfo> keks, env.keyring->ListKeks());
  SR_ASSIGN_OR_RETURN(std::vector<std::string> in_token, env.token->ListKekIds());
  std::set<std::string> present(in_token.begin(), in_token.end());
  std::printf("KEKs (in token %s)\n", env.token->token_label().c_str());
  std::printf("  %-22s %-8s %-9s %s\n", "ID", "CURRENT", "IN-TOKEN", "CREATED");
  for (const auto& k : keks) {
    std::printf("  %-22s %-8s %-9s %s\n", k.id.c_str(), k.current ? "yes" : "no",
                present.contains(k.id) ? "yes" : "MISSING", Micros(k.created_micros).c_str());
  }
  SR_ASSIGN_OR_RETURN(std::vector<crypto::DataKeyInfo> keys, env.keyring->ListDataKeys());
  std::printf("Data keys (%zu)\n", keys.size());
  std::printf("  %-21s %-20s %-10s %-6s %-22s %-12s %s\n", "ID", "NAMESPACE", "DAY", "ACTIVE",
              "KEK", "RESERVED", "CREATED");
  for (const auto& k : keys) {
    std::printf("  %-21s %-20s %-10s %-6s %-22s %-12llu %s\n", k.id.c_str(), k.namespace_name.c_str(),
                k.day.c_str(), k.active ? "yes" : "no", k.kek_id.c_str(),
                static_cast<unsigned long long>(k.reserved_encryptions),
                Micros(k.created_micros).c_str());
  }
  return Status::Ok();
}

}  // namespace strongroom::appliance
