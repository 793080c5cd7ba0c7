// Implementation of replication_status.h, and the sys/replication/status and
// sys/replication/dr/status routes (handlers.h).
#include "rocksdr/sidecar/replication_status.h"

#include "rocksdr/sidecar/handlers.h"

namespace rocksdr::sidecar {

namespace {

nlohmann::json Get(const nlohmann::json& j, const char* key, nlohmann::json def) {
  if (!j.is_object()) return def;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return def;
  return *it;
}

}  // namespace

nlohmann::json DrStatusFromPlugin(const nlohmann::json& ps) {
  const std::string role = Get(ps, "role", "disabled").is_string() ? Get(ps, "role", "disabled").get<std::string>()
                                                                    : "disabled";
  nlohmann::json out = {{"mode", role}};
  if (role != "primary" && role != "secondary") {
    out["mode"] = "disabled";
    return out;
  }
  out["cluster_id"] = Get(ps, "cluster_id", "");
  out["epoch"] = Get(ps, "epoch", 0);
  if (ps.contains("bootstrap")) out["bootstrap"] = ps["bootstrap"];
  if (ps.contains("wal")) out["wal"] = ps["wal"];
  if (role == "primary") {
    out["state"] = Get(ps, "state", "running");
    if (out["state"] == "fenced") out["fenced_reason"] = Get(ps, "fenced_reason", "");
    out["last_wal"] = Get(ps, "last_sequence", 0);
    out["last_dr_wal"] = Get(ps, "last_sequence", 0);
    out["merkle_root"] = "";
    out["primary_cluster_addr"] = Get(ps, "primary_cluster_addr", Get(ps, "replication_address", ""));
    nlohmann::json known = nlohmann::json::array(), secs = nlohmann::json::array();
    for (const auto& s : Get(ps, "secondaries", nlohmann::json::array())) {
      if (!s.is_object()) continue;
      known.push_back(Get(s, "id", ""));
      nlohmann::json e = s;
      e.erase("id");
      e.erase("address");
      e.erase("connected");
      e["node_id"] = Get(s, "id", "");
      e["api_address"] = Get(s, "api_address", "");
      e["cluster_address"] = Get(s, "address", "");
      e["connection_status"] = Get(s, "connected", false).get<bool>() ? "connected" : "disconnected";
      e["last_heartbeat"] = Get(s, "last_heartbeat", "");
      secs.push_back(std::move(e));
    }
    // Synchronous replication (plugin status fields of the same names; README "Synchronous replication").
    out["ack_mode"] = Get(ps, "ack_mode", "async");
    out["ack_count"] = Get(ps, "ack_count", 1);
    out["sync_degraded"] = Get(ps, "sync_degraded", false);
    out["sync_degraded_reason"] = Get(ps, "sync_degraded_reason", "");
    if (ps.contains("sync")) out["sync"] = ps["sync"];
    out["known_secondaries"] = known;
    out["secondaries"] = secs;
    return out;
  }
  const nlohmann::json sec = Get(ps, "secondary", nlohmann::json::object());
  out["state"] = Get(ps, "state", "idle");
  out["connection_state"] = Get(sec, "connection_state", "disconnected");
  out["last_remote_wal"] = Get(sec, "applied_sequence", 0);
  out["last_start"] = Get(sec, "last_start", "");
  out["secondary_id"] = Get(sec, "secondary_id", "");
  const std::string primary_api = Get(sec, "primary_api_addr", "").get<std::string>();
  const std::string primary_cluster = Get(sec, "primary_address", "").get<std::string>();
  nlohmann::json primaries = nlohmann::json::array();
  nlohmann::json known_addrs = nlohmann::json::array();
  if (!primary_api.empty() || !primary_cluster.empty()) {
    primaries.push_back({{"api_address", primary_api},
                         {"cluster_address", primary_cluster},
                         {"connection_status", Get(sec, "connection_state", "disconnected") == "connected"
                                                   ? "connected"
                                                   : "disconnected"},
                         {"last_heartbeat", Get(sec, "last_heartbeat", "")}});
    if (!primary_cluster.empty()) known_addrs.push_back(primary_cluster);
  }
  out["primaries"] = primaries;
  out["known_primary_cluster_addrs"] = known_addrs;
  nlohmann::json lag = nlohmann::json::object();
  for (const char* f : {"lag_sequences", "lag_bytes", "lag_ms"}) {
    if (sec.contains(f)) lag[f] = sec[f];
  }
  if (!lag.empty()) out["lag"] = lag;
  const nlohmann::json boot = Get(ps, "bootstrap", nlohmann::json::object());
  if (Get(boot, "in_progress", false).get<bool>()) {
    out["sync_progress"] = Get(boot, "bytes_done", 0);
    out["sync_total_keys"] = Get(boot, "bytes_total", 0);
  }
  return out;
}

Status RegisterReplicationStatusRoutes(Router& router, Core& core) {
  Core* c = &core;
  auto dr = [c]() -> Result<nlohmann::json> {
    Result<nlohmann::json> st = c->control()->Status();
    if (!st.ok()) return st.status().WithContext("plugin status");
    nlohmann::json d = DrStatusFromPlugin(*st);
    // The re-arm loop's finding (dr_handlers.h, DrOptions::rearm_interval), e.g. "replication
    // paused until unsealed: ...".
    if (const std::string notice = c->ReplicationNotice(); !notice.empty() && d.value("mode", "") != "disabled") {
      d["paused"] = true;
      d["paused_reason"] = notice;
    }
    return d;
  };
  ROCKSDR_RETURN_IF_ERROR(router.Add(RouteSpec("sys/replication/status", {Method::kGet}, AuthRequirement::kNone,
                                               [dr](ApiRequest& r) {
                                                 Result<nlohmann::json> d = dr();
                                                 if (!d.ok()) return ErrorFromStatus(d.status());
                                                 return Envelope(r, nlohmann::json{{"dr", *d},
                                                                     {"performance", {{"mode", "disabled"}}}});
                                               })
                                         .SetSealedOk()));
  return router.Add(RouteSpec("sys/replication/dr/status", {Method::kGet}, AuthRequirement::kNone,
                              [dr](ApiRequest& r) {
                                Result<nlohmann::json> d = dr();
                                if (!d.ok()) return ErrorFromStatus(d.status());
                                return Envelope(r, *d);
                              })
                        .SetSealedOk());
}

}  // namespace rocksdr::sidecar
