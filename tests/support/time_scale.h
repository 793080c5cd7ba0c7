// How much longer the tests' waits for a condition may last: ROCKSDR_TEST_TIME_SCALE (an integer
// 1..100, default 1), set by scripts/sanitize (4 under ASan, 8 under TSan, which run our code
// several times slower). Only the bound of a wait grows: a check is never skipped or weakened.
// Test-only; callable from any thread.
#pragma once

#include <chrono>
#include <cstdlib>
#include <string>

namespace rocksdr::testing {

inline int TestTimeScale() {
  static const int scale = [] {
    const char* v = std::getenv("ROCKSDR_TEST_TIME_SCALE");
    if (v == nullptr) return 1;
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    return (end != v && *end == '\0' && n >= 1 && n <= 100) ? static_cast<int>(n) : 1;
  }();
  return scale;
}

// `timeout` stretched by TestTimeScale().
inline std::chrono::milliseconds Scaled(std::chrono::milliseconds timeout) { return timeout * TestTimeScale(); }

}  // namespace rocksdr::testing
