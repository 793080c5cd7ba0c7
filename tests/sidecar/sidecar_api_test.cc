// The sidecar's API over real HTTP with an in-memory plugin: init, unseal quorum (wrong key,
// duplicate key, reset), sealed 503, seal again, envelopes, auth, tokens stored hashed, status.
#include <gtest/gtest.h>

#include "rocksdr/crypto/encoding.h"
#include "rocksdr/sidecar/http_client.h"
#include "rocksdr/sidecar/replication_status.h"
#include "rocksdr/sidecar/token_store.h"
#include "support/sidecar_harness.h"

namespace rocksdr::sidecar {
namespace {

using testing::SidecarHarness;

class SidecarApiTest : public ::testing::Test {
 protected:
  void SetUp() override { h_ = SidecarHarness::Start(); }

  // init 5/3 and return the response JSON.
  nlohmann::json Init(int shares = 5, int threshold = 3) {
    auto r = h_->Call("PUT", "/v1/sys/init",
                      nlohmann::json{{"secret_shares", shares}, {"secret_threshold", threshold}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json;
  }
  testing::Reply Unseal(const std::string& key) {
    return h_->Call("POST", "/v1/sys/unseal", nlohmann::json{{"key", key}}.dump());
  }

  std::unique_ptr<SidecarHarness> h_;
};

TEST_F(SidecarApiTest, InitValidationAndShape) {
  auto st = h_->Call("GET", "/v1/sys/seal-status");
  ASSERT_EQ(st.status, 200);
  EXPECT_EQ(st.json["initialized"], false);
  EXPECT_EQ(st.json["sealed"], true);
  EXPECT_EQ(st.json["type"], "shamir");
  EXPECT_EQ(h_->Call("GET", "/v1/sys/init").json["initialized"], false);
  EXPECT_EQ(h_->Call("GET", "/v1/sys/health").status, 501);

  struct Bad {
    nlohmann::json body;
    std::string msg;
  } bad[] = {{{{"secret_shares", 0}, {"secret_threshold", 0}}, "shares must be at least one"},
             {{{"secret_shares", 3}, {"secret_threshold", 1}}, "threshold must be greater than one for multiple shares"},
             {{{"secret_shares", 2}, {"secret_threshold", 3}}, "threshold cannot be larger than shares"},
             {{{"secret_shares", 256}, {"secret_threshold", 3}}, "shares must be less than 256"},
             {{{"secret_shares", "five"}, {"secret_threshold", 3}}, "\"secret_shares\""},
             {{{"secret_shares", 5}, {"secret_threshold", 3}, {"pgp_keys", {"x"}}}, "pgp_keys"}};
  for (const auto& b : bad) {
    auto r = h_->Call("POST", "/v1/sys/init", b.body.dump());
    EXPECT_EQ(r.status, 400) << b.body;
    ASSERT_TRUE(r.json.contains("errors")) << r.body;
    EXPECT_NE(r.json["errors"][0].get<std::string>().find(b.msg), std::string::npos) << r.body;
  }

  nlohmann::json init = Init();
  ASSERT_EQ(init["keys"].size(), 5u);
  ASSERT_EQ(init["keys_base64"].size(), 5u);
  EXPECT_EQ(init["keys"][0].get<std::string>().size(), 66u);  // 33 bytes hex
  EXPECT_EQ(init["root_token"].get<std::string>().rfind("rdr.", 0), 0u);
  auto again = h_->Call("POST", "/v1/sys/init", R"({"secret_shares":1,"secret_threshold":1})");
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(again.json["errors"][0], "rocksdr is already initialized");
  EXPECT_EQ(h_->Call("GET", "/v1/sys/health").status, 503);
}

TEST_F(SidecarApiTest, UnsealQuorumWrongDuplicateResetAndSealAgain) {
  nlohmann::json init = Init();
  const std::string root = init["root_token"];
  std::vector<std::string> hex = init["keys"], b64 = init["keys_base64"];

  // Sealed: ordinary endpoints answer 503.
  auto sealed = h_->Call("GET", "/v1/auth/token/lookup-self", "", root);
  EXPECT_EQ(sealed.status, 503);
  EXPECT_EQ(sealed.json["errors"][0], "rocksdr is sealed");

  // First key (hex), then the same key again (base64): ignored, progress stays 1.
  auto r1 = Unseal(hex[0]);
  ASSERT_EQ(r1.status, 200) << r1.body;
  EXPECT_EQ(r1.json["progress"], 1);
  EXPECT_EQ(r1.json["t"], 3);
  EXPECT_EQ(r1.json["n"], 5);
  EXPECT_FALSE(r1.json["nonce"].get<std::string>().empty());
  EXPECT_EQ(Unseal(b64[0]).json["progress"], 1);

  // Reset.
  auto reset = h_->Call("POST", "/v1/sys/unseal", R"({"reset":true})");
  EXPECT_EQ(reset.json["progress"], 0);
  EXPECT_EQ(reset.json["nonce"], "");

  // Bad encodings / lengths / missing key.
  EXPECT_EQ(Unseal("not-a-key!!").status, 400);
  EXPECT_EQ(Unseal(crypto::HexEncode("short")).status, 400);
  EXPECT_EQ(h_->Call("POST", "/v1/sys/unseal", "{}").status, 400);
  EXPECT_EQ(h_->Call("POST", "/v1/sys/unseal", R"({"key": 5})").status, 400);

  // A quorum with a wrong key (a share of another split): refused, stays sealed, progress reset.
  std::string wrong = hex[2];
  wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
  EXPECT_EQ(Unseal(hex[0]).json["progress"], 1);
  EXPECT_EQ(Unseal(hex[1]).json["progress"], 2);
  auto bad = Unseal(wrong);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.json["errors"][0].get<std::string>().find("do not reconstruct"), std::string::npos);
  auto st = h_->Call("GET", "/v1/sys/seal-status");
  EXPECT_EQ(st.json["sealed"], true);
  EXPECT_EQ(st.json["progress"], 0);

  // The right quorum, in another order, mixing hex and base64.
  EXPECT_EQ(Unseal(hex[4]).json["sealed"], true);
  EXPECT_EQ(Unseal(b64[2]).json["sealed"], true);
  auto done = Unseal(hex[1]);
  ASSERT_EQ(done.status, 200);
  EXPECT_EQ(done.json["sealed"], false);
  EXPECT_EQ(done.json["progress"], 0);
  EXPECT_FALSE(done.json["cluster_id"].get<std::string>().empty());
  EXPECT_EQ(h_->Call("GET", "/v1/sys/health").status, 200);
  EXPECT_EQ(h_->Call("GET", "/v1/auth/token/lookup-self", "", root).status, 200);

  // Seal needs root; then sealed again; unseal again with another quorum.
  EXPECT_EQ(h_->Call("POST", "/v1/sys/seal").status, 403);
  auto seal = h_->Call("PUT", "/v1/sys/seal", "", root);
  EXPECT_EQ(seal.status, 204);
  EXPECT_TRUE(seal.body.empty());
  EXPECT_EQ(h_->Call("GET", "/v1/sys/seal-status").json["sealed"], true);
  EXPECT_EQ(h_->Call("GET", "/v1/auth/token/lookup-self", "", root).status, 503);
  EXPECT_EQ(h_->Call("POST", "/v1/sys/seal", "", root).status, 503);
  Unseal(hex[3]);
  Unseal(hex[0]);
  EXPECT_EQ(Unseal(hex[2]).json["sealed"], false);
  EXPECT_EQ(h_->Call("GET", "/v1/auth/token/lookup-self", "", root).json["data"]["policies"][0], "root");
}

class UnsealedTest : public SidecarApiTest {
 protected:
  void SetUp() override {
    SidecarApiTest::SetUp();
    auto out = h_->sidecar().InitializeAndUnsealForDev();
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    root_ = std::string(out->root_token);
    key_ = crypto::Base64Encode(crypto::AsStringView(out->keys[0]));
  }
  std::string root_, key_;
};

TEST_F(UnsealedTest, EnvelopeAuthAndErrors) {
  auto r = h_->Call("GET", "/v1/auth/token/lookup-self", "", root_);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  for (const char* k : {"request_id", "lease_id", "renewable", "lease_duration", "data", "wrap_info", "warnings", "auth"}) {
    EXPECT_TRUE(r.json.contains(k)) << k;
  }
  EXPECT_EQ(r.json["request_id"].get<std::string>().size(), 36u);
  EXPECT_EQ(r.json["lease_id"], "");
  EXPECT_EQ(r.json["renewable"], false);
  EXPECT_EQ(r.json["lease_duration"], 0);
  EXPECT_TRUE(r.json["wrap_info"].is_null());
  EXPECT_TRUE(r.json["warnings"].is_null());
  EXPECT_TRUE(r.json["auth"].is_null());
  EXPECT_FALSE(r.json.contains("policies"));  // auth/ paths: data is not copied to the top level

  // sys/ envelopes copy data to the top level.
  auto dr = h_->Call("GET", "/v1/sys/replication/dr/status");
  ASSERT_EQ(dr.status, 200);
  EXPECT_EQ(dr.json["data"]["mode"], "disabled");
  EXPECT_EQ(dr.json["mode"], "disabled");
  auto rs = h_->Call("GET", "/v1/sys/replication/status");
  EXPECT_EQ(rs.json["data"]["dr"]["mode"], "disabled");
  EXPECT_EQ(rs.json["data"]["performance"]["mode"], "disabled");

  // Auth: none / wrong / non-root.
  EXPECT_EQ(h_->Call("POST", "/v1/auth/token/create", "{}").status, 403);
  auto wrong = h_->Call("POST", "/v1/auth/token/create", "{}", "rdr.wrongwrongwrongwrongwron");
  EXPECT_EQ(wrong.status, 403);
  EXPECT_EQ(wrong.json, nlohmann::json::parse(R"({"errors":["permission denied"]})"));
  auto created = h_->Call("POST", "/v1/auth/token/create", R"({"policies":["default"],"ttl":"1h"})", root_);
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string user = created.json["auth"]["client_token"];
  EXPECT_EQ(created.json["auth"]["lease_duration"], 3600);
  EXPECT_EQ(h_->Call("POST", "/v1/auth/token/create", "{}", user).status, 403);
  EXPECT_EQ(h_->Call("POST", "/v1/sys/seal", "", user).status, 403);
  EXPECT_EQ(h_->Call("GET", "/v1/auth/token/lookup-self", "", user).json["data"]["policies"][0], "default");
  // Bearer works too.
  auto bearer = HttpRequest(h_->address(), "GET", "/v1/auth/token/lookup-self", "", {{"Authorization", "Bearer " + root_}});
  ASSERT_TRUE(bearer.ok());
  EXPECT_EQ(bearer->status, 200);

  // Single-use token works once.
  auto once = h_->Call("POST", "/v1/auth/token/create", R"({"policies":["default"],"num_uses":1})", root_);
  const std::string once_tok = once.json["auth"]["client_token"];
  EXPECT_EQ(h_->Call("GET", "/v1/auth/token/lookup-self", "", once_tok).status, 200);
  EXPECT_EQ(h_->Call("GET", "/v1/auth/token/lookup-self", "", once_tok).status, 403);

  // Malformed JSON / wrong type / unknown path / wrong method / PUT == POST.
  auto malformed = h_->Call("POST", "/v1/auth/token/create", "{\"policies\":", root_);
  EXPECT_EQ(malformed.status, 400);
  auto wrongtype = h_->Call("POST", "/v1/auth/token/create", R"({"num_uses":"many"})", root_);
  EXPECT_EQ(wrongtype.status, 400);
  EXPECT_NE(wrongtype.json["errors"][0].get<std::string>().find("\"num_uses\""), std::string::npos);
  EXPECT_EQ(h_->Call("GET", "/v1/sys/no-such-thing", "", root_).status, 404);
  EXPECT_EQ(h_->Call("DELETE", "/v1/sys/init", "", root_).status, 405);
  EXPECT_EQ(h_->Call("PUT", "/v1/secret/a", R"({"v":"1"})", root_).status, 204);
  EXPECT_EQ(h_->Call("POST", "/v1/secret/a", R"({"v":"2"})", root_).status, 204);
  EXPECT_EQ(h_->Call("GET", "/v1/secret/a", "", root_).json["data"]["v"], "2");
  EXPECT_EQ(h_->Call("PUT", "/v1/secret/dir/b", R"({"v":"3"})", root_).status, 204);
  EXPECT_EQ(h_->Call("LIST", "/v1/secret", "", root_).json["data"]["keys"], nlohmann::json({"a", "dir/"}));
  EXPECT_EQ(h_->Call("GET", "/v1/secret/dir?list=true", "", root_).json["data"]["keys"][0], "b");
  EXPECT_EQ(h_->Call("LIST", "/v1/secret/none", "", root_).status, 404);
  EXPECT_EQ(h_->Call("GET", "/v1/secret", "", root_).status, 400);  // read needs a path
  EXPECT_EQ(h_->Call("DELETE", "/v1/secret/a", "", root_).status, 204);
  EXPECT_EQ(h_->Call("GET", "/v1/secret/a", "", root_).status, 404);

  // Oversized body: 413.
  auto big = h_->Call("POST", "/v1/secret/big", "{\"v\":\"" + std::string(2 << 20, 'x') + "\"}", root_);
  EXPECT_EQ(big.status, 413);

  // Metrics: token needed; Prometheus text.
  EXPECT_EQ(h_->Call("GET", "/v1/sys/metrics").status, 403);
  auto m = h_->Call("GET", "/v1/sys/metrics", "", root_);
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.content_type.rfind("text/plain", 0), 0u);
  EXPECT_NE(m.body.find("rocksdr_http_requests_total{code=\"403\"}"), std::string::npos);
  EXPECT_NE(m.body.find("rocksdr_core_unsealed 1"), std::string::npos);
  EXPECT_NE(m.body.find("rocksdr_replication_mode{mode=\"disabled\"} 1"), std::string::npos);
}

TEST_F(UnsealedTest, TokensAndKeysNeverStoredInClear) {
  auto created = h_->Call("POST", "/v1/auth/token/create", R"({"policies":["default"]})", root_);
  const std::string user = created.json["auth"]["client_token"];
  auto dump = h_->control().Dump(Store::kReplicated);
  size_t token_entries = 0;
  for (const auto& [k, v] : dump) {
    for (const std::string& secret : {root_, user, key_}) {
      EXPECT_EQ(k.find(secret), std::string::npos) << k;
      EXPECT_EQ(v.find(secret), std::string::npos) << k;
    }
    if (k.rfind(kTokenKeyPrefix, 0) == 0) ++token_entries;
  }
  EXPECT_EQ(token_entries, 2u);
  for (const auto& [k, v] : h_->control().Dump(Store::kLocal)) EXPECT_EQ(v.find(root_), std::string::npos);
}

TEST_F(UnsealedTest, DrSecondaryHealthAndDisabledPaths) {
  h_->sidecar().core().SetDrSecondary(true);
  EXPECT_EQ(h_->Call("GET", "/v1/sys/health").status, 472);
  EXPECT_EQ(h_->Call("GET", "/v1/sys/health?drsecondarycode=200").status, 200);
  EXPECT_EQ(h_->Call("GET", "/v1/sys/health?drsecondarycode=abc").status, 400);
  // Codes whose answers carry no body are refused (304 used to end the process: Beast throws
  // when asked to prepare a body for it), and the server keeps answering.
  for (const char* code : {"304", "204", "150", "600"}) {
    auto bad = h_->Call("GET", std::string("/v1/sys/health?activecode=") + code);
    EXPECT_EQ(bad.status, 400) << code;
  }
  EXPECT_EQ(h_->Call("GET", "/v1/sys/health?drsecondarycode=304").json["errors"][0],
            "drsecondarycode must not be 204 or 304 (they carry no body)");
  EXPECT_EQ(h_->Call("GET", "/v1/sys/health?drsecondarycode=299").status, 299);
  auto r = h_->Call("GET", "/v1/secret/a", "", root_);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json["errors"][0], "path disabled in replication DR secondary mode");
}

// A web page must not drive the API from the operator's browser: a cross-site form POST to
// sys/init would initialize a fresh node with keys nobody sees; a hostile name that resolves to
// 127.0.0.1 would make its pages same-origin with the plain-HTTP API and read the answers.
TEST(BrowserMisuse, CrossOriginAndRebindingRequestsAreRefusedAndChangeNothing) {
  auto h = SidecarHarness::Start();
  const std::string addr = h->address();  // http://127.0.0.1:port
  const std::string hostport = addr.substr(addr.find("://") + 3);
  auto call = [&](const std::vector<std::pair<std::string, std::string>>& headers) {
    Result<HttpResult> r = HttpRequest(addr, "POST", "/v1/sys/init", R"({"secret_shares":1,"secret_threshold":1})",
                                       headers);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpResult{};
  };
  HttpResult cross = call({{"Origin", "http://evil.example"}, {"Content-Type", "text/plain"}});
  EXPECT_EQ(cross.status, 403);
  EXPECT_NE(cross.body.find("cross-origin request refused"), std::string::npos) << cross.body;
  HttpResult sandboxed = call({{"Origin", "null"}});
  EXPECT_EQ(sandboxed.status, 403);
  HttpResult rebound = call({{"Host", "evil.example:" + hostport.substr(hostport.rfind(':') + 1)},
                             {"Origin", "http://evil.example:" + hostport.substr(hostport.rfind(':') + 1)}});
  EXPECT_EQ(rebound.status, 403);
  EXPECT_NE(rebound.body.find("protection against DNS rebinding"), std::string::npos) << rebound.body;
  EXPECT_EQ(h->Call("GET", "/v1/sys/init").json["initialized"], false) << "nothing was initialized";
  // The web UI (same origin), a client without Origin, and localhost are served.
  EXPECT_EQ(h->Call("GET", "/v1/sys/seal-status").status, 200);
  Result<HttpResult> local = HttpRequest(addr, "GET", "/v1/sys/seal-status", "", {{"Host", "localhost"}});
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->status, 200);
  HttpResult same = call({{"Origin", addr}});
  EXPECT_EQ(same.status, 200) << same.body;
}

