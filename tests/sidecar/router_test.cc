// Router and HTTP server: route table checks in Vault's order, envelopes, limits, over real HTTP.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "rocksdr/sidecar/api.h"
#include "support/idle_connection.h"
#include "rocksdr/sidecar/http_client.h"
#include "rocksdr/sidecar/http_server.h"
#include "rocksdr/sidecar/json_depth.h"
#include "rocksdr/sidecar/metrics.h"
#include "rocksdr/sidecar/router.h"

namespace rocksdr::sidecar {
namespace {

class FakeGate : public RequestGate {
 public:
  bool Sealed() override { return sealed; }
  bool IsDrSecondary() override { return dr_secondary; }
  Result<TokenEntry> Authenticate(std::string_view token) override {
    TokenEntry e;
    e.accessor = "acc";
    if (token == "root-token") {
      e.policies = {"root"};
      return e;
    }
    if (token == "user-token") {
      e.policies = {"default"};
      return e;
    }
    return Status::NotFound("no such token");
  }
  void OnResponse(const ApiRequest&, int status) override { last_status = status; }
  bool sealed = false;
  bool dr_secondary = false;
  int last_status = 0;
};

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(router_
                    .Add(RouteSpec("sys/echo", {Method::kPost}, AuthRequirement::kNone,
                                   [](ApiRequest& r) { return Envelope(r, r.body); })
                             .SetSealedOk())
                    .ok());
    ASSERT_TRUE(router_
                    .Add(RouteSpec("sys/rootonly", {Method::kGet}, AuthRequirement::kRoot,
                                   [](ApiRequest& r) {
                                     return Envelope(r, {{"who", r.token->accessor}}, {"w1"});
                                   }))
                    .ok());
    ASSERT_TRUE(router_
                    .Add(RouteSpec("sys/anytoken", {Method::kGet, Method::kDelete}, AuthRequirement::kToken,
                                   [](ApiRequest&) { return NoContent(); })
                             .SetDrSecondaryOk(false))
                    .ok());
    ASSERT_TRUE(router_
                    .Add(RouteSpec("kv/", {Method::kGet}, AuthRequirement::kNone,
                                   [](ApiRequest& r) { return Bare({{"sub", r.subpath}}); })
                             .SetPrefix())
                    .ok());
    ASSERT_TRUE(router_
                    .Add(RouteSpec("sys/int", {Method::kPost}, AuthRequirement::kNone,
                                   [](ApiRequest& r) {
                                     Result<int64_t> n = GetInt(r.body, "n", 0, 1, 10);
                                     if (!n.ok()) return ErrorFromStatus(n.status());
                                     return Bare({{"n", *n}});
                                   }))
                    .ok());
  }

  ApiResponse Call(Method m, std::string path, std::string body = "", std::string token = "") {
    ApiRequest req;
    req.method = m;
    req.path = std::move(path);
    req.raw_body = std::move(body);
    req.client_token = std::move(token);
    req.request_id = "rid-1";
    return router_.Dispatch(req);
  }

  FakeGate gate_;
  Router router_{&gate_};
};

