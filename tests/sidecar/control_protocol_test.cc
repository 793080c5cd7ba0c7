// The control socket's wire format (rocksdr/replication/control_protocol.h) and the sidecar's
// client against a scripted fake plugin (no DB): framing bounds, strict request/response
// validation, error-code names, config/bundle round trips without echoing secrets, and a client
// that meets a misbehaving server (wrong id, garbage, old version) reports it and reconnects.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <thread>

#include "rocksdr/replication/control_io.h"
#include "rocksdr/replication/control_protocol.h"
#include "rocksdr/sidecar/plugin_control_client.h"
#include "support/rocksdb_test_db.h"

namespace rocksdr {
namespace {

namespace ctl = replication::control;
using nlohmann::json;

TEST(ControlProtocolTest, FramingBounds) {
  auto m = ctl::EncodeMessage(json{{"a", 1}});
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->size(), 4 + std::string("{\"a\":1}").size());
  auto n = ctl::DecodeHeader(reinterpret_cast<const uint8_t*>(m->data()));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, m->size() - 4);

  const std::string zero(4, '\0');
  EXPECT_EQ(ctl::DecodeHeader(reinterpret_cast<const uint8_t*>(zero.data())).status().code(), Code::kInvalidArgument);
  const std::string max = ctl::EncodeHeader(ctl::kMaxMessageBytes);
  EXPECT_TRUE(ctl::DecodeHeader(reinterpret_cast<const uint8_t*>(max.data())).ok());
  const std::string over = ctl::EncodeHeader(ctl::kMaxMessageBytes + 1);
  auto o = ctl::DecodeHeader(reinterpret_cast<const uint8_t*>(over.data()));
  EXPECT_EQ(o.status().code(), Code::kResourceExhausted);
  EXPECT_NE(o.status().message().find("4194305"), std::string::npos) << o.status().message();

  EXPECT_EQ(ctl::EncodeMessage(json{{"v", std::string(ctl::kMaxMessageBytes, 'x')}}).status().code(),
            Code::kResourceExhausted);
  EXPECT_EQ(ctl::EncodeMessage(json{{"v", std::string("\xff\xfe", 2)}}).status().code(), Code::kInvalidArgument);
}

TEST(ControlProtocolTest, BodiesAreStrictJsonObjectsOfBoundedDepth) {
  EXPECT_TRUE(ctl::ParseMessageBody("{\"a\":[[[[1]]]]}").ok());
  // Brackets inside strings do not count towards the depth.
  EXPECT_TRUE(ctl::ParseMessageBody("{\"a\":\"" + std::string(100, '[') + "\\\"\"}").ok());
  auto deep = ctl::ParseMessageBody("{\"a\":" + std::string(17, '[') + std::string(17, ']') + "}");
  EXPECT_EQ(deep.status().code(), Code::kInvalidArgument);
  EXPECT_NE(deep.status().message().find("deeper than 16"), std::string::npos);
  EXPECT_EQ(ctl::ParseMessageBody("").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ctl::ParseMessageBody("\"str\"").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ctl::ParseMessageBody("{} trailing").status().code(), Code::kInvalidArgument);
  // A syntax error reports the offset, not the text (it may be a key).
  auto bad = ctl::ParseMessageBody("{\"server_key_pem\": SECRETKEYMATERIAL}");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find("SECRET"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("byte"), std::string::npos);
}

