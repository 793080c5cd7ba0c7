// Synchronous replication, the parts that need no network: the `ack` options and their YAML,
// the RECEIVED message (protocol version 2), the AckTracker's group commit / timeout / degrade /
// recovery rules (fed by hand), and the RocksDB 7.8.3 behaviour the write path relies on: after
// DB::Write returns, a WriteBatch's header holds the sequence RocksDB assigned to it, also when
// concurrent writers were merged into one write group.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "../../plugin/src/ack_tracker.h"
#include "../../plugin/src/coding.h"
#include "rocksdr/options.h"
#include "rocksdr/replication/frame.h"
#include "rocksdr/replication/messages.h"
#include "support/replicator_test_util.h"

namespace rocksdr {
namespace {

using plugin::AckTracker;

TEST(SyncOptions, DefaultIsAsyncAndTheYamlSectionParses) {
  PluginOptions d;
  EXPECT_EQ(d.ack_mode, AckMode::kAsync);
  EXPECT_EQ(d.ack_count, 1u);
  EXPECT_EQ(d.ack_on_timeout, AckTimeoutPolicy::kFail);
  auto o = ParsePluginOptionsYaml("ack:\n  mode: durable\n  count: 2\n  timeout_ms: 250\n  on_timeout: degrade\n", "t");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->ack_mode, AckMode::kDurable);
  EXPECT_EQ(o->ack_count, 2u);
  EXPECT_EQ(o->ack_timeout_ms, 250u);
  EXPECT_EQ(o->ack_on_timeout, AckTimeoutPolicy::kDegrade);
  auto r = ParsePluginOptionsYaml("ack: { mode: received }\n", "t");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->ack_mode, AckMode::kReceived);
}

TEST(SyncOptions, BadValuesAreRefusedWithTheFieldAndWhere) {
  struct Case {
    const char* yaml;
    const char* expect;
  };
  for (const Case& c : {Case{"ack: { mode: sync }\n", "t:1:14: 'ack.mode': unknown ack mode 'sync' (expected one of: async, received, durable)"},
                        Case{"ack: { count: 0 }\n", "t:1:15: ack.count is 0 secondaries, must be between 1 and 64"},
                        Case{"ack: { count: 65 }\n", "ack.count is 65"},
                        Case{"ack: { timeout_ms: 0 }\n", "ack.timeout_ms is 0 ms"},
                        Case{"ack: { timeout_ms: 600001 }\n", "ack.timeout_ms is 600001 ms"},
                        Case{"ack: { on_timeout: retry }\n", "'ack.on_timeout': unknown timeout policy 'retry' (expected fail or degrade)"},
                        Case{"ack: { mode: durable, quorum: 2 }\n", "unknown key 'ack.quorum' (expected one of: mode, count, timeout_ms, on_timeout)"},
                        Case{"ack: durable\n", "'ack' must be a mapping"}}) {
    auto o = ParsePluginOptionsYaml(c.yaml, "t");
    ASSERT_FALSE(o.ok()) << c.yaml;
    EXPECT_EQ(o.status().code(), Code::kInvalidArgument);
    EXPECT_NE(o.status().message().find(c.expect), std::string::npos) << o.status().message();
  }
}

TEST(SyncProtocol, ReceivedRoundTripsAndIsStrict) {
  using namespace replication;
  EXPECT_GE(kProtocolVersion, kReceivedAckVersion);
  EXPECT_TRUE(SecondaryMaySend(FrameType::kReceived));
  EXPECT_FALSE(PrimaryMaySend(FrameType::kReceived));
  EXPECT_EQ(FrameTypeName(FrameType::kReceived), "RECEIVED");
  Received m;
  m.received_sequence = 123456789;
  const std::string payload = Encode(m);
  EXPECT_EQ(payload.size(), 8u);
  Received back;
  ASSERT_TRUE(Decode(payload, &back).ok());
  EXPECT_EQ(back.received_sequence, 123456789u);
  EXPECT_FALSE(Decode(payload + "x", &back).ok());               // no trailing bytes
  EXPECT_FALSE(Decode(payload.substr(0, 7), &back).ok());        // truncated
  m.received_sequence = kMaxSequenceNumber + 1;
  EXPECT_FALSE(Decode(Encode(m), &back).ok());                   // beyond RocksDB's sequences
  // The whole frame decodes as type 13.
  Received small;
  small.received_sequence = 7;
  std::string frame;
  AppendMessageFrame(small, &frame);
  FrameDecoder d;
  d.Feed(frame.data(), frame.size());
  auto f = d.Next();
  ASSERT_TRUE(f.ok() && f->has_value()) << f.status().ToString();
  EXPECT_EQ((*f)->type, FrameType::kReceived);
}

