// RunConsistencyCheck: compares the data of two nodes at one sequence through their consistency
// ops (rocksdr/replication/consistency_ops.h), and reports a match or the first differing key
// range (and key). Used by `rocksdr operator dr consistency` (the nodes are two sidecars' HTTP
// APIs) and by the tests (two plugin control sockets).
//
// Modes:
//   kLive    node A is a primary, node B its DR secondary, both running: B's applier is paused,
//            A is snapshotted at its latest sequence S, B applies up to exactly S and is
//            snapshotted there (then resumes). A match proves that B is an exact prefix of A at S.
//   kLatest  each node is snapshotted where it is (a primary / disabled node at its latest
//            sequence, a secondary at its cursor): after a failover, the promoted node against the
//            old primary (fenced or demoted) or a backup. The report gives both sequences.
//
// The digests are compared page by page (bounded: `bucket_keys` x `page_buckets` keys per page),
// so memory does not grow with the DB. On the first differing bucket both sides are read key by
// key over that bucket's range to name the first differing key. Both snapshots are released at
// the end, whatever happens.
//
// Who may call: any thread; the node callbacks are called from it, one at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "rocksdr/status.h"

namespace rocksdr::sidecar {

struct ConsistencyNode {
  std::string name;  // for messages: "primary", "secondary", an address...
  // One consistency op with its args -> the op's result object (the control socket's "result",
  // or the HTTP API's "data").
  std::function<Result<nlohmann::json>(std::string_view op, const nlohmann::json& args)> call;
};

enum class ConsistencyMode { kLive, kLatest };

struct ConsistencyCheckOptions {
  ConsistencyMode mode = ConsistencyMode::kLive;
  uint64_t bucket_keys = 1000;   // keys per digest bucket (1..100,000). Default: 1000
  uint64_t page_buckets = 256;   // buckets per page (1..10,000). Default: 256
  uint64_t timeout_ms = 10'000;  // for the pause and the wait for S (<= 30,000). Default: 10 s
};

struct ConsistencyRange {
  std::string cf;
  std::string first_key;
  std::string last_key;
  uint64_t keys = 0;
  bool present = false;  // false: this side has no bucket there (it ended earlier)
};

struct ConsistencyReport {
  bool match = false;
  uint64_t a_sequence = 0, b_sequence = 0;
  uint64_t a_epoch = 0, b_epoch = 0;
  std::string a_role, b_role;
  uint64_t buckets_compared = 0;
  uint64_t keys_compared = 0;  // keys of A in the buckets found equal
  // Set when !match.
  ConsistencyRange a_range, b_range;
  std::optional<std::string> first_differing_key;
  std::string difference;  // one sentence: what differs

  // {"match", "sequence"|..., "a": {...}, "b": {...}, "first_difference": {...}} with keys as
  // base64 (`*_b64`) and escaped text.
  nlohmann::json ToJson(const std::string& a_name, const std::string& b_name) const;
};

Result<ConsistencyReport> RunConsistencyCheck(const ConsistencyNode& a, const ConsistencyNode& b,
                                              const ConsistencyCheckOptions& options);

// Printable form of a key for messages: ASCII kept, other bytes as \xNN, at most 200 bytes shown.
std::string EscapeKey(std::string_view key);

}  // namespace rocksdr::sidecar
