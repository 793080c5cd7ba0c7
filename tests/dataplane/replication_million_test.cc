// One million mixed operations replicated to two DR secondaries running as separate processes
// (examples/rocksdr_node) over mutual TLS on 127.0.0.1, then compared key by key and value by
// value in every column family.
//
// The primary runs in this process (rocksdr::Replicator) so the test drives it directly:
//  phase 1  200k operations (Put, Delete, SingleDelete, Merge uint64 counters, DeleteRange over
//           "default", "users", "counters"); the secondaries join (bootstrap) and follow;
//  ingest   an SST file ingested into "users": not in the WAL, so the primary re-bootstraps
//           both secondaries (automatically: the default auto_rebootstrap); the test waits for
//           both to stream again, and the primary's status names the ingestion;
//  phase 2  1,000,000 more operations, all shipped as WAL batches, with column family "late"
//           created halfway (an in-band marker) and written from then on.
// Operations are grouped 1..15 per WriteBatch (8 on average). At the end the secondaries are
// stopped (SIGTERM) once both acknowledged the primary's last sequence, and the three DBs are
// dumped and compared.
#include <gtest/gtest.h>
#include <rocksdb/sst_file_writer.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

#include "support/node_process.h"
#include "support/replication_pki.h"
#include "support/replicator_test_util.h"

namespace rocksdr {
namespace {

using testing::DiffDumps;
using testing::DumpClosedDb;
using testing::EncodeU64;
using testing::NodeBinary;
using testing::SpawnWithLog;
using testing::TempDir;
using testing::WaitFor;

constexpr char kCluster[] = "cluster-m";

// The workload: `ops` operations from `rng`, in WriteBatches of 1..15. Counts what it wrote.
struct Workload {
  std::mt19937_64 rng{20261126};
  uint64_t ops = 0;
  uint64_t batches = 0;
  uint64_t single_deletes = 0;
  uint64_t delete_ranges = 0;
  uint64_t merges = 0;
  uint64_t next_once = 0;     // keys "once<n>": put once, single-deleted later
  uint64_t next_to_sd = 0;
  rocksdb::ColumnFamilyHandle* late = nullptr;  // created by the caller midway; ours to destroy

  std::string Key(const char* prefix, uint64_t range) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%06llu", prefix, static_cast<unsigned long long>(rng() % range));
    return buf;
  }

