// ReplicatorClusterTest: a gtest fixture base for tests that run a primary and DR secondaries as
// rocksdr::Replicator instances in this process, each on its own DB in a temp dir, over mutual
// TLS on 127.0.0.1 port 0 with certificates from one test CA. It opens nodes (fast reconnects,
// no sync on apply), makes the primary config and the secondary bundle for the fixture's
// cluster, and has the small checks and steps these tests share (latest sequence, caught up, Put,
// flushing every column family, purging a primary's WAL past a position, comparing two nodes).
//
// Who may use it: tests only (derive the fixture, pass the cluster id); from the test thread.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../../plugin/src/replicated_db.h"
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
  PrimaryConfig Primary(uint64_t epoch = 1) const { return LoopbackPrimaryConfig(pki_, cluster_id_, epoch); }
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
  // Flushes every column family of r's DB, rocksdr's node-local and replicated ones included.
  static void FlushAll(Replicator* r) {
    auto* impl = plugin::ReplicatedDBImpl::From(r->db());
    std::vector<rocksdb::ColumnFamilyHandle*> all = {impl->local_cf(), impl->replicated_cf()};
    for (const auto& n : r->ColumnFamilyNames()) all.push_back(r->ColumnFamily(n));
    ASSERT_TRUE(impl->base()->Flush(rocksdb::FlushOptions(), all).ok());
  }
  // Writes to "users" and flushes on the primary `p` (opened with wal_ttl_seconds 1 and
  // wal_size_limit_mb 0) until its oldest WAL sequence is past position + 1, so that a secondary
  // stopped at `position` finds a WAL gap. At most 6 rounds of ~2 s; a fatal failure if the WAL
  // was not purged by then (callers wrap it in ASSERT_NO_FATAL_FAILURE).
  static void PurgeWalPast(Replicator* p, uint64_t position) {
    uint64_t oldest = 0;
    for (int round = 0; round < 6 && oldest <= position + 1; ++round) {
      for (int i = 0; i < 50; ++i) Put(p, "users", "b" + std::to_string(round * 50 + i), "2");
      ASSERT_NO_FATAL_FAILURE(FlushAll(p));
      std::this_thread::sleep_for(std::chrono::milliseconds(2100));
      Put(p, "users", "tick", std::to_string(round));
      ASSERT_NO_FATAL_FAILURE(FlushAll(p));
      oldest = p->GetStatus().wal.oldest_sequence;
    }
    ASSERT_GT(oldest, position + 1) << "the WAL was not purged";
  }
  // The first difference between the (closed) DBs of nodes a and b, "" if they are equal.
  std::string DiffNodes(const std::string& a, const std::string& b) const {
    return DiffDumps(DumpClosedDb(dir_.Sub(a)), DumpClosedDb(dir_.Sub(b)));
  }

  const std::string cluster_id_;
  TempDir dir_;
  TestPki pki_;
};

}  // namespace rocksdr::testing
