// rocksdr::Open / rocksdr::Attach; see rocksdr/rocksdr.h.
#include <rocksdb/db.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "info_log.h"
#include "listener.h"
#include "replicated_db.h"
#include "reserved_cf.h"
#include "rocks_status.h"
#include "rocksdr/rocksdr.h"
#include "state_store.h"

namespace rocksdr {

namespace {

// The state directory holds the bootstrap checkpoints (and, by default, the control socket). A
// path that names something else would only fail at the first bootstrap, far from the cause.
Status CheckStateDir(const PluginOptions& plugin_options, const std::string& db_path) {
  const std::string dir = ResolveStateDir(plugin_options, db_path);
  std::error_code ec;
  const auto st = std::filesystem::status(dir, ec);
  if (ec || !std::filesystem::exists(st) || std::filesystem::is_directory(st)) return Status::OK();
  return Status::InvalidArgument(
      "state_dir " + dir + " exists and is not a directory: rocksdr keeps its bootstrap checkpoints there" +
      (plugin_options.state_dir.empty() ? " (the default, the DB path + \".rocksdr\")" : "") +
      ". Move the file away, or set state_dir to a directory");
}

using plugin::kLocalCf;
using plugin::kReplicatedCf;

bool IsReservedName(const std::string& name) { return name == kReplicatedCf || name == kLocalCf; }

// Options the WAL tailer cannot follow (reference/wal-tailing-pitfalls.md, items 8, 9, 11).
Status CheckDbOptions(const rocksdb::DBOptions& o) {
  if (o.unordered_write) {
    return Status::InvalidArgument(
        "DBOptions::unordered_write=true is refused by rocksdr: writes become visible out of sequence "
        "order, so the WAL tailer could ship an incomplete prefix; open with unordered_write=false");
  }
  if (o.two_write_queues) {
    return Status::InvalidArgument(
        "DBOptions::two_write_queues=true is refused by rocksdr: the second queue's WAL-only writes "
        "publish sequence numbers out of WAL order; open with two_write_queues=false");
  }
  if (o.manual_wal_flush) {
    return Status::InvalidArgument(
        "DBOptions::manual_wal_flush=true is refused by rocksdr: WAL records stay invisible to the "
        "tailer until FlushWAL, so replication would stall; open with manual_wal_flush=false");
  }
  if (o.allow_2pc) {
    return Status::InvalidArgument(
        "DBOptions::allow_2pc=true is refused by rocksdr: two-phase-commit (TransactionDB) prepare and "
        "commit records cannot be replicated yet; open without 2PC");
  }
  return Status::OK();
}

// Is the DB's archive at least as retentive as the plugin asks? 0 means "no bound" for one
// dimension when the other is set (see DBOptions::WAL_ttl_seconds).
Status CheckRetention(const rocksdb::DBOptions& o, const PluginOptions& p) {
  if (o.WAL_ttl_seconds == 0 && o.WAL_size_limit_MB == 0) {
    return Status::InvalidArgument(
        "DBOptions::WAL_ttl_seconds and WAL_size_limit_MB are both 0: the DB keeps no WAL archive, so any "
        "lag would force a re-bootstrap; open it with WAL_ttl_seconds=" + std::to_string(p.wal_ttl_seconds) +
        " and WAL_size_limit_MB=" + std::to_string(p.wal_size_limit_mb) + " (wal_retention)");
  }
  const bool ttl_ok = o.WAL_ttl_seconds == 0 || (p.wal_ttl_seconds != 0 && o.WAL_ttl_seconds >= p.wal_ttl_seconds);
  if (!ttl_ok) {
    return Status::InvalidArgument("DBOptions::WAL_ttl_seconds=" + std::to_string(o.WAL_ttl_seconds) +
                                   " keeps less WAL than wal_retention.ttl_seconds=" +
                                   std::to_string(p.wal_ttl_seconds) + " asks (0 = unbounded); reopen the DB with it");
  }
  const bool size_ok =
      o.WAL_size_limit_MB == 0 || (p.wal_size_limit_mb != 0 && o.WAL_size_limit_MB >= p.wal_size_limit_mb);
  if (!size_ok) {
    return Status::InvalidArgument("DBOptions::WAL_size_limit_MB=" + std::to_string(o.WAL_size_limit_MB) +
                                   " keeps less WAL than wal_retention.size_mb=" + std::to_string(p.wal_size_limit_mb) +
                                   " asks (0 = unbounded); reopen the DB with it");
  }
  return Status::OK();
}

// Common tail of Open and Attach: creates the missing reserved column families, loads the
// node state and builds the wrapper. On failure, destroys only the handles it created and
// leaves `base` to the caller.
Status Finish(rocksdb::DB* base, std::vector<rocksdb::ColumnFamilyHandle*> app_handles,
              rocksdb::ColumnFamilyHandle* replicated, rocksdb::ColumnFamilyHandle* local,
              const PluginOptions& options, std::shared_ptr<plugin::DbEvents> events, bool listener_attached,
              std::unique_ptr<ReplicatedDB>* out) {
  std::vector<rocksdb::ColumnFamilyHandle*> created;
  auto cleanup = [&] {
    for (auto* h : created) base->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  };
  for (auto [name, slot] : {std::pair{kReplicatedCf, &replicated}, std::pair{kLocalCf, &local}}) {
    if (*slot != nullptr) continue;
    rocksdb::Status s = base->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), std::string(name), slot);
    if (!s.ok()) {
      cleanup();
      return plugin::FromRocks(s, "creating rocksdr's column family " + std::string(name));
    }
    created.push_back(*slot);
  }
  Result<plugin::NodeState> state = plugin::StateStore(base, local).Load();
  if (!state.ok()) {
    cleanup();
    return state.status().WithContext("loading rocksdr's node state");
  }
  plugin::ReplicatedDBImpl::Parts parts;
  parts.base = base;
  parts.options = options;
  parts.replicated_cf = replicated;
  parts.local_cf = local;
  parts.app_handles = std::move(app_handles);
  parts.events = std::move(events);
  parts.listener_attached = listener_attached;
  parts.state = std::move(*state);
  *out = std::make_unique<plugin::ReplicatedDBImpl>(std::move(parts));
  return Status::OK();
}

}  // namespace

