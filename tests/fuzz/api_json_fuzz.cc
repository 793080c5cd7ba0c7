// libFuzzer target: the sidecar API's request handling without sockets — Router::Dispatch (route
// checks, JSON body parsing) and every handler's body validation, on a fresh node per input
// (in-memory plugin, initialized 1/1 and unsealed), with the core and DR routes registered.
//
// Input: up to 8 requests, each  route:u8 method:u8 auth:u8 len:u16le body[len]
//   route   index into the registered routes (Router::Describe), minus the two that call another
//           node (secondary/enable, secondary/update-primary: they contact the address inside the
//           token, and a fuzzer must not open connections); a body starting "@<path>\n" names
//           the route instead (seeds stay meaningful when routes are added)
//   method  the route's registered method (even) or any method (odd: 405 paths)
//   auth    0 root token, 1 none, 2 the last "token" value seen in a response, 3 garbage
//   body    raw bytes; "${name}" is replaced by the last string value of that key seen in any
//           response (e.g. ${token}, ${nonce}, ${otp}, ${encoded_token}, ${accessor}), and
//           ${root_token} / ${unseal_key} by the node's, so sequences reach deep states
//           (enable primary -> secondary-token -> unwrap).
// Checks: no crash / leak / UB; every status is 2xx/4xx or 503 (sealed) / 501 — a handler answers
// bad input with 4xx, never 500; no response carries the root token (except lookup-self's own
// "id") or the unseal key (the node is already initialized, so no route may return them).
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

#include "rocksdr/crypto/encoding.h"
#include "rocksdr/sidecar/core.h"
#include "rocksdr/sidecar/dr_handlers.h"
#include "rocksdr/sidecar/handlers.h"
#include "rocksdr/sidecar/memory_plugin_control.h"
#include "rocksdr/sidecar/router.h"

namespace {

using namespace rocksdr::sidecar;
namespace crypto = rocksdr::crypto;

void Check(bool ok) {
  if (!ok) std::abort();
}

struct Route {
  Method method;
  std::string path;
  bool prefix;
};

constexpr Method kMethods[] = {Method::kGet, Method::kPost, Method::kDelete, Method::kList};

struct Node {
  MemoryPluginControl control;
  std::unique_ptr<Core> core;
  std::unique_ptr<Router> router;
  std::string root_token;
  std::string unseal_key_hex;
};

std::unique_ptr<Node> NewNode() {
  auto n = std::make_unique<Node>();
  CoreOptions opts;
  opts.api_addr = "http://127.0.0.1:8200";
  n->core = std::make_unique<Core>(&n->control, opts);
  n->router = std::make_unique<Router>(n->core.get());
  Check(RegisterCoreRoutes(*n->router, *n->core).ok());
  Check(RegisterDrRoutes(*n->router, *n->core).ok());
  auto init = n->core->Initialize(1, 1);
  Check(init.ok());
  n->root_token.assign(init->root_token.begin(), init->root_token.end());
  const auto& key = init->keys.at(0);
  n->unseal_key_hex = crypto::HexEncode(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
  auto st = n->core->seal().SubmitUnsealKey(key);
  Check(st.ok() && !st->sealed);
  return n;
}

// The registered routes, once (the table is the same for every node).
const std::vector<Route>& Routes() {
  static const std::vector<Route>* routes = [] {
    spdlog::set_level(spdlog::level::off);  // handlers log; the fuzzer's output stays readable
    auto* out = new std::vector<Route>;
    std::unique_ptr<Node> n = NewNode();
    for (const std::string& d : n->router->Describe()) {
      size_t sp = d.find(' ');
      Route r;
      std::string m = d.substr(0, sp);
      r.path = d.substr(sp + 1);
      r.prefix = !r.path.empty() && r.path.back() == '*';
      if (r.prefix) r.path.pop_back();
      if (r.path.find("dr/secondary/enable") != std::string::npos ||
          r.path.find("dr/secondary/update-primary") != std::string::npos) {
        continue;  // these call the primary named inside the token: no network from a fuzzer
      }
      bool known = false;
      for (Method k : kMethods) {
        if (MethodName(k) == m) {
          r.method = k;
          known = true;
        }
      }
      Check(known);
      out->push_back(std::move(r));
    }
    Check(!out->empty());
    return out;
  }();
  return *routes;
}

void Remember(const nlohmann::json& j, std::map<std::string, std::string>* seen) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it->is_string()) (*seen)[it.key()] = it->get<std::string>();
      Remember(*it, seen);
    }
  } else if (j.is_array()) {
    for (const auto& v : j) Remember(v, seen);
  }
}

