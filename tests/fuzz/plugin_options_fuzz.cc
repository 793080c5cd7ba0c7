// libFuzzer target: the plugin options YAML (ParsePluginOptionsYaml, options.h) and the whole-
// options validation that Open/Attach apply to what it returns. Any text gives options or an
// error naming the source; validation of parsed options never crashes and names the field.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "rocksdr/options.h"

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto opts = rocksdr::ParsePluginOptionsYaml(text, "fuzz.yaml");
  if (!opts.ok()) {
    Check(opts.status().message().find("fuzz.yaml") != std::string::npos);
    return 0;
  }
  rocksdr::Status v = rocksdr::ValidatePluginOptions(*opts);
  if (v.ok()) {
    Check(opts->max_batch_bytes <= opts->max_frame_bytes);
    Check(opts->max_unacked_bytes >= opts->max_frame_bytes);
    Check(opts->peer_timeout_ms > 2 * opts->heartbeat_interval_ms);
    Check(opts->wal_ttl_seconds != 0 || opts->wal_size_limit_mb != 0);
    (void)rocksdr::ResolveControlSocketPath(*opts, "/db");
  } else {
    Check(!v.message().empty());
  }
  return 0;
}
