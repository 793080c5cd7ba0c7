// ReplicatedDB: Open/Attach, refused options, role fencing, reserved column families,
// disableWAL, markers for column-family changes, persisted role/epoch/cluster id.
#include <gtest/gtest.h>
#include <rocksdb/sst_file_writer.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "../../plugin/src/replicated_db.h"
#include "../../plugin/src/reserved_cf.h"
#include "rocksdr/rocksdr.h"
#include "support/rocksdb_test_db.h"

namespace rocksdr {
namespace {

using plugin::ReplicatedDBImpl;

rocksdb::Options BaseOptions() {
  rocksdb::Options o;
  o.create_if_missing = true;
  return o;
}

bool IsSecondaryRefusal(const rocksdb::Status& s) {
  return s.IsNotSupported() && s.ToString().find("DR secondary: not serving requests until promoted") != std::string::npos;
}

class ReplicatedDBTest : public ::testing::Test {
 protected:
  void OpenDb(PluginOptions p = PluginOptions()) {
    Status s = Open(BaseOptions(), p, path_, &db_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  ReplicatedDBImpl* impl() { return ReplicatedDBImpl::From(db_.get()); }

  testing::TempDir dir_;
  std::string path_ = dir_.Sub("db");
  std::unique_ptr<ReplicatedDB> db_;
};

TEST_F(ReplicatedDBTest, OpenCreatesAndHidesReservedColumnFamilies) {
  OpenDb();
  EXPECT_EQ(db_->role(), Role::kDisabled);
  ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), "k", "v").ok());
  std::string v;
  ASSERT_TRUE(db_->Get(rocksdb::ReadOptions(), "k", &v).ok());
  EXPECT_EQ(v, "v");
  EXPECT_EQ(db_->GetDBOptions().WAL_ttl_seconds, PluginOptions().wal_ttl_seconds);
  EXPECT_EQ(db_->GetDBOptions().WAL_size_limit_MB, PluginOptions().wal_size_limit_mb);
  db_.reset();

  std::vector<std::string> cfs;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path_, &cfs).ok());
  EXPECT_NE(std::find(cfs.begin(), cfs.end(), plugin::kReplicatedCf), cfs.end());
  EXPECT_NE(std::find(cfs.begin(), cfs.end(), plugin::kLocalCf), cfs.end());

  // Reopen with an application column family: only the application's handles come back.
  std::vector<rocksdb::ColumnFamilyDescriptor> descs = {{rocksdb::kDefaultColumnFamilyName, {}}, {"app", {}}};
  rocksdb::DBOptions dbo(BaseOptions());
  dbo.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  Status s = Open(dbo, PluginOptions(), path_, descs, &handles, &db_);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(handles.size(), 2u);
  EXPECT_EQ(handles[1]->GetName(), "app");
  ASSERT_TRUE(db_->Get(rocksdb::ReadOptions(), "k", &v).ok());
  EXPECT_EQ(impl()->CfHandleById(handles[1]->GetID()), handles[1]);
  EXPECT_EQ(impl()->CfHandleById(impl()->local_cf()->GetID()), impl()->local_cf());
  for (auto* h : handles) ASSERT_TRUE(db_->DestroyColumnFamilyHandle(h).ok());
}

