// Implementation of sidecar_harness.h.
#include "support/sidecar_harness.h"

#include <stdexcept>

#include "rocksdr/sidecar/http_client.h"

namespace rocksdr::sidecar::testing {

SidecarConfig SidecarHarness::DefaultConfig() {
  SidecarConfig c;
  c.listen_address = "127.0.0.1:0";
  c.tls_disable = true;
  c.in_memory = true;
  return c;
}

std::unique_ptr<SidecarHarness> SidecarHarness::Start(SidecarConfig config, const std::vector<RouteRegistrar>& extra) {
  auto h = std::make_unique<SidecarHarness>();
  auto control = std::make_unique<MemoryPluginControl>();
  h->control_ = control.get();
  auto s = Sidecar::Start(config, std::move(control), extra);
  if (!s.ok()) throw std::runtime_error("sidecar start: " + s.status().ToString());
  h->sidecar_ = std::move(s).value();
  return h;
}

Reply SidecarHarness::Call(const std::string& method, const std::string& path, const std::string& body,
                           const std::string& token) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!token.empty()) headers.emplace_back("X-Vault-Token", token);
  auto r = HttpRequest(address(), method, path, body, headers);
  Reply out;
  if (!r.ok()) {
    out.status = -1;
    out.body = r.status().ToString();
    return out;
  }
  out.status = r->status;
  out.content_type = r->content_type;
  out.body = r->body;
  out.json = nlohmann::json::parse(out.body, nullptr, false);
  if (out.json.is_discarded()) out.json = nullptr;
  return out;
}

}  // namespace rocksdr::sidecar::testing
