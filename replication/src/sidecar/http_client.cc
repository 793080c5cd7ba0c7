// Implementation of http_client.h: an async Beast exchange driven to completion on a private
// io_context, so one deadline covers every step.
#include "rocksdr/sidecar/http_client.h"

#include <memory>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "rocksdr/sidecar/net_address.h"
#include "tls_file_error.h"

namespace rocksdr::sidecar {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

struct Exchange {
  http::request<http::string_body> req;
  http::response_parser<http::string_body> parser;
  beast::flat_buffer buffer;
  beast::error_code error;
  std::string step = "connect";
  std::string verify_failure;  // why the server's certificate was refused, for the error
};

Status FromError(const Exchange& ex, bool tls, std::string_view address) {
  const beast::error_code& ec = ex.error;
  const std::string& step = ex.step;
  if (ec == beast::error::timeout) {
    return Status::DeadlineExceeded("timed out (" + step + ") talking to " + std::string(address));
  }
  if (ec == http::error::body_limit) {
    return Status::ResourceExhausted("response from " + std::string(address) + " is too large");
  }
  std::string why = ec.message();
  if (!ex.verify_failure.empty()) why += ": " + ex.verify_failure;
  // The usual cause of these two: the address's scheme does not match what the server speaks.
  if (tls && step == "TLS handshake" && why.find("wrong version number") != std::string::npos) {
    why += " (the server does not speak TLS here: is it plain HTTP? then use http:// in the address)";
  }
  if (!tls && step == "read response" && (ec == http::error::end_of_stream || ec == asio::error::connection_reset)) {
    why += " (the server closed the connection without an answer: does it speak HTTPS? then use https:// in the "
           "address)";
  }
  return Status::Unavailable(step + " failed for " + std::string(address) + ": " + why);
}

template <class Stream>
void ReadWrite(Stream& stream, std::shared_ptr<Exchange> ex, const HttpClientOptions& o) {
  ex->step = "write request";
  beast::get_lowest_layer(stream).expires_after(o.timeout);
  http::async_write(stream, ex->req, [&stream, ex, &o](beast::error_code ec, size_t) {
    // A server may answer (e.g. 413) and stop reading before the whole request is sent; a
    // reset or broken pipe on write is then followed by an attempt to read that answer.
    if (ec && ec != asio::error::broken_pipe && ec != asio::error::connection_reset) {
      ex->error = ec;
      return;
    }
    ex->step = "read response";
    http::async_read(stream, ex->buffer, ex->parser, [ex](beast::error_code ec2, size_t) { ex->error = ec2; });
    (void)o;
  });
}

}  // namespace

Result<HttpResult> HttpRequest(std::string_view address, std::string_view method, std::string_view target,
                               std::string_view body,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               const HttpClientOptions& options) {
  std::string_view rest = address;
  bool tls = false;
  if (rest.rfind("https://", 0) == 0) {
    tls = true;
    rest.remove_prefix(8);
  } else if (rest.rfind("http://", 0) == 0) {
    rest.remove_prefix(7);
  } else {
    return Status::InvalidArgument("address must start with http:// or https://, got \"" +
                                   std::string(address.substr(0, 64)) + "\"");
  }
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  Result<HostPort> hp = ParseHostPort(rest);
  if (!hp.ok()) return hp.status().WithContext("address " + std::string(address));
  if (target.empty() || target.front() != '/') return Status::InvalidArgument("request target must start with '/'");

  asio::io_context ioc;
  auto ex = std::make_shared<Exchange>();
  ex->req.method_string(std::string(method));
  ex->req.target(std::string(target));
  ex->req.version(11);
  ex->req.set(http::field::host, std::string(rest));
  ex->req.set(http::field::user_agent, "rocksdr");
  for (const auto& [k, v] : headers) ex->req.set(k, v);
  if (!body.empty() || method == "POST" || method == "PUT") {
    ex->req.set(http::field::content_type, "application/json");
    ex->req.body() = std::string(body);
  }
  ex->req.keep_alive(false);
  ex->req.prepare_payload();
  ex->parser.body_limit(options.max_response_bytes);
  ex->parser.header_limit(64 * 1024);

  tcp::resolver resolver(ioc);
  beast::error_code ec;
  auto endpoints = resolver.resolve(hp->host, std::to_string(hp->port), ec);
  if (ec) return Status::Unavailable("cannot resolve " + hp->host + ": " + ec.message());

  std::optional<ssl::context> ctx;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_stream;
  std::optional<beast::tcp_stream> plain_stream;
  if (tls) {
    ctx.emplace(ssl::context::tls_client);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (!options.ca_cert_file.empty()) {
      ctx->load_verify_file(options.ca_cert_file, ec);
      if (ec) return Status::InvalidArgument(TlsFileError("CA file", options.ca_cert_file, ec));
    }
    if (!options.ca_cert_pem.empty()) {
      ctx->add_certificate_authority(asio::buffer(options.ca_cert_pem), ec);
      if (ec) return Status::InvalidArgument("cannot load the CA certificate: " + ec.message());
    }
    if (options.ca_cert_file.empty() && options.ca_cert_pem.empty()) ctx->set_default_verify_paths(ec);
    ctx->set_verify_mode(options.tls_skip_verify ? ssl::verify_none : ssl::verify_peer);
    tls_stream.emplace(ioc, *ctx);
    if (!options.tls_skip_verify) {
      // The host name check, recording why a certificate is refused ("certificate verify failed"
      // alone does not say whether the CA or the name was wrong).
      tls_stream->set_verify_callback(
          [ex, check = ssl::host_name_verification(hp->host), host = hp->host](bool preverified,
                                                                               ssl::verify_context& vc) mutable {
            if (!preverified) {
              if (ex->verify_failure.empty()) {
                ex->verify_failure = X509_verify_cert_error_string(X509_STORE_CTX_get_error(vc.native_handle()));
                ex->verify_failure += " (is -ca-cert / ROCKSDR_CACERT the CA that signed the server's certificate?)";
              }
              return false;
            }
            const bool ok = check(preverified, vc);
            if (!ok && ex->verify_failure.empty()) {
              ex->verify_failure = "the server's certificate does not name " + host +
                                   " (connect by a name or address it carries)";
            }
            return ok;
          });
    }
    if (!SSL_set_tlsext_host_name(tls_stream->native_handle(), hp->host.c_str())) {
      return Status::Internal("cannot set TLS server name");
    }
    beast::get_lowest_layer(*tls_stream).expires_after(options.timeout);
    beast::get_lowest_layer(*tls_stream).async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) {
      if (e) {
        ex->error = e;
        return;
      }
      ex->step = "TLS handshake";
      tls_stream->async_handshake(ssl::stream_base::client, [&](beast::error_code e2) {
        if (e2) {
          ex->error = e2;
          return;
        }
        ReadWrite(*tls_stream, ex, options);
      });
    });
  } else {
    plain_stream.emplace(ioc);
    plain_stream->expires_after(options.timeout);
    plain_stream->async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) {
      if (e) {
        ex->error = e;
        return;
      }
      ReadWrite(*plain_stream, ex, options);
    });
  }
  ioc.run();
  if (ex->error) return FromError(*ex, tls, address);
  if (!ex->parser.is_done()) return Status::Unavailable("incomplete response from " + std::string(address));
  HttpResult out;
  const auto& res = ex->parser.get();
  out.status = static_cast<int>(res.result_int());
  if (auto it = res.find(http::field::content_type); it != res.end()) out.content_type = std::string(it->value());
  out.body = res.body();
  return out;
}

}  // namespace rocksdr::sidecar
