// Sink (local storage) failures on a DR secondary: which ones the client retries, and what its
// status says while it waits.
//
// A BatchSink call that fails with kIOError (a full disk: ENOSPC; RocksDB's background-error,
// read-only state; a staging file that cannot be written) or kUnavailable (RocksDB busy / try
// again) is a local storage failure the operator can fix without restarting anything (free
// space): SecondaryClient disconnects, waits with SecondaryClientOptions::storage_retry backoff,
// asks the sink to recover (BatchSink::Recover) and reconnects. Every other code halts the link
// as before: the stream itself is refused (needs bootstrap with auto_rebootstrap off, an epoch
// marker of another history, corruption, a broken sink contract), and retrying cannot help.
//
// Who may call: anyone; pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "rocksdr/status.h"

namespace rocksdr::replication {

// True when a failed sink call is a local storage failure worth retrying (see above).
bool SinkFailureIsRetryable(const Status& st);

// The status text while waiting for the next attempt, e.g.
//   "local storage failed: applying ... failed: io-error: ... No space left on device; retrying
//    in 4 s (attempt 3) — free space on /data/db"
// error: what failed; delay: until the next attempt; attempt: the number of that attempt (1 =
// the first retry; the delay is said in whole seconds, rounded up, or in ms under 1 s); location: the sink's storage (BatchSink::StorageLocation, "" if unknown).
// A full disk ("No space left on device" / ENOSPC in error) says "free space on <location>",
// anything else "check the storage of <location>".
std::string DescribeStorageRetry(const std::string& error, std::chrono::milliseconds delay,
                                 uint32_t attempt, const std::string& location);

}  // namespace rocksdr::replication