  void Run(Replicator* p, uint64_t n, const std::function<void(uint64_t done)>& at_each_batch) {
    ReplicatedDB* db = p->db();
    rocksdb::ColumnFamilyHandle* def = db->DefaultColumnFamily();
    rocksdb::ColumnFamilyHandle* users = p->ColumnFamily("users");
    rocksdb::ColumnFamilyHandle* counters = p->ColumnFamily("counters");
    const uint64_t end = ops + n;
    while (ops < end) {
      rocksdb::WriteBatch wb;
      const uint64_t in_batch = std::min<uint64_t>(1 + rng() % 15, end - ops);
      for (uint64_t i = 0; i < in_batch; ++i) {
        const unsigned r = rng() % 100;
        rocksdb::ColumnFamilyHandle* cf = (late != nullptr && r % 3 == 0) ? late : (r % 5 == 0 ? def : users);
        rocksdb::Status s;
        if (r < 35) {
          s = wb.Put(cf, Key("k", 100000), "v" + std::to_string(rng() % 1000000));
        } else if (r < 50) {
          s = wb.Delete(cf, Key("k", 100000));
        } else if (r < 58) {
          // SingleDelete only for keys written exactly once: "once<n>" put here, deleted later.
          if (next_to_sd < next_once && rng() % 2 == 0) {
            s = wb.SingleDelete(users, "once" + std::to_string(next_to_sd++));
            ++single_deletes;
          } else {
            s = wb.Put(users, "once" + std::to_string(next_once++), "x");
          }
        } else if (r < 90) {
          s = wb.Merge(r % 4 == 0 && late != nullptr ? late : counters, Key("c", 1000), EncodeU64(1 + rng() % 9));
          ++merges;
        } else if (r < 91) {
          const std::string a = Key("k", 100000);
          s = wb.DeleteRange(cf, a, a.substr(0, 5) + "~");  // up to 10 keys
          ++delete_ranges;
        } else {
          s = wb.Put(cf, Key("k", 100000), std::string(16 + rng() % 48, static_cast<char>('a' + r % 26)));
        }
        ASSERT_TRUE(s.ok()) << s.ToString();
      }
      rocksdb::Status w = db->Write(rocksdb::WriteOptions(), &wb);
      ASSERT_TRUE(w.ok()) << w.ToString();
      ops += in_batch;
      ++batches;
      if (at_each_batch) at_each_batch(ops);
    }
  }
};

TEST(ReplicationMillion, MixedOperationsToTwoSecondaryProcessesCompareExactly) {
  ASSERT_TRUE(std::filesystem::exists(NodeBinary()))
      << NodeBinary() << " is missing: build the rocksdr_node target (cmake --build <dir> --target rocksdr_node)";
  TempDir dir;
  testing::TestPki pki;
  for (const std::string id : {"s1", "s2"}) {
    testing::WriteSecondaryNodeConfig(dir, pki, id, kCluster, /*heartbeat_interval_ms=*/200, /*peer_timeout_ms=*/5000);
  }

  auto opened = Replicator::Open(testing::MakeSpec(dir.Sub("p")), ReplicatorOptions());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<Replicator> p = std::move(*opened);
  ASSERT_TRUE(p->BecomePrimary(testing::LoopbackPrimaryConfig(pki, kCluster)).ok());

  std::vector<pid_t> pids;
  for (const std::string id : {"s1", "s2"}) {
    const pid_t pid = SpawnWithLog({NodeBinary(), "secondary", "--db", dir.Sub(id), "--config", dir.Sub(id + ".yaml"),
                             "--cluster", kCluster, "--id", id, "--primary", "127.0.0.1:" + std::to_string(p->port()),
                             "--sync", "0"},
                            dir.Sub(id + ".log"));
    ASSERT_GT(pid, 0);
    pids.push_back(pid);
  }
  auto kill_all = [&](int sig) {
    for (pid_t pid : pids) ::kill(pid, sig);
  };
  struct Reaper {
    std::function<void()> f;
    ~Reaper() { f(); }
  } reaper{[&] {
    for (pid_t pid : pids) {
      if (::kill(pid, 0) == 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
  }};
  auto secondary = [&](const std::string& id) -> std::optional<SecondaryStatus> {
    for (const auto& s : p->GetSecondaryStatus()) {
      if (s.id == id) return s;
    }
    return std::nullopt;
  };
  auto both_acked = [&](uint64_t seq) {
    for (const char* id : {"s1", "s2"}) {
      auto s = secondary(id);
      if (!s || s->acked_sequence < seq || s->state != ConnectionState::kStreaming) return false;
    }
    return true;
  };

  const auto t0 = std::chrono::steady_clock::now();
  Workload w;
  w.Run(p.get(), 200000, nullptr);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  const uint64_t phase1_end = p->db()->GetLatestSequenceNumber();
  ASSERT_TRUE(WaitFor([&] { return both_acked(phase1_end); }, std::chrono::seconds(120)))
      << "the secondaries did not follow phase 1; see " << dir.Sub("s1.log") << " / s2.log";

  // The ingestion: both secondaries must be re-bootstrapped.
  {
    const std::string sst = dir.Sub("ingest.sst");
    rocksdb::SstFileWriter writer{rocksdb::EnvOptions(), rocksdb::Options()};
    ASSERT_TRUE(writer.Open(sst).ok());
    for (int i = 0; i < 20000; ++i) {
      char k[32];
      std::snprintf(k, sizeof k, "ingested%06d", i);
      ASSERT_TRUE(writer.Put(k, "from-sst-" + std::to_string(i)).ok());
    }
    ASSERT_TRUE(writer.Finish().ok());
    rocksdb::Status s =
        p->db()->IngestExternalFile(p->ColumnFamily("users"), {sst}, rocksdb::IngestExternalFileOptions());
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  const uint64_t ingested_at = p->db()->GetLatestSequenceNumber();
  ASSERT_TRUE(WaitFor([&] { return both_acked(ingested_at); }, std::chrono::seconds(120)))
      << "the secondaries were not re-bootstrapped after the ingestion";
  for (const char* id : {"s1", "s2"}) {
    auto s = secondary(id);
    ASSERT_TRUE(s.has_value());
    EXPECT_NE(s->needs_bootstrap_reason.find("external file ingestion"), std::string::npos)
        << id << ": " << s->needs_bootstrap_reason;
  }
  EXPECT_EQ(p->GetStatus().external_ingestions, 1u);

  // Phase 2: one million operations through the WAL stream; "late" is created halfway.
  const uint64_t phase2_start = w.ops;
  w.Run(p.get(), 1000000, [&](uint64_t done) {
    if (done - phase2_start >= 500000 && w.late == nullptr) {
      ASSERT_TRUE(p->db()->CreateColumnFamily(testing::CounterCfOptions("late"), "late", &w.late).ok());
    }
  });
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  const uint64_t latest = p->db()->GetLatestSequenceNumber();
  const auto t_written = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor([&] { return both_acked(latest); }, std::chrono::seconds(180)))
      << "the secondaries did not converge; see " << dir.Sub("s1.log") << " / s2.log";
  const auto t_caught_up = std::chrono::steady_clock::now();
  std::printf("%llu operations in %llu batches (%llu merges, %llu single deletes, %llu range deletes); "
              "written in %.1f s, both secondaries at sequence %llu after %.1f s\n",
              static_cast<unsigned long long>(w.ops), static_cast<unsigned long long>(w.batches),
              static_cast<unsigned long long>(w.merges), static_cast<unsigned long long>(w.single_deletes),
              static_cast<unsigned long long>(w.delete_ranges),
              std::chrono::duration<double>(t_written - t0).count(), static_cast<unsigned long long>(latest),
              std::chrono::duration<double>(t_caught_up - t0).count());
  EXPECT_GE(w.ops - phase2_start, 1000000u);

  kill_all(SIGTERM);
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  }
  pids.clear();
  ASSERT_TRUE(p->db()->DestroyColumnFamilyHandle(w.late).ok());
  ASSERT_TRUE(p->Close().ok());

  const auto primary = DumpClosedDb(dir.Sub("p"));
  ASSERT_EQ(primary.count("late"), 1u);
  EXPECT_GT(primary.at("late").size(), 1000u);
  EXPECT_GT(primary.at("counters").size(), 900u);
  EXPECT_EQ(primary.at("users").count("ingested019999"), 1u);
  EXPECT_EQ(DiffDumps(primary, DumpClosedDb(dir.Sub("s1"))), "");
  EXPECT_EQ(DiffDumps(primary, DumpClosedDb(dir.Sub("s2"))), "");
}

}  // namespace
}  // namespace rocksdr
