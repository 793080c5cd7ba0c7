// DbEvents; see db_events.h.
#include "db_events.h"

#include <utility>

namespace rocksdr::plugin {

void DbEvents::RecordIngestion(uint64_t global_seqno) {
  ingestions_.fetch_add(1);
  std::lock_guard<std::mutex> lock(mu_);
  if (global_seqno == 0) return;
  ingestion_seqnos_.push_back(global_seqno);
  if (ingestion_seqnos_.size() > kMaxRememberedIngestions) ingestion_seqnos_.pop_front();
}

bool DbEvents::IngestionBetween(uint64_t from, uint64_t to) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (uint64_t s : ingestion_seqnos_) {
    if (s >= from && s <= to) return true;
  }
  return false;
}

void DbEvents::RecordBackgroundError(std::string text, bool no_space, bool in_write_path) {
  if (text.size() > 1024) text.resize(1024);
  std::lock_guard<std::mutex> lock(mu_);
  background_error_no_space_ = no_space && !text.empty();
  // A later error of another kind (a flush's) does not clear a failed write's.
  background_error_in_write_path_ = !text.empty() && (in_write_path || background_error_in_write_path_);
  background_error_ = std::move(text);
}

bool DbEvents::wal_write_failed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return background_error_in_write_path_;
}

bool DbEvents::background_error_is_no_space() const {
  std::lock_guard<std::mutex> lock(mu_);
  return background_error_no_space_;
}

std::string DbEvents::background_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return background_error_;
}

}  // namespace rocksdr::plugin
