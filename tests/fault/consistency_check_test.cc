// The consistency check end to end over real processes: a primary and a DR secondary
// (rocksdr_node serve, driven through their control sockets, the secondary behind a FaultProxy),
// the primary's application writing all along. The live check pauses the secondary, snapshots
// the primary at its latest sequence S, lets the secondary apply up to exactly S, and compares
// the digests page by page: they match at the same S. A divergence planted in the secondary's
// DB (written behind the plugin's back while the node is down) is reported as the first
// differing range and key.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <thread>

#include "rocksdr/replication/consistency_ops.h"
#include "support/fault_cluster.h"
#include "support/replicator_test_util.h"

namespace rocksdr::testing {
namespace {

TEST(ConsistencyCheck, LiveCheckMatchesAtTheSameSequenceWhileTheApplicationWrites) {
  FaultCluster c;
  c.Start();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (int i = 0; i < 3; ++i) {
    auto r = c.Consistency(/*bucket_keys=*/16);  // small buckets: several pages
    ASSERT_TRUE(r.ok()) << r.status().ToString() << "\n" << c.Logs();
    EXPECT_TRUE(r->match) << r->ToJson("primary", "secondary").dump(2);
    EXPECT_EQ(r->a_sequence, r->b_sequence);
    EXPECT_GT(r->keys_compared, 0u);
    EXPECT_GT(r->buckets_compared, 2u);
  }
  // The primary keeps writing and the secondary keeps applying after the check (the park ended).
  const uint64_t before = c.SecondaryStatus().value("last_sequence_applied", uint64_t{0});
  EXPECT_TRUE(WaitFor([&] { return c.SecondaryStatus().value("last_sequence_applied", uint64_t{0}) > before; },
                      std::chrono::seconds(20)));
}

TEST(ConsistencyCheck, OpsRefuseBadRequests) {
  FaultCluster c;
  c.Start();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  namespace ctl = replication::control;
  // A primary cannot be paused; a snapshot id that does not exist; bounds.
  auto p = c.primary()->Consistency(ctl::kOpConsistencyPause, {{"timeout_ms", 100}});
  EXPECT_EQ(p.status().code(), Code::kFailedPrecondition) << p.status().ToString();
  auto d = c.primary()->Consistency(ctl::kOpConsistencyDigest, {{"snapshot_id", 999}});
  EXPECT_EQ(d.status().code(), Code::kNotFound) << d.status().ToString();
  auto t = c.primary()->Consistency(ctl::kOpConsistencySnapshot, {{"timeout_ms", 31'000}});
  EXPECT_EQ(t.status().code(), Code::kInvalidArgument) << t.status().ToString();
  auto u = c.primary()->Consistency(ctl::kOpConsistencySnapshot, {{"bogus", 1}});
  EXPECT_EQ(u.status().code(), Code::kInvalidArgument) << u.status().ToString();
  // A primary is digested at its latest sequence only.
  auto old = c.primary()->Consistency(ctl::kOpConsistencySnapshot, {{"at_sequence", 1}});
  EXPECT_EQ(old.status().code(), Code::kFailedPrecondition) << old.status().ToString();
  // A secondary asked for a sequence it already passed says so.
  auto past = c.secondary()->Consistency(ctl::kOpConsistencySnapshot, {{"at_sequence", 1}, {"timeout_ms", 500}});
  EXPECT_EQ(past.status().code(), Code::kFailedPrecondition) << past.status().ToString();
  // Bucket bounds.
  auto snap = c.primary()->Consistency(ctl::kOpConsistencySnapshot, nlohmann::json::object());
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  const uint64_t id = (*snap)["snapshot_id"];
  auto big = c.primary()->Consistency(ctl::kOpConsistencyDigest, {{"snapshot_id", id}, {"bucket_keys", 100'001}});
  EXPECT_EQ(big.status().code(), Code::kInvalidArgument) << big.status().ToString();
  EXPECT_TRUE(c.primary()->Consistency(ctl::kOpConsistencyRelease, {{"snapshot_id", id}}).ok());
  EXPECT_EQ(c.primary()->Consistency(ctl::kOpConsistencyRelease, {{"snapshot_id", id}}).status().code(),
            Code::kNotFound);
}

TEST(ConsistencyCheck, ReportsTheFirstDifferingRangeAndKey) {
  FaultCluster c;
  c.Start();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // Stop the secondary, plant a divergence in its DB directly, restart it.
  c.KillSecondary();
  {
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), c.secondary_db(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descs;
    for (auto& n : names) descs.emplace_back(n, CounterCfOptions(n));
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), c.secondary_db(), descs, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    // app/00000003 exists on both (the loader writes app/1, 2, ...): change its value.
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "app/00000003", "tampered").ok());
    for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  }
  c.RestartSecondary();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  ASSERT_TRUE(c.WaitStreaming()) << c.Logs();
  auto r = c.Consistency(/*bucket_keys=*/8);
  ASSERT_TRUE(r.ok()) << r.status().ToString() << "\n" << c.Logs();
  EXPECT_FALSE(r->match);
  EXPECT_EQ(r->a_sequence, r->b_sequence);
  ASSERT_TRUE(r->first_differing_key.has_value()) << r->ToJson("primary", "secondary").dump(2);
  EXPECT_EQ(*r->first_differing_key, "app/00000003");
  EXPECT_EQ(r->a_range.cf, "default");
  EXPECT_LE(r->a_range.first_key, "app/00000003");
  EXPECT_GE(r->a_range.last_key, "app/00000003");
  EXPECT_NE(r->difference.find("values differ"), std::string::npos) << r->difference;
  const auto j = r->ToJson("primary", "secondary");
  EXPECT_EQ(j["first_difference"]["key"], "app/00000003");
}

}  // namespace
}  // namespace rocksdr::testing