Status Open(const rocksdb::DBOptions& db_options, const PluginOptions& plugin_options, const std::string& path,
            const std::vector<rocksdb::ColumnFamilyDescriptor>& column_families,
            std::vector<rocksdb::ColumnFamilyHandle*>* handles, std::unique_ptr<ReplicatedDB>* db) {
  plugin::EnsureObjectsRegistered();
  ROCKSDR_RETURN_IF_ERROR(ValidatePluginOptions(plugin_options).WithContext("plugin options"));
  ROCKSDR_RETURN_IF_ERROR(CheckStateDir(plugin_options, path));
  ROCKSDR_RETURN_IF_ERROR(CheckDbOptions(db_options));
  for (const auto& d : column_families) {
    if (IsReservedName(d.name)) {
      return Status::InvalidArgument("column family '" + d.name + "' is reserved for rocksdr; do not list it");
    }
  }

  rocksdb::DBOptions opts = db_options;
  opts.WAL_ttl_seconds = plugin_options.wal_ttl_seconds;
  opts.WAL_size_limit_MB = plugin_options.wal_size_limit_mb;
  opts.listeners.erase(std::remove_if(opts.listeners.begin(), opts.listeners.end(),
                                      [](const auto& l) {
                                        return std::dynamic_pointer_cast<plugin::RocksdrListener>(l) != nullptr;
                                      }),
                       opts.listeners.end());
  auto listener = std::make_shared<plugin::RocksdrListener>();
  opts.listeners.push_back(listener);
  // RocksDB's own info LOG aborts the process on a full disk in builds with assertions
  // (info_log.h): unless the application chose a logger or a log directory, use rocksdr's.
  if (opts.info_log == nullptr && opts.db_log_dir.empty()) opts.info_log = plugin::OpenInfoLog(path, opts);

  // Open the reserved column families that exist; Finish creates the missing ones (so the
  // application's create_missing_column_families keeps its meaning for its own families).
  std::vector<std::string> existing;
  rocksdb::DB::ListColumnFamilies(opts, path, &existing).PermitUncheckedError();  // fails for a new DB
  std::vector<rocksdb::ColumnFamilyDescriptor> descs = column_families;
  std::vector<std::string> reserved_opened;
  for (std::string_view name : {kReplicatedCf, kLocalCf}) {
    if (std::find(existing.begin(), existing.end(), name) != existing.end()) {
      descs.emplace_back(std::string(name), rocksdb::ColumnFamilyOptions());
      reserved_opened.emplace_back(name);
    }
  }

  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> all;
  rocksdb::Status s = rocksdb::DB::Open(opts, path, descs, &all, &raw);
  if (!s.ok()) {
    // RocksDB's "While lock file: <db>/LOCK: Resource temporarily unavailable" (another process)
    // and "lock hold by current process ... <db>/LOCK" (another open in this one): say what it means.
    const std::string m = s.ToString();
    if (m.find("/LOCK") != std::string::npos && (m.find("Resource temporarily unavailable") != std::string::npos ||
                                                 m.find("lock hold by current process") != std::string::npos)) {
      return plugin::FromRocks(s, "opening " + path + " (another process, or another open in this one, already has "
                                  "this DB: stop it first)");
    }
    return plugin::FromRocks(s, "opening " + path);
  }

  rocksdb::ColumnFamilyHandle* replicated = nullptr;
  rocksdb::ColumnFamilyHandle* local = nullptr;
  for (size_t i = column_families.size(); i < all.size(); ++i) {
    (all[i]->GetName() == kReplicatedCf ? replicated : local) = all[i];
  }
  std::vector<rocksdb::ColumnFamilyHandle*> app(all.begin(), all.begin() + column_families.size());
  Status st = Finish(raw, app, replicated, local, plugin_options, listener->events(), true, db);
  if (!st.ok()) {
    for (auto* h : all) raw->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    delete raw;
    return st;
  }
  *handles = std::move(app);
  return Status::OK();
}

