// The DR re-arm loop (dr_handlers.h, DrOptions::rearm_interval; README "Restarts"): after the
// application hosting the plugin restarts, its persisted role is back but not its runtime — a
// primary needs a server certificate (from the sealed keyring) to listen again, a secondary needs
// its activation bundle to reconnect. This loop polls the plugin's status and re-sends them.
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "dr_context.h"
#include "rocksdr/sidecar/dr_activation.h"
#include "rocksdr/replication/thread_name.h"

namespace rocksdr::sidecar {

namespace {

std::string Str(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// What one pass found; `notice` is what status shows ("" = replication is driven).
struct PassResult {
  std::string notice;
  std::string done;  // a re-arm that happened (logged at info)
};

std::string AppRestartedPrefix(const std::string& role) {
  return "this DR " + role + "'s application runs its persisted role without its replication runtime";
}

PassResult RearmPrimary(DrContext& ctx, const nlohmann::json& ps, uint64_t epoch) {
  const std::string cluster_id = Str(ps, "cluster_id");
  if (Str(ps, "state") == "fenced") {
    return {"DR primary not re-armed: it is fenced (" + Str(ps, "fenced_reason") +
                "); demote it (sys/replication/dr/primary/demote) or disable it",
            ""};
  }
  if (ctx.core->seal().sealed()) {
    return {"replication paused until unsealed: " + AppRestartedPrefix("primary") +
                "; its server certificate is issued from the sealed keyring. Unseal this node (rocksdr operator "
                "unseal) and it listens again",
            ""};
  }
  Result<std::optional<DrClusterRecord>> cluster = ctx.registry.LoadCluster();
  if (!cluster.ok()) return {"DR primary not re-armed: reading the DR cluster record: " + cluster.status().message(), ""};
  if (!cluster->has_value() || (**cluster).cluster_id != cluster_id) {
    return {"DR primary not re-armed: this sidecar holds no DR cluster record for cluster " + cluster_id +
                " (it was not enabled through this sidecar); restart it with its TLS files in the plugin options, "
                "or disable and enable it again",
            ""};
  }
  const DrClusterRecord& rec = **cluster;
  Result<crypto::CertifiedKey> server = IssueServerCertificate(ctx, rec, rec.primary_cluster_addr);
  if (!server.ok()) return {"DR primary not re-armed: issuing its server certificate: " + server.status().message(), ""};
  Result<std::vector<std::string>> ids = ctx.registry.ActiveIds();
  if (!ids.ok()) return {"DR primary not re-armed: reading the secondary registry: " + ids.status().message(), ""};
  PrimaryConfig config;
  config.cluster_id = rec.cluster_id;
  config.epoch = std::max<uint64_t>(epoch, 1);
  config.ca_cert_pem = rec.ca_cert_pem;
  config.server_cert_pem = server->cert_pem;
  config.server_key_pem = server->key_pem;
  config.allowed_secondary_ids = *ids;
  if (Status st = ctx.core->control()->EnablePrimary(config); !st.ok()) {
    return {"DR primary not re-armed: the plugin refused enable_primary: " + st.message() + " (retrying)", ""};
  }
  Result<std::string> addr = ctx.core->control()->ReplicationAddress();
  return {"", "re-armed the DR primary of cluster " + rec.cluster_id + " at epoch " + std::to_string(config.epoch) +
                  ": serving replication on " + (addr.ok() ? *addr : "(address unknown: " + addr.status().message() + ")") +
                  " for " + std::to_string(ids->size()) + " registered secondaries"};
}

PassResult RearmSecondary(DrContext& ctx, const nlohmann::json& ps) {
  Result<std::optional<std::string>> raw = ctx.core->control()->Get(Store::kLocal, std::string(kDrBundleLocalKey));
  if (!raw.ok()) return {"DR secondary not re-armed: reading its activation bundle: " + raw.status().message(), ""};
  if (!raw->has_value()) {
    return {"this DR secondary follows no primary (no activation bundle kept on this node): attach it with "
            "sys/replication/dr/secondary/update-primary",
            ""};
  }
  nlohmann::json j = nlohmann::json::parse(**raw, nullptr, /*allow_exceptions=*/false);
  Result<ActivationBundle> bundle =
      j.is_discarded() ? Result<ActivationBundle>(Status::Corruption("not JSON")) : BundleFromJson(j, /*require_key=*/true);
  if (!bundle.ok()) {
    return {"DR secondary not re-armed: the activation bundle kept on this node is unusable (" +
                bundle.status().message() +
                "; a bundle kept by an older rocksdr has no client key): run sys/replication/dr/secondary/update-primary "
                "once",
            ""};
  }
  const std::string cluster_id = Str(ps, "cluster_id");
  if (!cluster_id.empty() && bundle->cluster_id != cluster_id) {
    return {"DR secondary not re-armed: the kept activation bundle is for cluster " + bundle->cluster_id +
                " but this node belongs to cluster " + cluster_id + "; run secondary/update-primary",
            ""};
  }
  if (Status st = ctx.core->control()->UpdatePrimary(*bundle); !st.ok()) {
    return {"DR secondary not re-armed: the plugin refused update_primary: " + st.message() + " (retrying)", ""};
  }
  const nlohmann::json applied = ps.value("last_sequence_applied", nlohmann::json());
  return {"", "re-attached the DR secondary \"" + bundle->secondary_id + "\" to its primary at " +
                  bundle->primary_replication_addrs.front() + " (API " + bundle->primary_api_addr +
                  "), resuming after applied sequence " + (applied.is_number() ? applied.dump() : "(none)")};
}

// A promotion whose bookkeeping did not finish (kDrPromotionLocalKey; ResumePromotionJournal).
PassResult ResumePromotion(DrContext& ctx, const nlohmann::json& ps) {
  PluginRole plugin;
  plugin.role = Str(ps, "role");
  plugin.cluster_id = Str(ps, "cluster_id");
  if (ps.contains("epoch") && ps["epoch"].is_number_unsigned()) plugin.epoch = ps["epoch"].get<uint64_t>();
  Result<std::string> done = ResumePromotionJournal(ctx, plugin);
  if (!done.ok()) {
    return {"the DR bookkeeping after this node's promotion is not finished (" + done.status().message() +
                "; retrying)",
            ""};
  }
  return {"", *done};
}

// One pass: reads the plugin status under the DR mutex and re-arms if needed.
PassResult Pass(DrContext& ctx) {
  std::lock_guard<std::mutex> lock(ctx.mu);
  Result<nlohmann::json> st = ctx.core->control()->Status();
  if (!st.ok()) return {"", ""};  // no plugin to drive: the status routes say so themselves
  const nlohmann::json& ps = *st;
  if (!ps.is_object()) return {"", ""};
  const std::string role = Str(ps, "role");
  ctx.core->SetDrSecondary(role == "secondary");  // the plugin may have been away when the sidecar started
  if (PassResult resumed = ResumePromotion(ctx, ps); !resumed.notice.empty() || !resumed.done.empty()) {
    if (!resumed.notice.empty()) return resumed;
    spdlog::info("dr: {}", resumed.done);
  }
  if (role == "primary") {
    if (!Str(ps, "replication_address").empty()) return {"", ""};
    uint64_t epoch = 0;
    if (ps.contains("epoch") && ps["epoch"].is_number_unsigned()) epoch = ps["epoch"].get<uint64_t>();
    return RearmPrimary(ctx, ps, epoch);
  }
  if (role == "secondary") {
    const nlohmann::json link = ps.value("primary_link", nlohmann::json::object());
    if (!Str(link, "primary_address").empty()) return {"", ""};
    return RearmSecondary(ctx, ps);
  }
  return {"", ""};
}

// The loop: one thread per sidecar, stopped through Core::AddBackgroundStop.
class Rearmer {
 public:
  Rearmer(std::shared_ptr<DrContext> ctx, std::chrono::milliseconds interval)
      : ctx_(std::move(ctx)), interval_(interval), thread_([this] {
          replication::SetThreadName(replication::kThreadRearm);
          Run();
        }) {}

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    std::string last_instance, last_notice;
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      Step(&last_instance, &last_notice);
      lock.lock();
      cv_.wait_for(lock, interval_, [this] { return stop_; });
    }
  }

