// Synchronous replication through the real runtime (Replicator primary and secondary in this
// process, mutual TLS on 127.0.0.1 port 0): durable and received writes wait for the secondary,
// a timeout fails the write (policy fail) with the documented Status, or degrades the DB to async
// (policy degrade) and the DB returns to sync by itself once the secondary has caught up. The
// status JSON of the control socket shows the mode and the degradation.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "../../plugin/src/control_server.h"
#include "support/replication_pki.h"
#include "support/replicator_test_util.h"

namespace rocksdr {
namespace {

using testing::MakeSpec;
using testing::TempDir;
using testing::WaitFor;

constexpr char kCluster[] = "cluster-sync";

class SyncReplicationTest : public ::testing::Test {
 protected:
  std::unique_ptr<Replicator> OpenNode(const std::string& name, PluginOptions po = {}) {
    ReplicatorOptions ro;
    ro.sync_apply = true;  // durable == applied on the secondary
    ro.reconnect_initial_ms = 20;
    ro.reconnect_cap_ms = 200;
    auto r = Replicator::Open(MakeSpec(dir_.Sub(name), po), ro);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : nullptr;
  }
  std::unique_ptr<Replicator> OpenPrimary(AckMode mode, uint64_t timeout_ms, AckTimeoutPolicy policy) {
    PluginOptions po;
    po.ack_mode = mode;
    po.ack_timeout_ms = timeout_ms;
    po.ack_on_timeout = policy;
    auto p = OpenNode("p", po);
    if (!p) return nullptr;
    PrimaryConfig c;
    c.cluster_id = kCluster;
    c.listen_address = "127.0.0.1:0";
    c.tls = pki_.Server(kCluster);
    Status s = p->BecomePrimary(c);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return p;
  }
  std::unique_ptr<Replicator> JoinSecondary(const std::string& id, uint16_t port) {
    auto s = OpenNode(id);
    if (!s) return nullptr;
    SecondaryBundle b;
    b.cluster_id = kCluster;
    b.secondary_id = id;
    b.primary_address = "127.0.0.1:" + std::to_string(port);
    b.tls = pki_.Client(id, kCluster);
    Status st = s->BecomeSecondary(b);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return s;
  }
  static rocksdb::Status Put(Replicator* r, const std::string& k, const std::string& v) {
    return r->db()->Put(rocksdb::WriteOptions(), r->ColumnFamily("users"), k, v);
  }
  static uint64_t Applied(Replicator* secondary) { return secondary->GetStatus().last_sequence_applied.value_or(0); }

  TempDir dir_;
  testing::TestPki pki_;
};

TEST_F(SyncReplicationTest, DurableWriteReturnsOnlyOnceTheSecondaryHoldsIt) {
  auto p = OpenPrimary(AckMode::kDurable, 60000, AckTimeoutPolicy::kFail);
  ASSERT_TRUE(p);
  auto s = JoinSecondary("s1", p->port());
  ASSERT_TRUE(s);
  // Single writer: when Put returns, the secondary has applied (and synced) the primary's
  // latest sequence, which is this write's.
  for (int i = 0; i < 20; ++i) {
    rocksdb::Status st = Put(p.get(), "k" + std::to_string(i), "v");
    ASSERT_TRUE(st.ok()) << st.ToString();
    const uint64_t mine = p->db()->GetLatestSequenceNumber();
    EXPECT_GE(Applied(s.get()), mine) << "write " << i << " returned before the secondary applied it";
  }
  // Concurrent writers (WriteBatch and Put, Delete, Merge) share the confirmations.
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const std::string k = "t" + std::to_string(t) + "_" + std::to_string(i);
        rocksdb::WriteBatch b;
        b.Put(p->ColumnFamily("users"), k, "x");
        b.Merge(p->ColumnFamily("counters"), "total", testing::EncodeU64(1));
        if (!p->db()->Write(rocksdb::WriteOptions(), &b).ok()) ++failures;
        if (!p->db()->Delete(rocksdb::WriteOptions(), p->ColumnFamily("users"), k + "_gone").ok()) ++failures;
      }
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Applied(s.get()), p->db()->GetLatestSequenceNumber());
  const ReplicationStatus st = p->GetStatus();
  EXPECT_EQ(st.sync.mode, AckMode::kDurable);
  EXPECT_FALSE(st.sync.degraded);
  EXPECT_EQ(st.sync.writes_confirmed, 20u + 4 * 25 * 2);
  EXPECT_EQ(st.sync.timeouts, 0u);
  EXPECT_EQ(st.sync.writes_waiting, 0u);
  const auto j = plugin::StatusToJson(st);
  EXPECT_EQ(j["ack_mode"], "durable");
  EXPECT_EQ(j["ack_count"], 1);
  EXPECT_EQ(j["sync_degraded"], false);
  EXPECT_EQ(j["sync_degraded_reason"], "");
  EXPECT_EQ(j["sync"]["on_timeout"], "fail");
}

TEST_F(SyncReplicationTest, ReceivedModeIsConfirmedByTheReceivedFrame) {
  auto p = OpenPrimary(AckMode::kReceived, 60000, AckTimeoutPolicy::kFail);
  ASSERT_TRUE(p);
  auto s = JoinSecondary("s1", p->port());
  ASSERT_TRUE(s);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(Put(p.get(), "r" + std::to_string(i), "v").ok());
  const ReplicationStatus st = p->GetStatus();
  EXPECT_EQ(st.sync.mode, AckMode::kReceived);
  EXPECT_EQ(st.sync.writes_confirmed, 30u);
  EXPECT_GE(st.sync.confirmed_sequence, p->db()->GetLatestSequenceNumber());
  EXPECT_EQ(plugin::StatusToJson(st)["ack_mode"], "received");
}

