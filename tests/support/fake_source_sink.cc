#include "support/fake_source_sink.h"

#include <algorithm>
#include <random>
#include <thread>

#include "rocksdr/replication/crc32c.h"

namespace rocksdr::testing {

using replication::BatchSource;
using replication::CheckpointReader;
using replication::NeedsBootstrap;

// ---------------- FakeWal ----------------

uint64_t FakeWal::Append(uint32_t count, std::string rep) {
  std::lock_guard<std::mutex> l(mu_);
  WalBatch b;
  b.sequence = next_sequence_;
  b.count = count;
  b.rep = std::move(rep);
  next_sequence_ += count;
  cum_bytes_.push_back((cum_bytes_.empty() ? 0 : cum_bytes_.back()) + b.rep.size());
  batches_.push_back(std::move(b));
  cv_.notify_all();
  return batches_.back().sequence;
}

void FakeWal::AppendRandom(size_t n, size_t min_size, size_t max_size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<size_t> size_dist(min_size, max_size);
  std::uniform_int_distribution<uint32_t> count_dist(1, 4);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t count = count_dist(rng);
    // A WriteBatch-like rep: sequence:fixed64 count:fixed32 (little-endian), then the payload.
    std::string rep(12 + size_dist(rng), '\0');
    uint64_t seq;
    {
      std::lock_guard<std::mutex> l(mu_);
      seq = next_sequence_;
    }
    for (int b = 0; b < 8; ++b) rep[b] = static_cast<char>(seq >> (8 * b));
    for (int b = 0; b < 4; ++b) rep[8 + b] = static_cast<char>(count >> (8 * b));
    for (size_t j = 12; j < rep.size(); ++j) rep[j] = static_cast<char>(rng());
    Append(count, std::move(rep));
  }
}

void FakeWal::Truncate(uint64_t first_kept) {
  std::lock_guard<std::mutex> l(mu_);
  while (first_retained_ < batches_.size() &&
         batches_[first_retained_].last_sequence() < first_kept) {
    batches_[first_retained_].rep.clear();
    batches_[first_retained_].rep.shrink_to_fit();
    ++first_retained_;
  }
}

uint64_t FakeWal::LatestSequence() const {
  std::lock_guard<std::mutex> l(mu_);
  return next_sequence_ - 1;
}

uint64_t FakeWal::FirstRetained() const {
  std::lock_guard<std::mutex> l(mu_);
  return first_retained_ < batches_.size() ? batches_[first_retained_].sequence : next_sequence_;
}

std::vector<WalBatch> FakeWal::BatchesFrom(uint64_t from) const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<WalBatch> out;
  for (size_t i = first_retained_; i < batches_.size(); ++i) {
    if (batches_[i].sequence >= from) out.push_back(batches_[i]);
  }
  return out;
}

uint64_t FakeWal::BytesThrough(uint64_t seq) const {
  std::lock_guard<std::mutex> l(mu_);
  // First batch whose last sequence is > seq.
  auto it = std::upper_bound(batches_.begin(), batches_.end(), seq,
                             [](uint64_t s, const WalBatch& b) { return s < b.last_sequence(); });
  const size_t n = static_cast<size_t>(it - batches_.begin());
  return n == 0 ? 0 : cum_bytes_[n - 1];
}

size_t FakeWal::MaxRepSize() const {
  std::lock_guard<std::mutex> l(mu_);
  size_t m = 0;
  for (size_t i = 0; i < batches_.size(); ++i) {
    m = std::max(m, static_cast<size_t>(cum_bytes_[i] - (i == 0 ? 0 : cum_bytes_[i - 1])));
  }
  return m;
}

FakeWal::Lookup FakeWal::Find(uint64_t sequence, size_t* index) const {
  std::lock_guard<std::mutex> l(mu_);
  if (sequence == next_sequence_) {
    *index = batches_.size();
    return Lookup::kNotYetWritten;
  }
  if (sequence > next_sequence_) return Lookup::kGone;  // ahead of us: another history
  auto it = std::lower_bound(batches_.begin(), batches_.end(), sequence,
                             [](const WalBatch& b, uint64_t s) { return b.sequence < s; });
  const size_t i = static_cast<size_t>(it - batches_.begin());
  if (it == batches_.end() || it->sequence != sequence || i < first_retained_) {
    return Lookup::kGone;
  }
  *index = i;
  return Lookup::kFound;
}

bool FakeWal::Wait(uint64_t after_seq, std::chrono::microseconds timeout) const {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, timeout, [&] { return next_sequence_ - 1 > after_seq; });
}

bool FakeWal::ReadAt(size_t index, size_t max_bytes, size_t max_batches,
                     std::vector<WalBatch>* out, size_t* next_index, uint64_t* bytes) const {
  std::lock_guard<std::mutex> l(mu_);
  if (index < first_retained_) return false;
  size_t got = 0;
  size_t total = 0;
  size_t i = index;
  while (i < batches_.size() && got < max_batches && total < max_bytes) {
    out->push_back(batches_[i]);
    total += batches_[i].rep.size();
    ++got;
    ++i;
  }
  *next_index = i;
  *bytes = total;
  return true;
}

