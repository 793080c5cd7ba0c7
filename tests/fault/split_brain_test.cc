// Split brain with real processes. The old primary P (rocksdr_node serve, its application writing)
// has two DR secondaries: S1 behind proxy A and S2 behind proxy B, which stands for the name
// every client uses for "the primary" (a VIP / DNS name). A partition cuts P off (both proxies
// blackhole) while P stays alive and keeps accepting its application's writes. The operator
// promotes S1 (epoch 2) and re-aims the name (proxy B) at it: S2 follows S1 (bootstrapped into
// epoch 2). Then the partition heals the wrong way: the name flaps back to P. S2, now in epoch 2,
// reaches P: P learns that a newer epoch exists and fences itself (application writes refused,
// status "fenced" with the reason), and S2 refuses P's stream (status says the epoch is older).
// The operator's recovery, as the README describes: the consistency check (latest mode) shows
// P's split-brain writes as the first difference; P is demoted and update-primary'd to S1; it is
// bootstrapped from S1 and then matches S1 at the same sequence.
#include <gtest/gtest.h>

#include <thread>

#include "support/fault_cluster.h"
#include "support/replicator_test_util.h"

namespace rocksdr::testing {
namespace {

uint64_t Seq(const nlohmann::json& st) { return st.value("last_sequence_written", uint64_t{0}); }

Result<sidecar::ConsistencyReport> Check(sidecar::PluginControl* a, sidecar::PluginControl* b,
                                         sidecar::ConsistencyMode mode) {
  return ControlSocketConsistency("a", a, "b", b, /*bucket_keys=*/32, mode);
}

TEST(SplitBrain, OldPrimaryIsFencedByTheNewerEpochAndItsSecondaryRefusesItsStream) {
  FaultCluster c;
  c.Start();  // P + S1 (through proxy A = c.proxy())
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  const std::string p_addr = *c.primary()->ReplicationAddress();
  const uint16_t p_port = static_cast<uint16_t>(std::stoul(p_addr.substr(p_addr.rfind(':') + 1)));
  auto name = FaultProxy::Start(p_port);  // proxy B: "the primary's name"
  ASSERT_NE(name, nullptr);
  ASSERT_GT(c.SpawnNode("s2", /*load=*/false), 0);
  auto s2 = c.ConnectNode("s2");
  ASSERT_NE(s2, nullptr);
  ASSERT_TRUE(s2->EnableSecondary(c.BundleFor("s2", name->address())).ok());
  ASSERT_TRUE(WaitFor([&] { return s2->Status()->value("state", "") == "stream-wals"; }, std::chrono::seconds(60)))
      << c.Logs();

  // The partition: P is cut off from both secondaries, alive.
  c.proxy().SetBlackhole(true);
  name->SetBlackhole(true);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  // The operator promotes S1 (in the real flow: with a DR operation token through its sidecar).
  ASSERT_TRUE(c.secondary()->Promote(c.PrimaryConfig()).ok()) << c.Logs();
  const nlohmann::json s1_st = c.SecondaryStatus();
  ASSERT_EQ(s1_st.value("role", ""), "primary") << s1_st.dump();
  ASSERT_EQ(s1_st.value("epoch", uint64_t{0}), 2u) << s1_st.dump();
  auto s1_addr = c.secondary()->ReplicationAddress();
  ASSERT_TRUE(s1_addr.ok()) << s1_addr.status().ToString();
  const uint16_t s1_port = static_cast<uint16_t>(std::stoul(s1_addr->substr(s1_addr->rfind(':') + 1)));

  // Split brain: P does not know yet and keeps accepting its application's writes.
  const uint64_t p_before = Seq(c.PrimaryStatus());
  EXPECT_TRUE(WaitFor([&] { return Seq(c.PrimaryStatus()) > p_before + 20; }, std::chrono::seconds(10)));
  EXPECT_EQ(c.PrimaryStatus().value("state", ""), "running");

  // The name moves to S1: S2 follows the new primary (a cursor of epoch 1: bootstrapped into epoch 2).
  name->SetTarget(s1_port);
  name->SetBlackhole(false);
  name->DropConnections();
  ASSERT_TRUE(WaitFor([&] {
    auto st = s2->Status();
    return st.ok() && st->value("state", "") == "stream-wals" && st->value("epoch", uint64_t{0}) == 2;
  }, std::chrono::seconds(60))) << s2->Status()->dump() << "\n" << c.Logs();

  // The partition heals the wrong way: the name flaps back to P.
  name->SetTarget(p_port);
  name->DropConnections();
  c.proxy().SetBlackhole(false);

  // P learns of epoch 2 from S2's handshake and fences itself; S2 refuses P's stream.
  ASSERT_TRUE(WaitFor([&] { return c.PrimaryStatus().value("state", "") == "fenced"; }, std::chrono::seconds(30)))
      << c.PrimaryStatus().dump() << "\n" << c.Logs();
  const nlohmann::json p_st = c.PrimaryStatus();
  EXPECT_NE(p_st.value("fenced_reason", "").find("newer epoch 2"), std::string::npos) << p_st.dump();
  const uint64_t fenced_at = Seq(p_st);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the application keeps trying (every 2 ms)
  EXPECT_EQ(Seq(c.PrimaryStatus()), fenced_at) << "a fenced primary accepted writes";
  EXPECT_TRUE(WaitFor([&] {
    auto st = s2->Status();
    if (!st.ok()) return false;
    const std::string err = (*st)["primary_link"].value("last_error", "");
    return err.find("epoch") != std::string::npos;
  }, std::chrono::seconds(20))) << s2->Status()->dump();
  const nlohmann::json s2_st = *s2->Status();
  EXPECT_EQ(s2_st.value("epoch", uint64_t{0}), 2u) << s2_st.dump();
  EXPECT_NE(s2_st.value("state", ""), "stream-wals") << s2_st.dump();

  // S2 took nothing from P: it still equals S1 (which has no application writing).
  auto same = Check(c.secondary(), s2.get(), sidecar::ConsistencyMode::kLatest);
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_TRUE(same->match) << same->ToJson("s1", "s2").dump(2);

  // The operator compares P with S1: P's split-brain writes are the first difference.
  auto diff = Check(c.secondary(), c.primary(), sidecar::ConsistencyMode::kLatest);
  ASSERT_TRUE(diff.ok()) << diff.status().ToString();
  EXPECT_FALSE(diff->match);
  ASSERT_TRUE(diff->first_differing_key.has_value()) << diff->ToJson("s1", "p").dump(2);
  EXPECT_EQ(diff->first_differing_key->rfind("app/", 0), 0u) << diff->difference;
  EXPECT_NE(diff->difference.find("only on b"), std::string::npos) << diff->difference;

  // Recovery: demote P, follow S1 (P's history is replaced by S1's through a bootstrap).
  ASSERT_TRUE(c.primary()->Demote().ok());
  ASSERT_TRUE(c.primary()->UpdatePrimary(c.BundleFor("p", *s1_addr)).ok()) << c.Logs();
  ASSERT_TRUE(WaitFor([&] { return c.PrimaryStatus().value("state", "") == "stream-wals"; }, std::chrono::seconds(60)))
      << c.PrimaryStatus().dump() << "\n" << c.Logs();
  auto healed = Check(c.secondary(), c.primary(), sidecar::ConsistencyMode::kLive);
  ASSERT_TRUE(healed.ok()) << healed.status().ToString();
  EXPECT_TRUE(healed->match) << healed->ToJson("s1", "p").dump(2);
}

}  // namespace
}  // namespace rocksdr::testing
