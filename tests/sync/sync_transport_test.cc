// The transport's part of synchronous replication (protocol version 2): a secondary sends
// RECEIVED for a BATCHES frame BEFORE applying it, and the primary reports every secondary's
// progress (received / applied / durable) through PrimaryServerOptions::on_progress. The sink
// here blocks in Apply until the test releases it, so "received but not applied" is a state the
// test can look at, not a race.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "support/transport_harness.h"

namespace rocksdr {
namespace {

using testing::FakeSink;
using testing::TransportHarness;
using testing::WaitUntil;

// A FakeSink whose Apply waits until Release().
class GatedSink : public FakeSink {
 public:
  explicit GatedSink(uint64_t cursor) : FakeSink(cursor) {}
  Status Apply(const std::vector<replication::WalBatch>& batches) override {
    {
      std::unique_lock<std::mutex> l(mu_);
      ++entered_;
      cv_.wait(l, [&] { return open_; });
    }
    return FakeSink::Apply(batches);
  }
  void Release() {
    {
      std::lock_guard<std::mutex> l(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  int entered() {
    std::lock_guard<std::mutex> l(mu_);
    return entered_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int entered_ = 0;
};

struct Progress {
  std::mutex mu;
  replication::SecondaryProgress last;
  int reports = 0;
  replication::SecondaryProgress Get() {
    std::lock_guard<std::mutex> l(mu);
    return last;
  }
};

TEST(SyncTransport, ReceivedIsReportedBeforeTheBatchIsApplied) {
  TransportHarness h;
  Progress progress;
  auto o = h.ServerOptions();
  o.coalesce_delay = std::chrono::microseconds(0);
  o.on_progress = [&](const std::string& id, const replication::SecondaryProgress& p) {
    EXPECT_EQ(id, "s1");
    std::lock_guard<std::mutex> l(progress.mu);
    progress.last = p;
    ++progress.reports;
  };
  h.StartServer(std::move(o));
  GatedSink sink(0);
  auto client = TransportHarness::StartClient(h.ClientOptions("s1"), &sink);
  ASSERT_TRUE(client);
  ASSERT_TRUE(WaitUntil([&] {
    auto l = h.Link("s1");
    return l && l->state == replication::LinkState::kStreaming;
  }, std::chrono::seconds(30)));

  h.wal->AppendRandom(3, 20, 60, 7);
  const uint64_t last = h.wal->LatestSequence();
  // The secondary holds the frame in Apply: RECEIVED has reported it, the ACK has not.
  ASSERT_TRUE(WaitUntil([&] { return sink.entered() >= 1 && progress.Get().received_sequence >= 1; },
                        std::chrono::seconds(30)));
  replication::SecondaryProgress p = progress.Get();
  EXPECT_EQ(p.applied_sequence, 0u);
  EXPECT_EQ(p.durable_sequence, 0u);
  EXPECT_LE(p.received_sequence, last);

  sink.Release();
  ASSERT_TRUE(WaitUntil([&] { return progress.Get().applied_sequence == last; }, std::chrono::seconds(30)));
  p = progress.Get();
  EXPECT_EQ(p.received_sequence, last);
  EXPECT_EQ(p.durable_sequence, sink.DurableSequence());
  client->Stop();
  h.server->Stop();
}

}  // namespace
}  // namespace rocksdr
