// The transport's part of synchronous replication (protocol versions 2 and 3): a secondary sends
// RECEIVED for a BATCHES frame BEFORE applying it — at version 3 only when the primary asked
// for it in WELCOME (PrimaryServerOptions::request_received, ack mode `received`), at version 2
// always — and the primary reports every secondary's progress (received / applied / durable)
// through PrimaryServerOptions::on_progress. The sink here blocks in Apply until the test
// releases it, so "received but not applied" is a state the test can look at, not a race.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <vector>

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
  o.request_received = true;
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
  EXPECT_GE(h.Link("s1")->received_frames, 1u);
  client->Stop();
  h.server->Stop();
}

// Writes `batches` batches one frame at a time (each waits for the previous frame's ACK) to a
// secondary offering protocol versions up to `secondary_version`, with a primary that asks for
// RECEIVED or not. Returns the link's status once everything is applied; *reports gets every
// progress the primary reported.
replication::SecondaryLinkStatus StreamFrames(bool request_received, uint16_t secondary_version, int batches,
                                              std::vector<replication::SecondaryProgress>* reports) {
  TransportHarness h;
  std::mutex mu;
  auto o = h.ServerOptions();
  o.coalesce_delay = std::chrono::microseconds(0);
  o.request_received = request_received;
  o.on_progress = [&](const std::string&, const replication::SecondaryProgress& p) {
    std::lock_guard<std::mutex> l(mu);
    reports->push_back(p);
  };
  h.StartServer(std::move(o));
  FakeSink sink(0);
  auto co = h.ClientOptions("s1");
  co.max_protocol_version = secondary_version;
  auto client = TransportHarness::StartClient(co, &sink);
  EXPECT_TRUE(client);
  if (!client) return {};
  EXPECT_TRUE(WaitUntil([&] {
    auto l = h.Link("s1");
    return l && l->state == replication::LinkState::kStreaming;
  }, std::chrono::seconds(30)));
  for (int i = 0; i < batches; ++i) {
    h.wal->AppendRandom(1, 20, 60, 11 + i);
    const uint64_t last = h.wal->LatestSequence();
    EXPECT_TRUE(WaitUntil([&] { return h.Link("s1")->acked_sequence == last; }, std::chrono::seconds(30)));
  }
  // The progress of the last ACK was reported before the status is read.
  const uint64_t last = h.wal->LatestSequence();
  EXPECT_TRUE(WaitUntil([&] {
    std::lock_guard<std::mutex> l(mu);
    return !reports->empty() && reports->back().applied_sequence == last;
  }, std::chrono::seconds(30)));
  replication::SecondaryLinkStatus link = *h.Link("s1");
  client->Stop();
  h.server->Stop();
  return link;
}

TEST(SyncTransport, NoReceivedFramesUnlessThePrimaryAsksForThem) {
  // Ack modes async and durable (the runtime sets request_received only for `received`): a
  // version-3 secondary sends no RECEIVED at all; received_sequence follows the ACKs.
  std::vector<replication::SecondaryProgress> reports;
  replication::SecondaryLinkStatus link = StreamFrames(false, replication::kProtocolVersion, 5, &reports);
  EXPECT_EQ(link.received_frames, 0u);
  EXPECT_GE(link.acked_sequence, 5u);
  ASSERT_FALSE(reports.empty());
  for (const auto& p : reports) EXPECT_EQ(p.received_sequence, p.applied_sequence);

  // Asked for: one RECEIVED per BATCHES frame (5 frames; each waited for the previous ACK, and
  // RECEIVED precedes the ACK of its frame on the connection).
  reports.clear();
  link = StreamFrames(true, replication::kProtocolVersion, 5, &reports);
  EXPECT_EQ(link.received_frames, 5u);
}

TEST(SyncTransport, AVersion2SecondaryStillSendsReceived) {
  // A version-2 secondary cannot be told (its WELCOME has no flags): it sends RECEIVED for
  // every frame, and the primary accepts them, asked for or not.
  std::vector<replication::SecondaryProgress> reports;
  replication::SecondaryLinkStatus link = StreamFrames(false, 2, 3, &reports);
  EXPECT_EQ(link.received_frames, 3u);
  EXPECT_EQ(link.last_error, "");
  // Version 1: no RECEIVED at all.
  reports.clear();
  link = StreamFrames(true, 1, 3, &reports);
  EXPECT_EQ(link.received_frames, 0u);
  EXPECT_EQ(link.last_error, "");
}