AckTracker::Config Cfg(AckMode mode, uint64_t count, int timeout_ms, AckTimeoutPolicy p) {
  AckTracker::Config c;
  c.mode = mode;
  c.count = count;
  c.timeout = std::chrono::milliseconds(timeout_ms);
  c.on_timeout = p;
  return c;
}

TEST(AckTracker, AsyncNeverWaits) {
  AckTracker t(Cfg(AckMode::kAsync, 1, 1, AckTimeoutPolicy::kFail));
  EXPECT_FALSE(t.enabled());
  EXPECT_EQ(t.WaitFor(1000).outcome, AckTracker::Outcome::kConfirmed);
}

TEST(AckTracker, OneAckReleasesEveryWriterAtOrBelowIt) {
  AckTracker t(Cfg(AckMode::kDurable, 1, 60000, AckTimeoutPolicy::kFail));
  std::atomic<int> released{0};
  std::vector<std::thread> writers;
  for (uint64_t seq : {10, 20, 30}) {
    writers.emplace_back([&, seq] {
      EXPECT_EQ(t.WaitFor(seq).outcome, AckTracker::Outcome::kConfirmed);
      ++released;
    });
  }
  ASSERT_TRUE(testing::WaitFor([&] {
    SyncReplicationStatus s;
    t.FillStatus(&s);
    return s.writes_waiting == 3;
  }));
  // received/applied do not count in durable mode.
  t.OnProgress("s1", 30, 30, 0);
  t.OnProgress("s1", 30, 30, 25);  // covers 10 and 20, not 30
  ASSERT_TRUE(testing::WaitFor([&] { return released.load() == 2; }));
  t.OnProgress("s1", 30, 30, 30);
  for (auto& w : writers) w.join();
  SyncReplicationStatus s;
  t.FillStatus(&s);
  EXPECT_EQ(s.writes_confirmed, 3u);
  EXPECT_EQ(s.writes_waiting, 0u);
  EXPECT_EQ(s.confirmed_sequence, 30u);
}

TEST(AckTracker, CountIsTheNthBestSecondary) {
  AckTracker t(Cfg(AckMode::kReceived, 2, 60000, AckTimeoutPolicy::kFail));
  t.OnProgress("a", 100, 0, 0);
  SyncReplicationStatus s;
  t.FillStatus(&s);
  EXPECT_EQ(s.confirmed_sequence, 0u);  // one secondary is not two
  t.OnProgress("b", 40, 60, 0);         // received mode: applied implies received
  t.FillStatus(&s);
  EXPECT_EQ(s.confirmed_sequence, 60u);
  EXPECT_EQ(t.WaitFor(60).outcome, AckTracker::Outcome::kConfirmed);
  t.OnProgress("c", 80, 80, 80);
  t.FillStatus(&s);
  EXPECT_EQ(s.confirmed_sequence, 80u);
}

TEST(AckTracker, TimeoutWithPolicyFail) {
  AckTracker t(Cfg(AckMode::kDurable, 1, 50, AckTimeoutPolicy::kFail));
  t.OnProgress("s1", 9, 9, 9);
  const auto r = t.WaitFor(10);
  EXPECT_EQ(r.outcome, AckTracker::Outcome::kTimedOut);
  EXPECT_EQ(r.confirmed_sequence, 9u);
  SyncReplicationStatus s;
  t.FillStatus(&s);
  EXPECT_EQ(s.timeouts, 1u);
  EXPECT_FALSE(s.degraded);
  EXPECT_EQ(s.writes_waiting, 0u);
}

