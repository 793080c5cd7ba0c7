// Security of the sidecar API over real HTTP (testing::DrNode: Core + Router + HttpServer on
// 127.0.0.1 port 0, injected clock; the data plane below PluginControl is a fake). What an attacker
// without the right credentials can send, and that it changes nothing:
//   - every root-only DR endpoint with no token, a wrong token, a non-root token, an expired root
//     token and a used-up single-use root token: 403 "permission denied" (as Vault), no state
//     change, and the reply never echoes the token;
//   - activation tokens: tampered claims (signature kept), "alg":"none", another primary's token,
//     a token revoked before use, an expired one, and a replay: refused without issuing anything;
//     the genuine one works exactly once;
//   - oversized bodies (413) and headers (431), a deeply nested JSON body (400): nothing changes.
// (Basic 403/413 on ordinary paths and the activation signature/expiry/reuse cases through the
// secondary are in tests/sidecar/; these add the DR endpoints, claim tampering and "nothing
// changed".)
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rocksdr/crypto/encoding.h"
#include "rocksdr/sidecar/expiry_clock.h"
#include "rocksdr/sidecar/http_client.h"
#include "support/dr_harness.h"

namespace rocksdr::sidecar {
namespace {

using nlohmann::json;
using testing::DrNode;
using testing::DrReply;

const std::string kDr = "sys/replication/dr/";

std::string FirstError(const DrReply& r) {
  if (!r.body.is_object() || !r.body.contains("errors") || r.body["errors"].empty()) return "<no error>";
  return r.body["errors"][0].get<std::string>();
}

std::string CreateToken(DrNode& n, const json& body) {
  DrReply r = n.Call("POST", "auth/token/create", body, n.root_token);
  EXPECT_EQ(r.status, 200) << r.body.dump();
  return r.status == 200 ? r.body["auth"]["client_token"].get<std::string>() : "";
}

// Everything an endpoint could have changed: the plugin's role and state, the sealed flag, and
// the replicated store (registry, cluster record, tokens).
std::string Snapshot(DrNode& n) {
  json st = n.control.Status().ok() ? *n.control.Status() : json("status failed");
  std::string out = st.dump() + (n.core->seal().sealed() ? "|sealed" : "|unsealed");
  for (const auto& [k, v] : n.control.Dump(Store::kReplicated)) out += "|" + k + "=" + v;
  for (const auto& [k, v] : n.control.Dump(Store::kLocal)) {
    // The expiry clock's high water is the node's record of time seen (expiry_clock.h), not state
    // a request changes: it advances with any request.
    if (k != kExpiryHighWaterKey) out += "|L" + k + "=" + v;
  }
  return out;
}

class SecurityApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    primary_.Start(3, 2);
    ASSERT_FALSE(HasFatalFailure());
    primary_.control.SetReplicationAddress("127.0.0.1:8201");
  }

  void EnablePrimary() {
    DrReply r = primary_.Call("POST", kDr + "primary/enable", json::object(), primary_.root_token);
    ASSERT_EQ(r.status, 200) << r.body.dump();
  }

  std::string ActivationToken(DrNode& on, const std::string& id, const std::string& ttl = "") {
    json body = {{"id", id}};
    if (!ttl.empty()) body["ttl"] = ttl;
    DrReply r = on.Call("POST", kDr + "primary/secondary-token", body, on.root_token);
    EXPECT_EQ(r.status, 200) << r.body.dump();
    return r.status == 200 ? r.body["wrap_info"]["token"].get<std::string>() : "";
  }

  DrReply Unwrap(const std::string& token) { return primary_.Call("POST", "sys/wrapping/unwrap", json::object(), token); }

  DrNode primary_;
};

