// Disk full on the secondary: the secondary's DB lives on a small tmpfs (32 MiB) this test mounts
// (it needs CAP_SYS_ADMIN; without it the test is skipped and says why). While the primary's
// application writes, the tmpfs is filled to the last byte with a filler file:
//   - the secondary stops applying and its status says why: the link is NOT halted but retries
//     (primary_link.local_storage_failed, next_retry, last_error naming "No space left on
//     device" and the directory to free space on); its cursor does not move while the disk is
//     full;
//   - once the filler is removed, WITHOUT a restart, it recovers by itself (DB::Resume, then
//     reconnects), streams again and the live consistency check matches (an exact prefix);
//   - filled again, then kill -9: the DB, opened read-only, holds app/<n> keys 1..k without a
//     hole (no partial batch), and the node restarted after the space is freed reports the same
//     cursor it reported when it stopped, then streams and matches the primary again;
//   - no descriptor or child-process leak in this process.
//
// Label: fault (ctest -L fault). Bounded: every wait has a timeout.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "support/fault_cluster.h"
#include "support/node_status_json.h"
#include "support/replicator_test_util.h"
#include "support/tmpfs_mount.h"

namespace rocksdr::testing {
namespace {

// The secondary's DB opened read-only (no write, so it works on a full file system): the app/
// keys of the default column family must be exactly app/00000001..app/<k>, values value-<n>.
void ExpectContiguousAppKeys(const std::string& db_path, uint64_t* count) {
  std::vector<std::string> cf_names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), db_path, &cf_names);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& n : cf_names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  s = rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), db_path, cfs, &handles, &raw);
  ASSERT_TRUE(s.ok()) << "opening the secondary's DB read-only: " << s.ToString();
  std::unique_ptr<rocksdb::DB> db(raw);
  uint64_t expect = 1;
  {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), db->DefaultColumnFamily()));
    for (it->Seek("app/"); it->Valid() && it->key().starts_with("app/"); it->Next()) {
      char key[32];
      std::snprintf(key, sizeof(key), "app/%08llu", static_cast<unsigned long long>(expect));
      ASSERT_EQ(it->key().ToString(), key) << "a hole in the secondary's data";
      ASSERT_EQ(it->value().ToString(), "value-" + std::to_string(expect));
      ++expect;
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  *count = expect - 1;
}

// Keeps the file system full while it lives: re-fills `path` every 2 ms, so that space RocksDB
// frees (an obsolete WAL deleted by a recovery) is taken again at once and the disk stays full.
class KeepFull {
 public:
  explicit KeepFull(std::string path) : path_(std::move(path)), thread_([this] { Run(); }) {}
  ~KeepFull() {
    stop_.store(true);
    thread_.join();
  }

