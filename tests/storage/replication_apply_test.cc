// Store::ApplyReplicated against batches a real writer staged, with no etcd:
// node A's writer hands its batches to a capturing replicator (which applies
// them to A as an apply loop would), node B applies them, tampered or not.
// Both stores share the test authenticator's fixed key, as the nodes of a
// cluster share the token's MAC key.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "storage/replication.h"
#include "storage/storage.h"
#include "tests/storage/storage_test_util.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace strongroom::storage {
namespace {

using testing::OpenTestStore;
using testing::PutValue;
using testing::RawStoreFile;
using testing::TestOptions;
using testing::ValueOf;
using testing_support::TempDir;

// CapturingReplicator stands for the cluster of one writing node: it keeps
// every batch the writer hands it and applies it to that node, as its apply
// loop would, at the next cluster revision (base + 1).
class CapturingReplicator final : public BatchReplicator {
 public:
  explicit CapturingReplicator(Store* node) : node_(node) {}

  StatusOr<ReplicatedCommit> Commit(const ReplicatedBatch& batch) override {
    batches.push_back(batch);
    const std::int64_t revision = batch.base_revision + 1;
    SR_RETURN_IF_ERROR(node_->ApplyReplicated(batch, revision, ApplyMode::kIncremental));
    return ReplicatedCommit{true, revision};
  }

  // Written on the writer thread, read by the test after Write() returned.
  std::vector<ReplicatedBatch> batches;

 private:
  Store* node_;
};

Status PutMetaValue(Store& store, const std::string& key, const std::string& value) {
  return ToStatus(store.Write("put meta " + key,
                              [&](WriteTxn& txn) { return txn.PutMeta(key, AsBytes(value)); }));
}

Status DeleteValue(Store& store, Table table, const std::string& key) {
  return ToStatus(
      store.Write("delete " + key, [&](WriteTxn& txn) { return txn.Delete(table, key); }));
}

Bytes StoredBytes(std::string_view text) { return Bytes(text.begin(), text.end()); }

// Find returns the change of `batch` naming (table, key), or null.
ReplicatedChange* Find(ReplicatedBatch& batch, Table table, std::string_view key) {
  for (ReplicatedChange& change : batch.changes) {
    if (change.table == table && change.key == key) return &change;
  }
  return nullptr;
}

// Revision returns the cluster revision a captured batch committed as.
std::int64_t Revision(const ReplicatedBatch& batch) { return batch.base_revision + 1; }

class ReplicationApply : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = OpenTestStore(TestOptions(dir_a_));
    b_ = OpenTestStore(TestOptions(dir_b_));
    ASSERT_NE(a_, nullptr);
    ASSERT_NE(b_, nullptr);
    // A holds some state from single-node mode, seeds the cluster with it
    // (cluster revision 1) and applies its own seed; B full-reads it.
    ASSERT_OK(PutValue(*a_, Table::kSecureValues, "ns/seed", "seed value"));
    ASSERT_OK(PutMetaValue(*a_, "escrowed-keks", "escrow v1"));
    StatusOr<ReplicatedBatch> seed = a_->ExportReplica();
    ASSERT_OK(seed);
    ASSERT_OK(a_->ApplyReplicated(*seed, 1, ApplyMode::kFull));
    ASSERT_OK(b_->ApplyReplicated(*seed, 1, ApplyMode::kFull));
    replicator_ = std::make_shared<CapturingReplicator>(a_.get());
    a_->SetReplicator(replicator_);
  }

  void TearDown() override {
    if (a_ != nullptr) a_->SetReplicator(nullptr);
  }

  // Captured runs `write` on A and returns the one batch it replicated.
  template <typename Fn>
  ReplicatedBatch Captured(Fn write) {
    const std::size_t before = replicator_->batches.size();
    Status written = write();
    EXPECT_OK(written);
    EXPECT_EQ(replicator_->batches.size(), before + 1);
    if (replicator_->batches.size() != before + 1) return {};
    return replicator_->batches.back();
  }

  ReplicatedBatch Put(const std::string& key, const std::string& value) {
    return Captured([&] { return ToStatus(PutValue(*a_, Table::kSecureValues, key, value)); });
  }

  // ValueOn returns the record's value on `store`, or nullopt when absent.
  static std::optional<std::string> ValueOn(Store& store, const std::string& key) {
    StatusOr<ReadTxn> txn = store.BeginRead();
    EXPECT_OK(txn);
    if (!txn.has_value()) return std::nullopt;
    StatusOr<Record> record = txn->Get(Table::kSecureValues, key);
    if (!record.has_value()) {
      EXPECT_EQ(record.error().code(), StatusCode::kNotFound) << record.error();
      return std::nullopt;
    }
    return ValueOf(*record);
  }

  static std::optional<std::string> MetaOn(Store& store, const std::string& key) {
    StatusOr<ReadTxn> txn = store.BeginRead();
    EXPECT_OK(txn);
    if (!txn.has_value()) return std::nullopt;
    StatusOr<Bytes> value = txn->GetMeta(key);
    if (!value.has_value()) return std::nullopt;
    return std::string(value->begin(), value->end());
  }

  // ExpectSameState checks that both stores verify and export the same
  // replicated state (every record's stored bytes, every kMeta value but the
  // counters, the same digest record).
  void ExpectSameState() {
    EXPECT_OK(a_->VerifyIntegrity());
    EXPECT_OK(b_->VerifyIntegrity());
    StatusOr<ReplicatedBatch> a = a_->ExportReplica();
    StatusOr<ReplicatedBatch> b = b_->ExportReplica();
    ASSERT_OK(a);
    ASSERT_OK(b);
    ASSERT_EQ(a->changes.size(), b->changes.size());
    for (std::size_t i = 0; i < a->changes.size(); ++i) {
      EXPECT_EQ(a->changes[i].table, b->changes[i].table);
      EXPECT_EQ(a->changes[i].key, b->changes[i].key);
      EXPECT_EQ(a->changes[i].value, b->changes[i].value) << a->changes[i].key;
    }
    EXPECT_EQ(a->digest_record, b->digest_record);
  }

  // ExpectBUnchanged checks that B still holds what it held at `revision`.
  void ExpectBAt(std::int64_t revision) {
    EXPECT_EQ(b_->replica_revision(), revision);
    EXPECT_OK(b_->VerifyIntegrity());
  }

  TempDir dir_a_;
  TempDir dir_b_;
  std::unique_ptr<Store> a_;
  std::unique_ptr<Store> b_;
  std::shared_ptr<CapturingReplicator> replicator_;
};

