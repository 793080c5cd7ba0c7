// The replication runtime in one process over real mutual TLS on 127.0.0.1 (port 0): a primary
// and two secondaries built with rocksdr::Replicator, each on its own DB.
//  - mixed operations (Put, Delete, SingleDelete, Merge counters, DeleteRange, a batch over
//    several column families, a column family created midway) reach both secondaries, compared
//    key by key in every column family; secondaries refuse application requests;
//  - the WAL purged past a stopped secondary: on restart it is re-bootstrapped automatically
//    (the primary's status says "WAL gap"), then converges;
//  - promotion: a secondary promoted gets epoch + 1 and accepts writes; the other secondary
//    follows it; pointed at the old primary (older epoch) it is refused and the old primary
//    fences itself (writes refused, status says why), and stays fenced across a restart;
//  - a secondary holding a WAL tail the primary lost in a crash is bootstrapped, not streamed;
//  - two sites promoted to the same epoch: a secondary of one, pointed at the other, is
//    bootstrapped (the history ids differ), not streamed onto a history it does not hold;
//  - a flood of connections that never finish the TLS handshake, from several addresses, does not
//    keep secondaries out, and the server keeps at most 4 of them per address and 32 in all.
#include <gtest/gtest.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <thread>

#include "../../plugin/src/replicated_db.h"
#include "support/idle_connection.h"
#include "support/replicator_cluster_test.h"
#include "support/replicator_test_util.h"

