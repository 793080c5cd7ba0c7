// LogLimiter: at most one log line per interval for a kind of event that an outsider can repeat at
// will (refused connections in a flood or a scan), with the count of those not logged since.
//
// Who may include: replication/src (the replication listener, the sidecar's HTTP server).
// Not thread-safe: the caller serializes Log() (both callers hold their own mutex).
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace rocksdr::replication {

class LogLimiter {
 public:
  explicit LogLimiter(std::chrono::seconds interval = std::chrono::seconds(10)) : interval_(interval) {}

  // Logs `line` as a warning, unless one was logged less than the interval ago; the next line
  // logged says how many were left out.
  void Log(const std::string& line) {
    const auto now = std::chrono::steady_clock::now();
    if (since_logged_ > 0 && now - last_ < interval_) {
      ++since_logged_;
      return;
    }
    if (since_logged_ > 1) {
      spdlog::warn("{} ({} more such in the last {} s)", line, since_logged_ - 1,
                   std::chrono::duration_cast<std::chrono::seconds>(now - last_).count());
    } else {
      spdlog::warn("{}", line);
    }
    last_ = now;
    since_logged_ = 1;
  }

 private:
  const std::chrono::seconds interval_;
  std::chrono::steady_clock::time_point last_;
  uint64_t since_logged_ = 0;  // events since last_, the logged one included
};

}  // namespace rocksdr::replication
