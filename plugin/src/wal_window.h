// The primary's WAL window: which sequences its live and archived WAL files still hold.
// A secondary whose next sequence is older than OldestAvailableSequence must re-bootstrap.
//
// Who may call: plugin/src, any thread (reads the WAL directory listing; costs a directory
// scan and one read of each file's first record — call it per status request or per tailer
// creation, not per write).
#pragma once

#include <rocksdb/db.h>

#include <cstdint>

#include "rocksdr/replication_status.h"
#include "rocksdr/status.h"

namespace rocksdr::plugin {

// The first sequence still present in the WAL; latest + 1 when the WAL holds no batch.
Result<uint64_t> OldestAvailableSequence(rocksdb::DB* base);

// Files, bytes, oldest sequence and age, and the DB's retention settings.
Result<WalWindow> ReadWalWindow(rocksdb::DB* base);

}  // namespace rocksdr::plugin
