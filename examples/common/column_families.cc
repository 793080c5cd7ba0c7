#include "common/column_families.h"

#include <memory>

namespace rocksdr::examples {

uint64_t UInt64AddOperator::Decode(const rocksdb::Slice& s) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | (static_cast<size_t>(i) < s.size() ? static_cast<uint8_t>(s[i]) : 0);
  return v;
}

bool UInt64AddOperator::Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
                              std::string* new_value, rocksdb::Logger*) const {
  const uint64_t sum = (existing ? Decode(*existing) : 0) + Decode(value);
  new_value->assign(8, '\0');
  for (int i = 0; i < 8; ++i) (*new_value)[i] = static_cast<char>((sum >> (8 * i)) & 0xff);
  return true;
}

rocksdb::ColumnFamilyOptions ExampleCfOptions(const std::string&) {
  rocksdb::ColumnFamilyOptions o;
  o.merge_operator = std::make_shared<UInt64AddOperator>();
  return o;
}

}  // namespace rocksdr::examples