TEST_F(ReplicationApply, AValidBatchAppliesAndBothStoresHoldTheSameRecords) {
  ReplicatedBatch put = Put("ns/app", "v1");
  ASSERT_EQ(Revision(put), 2);
  ASSERT_OK(b_->ApplyReplicated(put, Revision(put), ApplyMode::kIncremental));
  EXPECT_EQ(b_->replica_revision(), 2);
  EXPECT_EQ(ValueOn(*b_, "ns/app"), "v1");
  EXPECT_EQ(ValueOn(*b_, "ns/seed"), "seed value");
  ExpectSameState();

  // Applying the same revision again changes nothing.
  EXPECT_OK(b_->ApplyReplicated(put, Revision(put), ApplyMode::kIncremental));
  ExpectSameState();
}

TEST_F(ReplicationApply, ARecordWithOneFlippedByteUnderAValidAdvancingDigestRecordIsRefused) {
  ReplicatedBatch put = Put("ns/app", "v1");
  ReplicatedChange* record = Find(put, Table::kSecureValues, "ns/app");
  ASSERT_NE(record, nullptr);
  ASSERT_TRUE(record->value.has_value());
  (*record->value)[record->value->size() / 2] ^= 0x01;
  Status refused = b_->ApplyReplicated(put, Revision(put), ApplyMode::kIncremental);
  EXPECT_STATUS(refused, StatusCode::kIntegrityError);
  // Refused by the record's own MAC, not by the digest sum after it.
  EXPECT_EQ(refused.message().find("store digest"), std::string::npos) << refused;
  ExpectBAt(1);
  EXPECT_EQ(ValueOn(*b_, "ns/app"), std::nullopt);
}