namespace rocksdr {
namespace {

using testing::DiffDumps;
using testing::DumpClosedDb;
using testing::EncodeU64;
using testing::WaitFor;
using testing::ClosedByPeer;
using testing::ConnectFrom;

constexpr char kCluster[] = "cluster-a";

class ReplicatorTest : public testing::ReplicatorClusterTest {
 protected:
  ReplicatorTest() : ReplicatorClusterTest(kCluster) {}
};

// A mixed workload of `n` operations on the primary; creates column family "late" at n/2.
void MixedWorkload(Replicator* p, int n, uint32_t seed, rocksdb::ColumnFamilyHandle** late) {
  std::mt19937 rng(seed);
  ReplicatedDB* db = p->db();
  auto* users = p->ColumnFamily("users");
  auto* counters = p->ColumnFamily("counters");
  const rocksdb::WriteOptions wo;
  for (int i = 0; i < n; ++i) {
    if (i == n / 2 && *late == nullptr) {
      ASSERT_TRUE(db->CreateColumnFamily(testing::CounterCfOptions("late"), "late", late).ok());
    }
    const std::string k = "k" + std::to_string(rng() % 500);
    switch (rng() % 8) {
      case 0: ASSERT_TRUE(db->Put(wo, users, k, "v" + std::to_string(i)).ok()); break;
      case 1: ASSERT_TRUE(db->Delete(wo, users, k).ok()); break;
      case 2: {
        // SingleDelete is only defined for keys written once: use a fresh key.
        const std::string once = "once" + std::to_string(i);
        ASSERT_TRUE(db->Put(wo, users, once, "x").ok());
        if (rng() % 2 == 0) {
          ASSERT_TRUE(db->SingleDelete(wo, users, once).ok());
        }
        break;
      }
      case 3:
      case 4: ASSERT_TRUE(db->Merge(wo, counters, "c" + std::to_string(rng() % 50), EncodeU64(1)).ok()); break;
      case 5:
        if (rng() % 20 == 0) {
          ASSERT_TRUE(db->DeleteRange(wo, users, "k1", "k2").ok());
        } else {
          ASSERT_TRUE(db->Put(wo, db->DefaultColumnFamily(), k, std::string(100, 'd')).ok());
        }
        break;
      case 6: {
        rocksdb::WriteBatch wb;
        ASSERT_TRUE(wb.Put(users, k, "batch").ok());
        ASSERT_TRUE(wb.Merge(counters, "total", EncodeU64(3)).ok());
        if (*late != nullptr) {
          ASSERT_TRUE(wb.Put(*late, k, "late").ok());
        }
        ASSERT_TRUE(db->Write(wo, &wb).ok());
        break;
      }
      default:
        if (*late != nullptr) {
          ASSERT_TRUE(db->Merge(wo, *late, "lc", EncodeU64(1)).ok());
        } else {
          ASSERT_TRUE(db->Put(wo, users, k, "w").ok());
        }
    }
  }
}

TEST_F(ReplicatorTest, MixedOperationsReachTwoSecondariesExactly) {
  auto p = OpenNode("p");
  ASSERT_TRUE(p->BecomePrimary(Primary()).ok());
  ASSERT_NE(p->port(), 0);
  auto s1 = OpenNode("s1");
  auto s2 = OpenNode("s2");
  // Data on the primary before the secondaries join: they get it by bootstrap.
  for (int i = 0; i < 200; ++i) Put(p.get(), "users", "pre" + std::to_string(i), "x");
  ASSERT_TRUE(s1->BecomeSecondary(Bundle("s1", p->port())).ok());
  ASSERT_TRUE(s2->BecomeSecondary(Bundle("s2", p->port())).ok());

  rocksdb::ColumnFamilyHandle* late = nullptr;
  MixedWorkload(p.get(), 20000, 7, &late);
  ASSERT_NE(late, nullptr);
  const uint64_t latest = Latest(p.get());
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s1.get(), latest) && CaughtUp(s2.get(), latest); }))
      << "s1 " << s1->GetStatus().last_sequence_applied.value_or(0) << " s2 "
      << s2->GetStatus().last_sequence_applied.value_or(0) << " primary " << latest;

  // Status on both ends.
  ASSERT_TRUE(WaitFor([&] {
    auto st = p->GetStatus();
    return st.secondaries.size() == 2 && st.secondaries[0].acked_sequence == latest &&
           st.secondaries[1].acked_sequence == latest;
  }));
  auto pst = p->GetStatus();
  EXPECT_EQ(pst.role, Role::kPrimary);
  EXPECT_EQ(pst.epoch, 1u);
  EXPECT_EQ(pst.cluster_id, kCluster);
  for (const auto& s : pst.secondaries) {
    EXPECT_EQ(s.state, ConnectionState::kStreaming) << s.id;
    EXPECT_EQ(s.lag_sequences, 0u) << s.id;
    EXPECT_NE(s.last_heartbeat_unix_ms, 0) << s.id;
  }
  EXPECT_EQ(pst.secondaries[0].id, "s1");
  auto sst = s1->GetStatus();
  EXPECT_EQ(sst.role, Role::kSecondary);
  EXPECT_EQ(sst.primary_link.state, ConnectionState::kStreaming);
  EXPECT_EQ(sst.bootstrap.bootstraps, 1u) << "joined by one bootstrap";
  EXPECT_NE(sst.bootstrap.reason.find("no usable position"), std::string::npos) << sst.bootstrap.reason;

  // Role fencing on a secondary (invariant 5).
  std::string v;
  rocksdb::Status g = s1->db()->Get(rocksdb::ReadOptions(), "pre1", &v);
  EXPECT_TRUE(g.IsNotSupported());
  EXPECT_NE(g.ToString().find("DR secondary"), std::string::npos);
  EXPECT_TRUE(s1->db()->Put(rocksdb::WriteOptions(), "x", "y").IsNotSupported());

  ASSERT_TRUE(p->db()->DestroyColumnFamilyHandle(late).ok());
  ASSERT_TRUE(s1->Close().ok());
  ASSERT_TRUE(s2->Close().ok());
  ASSERT_TRUE(p->Close().ok());
  auto dump = DumpClosedDb(dir_.Sub("p"));
  ASSERT_EQ(dump.count("late"), 1u);
  EXPECT_GT(dump["late"].size(), 10u);
  EXPECT_GT(dump["counters"].size(), 10u);
  EXPECT_EQ(DiffDumps(dump, DumpClosedDb(dir_.Sub("s1"))), "");
  EXPECT_EQ(DiffDumps(dump, DumpClosedDb(dir_.Sub("s2"))), "");
}