TEST(AckTracker, DegradeThenRecoverWhenTheSecondaryCatchesUp) {
  AckTracker t(Cfg(AckMode::kDurable, 1, 50, AckTimeoutPolicy::kDegrade));
  t.OnProgress("s1", 5, 5, 5);
  EXPECT_EQ(t.WaitFor(10).outcome, AckTracker::Outcome::kDegraded);
  SyncReplicationStatus s;
  t.FillStatus(&s);
  EXPECT_TRUE(s.degraded);
  EXPECT_GT(s.degraded_since_unix_ms, 0);
  EXPECT_NE(s.degraded_reason.find("sequence 10 was not confirmed by 1 secondary (ack mode durable) within 50 ms"),
            std::string::npos)
      << s.degraded_reason;
  EXPECT_NE(s.degraded_reason.find("s1=5"), std::string::npos) << s.degraded_reason;
  // Degraded: writes return at once.
  EXPECT_EQ(t.WaitFor(11).outcome, AckTracker::Outcome::kDegraded);
  EXPECT_EQ(t.WaitFor(12).outcome, AckTracker::Outcome::kDegraded);
  t.OnProgress("s1", 9, 9, 9);  // still behind what was written when it degraded (10)
  t.FillStatus(&s);
  EXPECT_TRUE(s.degraded);
  // (11 would end the catch-up round that started at 10; whether that was "quick" depends on the
  // clock, so this test goes straight to everything written.)
  t.OnProgress("s1", 12, 12, 12);  // everything written so far: back to sync
  t.FillStatus(&s);
  EXPECT_FALSE(s.degraded) << s.degraded_reason;
  EXPECT_EQ(s.degraded_reason, "");
  EXPECT_EQ(s.degradations, 1u);
  EXPECT_EQ(s.writes_unconfirmed, 3u);
  EXPECT_EQ(t.WaitFor(12).outcome, AckTracker::Outcome::kConfirmed);
  EXPECT_EQ(t.WaitFor(13).outcome, AckTracker::Outcome::kDegraded);  // times out again: degrades again
  t.FillStatus(&s);
  EXPECT_EQ(s.degradations, 2u);
}

TEST(AckTracker, NoSecondaryStaysDegraded) {
  AckTracker t(Cfg(AckMode::kReceived, 1, 20, AckTimeoutPolicy::kDegrade));
  EXPECT_EQ(t.WaitFor(1).outcome, AckTracker::Outcome::kDegraded);
  SyncReplicationStatus s;
  t.FillStatus(&s);
  EXPECT_TRUE(s.degraded);
  EXPECT_NE(s.degraded_reason.find("no secondary has connected"), std::string::npos) << s.degraded_reason;
}

TEST(AckTracker, InterruptReleasesWaiters) {
  AckTracker t(Cfg(AckMode::kDurable, 1, 600000, AckTimeoutPolicy::kFail));
  std::thread w([&] {
    const auto r = t.WaitFor(5);
    EXPECT_EQ(r.outcome, AckTracker::Outcome::kInterrupted);
    EXPECT_EQ(r.reason, "stopping");
  });
  ASSERT_TRUE(testing::WaitFor([&] {
    SyncReplicationStatus s;
    t.FillStatus(&s);
    return s.writes_waiting == 1;
  }));
  t.Interrupt("stopping");
  w.join();
}

// The write path's premise (ReplicatedDBImpl::FencedWrite): after DB::Write returns OK, the
// batch's first 8 bytes are the sequence RocksDB assigned, and [seq, seq + Count() - 1] is
// exactly this batch's, also for batches merged into another writer's group.
TEST(RocksDbSequences, WriteBatchHoldsItsAssignedSequenceUnderGroupCommit) {
  testing::TempDir dir;
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, dir.Sub("db"), &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 300;
  std::vector<std::vector<std::pair<uint64_t, uint32_t>>> ranges(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        rocksdb::WriteBatch b;
        const int n = 1 + (i + t) % 3;
        for (int k = 0; k < n; ++k) {
          ASSERT_TRUE(b.Put("t" + std::to_string(t) + "_" + std::to_string(i) + "_" + std::to_string(k), "v").ok());
        }
        ASSERT_TRUE(db->Write(rocksdb::WriteOptions(), &b).ok());
        const uint64_t seq = plugin::DecodeFixed64(std::string_view(b.Data()).substr(0, 8)).value_or(0);
        ASSERT_NE(seq, 0u);
        ranges[t].push_back({seq, b.Count()});
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<uint64_t> used;
  uint64_t total = 0;
  for (const auto& r : ranges) {
    for (auto [seq, count] : r) {
      for (uint64_t s = seq; s < seq + count; ++s) EXPECT_TRUE(used.insert(s).second) << "sequence " << s << " twice";
      total += count;
    }
  }
  EXPECT_EQ(total, db->GetLatestSequenceNumber());
  EXPECT_EQ(*used.begin(), 1u);
  EXPECT_EQ(*used.rbegin(), total);
}

}  // namespace
}  // namespace rocksdr
