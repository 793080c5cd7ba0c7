// kv_service: a small RocksDB application replicated through rocksdr — an HTTP key-value service,
// the kind of service rocksdr's users run. It opens its DB through rocksdr::Replicator with a
// plugin YAML and serves the plugin's control socket for its sidecar (`rocksdr server`), exactly
// as `rocksdr_node serve` does (common/served_node.h); the sidecar moves it between roles.
//
//   kv_service --db DIR --config plugin.yaml [--listen HOST:PORT] [--port-file FILE]
//              [--control-socket PATH] [--replication-address HOST:PORT] [--no-verify-host]
//              [--max-key-bytes N] [--max-value-bytes N] [--max-bulk-bytes N]
//              [--max-bulk-records N] [--threads N] [--max-connections N]
//
//   --listen               HTTP address (numeric ip:port). Default 127.0.0.1:8080; port 0 picks a
//                          free port, written to --port-file (decimal + newline, atomically).
//   --control-socket       the plugin's control socket. Default: the YAML's control_socket.
//   --replication-address  the listener a primary opens when the sidecar enables or promotes it.
//                          Default: the YAML's replication.listen_address.
//   --no-verify-host       do not check that the primary's certificate names its host.
//
// Endpoints (kv_service/kv_api.h): PUT/GET/DELETE /kv/{key}, POST /bulk, GET /healthz.
// Runs until SIGTERM/SIGINT, then stops the HTTP listener, the control socket and closes the DB.
// Exit status: 0 clean stop, 1 runtime error, 2 usage error.
#include <unistd.h>

#include <iostream>
#include <string_view>
#include <string>

#include "common/flags.h"
#include "common/port_file.h"
#include "common/served_node.h"
#include "common/stop_signals.h"
#include "kv_service/http_listener.h"
#include "kv_service/kv_api.h"

namespace {

namespace ex = rocksdr::examples;

constexpr const char* kUsage =
    "usage: kv_service --db DIR --config plugin.yaml [--listen HOST:PORT] [--port-file FILE]\n"
    "                  [--control-socket PATH] [--replication-address HOST:PORT] [--no-verify-host]\n"
    "                  [--max-key-bytes N] [--max-value-bytes N] [--max-bulk-bytes N]\n"
    "                  [--max-bulk-records N] [--threads N] [--max-connections N]\n"
    "(README \"The example application and the demo\")\n";

int Usage(const std::string& why) {
  std::cerr << "kv_service: " << why << "\n" << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
      std::cout << kUsage;
      return 0;
    }
  }
  auto parsed = ex::Flags::Parse(argc, argv, 1, {"no-verify-host"});
  if (!parsed.ok()) return Usage(parsed.status().message());
  const ex::Flags& flags = *parsed;
  if (auto s = ex::CheckKnownFlags(flags, {"db", "config", "listen", "port-file", "control-socket",
                                           "replication-address", "no-verify-host", "max-key-bytes",
                                           "max-value-bytes", "max-bulk-bytes", "max-bulk-records", "threads",
                                           "max-connections"});
      !s.ok()) {
    return Usage(s.message());
  }
  if (flags.Get("db").empty()) return Usage("--db is required");
  if (flags.Get("config").empty()) return Usage("--config is required (the plugin YAML)");

  ex::KvLimits limits;
  ex::HttpListenerOptions ho;
  ho.listen_address = flags.Has("listen") ? flags.Get("listen") : "127.0.0.1:8080";
  {
    auto key = flags.GetUint("max-key-bytes", limits.max_key_bytes, 1, 64 << 10);
    auto value = flags.GetUint("max-value-bytes", limits.max_value_bytes, 0, 64 << 20);
    auto bulk = flags.GetUint("max-bulk-bytes", limits.max_bulk_bytes, 1, 256 << 20);
    auto records = flags.GetUint("max-bulk-records", limits.max_bulk_records, 1, 10000000);
    auto threads = flags.GetUint("threads", 2, 1, 64);
    auto conns = flags.GetUint("max-connections", ho.max_connections, 1, 100000);
    for (const rocksdr::Status* s : {&key.status(), &value.status(), &bulk.status(), &records.status(),
                                     &threads.status(), &conns.status()}) {
      if (!s->ok()) return Usage(s->message());
    }
    limits.max_key_bytes = *key;
    limits.max_value_bytes = *value;
    limits.max_bulk_bytes = *bulk;
    limits.max_bulk_records = *records;
    ho.threads = static_cast<int>(*threads);
    ho.max_connections = *conns;
  }

  ex::BlockStopSignals();
  ex::NodeOptions no;
  no.db_path = flags.Get("db");
  no.config_path = flags.Get("config");
  ex::ServeOptions so;
  so.socket_path = flags.Get("control-socket");
  so.replication_address = flags.Get("replication-address");
  so.verify_primary_host = !flags.Switch("no-verify-host");
  auto node = ex::ServedNode::Open(no, so);
  if (!node.ok()) {
    std::cerr << "kv_service: " << node.status().ToString() << "\n";
    return 1;
  }

  const ex::KvApi api((*node)->replicator(), limits);
  ho.body_limit = [&api](const std::string& method, const std::string& target) { return api.BodyLimitFor(method, target); };
  ho.handler = [&api](ex::HttpRequest&& req) { return api.Handle(std::move(req)); };
  auto http = ex::HttpListener::Start(ho);
  if (!http.ok()) {
    std::cerr << "kv_service: " << http.status().ToString() << "\n";
    return 1;
  }
  if (flags.Has("port-file")) {
    if (auto s = ex::WritePortFile(flags.Get("port-file"), (*http)->port()); !s.ok()) {
      std::cerr << "kv_service: " << s.ToString() << "\n";
      return 1;
    }
  }
  std::cerr << "kv_service: serving HTTP on port " << (*http)->port() << ", control socket "
            << (*node)->socket_path() << ", as "
            << rocksdr::RoleName((*node)->replicator()->GetStatus().role) << " (pid " << getpid() << ")\n";

  ex::WaitForStopSignal();
  (*http)->Stop();
  if (auto s = (*node)->Close(); !s.ok()) {
    std::cerr << "kv_service: closing: " << s.ToString() << "\n";
    return 1;
  }
  return 0;
}