TEST_F(ReplicatorTest, WalPurgedPastStoppedSecondaryRebootstrapsAutomatically) {
  PluginOptions po;
  po.wal_ttl_seconds = 1;
  po.wal_size_limit_mb = 0;
  auto p = OpenNode("p", po);
  ASSERT_TRUE(p->BecomePrimary(Primary()).ok());
  auto s1 = OpenNode("s1");
  ASSERT_TRUE(s1->BecomeSecondary(Bundle("s1", p->port())).ok());
  for (int i = 0; i < 100; ++i) Put(p.get(), "users", "a" + std::to_string(i), "1");
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s1.get(), Latest(p.get())); }));
  const uint64_t stopped_at = *s1->GetStatus().last_sequence_applied;
  ASSERT_TRUE(s1->Close().ok());
  s1.reset();

  // Purge the WAL past the stopped secondary's position.
  ASSERT_NO_FATAL_FAILURE(PurgeWalPast(p.get(), stopped_at));

  s1 = OpenNode("s1");
  EXPECT_EQ(s1->db()->role(), Role::kSecondary) << "role persisted";
  ASSERT_TRUE(s1->UpdatePrimary(Bundle("s1", p->port())).ok());
  for (int i = 0; i < 100; ++i) Put(p.get(), "counters", "c", EncodeU64(1));
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s1.get(), Latest(p.get())); }));
  auto pst = p->GetStatus();
  ASSERT_EQ(pst.secondaries.size(), 1u);
  EXPECT_NE(pst.secondaries[0].needs_bootstrap_reason.find("WAL gap"), std::string::npos)
      << pst.secondaries[0].needs_bootstrap_reason;
  auto sst = s1->GetStatus();
  EXPECT_EQ(sst.bootstrap.bootstraps, 1u);
  EXPECT_NE(sst.bootstrap.reason.find("WAL gap"), std::string::npos) << sst.bootstrap.reason;
  ASSERT_TRUE(s1->Close().ok());
  ASSERT_TRUE(p->Close().ok());
  EXPECT_EQ(DiffNodes("p", "s1"), "");
}

// A primary ships each batch as soon as it is written, before its WAL is synced. When its machine
// crashes, it recovers less than it shipped and then writes other batches at the same sequences.
// A secondary that received the lost tail and reconnects after those writes has a cursor the
// primary could stream from — onto data the primary no longer has. It must be bootstrapped.
// (The crash is played by restoring a copy of the primary's DB made before the tail was written.)
TEST_F(ReplicatorTest, ASecondaryHoldingATailThePrimaryLostIsBootstrapped) {
  auto p = OpenNode("p");
  ASSERT_TRUE(p->BecomePrimary(Primary()).ok());
  auto s = OpenNode("s");
  ASSERT_TRUE(s->BecomeSecondary(Bundle("s", p->port())).ok());
  for (int i = 0; i < 100; ++i) Put(p.get(), "users", "k" + std::to_string(i), "durable");
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s.get(), Latest(p.get())); }));
  // What the primary's disk will hold after the crash.
  ASSERT_TRUE(p->Close().ok());
  p.reset();
  std::filesystem::copy(dir_.Sub("p"), dir_.Sub("p-durable"), std::filesystem::copy_options::recursive);
  p = OpenNode("p");
  ASSERT_TRUE(p->BecomePrimary(Primary()).ok());
  ASSERT_TRUE(s->UpdatePrimary(Bundle("s", p->port())).ok());
  for (int i = 0; i < 50; ++i) Put(p.get(), "users", "tail" + std::to_string(i), "lost");
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s.get(), Latest(p.get())); }));
  const uint64_t held = *s->GetStatus().last_sequence_applied;

  // The crash: the tail never reached the primary's disk.
  ASSERT_TRUE(p->Close().ok());
  p.reset();
  std::filesystem::remove_all(dir_.Sub("p"));
  std::filesystem::rename(dir_.Sub("p-durable"), dir_.Sub("p"));
  p = OpenNode("p");
  ASSERT_TRUE(p->BecomePrimary(Primary()).ok());
  ASSERT_LT(Latest(p.get()), held);
  for (int i = 0; i < 80; ++i) Put(p.get(), "users", "new" + std::to_string(i), "after-the-crash");
  ASSERT_GT(Latest(p.get()), held) << "the secondary is not ahead: only its history tells";

  ASSERT_TRUE(s->UpdatePrimary(Bundle("s", p->port())).ok());
  Put(p.get(), "users", "last", "1");
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s.get(), Latest(p.get())); }));
  auto sst = s->GetStatus();
  EXPECT_NE(sst.bootstrap.reason.find("a WAL tail the primary lost"), std::string::npos) << sst.bootstrap.reason;
  // Reconnecting again streams: the secondary now follows this opening of the primary.
  const uint64_t bootstraps = sst.bootstrap.bootstraps;
  ASSERT_TRUE(s->UpdatePrimary(Bundle("s", p->port())).ok());
  Put(p.get(), "users", "after-reconnect", "1");
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s.get(), Latest(p.get())); }));
  EXPECT_EQ(s->GetStatus().bootstrap.bootstraps, bootstraps);
  ASSERT_TRUE(s->Close().ok());
  ASSERT_TRUE(p->Close().ok());
  auto ds = DumpClosedDb(dir_.Sub("s"));
  EXPECT_EQ(ds["users"].count("tail0"), 0u);
  EXPECT_EQ(ds["users"]["new79"], "after-the-crash");
  EXPECT_EQ(DiffNodes("p", "s"), "");
}

