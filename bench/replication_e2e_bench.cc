// End-to-end replication benchmark: baseline and replicated in ONE run, reported as ratios
// (issue 3, "Performance"). Not a Google Benchmark suite: it drives real processes.
//
//   replication_e2e_bench [--writes N] [--rounds R] [--rate W] [--lag-seconds S] [--catchup N]
//                         [--batch-delay-us U] [--secondary-sync 0|1] [--node PATH]
//
// The primary is a rocksdr::Replicator in this process (mutual TLS on 127.0.0.1); the DR
// secondary is the rocksdr_node program in its own process. Every write is a 1-put WriteBatch
// with a 16-byte key and a 100-byte value, WAL on, no sync, one writer thread.
//  1. throughput: R rounds alternating an unreplicated RocksDB (same options, its own
//     directory) and the replicated primary, N writes each; medians; ratio replicated/baseline
//     (target >= 0.85), plus this process's CPU time per write in both (target <= 1.10).
//  2. lag at a steady W writes/s for S seconds: time from a write's return to the primary
//     receiving the secondary's ACK covering it (an upper bound of write->applied), p50/p99
//     (target <= 1 ms / <= 5 ms). A poller reads the ACK positions every 50 us.
//  3. catch-up: the secondary is stopped, N writes accumulate, it is restarted; apply rate from
//     its start to the ACK of the last write, as a ratio of the single-writer baseline rate
//     (target >= 1.5).
#include <fcntl.h>
#include <rocksdb/db.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "rocksdr/crypto/x509_ca.h"
#include "rocksdr/replicator.h"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
constexpr char kCluster[] = "bench-cluster";

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::string Key(uint64_t i) {
  char k[32];
  std::snprintf(k, sizeof k, "key%013llu", static_cast<unsigned long long>(i));
  return k;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "replication_e2e_bench: %s\n", what.c_str());
  std::exit(1);
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  if (!out.good()) Die("cannot write " + path);
}

struct Result {
  double seconds = 0;
  double cpu = 0;
};

// N 1-put batches through `db` (handle nullptr = default column family).
Result WriteN(rocksdb::DB* db, uint64_t first, uint64_t n) {
  const std::string value(100, 'v');
  rocksdb::WriteOptions wo;
  const double c0 = CpuSeconds();
  const auto t0 = Clock::now();
  for (uint64_t i = first; i < first + n; ++i) {
    rocksdb::WriteBatch wb;
    if (!wb.Put(Key(i), value).ok()) Die("WriteBatch::Put");
    rocksdb::Status s = db->Write(wo, &wb);
    if (!s.ok()) Die("write: " + s.ToString());
  }
  Result r;
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.cpu = CpuSeconds() - c0;
  return r;
}

class Secondary {
 public:
  Secondary(std::vector<std::string> args, std::string log) : args_(std::move(args)), log_(std::move(log)) {}
  ~Secondary() { Stop(); }
  void Start() {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char*> argv;
    for (auto& a : args_) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (::posix_spawn(&pid_, args_[0].c_str(), &fa, nullptr, argv.data(), environ) != 0) Die("spawn " + args_[0]);
    posix_spawn_file_actions_destroy(&fa);
  }
  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  std::vector<std::string> args_;
  std::string log_;
  pid_t pid_ = -1;
};

uint64_t Acked(rocksdr::Replicator* p) {
  for (const auto& s : p->GetSecondaryStatus()) {
    if (s.id == "s1") return s.acked_sequence;
  }
  return 0;
}

