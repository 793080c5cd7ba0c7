// Replicator::Adopt (rocksdr/replicator.h): the primary runtime over a DB the application opened
// itself. It serves as a primary, refuses what would reopen the DB or install a bootstrap into
// it, and Close() deletes the adopted DB.
#include <gtest/gtest.h>

#include "rocksdr/replicator.h"
#include "rocksdr/rocksdr.h"
#include "support/replication_pki.h"
#include "support/rocksdb_test_db.h"

namespace rocksdr {
namespace {

TEST(ReplicatorAdopt, PrimaryOnlyOverAnApplicationOpenedDb) {
  testing::TempDir dir;
  testing::TestPki pki;
  rocksdb::Options options;
  options.create_if_missing = true;
  PluginOptions po;
  std::unique_ptr<ReplicatedDB> db;
  ASSERT_TRUE(Open(options, po, dir.Sub("db"), &db).ok());
  ReplicatedDB* raw = db.get();
  DbSpec spec;
  spec.path = dir.Sub("db");
  spec.plugin_options = po;
  auto adopted = Replicator::Adopt(std::move(db), spec);
  ASSERT_TRUE(adopted.ok()) << adopted.status().ToString();
  std::unique_ptr<Replicator> r = std::move(*adopted);
  EXPECT_EQ(r->db(), raw);
  EXPECT_TRUE(r->ColumnFamilyNames().empty());

  PrimaryConfig pc;
  pc.cluster_id = "adopt";
  pc.epoch = 3;
  pc.listen_address = "127.0.0.1:0";
  pc.tls = pki.Server("adopt");
  ASSERT_TRUE(r->BecomePrimary(pc).ok());
  EXPECT_NE(r->port(), 0);
  EXPECT_EQ(r->db()->role(), Role::kPrimary);
  EXPECT_EQ(r->db()->epoch(), 3u);
  EXPECT_TRUE(r->db()->Put(rocksdb::WriteOptions(), "k", "v").ok());

  SecondaryBundle b;
  b.cluster_id = "adopt";
  b.secondary_id = "s1";
  b.primary_address = "127.0.0.1:1";
  b.tls = pki.Client("s1", "adopt");
  for (const Status& s : {r->BecomeSecondary(b), r->UpdatePrimary(b), r->Promote(pc)}) {
    EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.ToString();
    EXPECT_NE(s.message().find("LD_PRELOAD / Replicator::Adopt"), std::string::npos) << s.message();
  }
  EXPECT_EQ(r->db()->role(), Role::kPrimary);  // nothing changed
  EXPECT_TRUE(r->Close().ok());
  EXPECT_EQ(r->db(), nullptr);

  // Closed for real: RocksDB opens it again (the lock was released), the write is there.
  std::unique_ptr<ReplicatedDB> again;
  ASSERT_TRUE(Open(options, po, dir.Sub("db"), &again).ok());
  std::string v;
  EXPECT_TRUE(again->Get(rocksdb::ReadOptions(), "k", &v).ok());
  EXPECT_EQ(v, "v");
}

}  // namespace
}  // namespace rocksdr