TEST_F(ReplicatedDBTest, ReservedNamesCannotBeListedOrCreated) {
  std::vector<rocksdb::ColumnFamilyDescriptor> descs = {{rocksdb::kDefaultColumnFamilyName, {}},
                                                        {std::string(plugin::kLocalCf), {}}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  Status s = Open(rocksdb::DBOptions(BaseOptions()), PluginOptions(), path_, descs, &handles, &db_);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("reserved"), std::string::npos);

  OpenDb();
  rocksdb::ColumnFamilyHandle* h = nullptr;
  EXPECT_TRUE(db_->CreateColumnFamily({}, std::string(plugin::kReplicatedCf), &h).IsInvalidArgument());
  EXPECT_TRUE(db_->Put(rocksdb::WriteOptions(), impl()->local_cf(), "x", "y").IsInvalidArgument());
  EXPECT_TRUE(db_->DropColumnFamily(impl()->replicated_cf()).IsInvalidArgument());
  EXPECT_TRUE(db_->DestroyColumnFamilyHandle(impl()->local_cf()).IsInvalidArgument());
  std::string v;
  EXPECT_TRUE(db_->Get(rocksdb::ReadOptions(), impl()->local_cf(), "role", &v).IsInvalidArgument());

  rocksdb::WriteBatch wb;
  ASSERT_TRUE(wb.Put("fine", "1").ok());
  ASSERT_TRUE(wb.Put(impl()->replicated_cf(), "sneaky", "1").ok());
  EXPECT_TRUE(db_->Write(rocksdb::WriteOptions(), &wb).IsInvalidArgument());
  EXPECT_TRUE(db_->Get(rocksdb::ReadOptions(), "fine", &v).IsNotFound()) << "nothing of the batch was written";

  rocksdb::WriteBatch forged;
  ASSERT_TRUE(forged.PutLogData(std::string(plugin::kMarkerPrefix) + "epoch:9:x").ok());
  rocksdb::Status ws = db_->Write(rocksdb::WriteOptions(), &forged);
  EXPECT_TRUE(ws.IsInvalidArgument());
  EXPECT_NE(ws.ToString().find("reserved for rocksdr's replication markers"), std::string::npos);
  rocksdb::WriteBatch ok_blob;
  ASSERT_TRUE(ok_blob.PutLogData("app:note").ok());
  ASSERT_TRUE(ok_blob.Put("a", "1").ok());
  EXPECT_TRUE(db_->Write(rocksdb::WriteOptions(), &ok_blob).ok());
}

TEST_F(ReplicatedDBTest, RefusesOptionsTheTailerCannotFollow) {
  struct Case {
    const char* name;
    void (*set)(rocksdb::Options*);
  } cases[] = {
      {"unordered_write", [](rocksdb::Options* o) { o->unordered_write = true; }},
      {"two_write_queues", [](rocksdb::Options* o) { o->two_write_queues = true; }},
      {"manual_wal_flush", [](rocksdb::Options* o) { o->manual_wal_flush = true; }},
      {"allow_2pc", [](rocksdb::Options* o) { o->allow_2pc = true; }},
  };
  for (const auto& c : cases) {
    rocksdb::Options o = BaseOptions();
    c.set(&o);
    Status s = Open(o, PluginOptions(), path_, &db_);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << c.name;
    EXPECT_NE(s.message().find(c.name), std::string::npos) << s.message();
    EXPECT_EQ(db_, nullptr);
  }
  rocksdb::Options o = BaseOptions();
  o.enable_pipelined_write = true;  // accepted: one WAL order, published after the WAL write
  Status s = Open(o, PluginOptions(), path_, &db_);
  EXPECT_TRUE(s.ok()) << s.ToString();

  PluginOptions bad;
  bad.max_batch_bytes = bad.max_frame_bytes + 1;
  db_.reset();
  s = Open(BaseOptions(), bad, path_, &db_);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("limits.max_batch_bytes"), std::string::npos);
}

TEST_F(ReplicatedDBTest, AStateDirThatIsAFileIsRefusedAtOpenWithWhatToDo) {
  const std::string file = dir_.Sub("not-a-dir");
  { std::ofstream(file) << "x"; }
  PluginOptions p;
  p.state_dir = file;
  Status s = Open(BaseOptions(), p, path_, &db_);
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("state_dir " + file + " exists and is not a directory"), std::string::npos) << s.message();
  EXPECT_EQ(db_, nullptr);
  EXPECT_FALSE(std::filesystem::exists(path_)) << "nothing was created";
  // The default state dir (the DB path + ".rocksdr") is checked too.
  { std::ofstream(path_ + ".rocksdr") << "x"; }
  s = Open(BaseOptions(), PluginOptions(), path_, &db_);
  EXPECT_NE(s.message().find("(the default, the DB path + \".rocksdr\")"), std::string::npos) << s.message();
  std::filesystem::remove(path_ + ".rocksdr");
  OpenDb();
}

