// Synchronous replication across real processes, with SIGKILL:
//  - the primary (a child process running a Replicator with ack mode durable) reports each write
//    that returned OK on a pipe and is killed with SIGKILL right after one returns; the DR
//    secondary (examples/rocksdr_node, its own process) is then stopped and PROMOTED here: it
//    must hold every write the primary reported (zero loss, the point of `durable`);
//  - a secondary process vanishes (SIGKILL) while writers wait for it: every writer gets its
//    answer (TimedOut, policy fail) within the timeout, nobody is left waiting, and writes are
//    confirmed again once the secondary is back;
//  - the secondary is killed (SIGKILL) right after a durable write returned: its DB, reopened,
//    holds every confirmed write (it acknowledges only what its group sync covered).
// No timed assertions: bounded waits with generous deadlines only.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/node_process.h"
#include "support/replication_pki.h"
#include "support/replicator_test_util.h"

namespace rocksdr {
namespace {

using testing::KillAndReap;
using testing::MakeSpec;
using testing::NodeBinary;
using testing::SpawnWithLog;
using testing::TempDir;
using testing::WaitFor;

constexpr char kCluster[] = "cluster-sync-p";

class SyncProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(NodeBinary()))
        << NodeBinary() << " is missing: build the rocksdr_node target";
    testing::WriteSecondaryNodeConfig(dir_, pki_, "s1", kCluster, /*heartbeat_interval_ms=*/100,
                                      /*peer_timeout_ms=*/3000);
  }
  std::vector<std::string> SecondaryArgs(uint16_t port) const {
    return {NodeBinary(), "secondary", "--db", dir_.Sub("s1"), "--config", dir_.Sub("s1.yaml"), "--cluster", kCluster,
            "--id", "s1", "--primary", "127.0.0.1:" + std::to_string(port), "--sync", "1"};
  }
  PrimaryConfig Primary() const {
    PrimaryConfig c;
    c.cluster_id = kCluster;
    c.listen_address = "127.0.0.1:0";
    c.tls = pki_.Server(kCluster);
    return c;
  }
  // In this process: a primary in ack mode durable whose writes fail after 1.5 s unconfirmed.
  std::unique_ptr<Replicator> OpenDurablePrimary() {
    PluginOptions po;
    po.ack_mode = AckMode::kDurable;
    po.ack_timeout_ms = 1500;
    po.ack_on_timeout = AckTimeoutPolicy::kFail;
    auto opened = Replicator::Open(MakeSpec(dir_.Sub("p"), po));
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (!opened.ok()) return nullptr;
    EXPECT_TRUE((*opened)->BecomePrimary(Primary()).ok());
    return std::move(*opened);
  }
  static rocksdb::Status Put(Replicator* p, const std::string& key) {
    return p->db()->Put(rocksdb::WriteOptions(), p->ColumnFamily("users"), key, "v");
  }

  TempDir dir_;
  testing::TestPki pki_;
};

