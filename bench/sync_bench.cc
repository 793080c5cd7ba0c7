// Synchronous replication benchmark (issue 9): throughput and latency of application writes at
// 1, 4 and 16 writer threads for ack modes async, received and durable, in ONE run, reported as
// ratios to async and as latency added to async. Not a Google Benchmark suite: it drives a real
// secondary process.
//
//   sync_bench [--seconds S] [--threads 1,4,16] [--primary-sync 0|1] [--secondary-sync 0|1]
//              [--value-bytes B] [--node PATH]
//
// Per mode: a fresh primary (rocksdr::Replicator in this process, mutual TLS on 127.0.0.1) with
// plugin option ack.mode = <mode>, count 1, and a fresh DR secondary (examples/rocksdr_node in
// its own process, `--sync` as given: 1 = the secondary syncs its WAL with every applied group,
// which is what makes `durable` durable). Each thread count runs S seconds; every write is a
// 1-put WriteBatch (16-byte key, B-byte value), WriteOptions.sync = --primary-sync (default 1:
// the primary is durable locally too, like PostgreSQL's synchronous_commit=on vs. a local-only
// commit). Latency is measured around DB::Write.
//
// Target (issue 9): durable >= 0.75x async writes/s at 16 threads.
#include <rocksdb/db.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "rocksdr/crypto/x509_ca.h"
#include "rocksdr/replicator.h"

namespace {

using Clock = std::chrono::steady_clock;
using rocksdr::bench::Die;
using rocksdr::bench::Pki;
using rocksdr::bench::WriteFile;
constexpr char kCluster[] = "sync-bench";

bool WaitAcked(rocksdr::Replicator* p, uint64_t seq, std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    for (const auto& s : p->GetSecondaryStatus()) {
      if (s.id == "s1" && s.durable_sequence >= seq) return true;
    }
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

struct Run {
  double writes_per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
  uint64_t writes = 0;
  uint64_t failures = 0;
};

double Percentile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(i), v.end());
  return v[i];
}