TEST_F(ReplicationApply, AnOldValidRecordUnderANewDigestRecordFailsTheDigestSum) {
  ReplicatedBatch v1 = Put("ns/app", "v1");
  ASSERT_OK(b_->ApplyReplicated(v1, Revision(v1), ApplyMode::kIncremental));
  ReplicatedBatch v2 = Put("ns/app", "v2");
  ASSERT_OK(b_->ApplyReplicated(v2, Revision(v2), ApplyMode::kIncremental));
  // The next batch's valid, advancing digest record, carrying v1 (a valid
  // record with its MAC) back instead of the batch's own record.
  ReplicatedBatch other = Put("ns/other", "x");
  ReplicatedBatch forged = other;
  forged.changes.push_back(*Find(v1, Table::kSecureValues, "ns/app"));
  Status refused = b_->ApplyReplicated(forged, Revision(other), ApplyMode::kIncremental);
  EXPECT_STATUS(refused, StatusCode::kIntegrityError);
  EXPECT_NE(refused.message().find("records do not match the store digest"), std::string::npos)
      << refused;
  ExpectBAt(3);
  EXPECT_EQ(ValueOn(*b_, "ns/app"), "v2");
  EXPECT_EQ(ValueOn(*b_, "ns/other"), std::nullopt);
  // The genuine batch still applies.
  ASSERT_OK(b_->ApplyReplicated(other, Revision(other), ApplyMode::kIncremental));
  ExpectSameState();
}

TEST_F(ReplicationApply, ACounterMetaKeyIsRefused) {
  ReplicatedBatch put = Put("ns/app", "v1");
  put.changes.push_back(
      ReplicatedChange{Table::kMeta, "resource_version", Bytes{0, 0, 0, 0, 0, 0, 0, 9}});
  Status refused = b_->ApplyReplicated(put, Revision(put), ApplyMode::kIncremental);
  EXPECT_STATUS(refused, StatusCode::kIntegrityError);
  EXPECT_NE(refused.message().find("store-maintained"), std::string::npos) << refused;
  ExpectBAt(1);
}

TEST_F(ReplicationApply, AKeyNamedTwiceIsRefused) {
  ReplicatedBatch put = Put("ns/app", "v1");
  put.changes.push_back(put.changes.front());
  Status refused = b_->ApplyReplicated(put, Revision(put), ApplyMode::kIncremental);
  EXPECT_STATUS(refused, StatusCode::kIntegrityError);
  EXPECT_NE(refused.message().find("twice"), std::string::npos) << refused;
  ExpectBAt(1);
}

TEST_F(ReplicationApply, ADeleteOfARecordTheReplicaLacksIsRefused) {
  ReplicatedBatch put = Put("ns/app", "v1");
  put.changes.push_back(ReplicatedChange{Table::kSecureValues, "ns/absent", std::nullopt});
  Status refused = b_->ApplyReplicated(put, Revision(put), ApplyMode::kIncremental);
  EXPECT_STATUS(refused, StatusCode::kIntegrityError);
  EXPECT_NE(refused.message().find("does not hold"), std::string::npos) << refused;
  ExpectBAt(1);
}

TEST_F(ReplicationApply, AFullReadRemovesWhatTheClusterNoLongerHolds) {
  ReplicatedBatch x = Put("ns/x", "x");
  ASSERT_OK(b_->ApplyReplicated(x, Revision(x), ApplyMode::kIncremental));
  ReplicatedBatch y = Put("ns/y", "y");
  ASSERT_OK(b_->ApplyReplicated(y, Revision(y), ApplyMode::kIncremental));
  // B misses the delete and what follows (its history was compacted).
  Captured([&] { return DeleteValue(*a_, Table::kSecureValues, "ns/x"); });
  Captured([&] { return PutMetaValue(*a_, "escrowed-keks", "escrow v2"); });
  StatusOr<ReplicatedBatch> state = a_->ExportReplica();
  ASSERT_OK(state);
  ASSERT_OK(b_->ApplyReplicated(*state, a_->replica_revision(), ApplyMode::kFull));
  EXPECT_EQ(ValueOn(*b_, "ns/x"), std::nullopt);
  EXPECT_EQ(ValueOn(*b_, "ns/y"), "y");
  EXPECT_EQ(MetaOn(*b_, "escrowed-keks"), "escrow v2");
  EXPECT_EQ(b_->replica_revision(), a_->replica_revision());
  ExpectSameState();
}

TEST_F(ReplicationApply, AFullStateBelowTheReplicasIsRefused) {
  StatusOr<ReplicatedBatch> old_state = a_->ExportReplica();
  ASSERT_OK(old_state);
  ReplicatedBatch put = Put("ns/app", "v1");
  ASSERT_OK(b_->ApplyReplicated(put, Revision(put), ApplyMode::kIncremental));
  // The old state, offered at a later cluster revision (etcd's revision is
  // cheap to push up): its resourceVersion is below B's.
  Status refused = b_->ApplyReplicated(*old_state, 5, ApplyMode::kFull);
  EXPECT_STATUS(refused, StatusCode::kIntegrityError);
  EXPECT_NE(refused.message().find("not above"), std::string::npos) << refused;
  ExpectBAt(2);
  EXPECT_EQ(ValueOn(*b_, "ns/app"), "v1");
}

