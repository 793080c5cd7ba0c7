// Sidecar: one running control plane — Core + Router (+ the built-in routes and any extra route
// groups) + HttpServer — assembled from a SidecarConfig and a PluginControl. This is what
// `rocksdr server` runs and what tests start on 127.0.0.1:0.
//
// Extra route groups (e.g. the DR replication endpoints) are passed as registrars, called after
// the built-in routes and before the server starts:
//   Sidecar::Start(config, std::move(control), {&RegisterDrRoutes});
//
// Who may call: Start/Stop from the main thread (or a test); accessors from any thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rocksdr/sidecar/config.h"
#include "rocksdr/sidecar/core.h"
#include "rocksdr/sidecar/http_server.h"
#include "rocksdr/sidecar/plugin_control.h"
#include "rocksdr/sidecar/router.h"

namespace rocksdr::sidecar {

using RouteRegistrar = std::function<Status(Router&, Core&)>;

class Sidecar {
 public:
  // Builds everything and starts serving. If config.api_addr was derived from a listener with
  // port 0, it is updated to the bound port. Errors: route registration, server start.
  static Result<std::unique_ptr<Sidecar>> Start(const SidecarConfig& config, std::unique_ptr<PluginControl> control,
                                                const std::vector<RouteRegistrar>& extra_routes = {});
  ~Sidecar();

  // Dev mode: initialize with one unseal key (threshold 1) and unseal. Fails if initialized.
  Result<InitOutput> InitializeAndUnsealForDev();

  Core& core() { return *core_; }
  Router& router() { return *router_; }
  PluginControl& control() { return *control_; }
  // "http://127.0.0.1:PORT" or "https://...": where clients reach this server.
  std::string address() const;
  uint16_t port() const { return server_->port(); }
  void Stop();

 private:
  Sidecar() = default;
  SidecarConfig config_;
  std::unique_ptr<PluginControl> control_;
  std::unique_ptr<Core> core_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace rocksdr::sidecar
