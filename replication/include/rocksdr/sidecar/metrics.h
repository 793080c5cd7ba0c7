// Metrics: the sidecar's counters and their Prometheus text rendering (exposition format 0.0.4),
// served at sys/metrics. Counters are cheap (one mutex, a map by status code); gauges are passed
// in at render time by the caller (seal state, replication status).
//
// Who may call: anyone, from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace rocksdr::sidecar {

struct Gauge {
  std::string name;    // e.g. "rocksdr_core_unsealed"
  std::string help;
  std::string labels;  // e.g. R"(secondary="dr1")" or ""
  double value = 0;
};

class Metrics {
 public:
  void RecordResponse(int status);
  uint64_t responses(int status) const;
  // Counters followed by `gauges` (grouped by name, one HELP/TYPE per name).
  std::string RenderPrometheus(const std::vector<Gauge>& gauges) const;

  // Escapes a label value (\, ", newline).
  static std::string EscapeLabel(const std::string& v);

 private:
  mutable std::mutex mu_;
  std::map<int, uint64_t> by_status_;
};

}  // namespace rocksdr::sidecar