Status Open(const rocksdb::Options& options, const PluginOptions& plugin_options, const std::string& path,
            std::unique_ptr<ReplicatedDB>* db) {
  std::vector<rocksdb::ColumnFamilyDescriptor> descs = {
      rocksdb::ColumnFamilyDescriptor(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions(options))};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  ROCKSDR_RETURN_IF_ERROR(Open(rocksdb::DBOptions(options), plugin_options, path, descs, &handles, db));
  // The default column family stays reachable through DefaultColumnFamily().
  for (auto* h : handles) (*db)->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  return Status::OK();
}

Status Attach(rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>& handles,
              const PluginOptions& plugin_options, std::unique_ptr<ReplicatedDB>* out) {
  plugin::EnsureObjectsRegistered();
  if (db == nullptr) return Status::InvalidArgument("Attach: db is null");
  ROCKSDR_RETURN_IF_ERROR(ValidatePluginOptions(plugin_options).WithContext("plugin options"));
  ROCKSDR_RETURN_IF_ERROR(CheckStateDir(plugin_options, db->GetName()));
  const rocksdb::DBOptions opts = db->GetDBOptions();
  ROCKSDR_RETURN_IF_ERROR(CheckDbOptions(opts));
  ROCKSDR_RETURN_IF_ERROR(CheckRetention(opts, plugin_options));

  rocksdb::ColumnFamilyHandle* replicated = nullptr;
  rocksdb::ColumnFamilyHandle* local = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> app;
  for (auto* h : handles) {
    if (h == nullptr) continue;
    if (h->GetName() == kReplicatedCf) {
      replicated = h;
    } else if (h->GetName() == kLocalCf) {
      local = h;
    } else {
      app.push_back(h);
    }
  }
  std::shared_ptr<plugin::RocksdrListener> listener = plugin::FindRocksdrListener(opts);
  return Finish(db, app, replicated, local, plugin_options,
                listener ? listener->events() : std::make_shared<plugin::DbEvents>(), listener != nullptr, out);
}

}  // namespace rocksdr
