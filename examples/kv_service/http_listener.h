// HttpListener: the kv_service's HTTP/1.1 server (Boost.Beast), in the style of Beast's
// advanced_server example: one session per connection (do_x / on_x pairs, kept alive by
// shared_from_this), a strand per connection, a deadline on every read and write, keep-alive.
//
// Bounds, all from HttpListenerOptions: the header block (431), the body per request as the
// `body_limit` callback decides from the method and target (413, checked against Content-Length
// before the body is read, and while reading a chunked body), concurrent connections (more are
// closed at accept). A connection answered 413/431/400 is closed after the response; what the
// client still sends is read and discarded for a bounded time first, so that it sees the answer
// instead of a reset.
//
// Who may call: Start from any thread (the handler then runs on the server's threads, several
// connections at once: it must be thread-safe). Stop from any thread but a server thread;
// idempotent; the destructor calls it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rocksdr/status.h"

namespace rocksdr::examples {

struct HttpRequest {
  std::string method;  // "GET", "PUT", ... as sent
  std::string target;  // as sent: path and query, still percent-encoded
  std::string content_type;
  std::string body;    // bounded by body_limit
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// The body a request may carry, and how to name that limit in the 413 answer.
struct BodyLimit {
  size_t bytes = 0;
  std::string what;  // e.g. "PUT /kv/{key} (--max-value-bytes)"
  // The answer for a request whose method the route refuses (405): sent instead of reading its
  // body, so that a PUT with a body to a POST-only path is not answered "too large".
  std::optional<HttpResponse> refusal;
};

struct HttpListenerOptions {
  // "ip:port" or "[ipv6]:port" (numeric); port 0 picks a free port (HttpListener::port()).
  // Default: 127.0.0.1:8080
  std::string listen_address = "127.0.0.1:8080";
  // Largest request header block. Default: 16 KiB
  size_t max_header_bytes = 16 * 1024;
  // Largest body for a request (method, target); bigger gets 413. Default (unset): 1 MiB for all.
  std::function<BodyLimit(const std::string& method, const std::string& target)> body_limit;
  // Time to receive one request (including an idle keep-alive wait). Default: 30 s
  std::chrono::milliseconds read_timeout{30000};
  // Time to send one response. Default: 30 s
  std::chrono::milliseconds write_timeout{30000};
  // Concurrent connections. Default: 64
  size_t max_connections = 64;
  // Server threads. Default: 2
  int threads = 2;
  // Answers one request; required.
  std::function<HttpResponse(HttpRequest&& request)> handler;
};

class HttpListener {
 public:
  // Binds, listens, starts the threads. Errors: kInvalidArgument (bad address, no handler),
  // kIOError (bind/listen failed, e.g. the port is in use).
  static Result<std::unique_ptr<HttpListener>> Start(HttpListenerOptions options);
  virtual ~HttpListener() = default;
  virtual uint16_t port() const = 0;
  // Stops accepting, closes every connection, joins the threads.
  virtual void Stop() = 0;
};

// {"error": message} as a response with `status`.
HttpResponse JsonError(unsigned status, const std::string& message);

}  // namespace rocksdr::examples
