// Implementation of metrics.h.
#include "rocksdr/sidecar/metrics.h"

#include <cstdio>
#include <set>

namespace rocksdr::sidecar {

void Metrics::RecordResponse(int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++by_status_[status];
}

uint64_t Metrics::responses(int status) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_status_.find(status);
  return it == by_status_.end() ? 0 : it->second;
}

std::string Metrics::EscapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

namespace {
std::string Number(double v) {
  char buf[64];
  if (v == static_cast<double>(static_cast<int64_t>(v))) {
    std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(v));
  } else {
    // 15 significant digits: a Unix time in seconds with milliseconds (1764168000.123) keeps
    // them (with %.6g it printed 1.76417e+09, off by up to ~5000 s).
    std::snprintf(buf, sizeof(buf), "%.15g", v);
  }
  return buf;
}
}  // namespace

std::string Metrics::RenderPrometheus(const std::vector<Gauge>& gauges) const {
  std::string out;
  out += "# HELP rocksdr_http_requests_total API requests answered, by HTTP status code.\n";
  out += "# TYPE rocksdr_http_requests_total counter\n";
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [code, n] : by_status_) {
      out += "rocksdr_http_requests_total{code=\"" + std::to_string(code) + "\"} " + std::to_string(n) + "\n";
    }
  }
  std::set<std::string> described;
  for (const Gauge& g : gauges) {
    if (described.insert(g.name).second) {
      out += "# HELP " + g.name + " " + g.help + "\n# TYPE " + g.name + " gauge\n";
    }
    out += g.name + (g.labels.empty() ? "" : "{" + g.labels + "}") + " " + Number(g.value) + "\n";
  }
  return out;
}

}  // namespace rocksdr::sidecar
