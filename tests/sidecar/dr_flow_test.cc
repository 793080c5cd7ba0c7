// The DR control plane end to end over real HTTP: two sidecars (Core + Router + HttpServer on
// 127.0.0.1 port 0) — a primary and a would-be secondary — following the guide's three steps,
// with every error path of issue 4 (activation token reuse, expiry, tampering, unreachable
// primary; operation-token nonce/duplicate/wrong keys; promotion single use), then revoke, demote,
// update-primary and disable.
//
// The plugins are testing::FakeReplicatedControl (support/dr_harness.h): a FAKE OF THE DATA
// PLANE over MemoryPluginControl — enabling the secondary copies the primary's replicated store
// into its own (the bootstrap), Sync() copies it again (the WAL stream). Everything above the
// PluginControl interface is the real sidecar code.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <fstream>
#include <unistd.h>
#include <thread>

#include <nlohmann/json.hpp>

#include "rocksdr/crypto/encoding.h"
#include "rocksdr/crypto/jwt.h"
#include "rocksdr/crypto/keyring.h"
#include "rocksdr/crypto/otp.h"
#include "rocksdr/crypto/x509_ca.h"
#include "rocksdr/sidecar/core.h"
#include "rocksdr/sidecar/dr_activation.h"
#include "rocksdr/sidecar/dr_handlers.h"
#include "rocksdr/sidecar/dr_op_token_store.h"
#include "rocksdr/sidecar/dr_secondary_registry.h"
#include "rocksdr/sidecar/handlers.h"
#include "rocksdr/sidecar/http_client.h"
#include "rocksdr/sidecar/http_server.h"
#include "rocksdr/sidecar/memory_plugin_control.h"
#include "support/dr_harness.h"

namespace rocksdr::sidecar {
namespace {

using nlohmann::json;
using Reply = testing::DrReply;
using Node = testing::DrNode;

std::string FirstError(const Reply& r) {
  if (!r.body.is_object() || !r.body.contains("errors") || r.body["errors"].empty()) return "<no error>";
  return r.body["errors"][0].get<std::string>();
}

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

const std::string kDr = "sys/replication/dr/";

class DrFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    primary_.Start(5, 3);
    secondary_.Start(3, 2);
    primary_.control.SetReplicationAddress("127.0.0.1:8201");
    secondary_.control.SetReplicationAddress("127.0.0.1:9201");  // its listener once promoted
    secondary_.control.Follow(&primary_.control);
  }

  void EnablePrimary() {
    Reply r = primary_.Call("POST", kDr + "primary/enable", json::object(), primary_.root_token);
    ASSERT_EQ(r.status, 200) << r.body.dump();
  }

  // `root` defaults to the node's own root token (after a promotion: the original primary's).
  std::string SecondaryToken(Node& on, const std::string& id, const std::string& root = "") {
    Reply r = on.Call("POST", kDr + "primary/secondary-token", {{"id", id}}, root.empty() ? on.root_token : root);
    EXPECT_EQ(r.status, 200) << r.body.dump();
    if (r.status != 200) return "";
    return r.body["wrap_info"]["token"].get<std::string>();
  }

  void ActivateSecondary() {
    std::string token = SecondaryToken(primary_, "secondary");
    Reply r = secondary_.Call("POST", kDr + "secondary/enable", {{"token", token}}, secondary_.root_token);
    ASSERT_EQ(r.status, 200) << r.body.dump();
    // Kept before the plugin switched (a sidecar dying right after must find it).
    EXPECT_TRUE(secondary_.control.kept_bundle_at_last_switch().has_value());
  }

  // Runs generate-operation-token on `node` with `keys` (hex); returns the decoded token.
  std::string OperationToken(Node& node, const std::vector<std::string>& keys, size_t count) {
    Reply start = node.Call("PUT", kDr + "secondary/generate-operation-token/attempt");
    EXPECT_EQ(start.status, 200) << start.body.dump();
    const std::string nonce = start.body["nonce"], otp = start.body["otp"];
    Reply last;
    for (size_t i = 0; i < count; ++i) {
      last = node.Call("PUT", kDr + "secondary/generate-operation-token/update", {{"key", keys[i]}, {"nonce", nonce}});
      EXPECT_EQ(last.status, 200) << last.body.dump();
    }
    EXPECT_TRUE(last.body.value("complete", false)) << last.body.dump();
    Result<crypto::SecureString> t = crypto::DecodeToken(last.body.value("encoded_token", ""), otp);
    EXPECT_TRUE(t.ok());
    return t.ok() ? std::string(t->data(), t->size()) : "";
  }

  Node primary_;
  Node secondary_;
};

