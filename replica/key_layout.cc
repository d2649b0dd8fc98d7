#include "replica/key_layout.h"

#include <optional>

namespace strongroom::replica {
namespace {

constexpr std::string_view kDigestMetaKey = "store_digest";

// TableNamed returns the authenticated table called `name`, if any.
std::optional<storage::Table> TableNamed(std::string_view name) {
  for (int i = 0; i < storage::kTableCount; ++i) {
    auto table = static_cast<storage::Table>(i);
    if (table != storage::Table::kMeta && storage::TableName(table) == name) return table;
  }
  return std::nullopt;
}

}  // namespace

KeyLayout::KeyLayout(std::string_view cluster_name)
    : prefix_("/strongroom/" + std::string(cluster_name) + "/v1/"),
      records_prefix_(prefix_ + "t/"),
      meta_prefix_(prefix_ + "meta/"),
      digest_key_(meta_prefix_ + std::string(kDigestMetaKey)) {}

std::string KeyLayout::RecordKey(storage::Table table, std::string_view key) const {
  return records_prefix_ + std::string(storage::TableName(table)) + "/" + std::string(key);
}

std::string KeyLayout::MetaKey(std::string_view key) const {
  return meta_prefix_ + std::string(key);
}

std::string KeyLayout::AttemptKey(std::string_view node) const {
  return prefix_ + "attempt/" + std::string(node);
}

std::string KeyLayout::NameKey(std::string_view node) const {
  return prefix_ + "names/" + std::string(node);
}

KeyLayout::Parsed KeyLayout::Parse(std::string_view etcd_key) const {
  Parsed parsed;
  if (etcd_key == digest_key_) {
    parsed.kind = Parsed::Kind::kDigest;
    return parsed;
  }
  if (etcd_key.starts_with(meta_prefix_)) {
    parsed.key = std::string(etcd_key.substr(meta_prefix_.size()));
    if (!parsed.key.empty()) parsed.kind = Parsed::Kind::kMeta;
    return parsed;
  }
  if (!etcd_key.starts_with(records_prefix_)) return parsed;
  std::string_view rest = etcd_key.substr(records_prefix_.size());
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash + 1 == rest.size()) return parsed;
  std::optional<storage::Table> table = TableNamed(rest.substr(0, slash));
  if (!table) return parsed;
  parsed.kind = Parsed::Kind::kRecord;
  parsed.table = *table;
  parsed.key = std::string(rest.substr(slash + 1));
  return parsed;
}

}  // namespace strongroom::replica
