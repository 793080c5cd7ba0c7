// See sink_retry.h.
#include "rocksdr/replication/sink_retry.h"

namespace rocksdr::replication {

bool SinkFailureIsRetryable(const Status& st) {
  return st.code() == Code::kIOError || st.code() == Code::kUnavailable;
}

std::string DescribeStorageRetry(const std::string& error, std::chrono::milliseconds delay,
                                 uint32_t attempt, const std::string& location) {
  // Whole seconds, rounded up; under a second in ms (never "0 s").
  const std::string in = delay.count() < 1000 ? std::to_string(delay.count()) + " ms"
                                              : std::to_string((delay.count() + 999) / 1000) + " s";
  std::string out = "local storage failed: " + error + "; retrying in " + in + " (attempt " +
                    std::to_string(attempt) + ")";
  const bool full = error.find("No space left on device") != std::string::npos ||
                    error.find("ENOSPC") != std::string::npos;
  const std::string where = location.empty() ? std::string("the secondary's DB directory") : location;
  out += full ? " — free space on " + where : " — check the storage of " + where;
  return out;
}

}  // namespace rocksdr::replication
