// End-to-end tests of the replication sessions over real mutual TLS on 127.0.0.1: streaming,
// flow control, reconnection, bootstrap, revocation, epochs and sink failures. The RocksDB
// side is faked (tests/support/fake_source_sink.h).
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>

#include "support/transport_harness.h"

namespace rocksdr::testing {
namespace {

using replication::ClientState;
using replication::LinkState;

TEST(ShipperReceiver, StreamsHundredThousandBatchesInOrderToTwoSecondaries) {
  TransportHarness h;
  h.wal->AppendRandom(50000, 8, 200, /*seed=*/1);
  h.StartServer(h.ServerOptions());
  FakeSink sink1(0), sink2(0);
  auto c1 = h.StartClient(h.ClientOptions("s1"), &sink1);
  auto c2 = h.StartClient(h.ClientOptions("s2"), &sink2);
  // The other half arrives while the secondaries stream.
  std::thread writer([&] { h.wal->AppendRandom(50000, 8, 200, /*seed=*/2); });
  writer.join();
  const uint64_t latest = h.wal->LatestSequence();
  ASSERT_TRUE(sink1.WaitForCursor(latest, std::chrono::seconds(15)));
  ASSERT_TRUE(sink2.WaitForCursor(latest, std::chrono::seconds(15)));
  const auto expected = h.wal->BatchesFrom(1);
  ASSERT_EQ(expected.size(), 100000u);
  ExpectSameBatches(sink1.Applied(), expected);
  ExpectSameBatches(sink2.Applied(), expected);

  ASSERT_TRUE(WaitUntil([&] {
    auto l1 = h.Link("s1");
    auto l2 = h.Link("s2");
    return l1 && l2 && l1->acked_sequence == latest && l2->acked_sequence == latest;
  }));
  auto l1 = *h.Link("s1");
  EXPECT_EQ(l1.state, LinkState::kStreaming);
  EXPECT_EQ(l1.lag_sequences, 0u);
  EXPECT_EQ(l1.durable_sequence, latest);
  EXPECT_GT(l1.bytes_sent, h.wal->BytesThrough(latest));
  EXPECT_TRUE(l1.last_ack_time.has_value());
  // Heartbeats reach the secondary: it knows the primary's latest sequence and clock.
  ASSERT_TRUE(WaitUntil([&] { return c1->GetStatus().primary_clock.has_value(); }));
  ASSERT_TRUE(WaitUntil([&] { return c1->GetStatus().primary_sequence == latest; }));
  auto st = c1->GetStatus();
  EXPECT_EQ(st.state, ClientState::kStreaming);
  EXPECT_TRUE(st.last_frame_time.has_value());
  EXPECT_EQ(st.cursor, latest);
  EXPECT_EQ(st.primary_epoch, 1u);
  EXPECT_EQ(st.last_error, "");
  c1->Stop();
  c2->Stop();
  h.server->Stop();
  EXPECT_EQ(c1->GetStatus().state, ClientState::kStopped);
}

TEST(ShipperReceiver, FlowControlBoundsWhatThePrimaryReadsAheadOfAcks) {
  TransportHarness h;
  h.wal->AppendRandom(1500, 500, 1500, /*seed=*/3);
  auto o = h.ServerOptions();
  o.max_unacked_bytes = 64 * 1024;
  o.target_frame_bytes = 8 * 1024;
  h.StartServer(o);
  const uint64_t window = o.max_unacked_bytes;
  const uint64_t max_batch = h.wal->MaxRepSize();
  std::atomic<uint64_t> worst{0};
  std::atomic<uint64_t> reads{0};
  std::atomic<bool> violated{false};
  h.provider->SetReadHook([&](uint64_t last_read) {
    auto link = h.Link("s1");
    const uint64_t acked = link ? link->acked_sequence : 0;
    const uint64_t ahead = h.wal->BytesThrough(last_read) - h.wal->BytesThrough(acked);
    uint64_t w = worst.load();
    while (ahead > w && !worst.compare_exchange_weak(w, ahead)) {
    }
    if (ahead > window + max_batch) violated = true;
    ++reads;
  });
  FakeSink sink(0);
  sink.SetApplyDelay(std::chrono::microseconds(1500));  // a slow disk
  auto c = h.StartClient(h.ClientOptions("s1"), &sink);
  const uint64_t latest = h.wal->LatestSequence();
  ASSERT_TRUE(sink.WaitForCursor(latest, std::chrono::seconds(15)));
  EXPECT_FALSE(violated.load()) << "read " << worst.load() << " bytes ahead of the ACKs";
  // The bound was actually exercised: the primary ran up against the window.
  EXPECT_GT(worst.load(), window / 2);
  EXPECT_LE(worst.load(), window + max_batch);
  ExpectSameBatches(sink.Applied(), h.wal->BatchesFrom(1));
  c->Stop();
  h.server->Stop();
}

// The source may hand out one batch past its byte budget: small batches up to just under the
// budget and then a large one add up to more than the frame limit, though every batch fits on
// its own. The frame takes what fits and the rest opens the next frame (before: the pump refused
// the whole read with "larger than the frame limit", and the secondary reconnected forever).
TEST(ShipperReceiver, ReadsBeyondTheFrameLimitAreSplitIntoFramesThatFit) {
  TransportHarness h;
  for (int i = 0; i < 62; ++i) h.wal->Append(1, std::string(12, '\0') + std::string(500, 's'));  // ~31 KiB
  h.wal->Append(1, std::string(12, '\0') + std::string(40 * 1024, 'L'));
  for (int i = 0; i < 10; ++i) h.wal->Append(1, std::string(12, '\0') + std::string(500, 't'));
  auto o = h.ServerOptions();
  o.limits.max_frame_payload = 64 * 1024;
  o.target_frame_bytes = 32 * 1024;
  h.StartServer(o);
  FakeSink sink(0);
  auto co = h.ClientOptions("s1");
  co.limits.max_frame_payload = 64 * 1024;
  auto c = h.StartClient(co, &sink);
  ASSERT_TRUE(sink.WaitForCursor(h.wal->LatestSequence(), std::chrono::seconds(15))) << c->GetStatus().last_error;
  ExpectSameBatches(sink.Applied(), h.wal->BatchesFrom(1));
  auto link = h.Link("s1");
  ASSERT_TRUE(link);
  EXPECT_EQ(link->connections, 1u) << "no reconnection was needed";
  EXPECT_GE(link->batches_frames_sent, 2u);
  c->Stop();
  h.server->Stop();
}

TEST(ShipperReceiver, DroppedConnectionResumesFromCursorWithoutGapOrDuplicate) {
  TransportHarness h;
  h.StartServer(h.ServerOptions());
  FakeSink sink(0);
  auto c = h.StartClient(h.ClientOptions("s1"), &sink);
  std::thread writer([&] {
    for (int i = 0; i < 20; ++i) {
      h.wal->AppendRandom(1000, 16, 400, /*seed=*/100 + i);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  // Drop the TCP connection several times while batches flow.
  int drops = 0;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(WaitUntil([&] { return c->GetStatus().state == ClientState::kStreaming; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    h.server->Disconnect("s1");
    ++drops;
  }
  writer.join();
  const uint64_t latest = h.wal->LatestSequence();
  ASSERT_TRUE(sink.WaitForCursor(latest, std::chrono::seconds(15)))
      << c->GetStatus().last_error;
  // The sink refuses any discontinuity, so equality proves no gap and no duplicate.
  ExpectSameBatches(sink.Applied(), h.wal->BatchesFrom(1));
  auto st = c->GetStatus();
  EXPECT_FALSE(st.halted);
  EXPECT_GE(st.reconnects, 1u);
  auto link = h.Link("s1");
  ASSERT_TRUE(link);
  EXPECT_GE(link->connections, 2u);
  c->Stop();
  h.server->Stop();
}

TEST(ShipperReceiver, BootstrapsFromCheckpointThenStreamsWithoutGap) {
  TransportHarness h;
  h.wal->AppendRandom(1000, 16, 64, /*seed=*/5);
  const auto all = h.wal->BatchesFrom(1);
  const uint64_t checkpoint_seq = all[599].last_sequence();
  h.wal->Truncate(all[500].sequence);  // the secondary's old position is gone
  FakeCheckpoint cp;
  cp.sequence = checkpoint_seq;
  std::mt19937 rng(9);
  for (size_t size : {size_t{0}, size_t{1}, size_t{100000}, size_t{3000000}, size_t{1500001}}) {
    std::string content(size, '\0');
    for (auto& ch : content) ch = static_cast<char>(rng());
    cp.files.emplace_back("file-" + std::to_string(cp.files.size()) + ".sst", content);
  }
  uint64_t total = 0;
  for (auto& f : cp.files) total += f.second.size();
  h.provider->SetCheckpoint(cp);
  auto o = h.ServerOptions();
  o.bootstrap_chunk_bytes = 256 * 1024;
  o.max_unacked_bytes = 1 << 20;
  h.StartServer(o);
  FakeSink sink(100);  // a position the WAL no longer holds
  auto c = h.StartClient(h.ClientOptions("s1"), &sink);
  std::thread writer([&] { h.wal->AppendRandom(500, 16, 64, /*seed=*/6); });
  writer.join();
  const uint64_t latest = h.wal->LatestSequence();
  ASSERT_TRUE(sink.WaitForCursor(latest, std::chrono::seconds(15))) << c->GetStatus().last_error;
  EXPECT_EQ(sink.bootstraps_committed(), 1);
  // Byte-for-byte equal files.
  auto files = sink.Files();
  ASSERT_EQ(files.size(), cp.files.size());
  for (auto& [name, content] : cp.files) {
    ASSERT_TRUE(files.count(name)) << name;
    EXPECT_TRUE(files[name] == content) << name;
  }
  // Streaming continued at checkpoint + 1 with no gap.
  ExpectSameBatches(sink.Applied(), h.wal->BatchesFrom(checkpoint_seq + 1));
  // Progress and reason are reported on both sides.
  auto st = c->GetStatus();
  EXPECT_EQ(st.bootstrap_bytes_total, total);
  EXPECT_EQ(st.bootstrap_bytes_received, total);
  EXPECT_NE(st.bootstrap_reason.find("no longer"), std::string::npos) << st.bootstrap_reason;
  auto link = h.Link("s1");
  ASSERT_TRUE(link);
  EXPECT_EQ(link->bootstrap_bytes_total, total);
  EXPECT_EQ(link->bootstrap_bytes_sent, total);
  EXPECT_NE(link->bootstrap_reason.find("no longer"), std::string::npos);
  EXPECT_EQ(h.provider->checkpoints_created(), 1);
  c->Stop();
  h.server->Stop();
}

TEST(ShipperReceiver, FreshSecondaryWithoutCursorIsBootstrapped) {
  TransportHarness h;
  h.wal->AppendRandom(100, 16, 64, /*seed=*/7);
  FakeCheckpoint cp;
  cp.sequence = h.wal->LatestSequence();
  cp.files = {{"CURRENT", "MANIFEST-000001\n"}, {"000001.sst", std::string(70000, 'x')}};
  h.provider->SetCheckpoint(cp);
  h.StartServer(h.ServerOptions());
  FakeSink sink;  // no cursor
  auto c = h.StartClient(h.ClientOptions("s1"), &sink);
  h.wal->AppendRandom(10, 16, 64, /*seed=*/8);
  ASSERT_TRUE(sink.WaitForCursor(h.wal->LatestSequence(), std::chrono::seconds(10)));
  EXPECT_EQ(sink.Files().at("CURRENT"), "MANIFEST-000001\n");
  ExpectSameBatches(sink.Applied(), h.wal->BatchesFrom(cp.sequence + 1));
  EXPECT_NE(c->GetStatus().bootstrap_reason.find("no usable position"), std::string::npos);
}

TEST(ShipperReceiver, RevokeDisconnectsAndRefusesTheSecondary) {
  TransportHarness h;
  h.wal->AppendRandom(100, 16, 64, /*seed=*/10);
  h.StartServer(h.ServerOptions());
  FakeSink sink(0), other(0);
  auto c = h.StartClient(h.ClientOptions("s1"), &sink);
  auto c2 = h.StartClient(h.ClientOptions("s2"), &other);
  ASSERT_TRUE(sink.WaitForCursor(h.wal->LatestSequence(), std::chrono::seconds(10)));
  ASSERT_TRUE(other.WaitForCursor(h.wal->LatestSequence(), std::chrono::seconds(10)));
  h.server->Revoke("s1");
  ASSERT_TRUE(WaitUntil([&] { return c->GetStatus().halted; }));
  auto st = c->GetStatus();
  EXPECT_EQ(st.state, ClientState::kIdleWithError);
  EXPECT_NE(st.last_error.find("revoked"), std::string::npos) << st.last_error;
  ASSERT_TRUE(WaitUntil([&] { return h.Link("s1")->state == LinkState::kDisconnected; }));
  // Writes keep flowing to s2 only.
  const size_t before = sink.AppliedCount();
  h.wal->AppendRandom(50, 16, 64, /*seed=*/11);
  ASSERT_TRUE(other.WaitForCursor(h.wal->LatestSequence(), std::chrono::seconds(10)));
  EXPECT_EQ(sink.AppliedCount(), before);
  // A new connection as s1 is refused too.
  FakeSink again(0);
  auto c3 = h.StartClient(h.ClientOptions("s1"), &again);
  ASSERT_TRUE(WaitUntil([&] { return c3->GetStatus().halted; }));
  EXPECT_NE(c3->GetStatus().last_error.find("revoked"), std::string::npos);
  EXPECT_EQ(again.AppliedCount(), 0u);
}

TEST(ShipperReceiver, SinkErrorStopsApplyingAndStatusSaysWhy) {
  TransportHarness h;
  h.StartServer(h.ServerOptions());
  FakeSink sink(0);
  // Not a storage failure (sink_retry.h): the stream itself is refused, retrying cannot help.
  sink.FailApplyAfter(3, Status::Corruption("disk full on /data"));
  auto c = h.StartClient(h.ClientOptions("s1"), &sink);
  for (int i = 0; i < 10; ++i) {
    h.wal->AppendRandom(10, 16, 64, /*seed=*/20 + i);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(WaitUntil([&] { return c->GetStatus().halted; }));
  auto st = c->GetStatus();
  EXPECT_EQ(st.state, ClientState::kIdleWithError);
  EXPECT_NE(st.last_error.find("disk full on /data"), std::string::npos) << st.last_error;
  const size_t applied = sink.AppliedCount();
  const auto cursor = sink.Cursor();
  h.wal->AppendRandom(100, 16, 64, /*seed=*/40);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(sink.AppliedCount(), applied);
  EXPECT_EQ(sink.Cursor(), cursor);
  EXPECT_LT(*cursor, h.wal->LatestSequence());
  // The primary saw the secondary leave with the reason.
  ASSERT_TRUE(WaitUntil([&] { return h.Link("s1")->state == LinkState::kDisconnected; }));
  EXPECT_NE(h.Link("s1")->last_error.find("disk full"), std::string::npos);
}

TEST(ShipperReceiver, LocalStorageFailureIsRetriedOnceTheSinkRecovers) {
  TransportHarness h;
  h.StartServer(h.ServerOptions());
  FakeSink sink(0);
  sink.FailApplyAfter(3, Status::IOError("No space left on device"));
  sink.SetRecoverResult(Status::IOError("still full: No space left on device"));
  auto options = h.ClientOptions("s1");
  options.storage_retry.initial = std::chrono::milliseconds(20);
  options.storage_retry.cap = std::chrono::milliseconds(40);
  auto c = h.StartClient(options, &sink);
  for (int i = 0; i < 10; ++i) {
    h.wal->AppendRandom(10, 16, 64, /*seed=*/60 + i);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // Waiting to retry, not halted; the status says what failed, when and where.
  replication::SecondaryClientStatus st;
  ASSERT_TRUE(WaitUntil([&] {
    st = c->GetStatus();
    return st.local_storage_failed && st.storage_retry_attempt >= 3;
  })) << st.last_error;
  EXPECT_FALSE(st.halted);
  EXPECT_NE(st.local_storage_error.find("No space left on device"), std::string::npos) << st.local_storage_error;
  ASSERT_TRUE(WaitUntil([&] {
    st = c->GetStatus();
    return st.state == ClientState::kIdleWithError && st.next_attempt_time.has_value();
  }));
  EXPECT_NE(st.last_error.find("local storage failed"), std::string::npos) << st.last_error;
  EXPECT_NE(st.last_error.find("free space on /data/fake-sink"), std::string::npos) << st.last_error;
  EXPECT_GE(sink.recover_calls(), 2);  // a failing recovery does not reconnect: it waits again
  // Nothing is applied while the storage fails.
  const size_t applied = sink.AppliedCount();
  const auto cursor = sink.Cursor();
  ASSERT_TRUE(cursor.has_value());
  EXPECT_LT(*cursor, h.wal->LatestSequence());
  const int calls = sink.recover_calls();
  ASSERT_TRUE(WaitUntil([&] { return sink.recover_calls() >= calls + 2; }));
  EXPECT_EQ(sink.AppliedCount(), applied);
  EXPECT_EQ(sink.Cursor(), cursor);

  // Space freed: the next attempt recovers, reconnects and resumes at cursor + 1.
  sink.SetRecoverResult(Status::OK());
  h.wal->AppendRandom(20, 16, 64, /*seed=*/80);
  const uint64_t latest = h.wal->LatestSequence();
  ASSERT_TRUE(sink.WaitForCursor(latest, std::chrono::seconds(15)));
  ExpectSameBatches(sink.Applied(), h.wal->BatchesFrom(1));  // nothing skipped, nothing twice
  ASSERT_TRUE(WaitUntil([&] {
    st = c->GetStatus();
    return st.state == ClientState::kStreaming && !st.local_storage_failed;
  })) << st.last_error;
  EXPECT_FALSE(st.halted);
  EXPECT_EQ(st.storage_retry_attempt, 0u);
  EXPECT_EQ(st.local_storage_error, "");
}

TEST(ShipperReceiver, WalGoneWhileDisconnectedLeadsToBootstrap) {
  TransportHarness h;
  h.wal->AppendRandom(50, 16, 64, /*seed=*/50);
  h.StartServer(h.ServerOptions());
  FakeSink sink(0);
  auto c = h.StartClient(h.ClientOptions("s1"), &sink);
  ASSERT_TRUE(sink.WaitForCursor(h.wal->LatestSequence(), std::chrono::seconds(10)));
  // The secondary is stopped; meanwhile the WAL it needs is deleted.
  c->Stop();
  h.wal->AppendRandom(50, 16, 64, /*seed=*/51);
  h.wal->Truncate(h.wal->LatestSequence() - 5);
  FakeCheckpoint cp;
  // A checkpoint sequence at the end of a retained batch, so the WAL holds cp.sequence + 1.
  auto retained = h.wal->BatchesFrom(0);
  ASSERT_GE(retained.size(), 2u);
  cp.sequence = retained[retained.size() - 2].last_sequence();
  cp.files = {{"a.sst", "hello"}};
  h.provider->SetCheckpoint(cp);
  auto c2 = h.StartClient(h.ClientOptions("s1"), &sink);
  h.wal->AppendRandom(5, 16, 64, /*seed=*/52);
  ASSERT_TRUE(sink.WaitForCursor(h.wal->LatestSequence(), std::chrono::seconds(10)));
  EXPECT_EQ(sink.bootstraps_committed(), 1);
  ExpectSameBatches(sink.Applied(), h.wal->BatchesFrom(cp.sequence + 1));
}

TEST(ShipperReceiver, WalGapInTheMiddleOfStreamingReBootstrapsOnTheSameConnection) {
  TransportHarness h;
  h.wal->AppendRandom(2000, 800, 1200, /*seed=*/53);
  auto o = h.ServerOptions();
  o.max_unacked_bytes = 64 * 1024;
  o.target_frame_bytes = 8 * 1024;
  h.StartServer(o);
  FakeSink sink(0);
  sink.SetApplyDelay(std::chrono::milliseconds(2));
  auto c = h.StartClient(h.ClientOptions("s1"), &sink);
  ASSERT_TRUE(WaitUntil([&] { return sink.AppliedCount() > 50; }));
  // The WAL the pump has not read yet disappears (flow control keeps it well behind).
  auto all = h.wal->BatchesFrom(1);
  FakeCheckpoint cp;
  cp.sequence = all[all.size() - 3].last_sequence();
  cp.files = {{"b.sst", std::string(5000, 'b')}};
  h.provider->SetCheckpoint(cp);
  h.wal->Truncate(all[all.size() - 2].sequence);
  ASSERT_TRUE(sink.WaitForCursor(h.wal->LatestSequence(), std::chrono::seconds(15)))
      << c->GetStatus().last_error;
  EXPECT_EQ(sink.bootstraps_committed(), 1);
  EXPECT_EQ(sink.Files().at("b.sst"), std::string(5000, 'b'));
  ExpectSameBatches(sink.Applied(), h.wal->BatchesFrom(cp.sequence + 1));
  EXPECT_FALSE(c->GetStatus().halted);
  EXPECT_EQ(c->GetStatus().reconnects, 0u);  // same connection
  auto link = h.Link("s1");
  ASSERT_TRUE(link);
  EXPECT_EQ(link->connections, 1u);
  EXPECT_NE(link->bootstrap_reason.find("no longer holds"), std::string::npos)
      << link->bootstrap_reason;
}

TEST(ShipperReceiver, NewerEpochOnSecondaryFencesThePrimary) {
  TransportHarness h;
  auto o = h.ServerOptions();
  std::atomic<uint64_t> fenced_by{0};
  o.on_fenced = [&](uint64_t e) { fenced_by = e; };
  h.StartServer(o);
  FakeSink sink(0);
  auto co = h.ClientOptions("s1");
  co.epoch = 2;  // this secondary was promoted meanwhile... or follows a newer primary
  auto c = h.StartClient(co, &sink);
  ASSERT_TRUE(WaitUntil([&] { return c->GetStatus().halted; }));
  EXPECT_EQ(fenced_by.load(), 2u);
  ASSERT_TRUE(h.server->FencedReason().has_value());
  EXPECT_NE(h.server->FencedReason()->find("fenced: a newer epoch 2 exists"), std::string::npos);
  EXPECT_NE(c->GetStatus().last_error.find("epoch"), std::string::npos)
      << c->GetStatus().last_error;
  // A fenced primary ships to nobody, not even a secondary of its own epoch.
  h.wal->AppendRandom(10, 16, 64, /*seed=*/60);
  FakeSink sink2(0);
  auto c2 = h.StartClient(h.ClientOptions("s2"), &sink2);
  ASSERT_TRUE(WaitUntil([&] { return c2->GetStatus().halted; }));
  EXPECT_NE(c2->GetStatus().last_error.find("superseded"), std::string::npos);
  EXPECT_EQ(sink2.AppliedCount(), 0u);
}

TEST(ShipperReceiver, OlderEpochSecondaryIsBootstrappedNotStreamed) {
  TransportHarness h;
  h.wal->AppendRandom(20, 16, 64, /*seed=*/70);
  FakeCheckpoint cp;
  cp.sequence = h.wal->LatestSequence();
  cp.files = {{"x.sst", "data"}};
  h.provider->SetCheckpoint(cp);
  auto o = h.ServerOptions();
  o.epoch = 3;
  h.StartServer(o);
  FakeSink sink(5);
  auto c = h.StartClient(h.ClientOptions("s1"), &sink);  // epoch 1
  ASSERT_TRUE(sink.WaitForCursor(cp.sequence, std::chrono::seconds(10)));
  EXPECT_EQ(sink.bootstraps_committed(), 1);
  auto st = c->GetStatus();
  EXPECT_EQ(st.primary_epoch, 3u);
  EXPECT_NE(st.bootstrap_reason.find("epoch"), std::string::npos) << st.bootstrap_reason;
}

TEST(ShipperReceiver, WrongClusterIdIsRefused) {
  TransportHarness h;
  h.wal->AppendRandom(10, 16, 64, /*seed=*/80);
  h.StartServer(h.ServerOptions());
  FakeSink sink(0);
  auto co = h.ClientOptions("s1");
  co.cluster_id = "cluster-b";
  co.tls = h.pki.Client("s1");  // no cluster SAN: only the HELLO names the cluster
  auto c = h.StartClient(co, &sink);
  ASSERT_TRUE(WaitUntil([&] { return c->GetStatus().halted; }));
  EXPECT_NE(c->GetStatus().last_error.find("cluster"), std::string::npos)
      << c->GetStatus().last_error;
  EXPECT_EQ(sink.AppliedCount(), 0u);
  EXPECT_TRUE(h.server->GetStatus().empty());
}

TEST(ShipperReceiver, CertificateMustNameTheSecondaryId) {
  TransportHarness h;
  h.StartServer(h.ServerOptions());
  FakeSink sink(0);
  auto co = h.ClientOptions("s2");
  co.tls = h.pki.Client("s1", kCluster);  // s1's certificate, claiming to be s2
  auto c = h.StartClient(co, &sink);
  ASSERT_TRUE(WaitUntil([&] { return c->GetStatus().halted; }));
  EXPECT_NE(c->GetStatus().last_error.find("issued to \"s1\""), std::string::npos)
      << c->GetStatus().last_error;
}

// One secondary whose apply takes 2 ms, a writer adding a batch every ~200 us for `run`; the
// frames the primary sent for it (all batches arrive, in order, either way).
struct PacedRun {
  uint64_t frames = 0;
  double run_ms = 0;
  std::chrono::milliseconds lone_write_latency{0};
};
PacedRun RunPaced(std::chrono::microseconds busy_frame_interval, std::chrono::milliseconds run,
                  std::chrono::microseconds max_delay = std::chrono::milliseconds(500)) {
  TransportHarness h;
  auto o = h.ServerOptions();
  o.coalesce_delay = max_delay;
  o.busy_frame_interval = busy_frame_interval;
  h.StartServer(o);
  FakeSink sink(0);
  sink.SetApplyDelay(std::chrono::milliseconds(2));
  auto c = h.StartClient(h.ClientOptions("s1"), &sink);
  PacedRun out;
  const auto start = std::chrono::steady_clock::now();
  std::mt19937 rng(7);
  while (std::chrono::steady_clock::now() - start < run) {
    h.wal->Append(1, std::string(12, '\0') + std::string(50 + rng() % 100, 'x'));
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  out.run_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(sink.WaitForCursor(h.wal->LatestSequence(), std::chrono::seconds(15)));
  ExpectSameBatches(sink.Applied(), h.wal->BatchesFrom(1));
  EXPECT_TRUE(WaitUntil([&] { return h.Link("s1") && h.Link("s1")->acked_sequence == h.wal->LatestSequence(); }));
  out.frames = h.Link("s1")->batches_frames_sent;
  // An idle link is not paced: once everything is ACKed and the (base) interval has passed, a
  // lone write goes at once, also when heavy frames had made the interval in force grow.
  std::this_thread::sleep_for(busy_frame_interval + std::chrono::milliseconds(20));
  const auto t0 = std::chrono::steady_clock::now();
  h.wal->Append(1, std::string(12, '\0') + "lone");
  EXPECT_TRUE(sink.WaitForCursor(h.wal->LatestSequence(), std::chrono::seconds(15)));
  out.lone_write_latency =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  c->Stop();
  h.server->Stop();
  return out;
}

TEST(ShipperReceiver, BusyLinkIsPacedIntoFewerLargerFrames) {
  // Stretched under the sanitizers (TestTimeScale), so the lone write's bound stays generous.
  const auto interval = Scaled(std::chrono::milliseconds(50));
  const PacedRun unpaced = RunPaced(std::chrono::microseconds(0), 12 * interval);
  const PacedRun paced = RunPaced(interval, 12 * interval);
  // Unpaced, a frame goes whenever the previous one is ACKed (about every 2 ms apply); paced,
  // at most one per interval once the link is busy (+ the first frames before it was busy).
  EXPECT_LE(paced.frames, static_cast<uint64_t>(paced.run_ms / interval.count()) + 3)
      << "paced: " << paced.frames << " frames in " << paced.run_ms << " ms";
  EXPECT_GT(unpaced.frames, 3 * paced.frames)
      << "unpaced: " << unpaced.frames << " frames, paced: " << paced.frames;
  // The bound on the extra lag: the lone write after idling was not held for an interval.
  EXPECT_LT(paced.lone_write_latency, interval);
}

TEST(ShipperReceiver, HeavyFramesStretchTheIntervalUpToTheMaxBatchDelay) {
  // A batch every ~200 us: over a hundred per interval, so every paced frame is heavy (>= 64
  // batches) and the interval doubles each frame: 1, 2, 4, 8, then 8 x the base (the max delay
  // here), i.e. about 6 frames in 24 intervals where a fixed interval would send 24.
  const auto interval = Scaled(std::chrono::milliseconds(40));
  const PacedRun run = RunPaced(interval, 24 * interval, 8 * interval);
  EXPECT_LE(run.frames, 12u) << run.frames << " frames in " << run.run_ms << " ms";
  EXPECT_LT(run.lone_write_latency, interval);
}

TEST(ShipperReceiver, StopIsBoundedWithSlowSecondary) {
  TransportHarness h;
  h.wal->AppendRandom(2000, 500, 1000, /*seed=*/90);
  auto o = h.ServerOptions();
  o.max_unacked_bytes = 64 * 1024;
  h.StartServer(o);
  FakeSink sink(0);
  sink.SetApplyDelay(std::chrono::milliseconds(20));
  auto c = h.StartClient(h.ClientOptions("s1"), &sink);
  ASSERT_TRUE(WaitUntil([&] { return sink.AppliedCount() > 0; }));
  const auto start = std::chrono::steady_clock::now();
  h.server->Stop();
  c->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_EQ(c->GetStatus().state, ClientState::kStopped);
}

}  // namespace
}  // namespace rocksdr::testing
