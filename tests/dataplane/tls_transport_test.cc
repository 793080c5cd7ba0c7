// Tests of the replication transport's TLS and wire hygiene: mutual authentication against the
// replication CA (foreign CA both ways, expired certificate, host name), TLS 1.3 only, and
// malformed or refused frames closing the connection with an ERROR and nothing applied. Raw
// TLS peers (RawPeer) stand in for a misbehaving primary or secondary.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <ctime>

#include "rocksdr/replication/frame.h"
#include "rocksdr/replication/messages.h"
#include "support/time_scale.h"
#include "support/raw_peer.h"
#include "support/transport_harness.h"

namespace rocksdr::testing {
namespace {

using replication::ClientState;
using replication::ErrorCode;
using replication::Frame;
using replication::FrameType;
using replication::TlsRole;

TEST(TlsTransport, ClientWithForeignCaCertificateIsRefusedAndBothSidesSayWhy) {
  LogCapture logs;
  TransportHarness h;
  h.wal->AppendRandom(10, 16, 64, 1);
  h.StartServer(h.ServerOptions());
  TestPki foreign("some other CA");
  FakeSink sink(0);
  auto o = h.ClientOptions("s1");
  auto creds = foreign.Client("s1", kCluster);
  o.tls.cert_pem = creds.cert_pem;
  o.tls.key_pem = creds.key_pem;  // trusts the real CA, presents a foreign certificate
  auto c = h.StartClient(o, &sink);
  ASSERT_TRUE(WaitUntil([&] { return c->GetStatus().connect_attempts >= 2; }));
  auto st = c->GetStatus();
  EXPECT_NE(st.last_error.find("unknown ca"), std::string::npos) << st.last_error;
  EXPECT_FALSE(st.halted);  // a TLS failure may be transient (rotated certificates): retry
  EXPECT_TRUE(WaitUntil([&] { return logs.Contains("unable to get local issuer certificate"); }));
  c->Stop();
  h.server->Stop();
  EXPECT_TRUE(logs.Contains("unable to get local issuer certificate")) << logs.Text();
  EXPECT_EQ(sink.AppliedCount(), 0u);
  EXPECT_TRUE(h.server->GetStatus().empty());
}

TEST(TlsTransport, ServerWithForeignCaCertificateIsRefusedAndBothSidesSayWhy) {
  LogCapture logs;
  TransportHarness h;
  TestPki foreign("some other CA");
  auto so = h.ServerOptions();
  auto creds = foreign.Server(kCluster);
  so.tls.cert_pem = creds.cert_pem;
  so.tls.key_pem = creds.key_pem;
  h.StartServer(so);
  FakeSink sink(0);
  auto c = h.StartClient(h.ClientOptions("s1"), &sink);
  ASSERT_TRUE(WaitUntil([&] { return c->GetStatus().connect_attempts >= 2; }));
  auto st = c->GetStatus();
  EXPECT_NE(st.last_error.find("unable to get local issuer certificate"), std::string::npos)
      << st.last_error;
  EXPECT_TRUE(WaitUntil([&] { return logs.Contains("unknown ca"); })) << logs.Text();
  c->Stop();
  h.server->Stop();
}

TEST(TlsTransport, ExpiredClientCertificateIsRefused) {
  LogCapture logs;
  TransportHarness h;
  h.StartServer(h.ServerOptions());
  FakeSink sink(0);
  auto o = h.ClientOptions("s1");
  o.tls = h.pki.Client("s1", kCluster, std::time(nullptr) - 10 * 86400,
                       std::chrono::hours(24));  // expired nine days ago
  auto c = h.StartClient(o, &sink);
  ASSERT_TRUE(WaitUntil([&] { return c->GetStatus().connect_attempts >= 2; }));
  auto st = c->GetStatus();
  EXPECT_NE(st.last_error.find("certificate expired"), std::string::npos) << st.last_error;
  EXPECT_TRUE(WaitUntil([&] { return logs.Contains("certificate has expired"); }));
  c->Stop();
  h.server->Stop();
  EXPECT_TRUE(logs.Contains("certificate has expired")) << logs.Text();
  EXPECT_EQ(sink.AppliedCount(), 0u);
}

TEST(TlsTransport, ServerCertificateMustNameTheHostConnectedTo) {
  TransportHarness h;
  auto so = h.ServerOptions();
  so.listen_host = "0.0.0.0";
  h.StartServer(so);
  FakeSink sink(0);
  auto o = h.ClientOptions("s1");
  o.primary_host = "127.0.0.2";  // not in the server certificate's SANs, still our machine
  auto c = h.StartClient(o, &sink);
  ASSERT_TRUE(WaitUntil([&] { return c->GetStatus().connect_attempts >= 2; }));
  EXPECT_NE(c->GetStatus().last_error.find("does not name the host \"127.0.0.2\""),
            std::string::npos)
      << c->GetStatus().last_error;
  c->Stop();
  // Name checking off: the same connection works.
  auto o2 = h.ClientOptions("s1");
  o2.primary_host = "127.0.0.2";
  o2.verify_primary_host = false;
  h.wal->AppendRandom(5, 16, 64, 2);
  auto c2 = h.StartClient(o2, &sink);
  ASSERT_TRUE(sink.WaitForCursor(h.wal->LatestSequence(), std::chrono::seconds(10)));
}

TEST(TlsTransport, Tls12ClientIsRefused) {
  LogCapture logs;
  TransportHarness h;
  h.StartServer(h.ServerOptions());
  RawPeer peer(TlsRole::kClient, h.pki.Client("s1", kCluster));
  SSL_CTX_set_min_proto_version(peer.ctx().native_handle(), TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(peer.ctx().native_handle(), TLS1_2_VERSION);
  auto ec = peer.Connect(h.server->port());
  EXPECT_TRUE(ec) << "a TLS 1.2 handshake succeeded";
  EXPECT_TRUE(WaitUntil([&] { return logs.Contains("TLS handshake failed"); })) << logs.Text();
  h.server->Stop();
}

TEST(TlsTransport, MalformedFrameFromSecondaryGetsErrorAndClose) {
  TransportHarness h;
  h.StartServer(h.ServerOptions());
  RawPeer peer(TlsRole::kClient, h.pki.Client("s1", kCluster));
  ASSERT_FALSE(peer.Connect(h.server->port()));
  // A HELLO whose CRC is broken.
  replication::Hello hello;
  hello.cluster_id = kCluster;
  hello.secondary_id = "s1";
  std::string bytes = peer.FrameOf(hello);
  bytes[bytes.size() - 1] ^= 0x5a;
  ASSERT_FALSE(peer.Write(bytes));
  auto reply = peer.ReadFrame();
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->type, FrameType::kError);
  replication::ErrorMessage err;
  ASSERT_TRUE(replication::Decode(reply->payload, &err).ok());
  EXPECT_EQ(err.code, static_cast<uint16_t>(ErrorCode::kProtocolViolation));
  EXPECT_NE(err.message.find("malformed frame"), std::string::npos) << err.message;
  EXPECT_FALSE(peer.ReadFrame());  // then the connection closes
}

TEST(TlsTransport, OversizeFrameLengthIsRefusedBeforeBuffering) {
  TransportHarness h;
  h.StartServer(h.ServerOptions());
  RawPeer peer(TlsRole::kClient, h.pki.Client("s1", kCluster));
  ASSERT_FALSE(peer.Connect(h.server->port()));
  std::string header = {'\xff', '\xff', '\xff', '\x7f', '\x01'};  // 2 GiB HELLO
  ASSERT_FALSE(peer.Write(header));
  auto reply = peer.ReadFrame();
  ASSERT_TRUE(reply);
  replication::ErrorMessage err;
  ASSERT_TRUE(replication::Decode(reply->payload, &err).ok());
  EXPECT_EQ(err.code, static_cast<uint16_t>(ErrorCode::kLimitExceeded));
}

// A fake primary answers the client's HELLO with `welcome`, then sends `after` frames; returns
// the frames the client sent back after its HELLO.
struct FakePrimaryRun {
  replication::Hello hello;
  std::vector<Frame> replies;
};

FakePrimaryRun RunFakePrimary(TransportHarness& h, RawPeer& primary, uint16_t port,
                              FakeSink* sink, const replication::Welcome& welcome,
                              const std::vector<std::string>& after,
                              std::unique_ptr<replication::SecondaryClient>* client) {
  FakePrimaryRun run;
  auto o = h.ClientOptions("s1");
  o.primary_port = port;
  *client = TransportHarness::StartClient(o, sink);
  EXPECT_FALSE(primary.Accept());
  auto hello = primary.ReadFrame();
  EXPECT_TRUE(hello && hello->type == FrameType::kHello);
  if (hello) {
    EXPECT_TRUE(replication::Decode(hello->payload, &run.hello).ok());
  }
  EXPECT_FALSE(primary.Write(primary.FrameOf(welcome)));
  for (const auto& f : after) EXPECT_FALSE(primary.Write(f));
  while (auto f = primary.ReadFrame()) run.replies.push_back(std::move(*f));
  return run;
}

replication::Welcome StreamWelcome(uint64_t epoch, uint64_t from, const std::string& cluster) {
  replication::Welcome w;
  w.cluster_id = cluster;
  w.epoch = epoch;
  w.mode = replication::ResumeMode::kStream;
  w.stream_from_sequence = from;
  return w;
}

uint16_t ErrorCodeOf(const std::vector<Frame>& frames) {
  for (const auto& f : frames) {
    if (f.type == FrameType::kError) {
      replication::ErrorMessage m;
      if (replication::Decode(f.payload, &m).ok()) return m.code;
    }
  }
  return 0;
}

TEST(TlsTransport, SecondaryRefusesAPrimaryOfAnOlderEpoch) {
  TransportHarness h;
  RawPeer primary(TlsRole::kServer, h.pki.Server(kCluster));
  const uint16_t port = primary.Listen();
  FakeSink sink(0);
  std::unique_ptr<replication::SecondaryClient> client;
  // The client runs at epoch 1 (ClientOptions); make the primary claim epoch 0 < 1.
  auto run = RunFakePrimary(h, primary, port, &sink, StreamWelcome(0, 1, kCluster), {}, &client);
  EXPECT_EQ(run.hello.epoch, 1u);
  EXPECT_EQ(ErrorCodeOf(run.replies), static_cast<uint16_t>(ErrorCode::kStaleEpoch));
  ASSERT_TRUE(WaitUntil([&] { return client->GetStatus().halted; }));
  EXPECT_NE(client->GetStatus().last_error.find("epoch"), std::string::npos)
      << client->GetStatus().last_error;
  EXPECT_EQ(sink.AppliedCount(), 0u);
}

TEST(TlsTransport, SecondaryRefusesAWelcomeFromAnotherCluster) {
  TransportHarness h;
  RawPeer primary(TlsRole::kServer, h.pki.Server(kCluster));
  const uint16_t port = primary.Listen();
  FakeSink sink(0);
  std::unique_ptr<replication::SecondaryClient> client;
  auto run = RunFakePrimary(h, primary, port, &sink, StreamWelcome(1, 1, "cluster-b"), {},
                            &client);
  EXPECT_EQ(ErrorCodeOf(run.replies), static_cast<uint16_t>(ErrorCode::kClusterMismatch));
  ASSERT_TRUE(WaitUntil([&] { return client->GetStatus().halted; }));
  EXPECT_NE(client->GetStatus().last_error.find("cluster"), std::string::npos);
}

TEST(TlsTransport, BatchesThatDoNotContinueTheCursorAreNotApplied) {
  TransportHarness h;
  RawPeer primary(TlsRole::kServer, h.pki.Server(kCluster));
  const uint16_t port = primary.Listen();
  FakeSink sink(0);
  std::unique_ptr<replication::SecondaryClient> client;
  replication::Batches ok_then_gap;
  replication::WalBatch b1{1, 1, std::string(12, 'a')};
  replication::WalBatch b3{3, 1, std::string(12, 'c')};  // skips sequence 2
  ok_then_gap.batches = {b1, b3};
  auto run = RunFakePrimary(h, primary, port, &sink, StreamWelcome(1, 1, kCluster),
                            {primary.FrameOf(ok_then_gap)}, &client);
  EXPECT_EQ(ErrorCodeOf(run.replies), static_cast<uint16_t>(ErrorCode::kProtocolViolation));
  EXPECT_EQ(sink.AppliedCount(), 0u);  // not even b1: the frame is refused as a whole
  EXPECT_EQ(sink.Cursor(), 0u);
  client->Stop();
}

TEST(TlsTransport, CorruptedFrameFromPrimaryIsNotApplied) {
  TransportHarness h;
  RawPeer primary(TlsRole::kServer, h.pki.Server(kCluster));
  const uint16_t port = primary.Listen();
  FakeSink sink(0);
  std::unique_ptr<replication::SecondaryClient> client;
  replication::Batches m;
  m.batches = {replication::WalBatch{1, 1, std::string(40, 'z')}};
  std::string frame = primary.FrameOf(m);
  frame[frame.size() / 2] ^= 0x01;  // a flipped bit in the rep
  auto run = RunFakePrimary(h, primary, port, &sink, StreamWelcome(1, 1, kCluster), {frame},
                            &client);
  EXPECT_EQ(ErrorCodeOf(run.replies), static_cast<uint16_t>(ErrorCode::kProtocolViolation));
  EXPECT_EQ(sink.AppliedCount(), 0u);
  client->Stop();
}

TEST(TlsTransport, SilentPrimaryIsDetectedAndTheSecondaryReconnects) {
  TransportHarness h;
  RawPeer primary(TlsRole::kServer, h.pki.Server(kCluster));
  const uint16_t port = primary.Listen();
  FakeSink sink(0);
  auto o = h.ClientOptions("s1");
  o.primary_port = port;
  o.dead_timeout = std::chrono::milliseconds(300);
  auto client = TransportHarness::StartClient(o, &sink);
  ASSERT_FALSE(primary.Accept());
  auto hello = primary.ReadFrame();
  ASSERT_TRUE(hello);
  ASSERT_FALSE(primary.Write(primary.FrameOf(StreamWelcome(1, 1, kCluster))));
  // Then silence: no heartbeat. The secondary gives up on this connection by itself.
  const auto start = std::chrono::steady_clock::now();
  while (primary.ReadFrame()) {
  }
  // The dead timeout (300 ms) is honoured: the connection does not hang (bound scaled for sanitizers).
  EXPECT_LT(std::chrono::steady_clock::now() - start, rocksdr::testing::Scaled(std::chrono::seconds(3)));
  ASSERT_TRUE(WaitUntil([&] {
    return client->GetStatus().last_error.find("dead timeout") != std::string::npos;
  }));
  EXPECT_FALSE(client->GetStatus().halted);
  client->Stop();
}

TEST(TlsTransport, SilentSecondaryIsDroppedByThePrimary) {
  TransportHarness h;
  auto so = h.ServerOptions();
  so.heartbeat_interval = std::chrono::milliseconds(50);
  so.dead_timeout = std::chrono::milliseconds(300);
  h.StartServer(so);
  RawPeer peer(TlsRole::kClient, h.pki.Client("s1", kCluster));
  ASSERT_FALSE(peer.Connect(h.server->port()));
  replication::Hello hello;
  hello.cluster_id = kCluster;
  hello.epoch = 1;
  hello.secondary_id = "s1";
  hello.has_cursor = true;
  ASSERT_FALSE(peer.Write(peer.FrameOf(hello)));
  // Read WELCOME and heartbeats but never ACK.
  int heartbeats = 0;
  while (auto f = peer.ReadFrame()) {
    if (f->type == FrameType::kHeartbeat) ++heartbeats;
  }
  EXPECT_GE(heartbeats, 2);
  ASSERT_TRUE(WaitUntil([&] {
    auto l = h.Link("s1");
    return l && l->state == replication::LinkState::kDisconnected;
  }));
  EXPECT_NE(h.Link("s1")->last_error.find("dead timeout"), std::string::npos)
      << h.Link("s1")->last_error;
}

TEST(TlsTransport, MakeTlsContextRejectsBadCredentialsWithoutLeakingKeys) {
  TestPki pki;
  auto good = pki.Client("s1");
  auto other = pki.Client("s2");
  replication::TlsCredentials mismatched = good;
  mismatched.key_pem = other.key_pem;
  auto r = replication::MakeTlsContext(TlsRole::kClient, mismatched);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("does not match"), std::string::npos);
  EXPECT_EQ(r.status().message().find("PRIVATE KEY"), std::string::npos);
  replication::TlsCredentials garbage = good;
  garbage.cert_pem = "not a certificate";
  EXPECT_FALSE(replication::MakeTlsContext(TlsRole::kServer, garbage).ok());
  replication::TlsCredentials no_ca = good;
  no_ca.ca_pem.clear();
  EXPECT_FALSE(replication::MakeTlsContext(TlsRole::kServer, no_ca).ok());
  EXPECT_TRUE(replication::MakeTlsContext(TlsRole::kClient, good).ok());
}

}  // namespace
}  // namespace rocksdr::testing
