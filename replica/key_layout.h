// replica/key_layout.h — where the replicated store lives in etcd
// (docs/cluster-design.md, "Key layout"). One prefix per deployment,
// P = "/strongroom/<cluster-name>/v1/":
//   P t/<table>/<record key>   a record: the exact bytes LMDB holds
//   P meta/<key>               a kMeta value the writes set
//   P meta/store_digest        the digest record (storage/replication.h)
//   P attempt/<node>           the nonce of the node's last write attempt
//                              (etcd_replicator.h); not the store's
//   P names/<node>             the running process that holds the node name,
//                              under its lease (replica.h); not the store's
// Other keys under P (the background lock, node presence, counters) are not
// the store's and the apply loop ignores them.
// Thread-safety: immutable after construction.
#pragma once

#include <string>
#include <string_view>

#include "storage/storage.h"

namespace strongroom::replica {

class KeyLayout {
 public:
  // `cluster_name` REQUIRES: IsNodeName (base/node_name.h), so it holds no
  // '/' and no prefix is another's.
  explicit KeyLayout(std::string_view cluster_name);

  const std::string& prefix() const { return prefix_; }
  const std::string& records_prefix() const { return records_prefix_; }
  const std::string& meta_prefix() const { return meta_prefix_; }
  const std::string& digest_key() const { return digest_key_; }

  // RecordKey is the etcd key of a record (REQUIRES: table != kMeta);
  // MetaKey that of a kMeta value.
  std::string RecordKey(storage::Table table, std::string_view key) const;
  std::string MetaKey(std::string_view key) const;
  // AttemptKey is the etcd key of `node`'s write attempts (a kOther key).
  std::string AttemptKey(std::string_view node) const;
  // NameKey is the etcd key through which one running process claims the
  // node name `node` (a kOther key, attached to that process's lease).
  std::string NameKey(std::string_view node) const;

  // Parsed is what an etcd key names.
  struct Parsed {
    enum class Kind { kRecord, kMeta, kDigest, kOther };
    Kind kind = Kind::kOther;
    storage::Table table = storage::Table::kMeta;  // kRecord: its table
    std::string key;                               // the store's key (kRecord, kMeta)
  };
  Parsed Parse(std::string_view etcd_key) const;

 private:
  std::string prefix_;
  std::string records_prefix_;
  std::string meta_prefix_;
  std::string digest_key_;
};

}  // namespace strongroom::replica