TEST_F(SyncReplicationTest, TimeoutWithPolicyFailSaysTheWriteIsOnThePrimaryOnly) {
  auto p = OpenPrimary(AckMode::kDurable, 200, AckTimeoutPolicy::kFail);
  ASSERT_TRUE(p);
  // No secondary at all: nobody can confirm.
  rocksdb::Status st = Put(p.get(), "lonely", "v");
  ASSERT_TRUE(st.IsTimedOut()) << st.ToString();
  EXPECT_NE(st.ToString().find("is written on the primary but NOT confirmed by 1 secondary (ack mode durable: no "
                               "confirmation within 200 ms"),
            std::string::npos)
      << st.ToString();
  std::string v;
  ASSERT_TRUE(p->db()->Get(rocksdb::ReadOptions(), p->ColumnFamily("users"), "lonely", &v).ok());
  EXPECT_EQ(v, "v");
  ReplicationStatus status = p->GetStatus();
  EXPECT_EQ(status.sync.timeouts, 1u);
  EXPECT_FALSE(status.sync.degraded);
  // Once a secondary has caught up, writes are confirmed again (fail never degrades).
  auto s = JoinSecondary("s1", p->port());
  ASSERT_TRUE(s);
  ASSERT_TRUE(WaitFor([&] { return Applied(s.get()) >= p->db()->GetLatestSequenceNumber(); },
                      std::chrono::seconds(60)));
  bool ok = false;
  ASSERT_TRUE(WaitFor([&] { return ok = Put(p.get(), "after", "v").ok(); }, std::chrono::seconds(60)));
  EXPECT_GE(Applied(s.get()), p->db()->GetLatestSequenceNumber());
}

TEST_F(SyncReplicationTest, DegradeToAsyncThenBackToSyncWhenTheSecondaryCatchesUp) {
  auto p = OpenPrimary(AckMode::kDurable, 200, AckTimeoutPolicy::kDegrade);
  ASSERT_TRUE(p);
  rocksdb::Status st = Put(p.get(), "a", "1");
  ASSERT_TRUE(st.ok()) << st.ToString();
  ReplicationStatus status = p->GetStatus();
  ASSERT_TRUE(status.sync.degraded);
  EXPECT_EQ(status.sync.degradations, 1u);
  EXPECT_NE(status.sync.degraded_reason.find("was not confirmed by 1 secondary"), std::string::npos)
      << status.sync.degraded_reason;
  auto j = plugin::StatusToJson(status);
  EXPECT_EQ(j["sync_degraded"], true);
  EXPECT_EQ(j["sync_degraded_reason"], status.sync.degraded_reason);
  EXPECT_NE(j["sync"]["degraded_since"].get<std::string>(), "");
  // Degraded: writes do not wait.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Put(p.get(), "d" + std::to_string(i), "v").ok());
  EXPECT_EQ(p->GetStatus().sync.timeouts, 1u);

  auto s = JoinSecondary("s1", p->port());
  ASSERT_TRUE(s);
  ASSERT_TRUE(WaitFor([&] { return !p->GetStatus().sync.degraded; }, std::chrono::seconds(60)))
      << "never returned to sync: " << p->GetStatus().sync.degraded_reason;
  status = p->GetStatus();
  EXPECT_EQ(status.sync.degraded_reason, "");
  EXPECT_EQ(status.sync.degraded_since_unix_ms, 0);
  const uint64_t confirmed_before = status.sync.writes_confirmed;
  ASSERT_TRUE(Put(p.get(), "synced", "v").ok());
  status = p->GetStatus();
  EXPECT_FALSE(status.sync.degraded);
  EXPECT_EQ(status.sync.writes_confirmed, confirmed_before + 1);
  EXPECT_GE(Applied(s.get()), p->db()->GetLatestSequenceNumber());
}

TEST_F(SyncReplicationTest, CountTwoNeedsTwoSecondaries) {
  PluginOptions po;
  auto p = OpenPrimary(AckMode::kDurable, 300, AckTimeoutPolicy::kFail);
  ASSERT_TRUE(p);
  // Re-open with count 2 is not possible in place: check the options path instead, through a
  // second primary DB with count 2.
  p.reset();
  po.ack_mode = AckMode::kDurable;
  po.ack_count = 2;
  po.ack_timeout_ms = 300;
  auto p2 = OpenNode("p2", po);
  ASSERT_TRUE(p2);
  PrimaryConfig c;
  c.cluster_id = kCluster;
  c.listen_address = "127.0.0.1:0";
  c.tls = pki_.Server(kCluster);
  ASSERT_TRUE(p2->BecomePrimary(c).ok());
  auto s1 = JoinSecondary("s1", p2->port());
  ASSERT_TRUE(s1);
  ASSERT_TRUE(WaitFor([&] { return Applied(s1.get()) >= p2->db()->GetLatestSequenceNumber(); },
                      std::chrono::seconds(60)));
  rocksdb::Status st = Put(p2.get(), "one", "v");
  EXPECT_TRUE(st.IsTimedOut()) << st.ToString();
  EXPECT_NE(st.ToString().find("NOT confirmed by 2 secondaries"), std::string::npos) << st.ToString();
  auto s2 = JoinSecondary("s2", p2->port());
  ASSERT_TRUE(s2);
  bool ok = false;
  ASSERT_TRUE(WaitFor([&] { return ok = Put(p2.get(), "two", "v").ok(); }, std::chrono::seconds(60)));
  const uint64_t mine = p2->db()->GetLatestSequenceNumber();
  EXPECT_GE(Applied(s1.get()), mine);
  EXPECT_GE(Applied(s2.get()), mine);
}

}  // namespace
}  // namespace rocksdr
