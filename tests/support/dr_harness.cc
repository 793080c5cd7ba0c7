// Implementation of dr_harness.h.
#include "support/dr_harness.h"

#include <gtest/gtest.h>

#include "rocksdr/crypto/encoding.h"
#include "rocksdr/sidecar/dr_handlers.h"
#include "rocksdr/sidecar/handlers.h"
#include "rocksdr/sidecar/http_client.h"

namespace rocksdr::sidecar::testing {

using nlohmann::json;

void FakeReplicatedControl::Follow(MemoryPluginControl* primary) {
  std::lock_guard<std::mutex> l(mu2_);
  primary_ = primary;
}

void FakeReplicatedControl::Sync() {
  MemoryPluginControl* p;
  {
    std::lock_guard<std::mutex> l(mu2_);
    p = primary_;
  }
  ASSERT_NE(p, nullptr);
  CopyReplicatedFrom(*p);
}

std::optional<ActivationBundle> FakeReplicatedControl::last_bundle() {
  std::lock_guard<std::mutex> l(mu2_);
  return last_bundle_;
}

rocksdr::Status FakeReplicatedControl::EnableSecondary(const ActivationBundle& bundle) {
  RecordKeptBundle();
  rocksdr::Status st = MemoryPluginControl::EnableSecondary(bundle);
  if (!st.ok()) return st;
  {
    std::lock_guard<std::mutex> l(mu2_);
    last_bundle_ = bundle;
  }
  Sync();  // the bootstrap
  return rocksdr::Status::OK();
}

void FakeReplicatedControl::RecordKeptBundle() {
  Result<std::optional<std::string>> kept = Get(Store::kLocal, "sidecar/dr/bundle");
  std::lock_guard<std::mutex> l(mu2_);
  kept_bundle_at_switch_ = kept.ok() ? *kept : std::nullopt;
}

std::optional<std::string> FakeReplicatedControl::kept_bundle_at_last_switch() {
  std::lock_guard<std::mutex> l(mu2_);
  return kept_bundle_at_switch_;
}

void FakeReplicatedControl::FailNextUpdatePrimary(rocksdr::Status st) {
  std::lock_guard<std::mutex> l(mu2_);
  fail_next_update_ = std::move(st);
}

void FakeReplicatedControl::FailNextPut(const std::string& key, rocksdr::Status st) {
  std::lock_guard<std::mutex> l(mu2_);
  fail_next_put_.emplace(key, std::move(st));
}

rocksdr::Status FakeReplicatedControl::Put(Store store, const std::string& key, std::string_view value) {
  {
    std::lock_guard<std::mutex> l(mu2_);
    if (fail_next_put_.has_value() && fail_next_put_->first == key) {
      rocksdr::Status st = std::move(fail_next_put_->second);
      fail_next_put_.reset();
      return st;
    }
  }
  return MemoryPluginControl::Put(store, key, value);
}

rocksdr::Status FakeReplicatedControl::UpdatePrimary(const std::optional<ActivationBundle>& bundle) {
  RecordKeptBundle();
  {
    std::lock_guard<std::mutex> l(mu2_);
    if (fail_next_update_.has_value()) {
      rocksdr::Status st = std::move(*fail_next_update_);
      fail_next_update_.reset();
      return st;
    }
  }
  rocksdr::Status st = MemoryPluginControl::UpdatePrimary(bundle);
  if (st.ok()) {
    std::lock_guard<std::mutex> l(mu2_);
    last_bundle_ = bundle;
  }
  return st;
}

std::optional<PrimaryConfig> FakeReplicatedControl::last_primary_config() {
  std::lock_guard<std::mutex> l(mu2_);
  return last_primary_config_;
}

rocksdr::Status FakeReplicatedControl::EnablePrimary(const PrimaryConfig& config) {
  rocksdr::Status st = MemoryPluginControl::EnablePrimary(config);
  if (st.ok()) {
    std::lock_guard<std::mutex> l(mu2_);
    last_primary_config_ = config;
  }
  return st;
}

void FakeReplicatedControl::FailNextPromote(rocksdr::Status st, bool after_promoting) {
  std::lock_guard<std::mutex> l(mu2_);
  fail_next_promote_ = std::move(st);
  fail_after_promoting_ = after_promoting;
}

rocksdr::Status FakeReplicatedControl::Promote(const PrimaryConfig& config) {
  {
    std::lock_guard<std::mutex> l(mu2_);
    if (fail_next_promote_.has_value()) {
      rocksdr::Status st = std::move(*fail_next_promote_);
      fail_next_promote_.reset();
      if (fail_after_promoting_) {
        rocksdr::Status promoted = MemoryPluginControl::Promote(config);
        if (!promoted.ok()) return promoted;
      }
      return st;
    }
  }
  rocksdr::Status st = MemoryPluginControl::Promote(config);
  if (st.ok()) {
    std::lock_guard<std::mutex> l(mu2_);
    last_primary_config_ = config;
  }
  return st;
}

Result<json> FakeReplicatedControl::Status() {
  Result<json> j = MemoryPluginControl::Status();
  if (j.ok() && connected_.load() && (*j)["role"] == "secondary") (*j)["secondary"]["connection_state"] = "connected";
  return j;
}

void DrNode::Start(int shares, int threshold, const std::string& tls_cert_file, const std::string& tls_key_file) {
  CoreOptions co;
  co.clock = [this] { return now.load(); };
  core = std::make_unique<Core>(&control, co);
  router = std::make_unique<Router>(core.get());
  ASSERT_TRUE(RegisterCoreRoutes(*router, *core).ok());
  ASSERT_TRUE(RegisterDrRoutesWithOptions(*router, *core, dr_options).ok());
  HttpServerOptions ho;
  ho.listen_address = "127.0.0.1:0";
  ho.tls_cert_file = tls_cert_file;
  ho.tls_key_file = tls_key_file;
  Result<std::unique_ptr<HttpServer>> s = HttpServer::Start(ho, router.get());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  server = std::move(s).value();
  addr = tls_cert_file.empty() ? "http://127.0.0.1:" + std::to_string(server->port())
                               : "https://localhost:" + std::to_string(server->port());
  core->SetApiAddr(addr);
  Result<InitOutput> init = core->Initialize(shares, threshold);
  ASSERT_TRUE(init.ok()) << init.status().ToString();
  root_token.assign(init->root_token.data(), init->root_token.size());
  for (const auto& k : init->keys) {
    keys_hex.push_back(crypto::HexEncode(crypto::AsStringView(k)));
    keys_b64.push_back(crypto::Base64Encode(crypto::AsStringView(k)));
  }
  for (int i = 0; i < threshold; ++i) ASSERT_TRUE(core->seal().SubmitUnsealKey(init->keys[i]).ok());
  ASSERT_FALSE(core->seal().sealed());
}

DrReply DrNode::Call(const std::string& method, const std::string& path, const json& body, const std::string& token) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!token.empty()) headers.emplace_back("X-Vault-Token", token);
  HttpClientOptions opts;
  opts.ca_cert_file = ca_file;
  Result<HttpResult> r = HttpRequest(addr, method, "/v1/" + path, method == "GET" ? "" : body.dump(), headers, opts);
  DrReply out;
  if (!r.ok()) {
    ADD_FAILURE() << "HTTP " << method << " " << path << ": " << r.status().ToString();
    return out;
  }
  out.status = r->status;
  if (!r->body.empty()) out.body = json::parse(r->body, nullptr, false);
  return out;
}

}  // namespace rocksdr::sidecar::testing
