// HttpServer: the sidecar's HTTP(S) listener (Boost.Beast), in the style of Beast's
// advanced_server example: one session object per connection (do_x / on_x pairs, kept alive by
// shared_from_this), a strand per connection, a timeout on every read and write (expires_after),
// a body limit and a bounded header size per request, keep-alive, and a cap on concurrent
// connections (connections over the cap are closed at once).
//
// Requests under "/v1/" are turned into an ApiRequest and dispatched through the Router:
//   PUT == POST; HEAD == GET without a body; LIST (or GET ?list=true) == Method::kList;
//   token from X-Vault-Token, else "Authorization: Bearer <token>".
// Errors the server answers itself: 413 body too large, 431 headers too large (both close the
// connection), 405 unknown HTTP method, 404 outside /v1/ (unless `other_handler` answers).
// The server logs one line per request at debug level (method, path, status, duration, request
// id) and never the body, the query string or the token.
//
// Who may call: Start from any thread; the returned server runs `threads` threads of its own.
// Stop is idempotent and may be called from any thread except a server thread (e.g. a signal
// handler thread or main); the destructor calls Stop.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "rocksdr/sidecar/api.h"
#include "rocksdr/sidecar/router.h"
#include "rocksdr/status.h"

namespace rocksdr::sidecar {

struct HttpServerOptions {
  // host:port to bind; port 0 picks a free port (see HttpServer::port()). Default: 127.0.0.1:8200.
  std::string listen_address = "127.0.0.1:8200";
  // TLS: when both are set, every connection is TLS (1.2 or newer). Default: plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Largest request body; bigger requests get 413. Default: 1 MiB.
  size_t max_body_bytes = 1 << 20;
  // Largest request header block; bigger gets 431. Default: 16 KiB.
  size_t max_header_bytes = 16 * 1024;
  // Time allowed to receive one request (including waiting on an idle keep-alive connection).
  // Default: 30 s.
  std::chrono::milliseconds read_timeout{30000};
  // Time allowed to send one response. Default: 30 s.
  std::chrono::milliseconds write_timeout{30000};
  // Concurrent connections; more are closed at accept. Default: 256.
  size_t max_connections = 256;
  // Concurrent connections from one IP address; more from it are closed at accept, so that one
  // client cannot take every place (behind a reverse proxy every client has the proxy's address:
  // raise it there). Default: 32.
  size_t max_connections_per_address = 32;
  // Server threads. Default: 2.
  int threads = 2;
  // Requests outside /v1/ (e.g. the web UI under /ui/): return a response, or nullopt for 404.
  // Only GET and HEAD get that response; other methods on a target it answers get 405.
  std::function<std::optional<ApiResponse>(const std::string& target)> other_handler;
};

class HttpServer {
 public:
  // Binds, listens and starts the threads. Errors: kInvalidArgument (bad address, unreadable or
  // invalid TLS files), kIOError (bind/listen failed, e.g. port in use).
  // `router` must outlive the server.
  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options, const Router* router);

  virtual ~HttpServer() = default;
  // The bound port (useful with port 0) and "host:port".
  virtual uint16_t port() const = 0;
  virtual std::string bound_address() const = 0;
  virtual bool tls() const = 0;
  // Stops accepting, closes connections, joins the threads.
  virtual void Stop() = 0;
  // Connections currently open (metrics).
  virtual size_t active_connections() const = 0;
};

}  // namespace rocksdr::sidecar
