// rocksdb::Status -> rocksdr::Status; see rocks_status.h.
#include "rocks_status.h"

#include <string>

namespace rocksdr::plugin {

Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return Status::OK();
  std::string message = std::string(context) + ": " + s.ToString();
  switch (s.code()) {
    case rocksdb::Status::kNotFound: return Status::NotFound(std::move(message));
    case rocksdb::Status::kCorruption: return Status::Corruption(std::move(message));
    case rocksdb::Status::kInvalidArgument: return Status::InvalidArgument(std::move(message));
    case rocksdb::Status::kNotSupported: return Status::FailedPrecondition(std::move(message));
    case rocksdb::Status::kIOError: return Status::IOError(std::move(message));
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTryAgain:
    case rocksdb::Status::kIncomplete: return Status::Unavailable(std::move(message));
    case rocksdb::Status::kTimedOut: return Status::DeadlineExceeded(std::move(message));
    case rocksdb::Status::kAborted: return Status::Aborted(std::move(message));
    default: return Status::Internal(std::move(message));
  }
}

}  // namespace rocksdr::plugin
