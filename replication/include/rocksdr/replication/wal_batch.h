// WalBatch: one write batch of the primary's WAL, as shipped to secondaries.
//
// `sequence` is the primary's sequence number of the batch's first record; `count` is the number of
// sequence numbers it consumes on the primary (WriteBatch::Count(); 0 for a LogData-only batch).
// Continuity: the batch that follows starts at sequence + count (pitfall 3 of
// wal-tailing-pitfalls.md). `rep` is the WriteBatch representation (WriteBatch::Data()), possibly
// with rocksdr's node-local records removed by the tailer, in which case its own header count may be
// smaller than `count`; appliers use `count`, not the header, for continuity.
//
// Who may use: anyone; plain value type.
#pragma once

#include <cstdint>
#include <string>

namespace rocksdr::replication {

struct WalBatch {
  uint64_t sequence = 0;
  uint32_t count = 0;
  std::string rep;

  // The last sequence number this batch covers; for count == 0 the sequence before it.
  uint64_t last_sequence() const { return count == 0 ? sequence - 1 : sequence + count - 1; }
  uint64_t next_sequence() const { return sequence + count; }
};

}  // namespace rocksdr::replication