TEST_F(RouterTest, RejectsBadAndDuplicateRoutes) {
  Handler h = [](ApiRequest&) { return NoContent(); };
  EXPECT_EQ(router_.Add(RouteSpec("sys/echo", {Method::kPost}, AuthRequirement::kNone, h)).code(),
            Code::kAlreadyExists);
  EXPECT_TRUE(router_.Add(RouteSpec("sys/echo", {Method::kGet}, AuthRequirement::kNone, h)).ok());
  EXPECT_EQ(router_.Add(RouteSpec("/abs", {Method::kGet}, AuthRequirement::kNone, h)).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(router_.Add(RouteSpec("x", {}, AuthRequirement::kNone, h)).code(), Code::kInvalidArgument);
  EXPECT_EQ(router_.Add(RouteSpec("x", {Method::kGet}, AuthRequirement::kNone, nullptr)).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(router_.Add(RouteSpec("p", {Method::kGet}, AuthRequirement::kNone, h).SetPrefix()).code(),
            Code::kInvalidArgument);
}

TEST_F(RouterTest, DispatchOrderAndEnvelope) {
  EXPECT_EQ(Call(Method::kGet, "nope").status, 404);
  EXPECT_EQ(Call(Method::kGet, "nope").body["errors"][0], "unsupported path");
  EXPECT_EQ(gate_.last_status, 404);
  EXPECT_EQ(Call(Method::kDelete, "sys/echo").status, 405);

  ApiResponse r = Call(Method::kPost, "sys/echo", R"({"a":1,"request_id":"x"})");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["request_id"], "rid-1");  // data never overwrites the envelope's keys
  EXPECT_EQ(r.body["lease_id"], "");
  EXPECT_EQ(r.body["renewable"], false);
  EXPECT_EQ(r.body["lease_duration"], 0);
  EXPECT_EQ(r.body["data"]["a"], 1);
  EXPECT_EQ(r.body["a"], 1);  // sys/ data copied to top level
  EXPECT_TRUE(r.body["wrap_info"].is_null());
  EXPECT_TRUE(r.body["warnings"].is_null());
  EXPECT_TRUE(r.body["auth"].is_null());

  EXPECT_EQ(Call(Method::kPost, "sys/echo", "{bad").status, 400);
  EXPECT_EQ(Call(Method::kPost, "sys/echo", "[1,2]").status, 400);
  EXPECT_EQ(Call(Method::kPost, "sys/echo", "  ").status, 200);

  // Sealed: sealed_ok routes still run, others 503.
  gate_.sealed = true;
  EXPECT_EQ(Call(Method::kPost, "sys/echo", "{}").status, 200);
  ApiResponse sealed = Call(Method::kGet, "sys/rootonly", "", "root-token");
  EXPECT_EQ(sealed.status, 503);
  EXPECT_EQ(sealed.body["errors"][0], "rocksdr is sealed");
  gate_.sealed = false;

  // Auth.
  EXPECT_EQ(Call(Method::kGet, "sys/rootonly").status, 403);
  EXPECT_EQ(Call(Method::kGet, "sys/rootonly", "", "bogus").status, 403);
  EXPECT_EQ(Call(Method::kGet, "sys/rootonly", "", "user-token").body["errors"][0], "permission denied");
  ApiResponse ok = Call(Method::kGet, "sys/rootonly", "", "root-token");
  ASSERT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body["data"]["who"], "acc");
  EXPECT_EQ(ok.body["warnings"][0], "w1");
  EXPECT_EQ(Call(Method::kGet, "sys/anytoken", "", "user-token").status, 204);

  gate_.dr_secondary = true;
  ApiResponse drs = Call(Method::kGet, "sys/anytoken", "", "user-token");
  EXPECT_EQ(drs.status, 400);
  EXPECT_EQ(drs.body["errors"][0], "path disabled in replication DR secondary mode");
  // Sealed too (a DR secondary's normal state): still the DR-secondary answer, not "sealed".
  gate_.sealed = true;
  ApiResponse sealed_drs = Call(Method::kGet, "sys/anytoken", "", "user-token");
  EXPECT_EQ(sealed_drs.status, 400);
  EXPECT_EQ(sealed_drs.body["errors"][0], "path disabled in replication DR secondary mode");
  EXPECT_EQ(Call(Method::kGet, "sys/rootonly", "", "root-token").status, 503);  // allowed on a secondary: sealed
  gate_.sealed = false;
}

TEST_F(RouterTest, PrefixRoutesAndTypedFields) {
  ApiResponse r = Call(Method::kGet, "kv/a/b");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["sub"], "a/b");
  EXPECT_EQ(Call(Method::kPost, "sys/int", R"({"n":"7"})").body["n"], 7);
  ApiResponse bad = Call(Method::kPost, "sys/int", R"({"n":"x"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body["errors"][0].get<std::string>().find("\"n\""), std::string::npos);
  EXPECT_EQ(Call(Method::kPost, "sys/int", R"({"n":11})").status, 400);
  EXPECT_EQ(Call(Method::kPost, "sys/int", R"({"n":true})").status, 400);
  // Floats: whole values are integers; huge ones are refused (found by api_json_fuzz: converting
  // 1e200 to int64 was undefined behaviour).
  EXPECT_EQ(Call(Method::kPost, "sys/int", R"({"n":7.0})").body["n"], 7);
  ApiResponse huge = Call(Method::kPost, "sys/int", R"({"n":1e200})");
  EXPECT_EQ(huge.status, 400);
  EXPECT_NE(huge.body["errors"][0].get<std::string>().find("out of range"), std::string::npos) << huge.body.dump();
  EXPECT_EQ(Call(Method::kPost, "sys/int", R"({"n":-1e19})").status, 400);
  EXPECT_EQ(Call(Method::kPost, "sys/int", R"({"n":7.5})").status, 400);
}

