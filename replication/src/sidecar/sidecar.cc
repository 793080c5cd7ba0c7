// Implementation of sidecar.h.
#include "rocksdr/sidecar/sidecar.h"

#include <spdlog/spdlog.h>

#include "rocksdr/sidecar/handlers.h"
#include "rocksdr/sidecar/net_address.h"
#include "rocksdr/sidecar/web_ui.h"

namespace rocksdr::sidecar {

Result<std::unique_ptr<Sidecar>> Sidecar::Start(const SidecarConfig& config, std::unique_ptr<PluginControl> control,
                                                const std::vector<RouteRegistrar>& extra_routes) {
  if (control == nullptr) return Status::InvalidArgument("Sidecar needs a plugin control");
  std::unique_ptr<Sidecar> s(new Sidecar());
  s->config_ = config;
  s->control_ = std::move(control);
  CoreOptions co;
  co.api_addr = config.api_addr;
  s->core_ = std::make_unique<Core>(s->control_.get(), co);
  s->router_ = std::make_unique<Router>(s->core_.get());
  SysRouteOptions so;
  so.unauthenticated_metrics = config.unauthenticated_metrics_access;
  ROCKSDR_RETURN_IF_ERROR(RegisterCoreRoutes(*s->router_, *s->core_, so));
  for (const auto& reg : extra_routes) ROCKSDR_RETURN_IF_ERROR(reg(*s->router_, *s->core_));
  if (Status r = s->core_->RefreshRole(); !r.ok()) {
    spdlog::warn("core: cannot read the plugin's role yet: {}", r.message());
  }

  HttpServerOptions ho;
  ho.listen_address = config.listen_address;
  if (!config.tls_disable) {
    ho.tls_cert_file = config.tls_cert_file;
    ho.tls_key_file = config.tls_key_file;
  }
  ho.max_body_bytes = config.max_request_bytes;
  ho.max_header_bytes = config.max_header_bytes;
  ho.read_timeout = config.read_timeout;
  ho.write_timeout = config.write_timeout;
  ho.max_connections = config.max_connections;
  ho.max_connections_per_address = config.max_connections_per_address;
  ho.threads = config.threads;
  if (config.ui) ho.other_handler = [](const std::string& target) { return ServeWebUi(target); };
  Result<std::unique_ptr<HttpServer>> server = HttpServer::Start(ho, s->router_.get());
  if (!server.ok()) return server.status();
  s->server_ = std::move(server).value();

  const std::string scheme = s->server_->tls() ? "https://" : "http://";
  if (config.api_addr.empty() || config.api_addr == scheme + config.listen_address) {
    Result<HostPort> hp = ParseHostPort(config.listen_address);
    if (hp.ok() && hp->port == 0) s->core_->SetApiAddr(s->address());
  }
  spdlog::info("http: listening on {} (api_addr {})", s->address(), s->core_->api_addr());
  return s;
}

Sidecar::~Sidecar() { Stop(); }

void Sidecar::Stop() {
  if (server_ != nullptr) server_->Stop();
  if (core_ != nullptr) core_->StopBackground();
}

std::string Sidecar::address() const {
  return std::string(server_->tls() ? "https://" : "http://") + server_->bound_address();
}

Result<InitOutput> Sidecar::InitializeAndUnsealForDev() {
  Result<InitOutput> out = core_->Initialize(1, 1);
  if (!out.ok()) return out.status();
  Result<SealState> st = core_->seal().SubmitUnsealKey(out->keys.at(0));
  if (!st.ok()) return st.status();
  if (st->sealed) return Status::Internal("dev mode: still sealed after the unseal key");
  return out;
}

}  // namespace rocksdr::sidecar