// Two secondaries of a lost primary are both promoted (epoch 2 each). A secondary that followed
// one of them and is then pointed at the other holds the same epoch and a position the other
// could stream from; only the history id tells that its data is another history. (The second
// primary is restarted, so the lost-tail check does not catch it: its DB was opened after the
// positions in question.)
TEST_F(ReplicatorTest, TwoSitesPromotedToTheSameEpochKeepTheirHistoriesApart) {
  auto p = OpenNode("p");
  ASSERT_TRUE(p->BecomePrimary(Primary()).ok());
  auto b = OpenNode("b");
  auto c = OpenNode("c");
  ASSERT_TRUE(b->BecomeSecondary(Bundle("b", p->port())).ok());
  ASSERT_TRUE(c->BecomeSecondary(Bundle("c", p->port())).ok());
  for (int i = 0; i < 100; ++i) Put(p.get(), "users", "shared" + std::to_string(i), "p");
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(b.get(), Latest(p.get())) && CaughtUp(c.get(), Latest(p.get())); }));
  ASSERT_TRUE(p->Close().ok());
  p.reset();

  ASSERT_TRUE(b->Promote(Primary(1)).ok());
  ASSERT_TRUE(c->Promote(Primary(1)).ok());
  ASSERT_EQ(b->db()->epoch(), 2u);
  ASSERT_EQ(c->db()->epoch(), 2u);

  // s follows c, and receives writes that only c's history has.
  auto s = OpenNode("s");
  ASSERT_TRUE(s->BecomeSecondary(Bundle("s", c->port(), 2)).ok());
  for (int i = 0; i < 30; ++i) Put(c.get(), "users", "c-only" + std::to_string(i), "c");
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s.get(), Latest(c.get())); }));
  ASSERT_EQ(s->GetStatus().epoch, 2u);
  const uint64_t held = *s->GetStatus().last_sequence_applied;

  // b takes other writes, then restarts.
  for (int i = 0; i < 300; ++i) Put(b.get(), "users", "b-only" + std::to_string(i), "b");
  ASSERT_TRUE(b->Close().ok());
  b.reset();
  b = OpenNode("b");
  ASSERT_TRUE(b->BecomePrimary(Primary(2)).ok());
  ASSERT_EQ(b->db()->epoch(), 2u);
  ASSERT_GT(Latest(b.get()), held) << "s is not ahead of b: only the history tells";

  ASSERT_TRUE(s->UpdatePrimary(Bundle("s", b->port(), 2)).ok());
  Put(b.get(), "users", "last", "b");
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s.get(), Latest(b.get())); }));
  auto sst = s->GetStatus();
  EXPECT_NE(sst.bootstrap.reason.find("another history of epoch 2"), std::string::npos) << sst.bootstrap.reason;
  // Reconnecting again streams: s now holds b's history.
  const uint64_t bootstraps = sst.bootstrap.bootstraps;
  ASSERT_TRUE(s->UpdatePrimary(Bundle("s", b->port(), 2)).ok());
  Put(b.get(), "users", "after-reconnect", "b");
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s.get(), Latest(b.get())); }));
  EXPECT_EQ(s->GetStatus().bootstrap.bootstraps, bootstraps);

  ASSERT_TRUE(s->Close().ok());
  ASSERT_TRUE(c->Close().ok());
  ASSERT_TRUE(b->Close().ok());
  auto ds = DumpClosedDb(dir_.Sub("s"));
  EXPECT_EQ(ds["users"].count("c-only0"), 0u);
  EXPECT_EQ(ds["users"]["b-only0"], "b");
  EXPECT_EQ(DiffNodes("b", "s"), "");
}