TEST(ReplicationStatusMapping, PrimaryAndSecondary) {
  nlohmann::json p = {{"role", "primary"},
                      {"cluster_id", "c1"},
                      {"epoch", 3},
                      {"last_sequence", 42},
                      {"replication_address", "10.0.0.1:8201"},
                      {"secondaries",
                       {{{"id", "dr1"}, {"address", "10.0.0.2:5555"}, {"connected", true}, {"lag_sequences", 7}}}}};
  nlohmann::json d = DrStatusFromPlugin(p);
  EXPECT_EQ(d["mode"], "primary");
  EXPECT_EQ(d["last_wal"], 42);
  EXPECT_EQ(d["epoch"], 3);
  EXPECT_EQ(d["known_secondaries"][0], "dr1");
  EXPECT_EQ(d["secondaries"][0]["node_id"], "dr1");
  EXPECT_EQ(d["secondaries"][0]["cluster_address"], "10.0.0.2:5555");
  EXPECT_EQ(d["secondaries"][0]["connection_status"], "connected");
  EXPECT_EQ(d["secondaries"][0]["lag_sequences"], 7);
  EXPECT_FALSE(d.contains("fenced_reason"));
  nlohmann::json fenced = p;
  fenced["state"] = "fenced";
  fenced["fenced_reason"] = "fenced: a newer epoch 4 exists";
  nlohmann::json fd = DrStatusFromPlugin(fenced);
  EXPECT_EQ(fd["state"], "fenced");
  EXPECT_EQ(fd["fenced_reason"], "fenced: a newer epoch 4 exists");
  EXPECT_EQ(d["primary_cluster_addr"], "10.0.0.1:8201");

  nlohmann::json s = {{"role", "secondary"},
                      {"cluster_id", "c1"},
                      {"state", "bootstrapping"},
                      {"secondary", {{"connection_state", "connected"}, {"applied_sequence", 40},
                                     {"primary_address", "10.0.0.1:8201"}, {"lag_ms", 12}}},
                      {"bootstrap", {{"in_progress", true}, {"bytes_done", 10}, {"bytes_total", 100}}}};
  d = DrStatusFromPlugin(s);
  EXPECT_EQ(d["mode"], "secondary");
  EXPECT_EQ(d["state"], "bootstrapping");
  EXPECT_EQ(d["last_remote_wal"], 40);
  EXPECT_EQ(d["connection_state"], "connected");
  EXPECT_EQ(d["known_primary_cluster_addrs"][0], "10.0.0.1:8201");
  EXPECT_EQ(d["sync_progress"], 10);
  EXPECT_EQ(d["lag"]["lag_ms"], 12);
  EXPECT_EQ(DrStatusFromPlugin(nlohmann::json{{"role", "weird"}})["mode"], "disabled");
  EXPECT_EQ(DrStatusFromPlugin(nlohmann::json("not an object"))["mode"], "disabled");
}

}  // namespace
}  // namespace rocksdr::sidecar
