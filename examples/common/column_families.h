// The column-family options every example application uses, so that any of them (and
// `rocksdr_node dump`) can open any example's DB: every column family gets a uint64-add merge
// operator (fixed64 little-endian counters), the same on every node of a cluster (the comparator
// and merge operator must match between a primary and its secondaries).
//
// Who may call: anyone, any thread (stateless).
#pragma once

#include <rocksdb/merge_operator.h>
#include <rocksdb/options.h>

#include <cstdint>
#include <string>

namespace rocksdr::examples {

// Adds fixed64 little-endian counters; shorter operands are zero-extended.
class UInt64AddOperator : public rocksdb::AssociativeMergeOperator {
 public:
  static uint64_t Decode(const rocksdb::Slice& s);
  bool Merge(const rocksdb::Slice& key, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger* logger) const override;
  const char* Name() const override { return "RocksdrTestUInt64Add"; }
};

// Options of column family `name` (the same for every name).
rocksdb::ColumnFamilyOptions ExampleCfOptions(const std::string& name);

}  // namespace rocksdr::examples