// ---------------- FakeBatchSource ----------------

class FakeBatchSource : public BatchSource {
 public:
  FakeBatchSource(FakeSourceProvider* provider, size_t index)
      : provider_(provider), wal_(provider->wal_), index_(index) {}

  Status Read(size_t max_bytes, size_t max_batches, std::vector<WalBatch>* out) override {
    size_t next = index_;
    uint64_t bytes = 0;
    const size_t before = out->size();
    if (!wal_->ReadAt(index_, max_bytes, max_batches, out, &next, &bytes)) {
      return NeedsBootstrap("the fake WAL no longer holds the next batch");
    }
    index_ = next;
    if (out->size() > before) {
      std::function<void(uint64_t)> hook;
      {
        std::lock_guard<std::mutex> l(provider_->mu_);
        hook = provider_->read_hook_;
      }
      if (hook) hook(out->back().last_sequence());
    }
    return Status::OK();
  }
  bool WaitForWrites(uint64_t after_seq, std::chrono::microseconds timeout) override {
    return wal_->Wait(after_seq, timeout);
  }
  uint64_t LatestSequence() override { return wal_->LatestSequence(); }

 private:
  FakeSourceProvider* provider_;
  std::shared_ptr<FakeWal> wal_;
  size_t index_;
};

class FakeCheckpointReader : public CheckpointReader {
 public:
  explicit FakeCheckpointReader(FakeCheckpoint c) : c_(std::move(c)) {
    for (const auto& [name, content] : c_.files) files_.push_back({name, content.size()});
  }
  uint64_t sequence() const override { return c_.sequence; }
  const std::vector<CheckpointFile>& files() const override { return files_; }
  Status ReadChunk(size_t file_index, uint64_t offset, size_t max_bytes,
                   std::string* out) override {
    if (file_index >= c_.files.size()) return Status::InvalidArgument("bad file index");
    const std::string& content = c_.files[file_index].second;
    out->clear();
    if (offset >= content.size()) return Status::OK();
    out->assign(content, offset, std::min<size_t>(max_bytes, content.size() - offset));
    return Status::OK();
  }

 private:
  FakeCheckpoint c_;
  std::vector<CheckpointFile> files_;
};

Result<std::unique_ptr<BatchSource>> FakeSourceProvider::OpenAt(uint64_t next_sequence) {
  size_t index = 0;
  switch (wal_->Find(next_sequence, &index)) {
    case FakeWal::Lookup::kGone:
      return NeedsBootstrap("sequence " + std::to_string(next_sequence) +
                            " is no longer in the fake WAL");
    case FakeWal::Lookup::kFound:
    case FakeWal::Lookup::kNotYetWritten:
      break;
  }
  ++sources_opened_;
  return std::unique_ptr<BatchSource>(new FakeBatchSource(this, index));
}

Result<std::unique_ptr<CheckpointReader>> FakeSourceProvider::CreateCheckpoint() {
  std::lock_guard<std::mutex> l(mu_);
  if (!checkpoint_) return Status::Unavailable("no fake checkpoint configured");
  ++checkpoints_created_;
  return std::unique_ptr<CheckpointReader>(new FakeCheckpointReader(*checkpoint_));
}

void FakeSourceProvider::SetCheckpoint(FakeCheckpoint checkpoint) {
  std::lock_guard<std::mutex> l(mu_);
  checkpoint_ = std::move(checkpoint);
}

void FakeSourceProvider::SetReadHook(std::function<void(uint64_t)> hook) {
  std::lock_guard<std::mutex> l(mu_);
  read_hook_ = std::move(hook);
}

// ---------------- FakeSink ----------------

std::optional<uint64_t> FakeSink::Cursor() {
  std::lock_guard<std::mutex> l(mu_);
  return cursor_;
}

Status FakeSink::Apply(const std::vector<WalBatch>& batches) {
  const int64_t delay = apply_delay_us_.load();
  if (delay > 0) std::this_thread::sleep_for(std::chrono::microseconds(delay));
  std::lock_guard<std::mutex> l(mu_);
  if (failing_) return fail_status_;
  if (fail_countdown_ > 0 && --fail_countdown_ == 0) {
    failing_ = true;
    return fail_status_;
  }
  if (!cursor_) return Status::FailedPrecondition("fake sink: no cursor (needs bootstrap)");
  uint64_t expect = *cursor_ + 1;
  for (const auto& b : batches) {
    if (b.sequence != expect) {
      return Status::FailedPrecondition("fake sink: batch at " + std::to_string(b.sequence) +
                                        " does not continue cursor+1 = " +
                                        std::to_string(expect));
    }
    expect = b.next_sequence();
  }
  for (const auto& b : batches) {
    applied_.push_back(b);
    applied_bytes_ += b.rep.size();
  }
  if (!batches.empty()) cursor_ = batches.back().last_sequence();
  cv_.notify_all();
  return Status::OK();
}

uint64_t FakeSink::DurableSequence() {
  std::lock_guard<std::mutex> l(mu_);
  return cursor_.value_or(0);
}

