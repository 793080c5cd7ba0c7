// Decide / AttachOnOpen; see preload_attach.h.
#include "preload_attach.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>

#include "preloaded_db.h"
#include "rocksdr/control_server.h"
#include "rocksdr/options.h"
#include "rocksdr/replicator.h"
#include "rocksdr/rocksdr.h"

namespace rocksdr::preload {

thread_local int ReentryGuard::depth_ = 0;

namespace {

constexpr char kReservedReplicated[] = "__rocksdr_replicated";
constexpr char kReservedLocal[] = "__rocksdr_local";

struct Config {
  std::string source;  // the ROCKSDR_CONFIG value
  Result<PluginOptions> options = Status::Internal("not loaded");
  std::vector<std::string> databases;  // normalized
};

// Absolute, symlinks of the existing part resolved, no "."/".."/trailing "/".
std::string Normalize(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  if (ec) return path;
  std::filesystem::path c = std::filesystem::weakly_canonical(p, ec);
  std::string s = (ec ? p.lexically_normal() : c).string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

const Config& LoadConfig() {
  static Config config;
  static std::once_flag once;
  std::call_once(once, [] {
    const char* env = std::getenv("ROCKSDR_CONFIG");
    if (env == nullptr || *env == '\0') {
      config.options = Status::InvalidArgument(
          "ROCKSDR_CONFIG is not set: set it to the plugin YAML that names the DBs to replicate "
          "(preload.databases), or remove librocksdr_preload.so from LD_PRELOAD");
      return;
    }
    config.source = env;
    config.options = LoadPluginOptionsFromYaml(config.source);
    if (!config.options.ok()) return;
    for (const auto& d : config.options->preload.databases) config.databases.push_back(Normalize(d));
    if (config.databases.empty()) {
      Log("WARNING: " + config.source + " names no DB (preload.databases is empty): nothing is replicated");
    }
  });
  return config;
}

rocksdb::Status ToRocks(const Status& s, const std::string& context) {
  const std::string msg = "rocksdr preload: " + context + ": " + s.message();
  switch (s.code()) {
    case Code::kInvalidArgument:
    case Code::kFailedPrecondition:
    case Code::kNotFound:
    case Code::kPermissionDenied: return rocksdb::Status::InvalidArgument(msg);
    default: return rocksdb::Status::IOError(msg);
  }
}

Status MakeStateDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("creating the state directory " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  return Status::OK();
}

std::optional<uint64_t> ReadEpochFile(const std::string& path) {
  std::ifstream in(path);
  uint64_t v = 0;
  if (in >> v) return v;
  return std::nullopt;
}

void WriteEpochFile(const std::string& path, uint64_t epoch) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << epoch << "\n";
    if (!out.good()) {
      Log("WARNING: cannot write " + tmp + ": a DB created again at this path would reuse epoch " +
          std::to_string(epoch));
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) Log("WARNING: cannot rename " + tmp + ": " + ec.message());
}

// The replicated open. On success *dbptr is a PreloadedDB and *handles the application's.
Status AttachReplicated(const rocksdb::DBOptions& db_options, const std::string& name,
                        const std::vector<rocksdb::ColumnFamilyDescriptor>& column_families,
                        std::vector<rocksdb::ColumnFamilyHandle*>* handles, rocksdb::DB** dbptr,
                        const PluginOptions& po) {
  const PreloadOptions& pre = po.preload;
  const std::string state_dir = ResolveStateDir(po, name);
  ROCKSDR_RETURN_IF_ERROR(MakeStateDir(state_dir));
  Log(name + ": WAL retention for replication: WAL_ttl_seconds=" + std::to_string(po.wal_ttl_seconds) +
      " (the application asked " + std::to_string(db_options.WAL_ttl_seconds) + "), WAL_size_limit_MB=" +
      std::to_string(po.wal_size_limit_mb) + " (asked " + std::to_string(db_options.WAL_size_limit_MB) +
      "); from wal_retention in the config");

  std::unique_ptr<ReplicatedDB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> app_handles;
  ROCKSDR_RETURN_IF_ERROR(rocksdr::Open(db_options, po, name, column_families, &app_handles, &db));
  auto destroy_handles = [&](ReplicatedDB* d) {
    for (auto* h : app_handles) d->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    app_handles.clear();
  };
  if (db->role() == Role::kSecondary) {
    destroy_handles(db.get());
    return Status::FailedPrecondition(
        "the DB is a DR secondary (role persisted in it): the preload runs DR primaries only; run the secondary "
        "with its own runtime (rocksdr_node secondary / serve) or promote it there first");
  }
  const bool continues = db->role() == Role::kPrimary && db->cluster_id() == pre.cluster_id;
  uint64_t epoch = pre.epoch;
  const std::string epoch_file = state_dir + "/preload-epoch";
  if (!continues) {
    if (auto last = ReadEpochFile(epoch_file); last && *last + 1 > epoch) {
      Log(name + ": a new history at a path that held epoch " + std::to_string(*last) + ": starting at epoch " +
          std::to_string(*last + 1) + " so that its secondaries are bootstrapped");
      epoch = *last + 1;
    }
  }

  DbSpec spec;
  spec.path = name;
  spec.db_options = db_options;
  spec.plugin_options = po;
  auto adopted = Replicator::Adopt(std::move(db), spec);
  if (!adopted.ok()) return adopted.status();  // (only for an empty path, which cannot happen here)
  std::unique_ptr<Replicator> r = std::move(*adopted);
  auto fail = [&](const Status& s) {
    destroy_handles(r->db());
    (void)r->Close();
    return s;
  };
  PrimaryConfig pc;
  pc.cluster_id = pre.cluster_id;
  pc.epoch = epoch;
  if (Status s = r->BecomePrimary(pc); !s.ok()) return fail(s.WithContext("starting the DR primary"));
  WriteEpochFile(epoch_file, r->db()->epoch());

  ControlServerOptions co;
  co.replication_listen_address = po.replication_listen_address;
  const std::string socket = ResolveControlSocketPath(po, name);
  auto control = StartControlServer(r.get(), socket, co);
  if (!control.ok()) return fail(control.status().WithContext("starting the control socket " + socket));

  PreloadStatus st;
  st.db_path = name;
  st.replicated = true;
  st.state = "primary";
  st.cluster_id = r->db()->cluster_id();
  st.epoch = r->db()->epoch();
  st.replication_port = r->port();
  st.control_socket = socket;
  WriteStatusFile(state_dir, st);
  Log(name + ": replicating as DR primary of cluster " + st.cluster_id + " at epoch " + std::to_string(st.epoch) +
      "; replication listener port " + std::to_string(st.replication_port) + ", control socket " + socket);
  *handles = std::move(app_handles);
  *dbptr = new PreloadedDB(std::move(r), std::move(*control), st, state_dir);
  return Status::OK();
}

// on_error: continue — the application's open as it asked, plus rocksdr's reserved column
// families if the DB has them (RocksDB refuses to open a DB without all its column families);
// their handles are dropped at once.
rocksdb::Status OpenUnreplicated(const rocksdb::DBOptions& db_options, const std::string& name,
                                 const std::vector<rocksdb::ColumnFamilyDescriptor>& column_families,
                                 std::vector<rocksdb::ColumnFamilyHandle*>* handles, rocksdb::DB** dbptr,
                                 RealOpen5 real) {
  std::vector<std::string> existing;
  rocksdb::DB::ListColumnFamilies(db_options, name, &existing).PermitUncheckedError();  // fails for a new DB
  std::vector<rocksdb::ColumnFamilyDescriptor> descs = column_families;
  for (const char* reserved : {kReservedReplicated, kReservedLocal}) {
    const bool listed = std::any_of(column_families.begin(), column_families.end(),
                                    [&](const auto& d) { return d.name == reserved; });
    if (!listed && std::find(existing.begin(), existing.end(), reserved) != existing.end()) {
      descs.emplace_back(reserved, rocksdb::ColumnFamilyOptions());
    }
  }
  std::vector<rocksdb::ColumnFamilyHandle*> all;
  rocksdb::Status s = real(db_options, name, descs, &all, dbptr);
  if (!s.ok()) return s;
  for (size_t i = column_families.size(); i < all.size(); ++i) {
    (*dbptr)->DestroyColumnFamilyHandle(all[i]).PermitUncheckedError();
  }
  all.resize(column_families.size());
  *handles = std::move(all);
  return s;
}

}  // namespace

Decision Decide(const std::string& name, rocksdb::Status* refusal) {
  const Config& c = LoadConfig();
  if (!c.options.ok()) {
    const std::string what = c.source.empty() ? "no configuration" : "cannot use ROCKSDR_CONFIG=" + c.source;
    Log("ERROR: refusing to open " + name + ": " + what + ": " + c.options.status().ToString() +
        " (fix the file, or remove librocksdr_preload.so from LD_PRELOAD)");
    *refusal = ToRocks(c.options.status(), what);
    return Decision::kRefuse;
  }
  const std::string n = Normalize(name);
  return std::find(c.databases.begin(), c.databases.end(), n) != c.databases.end() ? Decision::kAttach
                                                                                    : Decision::kPassThrough;
}

rocksdb::Status AttachOnOpen(const rocksdb::DBOptions& db_options, const std::string& name,
                             const std::vector<rocksdb::ColumnFamilyDescriptor>& column_families,
                             std::vector<rocksdb::ColumnFamilyHandle*>* handles, rocksdb::DB** dbptr,
                             RealOpen5 real) {
  const Config& c = LoadConfig();
  const PluginOptions& po = *c.options;
  Log(name + ": opening under replication (" + c.source + ")");
  Status s = AttachReplicated(db_options, name, column_families, handles, dbptr, po);
  if (s.ok()) return rocksdb::Status::OK();
  if (po.preload.on_error == PreloadOnError::kFail) {
    Log("ERROR: " + name + " NOT opened: " + s.ToString() +
        " (preload.on_error: fail; set it to continue to run unreplicated instead)");
    return ToRocks(s, name + " not opened under replication");
  }
  Log("WARNING: " + name + " runs UNREPLICATED (preload.on_error: continue): " + s.ToString() +
      ". Its writes are NOT shipped to any DR secondary until this is fixed and the DB is reopened");
  PreloadStatus st;
  st.db_path = name;
  st.replicated = false;
  st.state = "unreplicated";
  st.error = s.ToString();
  st.cluster_id = po.preload.cluster_id;
  const std::string state_dir = ResolveStateDir(po, name);
  if (MakeStateDir(state_dir).ok()) WriteStatusFile(state_dir, st);
  return OpenUnreplicated(db_options, name, column_families, handles, dbptr, real);
}

}  // namespace rocksdr::preload