// The child: a durable primary that writes key "w<i>" for i = 0, 1, ... and writes "<i>\n" to
// `out` after each write returned OK. Never returns.
[[noreturn]] void RunPrimaryChild(const std::string& path, const PrimaryConfig& config, int out) {
  PluginOptions po;
  po.ack_mode = AckMode::kDurable;
  po.ack_timeout_ms = 60000;
  po.ack_on_timeout = AckTimeoutPolicy::kFail;
  auto r = Replicator::Open(MakeSpec(path, po));
  if (!r.ok()) ::_exit(3);
  if (!(*r)->BecomePrimary(config).ok()) ::_exit(4);
  const std::string port = "port " + std::to_string((*r)->port()) + "\n";
  if (::write(out, port.data(), port.size()) != static_cast<ssize_t>(port.size())) ::_exit(5);
  for (uint64_t i = 0;; ++i) {
    const std::string key = "w" + std::to_string(i);
    rocksdb::Status s = (*r)->db()->Put(rocksdb::WriteOptions(), (*r)->ColumnFamily("users"), key, "v");
    if (!s.ok()) continue;  // not confirmed: not reported, and not required on the secondary
    const std::string line = std::to_string(i) + "\n";
    if (::write(out, line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(6);
  }
}

TEST_F(SyncProcessTest, DurableWriteSurvivesKillOfThePrimaryAndIsOnThePromotedSecondary) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const PrimaryConfig config = Primary();
  const pid_t child = ::fork();  // no thread runs in this process yet
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    RunPrimaryChild(dir_.Sub("p"), config, fds[1]);
  }
  ::close(fds[1]);
  FILE* in = ::fdopen(fds[0], "r");
  ASSERT_NE(in, nullptr);
  char line[128];
  ASSERT_NE(std::fgets(line, sizeof line, in), nullptr) << "the primary child did not start";
  unsigned port = 0;
  ASSERT_EQ(std::sscanf(line, "port %u", &port), 1) << line;

  const std::string log = dir_.Sub("s1.log");
  const pid_t secondary = SpawnWithLog(SecondaryArgs(static_cast<uint16_t>(port)), log);
  ASSERT_GT(secondary, 0);

  // Kill the primary right after its 40th confirmed write returned.
  std::set<uint64_t> returned;
  while (returned.size() < 40 && std::fgets(line, sizeof line, in) != nullptr) {
    returned.insert(std::strtoull(line, nullptr, 10));
  }
  KillAndReap(child, SIGKILL);
  // Every line still in the pipe is a write that returned before the kill: it must survive too.
  while (std::fgets(line, sizeof line, in) != nullptr) returned.insert(std::strtoull(line, nullptr, 10));
  std::fclose(in);
  ASSERT_GE(returned.size(), 40u) << "the primary stopped reporting writes; see " << log;

  // Stop the secondary (its DB is whatever it holds now) and promote it here.
  KillAndReap(secondary, SIGTERM);
  PluginOptions spo;
  spo.state_dir = dir_.Sub("s1.state");  // as the node ran it
  auto opened = Replicator::Open(MakeSpec(dir_.Sub("s1"), spo));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<Replicator> promoted = std::move(*opened);
  ASSERT_EQ(promoted->db()->role(), Role::kSecondary);
  // As a running secondary would be: attached to its (dead) primary, position kept.
  SecondaryBundle bundle;
  bundle.cluster_id = kCluster;
  bundle.secondary_id = "s1";
  bundle.primary_address = "127.0.0.1:" + std::to_string(port);
  bundle.tls = pki_.Client("s1", kCluster);
  Status st = promoted->UpdatePrimary(bundle);
  ASSERT_TRUE(st.ok()) << st.ToString();
  st = promoted->Promote(Primary());
  ASSERT_TRUE(st.ok()) << st.ToString();
  size_t missing = 0;
  for (uint64_t i : returned) {
    std::string v;
    rocksdb::Status g = promoted->db()->Get(rocksdb::ReadOptions(), promoted->ColumnFamily("users"),
                                            "w" + std::to_string(i), &v);
    if (!g.ok()) {
      ++missing;
      ADD_FAILURE() << "write w" << i << " returned OK (durable) on the killed primary but the promoted secondary "
                    << "does not have it: " << g.ToString();
      if (missing > 5) break;
    }
  }
  EXPECT_TRUE(promoted->Close().ok());
}

