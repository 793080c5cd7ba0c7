// `rocksdr operator dr consistency`: compares the data of two nodes at one sequence through
// their sidecars' consistency routes (rocksdr/sidecar/dr_consistency.h), with
// RunConsistencyCheck (rocksdr/sidecar/consistency_check.h).
//
//   rocksdr operator dr consistency -address=https://primary:8200 -token=ROOT
//       -secondary-address=https://secondary:8200 [-secondary-token=ROOT]
//       [-mode=live|latest] [-bucket-keys=1000] [-page-buckets=256] [-timeout=10s] [-format=json]
//
// -address/-token name node A (the primary; in `latest` mode any node, e.g. the promoted one);
// -secondary-* node B (its DR secondary; in `latest` mode e.g. the old primary). The secondary's
// token defaults to -token (a DR secondary holds the primary's token store). Exit code: 0 match,
// 2 mismatch or a server error, 1 bad flags.
#include <memory>
#include <string>

#include "api_client.h"
#include "cli.h"
#include "output.h"
#include "rocksdr/sidecar/consistency_check.h"

namespace rocksdr::cli {

namespace {

struct Flags {
  ClientFlags a;
  std::string b_address;
  std::string b_token;
  std::string mode = "live";
  uint64_t bucket_keys = 1000;
  uint64_t page_buckets = 256;
  std::string timeout = "10s";
};

Result<uint64_t> ParseTimeoutMs(const std::string& v) {
  size_t digits = 0;
  while (digits < v.size() && v[digits] >= '0' && v[digits] <= '9') ++digits;
  if (digits == 0 || digits > 6) return Status::InvalidArgument("-timeout must look like 10s or 500ms");
  const uint64_t n = std::stoull(v.substr(0, digits));
  const std::string unit = v.substr(digits);
  if (unit == "ms") return n;
  if (unit == "s" || unit.empty()) return n * 1000;
  return Status::InvalidArgument("-timeout must look like 10s or 500ms");
}

sidecar::ConsistencyNode Node(const std::string& name, const ClientFlags& flags) {
  sidecar::ConsistencyNode n;
  n.name = name;
  n.call = [flags, name](std::string_view op, const nlohmann::json& args) -> Result<nlohmann::json> {
    const std::string path = "sys/replication/dr/consistency/" + std::string(op.substr(std::string_view("consistency_").size()));
    Result<ApiReply> r = CallApi(flags, "PUT", path, args);
    if (!r.ok()) return r.status().WithContext(name + " (" + flags.address + ")");
    if (!IsSuccess(*r)) {
      std::string why = name + ": " + ApiErrorText(*r);
      if (r->status == 503 && why.find("rocksdr is sealed") != std::string::npos) {
        // A DR secondary's sidecar stays sealed (README "Consistency check"); say what opens it.
        // The address as used (flags, ROCKSDR_ADDR or VAULT_ADDR): from the reply's "METHOD URL".
        const std::string url = r->url.substr(r->url.find(' ') + 1);
        why += ". The sidecar at " + url.substr(0, url.find("/v1/")) +
               " is sealed; a DR secondary's sidecar stays sealed after secondary/enable and after a restart. "
               "Unseal it with a quorum of the PRIMARY's unseal keys (rocksdr operator unseal, on that "
               "address), then run the check again with the primary's root token";
      }
      return Status::FailedPrecondition(why);
    }
    if (!r->body.is_object() || !r->body.contains("data") || !r->body["data"].is_object()) {
      return Status::Corruption(name + " answered " + path + " without a data object");
    }
    return r->body["data"];
  };
  return n;
}

void Run(Context& ctx, const Flags& f) {
  auto format = ResolveFormat(f.a.format);
  if (!format.ok()) return Fail(ctx, format.status().message());
  if (f.b_address.empty()) return Fail(ctx, "-secondary-address is required (the sidecar of the node to compare with)");
  sidecar::ConsistencyCheckOptions o;
  if (f.mode == "live") {
    o.mode = sidecar::ConsistencyMode::kLive;
  } else if (f.mode == "latest") {
    o.mode = sidecar::ConsistencyMode::kLatest;
  } else {
    return Fail(ctx, "-mode must be live (a primary and its running secondary, at the same sequence) or latest "
                     "(each node where it is, e.g. after a failover)");
  }
  o.bucket_keys = f.bucket_keys;
  o.page_buckets = f.page_buckets;
  auto t = ParseTimeoutMs(f.timeout);
  if (!t.ok()) return Fail(ctx, t.status().message());
  o.timeout_ms = *t;
  ClientFlags b = f.a;
  b.address = f.b_address;
  if (!f.b_token.empty()) b.token = f.b_token;
  const std::string a_name = o.mode == sidecar::ConsistencyMode::kLive ? "primary" : "a";
  const std::string b_name = o.mode == sidecar::ConsistencyMode::kLive ? "secondary" : "b";
  auto report = sidecar::RunConsistencyCheck(Node(a_name, f.a), Node(b_name, b), o);
  if (!report.ok()) return Fail(ctx, "Error running the consistency check: " + report.status().ToString(), kExitRemote);
  const nlohmann::json j = report->ToJson(a_name, b_name);
  if (*format == OutputFormat::kJson) {
    PrintJson(*ctx.out, j);
  } else {
    std::ostream& out = *ctx.out;
    const auto row = [&](const std::string& k, const std::string& v) {
      out << k << std::string(k.size() < 25 ? 25 - k.size() : 1, ' ') << v << "\n";
    };
    row("Key", "Value");
    row("---", "-----");
    row("match", report->match ? "true" : "false");
    row(a_name + "_sequence", std::to_string(report->a_sequence));
    row(b_name + "_sequence", std::to_string(report->b_sequence));
    row("buckets_compared", std::to_string(report->buckets_compared));
    row("keys_compared", std::to_string(report->keys_compared));
    if (!report->match) row("first_difference", report->difference);
  }
  ctx.exit_code = report->match ? kExitOk : kExitRemote;
}

}  // namespace

void RegisterOperatorDrConsistency(CLI::App& root, Context& ctx) {
  CLI::App* op = OperatorGroup(root);
  CLI::App* dr = nullptr;
  for (CLI::App* sub : op->get_subcommands([](CLI::App* a) { return a->get_name() == "dr"; })) dr = sub;
  if (dr == nullptr) {
    dr = op->add_subcommand("dr", "DR replication operator tasks");
    dr->require_subcommand(1);
  }
  auto f = std::make_shared<Flags>();
  CLI::App* c = dr->add_subcommand("consistency", "Compare a primary's data with its DR secondary's at one sequence");
  AddClientFlags(c, &f->a);
  c->add_option("--secondary-address", f->b_address, "Address of the other node's sidecar");
  c->add_option("--secondary-token", f->b_token, "Token for the other node (default: -token)");
  c->add_option("--mode", f->mode, "live (same sequence, secondary paused at it) or latest")->capture_default_str();
  c->add_option("--bucket-keys", f->bucket_keys, "Keys per digest bucket (1..100000)")->capture_default_str();
  c->add_option("--page-buckets", f->page_buckets, "Buckets per page (1..10000)")->capture_default_str();
  c->add_option("--timeout", f->timeout, "Wait for the secondary to reach the sequence (<= 30s)")->capture_default_str();
  c->callback([&ctx, f] { Run(ctx, *f); });
}

}  // namespace rocksdr::cli