TEST_F(ReplicationApply, AFullStateAtTheReplicasResourceVersionButAnotherDigestIsRefused) {
  // A fork: A and B each commit a different batch on the same base, so both
  // states are MAC-valid at the same resourceVersion (a conflict's loser
  // sends its staged batch to etcd too).
  auto b_replicator = std::make_shared<CapturingReplicator>(b_.get());
  b_->SetReplicator(b_replicator);
  ASSERT_OK(PutValue(*b_, Table::kSecureValues, "ns/b-only", "b"));
  b_->SetReplicator(nullptr);
  ReplicatedBatch a_put = Put("ns/a-only", "a");
  StatusOr<ReplicatedBatch> a_state = a_->ExportReplica();
  ASSERT_OK(a_state);
  ASSERT_EQ(*DigestRecordVersion(a_state->digest_record),
            *DigestRecordVersion(b_replicator->batches.back().digest_record));
  Status refused = b_->ApplyReplicated(*a_state, Revision(a_put), ApplyMode::kFull);
  EXPECT_STATUS(refused, StatusCode::kIntegrityError);
  EXPECT_NE(refused.message().find("another state at resourceVersion"), std::string::npos)
      << refused;
  ExpectBAt(2);
  EXPECT_EQ(ValueOn(*b_, "ns/b-only"), "b");
  EXPECT_EQ(ValueOn(*b_, "ns/a-only"), std::nullopt);

  // The same state at the same resourceVersion is accepted (a restart's
  // full read of what the node already holds).
  StatusOr<ReplicatedBatch> own = a_->ExportReplica();
  ASSERT_OK(own);
  EXPECT_OK(a_->ApplyReplicated(*own, a_->replica_revision(), ApplyMode::kFull));
}

TEST_F(ReplicationApply, AFullStateBelowTheTrustedFloorIsRefused) {
  ReplicatedBatch put = Put("ns/app", "v1");
  StatusOr<ReplicatedBatch> state = a_->ExportReplica();
  ASSERT_OK(state);
  const std::uint64_t rv = *DigestRecordVersion(state->digest_record);
  Status refused = b_->ApplyReplicated(*state, Revision(put), ApplyMode::kFull, rv + 1);
  EXPECT_STATUS(refused, StatusCode::kIntegrityError);
  EXPECT_NE(refused.message().find("trusted floor"), std::string::npos) << refused;
  ExpectBAt(1);
  // At the floor it applies.
  ASSERT_OK(b_->ApplyReplicated(*state, Revision(put), ApplyMode::kFull, rv));
  ExpectSameState();
}

TEST_F(ReplicationApply, AMetaValueSetOrDeletedOutsideStrongroomIsRefusedInABatch) {
  ReplicatedBatch meta = Captured([&] { return PutMetaValue(*a_, "escrowed-keks", "escrow v2"); });
  ReplicatedChange* escrow = Find(meta, Table::kMeta, "escrowed-keks");
  ASSERT_NE(escrow, nullptr);

  ReplicatedBatch changed = meta;
  Find(changed, Table::kMeta, "escrowed-keks")->value = StoredBytes("escrow forged");
  ReplicatedBatch deleted = meta;
  Find(deleted, Table::kMeta, "escrowed-keks")->value = std::nullopt;
  ReplicatedBatch added = meta;
  added.changes.push_back(ReplicatedChange{Table::kMeta, "record-mac-key", StoredBytes("old key")});
  for (const ReplicatedBatch* forged : {&changed, &deleted, &added}) {
    Status refused = b_->ApplyReplicated(*forged, Revision(meta), ApplyMode::kIncremental);
    EXPECT_STATUS(refused, StatusCode::kIntegrityError);
    EXPECT_NE(refused.message().find("MAC does not verify"), std::string::npos) << refused;
    ExpectBAt(1);
    EXPECT_EQ(MetaOn(*b_, "escrowed-keks"), "escrow v1");
    EXPECT_EQ(MetaOn(*b_, "record-mac-key"), std::nullopt);
  }
  ASSERT_OK(b_->ApplyReplicated(meta, Revision(meta), ApplyMode::kIncremental));
  EXPECT_EQ(MetaOn(*b_, "escrowed-keks"), "escrow v2");
  ExpectSameState();
}

