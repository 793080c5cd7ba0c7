#include "kv_service/http_listener.h"

#include <atomic>
#include <limits>
#include <optional>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace rocksdr::examples {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

HttpResponse JsonError(unsigned status, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.body = nlohmann::json{{"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

namespace {

constexpr size_t kDefaultBodyLimit = 1 << 20;
// After an error response: how much of the rest of the request is read and dropped, and for how
// long, before the connection is closed.
constexpr size_t kMaxDrainBytes = 64 << 20;
constexpr std::chrono::seconds kMaxDrainTime{5};

struct Shared {
  HttpListenerOptions options;
  std::atomic<size_t> connections{0};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Shared> shared)
      : stream_(std::move(socket)), shared_(std::move(shared)) {}
  ~Session() { shared_->connections.fetch_sub(1); }

  void Run() {
    asio::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::DoReadHeader, shared_from_this()));
  }

 private:
  void DoReadHeader() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(shared_->options.max_header_bytes));
    // Set once the target is known (OnReadHeader checks Content-Length itself). Not boost::none:
    // Boost 1.74 compares the length against the optional, and any length is > none.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    stream_.expires_after(shared_->options.read_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnReadHeader, shared_from_this()));
  }

  void OnReadHeader(beast::error_code ec, size_t) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof) {
      return Close();
    }
    if (ec == http::error::header_limit) {
      return SendError(431, "the request header is larger than " +
                                std::to_string(shared_->options.max_header_bytes) + " bytes");
    }
    if (ec) return SendError(400, "malformed HTTP request: " + ec.message());
    const auto& h = parser_->get();
    const std::string method(h.method_string());
    const std::string target(h.target());
    limit_ = shared_->options.body_limit ? shared_->options.body_limit(method, target)
                                         : BodyLimit{kDefaultBodyLimit, method + " requests", std::nullopt};
    const bool has_body = parser_->chunked() || parser_->content_length().value_or(0) > 0;
    if (limit_.refusal && has_body) return Send(std::move(*limit_.refusal), h.version(), /*keep_alive=*/false, /*drain=*/true);
    if (auto len = parser_->content_length(); len && *len > limit_.bytes) return SendError(413, TooLarge());
    parser_->body_limit(limit_.bytes);
    if (parser_->is_done()) return OnReadBody({}, 0);
    if (beast::iequals(h[http::field::expect], "100-continue")) {
      // curl waits for this before sending a larger body.
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, h.version());
      stream_.expires_after(shared_->options.write_timeout);
      http::async_write(stream_, *cont, [self = shared_from_this(), cont](beast::error_code wec, size_t) {
        if (wec) return self->Close();
        self->DoReadBody();
      });
      return;
    }
    DoReadBody();
  }

  void DoReadBody() {
    stream_.expires_after(shared_->options.read_timeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::OnReadBody, shared_from_this()));
  }

  std::string TooLarge() const {
    if (limit_.bytes == 0) return limit_.what + " takes no request body";
    return "the request body is larger than " + std::to_string(limit_.bytes) + " bytes, the limit for " + limit_.what;
  }

  void OnReadBody(beast::error_code ec, size_t) {
    if (ec == http::error::body_limit) return SendError(413, TooLarge());
    if (ec == beast::error::timeout || ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      return Close();
    }
    if (ec) return SendError(400, "malformed HTTP request: " + ec.message());
    http::request<http::string_body> req = parser_->release();
    HttpRequest in;
    in.method = std::string(req.method_string());
    in.target = std::string(req.target());
    in.content_type = std::string(req[http::field::content_type]);
    in.body = std::move(req.body());
    const bool keep_alive = req.keep_alive();
    const unsigned version = req.version();
    HttpResponse out = shared_->options.handler(std::move(in));
    Send(std::move(out), version, keep_alive, /*drain=*/false);
  }

  void SendError(unsigned status, const std::string& message) {
    Send(JsonError(status, message), 11, /*keep_alive=*/false, /*drain=*/true);
  }

  void Send(HttpResponse out, unsigned version, bool keep_alive, bool drain) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(out.status), version);
    res->set(http::field::server, "rocksdr-kv-service");
    res->set(http::field::content_type, out.content_type);
    for (auto& [k, v] : out.headers) res->set(k, v);
    res->keep_alive(keep_alive);
    if (out.status != 204) res->body() = std::move(out.body);
    res->prepare_payload();
    response_ = res;
    stream_.expires_after(shared_->options.write_timeout);
    http::async_write(stream_, *res,
                      [self = shared_from_this(), keep_alive, drain](beast::error_code ec, size_t) {
                        self->response_.reset();
                        if (ec) return self->Close();
                        if (drain) return self->Drain();
                        if (!keep_alive) return self->ShutdownSend();
                        self->DoReadHeader();
                      });
  }

  // Half-closes, then reads and drops what the client still sends (bounded), so that closing does
  // not reset the connection before the client has read the error response.
  void Drain() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    drain_buffer_.resize(64 * 1024);
    drained_ = 0;
    stream_.expires_after(kMaxDrainTime);
    DoDrain();
  }

  void DoDrain() {
    stream_.async_read_some(asio::buffer(drain_buffer_), [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > kMaxDrainBytes) return self->Close();
      self->DoDrain();
    });
  }

  void ShutdownSend() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  std::shared_ptr<Shared> shared_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  BodyLimit limit_;  // of the request being read
  std::shared_ptr<void> response_;
  std::vector<char> drain_buffer_;
  size_t drained_ = 0;
};

