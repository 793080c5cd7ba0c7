// Process-level crash test of the replication runtime: the primary runs in this process
// (rocksdr::Replicator, real mutual TLS on 127.0.0.1 port 0) under a steady writer; the DR
// secondary is the rocksdr_node program in its own process, killed with SIGKILL at random
// moments — during its bootstrap (a preloaded primary makes the checkpoint large enough to hit)
// and while it applies the stream — and restarted, several times.
//
// After every kill the secondary's DB (opened read-only) must hold an exact prefix of the
// writer's stream: every writer batch i puts key w<i> and adds 1 to counter "total", so
// total == T with exactly the keys w0..w(T-1) means no gap and no duplicate (a batch applied
// twice adds to total twice; a lost one leaves a hole). At the end the secondary converges and
// both DBs are dumped by `rocksdr_node dump` and compared byte for byte.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "support/node_process.h"
#include "support/replication_pki.h"
#include "support/replicator_test_util.h"

namespace rocksdr {
namespace {

using testing::DecodeU64;
using testing::EncodeU64;
using testing::KillAndReap;
using testing::NodeBinary;
using testing::SpawnWithLog;
using testing::TempDir;
using testing::WaitFor;

constexpr char kCluster[] = "cluster-p";

// Output of `rocksdr_node dump --db path`, without the cursor line.
std::string DumpWithNode(const std::string& path) {
  const std::string cmd = NodeBinary() + " dump --db '" + path + "'";
  FILE* f = ::popen(cmd.c_str(), "r");
  EXPECT_NE(f, nullptr);
  if (f == nullptr) return "";
  std::string out;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  EXPECT_EQ(::pclose(f), 0) << cmd;
  const size_t c = out.rfind("cursor\t");
  if (c != std::string::npos && (c == 0 || out[c - 1] == '\n')) out.resize(c);
  return out;
}

// Checks the exact-prefix property of the writer's stream in the (closed) secondary DB.
// Returns T (the number of writer batches it holds).
uint64_t CheckWriterPrefix(const std::string& path) {
  auto dump = testing::DumpClosedDb(path);
  const auto& counters = dump["counters"];
  const auto& users = dump["users"];
  uint64_t total = 0;
  if (auto it = counters.find("total"); it != counters.end()) total = DecodeU64(it->second);
  uint64_t w_keys = 0;
  for (const auto& [k, v] : users) {
    if (k.rfind("w", 0) == 0) ++w_keys;
  }
  EXPECT_EQ(w_keys, total) << "counter 'total' and the writer's keys disagree: a batch was applied twice or lost";
  for (uint64_t i = 0; i < total; i += std::max<uint64_t>(1, total / 97)) {
    char key[32];
    std::snprintf(key, sizeof key, "w%09llu", static_cast<unsigned long long>(i));
    EXPECT_EQ(users.count(key), 1u) << "missing " << key << " below total " << total;
  }
  return total;
}

TEST(ReplicationProcess, SecondaryKilledDuringBootstrapAndApplyConvergesExactly) {
  ASSERT_TRUE(std::filesystem::exists(NodeBinary()))
      << NodeBinary() << " is missing: build the rocksdr_node target (cmake --build <dir> --target rocksdr_node)";
  TempDir dir;
  testing::TestPki pki;
  testing::WriteSecondaryNodeConfig(dir, pki, "s1", kCluster, /*heartbeat_interval_ms=*/100, /*peer_timeout_ms=*/3000);

  ReplicatorOptions ro;
  auto opened = Replicator::Open(testing::MakeSpec(dir.Sub("p")), ro);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<Replicator> p = std::move(*opened);
  ASSERT_TRUE(p->BecomePrimary(testing::LoopbackPrimaryConfig(pki, kCluster)).ok());

  // Preload: ~24 MB of incompressible values, so a bootstrap takes long enough to be killed.
  {
    std::mt19937_64 rng(1);
    std::string value(4096, '\0');
    for (int i = 0; i < 6000; ++i) {
      for (size_t j = 0; j + 8 <= value.size(); j += 8) {
        const uint64_t r = rng();
        std::memcpy(&value[j], &r, 8);
      }
      ASSERT_TRUE(p->db()->Put(rocksdb::WriteOptions(), "bulk" + std::to_string(i), value).ok());
    }
    ASSERT_TRUE(p->db()->Flush(rocksdb::FlushOptions()).ok());
  }

  // The writer: batch i = Put(users, w<i>) + Merge(counters, total, 1) + Merge(counters, c<i%10>, 1).
  std::atomic<bool> stop_writer{false};
  std::atomic<uint64_t> written{0};
  std::thread writer([&] {
    auto* users = p->ColumnFamily("users");
    auto* counters = p->ColumnFamily("counters");
    for (uint64_t i = 0; !stop_writer.load(); ++i) {
      char key[32];
      std::snprintf(key, sizeof key, "w%09llu", static_cast<unsigned long long>(i));
      rocksdb::WriteBatch wb;
      EXPECT_TRUE(wb.Put(users, key, std::to_string(i)).ok());
      EXPECT_TRUE(wb.Merge(counters, "total", EncodeU64(1)).ok());
      EXPECT_TRUE(wb.Merge(counters, "c" + std::to_string(i % 10), EncodeU64(1)).ok());
      ASSERT_TRUE(p->db()->Write(rocksdb::WriteOptions(), &wb).ok());
      written.store(i + 1);
      if (i % 16 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });

  const std::vector<std::string> args = {NodeBinary(), "secondary", "--db", dir.Sub("s1"),
                                         "--config", dir.Sub("s1.yaml"), "--cluster", kCluster,
                                         "--id", "s1", "--primary", "127.0.0.1:" + std::to_string(p->port())};
  const std::string log = dir.Sub("s1.log");
  auto acked = [&]() -> uint64_t {
    for (const auto& s : p->GetStatus().secondaries) {
      if (s.id == "s1") return s.acked_sequence;
    }
    return 0;
  };
  auto link_state = [&]() -> std::optional<ConnectionState> {
    for (const auto& s : p->GetStatus().secondaries) {
      if (s.id == "s1") return s.state;
    }
    return std::nullopt;
  };

  std::mt19937 rng(std::random_device{}());
  int killed_bootstrapping = 0;
  int killed_streaming = 0;
  uint64_t last_total = 0;
  for (int round = 0; round < 8; ++round) {
    const bool during_bootstrap = round < 3 || (round % 2 == 0 && killed_bootstrapping == 0);
    if (during_bootstrap && last_total > 0) {
      // A secondary with a position would stream: remove its DB so that it joins (and is
      // bootstrapped) again.
      std::filesystem::remove_all(dir.Sub("s1"));
    }
    const uint64_t acked_before = acked();
    const pid_t pid = SpawnWithLog(args, log);
    ASSERT_GT(pid, 0);
    std::optional<ConnectionState> at_kill;
    if (during_bootstrap) {
      // During the bootstrap: wait for it to start, then a little more.
      WaitFor([&] { return link_state() == ConnectionState::kBootstrapping; }, std::chrono::seconds(10));
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 150));
    } else {
      // While it applies: streaming, and it acknowledged batches since it started.
      WaitFor([&] { return link_state() == ConnectionState::kStreaming && acked() > acked_before; },
              std::chrono::seconds(20));
      std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 400));
    }
    at_kill = link_state();
    int status = 0;
    ASSERT_NO_FATAL_FAILURE(KillAndReap(pid, SIGKILL, &status));
    ASSERT_TRUE(WIFSIGNALED(status)) << "the node exited by itself (status " << status << "); see " << log;
    if (at_kill == ConnectionState::kBootstrapping) ++killed_bootstrapping;
    const bool applying = at_kill == ConnectionState::kStreaming && acked() > acked_before;
    // Exact prefix after the crash (the DB may be absent or mid-install: Recover first, as the
    // node does at start, by opening it through a Replicator is not possible read-only; a crash
    // mid-install leaves <db>.ready / .staging, which the next start resolves).
    if (std::filesystem::exists(dir.Sub("s1") + "/CURRENT") && !std::filesystem::exists(dir.Sub("s1") + ".ready")) {
      const uint64_t total = CheckWriterPrefix(dir.Sub("s1"));
      if (::testing::Test::HasFailure()) break;
      last_total = total;
      if (applying && total > 0) ++killed_streaming;
    } else {
      last_total = 0;
    }
    std::printf("round %d: killed while %s, secondary holds %llu of %llu writer batches\n", round,
                at_kill == ConnectionState::kBootstrapping ? "bootstrapping"
                : applying                                 ? "applying"
                                                           : "connecting",
                static_cast<unsigned long long>(last_total), static_cast<unsigned long long>(written.load()));
  }
  EXPECT_GE(killed_bootstrapping, 1) << "no kill hit a bootstrap";
  EXPECT_GE(killed_streaming, 2) << "too few kills hit the secondary while it applied the stream";

  // Restart for good; the writer stops; the secondary converges.
  const pid_t pid = SpawnWithLog(args, log);
  ASSERT_GT(pid, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop_writer = true;
  writer.join();
  const uint64_t latest = p->db()->GetLatestSequenceNumber();
  EXPECT_TRUE(WaitFor([&] {
    for (const auto& s : p->GetStatus().secondaries) {
      if (s.id == "s1" && s.acked_sequence == latest) return true;
    }
    return false;
  }, std::chrono::seconds(60)))
      << "the secondary did not converge; see " << log;
  int status = 0;
  ASSERT_NO_FATAL_FAILURE(KillAndReap(pid, SIGTERM, &status));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  ASSERT_TRUE(p->Close().ok());

  EXPECT_EQ(CheckWriterPrefix(dir.Sub("s1")), written.load());
  const std::string primary_dump = DumpWithNode(dir.Sub("p"));
  const std::string secondary_dump = DumpWithNode(dir.Sub("s1"));
  EXPECT_GT(primary_dump.size(), 1000u);
  EXPECT_TRUE(primary_dump == secondary_dump) << "dumps differ (" << primary_dump.size() << " vs "
                                               << secondary_dump.size() << " bytes)";
}

}  // namespace
}  // namespace rocksdr
