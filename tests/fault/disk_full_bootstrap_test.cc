// Disk full during a bootstrap of the secondary: its DB (and the bootstrap's staging directory
// next to it) live on a 32 MiB tmpfs this test mounts (needs CAP_SYS_ADMIN; skipped otherwise).
// The secondary streams, the primary's application writes; then the tmpfs is kept full (a filler
// re-fills it every few ms) and the secondary is re-joined (wiped, bootstrapped from the primary):
//   - the bootstrap fails and the status says why (No space left on device, where to free space,
//     when the next attempt is), the node stays up and the link is NOT halted: it retries;
//   - nothing partial is installed: the secondary holds no cursor and is not streaming;
//   - once the filler is removed, WITHOUT a restart, a later attempt bootstraps afresh and
//     completes, it streams, the consistency check finds it an exact prefix of the primary, and
//     no staging directory is left.
// Label: fault. Bounded: every wait has a timeout.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include "support/fault_cluster.h"
#include "support/node_status_json.h"
#include "support/replicator_test_util.h"
#include "support/tmpfs_mount.h"

namespace rocksdr::testing {
namespace {

TEST(DiskFullBootstrap, FailsCleanlyRetriesAndCompletesOnceSpaceIsFreedWithoutRestart) {
  TempTmpfs tmpfs("32m");
  if (!tmpfs.mounted()) GTEST_SKIP() << tmpfs.SkipReason();
  const std::string& mnt = tmpfs.path();
  FaultClusterOptions o;
  o.secondary_db_dir = mnt + "/db";
  FaultCluster c(o);
  c.Start();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  const uint64_t applied0 = AppliedCursor(c.SecondaryStatus());
  ASSERT_TRUE(WaitFor([&] { return AppliedCursor(c.SecondaryStatus()) > applied0 + 500; })) << c.Logs();

  // Re-join the secondary through a slow link (the bootstrap's transfer takes seconds), then keep
  // the file system full while the bootstrap writes.
  c.proxy().SetBandwidth(32 * 1024);
  c.RejoinSecondary();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  std::atomic<bool> stop{false};
  std::thread filler([&] {
    int n = 0;
    while (!stop.load()) {
      int err = 0;
      FillUntilFull(mnt + "/filler" + std::to_string(n++ % 4), &err);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  struct Join {
    std::atomic<bool>* stop;
    std::thread* t;
    ~Join() {
      stop->store(true);
      if (t->joinable()) t->join();
    }
  } join{&stop, &filler};

  nlohmann::json failed;
  const bool said = WaitFor([&] {
    failed = c.SecondaryStatus();
    const nlohmann::json& l = failed["primary_link"];
    const std::string why = l.value("last_error", "");
    return !l.value("halted", true) && l.value("local_storage_failed", false) &&
           l.value("next_retry_unix_ms", int64_t{0}) > 0 && why.find("No space left on device") != std::string::npos &&
           why.find("free space on " + mnt) != std::string::npos;
  }, std::chrono::seconds(60));
  std::printf("disk full during bootstrap: status %s\n", failed.dump().c_str());
  ASSERT_TRUE(said) << "no status names the full disk: " << failed.dump() << "\n" << c.Logs();
  EXPECT_NE(failed.value("state", ""), "stream-wals") << failed.dump();
  EXPECT_EQ(::kill(c.secondary_pid(), 0), 0) << "the secondary's application died on the full disk\n" << c.Logs();
  // Nothing partial is installed: no position, and the link waits to retry (it says so) rather
  // than streaming from a half-written checkpoint.
  EXPECT_TRUE(failed["last_sequence_applied"].is_null()) << failed.dump();
  EXPECT_FALSE(failed["primary_link"].value("halted", true)) << failed.dump();
  std::printf("disk full during bootstrap: staging directory %s after the failure\n",
              std::filesystem::exists(c.secondary_db() + ".staging") ? "still present" : "removed");

  // Space freed: a bootstrap completes and the secondary is an exact prefix of the primary.
  stop.store(true);
  filler.join();
  for (int i = 0; i < 4; ++i) std::filesystem::remove(mnt + "/filler" + std::to_string(i));
  c.proxy().Heal();
  // No restart: the next attempt (no position, so a fresh bootstrap) completes by itself.
  ASSERT_TRUE(WaitFor([&] {
    const nlohmann::json s = c.SecondaryStatus();
    return s.value("state", "") == "stream-wals" && s["bootstrap"].value("files_done", uint64_t{0}) > 0 &&
           s["bootstrap"].value("files_done", uint64_t{0}) == s["bootstrap"].value("files_total", uint64_t{1});
  }, std::chrono::seconds(90))) << c.SecondaryStatus().dump() << "\n" << c.Logs();
  auto r = c.Consistency();
  for (int retry = 0; retry < 3 && (!r.ok() || !r->match); ++retry) r = c.Consistency();
  ASSERT_TRUE(r.ok()) << r.status().ToString() << "\n" << c.Logs();
  EXPECT_TRUE(r->match) << r->ToJson("primary", "secondary").dump(2);
  EXPECT_FALSE(std::filesystem::exists(c.secondary_db() + ".staging")) << "a staging directory was left behind";
  const nlohmann::json after = c.SecondaryStatus();
  EXPECT_FALSE(after["primary_link"].value("halted", true)) << after.dump();
  EXPECT_FALSE(after["primary_link"].value("local_storage_failed", true)) << after.dump();
}

}  // namespace
}  // namespace rocksdr::testing