TEST_F(RouterTest, JsonNestingDepthLimit) {
  // Exactly kMaxRequestJsonDepth levels (the body object is level 1) is accepted.
  const size_t inner = kMaxRequestJsonDepth - 1;
  ApiResponse ok = Call(Method::kPost, "sys/echo",
                        R"({"a":)" + std::string(inner, '[') + std::string(inner, ']') + "}");
  EXPECT_EQ(ok.status, 200) << ok.body.dump();
  // One more level: 400 with Vault's envelope and a message naming the limit, before parsing.
  ApiResponse deep = Call(Method::kPost, "sys/echo",
                          R"({"a":)" + std::string(inner + 1, '[') + std::string(inner + 1, ']') + "}");
  ASSERT_EQ(deep.status, 400);
  ASSERT_TRUE(deep.body["errors"].is_array());
  const std::string msg = deep.body["errors"][0].get<std::string>();
  EXPECT_EQ(msg.rfind("failed to parse JSON input: ", 0), 0u) << msg;
  EXPECT_NE(msg.find("deeper than 32 levels"), std::string::npos) << msg;
  // A megabyte of '[' (within the HTTP size limit) is refused the same way, at byte 32.
  ApiResponse huge = Call(Method::kPost, "sys/echo", std::string(1 << 20, '['));
  EXPECT_EQ(huge.status, 400);
  EXPECT_NE(huge.body["errors"][0].get<std::string>().find("(at byte 32)"), std::string::npos);
  // Mixed objects and arrays count alike; brackets inside strings (with escaped quotes) do not.
  std::string mixed = "{";
  for (size_t i = 0; i < kMaxRequestJsonDepth; ++i) mixed += R"("k":{)";
  EXPECT_EQ(Call(Method::kPost, "sys/echo", mixed).status, 400);
  ApiResponse str = Call(Method::kPost, "sys/echo", R"({"a":"\")" + std::string(500, '[') + R"("})");
  EXPECT_EQ(str.status, 200) << str.body.dump();
}