TEST_F(ReplicatedDBTest, AttachChecksRetentionAndOptions) {
  rocksdb::Options o = BaseOptions();
  o.create_missing_column_families = true;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(o, path_, &raw).ok());
  PluginOptions p;
  std::unique_ptr<ReplicatedDB> out;
  Status s = Attach(raw, {}, p, &out);  // WAL_ttl_seconds = WAL_size_limit_MB = 0
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("WAL_ttl_seconds"), std::string::npos) << s.message();
  delete raw;  // the caller still owns it after a failed Attach

  o.WAL_ttl_seconds = 60;  // less than the default 86400
  ASSERT_TRUE(rocksdb::DB::Open(o, path_, &raw).ok());
  s = Attach(raw, {}, p, &out);
  EXPECT_NE(s.message().find("WAL_ttl_seconds=60 keeps less WAL than wal_retention.ttl_seconds=86400"),
            std::string::npos)
      << s.message();
  delete raw;

  o.WAL_ttl_seconds = p.wal_ttl_seconds;
  o.WAL_size_limit_MB = 0;  // unbounded size: more than asked
  ASSERT_TRUE(rocksdb::DB::Open(o, path_, &raw).ok());
  s = Attach(raw, {}, p, &out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(out->Put(rocksdb::WriteOptions(), "a", "1").ok());
  EXPECT_FALSE(out->GetReplicationStatus().listener_attached);
  out.reset();

  // Second attach: the reserved column families exist now; the application opens them and
  // hands their handles over.
  std::vector<rocksdb::ColumnFamilyDescriptor> descs = {{rocksdb::kDefaultColumnFamilyName, {}},
                                                        {std::string(plugin::kReplicatedCf), {}},
                                                        {std::string(plugin::kLocalCf), {}}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(o), path_, descs, &handles, &raw).ok());
  s = Attach(raw, handles, p, &out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ReplicatedDBImpl::From(out.get())->local_cf(), handles[2]);
  ASSERT_TRUE(out->DestroyColumnFamilyHandle(handles[0]).ok());
  std::string v;
  ASSERT_TRUE(out->Get(rocksdb::ReadOptions(), "a", &v).ok());
}

