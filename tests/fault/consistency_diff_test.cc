// The consistency check's report of WHERE two nodes differ, on two in-process DBs (no
// replication): the digest comparison and the key-by-key drill-down of
// sidecar::RunConsistencyCheck over the plugin's own consistency ops. Seen in
// fault.SplitBrain under ASan: when one node has extra keys at the end of a column family, its
// bucket there faces the other node's bucket of the next column family, and the drill-down must
// start in the first of the two (digest order: column families by name), or it finds nothing.
// Label: fault.
#include <gtest/gtest.h>

#include "../../plugin/src/control_consistency.h"
#include "rocksdr/replicator.h"
#include "rocksdr/sidecar/consistency_check.h"
#include "support/replicator_test_util.h"

namespace rocksdr::testing {
namespace {

std::unique_ptr<Replicator> OpenDb(const std::string& path) {
  auto r = Replicator::Open(MakeSpec(path));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(*r) : nullptr;
}

sidecar::ConsistencyNode Node(const std::string& name, Replicator* r) {
  sidecar::ConsistencyNode n;
  n.name = name;
  n.call = [r](std::string_view op, const nlohmann::json& args) {
    return plugin::HandleConsistencyOp(r, std::string(op), args);
  };
  return n;
}

void PutKeys(Replicator* r, const std::string& cf, int from, int to) {
  for (int i = from; i <= to; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "k%03d", i);
    ASSERT_TRUE(r->db()->Put(rocksdb::WriteOptions(), r->ColumnFamily(cf), key, "v").ok());
  }
}

Result<sidecar::ConsistencyReport> Check(Replicator* a, Replicator* b, uint64_t bucket_keys) {
  sidecar::ConsistencyCheckOptions o;
  o.mode = sidecar::ConsistencyMode::kLatest;
  o.bucket_keys = bucket_keys;
  o.timeout_ms = 20'000;
  return sidecar::RunConsistencyCheck(Node("a", a), Node("b", b), o);
}

TEST(ConsistencyDiff, ExtraKeysAtTheEndOfAColumnFamilyAreNamed) {
  TempDir dir;
  auto a = OpenDb(dir.Sub("a"));
  auto b = OpenDb(dir.Sub("b"));
  ASSERT_TRUE(a && b);
  // Digest order is by column family name: counters (empty), default, users. Same keys in
  // "users" on both; b has two more keys at the end of "default" (after a bucket boundary for
  // bucket_keys 3 and 6), so b's bucket there faces a's first bucket of "users".
  PutKeys(a.get(), "users", 1, 5);
  PutKeys(b.get(), "users", 1, 5);
  PutKeys(a.get(), "default", 1, 6);
  PutKeys(b.get(), "default", 1, 8);
  for (uint64_t bucket_keys : {3u, 6u, 32u}) {
    auto r = Check(a.get(), b.get(), bucket_keys);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_FALSE(r->match) << bucket_keys;
    ASSERT_TRUE(r->first_differing_key.has_value()) << bucket_keys << ": " << r->ToJson("a", "b").dump(2);
    EXPECT_EQ(*r->first_differing_key, "k007") << bucket_keys;
    EXPECT_NE(r->difference.find("only on b"), std::string::npos) << r->difference;
    EXPECT_NE(r->difference.find("'default'"), std::string::npos) << r->difference;
    // And the other way round (the node with the extra keys is now the first, named "a").
    auto back = Check(b.get(), a.get(), bucket_keys);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    ASSERT_TRUE(back->first_differing_key.has_value()) << bucket_keys << ": " << back->ToJson("b", "a").dump(2);
    EXPECT_EQ(*back->first_differing_key, "k007") << bucket_keys;
    EXPECT_NE(back->difference.find("only on a"), std::string::npos) << back->difference;
  }
  // Equal again: they match.
  PutKeys(a.get(), "default", 7, 8);
  auto same = Check(a.get(), b.get(), 3);
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_TRUE(same->match) << same->ToJson("a", "b").dump(2);
  ASSERT_TRUE(a->Close().ok());
  ASSERT_TRUE(b->Close().ok());
}

}  // namespace
}  // namespace rocksdr::testing
