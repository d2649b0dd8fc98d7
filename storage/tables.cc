#include "storage/tables.h"

#include <cstdio>

namespace strongroom::storage {

std::string_view TableName(Table table) {
  switch (table) {
    case Table::kMeta: return "meta";
    case Table::kSystem: return "system";
    case Table::kKeks: return "keks";
    case Table::kDataKeys: return "data_keys";
    case Table::kSecureValues: return "secure_values";
    case Table::kUsers: return "users";
    case Table::kTokens: return "tokens";
    case Table::kBindings: return "bindings";
    case Table::kSensuSecrets: return "sensu_secrets";
    case Table::kSensuProviders: return "sensu_providers";
  }
  return "unknown";
}

std::string_view GenerationKey(CacheKind kind) {
  switch (kind) {
    case CacheKind::kDataKeys: return "generation/data_keys";
    case CacheKind::kCredentials: return "generation/credentials";
    case CacheKind::kTokens: return "generation/tokens";
    case CacheKind::kPolicy: return "generation/policy";
  }
  return "generation/unknown";
}

bool IsReservedMetaKey(std::string_view key) {
  return key == kSchemaVersionKey || key == kResourceVersionKey || key == kStoreDigestKey ||
         key == kStoreDigestMacKey || key == kReplicaRevisionKey ||
         key.starts_with("generation/");
}

bool IsCounterMetaKey(std::string_view key) {
  return key == kResourceVersionKey || key == kStoreDigestKey || key == kStoreDigestMacKey ||
         key == kReplicaRevisionKey;
}

std::string DescribeRecord(Table table, std::string_view key) {
  std::string out = "record '";
  for (char c : key) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f || c == '\\' || c == '\'') {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", byte);
      out += buf;
    } else {
      out += c;
    }
  }
  out += "' in table ";
  out += TableName(table);
  return out;
}

}  // namespace strongroom::storage
