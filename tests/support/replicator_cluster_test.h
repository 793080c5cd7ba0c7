// ReplicatorClusterTest: a gtest fixture base for tests that run a primary and DR secondaries as
// rocksdr::Replicator instances in this process, each on its own DB in a temp dir, over mutual
// TLS on 127.0.0.1 port 0 with certificates from one test CA. It opens nodes (fast reconnects,
// no sync on apply), makes the primary config and the secondary bundle for the fixture's
// cluster, and has the small checks these tests share (latest sequence, caught up, Put).
//
// Who may use it: tests only (derive the fixture, pass the cluster id); from the test thread.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>

#include "rocksdr/replicator.h"
#include "support/replication_pki.h"
#include "support/replicator_test_util.h"

namespace rocksdr::testing {

class ReplicatorClusterTest : public ::testing::Test {
 protected:
  explicit ReplicatorClusterTest(std::string cluster_id) : cluster_id_(std::move(cluster_id)) {}

  // A Replicator on the DB <temp dir>/<name> (MakeSpec), not yet primary or secondary; nullptr
  // (with a non-fatal failure) if it does not open.
  std::unique_ptr<Replicator> OpenNode(const std::string& name, PluginOptions po = {}) {
    ReplicatorOptions ro;
    ro.sync_apply = false;
    ro.reconnect_initial_ms = 20;
    ro.reconnect_cap_ms = 200;
    auto r = Replicator::Open(MakeSpec(dir_.Sub(name), po), ro);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : nullptr;
  }
  // BecomePrimary's config: this cluster, `epoch`, listening on 127.0.0.1 port 0.
  PrimaryConfig Primary(uint64_t epoch = 1) const {
    PrimaryConfig c;
    c.cluster_id = cluster_id_;
    c.epoch = epoch;
    c.listen_address = "127.0.0.1:0";
    c.tls = pki_.Server(cluster_id_);
    return c;
  }
  // BecomeSecondary's bundle for secondary `id` following the primary at 127.0.0.1:port.
  SecondaryBundle Bundle(const std::string& id, uint16_t port, uint64_t epoch = 1) const {
    SecondaryBundle b;
    b.cluster_id = cluster_id_;
    b.epoch = epoch;
    b.secondary_id = id;
    b.primary_address = "127.0.0.1:" + std::to_string(port);
    b.tls = pki_.Client(id, cluster_id_);
    return b;
  }
  static uint64_t Latest(Replicator* r) { return r->db()->GetLatestSequenceNumber(); }
  // The secondary applied exactly up to `latest`.
  static bool CaughtUp(Replicator* secondary, uint64_t latest) {
    auto st = secondary->GetStatus();
    return st.last_sequence_applied.has_value() && *st.last_sequence_applied == latest;
  }
  static void Put(Replicator* r, const std::string& cf, const std::string& k, const std::string& v) {
    ASSERT_TRUE(r->db()->Put(rocksdb::WriteOptions(), r->ColumnFamily(cf), k, v).ok());
  }

  const std::string cluster_id_;
  TempDir dir_;
  TestPki pki_;
};

}  // namespace rocksdr::testing
