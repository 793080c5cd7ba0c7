// Conversion of rocksdb::Status to rocksdr::Status at the boundary between RocksDB and rocksdr.
// Who may include: plugin/src only. Pure function; any thread.
#pragma once

#include <rocksdb/status.h>

#include <string_view>

#include "rocksdr/status.h"

namespace rocksdr::plugin {

// OK stays OK; otherwise a rocksdr code of the same meaning and the message
// "<context>: <rocksdb status text>".
Status FromRocks(const rocksdb::Status& s, std::string_view context);

}  // namespace rocksdr::plugin