  void Step(std::string* last_instance, std::string* last_notice) {
    // The expiry clock's high water (expiry_clock.h) follows the clock even without requests.
    (void)ctx_->core->ExpiryNow();
    // The instance id only feeds the log: the decision is on the role and what the runtime reports.
    if (Result<nlohmann::json> st = ctx_->core->control()->Status(); st.ok()) {
      const std::string instance = Str(*st, "instance_id");
      if (!instance.empty() && instance != *last_instance) {
        if (!last_instance->empty()) {
          spdlog::info("dr: the plugin's application restarted (instance {} -> {}); checking its replication runtime",
                       *last_instance, instance);
        }
        *last_instance = instance;
      }
    }
    PassResult r = Pass(*ctx_);
    if (!r.done.empty()) spdlog::info("dr: {}", r.done);
    if (r.notice != *last_notice) {
      if (!r.notice.empty()) spdlog::warn("dr: {}", r.notice);
      *last_notice = r.notice;
    }
    ctx_->core->SetReplicationNotice(r.notice);
  }

  std::shared_ptr<DrContext> ctx_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;  // last: starts after the members above
};

}  // namespace

void StartDrRearm(const std::shared_ptr<DrContext>& ctx) {
  if (ctx->options.rearm_interval.count() <= 0) return;
  auto r = std::make_shared<Rearmer>(ctx, ctx->options.rearm_interval);
  ctx->core->AddBackgroundStop([r] { r->Stop(); });
}

}  // namespace rocksdr::sidecar