TEST(JsonDepth, CountsNestingOutsideStrings) {
  EXPECT_TRUE(CheckJsonDepth("").ok());
  EXPECT_TRUE(CheckJsonDepth("[[]]", 2).ok());
  EXPECT_EQ(CheckJsonDepth("[[[]]]", 2).code(), Code::kInvalidArgument);
  EXPECT_TRUE(CheckJsonDepth("[[]],[[]],{\"x\":[1]}", 2).ok());  // depth goes back down
  EXPECT_TRUE(CheckJsonDepth(R"(["[[[\\", "\"{{{"])", 1).ok());  // escaped backslash, then quote
  EXPECT_TRUE(CheckJsonDepth("]]]][[", 2).ok());                   // stray closers never go negative
  Status s = CheckJsonDepth(std::string(10, '{'), 4);
  EXPECT_NE(s.message().find("deeper than 4 levels (at byte 4)"), std::string::npos) << s.message();
}

TEST(ApiFields, DurationsAndBools) {
  EXPECT_EQ(*ParseDurationMs("30m"), 30 * 60 * 1000);
  EXPECT_EQ(*ParseDurationMs("1h30m"), 90 * 60 * 1000);
  EXPECT_EQ(*ParseDurationMs("250ms"), 250);
  EXPECT_EQ(*ParseDurationMs("45"), 45000);
  EXPECT_FALSE(ParseDurationMs("").ok());
  EXPECT_FALSE(ParseDurationMs("10x").ok());
  EXPECT_FALSE(ParseDurationMs("m").ok());
  EXPECT_FALSE(ParseDurationMs("99999999999999999999h").ok());
  nlohmann::json b = {{"t", "30m"}, {"i", 90}, {"f", "false"}, {"s", 3}};
  EXPECT_EQ(*GetDurationSeconds(b, "t", 0), 1800);
  EXPECT_EQ(*GetDurationSeconds(b, "i", 0), 90);
  EXPECT_EQ(*GetDurationSeconds(b, "missing", 5), 5);
  EXPECT_EQ(*GetBool(b, "f", true), false);
  EXPECT_FALSE(GetString(b, "s").ok());
  EXPECT_EQ(FormatDurationSeconds(1800), "30m");
  EXPECT_EQ(FormatDurationSeconds(5400), "1h30m");
}

class ServerTest : public RouterTest {
 protected:
  void SetUp() override {
    RouterTest::SetUp();
    HttpServerOptions o;
    o.listen_address = "127.0.0.1:0";
    o.max_body_bytes = 1024;
    auto s = HttpServer::Start(o, &router_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
    addr_ = "http://" + server_->bound_address();
  }
  void TearDown() override { server_->Stop(); }

  HttpResult Http(std::string_view method, std::string_view target, std::string_view body = "",
                  std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto r = HttpRequest(addr_, method, target, body, headers);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpResult{};
  }

  std::unique_ptr<HttpServer> server_;
  std::string addr_;
};

TEST_F(ServerTest, OverHttp) {
  EXPECT_NE(server_->port(), 0);
  HttpResult r = Http("PUT", "/v1/sys/echo", R"({"x":"y"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(nlohmann::json::parse(r.body)["x"], "y");
  EXPECT_EQ(Http("POST", "/v1/sys/echo", "{").status, 400);
  EXPECT_EQ(Http("GET", "/v1/nothing/here").status, 404);
  EXPECT_EQ(Http("GET", "/elsewhere").status, 404);
  EXPECT_EQ(Http("PATCH", "/v1/sys/echo").status, 405);
  HttpResult big = Http("POST", "/v1/sys/echo", std::string(4096, ' '));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(nlohmann::json::parse(big.body)["errors"].size(), 1u);
  EXPECT_EQ(Http("GET", "/v1/sys/rootonly", "", {{"X-Vault-Token", "root-token"}}).status, 200);
  EXPECT_EQ(Http("GET", "/v1/sys/rootonly", "", {{"Authorization", "Bearer root-token"}}).status, 200);
  EXPECT_EQ(Http("GET", "/v1/sys/rootonly", "", {{"Authorization", "Bearer user-token"}}).status, 403);
  HttpResult empty = Http("DELETE", "/v1/sys/anytoken", "", {{"X-Vault-Token", "user-token"}});
  EXPECT_EQ(empty.status, 204);
  EXPECT_TRUE(empty.body.empty());
  EXPECT_EQ(nlohmann::json::parse(Http("GET", "/v1/kv/a%2Fb?x=1").body)["sub"], "a/b");
  HttpResult huge_header = Http("GET", "/v1/kv/a", "", {{"X-Big", std::string(20000, 'a')}});
  EXPECT_EQ(huge_header.status, 431);
}

// One address cannot take every place: idle connections from 127.0.0.2 beyond
// max_connections_per_address are closed at accept, while a client at 127.0.0.1 is still served;
// the places come back when those connections close.
TEST_F(RouterTest, ConnectionsAreLimitedPerAddress) {
  HttpServerOptions o;
  o.listen_address = "127.0.0.1:0";
  o.max_connections_per_address = 3;
  auto started = HttpServer::Start(o, &router_);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  std::unique_ptr<HttpServer> server = std::move(started).value();
  std::vector<int> fds;
  for (int i = 0; i < 5; ++i) {
    fds.push_back(testing::ConnectFrom("127.0.0.2", server->port()));
    ASSERT_GE(fds.back(), 0) << "connecting from 127.0.0.2 (loopback) failed";
  }
  auto closed = [&] {
    size_t n = 0;
    for (int fd : fds) n += testing::ClosedByPeer(fd) ? 1 : 0;
    return n;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (closed() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(closed(), 2u) << "the two connections over the per-address limit are closed";
  auto other = HttpRequest("http://" + server->bound_address(), "GET", "/v1/nothing/here", "", {});
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ(other->status, 404) << "another address is served";
  for (int fd : fds) ::close(fd);
  fds.clear();
  // The places are free again once the server saw those connections end.
  bool admitted = false;
  while (!admitted && std::chrono::steady_clock::now() < deadline) {
    const int fd = testing::ConnectFrom("127.0.0.2", server->port());
    ASSERT_GE(fd, 0);
    const std::string req = "GET /v1/nothing/here HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
    char buf[16] = {};
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const ssize_t n = ::recv(fd, buf, sizeof buf - 1, MSG_WAITALL);
    admitted = n > 0 && std::string(buf, static_cast<size_t>(n)).rfind("HTTP/1.1 404", 0) == 0;
    ::close(fd);
    if (!admitted) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(admitted);
  server->Stop();
}

TEST(HttpClient, Errors) {
  EXPECT_EQ(HttpRequest("ftp://x:1", "GET", "/", "", {}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(HttpRequest("http://127.0.0.1:1", "GET", "/", "", {}).status().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace rocksdr::sidecar

namespace rocksdr::sidecar {
namespace {

// Gauge values keep their digits: a Unix time with milliseconds (the secondary's last heartbeat)
// must not be rounded to 6 significant digits (1.76417e+09 is ~5000 s off).
TEST(MetricsRender, GaugesKeepTheirDigits) {
  Metrics m;
  const std::string text = m.RenderPrometheus({{"t_seconds", "a time", "", 1764168000.123},
                                               {"whole", "an integer", "", 42.0}});
  EXPECT_NE(text.find("\nt_seconds 1764168000.123\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nwhole 42\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace rocksdr::sidecar