TEST_F(ReplicationApply, AMetaValueSetOrDeletedOutsideStrongroomIsRefusedInAFullRead) {
  ReplicatedBatch put = Put("ns/app", "v1");
  StatusOr<ReplicatedBatch> state = a_->ExportReplica();
  ASSERT_OK(state);
  ASSERT_NE(Find(*state, Table::kMeta, "escrowed-keks"), nullptr);

  ReplicatedBatch changed = *state;
  Find(changed, Table::kMeta, "escrowed-keks")->value = StoredBytes("escrow forged");
  ReplicatedBatch removed = *state;
  std::erase_if(removed.changes, [](const ReplicatedChange& change) {
    return change.table == Table::kMeta && change.key == "escrowed-keks";
  });
  ReplicatedBatch added = *state;
  added.changes.push_back(
      ReplicatedChange{Table::kMeta, "generation/policy", Bytes{0, 0, 0, 0, 0, 0, 0, 0}});
  for (const ReplicatedBatch* forged : {&changed, &removed, &added}) {
    Status refused = b_->ApplyReplicated(*forged, Revision(put), ApplyMode::kFull);
    EXPECT_STATUS(refused, StatusCode::kIntegrityError);
    EXPECT_NE(refused.message().find("MAC does not verify"), std::string::npos) << refused;
    ExpectBAt(1);
    EXPECT_EQ(MetaOn(*b_, "escrowed-keks"), "escrow v1");
  }
  ASSERT_OK(b_->ApplyReplicated(*state, Revision(put), ApplyMode::kFull));
  ExpectSameState();
}

TEST_F(ReplicationApply, ABatchWithoutItsDigestRecordsMacIsRefused) {
  ReplicatedBatch put = Put("ns/app", "v1");
  put.digest_record.back() ^= 0x01;
  Status refused = b_->ApplyReplicated(put, Revision(put), ApplyMode::kIncremental);
  EXPECT_STATUS(refused, StatusCode::kIntegrityError);
  EXPECT_NE(refused.message().find("MAC does not verify"), std::string::npos) << refused;
  ExpectBAt(1);
}

// A cluster whose stores say schema 1: A migrates it through the cluster.
class ReplicationSchema : public ::testing::Test {
 protected:
  // MakeSchema1 leaves in `dir` a store with one record at schema 1.
  static void MakeSchema1(const TempDir& dir) {
    std::unique_ptr<Store> store = OpenTestStore(TestOptions(dir));
    ASSERT_NE(store, nullptr);
    ASSERT_OK(PutValue(*store, Table::kSystem, "kept", "value"));
    store.reset();
    RawStoreFile raw(TestOptions(dir).data_dir);
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE(raw.Put("meta", "schema_version", std::string("\0\0\0\1", 4)));
  }

  TempDir dir_a_;
  TempDir dir_b_;
};

TEST_F(ReplicationSchema, ANewerSchemaIsRefusedAndTheMigrationBatchUpdatesTheSchemaVersion) {
  ASSERT_EQ(kSchemaVersion, 2u) << "update this test's schema numbers";
  MakeSchema1(dir_a_);
  std::unique_ptr<Store> a = OpenTestStore(TestOptions(dir_a_));
  std::unique_ptr<Store> b = OpenTestStore(TestOptions(dir_b_));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(a->schema_version(), 1u);
  StatusOr<ReplicatedBatch> seed = a->ExportReplica();
  ASSERT_OK(seed);
  ASSERT_OK(a->ApplyReplicated(*seed, 1, ApplyMode::kFull));
  // B is a new node of this binary joining a schema-1 cluster.
  ASSERT_OK(b->ApplyReplicated(*seed, 1, ApplyMode::kFull));
  EXPECT_EQ(b->schema_version(), 1u);

  auto replicator = std::make_shared<CapturingReplicator>(a.get());
  a->SetReplicator(replicator);
  StatusOr<std::optional<SchemaMigration>> migrated = a->MigrateSchema("store.migrate");
  ASSERT_OK(migrated);
  ASSERT_TRUE(migrated->has_value());
  ASSERT_OK(PutValue(*a, Table::kSecureValues, "ns/after", "v1"));
  a->SetReplicator(nullptr);
  ASSERT_EQ(replicator->batches.size(), 2u);
  const ReplicatedBatch migration = replicator->batches[0];
  const ReplicatedBatch after = replicator->batches[1];
  ASSERT_NE(Find(replicator->batches[0], Table::kMeta, "schema_version"), nullptr);

  // A batch setting a schema this binary does not know: upgrade this node.
  ReplicatedBatch newer = migration;
  Find(newer, Table::kMeta, "schema_version")->value = Bytes{0, 0, 0, 3};
  Status refused = b->ApplyReplicated(newer, Revision(migration), ApplyMode::kIncremental);
  EXPECT_STATUS(refused, StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("this node runs schema 2, the cluster 3: upgrade this node"),
            std::string::npos)
      << refused;
  EXPECT_EQ(b->replica_revision(), 1);
  EXPECT_EQ(b->schema_version(), 1u);

  // The genuine migration applies, and B's schema version follows it.
  ASSERT_OK(b->ApplyReplicated(migration, Revision(migration), ApplyMode::kIncremental));
  EXPECT_EQ(b->schema_version(), 2u);
  EXPECT_OK(b->VerifyIntegrity());

  // A later batch setting the schema back is refused.
  ReplicatedBatch older = after;
  older.changes.push_back(ReplicatedChange{Table::kMeta, "schema_version", Bytes{0, 0, 0, 1}});
  Status back = b->ApplyReplicated(older, Revision(after), ApplyMode::kIncremental);
  EXPECT_STATUS(back, StatusCode::kIntegrityError);
  EXPECT_NE(back.message().find("schema version back from 2 to 1"), std::string::npos) << back;
  EXPECT_EQ(b->schema_version(), 2u);
  ASSERT_OK(b->ApplyReplicated(after, Revision(after), ApplyMode::kIncremental));
  EXPECT_OK(b->VerifyIntegrity());
}

