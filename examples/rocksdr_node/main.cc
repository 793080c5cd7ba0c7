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
// (rocksdr/control_server.h). --replication-address is the listener a primary opens when the
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
#include <rocksdb/merge_operator.h>
#include <signal.h>
#include <stdio.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "rocksdr/control_server.h"
#include "rocksdr/options.h"
#include "rocksdr/replicator.h"

namespace {

class UInt64Add : public rocksdb::AssociativeMergeOperator {
 public:
  static uint64_t Decode(const rocksdb::Slice& s) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | (static_cast<size_t>(i) < s.size() ? static_cast<uint8_t>(s[i]) : 0);
    return v;
  }
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger*) const override {
    const uint64_t sum = (existing ? Decode(*existing) : 0) + Decode(value);
    new_value->assign(8, '\0');
    for (int i = 0; i < 8; ++i) (*new_value)[i] = static_cast<char>((sum >> (8 * i)) & 0xff);
    return true;
  }
  const char* Name() const override { return "RocksdrTestUInt64Add"; }
};

rocksdb::ColumnFamilyOptions CfOptions(const std::string&) {
  rocksdb::ColumnFamilyOptions o;
  o.merge_operator = std::make_shared<UInt64Add>();
  return o;
}

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
  for (auto& n : names) descs.emplace_back(n, CfOptions(n));
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
      if (db->Get(rocksdb::ReadOptions(), h, "cursor", &v).ok()) cursor = std::to_string(UInt64Add::Decode(v));
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
  if (argc < 2) return Usage("missing command");
  const std::string cmd = argv[1];
  std::map<std::string, std::string> flags;
  bool verify_host = true;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--no-verify-host") {
      verify_host = false;
      continue;
    }
    if (a.rfind("--", 0) != 0 || i + 1 >= argc) return Usage("bad argument '" + a + "'");
    flags[a.substr(2)] = argv[++i];
  }
  auto flag = [&](const std::string& name) { return flags.count(name) ? flags[name] : std::string(); };
  if (flag("db").empty()) return Usage("--db is required");
  if (cmd == "dump") return Dump(flag("db"));
  if (cmd != "primary" && cmd != "secondary" && cmd != "serve") return Usage("unknown command '" + cmd + "'");
  if (flag("config").empty()) return Usage("--config is required");
  if (cmd == "serve" && flag("control-socket").empty()) return Usage("serve needs --control-socket");
  if (cmd != "serve" && flag("cluster").empty()) return Usage("--cluster is required");
  uint64_t load_every_ms = 0;
  if (!flag("load-every-ms").empty()) {
    const std::string& v = flag("load-every-ms");
    if (v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos) {
      return Usage("--load-every-ms must be a number of milliseconds below 1000000");
    }
    load_every_ms = std::stoull(v);
  }
  uint64_t epoch = 1;
  if (!flag("epoch").empty()) epoch = std::stoull(flag("epoch"));

  // Handle SIGTERM/SIGINT synchronously: block them in every thread, wait for one below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto po = rocksdr::LoadPluginOptionsFromYaml(flag("config"));
  if (!po.ok()) {
    std::cerr << "rocksdr_node: " << po.status().ToString() << "\n";
    return 1;
  }
  rocksdr::DbSpec spec;
  spec.path = flag("db");
  spec.db_options.create_if_missing = true;
  spec.cf_options = CfOptions;
  spec.column_families = {"users", "counters"};
  spec.plugin_options = *po;
  rocksdr::ReplicatorOptions ro;
  ro.sync_apply = flag("sync") != "0";
  ro.reconnect_initial_ms = 20;
  ro.reconnect_cap_ms = 500;
  auto opened = rocksdr::Replicator::Open(spec, ro);
  if (!opened.ok()) {
    std::cerr << "rocksdr_node: " << opened.status().ToString() << "\n";
    return 1;
  }
  std::unique_ptr<rocksdr::Replicator> r = std::move(*opened);

  rocksdr::Status s;
  if (cmd == "serve") {
    rocksdr::ControlServerOptions co;
    co.replication_listen_address = flag("replication-address");
    co.verify_primary_host = verify_host;
    auto cs = rocksdr::StartControlServer(r.get(), flag("control-socket"), co);
    if (!cs.ok()) {
      std::cerr << "rocksdr_node: control socket: " << cs.status().ToString() << "\n";
      return 1;
    }
    std::atomic<bool> stop{false};
    std::thread loader;
    if (load_every_ms > 0) loader = std::thread(RunLoader, r.get(), std::chrono::milliseconds(load_every_ms), &stop);
    std::cerr << "rocksdr_node: serving control socket " << flag("control-socket") << " as "
              << rocksdr::RoleName(r->db()->role()) << " (pid " << getpid() << ")\n";
    int sig = 0;
    sigwait(&stop_signals, &sig);
    stop = true;
    if (loader.joinable()) loader.join();
    (*cs)->Stop();
    s = r->Close();
    if (!s.ok()) {
      std::cerr << "rocksdr_node: closing: " << s.ToString() << "\n";
      return 1;
    }
    return 0;
  }
  if (cmd == "primary") {
    rocksdr::PrimaryConfig c;
    c.cluster_id = flag("cluster");
    c.epoch = epoch;
    s = r->BecomePrimary(c);
    if (s.ok() && !flag("port-file").empty()) {
      const std::string tmp = flag("port-file") + ".tmp";
      std::ofstream(tmp) << r->port() << "\n";
      std::rename(tmp.c_str(), flag("port-file").c_str());
    }
  } else {
    if (flag("id").empty() || flag("primary").empty()) return Usage("secondary needs --id and --primary");
    rocksdr::SecondaryBundle b;
    b.cluster_id = flag("cluster");
    b.epoch = epoch;
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
  int sig = 0;
  sigwait(&stop_signals, &sig);
  s = r->Close();
  if (!s.ok()) {
    std::cerr << "rocksdr_node: closing: " << s.ToString() << "\n";
    return 1;
  }
  return 0;
}
