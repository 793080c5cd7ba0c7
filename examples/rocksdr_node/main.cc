// rocksdr_node: a small RocksDB application replicated through rocksdr. It opens its DB through
// rocksdr::Replicator with a plugin YAML (plugin/include/rocksdr/options.h) and runs as a DR
// primary or secondary until SIGTERM/SIGINT; or dumps a (closed) DB.
//
//   rocksdr_node primary   --db DIR --config plugin.yaml --cluster ID [--epoch N] [--port-file F]
//   rocksdr_node secondary --db DIR --config plugin.yaml --cluster ID --id SECONDARY_ID
//                          --primary HOST:PORT [--epoch N] [--no-verify-host] [--sync 0|1]
//   rocksdr_node dump      --db DIR
//   rocksdr_node serve     --db DIR --config plugin.yaml --control-socket PATH
//                          [--replication-address HOST:PORT] [--no-verify-host]
//                          [--load-every-ms N] [--sync 0|1]
//
// The TLS identity comes from the YAML's replication.tls files. `secondary` resumes a node that
// is already a secondary of that cluster (UpdatePrimary: keeps its position) and otherwise joins
// (BecomeSecondary: wipes it, the primary bootstraps it). Column families: "default", "users",
// "counters" plus whatever the stream creates; every one has a uint64-add merge operator
// (fixed64 little-endian counters), as the tests' primaries.
//
// serve opens the DB with the role as persisted (first start: the YAML's role) and leaves role
// changes to a sidecar (`rocksdr server`) that drives it through the control socket at PATH
// (rocksdr/control_server.h; the code path is common/served_node.h, shared with kv_service).
// --replication-address is the listener a primary opens when the
// sidecar enables or promotes it. With --load-every-ms N > 0 it also acts as the application: every
// N ms it puts "app/<8-digit n>" -> "value-<n>" in the default column family, n = 1, 2, ...
// continuing after the largest key already there; writes the plugin refuses (a secondary, a
// fenced primary) are skipped and retried at the next tick. It prints "rocksdr_node: wrote app/..."
// to stderr every 50 writes.
//
// dump prints one line per record of every column family except rocksdr's node-local one:
// "<cf>\t<hex key>\t<hex value>", sorted by column family then key; then "cursor\t<n>" if the
// DB holds an applied cursor. Exit status: 0 ok, 1 runtime error, 2 usage error.
#include <rocksdb/db.h>
#include <stdio.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/column_families.h"
#include "common/flags.h"
#include "common/port_file.h"
#include "common/served_node.h"
#include "common/stop_signals.h"
#include "rocksdr/replicator.h"

namespace {

using rocksdr::examples::ExampleCfOptions;
using rocksdr::examples::UInt64AddOperator;

std::string Hex(const rocksdb::Slice& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() * 2);
  for (size_t i = 0; i < s.size(); ++i) {
    out.push_back(d[static_cast<uint8_t>(s[i]) >> 4]);
    out.push_back(d[static_cast<uint8_t>(s[i]) & 15]);
  }
  return out;
}

int Usage(const std::string& why) {
  std::cerr << "rocksdr_node: " << why << "\n"
            << "usage: rocksdr_node primary --db DIR --config YAML --cluster ID [--epoch N] [--port-file F]\n"
            << "       rocksdr_node secondary --db DIR --config YAML --cluster ID --id ID --primary HOST:PORT\n"
            << "                              [--epoch N] [--no-verify-host] [--sync 0|1]\n"
            << "       rocksdr_node dump --db DIR\n"
            << "       rocksdr_node serve --db DIR --config YAML --control-socket PATH\n"
            << "                          [--replication-address HOST:PORT] [--no-verify-host]\n"
            << "                          [--load-every-ms N] [--sync 0|1]\n";
  return 2;
}

int Dump(const std::string& path) {
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names);
  if (!s.ok()) {
    std::cerr << "rocksdr_node: listing column families of " << path << ": " << s.ToString() << "\n";
    return 1;
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (auto& n : names) descs.emplace_back(n, ExampleCfOptions(n));
  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  s = rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), path, descs, &handles, &raw);
  if (!s.ok()) {
    std::cerr << "rocksdr_node: opening " << path << " read-only: " << s.ToString() << "\n";
    return 1;
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  std::map<std::string, rocksdb::ColumnFamilyHandle*> by_name;
  for (auto* h : handles) by_name[h->GetName()] = h;
  std::string cursor;
  int rc = 0;
  for (auto& [name, h] : by_name) {
    if (name == "__rocksdr_local") {
      std::string v;
      if (db->Get(rocksdb::ReadOptions(), h, "cursor", &v).ok()) cursor = std::to_string(UInt64AddOperator::Decode(v));
      continue;
    }
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), h));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::cout << name << '\t' << Hex(it->key()) << '\t' << Hex(it->value()) << '\n';
    }
    if (!it->status().ok()) {
      std::cerr << "rocksdr_node: reading " << name << ": " << it->status().ToString() << "\n";
      rc = 1;
    }
  }
  if (!cursor.empty()) std::cout << "cursor\t" << cursor << '\n';
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  return rc;
}

