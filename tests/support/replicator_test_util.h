// Helpers for tests of the replication runtime (rocksdr/replicator.h): a DbSpec with counter
// merge operators, a loopback primary config, a read-only dump of every column family of a closed
// DB, and bounded waiting.
// Test-only; one test thread.
#pragma once

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../../plugin/src/reserved_cf.h"
#include "rocksdr/replicator.h"
#include "support/replication_pki.h"
#include "support/rocksdb_test_db.h"
#include "support/time_scale.h"

namespace rocksdr::testing {

inline rocksdb::ColumnFamilyOptions CounterCfOptions(const std::string&) {
  rocksdb::ColumnFamilyOptions o;
  o.merge_operator = std::make_shared<UInt64AddOperator>();
  return o;
}

inline DbSpec MakeSpec(const std::string& path, PluginOptions po = {}) {
  DbSpec spec;
  spec.path = path;
  spec.db_options.create_if_missing = true;
  spec.cf_options = CounterCfOptions;
  spec.column_families = {"users", "counters"};
  if (po.heartbeat_interval_ms == PluginOptions().heartbeat_interval_ms) po.heartbeat_interval_ms = 100;
  if (po.peer_timeout_ms == PluginOptions().peer_timeout_ms) po.peer_timeout_ms = 3000;
  spec.plugin_options = po;
  return spec;
}

// BecomePrimary's config: `cluster`, `epoch`, listening on 127.0.0.1 port 0 with pki's server
// credentials for that cluster.
inline PrimaryConfig LoopbackPrimaryConfig(const TestPki& pki, const std::string& cluster, uint64_t epoch = 1) {
  PrimaryConfig c;
  c.cluster_id = cluster;
  c.epoch = epoch;
  c.listen_address = "127.0.0.1:0";
  c.tls = pki.Server(cluster);
  return c;
}

// Every column family of the (closed) DB at `path` except rocksdr's node-local one:
// name -> key -> value.
using DbDump = std::map<std::string, std::map<std::string, std::string>>;
inline DbDump DumpClosedDb(const std::string& path) {
  DbDump out;
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names);
  EXPECT_TRUE(s.ok()) << s.ToString();
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (auto& n : names) descs.emplace_back(n, CounterCfOptions(n));
  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  s = rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), path, descs, &handles, &raw);
  EXPECT_TRUE(s.ok()) << path << ": " << s.ToString();
  if (!s.ok()) return out;
  for (auto* h : handles) {
    if (h->GetName() == plugin::kLocalCf) continue;
    auto& m = out[h->GetName()];
    std::unique_ptr<rocksdb::Iterator> it(raw->NewIterator(rocksdb::ReadOptions(), h));
    for (it->SeekToFirst(); it->Valid(); it->Next()) m.emplace(it->key().ToString(), it->value().ToString());
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  }
  for (auto* h : handles) raw->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  delete raw;
  return out;
}

// Reports the first difference between two dumps ("" if equal).
inline std::string DiffDumps(const DbDump& a, const DbDump& b) {
  for (const auto& [cf, m] : a) {
    auto it = b.find(cf);
    if (it == b.end()) return "column family '" + cf + "' missing on the right";
    if (m.size() != it->second.size()) {
      return "column family '" + cf + "': " + std::to_string(m.size()) + " vs " + std::to_string(it->second.size()) +
             " keys";
    }
    for (const auto& [k, v] : m) {
      auto kv = it->second.find(k);
      if (kv == it->second.end()) return "column family '" + cf + "': key '" + k + "' missing on the right";
      if (kv->second != v) return "column family '" + cf + "': key '" + k + "' differs";
    }
  }
  for (const auto& [cf, m] : b) {
    if (a.count(cf) == 0) return "column family '" + cf + "' missing on the left";
  }
  return "";
}

inline bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + Scaled(timeout);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace rocksdr::testing
