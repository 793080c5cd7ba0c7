// Inspection and filtering of WAL write batches by column family, for two callers:
//  - the DB wrapper, which refuses application batches that name rocksdr's reserved column
//    families or carry LogData blobs in rocksdr's marker namespace;
//  - the WAL tailer, which refuses 2PC batches, finds rocksdr's markers, and drops the
//    node-local column family's records before shipping.
//
// Who may include: plugin/src only. Pure functions; any thread.
#pragma once

#include <rocksdb/write_batch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rocksdr/status.h"

namespace rocksdr::plugin {

struct BatchScan {
  bool has_local_cf = false;       // a record names the node-local column family
  bool has_replicated_cf = false;  // a record names the replicated reserved column family
  bool has_2pc = false;            // prepare / commit / rollback markers (TransactionDB 2PC)
  bool has_blob_index = false;     // stacked BlobDB index records
  bool has_entity = false;         // wide-column entities
  uint32_t records = 0;            // key-value records (LogData excluded)
  std::vector<std::string> marker_blobs;  // LogData blobs starting with kMarkerPrefix, in order
};

// Walks the batch. Errors: kCorruption when RocksDB cannot parse it.
Result<BatchScan> ScanBatch(const rocksdb::WriteBatch& batch, uint32_t local_cf_id, uint32_t replicated_cf_id);

// ScanBatch's fast path (on every application write): parses the rep directly when it holds
// only Put, Delete, SingleDelete, DeleteRange, Merge and LogData records, well formed, as many
// as the header's count; nullopt otherwise (ScanBatch then asks WriteBatch::Iterate, which
// decides). When it answers, the answer is the one Iterate gives (tests/dataplane/
// batch_scan_test.cc compares them).
std::optional<BatchScan> ScanSimpleBatch(std::string_view rep, uint32_t local_cf_id, uint32_t replicated_cf_id);

// The batch's representation without the records of local_cf_id, its header sequence set to
// `sequence` (the header count is the number of records kept). LogData blobs are kept.
// Errors: kCorruption (unparsable), kFailedPrecondition for record kinds that cannot be
// rebuilt (wide-column entities, blob indexes, 2PC markers) — rocksdr never writes those
// next to node-local records, so this means a bug or a foreign writer.
Result<std::string> StripLocalRecords(const rocksdb::WriteBatch& batch, uint32_t local_cf_id, uint64_t sequence);

// The part of a batch that follows its first `skip` sequence-consuming records (Put, Delete,
// SingleDelete, DeleteRange, Merge, entities, blob indexes each consume one sequence; LogData
// and 2PC/no-op markers none), as a rep whose header says `sequence` and Count() - skip. Used
// for a group-commit WAL record (RocksDB concatenates the records of concurrent writers' batches
// into one WAL record) whose first writers' batches were already shipped one by one: the cut
// is right after the skip-th record, so LogData blobs after it go with what follows. The kept
// records are copied byte for byte, whatever their kind.
// Errors: kInvalidArgument when skip is 0 or not below Count(); kCorruption when the batch cannot
// be parsed or the cut cannot be placed exactly.
Result<std::string> DropLeadingSequences(const rocksdb::WriteBatch& batch, uint32_t skip, uint64_t sequence);

}  // namespace rocksdr::plugin