TEST(ControlProtocolTest, RequestsAndResponsesAreValidated) {
  auto r = ctl::ParseRequest(ctl::MakeRequest(9, "get", {{"store", "local"}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->id, 9u);
  EXPECT_EQ(r->op, "get");
  EXPECT_EQ(r->args["store"], "local");
  r = ctl::ParseRequest(json{{"id", 3}, {"op", "status"}});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->args.is_object());

  uint64_t id = 99;
  EXPECT_FALSE(ctl::ParseRequest(json{{"op", "status"}}, &id).ok());
  EXPECT_EQ(id, 0u);
  auto unknown = ctl::ParseRequest(json{{"id", 4}, {"op", "status"}, {"mode", "x"}}, &id);
  EXPECT_EQ(id, 4u);  // the error answer can still name the request
  EXPECT_NE(unknown.status().message().find("unknown field 'mode'"), std::string::npos);
  EXPECT_FALSE(ctl::ParseRequest(json{{"id", 1.5}, {"op", "status"}}).ok());
  EXPECT_FALSE(ctl::ParseRequest(json{{"id", 1}, {"op", ""}}).ok());
  EXPECT_FALSE(ctl::ParseRequest(json{{"id", 1}, {"op", std::string(65, 'o')}}).ok());

  for (int c = 1; c <= static_cast<int>(Code::kInternal); ++c) {
    const Status s(static_cast<Code>(c), "why");
    auto resp = ctl::ParseResponse(ctl::MakeResponse(5, s, json::object()));
    ASSERT_TRUE(resp.ok()) << CodeName(s.code());
    EXPECT_EQ(resp->status.code(), s.code());
    EXPECT_EQ(resp->status.message(), "why");
  }
  auto ok = ctl::ParseResponse(ctl::MakeResponse(6, Status::OK(), json{{"x", 1}}));
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->status.ok());
  EXPECT_EQ(ok->result["x"], 1);
  EXPECT_FALSE(ctl::ParseResponse(json{{"id", 1}, {"ok", false}, {"error", {{"code", "ok"}, {"message", ""}}}}).ok());
  EXPECT_FALSE(ctl::ParseResponse(json{{"id", 1}, {"ok", false}, {"error", {{"code", "bogus"}, {"message", ""}}}}).ok());
  EXPECT_FALSE(ctl::ParseResponse(json{{"id", 1}, {"ok", false}}).ok());
  EXPECT_FALSE(ctl::ParseResponse(json{{"id", 1}, {"ok", "yes"}}).ok());
  EXPECT_FALSE(ctl::ParseResponse(json{{"id", 1}, {"ok", true}, {"result", 3}}).ok());
  EXPECT_EQ(ctl::ParseCodeName("failed-precondition").value(), Code::kFailedPrecondition);
}

TEST(ControlProtocolTest, TypedArgumentsRoundTripAndRefuseBadInput) {
  sidecar::ActivationBundle b;
  b.cluster_id = "c1";
  b.secondary_id = "s1";
  b.primary_replication_addrs = {"10.0.0.1:8201", "[::1]:8201"};
  b.primary_api_addr = "https://10.0.0.1:8200";
  b.ca_cert_pem = "CA";
  b.client_cert_pem = "CERT";
  b.client_key_pem = "KEY-MATERIAL";
  b.epoch = 7;
  auto back = ctl::BundleFromJson(ctl::BundleToJson(b));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->primary_replication_addrs, b.primary_replication_addrs);
  EXPECT_EQ(back->client_key_pem, b.client_key_pem);
  EXPECT_EQ(back->epoch, 7u);

  json j = ctl::BundleToJson(b);
  j["primary_replication_addrs"] = json::array();
  EXPECT_NE(ctl::BundleFromJson(j).status().message().find("primary_replication_addrs is empty"), std::string::npos);
  j = ctl::BundleToJson(b);
  j["client_key_pem"] = "KEY-MATERIAL" + std::string(ctl::kMaxPemBytes, 'k');
  auto too_long = ctl::BundleFromJson(j);
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.status().message().find("KEY-MATERIAL"), std::string::npos) << "secret echoed";
  EXPECT_NE(too_long.status().message().find("client_key_pem"), std::string::npos);
  j = ctl::BundleToJson(b);
  j["token"] = "x";
  EXPECT_NE(ctl::BundleFromJson(j).status().message().find("unknown field 'token'"), std::string::npos);

  sidecar::PrimaryConfig pc;
  pc.cluster_id = "c1";
  pc.epoch = 3;
  pc.ca_cert_pem = "CA";
  pc.server_cert_pem = "CERT";
  pc.server_key_pem = "KEY";
  pc.allowed_secondary_ids = {"a", "b"};
  auto pback = ctl::PrimaryConfigFromJson(ctl::PrimaryConfigToJson(pc));
  ASSERT_TRUE(pback.ok());
  EXPECT_EQ(pback->allowed_secondary_ids, pc.allowed_secondary_ids);
  EXPECT_EQ(pback->server_key_pem, pc.server_key_pem);
  json pj = ctl::PrimaryConfigToJson(pc);
  pj["allowed_secondary_ids"] = json::array({"a", ""});
  EXPECT_FALSE(ctl::PrimaryConfigFromJson(pj).ok());
  pj = ctl::PrimaryConfigToJson(pc);
  pj["epoch"] = -1;
  EXPECT_FALSE(ctl::PrimaryConfigFromJson(pj).ok());

  // Bytes fields: strict padded base64, decoded size bounded.
  auto bytes = ctl::GetBytes(json{{"k", ctl::EncodeBytes(std::string("\0\1\2", 3))}}, "k", 3);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, std::string("\0\1\2", 3));
  EXPECT_FALSE(ctl::GetBytes(json{{"k", ctl::EncodeBytes("abcd")}}, "k", 3).ok());
  EXPECT_FALSE(ctl::GetBytes(json{{"k", "YQ"}}, "k", 3).ok());  // unpadded
  EXPECT_EQ(ctl::ParseStore(json{{"store", "replicated"}}).value(), sidecar::Store::kReplicated);
  EXPECT_FALSE(ctl::ParseStore(json{{"store", "Replicated"}}).ok());
}

