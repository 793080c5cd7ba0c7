// Consistency check: digests of a node's data at one exact sequence, to prove that a DR secondary
// is an exact prefix of its primary (or to compare a promoted node with the old primary).
//
// The comparison must be made at the SAME sequence on both nodes. A primary can only be read at
// its latest sequence S (a RocksDB snapshot; S is always a batch boundary). A secondary's applier
// is therefore stopped exactly at S, a snapshot is taken there, and it resumes:
//
//   secondary.PauseApply(t)                  -> C   (applier parked at a batch boundary, C <= S)
//   primary.TakeConsistencySnapshot({}, t)   -> {id_p, S}
//   secondary.TakeConsistencySnapshot(S, t)  -> {id_s, S}  (applies up to exactly S, snapshots,
//                                                            resumes)
//   DigestConsistencySnapshot(id, page...)   on both, page by page; compare bucket by bucket
//   ReleaseConsistencySnapshot(id)           on both
//
// The coordinator doing this is rocksdr/sidecar/consistency_check.h (used by the `rocksdr
// operator dr consistency` CLI and the tests).
//
// Digest: every column family except rocksdr's node-local one, in name order; in each, the
// entries in key order, cut into buckets of `bucket_keys` consecutive keys; a bucket carries its
// first and last key, its key count and a SHA-256 (first 128 bits, hex) over
// (varint32 len, key, varint32 len, value) of its entries. Values are the merged, visible values,
// so compaction state does not matter. An empty column family gives one bucket with 0 keys, so a
// missing column family shows. Pages are bounded (see DigestRequest) so a huge DB never needs
// more than one page in memory; the snapshot is held between pages.
//
// Held snapshots pin the DB's files: at most kMaxConsistencySnapshots at once, each released
// after kConsistencySnapshotIdle without a digest call, and all released when the DB is closed
// or reopened (bootstrap, promotion, shutdown) — a digest call then answers kNotFound.
//
// Who may use: this header holds plain value types (any thread). The calls above are Replicator
// methods (rocksdr/replicator.h): any thread, concurrently with writes and role changes; the
// plugin's control socket serves them to the sidecar.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "rocksdr/role.h"

namespace rocksdr {

inline constexpr size_t kMaxConsistencySnapshots = 4;
inline constexpr std::chrono::minutes kConsistencySnapshotIdle{10};
// Longest a secondary's applier may be parked by PauseApply / TakeConsistencySnapshot.
inline constexpr std::chrono::seconds kMaxApplyPause{30};

struct ConsistencySnapshot {
  uint64_t id = 0;
  // The sequence the snapshot stands for: a primary's (or disabled node's) latest sequence; a
  // secondary's applied cursor (a primary sequence), read from the snapshot itself.
  uint64_t sequence = 0;
  Role role = Role::kDisabled;
  uint64_t epoch = 0;
  std::string cluster_id;
  std::vector<std::string> column_families;  // digested, in order
};

// A position in the digest: after key `after` of column family `cf` ("" cf = the beginning;
// has_after false = the beginning of cf).
struct DigestPosition {
  std::string cf;
  bool has_after = false;
  std::string after;
};

struct DigestRequest {
  uint64_t snapshot_id = 0;
  DigestPosition start;
  uint64_t bucket_keys = 1000;  // 1 .. 100,000
  uint64_t max_buckets = 256;   // 1 .. 10,000; and bucket_keys * max_buckets is capped at 2,000,000 keys
};

struct DigestBucket {
  std::string cf;
  std::string first_key;
  std::string last_key;
  uint64_t keys = 0;
  std::string hash;  // 32 hex characters
};

struct DigestPage {
  std::vector<DigestBucket> buckets;
  bool more = false;
  DigestPosition next;  // where the next page starts (meaningful when more)
};

}  // namespace rocksdr
