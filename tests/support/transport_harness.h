// Helpers shared by the replication transport tests: a primary over a FakeWal, secondaries over
// FakeSinks, real TLS over 127.0.0.1 with port 0, and bounded waiting. Test-only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "rocksdr/replication/primary_server.h"
#include "rocksdr/replication/secondary_client.h"
#include "support/fake_source_sink.h"
#include "support/replication_pki.h"
#include "support/time_scale.h"

namespace rocksdr::testing {

// Polls pred every 2 ms until it holds or `timeout` (times ROCKSDR_TEST_TIME_SCALE) passes; returns
// its last value.
inline bool WaitUntil(const std::function<bool()>& pred,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + Scaled(timeout);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

inline constexpr char kCluster[] = "cluster-a";

struct TransportHarness {
  TestPki pki;
  std::shared_ptr<FakeWal> wal = std::make_shared<FakeWal>();
  std::shared_ptr<FakeSourceProvider> provider = std::make_shared<FakeSourceProvider>(wal);
  std::unique_ptr<replication::PrimaryServer> server;

  replication::PrimaryServerOptions ServerOptions() const {
    replication::PrimaryServerOptions o;
    o.cluster_id = kCluster;
    o.epoch = 1;
    o.tls = pki.Server(kCluster);
    o.heartbeat_interval = std::chrono::milliseconds(100);
    o.dead_timeout = std::chrono::milliseconds(3000);
    return o;
  }

  void StartServer(replication::PrimaryServerOptions o) {
    auto s = replication::PrimaryServer::Start(std::move(o), provider);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server = std::move(*s);
  }

  replication::SecondaryClientOptions ClientOptions(const std::string& id) const {
    replication::SecondaryClientOptions o;
    o.cluster_id = kCluster;
    o.epoch = 1;
    o.secondary_id = id;
    o.primary_host = "127.0.0.1";
    o.primary_port = server ? server->port() : 0;
    o.tls = pki.Client(id, kCluster);
    o.dead_timeout = std::chrono::milliseconds(3000);
    o.connect_timeout = std::chrono::milliseconds(3000);
    o.backoff.initial = std::chrono::milliseconds(20);
    o.backoff.cap = std::chrono::milliseconds(200);
    return o;
  }

  static std::unique_ptr<replication::SecondaryClient> StartClient(
      replication::SecondaryClientOptions o, FakeSink* sink) {
    auto c = replication::SecondaryClient::Start(std::move(o), sink);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }

  std::optional<replication::SecondaryLinkStatus> Link(const std::string& id) const {
    for (auto& s : server->GetStatus()) {
      if (s.secondary_id == id) return s;
    }
    return std::nullopt;
  }
};

// Asserts that `applied` equals the WAL's batches from `from` on, batch for batch.
inline void ExpectSameBatches(const std::vector<WalBatch>& applied,
                              const std::vector<WalBatch>& expected) {
  ASSERT_EQ(applied.size(), expected.size());
  for (size_t i = 0; i < applied.size(); ++i) {
    ASSERT_EQ(applied[i].sequence, expected[i].sequence) << "at " << i;
    ASSERT_EQ(applied[i].count, expected[i].count) << "at " << i;
    ASSERT_EQ(applied[i].rep, expected[i].rep) << "at " << i;
  }
}

}  // namespace rocksdr::testing
