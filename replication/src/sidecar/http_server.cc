// Implementation of http_server.h (after Beast's advanced_server / async-ssl examples).
#include "rocksdr/sidecar/http_server.h"

#include <atomic>
#include <cctype>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

#include "rocksdr/crypto/random.h"
#include "rocksdr/sidecar/net_address.h"
#include "rocksdr/replication/thread_name.h"
#include "log_limiter.h"
#include "tls_file_error.h"

namespace rocksdr::sidecar {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

int FromHex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && FromHex(s[i + 1]) >= 0 && FromHex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(FromHex(s[i + 1]) * 16 + FromHex(s[i + 2])));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

void ParseQuery(std::string_view q, std::map<std::string, std::string>* out) {
  size_t count = 0;
  while (!q.empty() && count < 64) {
    const size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    if (!part.empty()) {
      const size_t eq = part.find('=');
      std::string key = PercentDecode(part.substr(0, eq));
      std::string val = eq == std::string_view::npos ? "" : PercentDecode(part.substr(eq + 1));
      (*out)[std::move(key)] = std::move(val);
      ++count;
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
}

using Response = http::response<http::string_body>;

std::shared_ptr<Response> Render(const ApiResponse& api, unsigned version, bool keep_alive, bool head) {
  auto res = std::make_shared<Response>();
  res->version(version);
  res->result(static_cast<unsigned>(api.status));
  res->set(http::field::cache_control, "no-store");
  for (const auto& [k, v] : api.headers) res->set(k, v);
  // 1xx, 204 and 304 answers have no body (Beast refuses to prepare one).
  const bool bodyless = api.status < 200 || api.status == 204 || api.status == 304;
  if (!bodyless) {
    if (api.raw.has_value()) {
      res->set(http::field::content_type, api.content_type);
      res->body() = *api.raw;
    } else {
      res->set(http::field::content_type, "application/json");
      res->body() = api.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
  }
  res->keep_alive(keep_alive);
  res->prepare_payload();
  if (head) res->body().clear();  // Content-Length stays that of the GET answer
  return res;
}

struct Shared {
  HttpServerOptions options;
  const Router* router = nullptr;
  std::atomic<size_t> active{0};
  std::mutex per_address_mu;
  std::map<std::string, size_t> per_address;  // GUARDED_BY(per_address_mu): open connections by IP
  // Refusals at accept, logged at most once per 10 s (a flood must not fill the log).
  replication::LogLimiter refusal_log;  // GUARDED_BY(per_address_mu)

  // Takes a place for a connection from `address`; "" if admitted (Release it later), else why not.
  std::string Admit(const std::string& address) {
    std::lock_guard<std::mutex> l(per_address_mu);
    if (active.load() >= options.max_connections) {
      return std::to_string(active.load()) + " connections open (limits.max_connections " +
             std::to_string(options.max_connections) + ")";
    }
    size_t& n = per_address[address];
    if (n >= options.max_connections_per_address) {
      return std::to_string(n) + " connections open from this address (limits.max_connections_per_address " +
             std::to_string(options.max_connections_per_address) + ")";
    }
    ++n;
    active.fetch_add(1);
    return std::string();
  }
  void Release(const std::string& address) {
    std::lock_guard<std::mutex> l(per_address_mu);
    auto it = per_address.find(address);
    if (it != per_address.end() && --it->second == 0) per_address.erase(it);
    active.fetch_sub(1);
  }
  void LogRefusal(const std::string& address, const std::string& why) {
    std::lock_guard<std::mutex> l(per_address_mu);
    refusal_log.Log("http: connection from " + address + " refused: " + why);
  }
};

std::string Lower(std::string_view v) {
  std::string out(v);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The host part of a Host header value ("h:port", "[v6]:port", "h").
std::string_view HostPart(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  const size_t colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

// Browser-borne requests a browser should not be able to make (the API's unauthenticated routes,
// sys/init and sys/unseal, take a JSON body whatever its Content-Type, which a cross-site form
// can send without a preflight): nullopt to go on, or the refusal.
//  - Cross-origin: a request with an Origin (browsers send it on every POST, and on cross-origin
//    requests) is answered only when the Origin is this server (the web UI).
//  - DNS rebinding: a hostile name that resolves to 127.0.0.1 makes its pages same-origin with
//    a plain-HTTP API. Over plain HTTP (loopback only), requests must name the server by an IP
//    address or "localhost"; over TLS the certificate's name check stops it.
std::optional<ApiResponse> RefuseBrowserMisuse(const Shared& shared, const http::request<http::string_body>& req) {
  const auto host_it = req.find(http::field::host);
  const std::string host = host_it == req.end() ? std::string() : Lower(std::string_view(host_it->value().data(), host_it->value().size()));
  const bool tls = !shared.options.tls_cert_file.empty();
  if (!tls && !host.empty()) {
    std::string h(HostPart(host));
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    boost::system::error_code ec;
    (void)asio::ip::make_address(h, ec);
    if (ec && h != "localhost") {
      return ErrorResponse(403, "request for host \"" + h.substr(0, 255) +
                                    "\" refused: over plain HTTP this server answers only requests that name it by an IP "
                                    "address or localhost (protection against DNS rebinding); use its address, or "
                                    "enable TLS");
    }
  }
  if (auto origin_it = req.find(http::field::origin); origin_it != req.end()) {
    const std::string origin = Lower(std::string_view(origin_it->value().data(), origin_it->value().size()));
    const std::string_view scheme = tls ? "https://" : "http://";
    if (origin.rfind(scheme, 0) != 0 || origin.substr(scheme.size()) != host) {
      return ErrorResponse(403, "cross-origin request refused: the page that sent it (" + origin.substr(0, 255) +
                                    ") is not this server's web UI");
    }
  }
  return std::nullopt;
}

// Builds the ApiRequest for /v1/ targets and dispatches it; answers other targets itself.
ApiResponse Handle(const Shared& shared, const http::request<http::string_body>& req, const std::string& remote,
                   ApiRequest* api, bool* head) {
  std::string_view target(req.target().data(), req.target().size());
  *head = req.method() == http::verb::head;
  const size_t qpos = target.find('?');
  std::string_view path = target.substr(0, qpos);
  if (path.rfind("/v1/", 0) != 0) {
    if (shared.options.other_handler) {
      std::optional<ApiResponse> r = shared.options.other_handler(std::string(target));
      if (r.has_value()) {
        const bool read = req.method() == http::verb::get || req.method() == http::verb::head;
        return read ? *r : ErrorResponse(405, "unsupported operation");
      }
    }
    return ErrorResponse(404, "unsupported path");
  }
  if (std::optional<ApiResponse> refused = RefuseBrowserMisuse(shared, req)) return *refused;
  api->path = PercentDecode(path.substr(4));
  while (!api->path.empty() && api->path.back() == '/') api->path.pop_back();
  if (qpos != std::string_view::npos) ParseQuery(target.substr(qpos + 1), &api->query);
  switch (req.method()) {
    case http::verb::get:
    case http::verb::head: api->method = Method::kGet; break;
    case http::verb::post:
    case http::verb::put: api->method = Method::kPost; break;
    case http::verb::delete_: api->method = Method::kDelete; break;
    default:
      if (req.method_string() == "LIST") {
        api->method = Method::kList;
      } else {
        return ErrorResponse(405, "unsupported operation");
      }
  }
  if (api->method == Method::kGet) {
    auto it = api->query.find("list");
    if (it != api->query.end() && (it->second == "true" || it->second == "1")) api->method = Method::kList;
  }
  if (auto it = req.find("X-Vault-Token"); it != req.end()) {
    api->client_token = std::string(it->value());
  } else if (auto auth = req.find(http::field::authorization); auth != req.end()) {
    std::string_view v(auth->value().data(), auth->value().size());
    if (v.size() > 7 && (v.substr(0, 7) == "Bearer " || v.substr(0, 7) == "bearer ")) {
      api->client_token = std::string(v.substr(7));
    }
  }
  api->raw_body = req.body();
  Result<std::string> id = crypto::RandomUuid();
  api->request_id = id.ok() ? *id : "";
  api->remote_address = remote;
  return shared.router->Dispatch(*api);
}

// One connection. Stream is beast::tcp_stream or beast::ssl_stream<beast::tcp_stream>.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  // `address`: the peer's IP address, whose place Shared::Admit took; released by the destructor.
  Session(std::shared_ptr<Shared> shared, Stream stream, std::string address)
      : shared_(std::move(shared)), stream_(std::move(stream)), address_(std::move(address)) {
    boost::system::error_code ec;
    auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) remote_ = FormatHostPort(ep.address().to_string(), ep.port());
  }
  ~Session() { shared_->Release(address_); }

  void Run() {
    asio::dispatch(beast::get_lowest_layer(stream_).get_executor(),
                   beast::bind_front_handler(&Session::OnRun, this->shared_from_this()));
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  void OnRun() {
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(shared_->options.read_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              beast::bind_front_handler(&Session::OnHandshake, this->shared_from_this()));
    } else {
      DoRead();
    }
  }

  void OnHandshake(beast::error_code ec) {
    if (ec) {
      spdlog::debug("http: TLS handshake with {} failed: {}", remote_, ec.message());
      return;
    }
    DoRead();
  }

  void DoRead() {
    parser_.emplace();
    parser_->body_limit(shared_->options.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(shared_->options.max_header_bytes));
    beast::get_lowest_layer(stream_).expires_after(shared_->options.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, this->shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t /*bytes*/) {
    if (ec == http::error::end_of_stream) return DoClose();
    if (ec == http::error::body_limit) {
      drain_after_write_ = true;
      return Send(ErrorResponse(413, "request body too large (limit " +
                                         std::to_string(shared_->options.max_body_bytes) + " bytes)"),
                  /*keep_alive=*/false, false, 11);
    }
    if (ec == http::error::header_limit) {
      drain_after_write_ = true;
      return Send(ErrorResponse(431, "request headers too large (limit " +
                                         std::to_string(shared_->options.max_header_bytes) + " bytes)"),
                  false, false, 11);
    }
    if (ec) {
      if (ec != beast::error::timeout && ec != asio::error::operation_aborted) {
        spdlog::debug("http: read from {} failed: {}", remote_, ec.message());
      }
      if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
          ec != http::error::partial_message) {
        return Send(ErrorResponse(400, "malformed HTTP request"), false, false, 11);
      }
      return DoClose();
    }
    const auto& req = parser_->get();
    const auto start = std::chrono::steady_clock::now();
    ApiRequest api;
    bool head = false;
    ApiResponse resp = Handle(*shared_, req, remote_, &api, &head);
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    spdlog::debug("http: {} {} /v1/{} -> {} in {}us (request {})", remote_, std::string(req.method_string()),
                  api.path, resp.status, us.count(), api.request_id);
    Send(resp, req.keep_alive(), head, req.version());
  }

  void Send(const ApiResponse& resp, bool keep_alive, bool head, unsigned version) {
    try {
      res_ = Render(resp, version, keep_alive, head);
    } catch (const std::exception& e) {
      // A status Beast cannot render must not end the process: answer 500 and say why.
      spdlog::error("http: cannot render a {} answer: {}", resp.status, e.what());
      res_ = Render(ErrorResponse(500, "internal error: cannot render the answer"), version, keep_alive, head);
    }
    beast::get_lowest_layer(stream_).expires_after(shared_->options.write_timeout);
    http::async_write(stream_, *res_, beast::bind_front_handler(&Session::OnWrite, this->shared_from_this()));
  }

  void OnWrite(beast::error_code ec, size_t /*bytes*/) {
    if (ec) return DoClose();
    const bool close = res_->need_eof();
    res_.reset();
    if (close && drain_after_write_) return DoDrain();
    if (close) return DoClose();
    DoRead();
  }

  // After refusing an oversized request: stop sending, then read and discard what the client is
  // still sending (bounded in bytes and time), so that closing does not reset the connection
  // before the client has read our answer.
  void DoDrain() {
    if constexpr (kTls) {
      return DoClose();
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      drain_budget_ = 4 * shared_->options.max_body_bytes + (64 << 10);
      stream_.expires_after(std::chrono::seconds(2));
      ReadDrain();
    }
  }

  void ReadDrain() {
    if constexpr (!kTls) {
      drain_buf_.resize(16 * 1024);
      stream_.async_read_some(asio::buffer(drain_buf_),
                              [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                                if (ec || n >= self->drain_budget_) return;  // closed by the destructor
                                self->drain_budget_ -= n;
                                self->ReadDrain();
                              });
    }
  }

  void DoClose() {
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
      stream_.async_shutdown(beast::bind_front_handler(&Session::OnShutdown, this->shared_from_this()));
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  void OnShutdown(beast::error_code /*ec*/) {
    // stream_truncated / timeouts on TLS shutdown are expected from clients that just close.
  }

  std::shared_ptr<Shared> shared_;
  Stream stream_;
  const std::string address_;  // the peer's IP address (Shared::per_address)
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Response> res_;
  std::string remote_;
  bool drain_after_write_ = false;
  size_t drain_budget_ = 0;
  std::vector<char> drain_buf_;
};

class HttpServerImpl : public HttpServer, public std::enable_shared_from_this<HttpServerImpl> {
 public:
  HttpServerImpl(const HttpServerOptions& options, const Router* router)
      : ioc_(options.threads), acceptor_(asio::make_strand(ioc_)) {
    shared_ = std::make_shared<Shared>();
    shared_->options = options;
    shared_->router = router;
  }
  ~HttpServerImpl() override { Stop(); }

  Status Init() {
    const HttpServerOptions& o = shared_->options;
    if (o.threads < 1 || o.threads > 64) return Status::InvalidArgument("http threads must be in [1, 64]");
    if (o.max_connections == 0 || o.max_connections_per_address == 0) {
      return Status::InvalidArgument("http max_connections and max_connections_per_address must be at least 1");
    }
    Result<HostPort> hp = ParseHostPort(o.listen_address);
    if (!hp.ok()) return hp.status().WithContext("listen address " + o.listen_address);
    if (!o.tls_cert_file.empty() || !o.tls_key_file.empty()) {
      if (o.tls_cert_file.empty() || o.tls_key_file.empty()) {
        return Status::InvalidArgument("TLS needs both a certificate file and a key file");
      }
      ssl_ = std::make_unique<ssl::context>(ssl::context::tls_server);
      ssl_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                        ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
      boost::system::error_code ec;
      ssl_->use_certificate_chain_file(o.tls_cert_file, ec);
      if (ec) return Status::InvalidArgument(TlsFileError("TLS certificate", o.tls_cert_file, ec));
      ssl_->use_private_key_file(o.tls_key_file, ssl::context::pem, ec);
      if (ec) return Status::InvalidArgument(TlsFileError("TLS key", o.tls_key_file, ec));
    }
    boost::system::error_code ec;
    asio::ip::address addr;
    if (hp->host == "localhost") {
      addr = asio::ip::make_address("127.0.0.1");
    } else {
      addr = asio::ip::make_address(hp->host, ec);
      if (ec) return Status::InvalidArgument("listen address must be an IP address, got " + hp->host);
    }
    tcp::endpoint ep(addr, hp->port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (ec) return Status::IOError("cannot bind " + o.listen_address + ": " + ec.message());
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Status::IOError("cannot listen on " + o.listen_address + ": " + ec.message());
    const tcp::endpoint bound = acceptor_.local_endpoint(ec);
    port_ = bound.port();
    bound_ = FormatHostPort(bound.address().to_string(), port_);
    DoAccept();
    for (int i = 0; i < o.threads; ++i) {
      threads_.emplace_back([this] {
        replication::SetThreadName(replication::kThreadHttp);
        // A handler that throws loses its connection, not the server (and its unsealed keys).
        for (;;) {
          try {
            ioc_.run();
            return;
          } catch (const std::exception& e) {
            spdlog::error("http: a request handler failed: {}", e.what());
          }
        }
      });
    }
    return Status::OK();
  }

  uint16_t port() const override { return port_; }
  std::string bound_address() const override { return bound_; }
  bool tls() const override { return ssl_ != nullptr; }
  size_t active_connections() const override { return shared_->active.load(); }

  void Stop() override {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    asio::post(acceptor_.get_executor(), [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
    });
    ioc_.stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  void DoAccept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
        spdlog::warn("http: accept failed: {}", ec.message());
      } else {
        boost::system::error_code ep_ec;
        const tcp::endpoint ep = socket.remote_endpoint(ep_ec);
        std::string address = ep_ec ? std::string("unknown") : ep.address().to_string();
        if (std::string refusal = shared_->Admit(address); !refusal.empty()) {
          shared_->LogRefusal(address, refusal);
          boost::system::error_code ignored;
          socket.close(ignored);
        } else if (ssl_ != nullptr) {
          std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
              shared_, beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *ssl_),
              std::move(address))
              ->Run();
        } else {
          std::make_shared<Session<beast::tcp_stream>>(shared_, beast::tcp_stream(std::move(socket)),
                                                       std::move(address))
              ->Run();
        }
      }
      DoAccept();
    });
  }

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::unique_ptr<ssl::context> ssl_;
  std::shared_ptr<Shared> shared_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::string bound_;
  std::mutex stop_mu_;
  bool stopped_ = false;
};

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options, const Router* router) {
  if (router == nullptr) return Status::InvalidArgument("HttpServer needs a router");
  auto server = std::make_unique<HttpServerImpl>(options, router);
  Status s = server->Init();
  if (!s.ok()) {
    server->Stop();
    return s;
  }
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace rocksdr::sidecar