TEST_F(DrFlowTest, PrimaryEnableAndSecondaryTokenShapes) {
  // Not root -> 403; enable works once.
  EXPECT_EQ(primary_.Call("POST", kDr + "primary/enable").status, 403);
  Reply badaddr = primary_.Call("POST", kDr + "primary/enable", {{"primary_cluster_addr", "no-port"}}, primary_.root_token);
  EXPECT_EQ(badaddr.status, 400);
  EXPECT_TRUE(Contains(FirstError(badaddr), "host:port")) << FirstError(badaddr);
  EXPECT_EQ(primary_.control.role(), "disabled");
  Reply en = primary_.Call("POST", kDr + "primary/enable", {{"primary_cluster_addr", "https://10.0.0.5:8201/"}},
                           primary_.root_token);
  ASSERT_EQ(en.status, 200) << en.body.dump();
  EXPECT_TRUE(en.body["data"].is_null());
  ASSERT_EQ(en.body["warnings"].size(), 1u);
  EXPECT_EQ(en.body["warnings"][0],
            "This cluster is being enabled as a primary for replication. rocksdr will be unavailable for a brief "
            "period and will resume service shortly.");
  EXPECT_EQ(primary_.control.role(), "primary");
  EXPECT_EQ(primary_.control.epoch(), 1u);
  EXPECT_TRUE(primary_.core->seal().KeyringValue(crypto::kReplicationCaKeyName).ok());
  // The listener's certificate: from the new CA, for servers, naming localhost, loopback, the
  // advertised cluster address and the cluster id.
  std::optional<PrimaryConfig> pc = primary_.control.last_primary_config();
  ASSERT_TRUE(pc.has_value());
  EXPECT_EQ(pc->epoch, 1u);
  EXPECT_TRUE(crypto::VerifyPeerCertificate(pc->ca_cert_pem, pc->server_cert_pem, std::nullopt,
                                            crypto::CertificateUsage::kServer)
                  .ok());
  EXPECT_TRUE(crypto::CheckCertifiedKey({pc->server_cert_pem, pc->server_key_pem}).ok());
  Result<crypto::CertificateInfo> sinfo = crypto::InspectCertificate(pc->server_cert_pem);
  ASSERT_TRUE(sinfo.ok());
  EXPECT_EQ(sinfo->dns_names, std::vector<std::string>{"localhost"});
  EXPECT_EQ(sinfo->ip_addresses, (std::vector<std::string>{"127.0.0.1", "::1", "10.0.0.5"}));
  Result<std::string> scid = crypto::ClusterIdOf(pc->server_cert_pem);
  ASSERT_TRUE(scid.ok());
  EXPECT_EQ(*scid, pc->cluster_id);
  // The CA key is in the sealed keyring only: nothing in the replicated store holds a private key.
  for (const auto& [k, v] : primary_.control.Dump(Store::kReplicated)) {
    EXPECT_FALSE(Contains(v, "PRIVATE KEY")) << k;
  }
  Reply again = primary_.Call("POST", kDr + "primary/enable", {{"primary_cluster_addr", "https://10.0.0.5:8201"}},
                              primary_.root_token);
  EXPECT_EQ(again.status, 400);
  EXPECT_TRUE(Contains(FirstError(again), "already enabled")) << FirstError(again);

  Reply tok = primary_.Call("POST", kDr + "primary/secondary-token", {{"id", "secondary"}}, primary_.root_token);
  ASSERT_EQ(tok.status, 200) << tok.body.dump();
  EXPECT_TRUE(tok.body["data"].is_null());
  const json& wi = tok.body["wrap_info"];
  EXPECT_EQ(wi["ttl"], 1800);
  EXPECT_EQ(wi["creation_path"], "sys/replication/dr/primary/secondary-token");
  const std::string ct = wi["creation_time"];
  ASSERT_EQ(ct.size(), std::string("2027-01-15T08:00:00.123456789Z").size()) << ct;
  EXPECT_EQ(ct.substr(0, 20), "2027-01-15T08:00:00.");
  EXPECT_EQ(ct.back(), 'Z');
  const std::string token = wi["token"];
  EXPECT_EQ(token.substr(0, token.find('.')), crypto::Base64UrlEncode(crypto::kEs512JwtHeader));
  Result<crypto::ActivationClaims> claims = crypto::PeekActivationClaims(token);
  ASSERT_TRUE(claims.ok()) << claims.status().ToString();
  EXPECT_EQ(claims->addr, primary_.addr);
  EXPECT_EQ(claims->type, "wrapping");
  EXPECT_EQ(claims->accessor, wi["accessor"]);
  EXPECT_EQ(claims->iat, primary_.now.load());
  EXPECT_EQ(claims->exp - claims->iat, 1800);
  EXPECT_EQ(claims->nbf, claims->iat - 5);
  // Neither the token nor its jti/accessor is stored in clear.
  for (const auto& [k, v] : primary_.control.Dump(Store::kReplicated)) {
    EXPECT_FALSE(Contains(v, claims->jti)) << k;
    EXPECT_FALSE(Contains(v, claims->accessor)) << k;
  }

  // ids are unique, validated; ttl is bounded and accepts Vault durations.
  Reply dup = primary_.Call("POST", kDr + "primary/secondary-token", {{"id", "secondary"}}, primary_.root_token);
  EXPECT_EQ(dup.status, 400);
  EXPECT_TRUE(Contains(FirstError(dup), "already exists")) << FirstError(dup);
  EXPECT_EQ(primary_.Call("POST", kDr + "primary/secondary-token", json::object(), primary_.root_token).status, 400);
  EXPECT_EQ(primary_.Call("POST", kDr + "primary/secondary-token", {{"id", "a/b"}}, primary_.root_token).status, 400);
  Reply hour = primary_.Call("POST", kDr + "primary/secondary-token", {{"id", "s2"}, {"ttl", "1h"}}, primary_.root_token);
  ASSERT_EQ(hour.status, 200);
  EXPECT_EQ(hour.body["wrap_info"]["ttl"], 3600);
  Reply secs = primary_.Call("POST", kDr + "primary/secondary-token", {{"id", "s3"}, {"ttl", 90}}, primary_.root_token);
  ASSERT_EQ(secs.status, 200);
  EXPECT_EQ(secs.body["wrap_info"]["ttl"], 90);
  EXPECT_EQ(primary_.Call("POST", kDr + "primary/secondary-token", {{"id", "s4"}, {"ttl", "48h"}}, primary_.root_token)
                .status,
            400);
  EXPECT_EQ(primary_.Call("POST", kDr + "primary/secondary-token", {{"id", "s5"}, {"ttl", "soon"}}, primary_.root_token)
                .status,
            400);
  // The advertised cluster address comes first in the bundle, then the listener's.
  Reply unwrap = primary_.Call("POST", "sys/wrapping/unwrap", json::object(), token);
  ASSERT_EQ(unwrap.status, 200) << unwrap.body.dump();
  EXPECT_EQ(unwrap.body["data"]["primary_replication_addrs"], json::array({"10.0.0.5:8201", "127.0.0.1:8201"}));
  // A non-primary refuses.
  Reply notp = secondary_.Call("POST", kDr + "primary/secondary-token", {{"id", "x"}}, secondary_.root_token);
  EXPECT_EQ(notp.status, 400);
  EXPECT_TRUE(Contains(FirstError(notp), "not a DR primary")) << FirstError(notp);
}

// A misspelt field is named back (Vault 1.13+'s wording): a warning when the call succeeds
// anyway, one more error when it fails; known fields draw nothing.
TEST_F(DrFlowTest, UnrecognizedFieldsAreNamedInTheAnswer) {
  EnablePrimary();
  ActivateSecondary();
  Reply typo = primary_.Call("POST", kDr + "primary/secondary-token", {{"id", "s-typo"}, {"tll", "2h"}},
                             primary_.root_token);
  ASSERT_EQ(typo.status, 200) << typo.body.dump();
  EXPECT_EQ(typo.body["wrap_info"]["ttl"], 1800) << "the default TTL, since tll is not ttl";
  ASSERT_TRUE(typo.body["warnings"].is_array()) << typo.body.dump();
  EXPECT_EQ(typo.body["warnings"].back(), "Endpoint ignored these unrecognized parameters: [tll]");
  Reply clean = primary_.Call("POST", kDr + "primary/secondary-token", {{"id", "s-clean"}, {"ttl", "2h"}},
                              primary_.root_token);
  ASSERT_EQ(clean.status, 200) << clean.body.dump();
  EXPECT_TRUE(clean.body["warnings"].is_null()) << clean.body.dump();
  EXPECT_EQ(clean.body["wrap_info"]["ttl"], 7200);

  Reply failed = secondary_.Call("POST", kDr + "secondary/promote", {{"dr_token", "x"}});
  EXPECT_EQ(failed.status, 400);
  ASSERT_EQ(failed.body["errors"].size(), 2u) << failed.body.dump();
  EXPECT_TRUE(Contains(failed.body["errors"][1].get<std::string>(), "unrecognized parameters: [dr_token]"))
      << failed.body.dump();

  // A bare answer (generate-operation-token) gets a "warnings" list: a misspelt otp= is not used.
  Reply attempt = secondary_.Call("PUT", kDr + "secondary/generate-operation-token/attempt", {{"opt", "x"}});
  ASSERT_EQ(attempt.status, 200) << attempt.body.dump();
  EXPECT_EQ(attempt.body["warnings"][0], "Endpoint ignored these unrecognized parameters: [opt]");
  EXPECT_EQ(secondary_.Call("DELETE", kDr + "secondary/generate-operation-token/attempt").status / 100, 2);
  // update-primary without its token would forget the primary: a misspelt token is refused, and
  // nothing happens.
  Reply forget = secondary_.Call("POST", kDr + "secondary/update-primary", {{"dr_operation_token", "x"}, {"tokne", "t"}});
  EXPECT_EQ(forget.status, 400);
  EXPECT_EQ(FirstError(forget), "unrecognized parameters, nothing was done: [tokne]");
  EXPECT_TRUE(secondary_.control.last_bundle().has_value()) << "the secondary still follows its primary";

  // A 204 with a note becomes a 200 envelope, so that the note reaches the client.
  Reply revoked = primary_.Call("POST", kDr + "primary/revoke-secondary", {{"id", "s-clean"}, {"force", true}},
                                primary_.root_token);
  EXPECT_EQ(revoked.status, 200) << revoked.body.dump();
  EXPECT_EQ(revoked.body["warnings"][0], "Endpoint ignored these unrecognized parameters: [force]");
}