TEST_F(SecurityApiTest, RootOnlyDrEndpointsRefuseEveryoneElseAndChangeNothing) {
  const std::string user = CreateToken(primary_, {{"policies", {"default"}}, {"ttl", "1h"}});
  const std::string short_root = CreateToken(primary_, {{"policies", {"root"}}, {"ttl", "60s"}});
  const std::string once_root = CreateToken(primary_, {{"policies", {"root"}}, {"num_uses", 1}});
  ASSERT_FALSE(user.empty() || short_root.empty() || once_root.empty());
  // The single-use root token is used up by one lookup; the short one expires.
  ASSERT_EQ(primary_.Call("GET", "auth/token/lookup-self", json::object(), once_root).status, 200);
  // Sanity: the short root token works before it expires (so its 403 below is the expiry).
  ASSERT_EQ(primary_.Call("GET", "auth/token/lookup-self", json::object(), short_root).status, 200);
  primary_.now += 3600;

  struct Caller {
    const char* what;
    std::string token;
  };
  const std::vector<Caller> callers = {{"no token", ""},
                                       {"wrong token", "rdr.WrongWrongWrongWrongWrong1"},
                                       {"long token", std::string(300, 'A')},
                                       {"non-root token", user},
                                       {"expired root token", short_root},
                                       {"used-up single-use root token", once_root},
                                       {"root token's accessor-like prefix", primary_.root_token.substr(0, 10)}};
  struct Endpoint {
    std::string path;
    json body;
  };
  const std::vector<Endpoint> endpoints = {
      {kDr + "primary/enable", json::object()},
      {kDr + "primary/secondary-token", {{"id", "intruder"}}},
      {kDr + "primary/revoke-secondary", {{"id", "intruder"}}},
      {kDr + "primary/demote", json::object()},
      {kDr + "primary/disable", json::object()},
      {kDr + "secondary/enable", {{"token", "x.y.z"}}},
      {"auth/token/create", {{"policies", {"root"}}}},
      {"sys/seal", json::object()},
  };

  auto check_all_refused = [&](const std::string& phase) {
    // One refused lookup per caller first: the token store may drop an expired or used-up entry
    // when it is presented; that clean-up is not a change an attacker caused.
    for (const Caller& c : callers) {
      EXPECT_EQ(primary_.Call("GET", "auth/token/lookup-self", json::object(), c.token).status, 403) << c.what;
    }
    const std::string before = Snapshot(primary_);
    for (const Caller& c : callers) {
      for (const Endpoint& e : endpoints) {
        DrReply r = primary_.Call("POST", e.path, e.body, c.token);
        EXPECT_EQ(r.status, 403) << phase << ": " << c.what << " on " << e.path << ": " << r.body.dump();
        EXPECT_EQ(r.body, json::parse(R"({"errors":["permission denied"]})")) << c.what << " on " << e.path;
      }
    }
    EXPECT_EQ(Snapshot(primary_), before) << phase << ": a refused request changed the node";
  };

  check_all_refused("DR disabled");
  EXPECT_EQ(primary_.control.role(), "disabled");
  EnablePrimary();
  check_all_refused("DR primary");
  EXPECT_EQ(primary_.control.role(), "primary");
  // The refused secondary-token calls registered nothing: the id is still free.
  EXPECT_FALSE(ActivationToken(primary_, "intruder").empty());
}

TEST_F(SecurityApiTest, ActivationTokensTamperedForeignRevokedExpiredOrReplayedAreRefused) {
  EnablePrimary();
  const std::string token = ActivationToken(primary_, "s1");
  ASSERT_FALSE(token.empty());
  const size_t dot1 = token.find('.'), dot2 = token.rfind('.');
  ASSERT_NE(dot1, dot2);
  const std::string header = token.substr(0, dot1), payload = token.substr(dot1 + 1, dot2 - dot1 - 1),
                    signature = token.substr(dot2 + 1);
  auto decoded = crypto::Base64UrlDecode(payload);
  ASSERT_TRUE(decoded.ok());
  const json claims = json::parse(std::string(decoded->begin(), decoded->end()));
  auto reencode = [](const json& j) { return crypto::Base64UrlEncode(j.dump()); };

  std::vector<std::pair<std::string, std::string>> forged;
  {
    json c = claims;
    c["exp"] = c["exp"].get<int64_t>() + 365 * 24 * 3600;  // longer life, same signature
    forged.emplace_back("exp extended", header + "." + reencode(c) + "." + signature);
    c = claims;
    c["jti"] = "another-jti";
    forged.emplace_back("jti changed", header + "." + reencode(c) + "." + signature);
    c = claims;
    c["addr"] = "http://127.0.0.1:1";
    forged.emplace_back("addr changed", header + "." + reencode(c) + "." + signature);
    forged.emplace_back("alg none", crypto::Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." + payload + ".");
    forged.emplace_back("alg HS256", crypto::Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})") + "." + payload + "." +
                                         crypto::Base64UrlEncode(std::string(32, 'k')));
    forged.emplace_back("signature truncated", header + "." + payload + "." + signature.substr(0, signature.size() / 2));
    forged.emplace_back("four parts", token + ".x");
  }
  // Another primary's genuine token for the same id.
  DrNode other;
  other.Start(1, 1);
  ASSERT_FALSE(HasFatalFailure());
  other.control.SetReplicationAddress("127.0.0.1:9201");
  ASSERT_EQ(other.Call("POST", kDr + "primary/enable", json::object(), other.root_token).status, 200);
  forged.emplace_back("another primary's token", ActivationToken(other, "s1"));

  const std::string before = Snapshot(primary_);
  for (const auto& [what, t] : forged) {
    for (bool in_body : {false, true}) {
      DrReply r = in_body ? primary_.Call("POST", "sys/wrapping/unwrap", {{"token", t}}) : Unwrap(t);
      EXPECT_EQ(r.status, 400) << what << ": " << r.body.dump();
      EXPECT_EQ(FirstError(r).rfind("wrapping token is not valid or does not exist", 0), 0u) << what << ": " << FirstError(r);
      EXPECT_FALSE(r.body.contains("data") && r.body["data"].is_object()) << what << " got data: " << r.body.dump();
    }
  }
  EXPECT_EQ(Snapshot(primary_), before) << "a refused unwrap changed the node";

  // Revoked before use.
  const std::string revoked = ActivationToken(primary_, "s2");
  ASSERT_EQ(primary_.Call("POST", kDr + "primary/revoke-secondary", {{"id", "s2"}}, primary_.root_token).status / 100, 2);
  EXPECT_EQ(Unwrap(revoked).status, 400);
  // Expired (the primary's clock moved past its ttl). The clock moved back does not revive it
  // (the expiry high water, expiry_clock.h); once the operator resets the high water (the clock
  // had been set forward by mistake) it is valid again: the refusal consumed nothing.
  const std::string short_lived = ActivationToken(primary_, "s3", "2m");
  primary_.now += 3600;
  DrReply expired = Unwrap(short_lived);
  EXPECT_EQ(expired.status, 400) << expired.body.dump();
  primary_.now -= 3600;
  EXPECT_EQ(Unwrap(short_lived).status, 400);
  EXPECT_EQ(primary_.Call("DELETE", "sys/clock/high-water", json::object(), "").status, 403);
  ASSERT_EQ(primary_.Call("DELETE", "sys/clock/high-water", json::object(), primary_.root_token).status, 200);

  // The genuine token works once and only once; the forgeries did not use it up.
  DrReply ok = Unwrap(token);
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  EXPECT_TRUE(ok.body["data"].is_object());
  for (int i = 0; i < 3; ++i) {
    DrReply replay = Unwrap(token);
    EXPECT_EQ(replay.status, 400) << replay.body.dump();
    EXPECT_EQ(FirstError(replay).rfind("wrapping token is not valid or does not exist", 0), 0u) << FirstError(replay);
  }
  EXPECT_EQ(Unwrap(short_lived).status, 200);
}

