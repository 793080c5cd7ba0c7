// Test harness for the sidecar: starts a Sidecar on 127.0.0.1:0 over plain HTTP with a
// MemoryPluginControl (whose stores tests can inspect), and a one-line HTTP call helper that
// parses JSON answers.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "rocksdr/sidecar/memory_plugin_control.h"
#include "rocksdr/sidecar/sidecar.h"

namespace rocksdr::sidecar::testing {

struct Reply {
  int status = 0;
  std::string content_type;
  std::string body;
  nlohmann::json json;  // parsed body, or null
};

class SidecarHarness {
 public:
  // Starts the sidecar; `config` defaults to 127.0.0.1:0, tls_disable, in_memory.
  static std::unique_ptr<SidecarHarness> Start(SidecarConfig config = DefaultConfig(),
                                               const std::vector<RouteRegistrar>& extra = {});
  static SidecarConfig DefaultConfig();

  Reply Call(const std::string& method, const std::string& path, const std::string& body = "",
             const std::string& token = "");
  Sidecar& sidecar() { return *sidecar_; }
  MemoryPluginControl& control() { return *control_; }
  std::string address() const { return sidecar_->address(); }

 private:
  std::unique_ptr<Sidecar> sidecar_;
  MemoryPluginControl* control_ = nullptr;  // owned by sidecar_
};

}  // namespace rocksdr::sidecar::testing