// A planned failover: Demote refuses writes first, then lets the streaming secondaries
// acknowledge everything written before it stops the listener, so the secondary about to be
// promoted holds every write the demoted primary accepted.
TEST_F(ReplicatorTest, DemoteLetsStreamingSecondariesCatchUpFirst) {
  auto p = OpenNode("p");
  ASSERT_TRUE(p->BecomePrimary(Primary()).ok());
  auto s = OpenNode("s");
  ASSERT_TRUE(s->BecomeSecondary(Bundle("s", p->port())).ok());
  Put(p.get(), "users", "first", "1");
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s.get(), Latest(p.get())); }));
  rocksdb::WriteBatch big;
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(big.Put(p->ColumnFamily("users"), "k" + std::to_string(i), std::string(100, 'v')).ok());
  for (int round = 0; round < 40; ++round) ASSERT_TRUE(p->db()->Write(rocksdb::WriteOptions(), &big).ok());
  const uint64_t written = Latest(p.get());
  ASSERT_TRUE(p->Demote().ok());
  EXPECT_GE(s->GetStatus().last_sequence_applied.value_or(0), written) << "the secondary was cut off behind";
  EXPECT_TRUE(p->db()->Put(rocksdb::WriteOptions(), "x", "y").IsNotSupported());
  ASSERT_TRUE(s->Close().ok());
  ASSERT_TRUE(p->Close().ok());
  EXPECT_EQ(DiffNodes("p", "s"), "");
}

TEST_F(ReplicatorTest, PromotionRaisesEpochAndOldPrimaryIsRefused) {
  auto p = OpenNode("p");
  ASSERT_TRUE(p->BecomePrimary(Primary()).ok());
  auto s1 = OpenNode("s1");
  auto s2 = OpenNode("s2");
  ASSERT_TRUE(s1->BecomeSecondary(Bundle("s1", p->port())).ok());
  ASSERT_TRUE(s2->BecomeSecondary(Bundle("s2", p->port())).ok());
  rocksdb::ColumnFamilyHandle* late = nullptr;
  MixedWorkload(p.get(), 3000, 11, &late);
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s1.get(), Latest(p.get())) && CaughtUp(s2.get(), Latest(p.get())); }));

  // Disaster: s1 is promoted (the old primary keeps running, cut off).
  ASSERT_TRUE(s1->Promote(Primary(1)).ok());
  EXPECT_EQ(s1->db()->role(), Role::kPrimary);
  EXPECT_EQ(s1->db()->epoch(), 2u);
  EXPECT_EQ(s1->GetStatus().epoch, 2u);
  ASSERT_NE(s1->ColumnFamily("late"), nullptr) << "column family created by the stream has a handle";
  Put(s1.get(), "users", "after-promotion", "yes");
  ASSERT_TRUE(s1->db()->Merge(rocksdb::WriteOptions(), s1->ColumnFamily("late"), "lc", EncodeU64(5)).ok());

  // s2 follows the new primary (epoch 2): its position belongs to epoch 1, so it is bootstrapped.
  ASSERT_TRUE(s2->UpdatePrimary(Bundle("s2", s1->port(), 2)).ok());
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s2.get(), Latest(s1.get())); }));
  ASSERT_TRUE(WaitFor([&] { return s2->GetStatus().epoch == 2; })) << s2->GetStatus().epoch;

  // The old primary still accepts writes (it does not know yet)...
  Put(p.get(), "users", "split-brain", "old");
  const uint64_t s2_cursor = *s2->GetStatus().last_sequence_applied;
  // ...until a secondary of the newer epoch reaches it: it is refused, and the old primary fences.
  ASSERT_TRUE(s2->UpdatePrimary(Bundle("s2", p->port(), 1)).ok());
  ASSERT_TRUE(WaitFor([&] { return !p->GetStatus().fenced_reason.empty(); }));
  auto pst = p->GetStatus();
  EXPECT_NE(pst.fenced_reason.find("newer epoch 2"), std::string::npos) << pst.fenced_reason;
  rocksdb::Status w = p->db()->Put(rocksdb::WriteOptions(), "refused", "x");
  EXPECT_TRUE(w.IsNotSupported()) << w.ToString();
  EXPECT_NE(w.ToString().find("newer epoch"), std::string::npos);
  ASSERT_TRUE(WaitFor([&] { return s2->GetStatus().primary_link.halted; }));
  EXPECT_NE(s2->GetStatus().primary_link.last_error, "");
  EXPECT_EQ(*s2->GetStatus().last_sequence_applied, s2_cursor) << "nothing applied from the old primary";

  // The fence survives a restart of the old primary (kill -9 or not): it comes back fenced, and
  // does not take writes at its old epoch until it is demoted or re-enabled.
  ASSERT_TRUE(p->db()->DestroyColumnFamilyHandle(late).ok());
  late = nullptr;
  ASSERT_TRUE(p->Close().ok());
  p.reset();
  p = OpenNode("p");
  EXPECT_EQ(p->db()->role(), Role::kPrimary);
  EXPECT_NE(p->GetStatus().fenced_reason.find("newer epoch 2"), std::string::npos) << p->GetStatus().fenced_reason;
  EXPECT_NE(p->GetStatus().fenced_reason.find("(recorded before this node restarted)"), std::string::npos);
  w = p->db()->Put(rocksdb::WriteOptions(), "refused-after-restart", "x");
  EXPECT_TRUE(w.IsNotSupported()) << w.ToString();

  // Back to the new primary: converges with it.
  ASSERT_TRUE(s2->UpdatePrimary(Bundle("s2", s1->port(), 2)).ok());
  Put(s1.get(), "users", "last", "1");
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s2.get(), Latest(s1.get())); }));

  // The old primary is demoted: application writes name the secondary role.
  ASSERT_TRUE(p->Demote().ok());
  EXPECT_TRUE(p->db()->Put(rocksdb::WriteOptions(), "x", "y").IsNotSupported());
  EXPECT_TRUE(p->GetStatus().fenced_reason.empty());
  ASSERT_TRUE(p->Close().ok());
  p.reset();
  p = OpenNode("p");
  EXPECT_TRUE(p->GetStatus().fenced_reason.empty()) << "the demotion ended the recorded fence";
  EXPECT_EQ(p->db()->role(), Role::kSecondary);

  ASSERT_TRUE(s2->Close().ok());
  ASSERT_TRUE(s1->Close().ok());
  ASSERT_TRUE(p->Close().ok());
  auto d1 = DumpClosedDb(dir_.Sub("s1"));
  EXPECT_EQ(d1["users"]["after-promotion"], "yes");
  EXPECT_EQ(d1["users"].count("split-brain"), 0u);
  EXPECT_EQ(DiffDumps(d1, DumpClosedDb(dir_.Sub("s2"))), "");
}