Run Measure(rocksdr::ReplicatedDB* db, int threads, double seconds, bool sync, size_t value_bytes,
            std::atomic<uint64_t>* next_key) {
  std::vector<std::vector<double>> lat(threads);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> failures{0};
  std::vector<std::thread> ts;
  const std::string value(value_bytes, 'v');
  const auto t0 = Clock::now();
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      lat[t].reserve(1 << 16);
      rocksdb::WriteOptions wo;
      wo.sync = sync;
      char key[32];
      while (!stop.load(std::memory_order_relaxed)) {
        std::snprintf(key, sizeof key, "key%013llu", static_cast<unsigned long long>(next_key->fetch_add(1)));
        rocksdb::WriteBatch wb;
        wb.Put(key, value);
        const auto w0 = Clock::now();
        rocksdb::Status s = db->Write(wo, &wb);
        const auto w1 = Clock::now();
        if (!s.ok()) {
          ++failures;
          continue;
        }
        lat[t].push_back(std::chrono::duration<double, std::micro>(w1 - w0).count());
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : ts) th.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  Run r;
  r.writes = all.size();
  r.failures = failures.load();
  r.writes_per_second = static_cast<double>(all.size()) / elapsed;
  r.p50_us = Percentile(all, 0.50);
  r.p99_us = Percentile(all, 0.99);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strncmp(argv[i], "--", 2) != 0) Die(std::string("bad argument ") + argv[i]);
    flags[argv[i] + 2] = argv[i + 1];
  }
  auto num = [&](const char* name, double def) { return flags.count(name) ? std::stod(flags[name]) : def; };
  const double seconds = num("seconds", 3);
  const bool primary_sync = num("primary-sync", 1) != 0;
  const bool secondary_sync = num("secondary-sync", 1) != 0;
  const size_t value_bytes = static_cast<size_t>(num("value-bytes", 100));
  std::vector<int> thread_counts;
  {
    std::stringstream ss(flags.count("threads") ? flags["threads"] : "1,4,16");
    std::string item;
    while (std::getline(ss, item, ',')) thread_counts.push_back(std::stoi(item));
  }
  const std::string node = rocksdr::bench::NodeProgram(flags.count("node") ? flags["node"] : "");

  const rocksdr::bench::ScratchDir scratch("rocksdr-sync-bench");
  const std::string& dir = scratch.path();

  Pki pki = Pki::Create(kCluster);
  pki.server = pki.Issue("primary", rocksdr::crypto::CertificateUsage::kServer);
  Pki::WriteCertificate(pki.Issue("s1", rocksdr::crypto::CertificateUsage::kClient), dir + "/s1");
  WriteFile(dir + "/ca.crt", pki.ca.cert_pem);

  std::printf("sync_bench: %.1f s per point, primary WriteOptions.sync=%d, secondary sync per apply=%d, %zu-byte "
              "values, secondary in its own process\n",
              seconds, primary_sync ? 1 : 0, secondary_sync ? 1 : 0, value_bytes);
  std::printf("%-9s %7s %12s %9s %9s %10s %12s %12s %8s\n", "mode", "threads", "writes/s", "p50_us", "p99_us",
              "vs_async", "added_p50", "added_p99", "failed");
  std::map<int, Run> async_runs;
  for (const char* mode : {"async", "received", "durable"}) {
    const std::string m = mode;
    const std::string sdir = dir + "/" + m;
    std::filesystem::create_directories(sdir);
    WriteFile(sdir + "/s1.yaml",
              rocksdr::bench::SecondaryYaml(sdir + "/s1.state", dir + "/s1.crt", dir + "/s1.key", dir + "/ca.crt"));
    rocksdr::DbSpec spec;
    spec.path = sdir + "/primary";
    spec.db_options.create_if_missing = true;
    spec.plugin_options.ack_mode = *rocksdr::ParseAckMode(m);
    spec.plugin_options.ack_timeout_ms = 30000;
    std::unique_ptr<rocksdr::Replicator> p = rocksdr::bench::OpenPrimary(spec, rocksdr::bench::LoopbackPrimary(pki));
    rocksdr::bench::ChildProcess sec(
        rocksdr::bench::SecondaryArgs(node, sdir + "/s1", sdir + "/s1.yaml", kCluster, "s1", p->port(), secondary_sync),
        sdir + "/s1.log");
    sec.Start();
    if (!WaitAcked(p.get(), p->db()->GetLatestSequenceNumber(), std::chrono::seconds(60))) {
      Die("the secondary did not join; see " + sdir + "/s1.log");
    }
    std::atomic<uint64_t> next_key{0};
    for (int threads : thread_counts) {
      Run r = Measure(p->db(), threads, seconds, primary_sync, value_bytes, &next_key);
      if (m == "async") async_runs[threads] = r;
      const Run& a = async_runs[threads];
      std::printf("%-9s %7d %12.0f %9.0f %9.0f %9.2fx %12.0f %12.0f %8llu\n", mode, threads, r.writes_per_second,
                  r.p50_us, r.p99_us, a.writes_per_second > 0 ? r.writes_per_second / a.writes_per_second : 0,
                  r.p50_us - a.p50_us, r.p99_us - a.p99_us, static_cast<unsigned long long>(r.failures));
      std::fflush(stdout);
      // Let the secondary drain before the next point (async leaves a backlog).
      WaitAcked(p.get(), p->db()->GetLatestSequenceNumber(), std::chrono::seconds(120));
    }
    const auto st = p->GetStatus();
    if (st.sync.degraded || st.sync.timeouts != 0) {
      std::printf("  (%s: %llu timeouts, degraded=%d)\n", mode, static_cast<unsigned long long>(st.sync.timeouts),
                  st.sync.degraded ? 1 : 0);
    }
    sec.Stop();
    if (auto s = p->Close(); !s.ok()) Die(s.ToString());
  }
  return 0;
}
