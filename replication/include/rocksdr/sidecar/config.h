// SidecarConfig: the sidecar's YAML configuration file (`rocksdr server -config sidecar.yaml`).
//
//   listener:
//     address: "127.0.0.1:8200"   # host:port to serve the API on. Default: 127.0.0.1:8200
//     tls_cert_file: ""           # PEM certificate chain. Required unless tls_disable is true.
//     tls_key_file: ""            # PEM private key. Required unless tls_disable is true.
//     tls_disable: false          # plain HTTP; allowed only on a loopback address. Default: false
//   api_addr: ""                  # advertised API URL (goes into activation tokens).
//                                 # Default: https://<listener address> (http:// with tls_disable)
//   plugin:
//     control_socket: ""          # the plugin's control socket (Unix socket). Required unless
//                                 # in_memory is true.
//     in_memory: false            # no plugin: keep the stores in memory (tests, demos). Default: false
//   log:
//     level: info                 # trace|debug|info|warn|error|off. Default: info
//     format: text                # text|json. Default: text
//   ui: true                      # serve the web UI under /ui/. Default: true
//   unauthenticated_metrics_access: false   # sys/metrics without a token. Default: false
//   limits:
//     max_request_bytes: 1048576  # request body limit (413 above). Default: 1 MiB; 1 KiB..64 MiB
//     max_header_bytes: 16384     # request header limit (431 above). Default: 16 KiB; 1 KiB..1 MiB
//     read_timeout: 30s           # to receive one request. Default: 30s; 100ms..1h
//     write_timeout: 30s          # to send one response. Default: 30s; 100ms..1h
//     max_connections: 256        # concurrent connections. Default: 256; 1..100000
//     max_connections_per_address: 32  # from one IP address. Default: 32; 1..100000
//     threads: 2                  # server threads. Default: 2; 1..64
//
// Unknown keys, wrong types and bad values stop the start with "file:line:column: reason".
//
// Who may call: start-up code (pure functions apart from reading the file).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "rocksdr/status.h"

namespace rocksdr::sidecar {

struct SidecarConfig {
  std::string listen_address = "127.0.0.1:8200";
  std::string tls_cert_file;
  std::string tls_key_file;
  bool tls_disable = false;
  std::string api_addr;  // filled from the listener when empty
  std::string control_socket;
  bool in_memory = false;
  std::string log_level = "info";
  std::string log_format = "text";
  bool ui = true;
  bool unauthenticated_metrics_access = false;
  size_t max_request_bytes = 1 << 20;
  size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds write_timeout{30000};
  size_t max_connections = 256;
  size_t max_connections_per_address = 32;
  int threads = 2;
};

// Largest configuration file accepted.
inline constexpr size_t kMaxConfigFileBytes = 1 << 20;

// Parses YAML text; `filename` is used in error messages.
Result<SidecarConfig> ParseSidecarConfig(std::string_view yaml, const std::string& filename);
// Reads and parses a file. Errors: kIOError (unreadable), kInvalidArgument (bad content).
Result<SidecarConfig> LoadSidecarConfig(const std::string& path);

}  // namespace rocksdr::sidecar
