// WalGroupSync; see wal_group_sync.h.
#include "wal_group_sync.h"

namespace rocksdr::plugin {

rocksdb::Status WalGroupSync::SyncAfter() {
  std::unique_lock<std::mutex> l(mu_);
  const uint64_t need = started_ + 1;  // the first round that begins after this call
  while (finished_ < need) {
    if (syncing_) {
      cv_.wait(l);
      continue;
    }
    syncing_ = true;
    const uint64_t round = ++started_;
    l.unlock();
    rocksdb::Status s =
        events_ != nullptr && events_->wal_write_failed()
            ? rocksdb::Status::IOError("not syncing the WAL: a write failed and RocksDB has not cleared the error (" +
                                       events_->background_error() + ")")
            : db_->SyncWAL();
    l.lock();
    syncing_ = false;
    finished_ = round;
    last_ = s;
    cv_.notify_all();
  }
  return last_;
}

uint64_t WalGroupSync::syncs() const {
  std::lock_guard<std::mutex> l(mu_);
  return started_;
}

}  // namespace rocksdr::plugin