std::string Substitute(std::string_view body, const std::map<std::string, std::string>& seen) {
  std::string out;
  size_t i = 0;
  while (i < body.size()) {
    size_t open = body.find("${", i);
    size_t close = open == std::string_view::npos ? open : body.find('}', open);
    if (close == std::string_view::npos) break;
    out.append(body.substr(i, open - i));
    auto it = seen.find(std::string(body.substr(open + 2, close - open - 2)));
    if (it != seen.end()) out += it->second;
    i = close + 1;
  }
  out.append(body.substr(i));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<Route>& routes = Routes();
  std::unique_ptr<Node> node = NewNode();
  std::map<std::string, std::string> seen{{"root_token", node->root_token}, {"unseal_key", node->unseal_key_hex}};
  size_t pos = 0;
  for (int i = 0; i < 8 && pos + 5 <= size; ++i) {
    const Route* route = &routes[data[pos] % routes.size()];
    const uint8_t method = data[pos + 1];
    const uint8_t auth = data[pos + 2] % 4;
    size_t len = size_t{data[pos + 3]} | (size_t{data[pos + 4]} << 8);
    pos += 5;
    if (len > size - pos) len = size - pos;
    std::string_view raw(reinterpret_cast<const char*>(data) + pos, len);
    pos += len;
    if (!raw.empty() && raw[0] == '@') {
      size_t nl = raw.find('\n');
      std::string_view name = raw.substr(1, nl == std::string_view::npos ? raw.size() : nl - 1);
      for (const Route& r : routes) {
        if (r.path == name) route = &r;
      }
      raw = nl == std::string_view::npos ? std::string_view() : raw.substr(nl + 1);
    }

    ApiRequest req;
    req.method = (method & 1) ? kMethods[(method >> 1) % 4] : route->method;
    req.path = route->path;
    if (route->prefix && !raw.empty()) req.path += "k" + std::to_string(raw[0] & 7);
    req.raw_body = Substitute(raw, seen);
    switch (auth) {
      case 0: req.client_token = node->root_token; break;
      case 1: break;
      case 2: req.client_token = seen.count("token") ? seen["token"] : ""; break;
      case 3: req.client_token = "rdr.AAAAAAAAAAAAAAAAAAAAAAAA"; break;
    }
    req.request_id = "fuzz-" + std::to_string(i);
    req.remote_address = "127.0.0.1:1";

    ApiResponse resp = node->router->Dispatch(req);
    Check(resp.status >= 200 && resp.status < 600);
    Check(resp.status < 500 || resp.status == 503 || resp.status == 501);
    // As the HTTP server serializes it; a leaked secret is a failure (lookup-self returns the
    // caller's own token as "id", as Vault does; a body may echo what it was sent).
    std::string text = resp.raw ? *resp.raw : resp.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    Check(text.find(node->root_token) == std::string::npos || req.path == "auth/token/lookup-self" ||
          req.raw_body.find(node->root_token) != std::string::npos);
    Check(text.find(node->unseal_key_hex) == std::string::npos);
    Remember(resp.body, &seen);
    // Keep the node useful: a sys/seal in the input is followed by an unseal.
    if (node->core->Sealed()) {
      (void)node->core->seal().SubmitUnsealKey(*crypto::HexDecode(node->unseal_key_hex));
    }
  }
  return 0;
}