// The disaster case after a restart: the secondary's process restarts while the primary is gone
// for good, so nobody re-attaches it to a primary; the operator promotes it directly. It must
// load its position itself and keep everything it had applied.
TEST_F(ReplicatorTest, SecondaryRestartedWhilePrimaryIsLostCanBePromoted) {
  auto p = OpenNode("p");
  ASSERT_TRUE(p->BecomePrimary(Primary()).ok());
  auto s1 = OpenNode("s1");
  ASSERT_TRUE(s1->BecomeSecondary(Bundle("s1", p->port())).ok());
  for (int i = 0; i < 200; ++i) Put(p.get(), "users", "k" + std::to_string(i), "v" + std::to_string(i));
  const uint64_t latest = Latest(p.get());
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s1.get(), latest); }));
  ASSERT_TRUE(p->Close().ok());  // the primary site is lost
  p.reset();
  ASSERT_TRUE(s1->Close().ok());  // and the secondary's application restarts
  s1.reset();

  s1 = OpenNode("s1");
  ASSERT_NE(s1, nullptr);
  EXPECT_EQ(s1->db()->role(), Role::kSecondary);
  Status promoted = s1->Promote(Primary(1));
  ASSERT_TRUE(promoted.ok()) << promoted.ToString();
  EXPECT_EQ(s1->db()->role(), Role::kPrimary);
  EXPECT_EQ(s1->db()->epoch(), 2u);
  Put(s1.get(), "users", "after-promotion", "yes");
  ASSERT_TRUE(s1->Close().ok());
  auto d = DumpClosedDb(dir_.Sub("s1"));
  EXPECT_EQ(d["users"]["k199"], "v199");
  EXPECT_EQ(d["users"]["after-promotion"], "yes");
  EXPECT_EQ(d["users"].size(), 201u);
}

