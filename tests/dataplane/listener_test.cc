// The `rocksdr` EventListener: found by id through RocksDB's ObjectLibrary (also from an
// options string), attached by Open, and recording ingestions, flushes and background errors.
#include <gtest/gtest.h>
#include <rocksdb/convenience.h>
#include <rocksdb/listener.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/utilities/options_util.h>

#include "../../plugin/src/listener.h"
#include "../../plugin/src/replicated_db.h"
#include "rocksdr/rocksdr.h"
#include "support/rocksdb_test_db.h"

namespace rocksdr {
namespace {

TEST(RocksdrListener, CreatedFromItsId) {
  rocksdb::ConfigOptions config;
  std::shared_ptr<rocksdb::EventListener> l;
  rocksdb::Status s = rocksdb::EventListener::CreateFromString(config, "rocksdr", &l);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_NE(l, nullptr);
  EXPECT_STREQ(l->Name(), "rocksdr");
  EXPECT_NE(std::dynamic_pointer_cast<plugin::RocksdrListener>(l), nullptr);

  s = rocksdb::EventListener::CreateFromString(config, "id=rocksdr", &l);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_STREQ(l->Name(), "rocksdr");

  // An unknown id is not found (so the test above cannot pass by accident).
  config.ignore_unsupported_options = false;
  EXPECT_FALSE(rocksdb::EventListener::CreateFromString(config, "rocksdr-nope", &l).ok());
}

TEST(RocksdrListener, ResolvedFromAnOptionsString) {
  rocksdb::ConfigOptions config;
  rocksdb::DBOptions out;
  rocksdb::Status s = rocksdb::GetDBOptionsFromString(config, rocksdb::DBOptions(), "listeners={id=rocksdr}", &out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(out.listeners.size(), 1u);
  EXPECT_STREQ(out.listeners[0]->Name(), "rocksdr");
  EXPECT_NE(plugin::FindRocksdrListener(out), nullptr);
}

TEST(RocksdrListener, RegistersIntoAnyLibrary) {
  auto library = std::make_shared<rocksdb::ObjectLibrary>("test");
  EXPECT_EQ(RegisterObjects(*library, ""), 1);
  auto registry = rocksdb::ObjectRegistry::NewInstance();
  registry->AddLibrary(library);
  std::unique_ptr<rocksdb::EventListener> guard;
  rocksdb::EventListener* l = nullptr;
  rocksdb::Status s = registry->NewObject<rocksdb::EventListener>("rocksdr", &l, &guard);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_STREQ(l->Name(), "rocksdr");
}

TEST(RocksdrListener, OpenAttachesItAndItRecordsEvents) {
  testing::TempDir dir;
  rocksdb::Options o;
  o.create_if_missing = true;
  std::unique_ptr<ReplicatedDB> db;
  ASSERT_TRUE(Open(o, PluginOptions(), dir.Sub("db"), &db).ok());
  auto* impl = plugin::ReplicatedDBImpl::From(db.get());
  auto listener = plugin::FindRocksdrListener(db->GetDBOptions());
  ASSERT_NE(listener, nullptr);
  EXPECT_EQ(listener->events(), impl->events());

  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "k", "v").ok());
  ASSERT_TRUE(db->Flush(rocksdb::FlushOptions()).ok());
  EXPECT_GE(impl->events()->flushes(), 1u);

  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "k", "v2").ok());
  const std::string sst = dir.Sub("in.sst");
  rocksdb::SstFileWriter w(rocksdb::EnvOptions(), o);
  ASSERT_TRUE(w.Open(sst).ok());
  ASSERT_TRUE(w.Put("k", "ingested").ok());
  ASSERT_TRUE(w.Finish().ok());
  const uint64_t before = db->GetLatestSequenceNumber();
  ASSERT_TRUE(impl->base()->IngestExternalFile({sst}, rocksdb::IngestExternalFileOptions()).ok());
  EXPECT_EQ(db->GetReplicationStatus().external_ingestions, 1u);
  EXPECT_TRUE(impl->events()->IngestionBetween(before + 1, db->GetLatestSequenceNumber()));
  EXPECT_FALSE(impl->events()->IngestionBetween(1, before));

  rocksdb::Status bg = rocksdb::Status::IOError("disk on fire");
  listener->OnBackgroundError(rocksdb::BackgroundErrorReason::kFlush, &bg);
  EXPECT_NE(db->GetReplicationStatus().background_error.find("disk on fire"), std::string::npos);
}

}  // namespace
}  // namespace rocksdr
