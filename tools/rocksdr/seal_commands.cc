// `rocksdr status`, `rocksdr operator init`, `rocksdr operator unseal`, `rocksdr operator seal`
// — Vault's commands of the same names against sys/seal-status, sys/init, sys/unseal, sys/seal.
// Exit codes (Vault): status 0 unsealed / 2 sealed / 1 error; init -status 0 initialized /
// 2 not; others 0 ok, 1 usage, 2 server error.
#include <iostream>
#include <string>
#include <unistd.h>

#include "api_client.h"
#include "cli.h"
#include "output.h"
#include "secret_output.h"

namespace rocksdr::cli {

namespace {

std::string Text(const nlohmann::json& j, const char* key) {
  return j.contains(key) ? CellText(j[key]) : "";
}

void PrintSealStatus(Context& ctx, const nlohmann::json& s) {
  Rows rows = {{"Seal Type", Text(s, "type")},
               {"Initialized", Text(s, "initialized")},
               {"Sealed", Text(s, "sealed")},
               {"Total Shares", Text(s, "n")},
               {"Threshold", Text(s, "t")}};
  if (s.value("sealed", true)) {
    rows.emplace_back("Unseal Progress", Text(s, "progress") + "/" + Text(s, "t"));
    rows.emplace_back("Unseal Nonce", Text(s, "nonce"));
  }
  rows.emplace_back("Version", Text(s, "version"));
  rows.emplace_back("Storage Type", Text(s, "storage_type"));
  if (s.contains("cluster_name")) rows.emplace_back("Cluster Name", Text(s, "cluster_name"));
  if (s.contains("cluster_id")) rows.emplace_back("Cluster ID", Text(s, "cluster_id"));
  rows.emplace_back("HA Enabled", "false");
  PrintTable(*ctx.out, rows);
}

// Rows from sys/replication/dr/status appended to the table of `rocksdr status`. A DR primary:
// its synchronous replication (the ack mode, and a degradation the operator must see). A DR
// secondary: its link, and (when `sealed`) that "Sealed true" above is its normal state, not a fault.
Rows ReplicationRows(const nlohmann::json& dr, bool sealed) {
  Rows rows;
  if (!dr.is_object() || !dr.contains("mode")) return rows;
  if (dr["mode"] == "secondary") {
    rows.emplace_back("DR Replication Mode", sealed ? "secondary (its sidecar stays sealed: that is normal; promotion "
                                                      "needs the primary's unseal keys, not an unseal)"
                                                    : "secondary");
    rows.emplace_back("DR State", Text(dr, "state") + " (" + Text(dr, "connection_state") + ")");
    rows.emplace_back("Last Remote WAL", Text(dr, "last_remote_wal"));
    return rows;
  }
  if (dr["mode"] != "primary") return rows;
  rows.emplace_back("DR Replication Mode", "primary");
  // A superseded primary refuses writes: that must not look like a healthy primary.
  if (Text(dr, "state") == "fenced") {
    rows.emplace_back("DR State", "fenced, refusing writes: " + Text(dr, "fenced_reason") +
                                      " (demote it: rocksdr write -f sys/replication/dr/primary/demote)");
  }
  const std::string mode = dr.contains("ack_mode") && dr["ack_mode"].is_string() ? dr["ack_mode"].get<std::string>()
                                                                               : "async";
  rows.emplace_back("Sync Ack Mode", mode == "async" ? mode : mode + " (" + Text(dr, "ack_count") + " secondaries)");
  if (dr.contains("sync_degraded") && dr["sync_degraded"] == true) {
    rows.emplace_back("Sync Degraded", "true: writes are ASYNC until secondaries catch up: " +
                                           Text(dr, "sync_degraded_reason"));
  } else if (mode != "async") {
    rows.emplace_back("Sync Degraded", "false");
  }
  return rows;
}

// Prints a seal-status reply in the chosen format.
void ShowSealStatus(Context& ctx, const nlohmann::json& s, OutputFormat format) {
  if (format == OutputFormat::kJson) return PrintJson(*ctx.out, s);
  PrintSealStatus(ctx, s);
}

struct StatusFlags {
  ClientFlags client;
};

void RunStatus(Context& ctx, StatusFlags& f) {
  Result<OutputFormat> format = ResolveFormat(f.client.format);
  if (!format.ok()) return Fail(ctx, format.status().message());
  Result<ApiReply> r = CallApi(f.client, "GET", "sys/seal-status");
  if (!r.ok()) return Fail(ctx, "Error checking seal status: " + r.status().message(), kExitUsage);
  if (!IsSuccess(*r)) return Fail(ctx, "Error checking seal status: " + ApiErrorText(*r), kExitUsage);
  ShowSealStatus(ctx, r->body, *format);
  if (*format != OutputFormat::kJson) {
    // Best effort: an older sidecar, or one without a plugin, just shows no replication rows.
    Result<ApiReply> dr = CallApi(f.client, "GET", "sys/replication/dr/status");
    if (dr.ok() && IsSuccess(*dr) && dr->body.contains("data")) {
      Rows rows = ReplicationRows(dr->body["data"], r->body.value("sealed", true));
      // The re-arm loop's finding, e.g. "replication paused until unsealed: ..." (README "Restarts").
      if (dr->body["data"].is_object() && dr->body["data"].value("paused", false)) {
        rows.emplace_back("DR Replication Paused", Text(dr->body["data"], "paused_reason"));
      }
      if (!rows.empty()) {
        *ctx.out << "\n";
        PrintTable(*ctx.out, rows);
      }
    }
  }
  ctx.exit_code = r->body.value("sealed", true) ? kExitRemote : kExitOk;
}

struct InitFlags {
  ClientFlags client;
  int shares = 5;
  int threshold = 3;
  bool status = false;
};

void RunInit(Context& ctx, InitFlags& f) {
  Result<OutputFormat> format = ResolveFormat(f.client.format);
  if (!format.ok()) return Fail(ctx, format.status().message());
  if (f.status) {
    Result<ApiReply> r = CallApi(f.client, "GET", "sys/init");
    if (!r.ok() || !IsSuccess(*r)) {
      return Fail(ctx, "Error checking init status: " + (r.ok() ? ApiErrorText(*r) : r.status().message()));
    }
    const bool init = r->body.value("initialized", false);
    *ctx.out << (init ? "rocksdr is initialized" : "rocksdr is not initialized") << "\n";
    ctx.exit_code = init ? kExitOk : kExitRemote;
    return;
  }
  Result<ApiReply> r =
      CallApi(f.client, "PUT", "sys/init", {{"secret_shares", f.shares}, {"secret_threshold", f.threshold}});
  if (!r.ok()) return Fail(ctx, "Error initializing: " + r.status().message(), kExitRemote);
  if (!IsSuccess(*r)) return Fail(ctx, "Error initializing: " + ApiErrorText(*r), kExitRemote);
  const auto& b = r->body;
  if (*format == OutputFormat::kJson) {
    PrintJson(*ctx.out, {{"unseal_keys_b64", b.value("keys_base64", nlohmann::json::array())},
                         {"unseal_keys_hex", b.value("keys", nlohmann::json::array())},
                         {"unseal_shares", f.shares},
                         {"unseal_threshold", f.threshold},
                         {"recovery_keys_b64", nlohmann::json::array()},
                         {"recovery_keys_hex", nlohmann::json::array()},
                         {"recovery_keys_shares", 0},
                         {"recovery_keys_threshold", 0},
                         {"root_token", b.value("root_token", "")}});
    return;
  }
  const auto keys = b.value("keys_base64", nlohmann::json::array());
  for (size_t i = 0; i < keys.size(); ++i) *ctx.out << "Unseal Key " << (i + 1) << ": " << CellText(keys[i]) << "\n";
  *ctx.out << "\nInitial Root Token: " << b.value("root_token", "") << "\n\n"
           << "rocksdr initialized with " << f.shares << " key shares and a key threshold of " << f.threshold
           << ". Please securely\ndistribute the key shares printed above. When rocksdr is re-sealed, restarted, "
              "or stopped,\nyou must supply at least "
           << f.threshold
           << " of these keys to unseal it before it can start\nservicing requests.\n\n"
              "rocksdr does not store the generated root key. Without at least "
           << f.threshold << " keys to\nreconstruct the root key, rocksdr will remain permanently sealed!\n";
}

struct UnsealFlags {
  ClientFlags client;
  std::vector<std::string> args;
  bool reset = false;
};

void RunUnseal(Context& ctx, UnsealFlags& f) {
  Result<OutputFormat> format = ResolveFormat(f.client.format);
  if (!format.ok()) return Fail(ctx, format.status().message());
  if (f.args.size() > 1) return Fail(ctx, "Too many arguments (expected 0-1, got " + std::to_string(f.args.size()) + ")");
  nlohmann::json body;
  if (f.reset) {
    body = {{"reset", true}};
  } else {
    std::string key = f.args.empty() ? "" : f.args[0];
    if (key.empty()) {
      if (isatty(STDIN_FILENO)) *ctx.err << "Unseal Key (will be hidden): " << std::flush;
      std::getline(std::cin, key);
      while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
      if (key.empty()) return Fail(ctx, "Error unsealing: no unseal key given (pass it as an argument or on stdin)");
    }
    body = {{"key", key}};
  }
  Result<ApiReply> r = CallApi(f.client, "PUT", "sys/unseal", body);
  if (!r.ok()) return Fail(ctx, "Error unsealing: " + r.status().message(), kExitRemote);
  if (!IsSuccess(*r)) return Fail(ctx, "Error unsealing: " + ApiErrorText(*r), kExitRemote);
  ShowSealStatus(ctx, r->body, *format);
}

struct SealFlags {
  ClientFlags client;
};

void RunSeal(Context& ctx, SealFlags& f) {
  Result<ApiReply> r = CallApi(f.client, "PUT", "sys/seal");
  if (!r.ok()) return Fail(ctx, "Error sealing: " + r.status().message(), kExitRemote);
  if (!IsSuccess(*r)) return Fail(ctx, "Error sealing: " + ApiErrorText(*r), kExitRemote);
  *ctx.out << "Success! rocksdr is sealed.\n";
}

}  // namespace

void RegisterSealCommands(CLI::App& root, Context& ctx) {
  auto sf = std::make_shared<StatusFlags>();
  CLI::App* status = root.add_subcommand("status", "Print seal and HA status");
  AddClientFlags(status, &sf->client);
  status->callback([&ctx, sf] { RunStatus(ctx, *sf); });

  CLI::App* op = OperatorGroup(root);
  auto inf = std::make_shared<InitFlags>();
  CLI::App* init = op->add_subcommand("init", "Initializes a server");
  AddClientFlags(init, &inf->client);
  init->add_option("--key-shares", inf->shares, "Number of key shares to split the root key into")->capture_default_str();
  init->add_option("--key-threshold", inf->threshold, "Number of key shares required to reconstruct the root key")
      ->capture_default_str();
  init->add_flag("--status", inf->status, "Print the initialization status (exit 0 initialized, 2 not)");
  init->callback([&ctx, inf] { RunInit(ctx, *inf); });

  auto uf = std::make_shared<UnsealFlags>();
  CLI::App* unseal = op->add_subcommand("unseal", "Unseals the server");
  AddClientFlags(unseal, &uf->client);
  unseal->add_flag("--reset", uf->reset, "Discard any previously entered keys");
  unseal->add_option("key", uf->args, "Unseal key (read from stdin if omitted)");
  unseal->callback([&ctx, uf] { RunUnseal(ctx, *uf); });

  auto slf = std::make_shared<SealFlags>();
  CLI::App* seal = op->add_subcommand("seal", "Seals the server");
  AddClientFlags(seal, &slf->client);
  seal->callback([&ctx, slf] { RunSeal(ctx, *slf); });
}

}  // namespace rocksdr::cli
