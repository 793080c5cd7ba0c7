// In-memory fakes of the replication data path for transport tests (no RocksDB):
//  - FakeWal: an append-only list of WalBatch with a retention point (Truncate simulates WAL
//    files being deleted: sources positioned before it fail with NeedsBootstrap).
//  - FakeSourceProvider: SourceProvider over a FakeWal, plus a configurable checkpoint; records
//    how many rep bytes each source has read, so tests can check flow control.
//  - FakeSink: BatchSink that keeps every applied batch, enforces continuity, and can be made
//    slow or failing; also an in-memory bootstrap installer that checks CRCs.
// Every class is thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "rocksdr/replication/batch_sink.h"
#include "rocksdr/replication/batch_source.h"

namespace rocksdr::testing {

using replication::CheckpointFile;
using replication::WalBatch;

class FakeWal {
 public:
  // First sequence number of the first batch ever appended. Default: 1.
  explicit FakeWal(uint64_t first_sequence = 1) : next_sequence_(first_sequence) {}

  // Appends a batch of `count` (>= 1) sequence numbers; returns its sequence. Wakes waiters.
  uint64_t Append(uint32_t count, std::string rep);
  // Appends n batches of deterministic pseudo-random content: a 12-byte WriteBatch header
  // then [min_size, max_size] payload bytes; counts 1..4. Single writer thread only.
  void AppendRandom(size_t n, size_t min_size, size_t max_size, uint32_t seed);

  // Drops every batch whose last sequence is < first_kept (simulates deleted WAL files).
  void Truncate(uint64_t first_kept);

  uint64_t LatestSequence() const;
  // Sequence of the first batch still retained (LatestSequence()+1 if none).
  uint64_t FirstRetained() const;
  // Copies of all retained batches with sequence >= from.
  std::vector<WalBatch> BatchesFrom(uint64_t from) const;
  // Sum of rep sizes of batches whose last sequence is <= seq (retained or not).
  uint64_t BytesThrough(uint64_t seq) const;
  size_t MaxRepSize() const;

  // Source-side helpers (used by FakeBatchSource).
  // Finds the index of the batch starting at `sequence`; nullopt if not retained (gap) and
  // index == size if it is the next one to be written.
  enum class Lookup { kFound, kNotYetWritten, kGone };
  Lookup Find(uint64_t sequence, size_t* index) const;
  bool Wait(uint64_t after_seq, std::chrono::microseconds timeout) const;
  // Copies batches starting at absolute index `index` into out (see BatchSource::Read).
  // Returns false if index is no longer retained.
  bool ReadAt(size_t index, size_t max_bytes, size_t max_batches, std::vector<WalBatch>* out,
              size_t* next_index, uint64_t* bytes) const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<WalBatch> batches_;      // absolute index = position in this vector
  std::vector<uint64_t> cum_bytes_;    // cum_bytes_[i] = rep bytes of batches [0, i]
  size_t first_retained_ = 0;          // index of the first retained batch
  uint64_t next_sequence_;
};

struct FakeCheckpoint {
  uint64_t sequence = 0;
  std::vector<std::pair<std::string, std::string>> files;  // name, content
};

class FakeSourceProvider : public replication::SourceProvider {
 public:
  explicit FakeSourceProvider(std::shared_ptr<FakeWal> wal) : wal_(std::move(wal)) {}

  Result<std::unique_ptr<replication::BatchSource>> OpenAt(uint64_t next_sequence) override;
  Result<std::unique_ptr<replication::CheckpointReader>> CreateCheckpoint() override;
  uint64_t LatestSequence() override { return wal_->LatestSequence(); }

  void SetCheckpoint(FakeCheckpoint checkpoint);
  // Called inside every successful Read that returned batches, with the last sequence read so
  // far by that source. Runs on the session's pump thread.
  void SetReadHook(std::function<void(uint64_t last_read_sequence)> hook);
  int checkpoints_created() const { return checkpoints_created_.load(); }
  int sources_opened() const { return sources_opened_.load(); }

 private:
  friend class FakeBatchSource;
  std::shared_ptr<FakeWal> wal_;
  std::mutex mu_;
  std::optional<FakeCheckpoint> checkpoint_;
  std::function<void(uint64_t)> read_hook_;
  std::atomic<int> checkpoints_created_{0};
  std::atomic<int> sources_opened_{0};
};

class FakeSink : public replication::BatchSink {
 public:
  FakeSink() = default;
  explicit FakeSink(std::optional<uint64_t> cursor) : cursor_(cursor) {}

  std::optional<uint64_t> Cursor() override;
  Status Apply(const std::vector<WalBatch>& batches) override;
  uint64_t DurableSequence() override;
  Status BeginBootstrap(uint64_t sequence, uint32_t file_count, uint64_t total_bytes) override;
  Status BeginFile(const std::string& name, uint64_t size) override;
  Status WriteFileChunk(uint64_t offset, std::string_view data) override;
  Status FinishFile(uint32_t crc32c) override;
  Status CommitBootstrap() override;
  void AbortBootstrap() override;
  // Returns the status set by SetRecoverResult (OK by default); an OK recovery ends the
  // failure FailApplyAfter started (the storage works again).
  Status Recover() override;
  std::string StorageLocation() override { return "/data/fake-sink"; }

  // Test controls.
  void SetApplyDelay(std::chrono::microseconds d) { apply_delay_us_ = d.count(); }
  // The n-th Apply call from now (1 = next) fails with `status`, and every later one too.
  void FailApplyAfter(int n, Status status);
  // What Recover() returns from now on.
  void SetRecoverResult(Status status);
  int recover_calls() const;

  // Observations. bootstrap_progress: (bytes written, total) of the current/last bootstrap.
  std::pair<uint64_t, uint64_t> bootstrap_progress() const;
  std::vector<WalBatch> Applied() const;
  size_t AppliedCount() const;
  uint64_t AppliedBytes() const;
  std::map<std::string, std::string> Files() const;  // installed by the last CommitBootstrap
  int bootstraps_committed() const;
  int bootstraps_aborted() const;
  // Waits until Cursor() >= seq; returns false on timeout.
  bool WaitForCursor(uint64_t seq, std::chrono::milliseconds timeout) const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::optional<uint64_t> cursor_;
  std::vector<WalBatch> applied_;
  uint64_t applied_bytes_ = 0;
  std::atomic<int64_t> apply_delay_us_{0};
  int fail_countdown_ = 0;  // 0 = never
  Status fail_status_;
  bool failing_ = false;
  Status recover_status_;
  int recover_calls_ = 0;
  // Bootstrap.
  bool bootstrapping_ = false;
  uint64_t bootstrap_sequence_ = 0;
  uint32_t expected_files_ = 0;
  uint64_t expected_total_ = 0;
  std::string current_;  // current file name ("" if none)
  uint64_t current_size_ = 0;
  std::map<std::string, uint64_t> sizes_;
  std::map<std::string, std::string> staged_;
  std::map<std::string, std::string> files_;
  uint64_t written_ = 0;
  int committed_ = 0;
  int aborted_ = 0;
};

}  // namespace rocksdr::testing