TEST_F(DrFlowTest, ActivationTokenErrorsAndExactlyOnce) {
  EnablePrimary();
  const std::string token = SecondaryToken(primary_, "secondary");
  ASSERT_FALSE(token.empty());

  // Malformed.
  Reply bad = secondary_.Call("POST", kDr + "secondary/enable", {{"token", "not-a-jwt"}}, secondary_.root_token);
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(Contains(FirstError(bad), "activation token is malformed")) << FirstError(bad);
  // Missing.
  EXPECT_EQ(secondary_.Call("POST", kDr + "secondary/enable", json::object(), secondary_.root_token).status, 400);

  // Tampered signature: the primary refuses it, and the token stays usable.
  std::string tampered = token;
  const size_t sig = tampered.rfind('.') + 10;
  tampered[sig] = tampered[sig] == 'A' ? 'B' : 'A';
  Reply t = secondary_.Call("POST", kDr + "secondary/enable", {{"token", tampered}}, secondary_.root_token);
  EXPECT_EQ(t.status, 400);
  EXPECT_TRUE(Contains(FirstError(t), "rejected the activation token")) << FirstError(t);
  EXPECT_TRUE(Contains(FirstError(t), "tampered")) << FirstError(t);
  EXPECT_EQ(secondary_.control.role(), "disabled");

  // Unreachable primary.
  Reply u = secondary_.Call("POST", kDr + "secondary/enable", {{"token", token}, {"primary_api_addr", "http://127.0.0.1:1"}},
                            secondary_.root_token);
  EXPECT_EQ(u.status, 400);
  EXPECT_TRUE(Contains(FirstError(u), "could not reach the primary at http://127.0.0.1:1")) << FirstError(u);
  EXPECT_TRUE(Contains(FirstError(u), "check primary_api_addr")) << FirstError(u);

  // Expired, seen by the secondary's own clock (no call to the primary)...
  UnwrapOptions late;
  late.now = primary_.now.load() + 3600;
  Result<ActivationBundle> e1 = UnwrapAtPrimary(token, "", late);
  ASSERT_FALSE(e1.ok());
  EXPECT_TRUE(Contains(e1.status().message(), "activation token expired at")) << e1.status().message();
  EXPECT_TRUE(Contains(e1.status().message(), "generate a new one on the primary")) << e1.status().message();
  // ...and by the primary's (the secondary's clock is behind).
  primary_.now += 3600;
  UnwrapOptions on_time;
  on_time.now = secondary_.now.load();
  Result<ActivationBundle> e2 = UnwrapAtPrimary(token, "", on_time);
  ASSERT_FALSE(e2.ok());
  EXPECT_TRUE(Contains(e2.status().message(), "activation token expired at")) << e2.status().message();
  EXPECT_TRUE(Contains(e2.status().message(), "generate a new one on the primary")) << e2.status().message();
  primary_.now -= 3600;
  // The primary saw the hour pass: its expiry clock does not run back until an operator resets
  // it (the hour forward was a mistake; expiry_clock.h).
  ASSERT_EQ(primary_.Call("DELETE", "sys/clock/high-water", json::object(), primary_.root_token).status, 200);

  // The real activation succeeds once.
  Reply ok = secondary_.Call("POST", kDr + "secondary/enable", {{"token", token}}, secondary_.root_token);
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  EXPECT_TRUE(Contains(ok.body["warnings"][0].get<std::string>(), "rocksdr will be unavailable until these tasks "
                                                                   "and initial sync complete."));
  EXPECT_EQ(secondary_.control.role(), "secondary");
  std::optional<ActivationBundle> b = secondary_.control.last_bundle();
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->secondary_id, "secondary");
  EXPECT_EQ(b->primary_api_addr, primary_.addr);
  ASSERT_EQ(b->primary_replication_addrs.size(), 1u);
  EXPECT_EQ(b->primary_replication_addrs[0], "127.0.0.1:8201");
  EXPECT_EQ(b->epoch, 1u);
  Result<json> ps = primary_.control.Status();
  ASSERT_TRUE(ps.ok());
  EXPECT_EQ(b->cluster_id, (*ps)["cluster_id"]);
  // The client certificate: signed by the primary's CA, for clients, naming the id and cluster.
  EXPECT_TRUE(crypto::VerifyPeerCertificate(b->ca_cert_pem, b->client_cert_pem, std::nullopt,
                                            crypto::CertificateUsage::kClient)
                  .ok());
  EXPECT_FALSE(crypto::VerifyPeerCertificate(b->ca_cert_pem, b->client_cert_pem, std::nullopt,
                                             crypto::CertificateUsage::kServer)
                   .ok());
  Result<crypto::CertificateInfo> info = crypto::InspectCertificate(b->client_cert_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->subject_common_name, "secondary");
  Result<std::string> cid = crypto::ClusterIdOf(b->client_cert_pem);
  ASSERT_TRUE(cid.ok());
  EXPECT_EQ(*cid, b->cluster_id);
  EXPECT_TRUE(crypto::CheckCertifiedKey({b->client_cert_pem, b->client_key_pem}).ok());
  // Admitted by the primary's listener.
  EXPECT_EQ(primary_.control.allowed_secondaries(), std::vector<std::string>{"secondary"});
  // The bundle is kept in the secondary's LOCAL store (never shipped), with its client key: the
  // re-arm loop re-attaches a restarted application from it. Nothing replicated holds a key.
  auto local = secondary_.control.Dump(Store::kLocal);
  ASSERT_TRUE(local.count("sidecar/dr/bundle"));
  EXPECT_TRUE(Contains(local["sidecar/dr/bundle"], "PRIVATE KEY"));
  EXPECT_TRUE(Contains(local["sidecar/dr/bundle"], b->cluster_id));
  for (const auto& [k, v] : secondary_.control.Dump(Store::kReplicated)) {
    EXPECT_FALSE(Contains(v, "PRIVATE KEY")) << k;
  }

  // Second use: the primary says Vault's message, the secondary-side client says "already used".
  Reply again = primary_.Call("POST", "sys/wrapping/unwrap", json::object(), token);
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(FirstError(again), "wrapping token is not valid or does not exist");
  Reply again_body = primary_.Call("POST", "sys/wrapping/unwrap", {{"token", token}});
  EXPECT_EQ(FirstError(again_body), "wrapping token is not valid or does not exist");
  Result<ActivationBundle> reuse = UnwrapAtPrimary(token, "", on_time);
  ASSERT_FALSE(reuse.ok());
  EXPECT_TRUE(Contains(reuse.status().message(), "already used")) << reuse.status().message();
}