TEST(SyncTransport, AProtocolVersionThisBuildDoesNotSpeakIsRefused) {
  TransportHarness h;
  h.StartServer(h.ServerOptions());
  FakeSink sink(0);
  for (uint16_t v : {uint16_t{0}, static_cast<uint16_t>(replication::kProtocolVersion + 1)}) {
    auto co = h.ClientOptions("s1");
    co.max_protocol_version = v;
    auto c = replication::SecondaryClient::Start(co, &sink);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
    EXPECT_NE(c.status().message().find("max_protocol_version"), std::string::npos) << c.status().ToString();
  }
  h.server->Stop();
}

// As DbSink does: the position held before a bootstrap stays the sink's Cursor() until the
// checkpoint is installed (FakeSink drops it at BeginBootstrap).
class KeepsCursorWhileBootstrappingSink : public FakeSink {
 public:
  explicit KeepsCursorWhileBootstrappingSink(uint64_t cursor) : FakeSink(cursor) {}
  std::optional<uint64_t> Cursor() override {
    std::lock_guard<std::mutex> l(mu_);
    return kept_ ? kept_ : FakeSink::Cursor();
  }
  Status BeginBootstrap(uint64_t sequence, uint32_t file_count, uint64_t total_bytes) override {
    const std::optional<uint64_t> before = FakeSink::Cursor();
    std::lock_guard<std::mutex> l(mu_);
    if (!kept_) kept_ = before;
    return FakeSink::BeginBootstrap(sequence, file_count, total_bytes);
  }
  Status CommitBootstrap() override {
    Status s = FakeSink::CommitBootstrap();
    std::lock_guard<std::mutex> l(mu_);
    if (s.ok()) kept_.reset();
    return s;
  }

 private:
  std::mutex mu_;
  std::optional<uint64_t> kept_;
};

// A secondary that is being bootstrapped ACKs the file chunks with the position it had before,
// which may be of another history: here a cursor beyond everything the primary holds, as
// after a primary that lost its unsynced WAL tail. That position must never reach synchronous
// replication as progress: it would confirm this primary's next writes while the secondary holds
// none of them. Progress counts from the install of the checkpoint on.
TEST(SyncTransport, ABootstrappingSecondarysOldPositionConfirmsNothing) {
  TransportHarness h;
  h.wal->AppendRandom(50, 16, 64, /*seed=*/21);
  testing::FakeCheckpoint cp;
  cp.sequence = h.wal->LatestSequence();
  cp.files = {{"CURRENT", "MANIFEST-000001\n"}, {"000001.sst", std::string(2 << 20, 'x')}};
  h.provider->SetCheckpoint(cp);
  std::mutex mu;
  std::vector<replication::SecondaryProgress> reports;
  auto o = h.ServerOptions();
  o.bootstrap_chunk_bytes = 64 * 1024;
  o.max_unacked_bytes = 128 * 1024;  // the pump waits for ACKs all through the bootstrap
  o.on_progress = [&](const std::string&, const replication::SecondaryProgress& p) {
    std::lock_guard<std::mutex> l(mu);
    reports.push_back(p);
  };
  h.StartServer(std::move(o));
  const uint64_t foreign = cp.sequence + 50;
  KeepsCursorWhileBootstrappingSink sink(foreign);
  auto c = TransportHarness::StartClient(h.ClientOptions("s1"), &sink);
  ASSERT_TRUE(c);
  ASSERT_TRUE(WaitUntil([&] { return sink.bootstraps_committed() == 1; }, std::chrono::seconds(30)))
      << c->GetStatus().last_error;
  h.wal->AppendRandom(5, 16, 64, /*seed=*/22);
  const uint64_t last = h.wal->LatestSequence();
  ASSERT_TRUE(WaitUntil([&] {
    std::lock_guard<std::mutex> l(mu);
    return !reports.empty() && reports.back().applied_sequence == last;
  }, std::chrono::seconds(30)));
  std::lock_guard<std::mutex> l(mu);
  for (const auto& p : reports) {
    EXPECT_LE(p.applied_sequence, last);
    EXPECT_NE(p.applied_sequence, foreign) << "the old position was reported as progress";
    EXPECT_NE(p.durable_sequence, foreign);
  }
  c->Stop();
  h.server->Stop();
}

}  // namespace
}  // namespace rocksdr