// The application's own writes in `serve`: one put every `every`, until `stop`.
void RunLoader(rocksdr::Replicator* r, std::chrono::milliseconds every, const std::atomic<bool>* stop) {
  uint64_t next = 1;
  // Continue after the largest key already written (a promoted secondary holds the primary's).
  rocksdr::Status s = r->WithDb([&](rocksdr::ReplicatedDB* db, const auto&) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    it->SeekForPrev("app/99999999");
    if (it->Valid() && it->key().starts_with("app/") && it->key().size() == 12) {
      next = std::stoull(it->key().ToString().substr(4)) + 1;
    }
    return rocksdr::Status::OK();
  });
  if (!s.ok()) std::cerr << "rocksdr_node: loader: " << s.ToString() << "\n";
  uint64_t written = 0;
  bool refused_reported = false;
  while (!stop->load()) {
    std::this_thread::sleep_for(every);
    char key[32];
    snprintf(key, sizeof(key), "app/%08llu", static_cast<unsigned long long>(next));
    const std::string value = "value-" + std::to_string(next);
    rocksdb::Status ws;
    s = r->WithDb([&](rocksdr::ReplicatedDB* db, const auto&) {
      ws = db->Put(rocksdb::WriteOptions(), key, value);
      return rocksdr::Status::OK();
    });
    if (!s.ok() || !ws.ok()) {
      if (!refused_reported) {
        std::cerr << "rocksdr_node: application writes refused, retrying: "
                  << (s.ok() ? ws.ToString() : s.ToString()) << "\n";
        refused_reported = true;
      }
      continue;
    }
    if (refused_reported) std::cerr << "rocksdr_node: application writes accepted again\n";
    refused_reported = false;
    ++next;
    if (++written % 50 == 0) std::cerr << "rocksdr_node: wrote " << key << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  namespace ex = rocksdr::examples;
  if (argc < 2) return Usage("missing command");
  const std::string cmd = argv[1];
  auto parsed = ex::Flags::Parse(argc, argv, 2, {"no-verify-host"});
  if (!parsed.ok()) return Usage(parsed.status().message());
  const ex::Flags& flags = *parsed;
  auto flag = [&](const std::string& name) { return flags.Get(name); };
  const bool verify_host = !flags.Switch("no-verify-host");
  if (flag("db").empty()) return Usage("--db is required");
  if (cmd == "dump") return Dump(flag("db"));
  if (cmd != "primary" && cmd != "secondary" && cmd != "serve") return Usage("unknown command '" + cmd + "'");
  if (flag("config").empty()) return Usage("--config is required");
  if (cmd == "serve" && flag("control-socket").empty()) return Usage("serve needs --control-socket");
  if (cmd != "serve" && flag("cluster").empty()) return Usage("--cluster is required");
  auto load_every_ms = flags.GetUint("load-every-ms", 0, 0, 999999);
  if (!load_every_ms.ok()) return Usage(load_every_ms.status().message());
  auto epoch = flags.GetUint("epoch", 1, 0, UINT64_MAX);
  if (!epoch.ok()) return Usage(epoch.status().message());

  ex::BlockStopSignals();
  ex::NodeOptions no;
  no.db_path = flag("db");
  no.config_path = flag("config");
  no.column_families = {"users", "counters"};
  no.sync_apply = flag("sync") != "0";

  if (cmd == "serve") {
    ex::ServeOptions so;
    so.socket_path = flag("control-socket");
    so.replication_address = flag("replication-address");
    so.verify_primary_host = verify_host;
    auto node = ex::ServedNode::Open(no, so);
    if (!node.ok()) {
      std::cerr << "rocksdr_node: " << node.status().ToString() << "\n";
      return 1;
    }
    rocksdr::Replicator* r = (*node)->replicator();
    std::atomic<bool> stop{false};
    std::thread loader;
    if (*load_every_ms > 0) loader = std::thread(RunLoader, r, std::chrono::milliseconds(*load_every_ms), &stop);
    std::cerr << "rocksdr_node: serving control socket " << flag("control-socket") << " as "
              // Not r->db(): the control socket is already serving, and a bootstrap may be
              // replacing the DB right now (found by TSan); GetStatus() is safe against that.
              << rocksdr::RoleName(r->GetStatus().role) << " (pid " << getpid() << ")\n";
    ex::WaitForStopSignal();
    stop = true;
    if (loader.joinable()) loader.join();
    const rocksdr::Status s = (*node)->Close();
    if (!s.ok()) {
      std::cerr << "rocksdr_node: closing: " << s.ToString() << "\n";
      return 1;
    }
    return 0;
  }

  auto opened = ex::OpenExampleReplicator(no);
  if (!opened.ok()) {
    std::cerr << "rocksdr_node: " << opened.status().ToString() << "\n";
    return 1;
  }
  std::unique_ptr<rocksdr::Replicator> r = std::move(*opened);
  rocksdr::Status s;
  if (cmd == "primary") {
    rocksdr::PrimaryConfig c;
    c.cluster_id = flag("cluster");
    c.epoch = *epoch;
    s = r->BecomePrimary(c);
    if (s.ok() && !flag("port-file").empty()) s = ex::WritePortFile(flag("port-file"), r->port());
  } else {
    if (flag("id").empty() || flag("primary").empty()) return Usage("secondary needs --id and --primary");
    rocksdr::SecondaryBundle b;
    b.cluster_id = flag("cluster");
    b.epoch = *epoch;
    b.secondary_id = flag("id");
    b.primary_address = flag("primary");
    b.verify_primary_host = verify_host;
    const bool resume = r->db()->role() == rocksdr::Role::kSecondary && r->db()->cluster_id() == b.cluster_id;
    s = resume ? r->UpdatePrimary(b) : r->BecomeSecondary(b);
  }
  if (!s.ok()) {
    std::cerr << "rocksdr_node: " << s.ToString() << "\n";
    return 1;
  }
  std::cerr << "rocksdr_node: running as " << cmd << " (pid " << getpid() << ")\n";
  ex::WaitForStopSignal();
  s = r->Close();
  if (!s.ok()) {
    std::cerr << "rocksdr_node: closing: " << s.ToString() << "\n";
    return 1;
  }
  return 0;
}