TEST_F(DrFlowTest, SecondaryTakesThePrimarysKeysAndPromotes) {
  EnablePrimary();
  // Data written on the primary before the secondary exists.
  ASSERT_EQ(primary_.Call("POST", "secret/app", {{"answer", "42"}}, primary_.root_token).status / 100, 2);
  ActivateSecondary();

  // The secondary is sealed, shows the primary's seal configuration, and its own keys and token
  // do not work any more.
  Reply ss = secondary_.Call("GET", "sys/seal-status");
  ASSERT_EQ(ss.status, 200);
  EXPECT_TRUE(ss.body["sealed"]);
  EXPECT_EQ(ss.body["t"], 3);
  EXPECT_EQ(ss.body["n"], 5);
  EXPECT_NE(secondary_.Call("GET", "auth/token/lookup-self", json::object(), secondary_.root_token).status, 200);
  Reply own_unseal;
  for (int i = 0; i < 3; ++i) own_unseal = secondary_.Call("POST", "sys/unseal", {{"key", secondary_.keys_hex[i]}});
  EXPECT_EQ(own_unseal.status, 400) << own_unseal.body.dump();
  EXPECT_TRUE(secondary_.core->seal().sealed());
  // Paths disabled on a DR secondary say so, sealed or not (not "sealed": unsealing would not help);
  // the others answer 503 while sealed.
  Reply disabled = secondary_.Call("GET", "secret/app", json::object(), primary_.root_token);
  EXPECT_EQ(disabled.status, 400);
  EXPECT_EQ(FirstError(disabled), "path disabled in replication DR secondary mode");
  Reply again = secondary_.Call("POST", kDr + "secondary/enable", {{"token", "x"}}, primary_.root_token);
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(FirstError(again), "path disabled in replication DR secondary mode");
  EXPECT_EQ(secondary_.Call("GET", "auth/token/lookup-self", json::object(), primary_.root_token).status, 503);
  // Sealed is a DR secondary's normal state: sys/health answers 472 (DR secondary), not 503.
  Reply health = secondary_.Call("GET", "sys/health");
  EXPECT_EQ(health.status, 472) << health.body.dump();
  EXPECT_TRUE(health.body["sealed"]) << health.body.dump();
  EXPECT_EQ(health.body["replication_dr_mode"], "secondary") << health.body.dump();

  const std::string gen = kDr + "secondary/generate-operation-token/";
  // Idle status; update without an attempt.
  Reply idle = secondary_.Call("GET", gen + "attempt");
  ASSERT_EQ(idle.status, 200) << idle.body.dump();
  EXPECT_FALSE(idle.body["started"]);
  EXPECT_EQ(idle.body["required"], 3);
  EXPECT_EQ(idle.body["otp_length"], 28);
  Reply noatt = secondary_.Call("POST", gen + "update", {{"key", primary_.keys_hex[0]}, {"nonce", "x"}});
  EXPECT_EQ(noatt.status, 400);
  EXPECT_EQ(FirstError(noatt), "no DR operation token generation in progress");
  // pgp_key and a bad otp are refused.
  EXPECT_EQ(secondary_.Call("POST", gen + "attempt", {{"pgp_key", "abc"}}).status, 400);
  Reply short_otp = secondary_.Call("POST", gen + "attempt", {{"otp", "HenFLWmt0AgrjWJp/RECzQ=="}});
  EXPECT_EQ(short_otp.status, 400);
  EXPECT_TRUE(Contains(FirstError(short_otp), "otp must be 28")) << FirstError(short_otp);

  // Start with PUT (the guide's curl); the OTP is returned once.
  Reply start = secondary_.Call("PUT", gen + "attempt");
  ASSERT_EQ(start.status, 200) << start.body.dump();
  const std::string nonce = start.body["nonce"], otp = start.body["otp"];
  EXPECT_EQ(otp.size(), 28u);
  EXPECT_TRUE(crypto::IsBase62(otp));
  EXPECT_TRUE(start.body["started"]);
  EXPECT_EQ(start.body["progress"], 0);
  EXPECT_EQ(start.body["required"], 3);
  EXPECT_EQ(start.body["otp_length"], 28);
  Reply busy = secondary_.Call("POST", gen + "attempt");
  EXPECT_EQ(busy.status, 400);
  EXPECT_TRUE(Contains(FirstError(busy), "already in progress")) << FirstError(busy);
  Reply st = secondary_.Call("GET", gen + "attempt");
  EXPECT_EQ(st.body["nonce"], nonce);
  EXPECT_EQ(st.body["otp"], "");

  // Wrong nonce.
  Reply wn = secondary_.Call("PUT", gen + "update", {{"key", primary_.keys_hex[0]}, {"nonce", "wrong"}});
  EXPECT_EQ(wn.status, 400);
  EXPECT_EQ(FirstError(wn), "incorrect nonce supplied; nonce for this DR operation token generation operation is \"" +
                                nonce + "\"");
  // The secondary's own keys: counted, then the attempt aborts and progress resets.
  for (int i = 0; i < 2; ++i) {
    Reply r = secondary_.Call("PUT", gen + "update", {{"key", secondary_.keys_hex[i]}, {"nonce", nonce}});
    ASSERT_EQ(r.status, 200) << r.body.dump();
    EXPECT_EQ(r.body["progress"], i + 1);
  }
  Reply abort = secondary_.Call("PUT", gen + "update", {{"key", secondary_.keys_hex[2]}, {"nonce", nonce}});
  EXPECT_EQ(abort.status, 400);
  EXPECT_TRUE(Contains(FirstError(abort), "DR operation token generation aborted: ")) << FirstError(abort);
  EXPECT_TRUE(Contains(FirstError(abort), "PRIMARY")) << FirstError(abort);
  Reply after = secondary_.Call("GET", gen + "attempt");
  EXPECT_TRUE(after.body["started"]);
  EXPECT_EQ(after.body["progress"], 0);
  EXPECT_EQ(after.body["nonce"], nonce);

  // The primary's keys (hex and base64), with a duplicate and a wrong-length key on the way.
  Reply k1 = secondary_.Call("PUT", gen + "update", {{"key", primary_.keys_hex[0]}, {"nonce", nonce}});
  EXPECT_EQ(k1.body["progress"], 1);
  Reply dup = secondary_.Call("PUT", gen + "update", {{"key", primary_.keys_b64[0]}, {"nonce", nonce}});
  EXPECT_EQ(dup.status, 400);
  EXPECT_EQ(FirstError(dup), "given key has already been provided during this generation operation");
  Reply wl = secondary_.Call("PUT", gen + "update", {{"key", "abcd"}, {"nonce", nonce}});
  EXPECT_EQ(wl.status, 400);
  EXPECT_TRUE(Contains(FirstError(wl), "wrong length")) << FirstError(wl);
  Reply k2 = secondary_.Call("PUT", gen + "update", {{"key", primary_.keys_b64[3]}, {"nonce", nonce}});
  EXPECT_EQ(k2.body["progress"], 2);
  EXPECT_FALSE(k2.body["complete"]);
  Reply k3 = secondary_.Call("PUT", gen + "update", {{"key", primary_.keys_hex[4]}, {"nonce", nonce}});
  ASSERT_EQ(k3.status, 200) << k3.body.dump();
  EXPECT_TRUE(k3.body["complete"]);
  EXPECT_EQ(k3.body["progress"], 3);
  const std::string encoded = k3.body["encoded_token"];
  EXPECT_EQ(k3.body["encoded_root_token"], encoded);
  EXPECT_FALSE(secondary_.Call("GET", gen + "attempt").body["started"]);
  Result<crypto::SecureString> decoded = crypto::DecodeToken(encoded, otp);
  ASSERT_TRUE(decoded.ok());
  const std::string op_token(decoded->data(), decoded->size());
  EXPECT_EQ(op_token.size(), 28u);
  EXPECT_EQ(op_token.substr(0, 4), "rdr.");
  // The operation token is not a token of the replicated store, and not stored in clear.
  for (const auto& [k, v] : secondary_.control.Dump(Store::kLocal)) EXPECT_FALSE(Contains(v, op_token)) << k;

  // Promote: a wrong token, then a live connection to the primary without force, are refused.
  Reply wrong = secondary_.Call("POST", kDr + "secondary/promote", {{"dr_operation_token", "rdr.wrong"}});
  EXPECT_EQ(wrong.status, 400);
  EXPECT_TRUE(Contains(FirstError(wrong), "invalid DR operation token")) << FirstError(wrong);
  secondary_.control.SetConnected(true);
  Reply live = secondary_.Call("POST", kDr + "secondary/promote", {{"dr_operation_token", op_token}});
  EXPECT_EQ(live.status, 400);
  EXPECT_TRUE(Contains(FirstError(live), "force=true")) << FirstError(live);
  secondary_.control.SetConnected(false);
  EXPECT_EQ(secondary_.control.role(), "secondary");

  // More data replicates before the failover.
  ASSERT_EQ(primary_.Call("POST", "secret/late", {{"v", "1"}}, primary_.root_token).status / 100, 2);
  secondary_.control.Sync();

  // A promotion that stops after unsealing with the token's keys but before the plugin is asked
  // (here the DR cluster record is missing) seals the node again: it must not stay a DR
  // secondary holding the cluster's keyring unsealed.
  const std::string cluster_key(kDrClusterKey);
  Result<std::optional<std::string>> cluster_record = secondary_.control.Get(Store::kReplicated, cluster_key);
  ASSERT_TRUE(cluster_record.ok() && cluster_record->has_value());
  ASSERT_TRUE(primary_.control.Delete(Store::kReplicated, cluster_key).ok());  // the secondary's store is read-only
  secondary_.control.Sync();
  ASSERT_FALSE(secondary_.control.Get(Store::kReplicated, cluster_key)->has_value());
  Reply no_record = secondary_.Call("POST", kDr + "secondary/promote", {{"dr_operation_token", op_token}});
  EXPECT_EQ(no_record.status, 500) << no_record.body.dump();
  EXPECT_TRUE(Contains(FirstError(no_record), "cluster record has not been replicated")) << FirstError(no_record);
  EXPECT_TRUE(secondary_.core->seal().sealed());
  EXPECT_EQ(secondary_.control.role(), "secondary");
  ASSERT_TRUE(primary_.control.Put(Store::kReplicated, cluster_key, **cluster_record).ok());
  secondary_.control.Sync();

  // A promotion the plugin refuses (nothing changed there) leaves a sealed DR secondary, and the
  // same operation token promotes it once the cause is fixed.
  ASSERT_TRUE(secondary_.core->seal().sealed());
  secondary_.control.FailNextPromote(Status::Unavailable(
      "promotion refused, nothing changed (this node is still a DR secondary): cannot listen for replication on "
      "127.0.0.1:8201: Address already in use"));
  Reply refused = secondary_.Call("POST", kDr + "secondary/promote", {{"dr_operation_token", op_token}});
  EXPECT_EQ(refused.status / 100, 5) << refused.body.dump();
  EXPECT_TRUE(Contains(FirstError(refused), "Address already in use")) << FirstError(refused);
  EXPECT_TRUE(Contains(FirstError(refused), "still a sealed DR secondary")) << FirstError(refused);
  EXPECT_EQ(secondary_.control.role(), "secondary");
  EXPECT_EQ(secondary_.control.epoch(), 1u);
  EXPECT_TRUE(secondary_.core->seal().sealed());
  EXPECT_TRUE(secondary_.core->IsDrSecondary());

  Reply promote = secondary_.Call("POST", kDr + "secondary/promote", {{"dr_operation_token", op_token}},
                                  primary_.root_token);
  ASSERT_EQ(promote.status, 200) << promote.body.dump();
  EXPECT_EQ(promote.body["warnings"][0],
            "This cluster is being promoted to a replication primary. rocksdr will be unavailable for a brief period "
            "and will resume service shortly.");
  EXPECT_EQ(promote.body["data"]["epoch"], 2);
  EXPECT_TRUE(promote.body["data"]["promote_duration_ms"].is_number());
  EXPECT_EQ(secondary_.control.role(), "primary");
  EXPECT_EQ(secondary_.control.epoch(), 2u);
  // Same cluster and CA as the original primary, a fresh server certificate from that CA.
  std::optional<PrimaryConfig> pc = secondary_.control.last_primary_config();
  std::optional<PrimaryConfig> orig = primary_.control.last_primary_config();
  ASSERT_TRUE(pc.has_value() && orig.has_value());
  EXPECT_EQ(pc->cluster_id, orig->cluster_id);
  EXPECT_EQ(pc->ca_cert_pem, orig->ca_cert_pem);
  EXPECT_NE(pc->server_cert_pem, orig->server_cert_pem);
  EXPECT_TRUE(crypto::VerifyPeerCertificate(pc->ca_cert_pem, pc->server_cert_pem, std::nullopt,
                                            crypto::CertificateUsage::kServer)
                  .ok());
  EXPECT_TRUE(pc->allowed_secondary_ids.empty());
  EXPECT_FALSE(secondary_.core->IsDrSecondary());
  EXPECT_FALSE(secondary_.core->seal().sealed());

  // A retried promotion says the node is already the primary (not "invalid token", which would
  // send the operator into a new token ceremony)...
  Reply twice = secondary_.Call("POST", kDr + "secondary/promote", {{"dr_operation_token", op_token}});
  EXPECT_EQ(twice.status, 400);
  EXPECT_TRUE(Contains(FirstError(twice), "this node is already the DR primary of cluster")) << FirstError(twice);
  EXPECT_TRUE(Contains(FirstError(twice), "(epoch 2)")) << FirstError(twice);
  // ...and the token is used up (single use).
  Reply reuse = secondary_.Call("POST", kDr + "secondary/disable", {{"dr_operation_token", op_token}});
  EXPECT_EQ(reuse.status, 400);
  EXPECT_TRUE(Contains(FirstError(reuse), "invalid DR operation token")) << FirstError(reuse);

  // The ORIGINAL primary's root token works here, and the data is here; the secondary's own root
  // token does not.
  Reply who = secondary_.Call("GET", "auth/token/lookup-self", json::object(), primary_.root_token);
  ASSERT_EQ(who.status, 200) << who.body.dump();
  EXPECT_EQ(who.body["data"]["policies"], json::array({"root"}));
  EXPECT_EQ(secondary_.Call("GET", "auth/token/lookup-self", json::object(), secondary_.root_token).status, 403);
  Reply data = secondary_.Call("GET", "secret/app", json::object(), primary_.root_token);
  ASSERT_EQ(data.status, 200) << data.body.dump();
  EXPECT_EQ(data.body["data"]["answer"], "42");
  EXPECT_EQ(secondary_.Call("GET", "secret/late", json::object(), primary_.root_token).status, 200);
  // ...and so do the primary's unseal keys.
  secondary_.core->seal().Seal();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(secondary_.Call("POST", "sys/unseal", {{"key", primary_.keys_hex[i]}}).status, 200);
  EXPECT_FALSE(secondary_.core->seal().sealed());

  // The promoted node is a working primary: it issues activation tokens from the replicated keys.
  const std::string next = SecondaryToken(secondary_, "old-primary", primary_.root_token);
  Result<crypto::ActivationClaims> claims = crypto::PeekActivationClaims(next);
  ASSERT_TRUE(claims.ok());
  EXPECT_EQ(claims->addr, secondary_.addr);
}