TEST_F(ReplicatedDBTest, SecondaryRefusesEveryApplicationRequest) {
  OpenDb();
  ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), "k", "v").ok());
  rocksdb::ColumnFamilyHandle* app = nullptr;
  ASSERT_TRUE(db_->CreateColumnFamily({}, "app", &app).ok());
  ASSERT_TRUE(impl()->SetRole(Role::kSecondary, 3, "cluster-1").ok());
  EXPECT_EQ(db_->role(), Role::kSecondary);

  const rocksdb::WriteOptions wo;
  const rocksdb::ReadOptions ro;
  std::string v;
  EXPECT_TRUE(IsSecondaryRefusal(db_->Put(wo, "k", "x")));
  EXPECT_TRUE(IsSecondaryRefusal(db_->Put(wo, app, "k", "x")));
  EXPECT_TRUE(IsSecondaryRefusal(db_->Delete(wo, "k")));
  EXPECT_TRUE(IsSecondaryRefusal(db_->SingleDelete(wo, "k")));
  EXPECT_TRUE(IsSecondaryRefusal(db_->DeleteRange(wo, db_->DefaultColumnFamily(), "a", "z")));
  EXPECT_TRUE(IsSecondaryRefusal(db_->Merge(wo, "k", "x")));
  rocksdb::WriteBatch wb;
  ASSERT_TRUE(wb.Put("k", "x").ok());
  EXPECT_TRUE(IsSecondaryRefusal(db_->Write(wo, &wb)));
  EXPECT_TRUE(IsSecondaryRefusal(db_->Get(ro, "k", &v)));
  EXPECT_TRUE(IsSecondaryRefusal(db_->Get(ro, app, "k", &v)));
  std::vector<std::string> values;
  for (const auto& st : db_->MultiGet(ro, {rocksdb::Slice("k")}, &values)) EXPECT_TRUE(IsSecondaryRefusal(st));
  rocksdb::Slice keys[1] = {"k"};
  rocksdb::PinnableSlice pvals[1];
  rocksdb::Status statuses[1];
  db_->MultiGet(ro, db_->DefaultColumnFamily(), 1, keys, pvals, statuses);
  EXPECT_TRUE(IsSecondaryRefusal(statuses[0]));
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(IsSecondaryRefusal(it->status()));
  std::vector<rocksdb::Iterator*> its;
  EXPECT_TRUE(IsSecondaryRefusal(db_->NewIterators(ro, {db_->DefaultColumnFamily()}, &its)));
  EXPECT_EQ(db_->GetSnapshot(), nullptr);
  bool found = true;
  EXPECT_TRUE(db_->KeyMayExist(ro, "k", &v, &found));
  EXPECT_FALSE(found);
  rocksdb::ColumnFamilyHandle* h = nullptr;
  EXPECT_TRUE(IsSecondaryRefusal(db_->CreateColumnFamily({}, "other", &h)));
  EXPECT_TRUE(IsSecondaryRefusal(db_->DropColumnFamily(app)));
  EXPECT_TRUE(IsSecondaryRefusal(db_->IngestExternalFile({dir_.Sub("x.sst")}, {})));
  EXPECT_TRUE(IsSecondaryRefusal(db_->DeleteFile("000001.sst")));
  EXPECT_NE(db_->Put(wo, "k", "x").ToString().find("epoch=3"), std::string::npos);

  // The applier writes through the base DB.
  ASSERT_TRUE(impl()->base()->Put(wo, "applied", "1").ok());

  ASSERT_TRUE(impl()->SetRole(Role::kPrimary, 4, "cluster-1").ok());
  ASSERT_TRUE(db_->Get(ro, "applied", &v).ok());
  EXPECT_EQ(v, "1");
  EXPECT_TRUE(db_->Put(wo, app, "k", "x").ok());
  ASSERT_TRUE(db_->DestroyColumnFamilyHandle(app).ok());
}

TEST_F(ReplicatedDBTest, DisableWalRefusedOnPrimaryOnly) {
  OpenDb();
  rocksdb::WriteOptions nowal;
  nowal.disableWAL = true;
  EXPECT_TRUE(db_->Put(nowal, "k", "v").ok()) << "disabled role: plain RocksDB";
  ASSERT_TRUE(impl()->SetRole(Role::kPrimary, 1, "c").ok());
  rocksdb::Status s = db_->Put(nowal, "k", "v2");
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.ToString().find("disableWAL is refused on a DR primary"), std::string::npos) << s.ToString();
  rocksdb::WriteBatch wb;
  ASSERT_TRUE(wb.Put("k", "v3").ok());
  EXPECT_TRUE(db_->Write(nowal, &wb).IsInvalidArgument());
  EXPECT_TRUE(db_->Delete(nowal, "k").IsInvalidArgument());
  std::string v;
  ASSERT_TRUE(db_->Get(rocksdb::ReadOptions(), "k", &v).ok());
  EXPECT_EQ(v, "v");
}

TEST_F(ReplicatedDBTest, PrimaryRefusesWritesThatBypassTheWal) {
  OpenDb();
  ASSERT_TRUE(impl()->SetRole(Role::kPrimary, 1, "c").ok());
  rocksdb::Status s = db_->DeleteFile("000001.sst");
  EXPECT_TRUE(s.IsNotSupported());
  EXPECT_NE(s.ToString().find("DeleteFile is refused on a DR primary"), std::string::npos);
  rocksdb::ColumnFamilyHandle* h = nullptr;
  s = db_->CreateColumnFamilyWithImport({}, "imp", {}, {}, &h);
  EXPECT_TRUE(s.IsNotSupported());
}

