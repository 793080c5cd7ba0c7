// WalGroupSync: the primary's own WAL sync for synchronous ack modes, done AFTER the write was
// handed to the WAL tailers, so that the primary's fsync and the secondaries' receive/apply/fsync
// overlap (a durable write waits max(local fsync, round trip + remote fsync), not their sum).
//
// Used by ReplicatedDBImpl for a write with WriteOptions::sync on a primary whose ack mode is
// `received` or `durable`: it writes with sync = false, records the batch in the write ring and
// notifies the tailers, then calls SyncAfter() and waits for the secondaries' confirmation. The
// write returns OK only after both, so the application's contract (sync = durable here) holds.
// A primary that loses power between shipping a batch and syncing it can restart behind its
// secondary; the application was never told that write succeeded, and the handshake treats a
// secondary ahead of its primary as a diverged history (re-bootstrap) — as PostgreSQL's
// synchronous_commit=on can leave a standby ahead of a crashed primary.
//
// Group sync, leader/follower: SyncAfter() returns once a DB::SyncWAL that STARTED after the call
// has finished (everything the caller wrote before calling is in the WAL file: RocksDB writes its
// WAL buffer at the end of each write group unless manual_wal_flush, which rocksdr refuses). A
// caller that finds no sync running runs one for everyone waiting; callers that arrive meanwhile
// wait for it to end and then one of them runs the next, which covers them all.
//
// Threading: any thread; SyncWAL runs on a caller's thread with no lock held.
#pragma once

#include <rocksdb/db.h>

#include "db_events.h"

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace rocksdr::plugin {

class WalGroupSync {
 public:
  // `events` (optional, outlives this): while it records a failed write (wal_write_failed), no
  // sync is run (SyncAfter fails): a WAL writer that saw a write error must not be synced —
  // RocksDB refuses it, and builds with assertions, such as Debian's librocksdb, abort.
  explicit WalGroupSync(rocksdb::DB* db, const DbEvents* events = nullptr) : db_(db), events_(events) {}
  WalGroupSync(const WalGroupSync&) = delete;
  WalGroupSync& operator=(const WalGroupSync&) = delete;

  // Blocks until a SyncWAL started after this call has finished; its status (the latest
  // finished sync's status when a later one already covered the caller).
  rocksdb::Status SyncAfter();

  uint64_t syncs() const;  // SyncWAL calls made (metrics, tests)

 private:
  rocksdb::DB* const db_;
  const DbEvents* const events_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool syncing_ = false;     // GUARDED_BY(mu_)
  uint64_t started_ = 0;     // GUARDED_BY(mu_) rounds begun
  uint64_t finished_ = 0;    // GUARDED_BY(mu_) the last round that ended
  rocksdb::Status last_;     // GUARDED_BY(mu_) that round's status
};

}  // namespace rocksdr::plugin