 private:
  void Run() {
    while (!stop_.load()) {
      int err = 0;
      FillUntilFull(path_, &err);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  const std::string path_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The secondary waits to retry after its local storage failed: not halted, the link says the
// storage failed, when the next attempt is, and names the full disk and where to free space.
bool InStorageRetry(const nlohmann::json& s, const std::string& mnt) {
  if (!s.contains("primary_link")) return false;
  const nlohmann::json& l = s["primary_link"];
  const std::string why = l.value("last_error", "");
  return !l.value("halted", true) && l.value("local_storage_failed", false) &&
         l.value("next_retry_unix_ms", int64_t{0}) > 0 && l.value("storage_retry_attempt", 0) >= 1 &&
         why.find("local storage failed") != std::string::npos &&
         why.find("No space left on device") != std::string::npos &&
         why.find("free space on " + mnt) != std::string::npos;
}

// Streams again, is an exact prefix of the primary past `cursor_stopped`, and the storage retry
// is over (not halted, no local storage failure in the status).
void ExpectConverged(FaultCluster& c, uint64_t cursor_stopped) {
  ASSERT_TRUE(c.WaitStreaming(std::chrono::seconds(90))) << c.SecondaryStatus().dump() << "\n" << c.Logs();
  auto r = c.Consistency();
  for (int retry = 0; retry < 3 && !r.ok() && r.status().message().find("moved past") != std::string::npos; ++retry) {
    r = c.Consistency();
  }
  ASSERT_TRUE(r.ok()) << r.status().ToString() << "\n" << c.Logs();
  EXPECT_TRUE(r->match) << r->ToJson("primary", "secondary").dump(2);
  EXPECT_EQ(r->a_sequence, r->b_sequence);
  EXPECT_GT(r->a_sequence, cursor_stopped);
  nlohmann::json after;
  EXPECT_TRUE(WaitFor([&] {
    after = c.SecondaryStatus();
    return after.value("state", "") == "stream-wals" && !after["primary_link"].value("local_storage_failed", true);
  })) << after.dump();
  EXPECT_FALSE(after["primary_link"].value("halted", true)) << after.dump();
}

// Param: sync_apply (true: the WAL is synced by every apply; false: by a background thread).
class DiskFull : public ::testing::TestWithParam<bool> {};

TEST_P(DiskFull, SecondaryRetriesAndConvergesOnceSpaceIsFreedWithoutRestart) {
  TempTmpfs tmpfs("32m");
  if (!tmpfs.mounted()) GTEST_SKIP() << tmpfs.SkipReason();
  const std::string& mnt = tmpfs.path();
  const size_t fds0 = FaultCluster::OpenFds();
  {
    FaultClusterOptions o;
    o.secondary_db_dir = mnt + "/db";
    o.sync_apply = GetParam();
    // Retries every 200-400 ms (limits.storage_retry_*) instead of 1 s doubling to 30 s.
    o.storage_retry_initial_ms = 200;
    o.storage_retry_max_ms = 400;
    FaultCluster c(o);
    c.Start();
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    const uint64_t written0 = AppliedCursor(c.SecondaryStatus());
    ASSERT_TRUE(WaitFor([&] { return AppliedCursor(c.SecondaryStatus()) > written0 + 200; }))
        << "the secondary does not apply\n" << c.Logs();

    // Fill the file system while the stream runs.
    int err = 0;
    int64_t filled = FillUntilFull(mnt + "/filler", &err);
    ASSERT_GE(filled, 0) << "filling the tmpfs stopped with " << std::strerror(err) << ", not ENOSPC";
    std::printf("disk full: filler took %lld bytes\n", static_cast<long long>(filled));
    auto keep_full = std::make_unique<KeepFull>(mnt + "/filler");

    // The secondary stops applying, says why, and waits to retry (it does not halt).
    nlohmann::json stopped;
    const bool said = WaitFor([&] {
      stopped = c.SecondaryStatus();
      const std::string why = StopReason(stopped);
      return why.find("No space left on device") != std::string::npos || why.find("ENOSPC") != std::string::npos;
    }, std::chrono::seconds(60));
    ASSERT_TRUE(said) << "no status names the full disk: " << stopped.dump() << "\n" << c.Logs();
    ASSERT_TRUE(WaitFor([&] { return InStorageRetry(stopped = c.SecondaryStatus(), mnt); }, std::chrono::seconds(30)))
        << "the secondary does not say it retries after the local storage failure: " << stopped.dump() << "\n"
        << c.Logs();
    std::printf("disk full: secondary status: %s (state %s, next retry %s)\n", StopReason(stopped).c_str(),
                stopped.value("state", "").c_str(), stopped["primary_link"].value("next_retry", "").c_str());
    EXPECT_EQ(stopped.value("state", ""), "local-storage-failed") << stopped.dump();
    // The configured backoff: by the fourth attempt the default would wait 8 s; the status says
    // the next attempt is at most storage_retry_max_ms away (+ jitter and scheduling slack).
    ASSERT_TRUE(WaitFor([&] {
      stopped = c.SecondaryStatus();
      return InStorageRetry(stopped, mnt) && stopped["primary_link"].value("storage_retry_attempt", 0) >= 4;
    }, std::chrono::seconds(30))) << "no fourth storage retry within 30 s: " << stopped.dump() << "\n" << c.Logs();
    {
      const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch()).count();
      EXPECT_LE(stopped["primary_link"].value("next_retry_unix_ms", int64_t{0}) - now_ms, 400 + 1000)
          << stopped.dump();
    }
    uint64_t cursor_stopped = AppliedCursor(stopped);
    ASSERT_GT(cursor_stopped, 0u);
    // The cursor stays where it is while the primary keeps writing and the retries fail.
    uint64_t primary_then = c.PrimaryStatus().value("last_sequence_written", uint64_t{0});
    ASSERT_TRUE(WaitFor([&] {
      return c.PrimaryStatus().value("last_sequence_written", uint64_t{0}) > primary_then + 100;
    })) << "the primary's application stopped writing";
    EXPECT_EQ(AppliedCursor(c.SecondaryStatus()), cursor_stopped) << "applying went on on a full disk";

    // Space freed, no restart: it recovers by itself and is an exact prefix of the primary.
    keep_full.reset();
    std::filesystem::remove(mnt + "/filler");
    ExpectConverged(c, cursor_stopped);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());

    // Full again, then kill -9 while the disk is full (a separate property): what the DB holds
    // has no hole, and the restart resumes exactly where it stopped.
    filled = FillUntilFull(mnt + "/filler", &err);
    ASSERT_GE(filled, 0) << "filling the tmpfs stopped with " << std::strerror(err) << ", not ENOSPC";
    keep_full = std::make_unique<KeepFull>(mnt + "/filler");
    ASSERT_TRUE(WaitFor([&] { return InStorageRetry(stopped = c.SecondaryStatus(), mnt); }, std::chrono::seconds(60)))
        << "the secondary does not stop on the full disk again: " << stopped.dump() << "\n" << c.Logs();
    cursor_stopped = AppliedCursor(stopped);
    primary_then = c.PrimaryStatus().value("last_sequence_written", uint64_t{0});
    ASSERT_TRUE(WaitFor([&] {
      return c.PrimaryStatus().value("last_sequence_written", uint64_t{0}) > primary_then + 100;
    })) << "the primary's application stopped writing";
    EXPECT_EQ(AppliedCursor(c.SecondaryStatus()), cursor_stopped) << "applying went on on a full disk";

    // kill -9 while the disk is full; what the DB holds has no hole.
    c.KillSecondary();
    keep_full.reset();
    uint64_t keys = 0;
    ExpectContiguousAppKeys(c.secondary_db(), &keys);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    EXPECT_GT(keys, 0u);

    // Restarted behind a partition: it reports the cursor it stopped at (nothing lost, nothing
    // half-applied counted). The file system is still full, so the node may refuse to open the
    // DB: free the space first (the filler is not the node's), then restart.
    std::filesystem::remove(mnt + "/filler");
    c.proxy().SetBlackhole(true);
    c.RestartSecondary();
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    EXPECT_EQ(AppliedCursor(c.SecondaryStatus()), cursor_stopped) << c.SecondaryStatus().dump();

    // Healed: it streams again and is an exact prefix of the primary.
    c.proxy().Heal();
    ExpectConverged(c, cursor_stopped);
    EXPECT_EQ(FaultCluster::Children(), 2u);
  }
  EXPECT_EQ(FaultCluster::Children(), 0u) << "node processes left behind";
  EXPECT_TRUE(WaitFor([&] { return FaultCluster::OpenFds() <= fds0; }, std::chrono::seconds(10)))
      << FaultCluster::OpenFds() << " descriptors open, " << fds0 << " before the cluster";
}

INSTANTIATE_TEST_SUITE_P(SyncApply, DiskFull, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "Sync" : "BackgroundSync"; });

}  // namespace
}  // namespace rocksdr::testing