Status FakeSink::BeginBootstrap(uint64_t sequence, uint32_t file_count, uint64_t total_bytes) {
  std::lock_guard<std::mutex> l(mu_);
  expected_files_ = file_count;
  expected_total_ = total_bytes;
  sizes_.clear();
  staged_.clear();
  current_.clear();
  written_ = 0;
  bootstrapping_ = true;
  bootstrap_sequence_ = sequence;
  cursor_.reset();  // joining wipes: no usable position until the commit
  return Status::OK();
}

Status FakeSink::BeginFile(const std::string& name, uint64_t size) {
  std::lock_guard<std::mutex> l(mu_);
  if (!bootstrapping_ || !current_.empty()) {
    return Status::FailedPrecondition("fake sink: BeginFile out of place");
  }
  if (!sizes_.emplace(name, size).second) {
    return Status::InvalidArgument("fake sink: duplicate file " + name);
  }
  if (sizes_.size() > expected_files_) return Status::InvalidArgument("fake sink: too many files");
  current_ = name;
  current_size_ = size;
  staged_[name];
  return Status::OK();
}

Status FakeSink::WriteFileChunk(uint64_t offset, std::string_view data) {
  std::lock_guard<std::mutex> l(mu_);
  if (!bootstrapping_ || current_.empty()) {
    return Status::FailedPrecondition("fake sink: chunk out of place");
  }
  std::string& f = staged_[current_];
  if (offset != f.size()) return Status::InvalidArgument("fake sink: non-contiguous chunk");
  if (f.size() + data.size() > current_size_) return Status::InvalidArgument("fake sink: too long");
  f.append(data);
  written_ += data.size();
  return Status::OK();
}

Status FakeSink::FinishFile(uint32_t crc) {
  std::lock_guard<std::mutex> l(mu_);
  if (!bootstrapping_ || current_.empty()) {
    return Status::FailedPrecondition("fake sink: FinishFile out of place");
  }
  const std::string& f = staged_[current_];
  if (f.size() != current_size_) return Status::Corruption("fake sink: short file " + current_);
  if (replication::crc32c::Value(f) != crc) return Status::Corruption("fake sink: bad crc");
  current_.clear();
  return Status::OK();
}

Status FakeSink::CommitBootstrap() {
  std::lock_guard<std::mutex> l(mu_);
  if (!bootstrapping_ || !current_.empty()) {
    return Status::FailedPrecondition("fake sink: CommitBootstrap out of place");
  }
  if (staged_.size() != expected_files_ || written_ != expected_total_) {
    return Status::FailedPrecondition("fake sink: missing files or bytes at commit");
  }
  files_ = std::move(staged_);
  staged_.clear();
  applied_.clear();
  applied_bytes_ = 0;
  cursor_ = bootstrap_sequence_;
  bootstrapping_ = false;
  ++committed_;
  cv_.notify_all();
  return Status::OK();
}

std::pair<uint64_t, uint64_t> FakeSink::bootstrap_progress() const {
  std::lock_guard<std::mutex> l(mu_);
  return {written_, expected_total_};
}

void FakeSink::AbortBootstrap() {
  std::lock_guard<std::mutex> l(mu_);
  if (bootstrapping_) ++aborted_;
  bootstrapping_ = false;
  staged_.clear();
  current_.clear();
}

void FakeSink::FailApplyAfter(int n, Status status) {
  std::lock_guard<std::mutex> l(mu_);
  fail_countdown_ = n;
  fail_status_ = std::move(status);
}

Status FakeSink::Recover() {
  std::lock_guard<std::mutex> l(mu_);
  ++recover_calls_;
  if (!recover_status_.ok()) return recover_status_;
  failing_ = false;
  fail_countdown_ = 0;
  return Status::OK();
}

void FakeSink::SetRecoverResult(Status status) {
  std::lock_guard<std::mutex> l(mu_);
  recover_status_ = std::move(status);
}

int FakeSink::recover_calls() const {
  std::lock_guard<std::mutex> l(mu_);
  return recover_calls_;
}

std::vector<WalBatch> FakeSink::Applied() const {
  std::lock_guard<std::mutex> l(mu_);
  return applied_;
}
size_t FakeSink::AppliedCount() const {
  std::lock_guard<std::mutex> l(mu_);
  return applied_.size();
}
uint64_t FakeSink::AppliedBytes() const {
  std::lock_guard<std::mutex> l(mu_);
  return applied_bytes_;
}
std::map<std::string, std::string> FakeSink::Files() const {
  std::lock_guard<std::mutex> l(mu_);
  return files_;
}
int FakeSink::bootstraps_committed() const {
  std::lock_guard<std::mutex> l(mu_);
  return committed_;
}
int FakeSink::bootstraps_aborted() const {
  std::lock_guard<std::mutex> l(mu_);
  return aborted_;
}
bool FakeSink::WaitForCursor(uint64_t seq, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, timeout, [&] { return cursor_ && *cursor_ >= seq; });
}

}  // namespace rocksdr::testing