TEST_F(DrFlowTest, ConcurrentUnwrapsSucceedExactlyOnce) {
  EnablePrimary();
  const std::string token = SecondaryToken(primary_, "secondary");
  std::atomic<int> ok{0}, invalid{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      Result<HttpResult> r = HttpRequest(primary_.addr, "POST", "/v1/sys/wrapping/unwrap", "{}", {{"X-Vault-Token", token}});
      if (r.ok() && r->status == 200) ++ok;
      if (r.ok() && r->status == 400) ++invalid;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(invalid.load(), 7);
  EXPECT_EQ(primary_.control.allowed_secondaries(), std::vector<std::string>{"secondary"});
}

TEST_F(DrFlowTest, RevokeSecondaryDisconnectsAndRetiresTheId) {
  EnablePrimary();
  ActivateSecondary();
  EXPECT_EQ(primary_.control.allowed_secondaries(), std::vector<std::string>{"secondary"});
  Reply unknown = primary_.Call("POST", kDr + "primary/revoke-secondary", {{"id", "nobody"}}, primary_.root_token);
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(primary_.Call("POST", kDr + "primary/revoke-secondary", {{"id", "secondary"}}).status, 403);
  Reply r = primary_.Call("POST", kDr + "primary/revoke-secondary", {{"id", "secondary"}}, primary_.root_token);
  EXPECT_EQ(r.status, 204) << r.body.dump();
  EXPECT_TRUE(primary_.control.allowed_secondaries().empty());
  EXPECT_EQ(primary_.control.revoked_secondaries(), std::vector<std::string>{"secondary"});
  // The id is retired: the revoked machine's certificate names it and stays valid, so a new token
  // under that id would let it back in. A rebuilt secondary joins under another id.
  Reply reuse = primary_.Call("POST", kDr + "primary/secondary-token", {{"id", "secondary"}}, primary_.root_token);
  EXPECT_EQ(reuse.status, 400);
  EXPECT_TRUE(Contains(FirstError(reuse), "was revoked")) << FirstError(reuse);
  EXPECT_TRUE(Contains(FirstError(reuse), "Give the new secondary another id")) << FirstError(reuse);
  Reply again = primary_.Call("POST", kDr + "primary/revoke-secondary", {{"id", "secondary"}}, primary_.root_token);
  EXPECT_EQ(again.status, 400);
  EXPECT_TRUE(Contains(FirstError(again), "already revoked")) << FirstError(again);
  EXPECT_TRUE(primary_.control.allowed_secondaries().empty());
  EXPECT_FALSE(SecondaryToken(primary_, "secondary-rebuilt").empty());
  // An unused token's id is freed by the revoke (no certificate was issued under it).
  EXPECT_FALSE(SecondaryToken(primary_, "never-used").empty());
  Reply dup = primary_.Call("POST", kDr + "primary/secondary-token", {{"id", "never-used"}}, primary_.root_token);
  EXPECT_EQ(dup.status, 400);
  EXPECT_TRUE(Contains(FirstError(dup), "revoke its unused token first")) << FirstError(dup);
  ASSERT_EQ(primary_.Call("POST", kDr + "primary/revoke-secondary", {{"id", "never-used"}}, primary_.root_token).status,
            204);
  EXPECT_FALSE(SecondaryToken(primary_, "never-used").empty());
}

// The registry is bounded: at most kMaxSecondaries live secondaries (active, or with an unused
// token), and records that hold nothing are dropped when a token is issued — pending records
// whose token expired, and revoked ids whose certificate expired — so revocations do not pile up
// for ever, while a recently revoked id stays retired.
TEST_F(DrFlowTest, TheRegistryIsBoundedAndDropsWhatHoldsNothing) {
  EnablePrimary();
  SecondaryRegistry registry(&primary_.control);
  const int64_t now = primary_.now.load();
  SecondaryRecord r;
  r.created = now;
  r.state = "active";
  r.activated_at = now;
  for (size_t i = 0; i < kMaxSecondaries; ++i) {
    r.id = "live-" + std::to_string(i);
    ASSERT_TRUE(registry.Put(r).ok());
  }
  Reply full = primary_.Call("POST", kDr + "primary/secondary-token", {{"id", "one-more"}}, primary_.root_token);
  EXPECT_EQ(full.status, 400);
  EXPECT_TRUE(Contains(FirstError(full), "already has 1000 secondaries")) << FirstError(full);
  EXPECT_TRUE(Contains(FirstError(full), "revoke one")) << FirstError(full);
  ASSERT_TRUE(registry.Delete("live-0").ok());

  SecondaryRecord expired_token;
  expired_token.id = "expired-token";
  expired_token.state = "pending";
  expired_token.created = now - 7200;
  expired_token.token_expires = now - 3600;
  expired_token.accessor_hash = "a";
  expired_token.jti_hash = "j";
  ASSERT_TRUE(registry.Put(expired_token).ok());
  SecondaryRecord old_revoked;
  old_revoked.id = "revoked-long-ago";
  old_revoked.state = "revoked";
  old_revoked.created = now - 3 * 365 * 24 * 3600;
  old_revoked.activated_at = old_revoked.created;
  ASSERT_TRUE(registry.Put(old_revoked).ok());
  SecondaryRecord recent_revoked = old_revoked;
  recent_revoked.id = "revoked-recently";
  recent_revoked.activated_at = now - 30 * 24 * 3600;
  ASSERT_TRUE(registry.Put(recent_revoked).ok());

  EXPECT_FALSE(SecondaryToken(primary_, "one-more").empty());
  EXPECT_FALSE(registry.Get("expired-token")->has_value());
  EXPECT_FALSE(registry.Get("revoked-long-ago")->has_value());
  ASSERT_TRUE(registry.Get("revoked-recently")->has_value());
  EXPECT_EQ((*registry.Get("revoked-recently"))->state, "revoked");
  Reply reuse = primary_.Call("POST", kDr + "primary/secondary-token", {{"id", "revoked-recently"}}, primary_.root_token);
  EXPECT_TRUE(Contains(FirstError(reuse), "was revoked")) << FirstError(reuse);
  // The certificate of "revoked-long-ago" has expired: its id can be given again.
  EXPECT_EQ(registry.List()->size(), kMaxSecondaries + 1);

  // Never read truncated: a registry over its bound is an error, not a partial list (an active id
  // missing from it would be refused by the listener). Clearing it empties it all.
  r.state = "revoked";
  for (size_t i = 0; i < kMaxRegistryRecords - kMaxSecondaries; ++i) {
    r.id = "retired-" + std::to_string(i);
    ASSERT_TRUE(registry.Put(r).ok());
  }
  Result<std::vector<SecondaryRecord>> over = registry.List();
  EXPECT_EQ(over.status().code(), Code::kResourceExhausted);
  EXPECT_TRUE(Contains(over.status().message(), "more than 10000 records")) << over.status().message();
  Reply refused = primary_.Call("POST", kDr + "primary/secondary-token", {{"id", "another"}}, primary_.root_token);
  EXPECT_NE(refused.status, 200);
  EXPECT_TRUE(Contains(FirstError(refused), "more than 10000 records")) << FirstError(refused);
  ASSERT_TRUE(registry.Clear().ok());
  ASSERT_TRUE(registry.List().ok());
  EXPECT_TRUE(registry.List()->empty());
}

// The sidecar's bookkeeping after a promotion (the cluster record's primary address, an empty
// registry, revoked operation tokens, the old bundle dropped) is journaled before the plugin is
// asked to promote. When it does not finish — a storage failure here; a sidecar killed between
// the plugin's promotion and its bookkeeping takes the same path on restart — the re-arm loop
// finishes it, and no token is issued under the stale record meanwhile.
class DrFlowRearmTest : public DrFlowTest {
 protected:
  void SetUp() override {
    secondary_.dr_options.rearm_interval = std::chrono::milliseconds(50);
    DrFlowTest::SetUp();
  }
};

TEST_F(DrFlowRearmTest, APromotionWhoseBookkeepingDidNotFinishIsFinishedByReArm) {
  EnablePrimary();
  ActivateSecondary();
  SecondaryRegistry registry(&secondary_.control);
  ASSERT_TRUE(registry.Get("secondary")->has_value()) << "the primary's registry reached the secondary";
  const std::string cluster_id = (*registry.LoadCluster())->cluster_id;
  auto journal = [&] { return secondary_.control.Get(Store::kLocal, "sidecar/dr/promotion"); };
  // While the node is still a secondary, a journal is kept: its promotion may still be running in
  // the application (a restarted sidecar sees the old role until the plugin switches).
  const std::string running = json{{"cluster_addr", "127.0.0.1:9201"}, {"cluster_id", cluster_id}, {"epoch", 2}}.dump();
  ASSERT_TRUE(secondary_.control.Put(Store::kLocal, "sidecar/dr/promotion", running).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // several re-arm passes
  ASSERT_TRUE(journal().ok());
  EXPECT_TRUE(journal()->has_value()) << "kept while the node is a secondary";
  const std::string op = OperationToken(secondary_, primary_.keys_hex, 3);
  secondary_.control.FailNextPut(std::string(kDrClusterKey), rocksdr::Status::IOError("disk full"));
  Reply p = secondary_.Call("POST", kDr + "secondary/promote",
                            {{"dr_operation_token", op}, {"primary_cluster_addr", "127.0.0.1:9201"}});
  ASSERT_EQ(p.status, 200) << p.body.dump();
  EXPECT_EQ(secondary_.control.role(), "primary");
  ASSERT_TRUE(p.body.contains("warnings")) << p.body.dump();
  EXPECT_TRUE(Contains(p.body["warnings"].dump(), "retried by the next secondary-token")) << p.body.dump();

  // Finished in the background: the record names the new primary, the registry starts empty.
  auto finished = [&] {
    auto j = journal();
    auto cluster = registry.LoadCluster();
    return j.ok() && !j->has_value() && cluster.ok() && cluster->has_value() &&
           (**cluster).primary_cluster_addr == "127.0.0.1:9201";
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!finished() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(finished());
  EXPECT_FALSE(registry.Get("secondary")->has_value()) << "the old primary's secondaries need new tokens";
  // A new secondary's bundle names the new primary's replication address.
  const std::string token = SecondaryToken(secondary_, "after-promotion", primary_.root_token);
  ASSERT_FALSE(token.empty());
  UnwrapOptions uo;
  uo.now = secondary_.now.load();
  Result<ActivationBundle> bundle = UnwrapAtPrimary(token, "", uo);
  ASSERT_TRUE(bundle.ok()) << bundle.status().ToString();
  ASSERT_FALSE(bundle->primary_replication_addrs.empty());
  EXPECT_EQ(bundle->primary_replication_addrs.front(), "127.0.0.1:9201");

  // A journal for an epoch this primary never reached is stale: dropped, nothing cleared.
  ASSERT_TRUE(secondary_.control
                  .Put(Store::kLocal, "sidecar/dr/promotion",
                       json{{"cluster_addr", "10.9.9.9:1"}, {"cluster_id", cluster_id}, {"epoch", 99}}.dump())
                  .ok());
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (journal().ok() && journal()->has_value() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(journal()->has_value());
  EXPECT_EQ((*registry.LoadCluster())->primary_cluster_addr, "127.0.0.1:9201");
  EXPECT_TRUE(registry.Get("after-promotion")->has_value()) << "a secondary issued since is kept";
}

TEST_F(DrFlowTest, DemoteOldPrimaryThenFollowTheNewOne) {
  EnablePrimary();
  ActivateSecondary();
  // Fail over.
  const std::string op = OperationToken(secondary_, primary_.keys_hex, 3);
  ASSERT_EQ(secondary_.Call("POST", kDr + "secondary/promote", {{"dr_operation_token", op}}).status, 200);

  // Leftovers of an earlier promotion of this node whose sidecar died before cleaning up: an
  // operation token entry and the bundle of the primary it followed before. Demote removes them.
  ASSERT_TRUE(primary_.control.Put(Store::kLocal, std::string(kOpTokenKeyPrefix) + "leftover", "x").ok());
  ASSERT_TRUE(primary_.control.Put(Store::kLocal, "sidecar/dr/bundle", "{}").ok());

  // The old primary demotes: a secondary with no primary, same cluster.
  Reply d = primary_.Call("POST", kDr + "primary/demote", json::object(), primary_.root_token);
  ASSERT_EQ(d.status, 200) << d.body.dump();
  EXPECT_FALSE(primary_.control.Get(Store::kLocal, std::string(kOpTokenKeyPrefix) + "leftover")->has_value());
  EXPECT_FALSE(primary_.control.Get(Store::kLocal, "sidecar/dr/bundle")->has_value());
  EXPECT_TRUE(Contains(d.body["warnings"][0].get<std::string>(), "demoted"));
  EXPECT_EQ(primary_.control.role(), "secondary");
  EXPECT_TRUE(primary_.core->IsDrSecondary());
  EXPECT_EQ(primary_.Call("GET", "secret/x", json::object(), primary_.root_token).status, 400);  // DR secondary mode

  // It gets an operation token with the (shared) unseal keys and follows the new primary.
  const std::string op2 = OperationToken(primary_, primary_.keys_hex, 3);
  const std::string token = SecondaryToken(secondary_, "old-primary", primary_.root_token);
  Reply bad = primary_.Call("POST", kDr + "secondary/update-primary", {{"dr_operation_token", "nope"}, {"token", token}});
  EXPECT_EQ(bad.status, 400);
  // The kept bundle is written before the plugin switches, and put back when the plugin refuses.
  ASSERT_TRUE(primary_.control.Put(Store::kLocal, "sidecar/dr/bundle", R"({"previous":true})").ok());
  primary_.control.FailNextUpdatePrimary(Status::Unavailable("the plugin refused"));
  const std::string token_refused = SecondaryToken(secondary_, "old-primary-2", primary_.root_token);
  Reply refused = primary_.Call("POST", kDr + "secondary/update-primary",
                                {{"dr_operation_token", op2}, {"token", token_refused}});
  EXPECT_EQ(refused.status / 100, 5) << refused.body.dump();
  EXPECT_EQ(primary_.control.Get(Store::kLocal, "sidecar/dr/bundle")->value_or(""), R"({"previous":true})")
      << "not put back";
  ASSERT_TRUE(primary_.control.Delete(Store::kLocal, "sidecar/dr/bundle").ok());
  // (Its activation token was used up on the new primary: retire that id there.)
  ASSERT_EQ(secondary_.Call("POST", kDr + "primary/revoke-secondary", {{"id", "old-primary-2"}}, primary_.root_token).status,
            204);
  Reply up = primary_.Call("POST", kDr + "secondary/update-primary", {{"dr_operation_token", op2}, {"token", token}});
  ASSERT_EQ(up.status, 200) << up.body.dump();
  EXPECT_TRUE(primary_.control.Get(Store::kLocal, "sidecar/dr/bundle")->has_value());
  EXPECT_TRUE(primary_.control.kept_bundle_at_last_switch().has_value())
      << "the bundle must be kept before the plugin switches (a sidecar dying right after would lose it)";
  std::optional<ActivationBundle> b = primary_.control.last_bundle();
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->primary_api_addr, secondary_.addr);
  EXPECT_EQ(b->secondary_id, "old-primary");
  EXPECT_EQ(b->primary_replication_addrs, std::vector<std::string>{"127.0.0.1:9201"});
  EXPECT_EQ(b->epoch, 2u);
  EXPECT_EQ(secondary_.control.allowed_secondaries(), std::vector<std::string>{"old-primary"});
  // The operation token is reusable for update-primary until deleted.
  Reply forget = primary_.Call("POST", kDr + "secondary/update-primary", {{"dr_operation_token", op2}, {"token", ""}});
  EXPECT_EQ(forget.status, 200) << forget.body.dump();
  EXPECT_FALSE(primary_.control.last_bundle().has_value());
  EXPECT_EQ(primary_.Call("POST", kDr + "secondary/operation-token/delete", {{"dr_operation_token", op2}}).status, 204);
  EXPECT_EQ(primary_.Call("POST", kDr + "secondary/update-primary", {{"dr_operation_token", op2}, {"token", ""}}).status,
            400);
}

// rocksdr's own secondary/request-bootstrap (the answer to needs-bootstrap with auto_rebootstrap
// off): destructive, so it needs the DR operation token, and it asks the plugin exactly once.
TEST_F(DrFlowTest, RequestBootstrapNeedsTheOperationTokenAndAFollowedPrimary) {
  EnablePrimary();
  ActivateSecondary();
  Reply bad = secondary_.Call("POST", kDr + "secondary/request-bootstrap", {{"dr_operation_token", "nope"}});
  EXPECT_EQ(bad.status, 400) << bad.body.dump();
  EXPECT_EQ(secondary_.Call("POST", kDr + "secondary/request-bootstrap", json::object()).status, 400);
  EXPECT_EQ(secondary_.control.bootstraps_requested(), 0u);

  const std::string op = OperationToken(secondary_, primary_.keys_hex, 3);
  Reply ok = secondary_.Call("POST", kDr + "secondary/request-bootstrap", {{"dr_operation_token", op}});
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  ASSERT_EQ(ok.body["warnings"].size(), 1u) << ok.body.dump();
  EXPECT_TRUE(Contains(ok.body["warnings"][0].get<std::string>(), "bootstrapped again from its primary"));
  EXPECT_EQ(secondary_.control.bootstraps_requested(), 1u);
  EXPECT_EQ(secondary_.control.role(), "secondary");

  // A secondary that follows no primary: the plugin's reason comes through, nothing is requested.
  ASSERT_EQ(secondary_.Call("POST", kDr + "secondary/update-primary", {{"dr_operation_token", op}, {"token", ""}}).status,
            200);
  Reply none = secondary_.Call("POST", kDr + "secondary/request-bootstrap", {{"dr_operation_token", op}});
  EXPECT_NE(none.status, 200) << none.body.dump();
  EXPECT_TRUE(Contains(FirstError(none), "follows no primary")) << none.body.dump();
  EXPECT_EQ(secondary_.control.bootstraps_requested(), 1u);
}

// A promotion that fails after the plugin became the primary (its DB reopen or its server
// failed) is a promotion: the answer says so, the node leaves DR-secondary mode with the
// primary's keyring unsealed (the re-arm needs it to start the server), and the token is used up.
TEST_F(DrFlowTest, APromotionThatDidNotFinishIsStillAPromotion) {
  EnablePrimary();
  ActivateSecondary();
  const std::string op = OperationToken(secondary_, primary_.keys_hex, 3);
  secondary_.control.FailNextPromote(
      Status::IOError("promoted to DR primary of cluster c at epoch 2 (persisted), but its replication server did "
                      "not start"),
      /*after_promoting=*/true);
  Reply half = secondary_.Call("POST", kDr + "secondary/promote", {{"dr_operation_token", op}});
  EXPECT_EQ(half.status, 500) << half.body.dump();
  EXPECT_TRUE(Contains(FirstError(half), "this node IS the DR primary now (epoch 2")) << FirstError(half);
  EXPECT_TRUE(Contains(FirstError(half), "its replication server did not start")) << FirstError(half);
  EXPECT_EQ(secondary_.control.role(), "primary");
  EXPECT_FALSE(secondary_.core->seal().sealed());
  EXPECT_FALSE(secondary_.core->IsDrSecondary());
  Reply again = secondary_.Call("POST", kDr + "secondary/promote", {{"dr_operation_token", op}});
  EXPECT_EQ(again.status, 400) << again.body.dump();
  // It serves as the primary: the original primary's root token works, and it issues activation
  // tokens for the cluster address it was promoted with.
  EXPECT_EQ(secondary_.Call("GET", "auth/token/lookup-self", json::object(), primary_.root_token).status, 200);
  const std::string next = SecondaryToken(secondary_, "old-primary", primary_.root_token);
  EXPECT_FALSE(next.empty());
}

TEST_F(DrFlowTest, DisableBothSides) {
  EnablePrimary();
  ActivateSecondary();
  const std::string op = OperationToken(secondary_, primary_.keys_hex, 3);
  EXPECT_EQ(secondary_.Call("POST", kDr + "secondary/disable", {{"dr_operation_token", "x"}}).status, 400);
  Reply sd = secondary_.Call("POST", kDr + "secondary/disable", {{"dr_operation_token", op}});
  ASSERT_EQ(sd.status, 200) << sd.body.dump();
  EXPECT_EQ(secondary_.control.role(), "disabled");
  EXPECT_FALSE(secondary_.core->IsDrSecondary());
  // Sealed; the primary's keys unseal it.
  ASSERT_EQ(sd.body["warnings"].size(), 2u);
  for (int i = 0; i < 3; ++i) secondary_.Call("POST", "sys/unseal", {{"key", primary_.keys_hex[i]}});
  EXPECT_FALSE(secondary_.core->seal().sealed());

  Reply pd = primary_.Call("POST", kDr + "primary/disable", json::object(), primary_.root_token);
  ASSERT_EQ(pd.status, 200) << pd.body.dump();
  EXPECT_EQ(primary_.control.role(), "disabled");
  for (const auto& [k, v] : primary_.control.Dump(Store::kReplicated)) {
    EXPECT_NE(k.rfind("sidecar/dr/", 0), 0u) << k;
  }
  // Re-enabling makes a new cluster id.
  EnablePrimary();
  Result<json> after = primary_.control.Status();
  ASSERT_TRUE(after.ok());
  EXPECT_NE((*after)["cluster_id"], "");
  EXPECT_NE((*after)["cluster_id"], secondary_.control.last_bundle()->cluster_id);
}

// The primary's API over TLS: activation needs ca_file to trust it, and says so when it is missing.
TEST(DrTlsTest, ActivationOverTlsUsesCaFile) {
  Result<crypto::CertifiedKey> ca = crypto::CreateCa("api-test-ca", std::chrono::hours(24));
  ASSERT_TRUE(ca.ok());
  crypto::CertificateRequest creq;
  creq.common_name = "primary-api";
  creq.dns_names = {"localhost"};  // not 127.0.0.1: the client's name check is tested below
  creq.usage = crypto::CertificateUsage::kServer;
  Result<crypto::CertifiedKey> cert = crypto::IssueCertificate(*ca, creq);
  ASSERT_TRUE(cert.ok());
  const std::string dir = ::testing::TempDir() + "/dr_tls_" + std::to_string(getpid());
  const std::string ca_file = dir + "_ca.pem", cert_file = dir + "_cert.pem", key_file = dir + "_key.pem";
  {
    std::ofstream(ca_file) << ca->cert_pem;
    std::ofstream(cert_file) << cert->cert_pem;
    std::ofstream k(key_file);
    k.write(cert->key_pem.data(), static_cast<std::streamsize>(cert->key_pem.size()));
  }
  Node primary, secondary;
  primary.ca_file = ca_file;
  primary.Start(1, 1, cert_file, key_file);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  secondary.Start(1, 1);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  primary.control.SetReplicationAddress("127.0.0.1:8201");
  secondary.control.Follow(&primary.control);
  ASSERT_EQ(primary.Call("POST", kDr + "primary/enable", json::object(), primary.root_token).status, 200);
  Reply tok = primary.Call("POST", kDr + "primary/secondary-token", {{"id", "s1"}}, primary.root_token);
  ASSERT_EQ(tok.status, 200);
  const std::string token = tok.body["wrap_info"]["token"];
  EXPECT_EQ(crypto::PeekActivationClaims(token)->addr, primary.addr);

  Reply untrusted = secondary.Call("POST", kDr + "secondary/enable", {{"token", token}}, secondary.root_token);
  EXPECT_EQ(untrusted.status, 400);
  EXPECT_TRUE(Contains(FirstError(untrusted), "could not reach the primary at " + primary.addr)) << FirstError(untrusted);
  EXPECT_TRUE(Contains(FirstError(untrusted), "ca_file")) << FirstError(untrusted);
  Reply missing = secondary.Call("POST", kDr + "secondary/enable", {{"token", token}, {"ca_file", dir + "_nope.pem"}},
                                 secondary.root_token);
  EXPECT_EQ(missing.status, 400);
  Reply ok = secondary.Call("POST", kDr + "secondary/enable", {{"token", token}, {"ca_file", ca_file}},
                            secondary.root_token);
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  EXPECT_EQ(secondary.control.role(), "secondary");

  // The client's TLS errors say which of the usual mistakes it is.
  const std::string port = primary.addr.substr(primary.addr.rfind(':') + 1);
  auto call = [](const std::string& addr, const std::string& ca_path) {
    HttpClientOptions o;
    o.ca_cert_file = ca_path;
    o.timeout = std::chrono::seconds(5);
    Result<HttpResult> r = HttpRequest(addr, "GET", "/v1/sys/health", "", {}, o);
    return r.ok() ? std::string("HTTP ") + std::to_string(r->status) : r.status().message();
  };
  EXPECT_EQ(call("https://localhost:" + port, ca_file), "HTTP 200");
  EXPECT_EQ(call("https://localhost:" + port, dir + "_nope.pem"),
            "cannot load CA file " + dir + "_nope.pem: No such file or directory");
  const std::string junk = dir + "_junk.pem";
  std::ofstream(junk) << "not a certificate\n";
  EXPECT_TRUE(Contains(call("https://localhost:" + port, junk), "cannot load CA file " + junk + ": "));
  EXPECT_TRUE(Contains(call("https://localhost:" + port, junk), "(is it a PEM CA file?)"));
  Result<crypto::CertifiedKey> other = crypto::CreateCa("another-ca", std::chrono::hours(24));
  ASSERT_TRUE(other.ok());
  const std::string other_file = dir + "_other_ca.pem";
  std::ofstream(other_file) << other->cert_pem;
  const std::string wrong_ca = call("https://localhost:" + port, other_file);
  EXPECT_TRUE(Contains(wrong_ca, "certificate verify failed")) << wrong_ca;
  EXPECT_TRUE(Contains(wrong_ca, "local issuer certificate")) << wrong_ca;
  EXPECT_TRUE(Contains(wrong_ca, "the CA that signed the server's certificate?")) << wrong_ca;
  // 127.0.0.1 reaches the same server, but its certificate names only localhost.
  const std::string wrong_name = call("https://127.0.0.1:" + port, ca_file);
  EXPECT_TRUE(Contains(wrong_name, "the server's certificate does not name 127.0.0.1")) << wrong_name;
  EXPECT_TRUE(Contains(wrong_name, "connect by a name or address it carries")) << wrong_name;
  const std::string plain_to_tls = call("http://localhost:" + port, "");
  EXPECT_TRUE(Contains(plain_to_tls, "does it speak HTTPS? then use https://")) << plain_to_tls;
  const std::string tls_to_plain = call("https" + secondary.addr.substr(4), ca_file);
  EXPECT_TRUE(Contains(tls_to_plain, "is it plain HTTP? then use http://")) << tls_to_plain;
  for (const std::string& f : {ca_file, cert_file, key_file, junk, other_file}) unlink(f.c_str());
}

}  // namespace
}  // namespace rocksdr::sidecar
