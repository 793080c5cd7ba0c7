// A small blocking HTTP(S) client (Boost.Beast) for talking to a sidecar's API: used by the
// `rocksdr` CLI, by tests, and by a secondary sidecar that unwraps its activation token at the
// primary. Each call opens one connection, sends one request, reads one response, closes.
//
// Bounds: the whole exchange (resolve, connect, TLS handshake, write, read) has one deadline
// (`timeout`); the response body is limited to `max_response_bytes`. TLS verifies the server's
// certificate chain against `ca_cert_file` / `ca_cert_pem` (or the system store if both are
// empty) and its host name, unless `tls_skip_verify` is set.
//
// Who may call: anyone, from any thread (each call has its own io_context). Never call it from a
// thread of an HttpServer that it talks to with only one server thread (it would deadlock).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rocksdr/status.h"

namespace rocksdr::sidecar {

struct HttpClientOptions {
  std::string ca_cert_file;   // PEM file of CA certificates to trust. Default: none.
  std::string ca_cert_pem;    // PEM text of CA certificates to trust. Default: none.
  bool tls_skip_verify = false;
  std::chrono::milliseconds timeout{30000};
  size_t max_response_bytes = 8 << 20;
};

struct HttpResult {
  int status = 0;
  std::string content_type;
  std::string body;
};

// `address` is "http://host:port" or "https://host:port" (a trailing '/' is ignored);
// `target` starts with '/', e.g. "/v1/sys/seal-status". `headers` are added as is.
// Errors: kInvalidArgument (bad address or target), kUnavailable (cannot resolve/connect, TLS
// failure, connection closed), kDeadlineExceeded (timeout), kResourceExhausted (response too big).
Result<HttpResult> HttpRequest(std::string_view address, std::string_view method, std::string_view target,
                               std::string_view body,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               const HttpClientOptions& options = {});

}  // namespace rocksdr::sidecar
