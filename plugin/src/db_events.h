// DbEvents: what RocksDB told rocksdr about one DB through the `rocksdr` EventListener and what
// the DB wrapper saw itself — external file ingestions (with the sequence they took), flushes,
// the last background error. The WAL tailer reads it to explain a gap ("external file
// ingestion"); the status report reads it too.
//
// Thread safety: every method may be called from any thread (RocksDB calls the listener from
// its background threads).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

namespace rocksdr::plugin {

class DbEvents {
 public:
  // An ingestion that took global sequence number `global_seqno` (0 if it took none).
  void RecordIngestion(uint64_t global_seqno);
  uint64_t ingestions() const { return ingestions_.load(); }
  // True if a recorded ingestion took a sequence number in [from, to] (inclusive).
  bool IngestionBetween(uint64_t from, uint64_t to) const;

  void RecordFlush() { flushes_.fetch_add(1); }
  uint64_t flushes() const { return flushes_.load(); }

  // `text` empty: the error was cleared. `no_space`: it is RocksDB's "no space" error, whose
  // automatic recovery (the SstFileManager's polling) a Close cancels safely (DbSink::Recover).
  // `in_write_path`: it came from a write (BackgroundErrorReason kWriteCallback / kMemTable),
  // so the current WAL writer may have seen it: no WAL sync until it is cleared
  // (wal_write_failed).
  void RecordBackgroundError(std::string text, bool no_space = false, bool in_write_path = false);
  std::string background_error() const;
  bool background_error_is_no_space() const;
  // A write failed (in the WAL, or the memtable) and RocksDB has not cleared that error yet
  // (DB::Resume, its own recovery) — the DB is then read-only. A WAL writer that saw an error
  // must not be synced: RocksDB refuses it, and builds with assertions (Debian's) abort.
  bool wal_write_failed() const;

 private:
  static constexpr size_t kMaxRememberedIngestions = 64;

  std::atomic<uint64_t> ingestions_{0};
  std::atomic<uint64_t> flushes_{0};
  mutable std::mutex mu_;
  std::deque<uint64_t> ingestion_seqnos_;  // most recent last; bounded
  std::string background_error_;
  bool background_error_no_space_ = false;
  bool background_error_in_write_path_ = false;
};

}  // namespace rocksdr::plugin