TEST_F(SecurityApiTest, OversizedAndPathologicalRequestsChangeNothing) {
  const std::string before = Snapshot(primary_);
  auto raw = [&](const std::string& path, const std::string& body,
                 std::vector<std::pair<std::string, std::string>> headers) -> int {
    Result<HttpResult> r = HttpRequest(primary_.addr, "POST", "/v1/" + path, body, headers);
    if (!r.ok()) return 0;  // the server may close the connection instead of answering
    return r->status;
  };
  const std::vector<std::pair<std::string, std::string>> root = {{"X-Vault-Token", primary_.root_token}};
  // Bodies over the 1 MiB limit: 413 (or a closed connection), before any handler runs.
  const std::string big = R"({"primary_cluster_addr":")" + std::string(3 << 20, 'a') + R"("})";
  for (const std::string& path : {kDr + "primary/enable", std::string("sys/init"), std::string("sys/unseal"),
                                  std::string("secret/big"), kDr + "primary/secondary-token"}) {
    const int st = raw(path, big, root);
    EXPECT_TRUE(st == 413 || st == 0) << path << ": " << st;
  }
  // A header over the 16 KiB limit: 431 (or closed).
  {
    const int st = raw(kDr + "primary/enable", "{}", {{"X-Vault-Token", std::string(20 << 10, 'r')}});
    EXPECT_TRUE(st == 431 || st == 400 || st == 0) << st;
  }
  // Within the size limit but hostile JSON: deep nesting, huge numbers, invalid UTF-8, duplicates.
  for (const std::string& body :
       {std::string(200000, '[') + std::string(200000, ']'), std::string(R"({"id":)") + std::string(400000, '9') + "}",
        std::string("{\"id\":\"\xff\xfe\"}"), std::string(R"({"id":"a","id":"b"})"), std::string("{\"id\":\"a\0b\"}", 12),
        std::string("[]"), std::string("\"str\""), std::string("{")}) {
    const int st = raw(kDr + "primary/secondary-token", body, root);
    EXPECT_EQ(st / 100, 4) << body.substr(0, 40) << ": " << st;
  }
  EXPECT_EQ(Snapshot(primary_), before);
  // The node still serves.
  EXPECT_EQ(primary_.Call("GET", "auth/token/lookup-self", json::object(), primary_.root_token).status, 200);
}

}  // namespace
}  // namespace rocksdr::sidecar