class ListenerImpl : public HttpListener {
 public:
  ListenerImpl(std::shared_ptr<Shared> shared, int threads)
      : shared_(std::move(shared)), ioc_(threads), acceptor_(asio::make_strand(ioc_)) {}
  ~ListenerImpl() override { Stop(); }

  Status Listen(const tcp::endpoint& ep) {
    beast::error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::IOError("cannot listen on " + shared_->options.listen_address + ": " + ec.message() +
                             " (is the port in use? port 0 picks a free one)");
    }
    port_ = acceptor_.local_endpoint().port();
    return Status::OK();
  }

  void Run(int threads) {
    DoAccept();
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }

  uint16_t port() const override { return port_; }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    ioc_.stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    beast::error_code ignored;
    acceptor_.close(ignored);  // no server thread runs any more
  }

 private:
  void DoAccept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      if (!ec) {
        if (shared_->connections.fetch_add(1) >= shared_->options.max_connections) {
          shared_->connections.fetch_sub(1);
          beast::error_code ignored;
          socket.close(ignored);
        } else {
          std::make_shared<Session>(std::move(socket), shared_)->Run();
        }
      }
      DoAccept();
    });
  }

  std::shared_ptr<Shared> shared_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::atomic<bool> stopped_{false};
};

Result<tcp::endpoint> ParseEndpoint(const std::string& address) {
  const std::string usage = "listen address '" + address + "' must be ip:port or [ipv6]:port, e.g. 127.0.0.1:8080";
  const size_t colon = address.rfind(':');
  if (address.size() > 128 || colon == std::string::npos || colon == 0) return Status::InvalidArgument(usage);
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535) {
    return Status::InvalidArgument(usage + ": bad port");
  }
  beast::error_code ec;
  const asio::ip::address ip = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument(usage + ": '" + host + "' is not a numeric IP address");
  return tcp::endpoint(ip, static_cast<uint16_t>(std::stoul(port)));
}

}  // namespace

Result<std::unique_ptr<HttpListener>> HttpListener::Start(HttpListenerOptions options) {
  if (!options.handler) return Status::InvalidArgument("HttpListener needs a handler");
  if (options.threads < 1 || options.threads > 64) return Status::InvalidArgument("threads must be in [1, 64]");
  if (options.max_connections == 0) return Status::InvalidArgument("max_connections must be at least 1");
  auto ep = ParseEndpoint(options.listen_address);
  if (!ep.ok()) return ep.status();
  const int threads = options.threads;
  auto shared = std::make_shared<Shared>();
  shared->options = std::move(options);
  auto impl = std::make_unique<ListenerImpl>(shared, threads);
  ROCKSDR_RETURN_IF_ERROR(impl->Listen(*ep));
  impl->Run(threads);
  return std::unique_ptr<HttpListener>(std::move(impl));
}

}  // namespace rocksdr::examples