bool WaitAcked(rocksdr::Replicator* p, uint64_t seq, std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Acked(p) < seq) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strncmp(argv[i], "--", 2) != 0) Die(std::string("bad argument ") + argv[i]);
    flags[argv[i] + 2] = argv[i + 1];
  }
  auto num = [&](const char* name, uint64_t def) { return flags.count(name) ? std::stoull(flags[name]) : def; };
  const uint64_t writes = num("writes", 200000);
  const uint64_t rounds = num("rounds", 3);
  const uint64_t rate = num("rate", 10000);
  const uint64_t lag_seconds = num("lag-seconds", 3);
  const uint64_t catchup = num("catchup", 200000);
  const uint64_t batch_delay_us = num("batch-delay-us", 100);
  const bool secondary_sync = num("secondary-sync", 0) != 0;
  std::string node = flags.count("node") ? flags["node"] : "";
  if (node.empty()) {
    const auto self = std::filesystem::read_symlink("/proc/self/exe");
    node = (self.parent_path().parent_path() / "examples/rocksdr_node/rocksdr_node").string();
  }
  if (!std::filesystem::exists(node)) Die(node + " not found: build the rocksdr_node target or pass --node");

  char tmpl[] = "/tmp/rocksdr-e2e-bench-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  struct Cleanup {
    std::string d;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(d, ec);
    }
  } cleanup{dir};

  // PKI: a replication CA, the primary's server certificate, the secondary's client certificate.
  auto ca = rocksdr::crypto::CreateCa("bench CA", std::chrono::hours(24));
  if (!ca.ok()) Die(ca.status().ToString());
  rocksdr::crypto::CertificateRequest sreq;
  sreq.common_name = "primary";
  sreq.ip_addresses = {"127.0.0.1"};
  sreq.cluster_id = kCluster;
  sreq.usage = rocksdr::crypto::CertificateUsage::kServer;
  auto server = rocksdr::crypto::IssueCertificate(*ca, sreq);
  rocksdr::crypto::CertificateRequest creq;
  creq.common_name = "s1";
  creq.cluster_id = kCluster;
  creq.usage = rocksdr::crypto::CertificateUsage::kClient;
  auto client = rocksdr::crypto::IssueCertificate(*ca, creq);
  if (!server.ok() || !client.ok()) Die("issuing certificates");
  WriteFile(dir + "/s1.crt", client->cert_pem);
  WriteFile(dir + "/s1.key", std::string(client->key_pem.begin(), client->key_pem.end()));
  WriteFile(dir + "/ca.crt", ca->cert_pem);
  WriteFile(dir + "/s1.yaml", "state_dir: " + dir + "/s1.state\nreplication:\n  tls: { cert_file: " + dir +
                                  "/s1.crt, key_file: " + dir + "/s1.key, ca_file: " + dir + "/ca.crt }\n");

  // The primary.
  rocksdr::DbSpec spec;
  spec.path = dir + "/primary";
  spec.db_options.create_if_missing = true;
  spec.plugin_options.max_batch_delay_us = batch_delay_us;
  auto opened = rocksdr::Replicator::Open(spec);
  if (!opened.ok()) Die(opened.status().ToString());
  std::unique_ptr<rocksdr::Replicator> p = std::move(*opened);
  rocksdr::PrimaryConfig pc;
  pc.cluster_id = kCluster;
  pc.listen_address = "127.0.0.1:0";
  pc.tls = {server->cert_pem, server->key_pem, ca->cert_pem};
  if (auto s = p->BecomePrimary(pc); !s.ok()) Die(s.ToString());
  rocksdr::ReplicatedDB* pdb = p->db();

  Secondary sec({node, "secondary", "--db", dir + "/s1", "--config", dir + "/s1.yaml", "--cluster", kCluster, "--id",
                 "s1", "--primary", "127.0.0.1:" + std::to_string(p->port()), "--sync", secondary_sync ? "1" : "0"},
                dir + "/s1.log");
  sec.Start();
  if (!WaitAcked(p.get(), pdb->GetLatestSequenceNumber(), std::chrono::seconds(30))) Die("secondary did not join");

  // 1. Throughput, alternating baseline and replicated.
  std::vector<double> base_rate, repl_rate, base_cpu, repl_cpu, e2e_rate;
  uint64_t next_key = 0;
  for (uint64_t r = 0; r < rounds; ++r) {
    {
      rocksdb::Options o;
      o.create_if_missing = true;
      rocksdb::DB* raw = nullptr;
      rocksdb::Status s = rocksdb::DB::Open(o, dir + "/baseline" + std::to_string(r), &raw);
      if (!s.ok()) Die(s.ToString());
      std::unique_ptr<rocksdb::DB> base(raw);
      Result res = WriteN(base.get(), 0, writes);
      base_rate.push_back(writes / res.seconds);
      base_cpu.push_back(res.cpu / writes);
    }
    Result res = WriteN(pdb, next_key, writes);
    next_key += writes;
    repl_rate.push_back(writes / res.seconds);
    repl_cpu.push_back(res.cpu / writes);
    const auto t0 = Clock::now() - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(res.seconds));
    if (!WaitAcked(p.get(), pdb->GetLatestSequenceNumber(), std::chrono::seconds(120))) Die("secondary fell behind");
    e2e_rate.push_back(writes / std::chrono::duration<double>(Clock::now() - t0).count());
  }

  // 2. Lag at a steady rate.
  const uint64_t lag_writes = rate * lag_seconds;
  std::vector<std::pair<uint64_t, Clock::time_point>> written;  // (sequence, time)
  written.reserve(lag_writes);
  std::vector<std::pair<uint64_t, Clock::time_point>> acks;      // (acked, first time seen)
  acks.reserve(1 << 20);
  std::atomic<bool> stop_poll{false};
  std::thread poller([&] {
    uint64_t last = 0;
    while (!stop_poll.load()) {
      const uint64_t a = Acked(p.get());
      if (a != last) {
        acks.emplace_back(a, Clock::now());
        last = a;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  });
  {
    const std::string value(100, 'v');
    const auto start = Clock::now();
    const auto period = std::chrono::nanoseconds(1000000000ull / rate);
    for (uint64_t i = 0; i < lag_writes; ++i) {
      std::this_thread::sleep_until(start + period * i);
      rocksdb::WriteBatch wb;
      if (!wb.Put(Key(next_key++), value).ok()) Die("Put");
      if (auto s = pdb->Write(rocksdb::WriteOptions(), &wb); !s.ok()) Die(s.ToString());
      written.emplace_back(pdb->GetLatestSequenceNumber(), Clock::now());
    }
  }
  WaitAcked(p.get(), pdb->GetLatestSequenceNumber(), std::chrono::seconds(30));
  stop_poll = true;
  poller.join();
  std::vector<double> lags_ms;
  size_t ai = 0;
  for (const auto& [seq, t] : written) {
    while (ai < acks.size() && acks[ai].first < seq) ++ai;
    if (ai == acks.size()) break;
    lags_ms.push_back(std::max(0.0, std::chrono::duration<double, std::milli>(acks[ai].second - t).count()));
  }
  if (std::getenv("ROCKSDR_BENCH_LAG_TRACE") != nullptr) {
    for (size_t i = 0; i < lags_ms.size(); ++i) {
      if (lags_ms[i] > 5) std::printf("  lag trace: write %zu at +%.1f ms: %.2f ms\n", i,
                                      std::chrono::duration<double, std::milli>(written[i].second - written[0].second).count(),
                                      lags_ms[i]);
    }
  }
  std::sort(lags_ms.begin(), lags_ms.end());
  auto pct = [&](double q) { return lags_ms.empty() ? 0 : lags_ms[static_cast<size_t>(q * (lags_ms.size() - 1))]; };
  const double achieved_rate = lag_writes / std::chrono::duration<double>(written.back().second - written.front().second).count();

  // 3. Catch-up.
  sec.Stop();
  WriteN(pdb, next_key, catchup);
  next_key += catchup;
  const uint64_t target = pdb->GetLatestSequenceNumber();
  const uint64_t before = Acked(p.get());
  const auto c0 = Clock::now();
  sec.Start();
  // From the process start (includes exec, DB open, TLS handshake) and from the first ACK of
  // new batches (the apply rate itself).
  while (Acked(p.get()) <= before) {
    if (Clock::now() - c0 > std::chrono::seconds(60)) Die("the restarted secondary did not reconnect");
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const uint64_t first_acked = Acked(p.get());
  const auto c1 = Clock::now();
  if (!WaitAcked(p.get(), target, std::chrono::seconds(300))) Die("catch-up did not finish");
  const auto c2 = Clock::now();
  const double catchup_rate_total = catchup / std::chrono::duration<double>(c2 - c0).count();
  const double catchup_rate = (target - first_acked) / std::chrono::duration<double>(c2 - c1).count();
  sec.Stop();
  (void)p->Close();

  const double b = Median(base_rate), rr = Median(repl_rate);
  std::printf("replication_e2e_bench: 1-put batches, 100-byte values, secondary in its own process "
              "(secondary sync %s, batch delay %llu us), %llu writes x %llu rounds\n",
              secondary_sync ? "on" : "off", static_cast<unsigned long long>(batch_delay_us),
              static_cast<unsigned long long>(writes), static_cast<unsigned long long>(rounds));
  std::printf("  unreplicated write rate          %10.0f writes/s\n", b);
  std::printf("  replicated write rate            %10.0f writes/s   ratio %.3f  (target >= 0.85)\n", rr, rr / b);
  std::printf("  replicated end-to-end rate       %10.0f writes/s   (writes until the last ACK)\n", Median(e2e_rate));
  std::printf("  primary CPU per write            %10.2f us vs %.2f us   ratio %.3f  (target <= 1.10)\n",
              Median(repl_cpu) * 1e6, Median(base_cpu) * 1e6, Median(repl_cpu) / Median(base_cpu));
  std::printf("  write->ACK lag at %llu writes/s (achieved %.0f): p50 %.3f ms, p99 %.3f ms, max %.3f ms "
              "(targets <= 1 / <= 5 ms; %zu samples)\n",
              static_cast<unsigned long long>(rate), achieved_rate, pct(0.50), pct(0.99),
              lags_ms.empty() ? 0 : lags_ms.back(), lags_ms.size());
  std::printf("  catch-up apply rate              %10.0f batches/s   ratio to single writer %.2f  (target >= 1.5)\n",
              catchup_rate, catchup_rate / b);
  std::printf("  catch-up incl. restart           %10.0f batches/s   ratio to single writer %.2f  (%llu batches)\n",
              catchup_rate_total, catchup_rate_total / b, static_cast<unsigned long long>(catchup));
  return 0;
}