// The writer refuses to stage a replicated batch without an authenticator,
// and reports that outcome to the outcome hook (nothing is left audited as
// an intent without an outcome).
TEST(ReplicationStaging, WithoutAnAuthenticatorAMetaWriteIsRefusedWithItsOutcome) {
  TempDir dir;
  StatusOr<std::unique_ptr<Store>> opened = Store::Open(TestOptions(dir));
  ASSERT_OK(opened);
  Store& store = **opened;
  auto replicator = std::make_shared<CapturingReplicator>(&store);
  int intents = 0;
  std::vector<Status> outcomes;
  store.SetPreCommitHook([&](std::span<const StagedWrite> staged) {
    intents += static_cast<int>(staged.size());
    return Status::Ok();
  });
  store.SetCommitOutcomeHook([&](const Status& outcome) { outcomes.push_back(outcome); });
  store.SetReplicator(replicator);
  Status written = PutMetaValue(store, "escrowed-keks", "escrow");
  store.SetReplicator(nullptr);
  EXPECT_STATUS(written, StatusCode::kUnavailable);
  EXPECT_NE(written.message().find("authenticator"), std::string::npos) << written;
  EXPECT_TRUE(replicator->batches.empty());
  EXPECT_EQ(intents, 1);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes.front().code(), StatusCode::kFailedPrecondition);
  StatusOr<ReadTxn> txn = store.BeginRead();
  ASSERT_OK(txn);
  EXPECT_STATUS(txn->GetMeta("escrowed-keks"), StatusCode::kNotFound);
}

// A conflict at a revision before the one this node already applied means
// etcd's history went back (a restored etcd): an integrity error, not a retry.
TEST(ReplicationStaging, AConflictAtAnAppliedRevisionIsAnIntegrityError) {
  class GoneBackReplicator final : public BatchReplicator {
   public:
    StatusOr<ReplicatedCommit> Commit(const ReplicatedBatch& batch) override {
      ++commits;
      return ReplicatedCommit{false, batch.base_revision - 1};
    }
    int commits = 0;
  };
  TempDir dir;
  std::unique_ptr<Store> store = OpenTestStore(TestOptions(dir));
  ASSERT_NE(store, nullptr);
  StatusOr<ReplicatedBatch> seed = store->ExportReplica();
  ASSERT_OK(seed);
  ASSERT_OK(store->ApplyReplicated(*seed, 7, ApplyMode::kFull));
  auto replicator = std::make_shared<GoneBackReplicator>();
  store->SetReplicator(replicator);
  StatusOr<WriteReceipt> written = PutValue(*store, Table::kSecureValues, "ns/app", "v1");
  store->SetReplicator(nullptr);
  ASSERT_FALSE(written.has_value());
  EXPECT_EQ(written.error().code(), StatusCode::kIntegrityError) << written.error();
  EXPECT_NE(written.error().message().find("not committed"), std::string::npos);
  EXPECT_EQ(replicator->commits, 1) << "a gone-back cluster is not retried";
}

}  // namespace
}  // namespace strongroom::storage