TEST_F(SyncProcessTest, SecondaryVanishesWhileWritersWait) {
  std::unique_ptr<Replicator> p = OpenDurablePrimary();
  ASSERT_TRUE(p != nullptr && !::testing::Test::HasFailure());
  const std::string log = dir_.Sub("s1.log");
  pid_t secondary = SpawnWithLog(SecondaryArgs(p->port()), log);
  ASSERT_GT(secondary, 0);
  auto put = [&](const std::string& k) { return Put(p.get(), k); };
  bool ok = false;
  ASSERT_TRUE(WaitFor([&] { return ok = put("first").ok(); }, std::chrono::seconds(60)))
      << "no write was ever confirmed; see " << log;

  // Writers that each write until one write is not confirmed.
  constexpr int kWriters = 4;
  std::atomic<int> confirmed{0};
  std::atomic<int> finished{0};
  std::vector<rocksdb::Status> last(kWriters);
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0;; ++i) {
        rocksdb::Status s = put("t" + std::to_string(t) + "_" + std::to_string(i));
        if (!s.ok()) {
          last[t] = s;
          break;
        }
        ++confirmed;
      }
      ++finished;
    });
  }
  ASSERT_TRUE(WaitFor([&] { return confirmed.load() >= 50; }, std::chrono::seconds(60)));
  KillAndReap(secondary, SIGKILL);
  // Every writer gets an answer: the timeout is 1.5 s, the deadline here generous.
  EXPECT_TRUE(WaitFor([&] { return finished.load() == kWriters; }, std::chrono::seconds(60)));
  for (auto& w : writers) w.join();
  for (int t = 0; t < kWriters; ++t) {
    EXPECT_TRUE(last[t].IsTimedOut()) << last[t].ToString();
    EXPECT_NE(last[t].ToString().find("NOT confirmed by 1 secondary"), std::string::npos) << last[t].ToString();
  }
  ReplicationStatus st = p->GetStatus();
  EXPECT_EQ(st.sync.writes_waiting, 0u);
  EXPECT_GE(st.sync.timeouts, static_cast<uint64_t>(kWriters));
  EXPECT_FALSE(st.sync.degraded);

  // The secondary comes back (same position): writes are confirmed again.
  secondary = SpawnWithLog(SecondaryArgs(p->port()), log);
  ASSERT_GT(secondary, 0);
  ok = false;
  EXPECT_TRUE(WaitFor([&] { return ok = put("again").ok(); }, std::chrono::seconds(60))) << "see " << log;
  KillAndReap(secondary, SIGTERM);
  EXPECT_TRUE(p->Close().ok());
}

// Group sync on the secondary: a `durable` confirmation covers only what a completed WAL sync
// covered. Writers confirm writes; the secondary is killed with SIGKILL right after one returns
// (others still in flight); its DB, reopened, holds every write that was confirmed.
TEST_F(SyncProcessTest, DurableWriteSurvivesKillOfTheSecondary) {
  std::unique_ptr<Replicator> p = OpenDurablePrimary();
  ASSERT_TRUE(p != nullptr && !::testing::Test::HasFailure());
  const std::string log = dir_.Sub("s1.log");
  const pid_t secondary = SpawnWithLog(SecondaryArgs(p->port()), log);
  ASSERT_GT(secondary, 0);
  auto put = [&](const std::string& k) { return Put(p.get(), k); };
  ASSERT_TRUE(WaitFor([&] { return put("first").ok(); }, std::chrono::seconds(60)))
      << "no write was ever confirmed; see " << log;

  // Writers write until a write is not confirmed; each keeps the keys that were.
  constexpr int kWriters = 8;
  std::atomic<int> confirmed{0};
  std::vector<std::vector<std::string>> ok(kWriters);
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0;; ++i) {
        const std::string k = "t" + std::to_string(t) + "_" + std::to_string(i);
        if (!put(k).ok()) break;
        ok[t].push_back(k);
        ++confirmed;
      }
    });
  }
  ASSERT_TRUE(WaitFor([&] { return confirmed.load() >= 200; }, std::chrono::seconds(60))) << "see " << log;
  KillAndReap(secondary, SIGKILL);
  for (auto& w : writers) w.join();  // each ends with a write that times out (1.5 s)
  EXPECT_TRUE(p->Close().ok());

  const testing::DbDump dump = testing::DumpClosedDb(dir_.Sub("s1"));
  ASSERT_TRUE(dump.count("users")) << "the secondary's DB has no column family users";
  const auto& users = dump.at("users");
  EXPECT_TRUE(users.count("first"));
  size_t checked = 0;
  size_t missing = 0;
  for (int t = 0; t < kWriters; ++t) {
    for (const std::string& k : ok[t]) {
      ++checked;
      if (users.count(k) == 0 && ++missing <= 5) {
        ADD_FAILURE() << "write " << k << " was confirmed durable but the killed secondary's DB does not have it";
      }
    }
  }
  EXPECT_EQ(missing, 0u) << "of " << checked << " confirmed writes";
  EXPECT_GE(checked, 200u);
}

}  // namespace
}  // namespace rocksdr