// Connections that never start TLS, from ten addresses, kept open (reopened as the server closes
// them) while a secondary joins: 100 of them, more than max_connections and than the 32 pending
// places. The secondary, from another address, still gets in and streams. Once the flood stops
// reopening, each flooding address holds at most max_pending_per_address (4) open connections,
// and all of them together at most max_pending_handshakes (32).
TEST_F(ReplicatorTest, AHandshakeFloodDoesNotKeepSecondariesOut) {
  auto p = OpenNode("p");
  ASSERT_TRUE(p->BecomePrimary(Primary()).ok());
  const uint16_t port = p->port();
  constexpr int kAddresses = 10, kPerAddress = 10;
  auto source = [](int a) { return "127.0.0." + std::to_string(2 + a); };
  const int probe = ConnectFrom(source(0).c_str(), port);
  ASSERT_GE(probe, 0) << "binding " << source(0) << " (loopback) failed";
  ::close(probe);
  std::atomic<bool> stop{false};
  std::vector<int> fds(kAddresses * kPerAddress, -1);
  std::thread flood([&] {
    while (!stop.load()) {
      for (size_t i = 0; i < fds.size(); ++i) {
        if (fds[i] >= 0 && ClosedByPeer(fds[i])) {
          ::close(fds[i]);
          fds[i] = -1;
        }
        if (fds[i] < 0) fds[i] = ConnectFrom(source(static_cast<int>(i) / kPerAddress).c_str(), port);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  auto s = OpenNode("s");
  ASSERT_TRUE(s->BecomeSecondary(Bundle("s", port)).ok());
  for (int i = 0; i < 20; ++i) Put(p.get(), "users", "k" + std::to_string(i), "v");
  const bool caught_up = WaitFor([&] { return CaughtUp(s.get(), Latest(p.get())); });
  stop.store(true);
  flood.join();
  ASSERT_TRUE(caught_up) << s->GetStatus().primary_link.last_error;

  // The flood's connections the server keeps: at most 4 per address, 32 in all (the others were
  // refused or closed for newer ones; the kept ones wait for the handshake timeout).
  auto open_counts = [&] {
    std::vector<int> per(kAddresses, 0);
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i] >= 0 && !ClosedByPeer(fds[i])) ++per[i / kPerAddress];
    }
    return per;
  };
  auto within_limits = [&] {
    int total = 0;
    for (int n : open_counts()) {
      if (n > 4) return false;
      total += n;
    }
    return total <= 32;
  };
  const bool settled = WaitFor(within_limits, std::chrono::seconds(3));
  std::string counts;
  for (int n : open_counts()) counts += std::to_string(n) + " ";
  for (int fd : fds) {
    if (fd >= 0) ::close(fd);
  }
  EXPECT_TRUE(settled) << "open connections per flooding address: " << counts;
  ASSERT_TRUE(s->Close().ok());
  ASSERT_TRUE(p->Close().ok());
  EXPECT_EQ(DiffNodes("p", "s"), "");
}

TEST_F(ReplicatorTest, BadInputsAreRefusedWithReasons) {
  auto n = OpenNode("n");
  PrimaryConfig c = Primary();
  c.listen_address = "127.0.0.1";
  Status s = n->BecomePrimary(c);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no port"), std::string::npos) << s.message();
  EXPECT_FALSE(n->UpdatePrimary(Bundle("s", 1)).ok()) << "not a secondary";
  EXPECT_FALSE(n->Promote(Primary()).ok()) << "not a secondary";
  SecondaryBundle b = Bundle("s", 1);
  b.tls = {};
  s = n->BecomeSecondary(b);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("TLS"), std::string::npos) << s.message();
  // A fresh secondary cannot be promoted before its bootstrap finished.
  ASSERT_TRUE(n->BecomeSecondary(Bundle("s", 1)).ok());
  s = n->Promote(Primary());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no complete copy"), std::string::npos) << s.message();
  auto bad = LoadTlsCredentials(dir_.Sub("nope.pem"), dir_.Sub("nope.key"), dir_.Sub("ca.pem"));
  EXPECT_EQ(bad.status().code(), Code::kNotFound);
  // A DB that is already open (here by `n`) is refused with what that means.
  auto twice = Replicator::Open(testing::MakeSpec(dir_.Sub("n")), ReplicatorOptions());
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("already has this DB: stop it first"), std::string::npos)
      << twice.status().ToString();
}

}  // namespace
}  // namespace rocksdr