TEST_F(ReplicatedDBTest, RoleEpochAndClusterIdSurviveReopen) {
  OpenDb();
  EXPECT_EQ(db_->epoch(), 0u);
  ASSERT_TRUE(impl()->SetRole(Role::kPrimary, 7, "3f2a-bc").ok());
  EXPECT_EQ(impl()->SetRole(Role::kPrimary, 6, "3f2a-bc").code(), Code::kFailedPrecondition);
  EXPECT_EQ(impl()->SetRole(Role::kPrimary, 8, "bad id!").code(), Code::kInvalidArgument);
  db_.reset();

  PluginOptions p;
  p.role = Role::kSecondary;  // only used when nothing is persisted
  OpenDb(p);
  EXPECT_EQ(db_->role(), Role::kPrimary);
  EXPECT_EQ(db_->epoch(), 7u);
  EXPECT_EQ(db_->cluster_id(), "3f2a-bc");

  ASSERT_TRUE(impl()->SetRole(Role::kSecondary, 8, "3f2a-bc").ok());
  db_.reset();
  OpenDb();
  EXPECT_EQ(db_->role(), Role::kSecondary);
  EXPECT_EQ(db_->epoch(), 8u);
  EXPECT_TRUE(IsSecondaryRefusal(db_->Put(rocksdb::WriteOptions(), "k", "v")));
  ReplicationStatus st = db_->GetReplicationStatus();
  EXPECT_EQ(st.role, Role::kSecondary);
  EXPECT_EQ(st.epoch, 8u);
  EXPECT_EQ(st.cluster_id, "3f2a-bc");
  EXPECT_FALSE(st.last_sequence_applied.has_value());

  // The applier's cursor is read back from kLocalCf.
  ASSERT_TRUE(impl()->base()->Put(rocksdb::WriteOptions(), impl()->local_cf(), plugin::kLocalKeyCursor,
                                  testing::EncodeU64(42)).ok());
  Result<std::optional<uint64_t>> cursor = impl()->state_store()->ReadCursor();
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(cursor->value_or(0), 42u);
  EXPECT_EQ(db_->GetReplicationStatus().last_sequence_applied.value_or(0), 42u);
}

TEST_F(ReplicatedDBTest, FreshNodeTakesTheConfiguredRole) {
  PluginOptions p;
  p.role = Role::kSecondary;
  OpenDb(p);
  EXPECT_EQ(db_->role(), Role::kSecondary);
  EXPECT_TRUE(IsSecondaryRefusal(db_->Put(rocksdb::WriteOptions(), "k", "v")));
}

TEST_F(ReplicatedDBTest, StatusReportsTheWalWindow) {
  OpenDb();
  ASSERT_TRUE(impl()->SetRole(Role::kPrimary, 1, "c").ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), "k" + std::to_string(i), "v").ok());
  ReplicationStatus st = db_->GetReplicationStatus();
  EXPECT_EQ(st.role, Role::kPrimary);
  EXPECT_TRUE(st.listener_attached);
  EXPECT_EQ(st.last_sequence_written, db_->GetLatestSequenceNumber());
  EXPECT_EQ(st.wal.latest_sequence, st.last_sequence_written);
  EXPECT_EQ(st.wal.oldest_sequence, 1u);
  EXPECT_GE(st.wal.file_count, 1u);
  EXPECT_GT(st.wal.total_bytes, 0u);
  EXPECT_EQ(st.wal.ttl_seconds, 86400u);
  EXPECT_EQ(st.wal.size_limit_mb, 10240u);
}

}  // namespace
}  // namespace rocksdr