// A fake plugin: accepts connections one by one and answers each request with script(request).
class FakePlugin {
 public:
  using Script = std::function<std::string(const json& request)>;  // raw body to send ("" = close)
  FakePlugin(const std::string& path, Script script) : script_(std::move(script)) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
    thread_ = std::thread([this] { Run(); });
  }
  ~FakePlugin() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  int accepted() const { return accepted_.load(); }

 private:
  void Run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      ++accepted_;
      for (;;) {
        auto body = ctl::ReadMessage(c, ctl::Clock::now() + std::chrono::seconds(5), std::chrono::seconds(5));
        if (!body.ok() || !body->has_value()) break;
        auto req = ctl::ParseMessageBody(**body);
        if (!req.ok()) break;
        const std::string out = script_(*req);
        if (out.empty()) break;
        if (!ctl::WriteAll(c, ctl::EncodeHeader(out.size()) + out, ctl::Clock::now() + std::chrono::seconds(5)).ok()) {
          break;
        }
      }
      ::close(c);
    }
  }
  int fd_;
  Script script_;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

std::string Answer(const json& req, json result) {
  return ctl::MakeResponse(req["id"].get<uint64_t>(), Status::OK(), std::move(result)).dump();
}

TEST(PluginControlClientTest, MisbehavingPluginIsReportedAndTheClientReconnects) {
  testing::TempDir dir;
  const std::string path = dir.Sub("fake.sock");
  std::atomic<int> mode{0};
  FakePlugin fake(path, [&](const json& req) -> std::string {
    if (req["op"] == "hello") return Answer(req, {{"version", 1}});
    switch (mode.load()) {
      case 0: return Answer(req, {{"role", "primary"}});
      case 1: return ctl::MakeResponse(req["id"].get<uint64_t>() + 1, Status::OK(), json::object()).dump();
      case 2: return "{\"id\": oops";
      case 3: return ctl::MakeResponse(req["id"].get<uint64_t>(), Status::Unavailable("sealed"), json::object()).dump();
      case 4: return Answer(req, {{"found", true}, {"value_b64", "!!"}});
      default: return "";  // close without answering
    }
  });
  auto c = sidecar::ConnectPluginControl(path, std::chrono::seconds(2));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto st = (*c)->Status();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ((*st)["role"], "primary");
  EXPECT_EQ(fake.accepted(), 1);

  mode = 1;  // an answer to another request: the connection is dropped
  EXPECT_EQ((*c)->Status().status().code(), Code::kInternal);
  mode = 2;  // garbage
  auto g = (*c)->Status();
  EXPECT_EQ(g.status().code(), Code::kInvalidArgument);
  EXPECT_NE(g.status().message().find("malformed answer"), std::string::npos) << g.status().message();
  mode = 3;  // the plugin's own error comes through unchanged
  EXPECT_EQ((*c)->Delete(sidecar::Store::kLocal, "k").code(), Code::kUnavailable);
  mode = 4;  // a bad field in a result
  EXPECT_FALSE((*c)->Get(sidecar::Store::kLocal, "k").ok());
  mode = 5;  // closes before answering: idempotent calls retry once, then say so
  auto closed = (*c)->Status();
  EXPECT_EQ(closed.status().code(), Code::kUnavailable);
  EXPECT_NE(closed.status().message().find("is not answering"), std::string::npos) << closed.status().message();
  Status role = (*c)->Demote();
  EXPECT_EQ(role.code(), Code::kUnavailable);
  EXPECT_NE(role.message().find("outcome is unknown"), std::string::npos) << role.message();
  mode = 0;
  EXPECT_TRUE((*c)->Status().ok());
  EXPECT_GE(fake.accepted(), 5);  // reconnected after each dropped connection

  // A plugin that speaks another version is refused at hello.
  const std::string old_path = dir.Sub("old.sock");
  FakePlugin old(old_path, [](const json& req) -> std::string {
    if (req["op"] == "hello") {
      return ctl::MakeResponse(req["id"].get<uint64_t>(), Status::FailedPrecondition("version 2 only"), json::object())
          .dump();
    }
    return Answer(req, json::object());
  });
  auto oc = sidecar::ConnectPluginControl(old_path, std::chrono::seconds(2));
  ASSERT_FALSE(oc.ok());
  EXPECT_EQ(oc.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(oc.status().message().find("version 2 only"), std::string::npos);
}

}  // namespace
}  // namespace rocksdr
