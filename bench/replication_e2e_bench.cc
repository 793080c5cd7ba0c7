// The end-to-end replication benchmark suite (issues 3 and 5): one command, baseline and
// replicated in ONE run, results as ratios, a table on stdout and (with --json) a JSON file.
//
//   replication_e2e_bench [--node PATH] [--json FILE] [--writes N] [--rounds R]
//                         [--rates 1000,10000] [--lag-seconds S] [--catchup N]
//                         [--batch-delay-us U] [--secondary-sync 0|1] [--max-secondaries K]
//                         [--write-ring-bytes B (0: ship from the WAL only)]
//                         [--busy-frame-interval-us U (0: no pacing of a busy link)]
//                         [--bootstrap-mb M | --bootstrap-gb G] [--promotion 0|1]
//
// The primary is a rocksdr::Replicator in this process (mutual TLS on 127.0.0.1); every DR
// secondary is the rocksdr_node program in its own process (--node; default: next to this
// binary's build tree). Writes are 1-put WriteBatches, 16-byte key, 100-byte value, WAL on, no
// sync, one writer thread. The unreplicated baseline is a plain RocksDB opened with the
// primary's own DB and column-family options (same WAL retention), in the same directory tree,
// written in the same rounds (alternating), so both see the same machine load.
//
//  throughput   R rounds of N writes, alternating baseline and replicated (one secondary
//               connected and applying); medians. Ratio replicated/baseline (target >= 0.85).
//  primary CPU  this process's CPU time (all threads: writer, WAL tailer, TLS) per write and per
//               written byte, replicated vs baseline (target: extra <= 10%); then split: the
//               writing thread, and the others by thread name (rocksdr-pump, rocksdr-net,
//               RocksDB's pool, the rest: thread_name.h); and batches per frame.
//  lag          at each fixed rate for S seconds: time from a write's return to the primary
//               receiving the ACK that covers it (an upper bound of write->applied), p50/p99/max
//               (target at 10k/s: <= 1 ms / <= 5 ms).
//  catch-up     the secondary is stopped, N writes accumulate, it is restarted: apply rate from
//               its first ACK to the ACK of the last write, vs the single-writer baseline rate
//               (target >= 1.5).
//  secondaries  throughput and primary CPU per write with 1, 2, ... K secondaries (each in its
//               own process, all applying), R rounds each, medians, as ratios to the baseline
//               written in the same rounds.
//  promotion    an in-process secondary, caught up; the primary is closed; time from the
//               Promote call to the first write accepted by the promoted node (target <= 1 s).
//  bootstrap    a fresh primary holding M MiB (G GiB) of incompressible data, flushed; the
//               checkpoint a new secondary receives, in MB/s from the secondary's start to its
//               first ACK after the install, vs copying the same live files to another directory
//               of the same disk (read + write + fsync) (target >= 0.5). The default (256 MiB)
//               keeps the suite short; the target is stated for >= 1 GiB: --bootstrap-gb 1.
//               0 skips it. Do not run --bootstrap-gb in CI. Scratch files go under $TMPDIR
//               (default /tmp): it needs at least 2 x N GiB free for --bootstrap-gb N.
//
// Exit status: 0 when the suite ran (targets missed are reported, not failed), 1 on errors.
#include <fcntl.h>
#include <rocksdb/db.h>
#include <rocksdb/utilities/checkpoint.h>
#include <sys/resource.h>
#include <sys/utsname.h>
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
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "rocksdr/crypto/x509_ca.h"
#include "rocksdr/replication/thread_name.h"
#include "rocksdr/replicator.h"

namespace {

namespace fs = std::filesystem;
using rocksdr::bench::Die;
using rocksdr::bench::Pki;
using rocksdr::bench::WriteFile;
using Clock = std::chrono::steady_clock;
constexpr char kCluster[] = "bench-cluster";
constexpr size_t kValueBytes = 100;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// The calling thread's CPU time (user + system).
double ThreadCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// CPU seconds of this process's live threads, by thread name (/proc/self/task/*/comm; time on
// CPU from schedstat, in nanoseconds). rocksdr names its threads (thread_name.h); RocksDB's are
// "rocksdb:*". A thread that ended is missing: the process total still has it.
std::map<std::string, double> CpuByThreadName() {
  std::map<std::string, double> out;
  std::error_code ec;
  for (const auto& t : fs::directory_iterator("/proc/self/task", ec)) {
    std::ifstream comm(t.path() / "comm"), sched(t.path() / "schedstat");
    std::string name;
    uint64_t ns = 0;
    if (!std::getline(comm, name) || !(sched >> ns)) continue;
    out[name.rfind("rocksdb:", 0) == 0 ? "rocksdb" : name] += ns / 1e9;
  }
  return out;
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

double LoadAverage() {
  double l = -1;
  std::ifstream in("/proc/loadavg");
  in >> l;
  return l;
}

// ------------------------------------------------------------------ results

struct Row {
  std::string name;
  double value = 0;
  std::string unit;
  std::optional<double> baseline;  // same unit
  std::optional<double> ratio;     // the figure the target applies to (if any)
  std::string target;              // e.g. ">= 0.85"
  std::optional<bool> met;
  std::string note;
};

class Report {
 public:
  static void Format(double v, char* out, size_t n) {
    if (v >= 1000) {
      std::snprintf(out, n, "%.0f", v);
    } else {
      std::snprintf(out, n, "%.3g", v);
    }
  }
  void Add(Row r) { rows_.push_back(std::move(r)); }
  void Print() const {
    std::printf("\n%-44s %14s %14s %9s %10s %5s\n", "metric", "replicated", "baseline", "ratio", "target", "met");
    std::printf("%s\n", std::string(101, '-').c_str());
    for (const auto& r : rows_) {
      char base[32] = "", ratio[32] = "";
      if (r.baseline) Format(*r.baseline, base, sizeof base);
      if (r.ratio) std::snprintf(ratio, sizeof ratio, "%.3f", *r.ratio);
      char value[32];
      Format(r.value, value, sizeof value);
      std::printf("%-44s %14s %14s %9s %10s %5s  %s%s%s\n", r.name.c_str(), value, base, ratio, r.target.c_str(),
                  r.met ? (*r.met ? "yes" : "NO") : "", r.unit.c_str(), r.note.empty() ? "" : "; ", r.note.c_str());
    }
  }
  nlohmann::json Json() const {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rows_) {
      nlohmann::json j{{"name", r.name}, {"value", r.value}, {"unit", r.unit}};
      if (r.baseline) j["baseline"] = *r.baseline;
      if (r.ratio) j["ratio"] = *r.ratio;
      if (!r.target.empty()) j["target"] = r.target;
      if (r.met) j["met"] = *r.met;
      if (!r.note.empty()) j["note"] = r.note;
      out.push_back(std::move(j));
    }
    return out;
  }

 private:
  std::vector<Row> rows_;
};

// ------------------------------------------------------------------ processes

// A DR secondary: rocksdr_node in its own process, with its YAML, certificate and DB under dir.
class SecondaryProcess {
 public:
  SecondaryProcess(const std::string& node, const std::string& dir, const std::string& id, Pki* pki, uint16_t port,
                   bool sync)
      : id_(id),
        process_(rocksdr::bench::SecondaryArgs(node, dir + "/" + id + ".db", dir + "/" + id + ".yaml", kCluster, id,
                                               port, sync),
                 dir + "/" + id + ".log") {
    const std::string base = dir + "/" + id;
    Pki::WriteCertificate(pki->Issue(id, rocksdr::crypto::CertificateUsage::kClient), base);
    WriteFile(dir + "/ca.crt", pki->ca.cert_pem);
    WriteFile(base + ".yaml", rocksdr::bench::SecondaryYaml(base + ".state", base + ".crt", base + ".key", dir + "/ca.crt"));
  }
  const std::string& id() const { return id_; }
  bool running() const { return process_.running(); }

  void Start() { process_.Start(); }
  void Stop() { process_.Stop(); }
  // Exited by itself (e.g. a startup error): say where its log is.
  void CheckAlive() {
    if (process_.ExitedByItself()) Die("secondary " + id_ + " exited; see " + process_.log());
  }

 private:
  std::string id_;
  rocksdr::bench::ChildProcess process_;
};

uint64_t Acked(rocksdr::Replicator* p, const std::string& id) {
  for (const auto& s : p->GetSecondaryStatus()) {
    if (s.id == id) return s.acked_sequence;
  }
  return 0;
}

bool WaitAcked(rocksdr::Replicator* p, std::vector<SecondaryProcess*> secs, uint64_t seq, std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (auto* s : secs) {
    while (Acked(p, s->id()) < seq) {
      s->CheckAlive();
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  return true;
}

struct Timing {
  double seconds = 0;
  double cpu = 0;         // the whole process
  double writer_cpu = 0;  // the writing thread alone
  std::map<std::string, double> threads;  // CPU by thread name (CpuByThreadName), during the writes
};

// N 1-put batches through `db`, keys first .. first+n-1.
Timing WriteN(rocksdb::DB* db, uint64_t first, uint64_t n) {
  const std::string value(kValueBytes, 'v');
  rocksdb::WriteOptions wo;
  const std::map<std::string, double> th0 = CpuByThreadName();
  const double c0 = CpuSeconds(), w0 = ThreadCpuSeconds();
  const auto t0 = Clock::now();
  for (uint64_t i = first; i < first + n; ++i) {
    rocksdb::WriteBatch wb;
    if (!wb.Put(Key(i), value).ok()) Die("WriteBatch::Put");
    rocksdb::Status s = db->Write(wo, &wb);
    if (!s.ok()) Die("write: " + s.ToString());
  }
  Timing t{Seconds(Clock::now() - t0), CpuSeconds() - c0, ThreadCpuSeconds() - w0, CpuByThreadName()};
  for (auto& [name, sec] : t.threads) {
    auto it = th0.find(name);
    if (it != th0.end()) sec -= it->second;
  }
  return t;
}

// Copies the regular files of `from` (not its WAL) to `to`, fsyncing each: a local copy.
uint64_t CopyFiles(const std::vector<std::string>& files, const std::string& from, const std::string& to) {
  fs::create_directories(to);
  uint64_t total = 0;
  std::vector<char> buf(1 << 20);
  for (const auto& name : files) {
    const int in = ::open((from + "/" + name).c_str(), O_RDONLY);
    const int out = ::open((to + "/" + name).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0) Die("copying " + name);
    ssize_t n;
    while ((n = ::read(in, buf.data(), buf.size())) > 0) {
      if (::write(out, buf.data(), static_cast<size_t>(n)) != n) Die("writing the copy of " + name);
      total += static_cast<uint64_t>(n);
    }
    if (n < 0 || ::fsync(out) != 0) Die("copying " + name);
    ::close(in);
    ::close(out);
  }
  const int d = ::open(to.c_str(), O_RDONLY | O_DIRECTORY);
  if (d >= 0) {
    ::fsync(d);
    ::close(d);
  }
  return total;
}

std::vector<std::string> SplitRates(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace

// The primary's shipping counters (ReplicationStatus::shipping) since `before`, as one row.
void AddShippingRow(Report* report, const std::string& phases, const rocksdr::ShippingStatus& before,
                    const rocksdr::ShippingStatus& now) {
  const double ring = static_cast<double>(now.ring_batches - before.ring_batches);
  const double wal = static_cast<double>(now.wal_batches - before.wal_batches);
  report->Add({"batches shipped from the write ring (" + phases + ")", ring + wal > 0 ? ring / (ring + wal) : 0,
               "fraction", std::nullopt, std::nullopt, "", std::nullopt,
               std::to_string(static_cast<uint64_t>(ring)) + " from the ring, " +
                   std::to_string(static_cast<uint64_t>(wal)) + " from the WAL; ring misses " +
                   std::to_string(now.ring_misses - before.ring_misses) + ", waits " +
                   std::to_string(now.ring_waits - before.ring_waits) + ", trims " +
                   std::to_string(now.trims - before.trims) + ", GetUpdatesSince calls " +
                   std::to_string(now.iterator_creations - before.iterator_creations)});
}

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; i += 2) {
    if (std::strncmp(argv[i], "--", 2) != 0 || i + 1 >= argc) Die(std::string("bad argument ") + argv[i]);
    flags[argv[i] + 2] = argv[i + 1];
  }
  auto num = [&](const char* name, uint64_t def) {
    if (!flags.count(name)) return def;
    const std::string& v = flags[name];
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) Die(std::string("--") + name + " needs a number");
    return static_cast<uint64_t>(std::stoull(v));
  };
  const uint64_t writes = num("writes", 100000);
  const uint64_t rounds = std::max<uint64_t>(1, num("rounds", 3));
  const uint64_t lag_seconds = num("lag-seconds", 2);
  const uint64_t catchup = num("catchup", 100000);
  const uint64_t batch_delay_us = num("batch-delay-us", rocksdr::PluginOptions().max_batch_delay_us);
  const uint64_t write_ring_bytes = num("write-ring-bytes", rocksdr::PluginOptions().write_ring_bytes);
  const uint64_t busy_interval_us = num("busy-frame-interval-us", rocksdr::PluginOptions().busy_frame_interval_us);
  const bool secondary_sync = num("secondary-sync", 0) != 0;
  const uint64_t max_secondaries = std::clamp<uint64_t>(num("max-secondaries", 3), 1, 8);
  const bool promotion = num("promotion", 1) != 0;
  const uint64_t bootstrap_mb = flags.count("bootstrap-gb") ? num("bootstrap-gb", 0) * 1024 : num("bootstrap-mb", 256);
  std::vector<uint64_t> rates;
  for (const auto& r : SplitRates(flags.count("rates") ? flags["rates"] : "1000,10000")) {
    if (r.find_first_not_of("0123456789") != std::string::npos || std::stoull(r) == 0) Die("--rates: positive numbers");
    rates.push_back(std::stoull(r));
  }
  const std::string node = rocksdr::bench::NodeProgram(flags.count("node") ? flags["node"] : "");

  const double load_before = LoadAverage();
  const auto suite_start = Clock::now();
  const rocksdr::bench::ScratchDir scratch("rocksdr-e2e-bench");
  const std::string& dir = scratch.path();

  Pki pki = Pki::Create(kCluster);
  pki.server = pki.Issue("primary", rocksdr::crypto::CertificateUsage::kServer);

  // The primary.
  rocksdr::DbSpec spec;
  spec.path = dir + "/primary";
  spec.db_options.create_if_missing = true;
  spec.plugin_options.max_batch_delay_us = batch_delay_us;
  spec.plugin_options.write_ring_bytes = write_ring_bytes;
  spec.plugin_options.busy_frame_interval_us = busy_interval_us;
  const rocksdr::PrimaryConfig pc = rocksdr::bench::LoopbackPrimary(pki);
  std::unique_ptr<rocksdr::Replicator> p = rocksdr::bench::OpenPrimary(spec, pc);
  rocksdr::ReplicatedDB* pdb = p->db();

  // The baseline: the primary's own DB and default-CF options (not its listeners).
  std::unique_ptr<rocksdb::DB> base;
  {
    rocksdb::Options o(pdb->GetDBOptions(), pdb->GetOptions(pdb->DefaultColumnFamily()));
    o.listeners.clear();
    o.info_log.reset();  // objects the primary owns: the baseline gets its own
    o.sst_file_manager.reset();
    o.statistics.reset();
    o.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(o, dir + "/baseline", &raw);
    if (!s.ok()) Die("opening the baseline DB: " + s.ToString());
    base.reset(raw);
  }

  // Every secondary joins while the primary is still empty (a quick bootstrap); all but s1 stop.
  std::vector<std::unique_ptr<SecondaryProcess>> secs;
  for (uint64_t i = 1; i <= max_secondaries; ++i) {
    secs.push_back(std::make_unique<SecondaryProcess>(node, dir, "s" + std::to_string(i), &pki, p->port(), secondary_sync));
    secs.back()->Start();
  }
  std::vector<SecondaryProcess*> all;
  for (auto& s : secs) all.push_back(s.get());
  if (!WaitAcked(p.get(), all, pdb->GetLatestSequenceNumber(), std::chrono::seconds(60))) Die("secondaries did not join");
  for (size_t i = 1; i < secs.size(); ++i) secs[i]->Stop();
  SecondaryProcess* s1 = secs[0].get();

  Report report;
  uint64_t next_key = 0, base_key = 0;
  const double bytes_per_write = static_cast<double>(Key(0).size() + kValueBytes + 3 + 12);  // rep bytes

  auto phase = [](const char* what) { std::fprintf(stderr, "replication_e2e_bench: %s\n", what); };
  const rocksdr::ShippingStatus ship0 = pdb->GetReplicationStatus().shipping;
  // Frames sent to s1 (its connection lasts through the throughput phase): the average frame.
  auto s1_frames = [&]() -> std::pair<uint64_t, uint64_t> {
    for (const rocksdr::SecondaryStatus& s : p->GetStatus().secondaries) {
      if (s.id == s1->id()) return {s.frames_sent, s.bytes_sent};
    }
    return {0, 0};
  };
  const auto frames0 = s1_frames();
  // ---- 1. throughput and primary CPU, one secondary.
  phase("throughput and primary CPU");
  std::vector<double> base_rate, repl_rate, base_cpu, repl_cpu, e2e_rate, base_wcpu, repl_wcpu;
  std::map<std::string, std::vector<double>> repl_threads;  // per write, by thread name
  for (uint64_t r = 0; r < rounds; ++r) {
    Timing b = WriteN(base.get(), base_key, writes);
    base_key += writes;
    base_rate.push_back(writes / b.seconds);
    base_cpu.push_back(b.cpu / writes);
    base_wcpu.push_back(b.writer_cpu / writes);
    const auto t0 = Clock::now();
    Timing res = WriteN(pdb, next_key, writes);
    next_key += writes;
    repl_rate.push_back(writes / res.seconds);
    repl_cpu.push_back(res.cpu / writes);
    repl_wcpu.push_back(res.writer_cpu / writes);
    for (const char* name : {rocksdr::replication::kThreadPump, rocksdr::replication::kThreadNet, "rocksdb"}) {
      auto it = res.threads.find(name);
      repl_threads[name].push_back(it != res.threads.end() ? it->second / writes : 0);
    }
    if (!WaitAcked(p.get(), {s1}, pdb->GetLatestSequenceNumber(), std::chrono::seconds(120))) Die("secondary fell behind");
    e2e_rate.push_back(writes / Seconds(Clock::now() - t0));
  }
  const double b_rate = Median(base_rate), r_rate = Median(repl_rate);
  const double b_cpu = Median(base_cpu), r_cpu = Median(repl_cpu);
  report.Add({"write throughput (1 secondary)", r_rate, "writes/s", b_rate, r_rate / b_rate, ">= 0.85",
              r_rate / b_rate >= 0.85, std::to_string(rounds) + " x " + std::to_string(writes) + " writes, medians"});
  report.Add({"end-to-end rate (writes until last ACK)", Median(e2e_rate), "writes/s", b_rate, Median(e2e_rate) / b_rate,
              "", std::nullopt, ""});
  report.Add({"primary CPU per write", r_cpu * 1e6, "us", b_cpu * 1e6, r_cpu / b_cpu, "<= 1.10", r_cpu / b_cpu <= 1.10,
              "all threads of the primary process"});
  report.Add({"primary CPU per written byte", r_cpu * 1e9 / bytes_per_write, "ns/B", b_cpu * 1e9 / bytes_per_write,
              r_cpu / b_cpu, "<= 1.10", r_cpu / b_cpu <= 1.10,
              "extra " + std::to_string(static_cast<int>((r_cpu / b_cpu - 1) * 100)) + "% per byte (" +
                  std::to_string(static_cast<int>(bytes_per_write)) + " B WriteBatch per write)"});
  {
    // Where the extra CPU is spent: the writing thread, and everything else (tailer, TLS, flushes).
    const double bw = Median(base_wcpu), rw = Median(repl_wcpu);
    report.Add({"  of which the writing thread", rw * 1e6, "us", bw * 1e6, bw > 0 ? rw / bw : 0, "", std::nullopt,
                "per write; the rest is the tailer, TLS I/O and RocksDB's background threads"});
    report.Add({"  of which the other threads", (r_cpu - rw) * 1e6, "us", (b_cpu - bw) * 1e6,
                b_cpu - bw > 0 ? (r_cpu - rw) / (b_cpu - bw) : 0, "", std::nullopt, "per write"});
    // The other threads by name (medians over the rounds; their sum may differ a little from the
    // row above, a median of sums).
    const double pump = Median(repl_threads[rocksdr::replication::kThreadPump]);
    const double net = Median(repl_threads[rocksdr::replication::kThreadNet]);
    const double rdb = Median(repl_threads["rocksdb"]);
    report.Add({"    rocksdr-pump (tailer, frames)", pump * 1e6, "us", std::nullopt, std::nullopt, "", std::nullopt,
                "per write; reads the write ring / WAL, builds and checksums frames"});
    report.Add({"    rocksdr-net (TLS, sockets, ACKs)", net * 1e6, "us", std::nullopt, std::nullopt, "", std::nullopt,
                "per write; encrypts and sends frames, reads ACKs"});
    report.Add({"    RocksDB background threads", rdb * 1e6, "us", std::nullopt, std::nullopt, "", std::nullopt,
                "per write; flushes and compactions during the replicated rounds (one pool serves both DBs)"});
    report.Add({"    the rest", std::max(0.0, r_cpu - rw - pump - net - rdb) * 1e6, "us", std::nullopt, std::nullopt, "",
                std::nullopt, "per write; threads that ended, monitor, control socket"});
  }

  const rocksdr::ShippingStatus ship1 = pdb->GetReplicationStatus().shipping;
  AddShippingRow(&report, "throughput", ship0, ship1);
  {
    const auto frames1 = s1_frames();
    const double frames = static_cast<double>(frames1.first - frames0.first);
    const double batches = static_cast<double>(ship1.ring_batches + ship1.wal_batches - ship0.ring_batches -
                                               ship0.wal_batches);
    if (frames > 0) {
      report.Add({"batches per frame (throughput)", batches / frames, "batches", std::nullopt, std::nullopt, "",
                  std::nullopt,
                  std::to_string(static_cast<uint64_t>(frames)) + " BATCHES frames, " +
                      std::to_string(static_cast<uint64_t>((frames1.second - frames0.second) / frames)) +
                      " bytes each on average (all frames: status bytes_sent / frames_sent)"});
    }
  }

  // ---- 2. lag at fixed rates.
  phase("lag at fixed rates");
  for (uint64_t rate : rates) {
    const uint64_t lag_writes = rate * lag_seconds;
    std::vector<std::pair<uint64_t, Clock::time_point>> written;  // (sequence, time)
    written.reserve(lag_writes);
    std::vector<std::pair<uint64_t, Clock::time_point>> acks;  // (acked, first time seen)
    acks.reserve(1 << 20);
    std::atomic<bool> stop_poll{false};
    std::thread poller([&] {
      uint64_t last = 0;
      while (!stop_poll.load()) {
        const uint64_t a = Acked(p.get(), "s1");
        if (a != last) {
          acks.emplace_back(a, Clock::now());
          last = a;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    });
    const std::string value(kValueBytes, 'v');
    const auto start = Clock::now();
    const auto period = std::chrono::nanoseconds(1000000000ull / rate);
    for (uint64_t i = 0; i < lag_writes; ++i) {
      std::this_thread::sleep_until(start + period * i);
      rocksdb::WriteBatch wb;
      if (!wb.Put(Key(next_key++), value).ok()) Die("Put");
      if (auto s = pdb->Write(rocksdb::WriteOptions(), &wb); !s.ok()) Die(s.ToString());
      written.emplace_back(pdb->GetLatestSequenceNumber(), Clock::now());
    }
    WaitAcked(p.get(), {s1}, pdb->GetLatestSequenceNumber(), std::chrono::seconds(30));
    stop_poll = true;
    poller.join();
    std::vector<double> lags_ms;
    size_t ai = 0;
    for (const auto& [seq, t] : written) {
      while (ai < acks.size() && acks[ai].first < seq) ++ai;
      if (ai == acks.size()) break;
      lags_ms.push_back(std::max(0.0, std::chrono::duration<double, std::milli>(acks[ai].second - t).count()));
    }
    std::sort(lags_ms.begin(), lags_ms.end());
    auto pct = [&](double q) { return lags_ms.empty() ? 0 : lags_ms[static_cast<size_t>(q * (lags_ms.size() - 1))]; };
    const double achieved = lag_writes / Seconds(written.back().second - written.front().second);
    const bool ten_k = rate == 10000;
    const std::string at = " at " + std::to_string(rate) + " w/s";
    const std::string note = "achieved " + std::to_string(static_cast<int>(achieved)) + " w/s, " +
                             std::to_string(lags_ms.size()) + " samples";
    report.Add({"lag p50" + at, pct(0.50), "ms", std::nullopt, std::nullopt, ten_k ? "<= 1 ms" : "",
                ten_k ? std::optional<bool>(pct(0.50) <= 1.0) : std::nullopt, note});
    report.Add({"lag p99" + at, pct(0.99), "ms", std::nullopt, std::nullopt, ten_k ? "<= 5 ms" : "",
                ten_k ? std::optional<bool>(pct(0.99) <= 5.0) : std::nullopt, ""});
    report.Add({"lag max" + at, lags_ms.empty() ? 0 : lags_ms.back(), "ms", std::nullopt, std::nullopt, "",
                std::nullopt, ""});
  }

  AddShippingRow(&report, "lag", ship1, pdb->GetReplicationStatus().shipping);

  // ---- 3. catch-up.
  phase("catch-up");
  {
    s1->Stop();
    WriteN(pdb, next_key, catchup);
    next_key += catchup;
    const uint64_t target = pdb->GetLatestSequenceNumber();
    const uint64_t before = Acked(p.get(), "s1");
    const auto c0 = Clock::now();
    s1->Start();
    while (Acked(p.get(), "s1") <= before) {
      s1->CheckAlive();
      if (Clock::now() - c0 > std::chrono::seconds(60)) Die("the restarted secondary did not reconnect");
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    const uint64_t first_acked = Acked(p.get(), "s1");
    const auto c1 = Clock::now();
    if (!WaitAcked(p.get(), {s1}, target, std::chrono::seconds(300))) Die("catch-up did not finish");
    const auto c2 = Clock::now();
    const double rate = (target - first_acked) / Seconds(c2 - c1);
    const double total = catchup / Seconds(c2 - c0);
    report.Add({"catch-up apply rate", rate, "batches/s", b_rate, rate / b_rate, ">= 1.5", rate / b_rate >= 1.5,
                std::to_string(catchup) + " batches; baseline = single-writer rate"});
    report.Add({"catch-up incl. process start", total, "batches/s", b_rate, total / b_rate, "", std::nullopt,
                "exec, DB open, TLS handshake included"});
  }

  // ---- 4. cost of 1..K secondaries.
  phase("cost of 1..K secondaries");
  for (uint64_t n = 1; n <= max_secondaries; ++n) {
    std::vector<SecondaryProcess*> on;
    for (uint64_t i = 0; i < n; ++i) {
      secs[i]->Start();
      on.push_back(secs[i].get());
    }
    if (!WaitAcked(p.get(), on, pdb->GetLatestSequenceNumber(), std::chrono::seconds(120))) Die("secondaries did not catch up");
    // R rounds, alternating baseline and replicated; medians.
    std::vector<double> b_rates, r_rates, e2e_rates, b_cpus, r_cpus;
    for (uint64_t round = 0; round < rounds; ++round) {
      Timing b = WriteN(base.get(), base_key, writes);
      base_key += writes;
      const auto t0 = Clock::now();
      Timing r = WriteN(pdb, next_key, writes);
      next_key += writes;
      if (!WaitAcked(p.get(), on, pdb->GetLatestSequenceNumber(), std::chrono::seconds(120))) Die("secondaries fell behind");
      b_rates.push_back(writes / b.seconds);
      r_rates.push_back(writes / r.seconds);
      e2e_rates.push_back(writes / Seconds(Clock::now() - t0));
      b_cpus.push_back(b.cpu / writes);
      r_cpus.push_back(r.cpu / writes);
    }
    const std::string with = " (" + std::to_string(n) + " secondar" + (n == 1 ? "y)" : "ies)");
    report.Add({"write throughput" + with, Median(r_rates), "writes/s", Median(b_rates),
                Median(r_rates) / Median(b_rates), "", std::nullopt,
                "end-to-end " + std::to_string(static_cast<int>(Median(e2e_rates))) + " w/s; medians of " +
                    std::to_string(rounds)});
    report.Add({"primary CPU per write" + with, Median(r_cpus) * 1e6, "us", Median(b_cpus) * 1e6,
                Median(r_cpus) / Median(b_cpus), "", std::nullopt, ""});
  }
  for (auto& s : secs) s->Stop();

  // ---- 5. promotion: promote call -> first accepted write.
  if (promotion) {
    phase("promotion");
    rocksdr::DbSpec ps;
    ps.path = dir + "/promoted";
    ps.db_options.create_if_missing = true;
    auto po = rocksdr::Replicator::Open(ps);
    if (!po.ok()) Die(po.status().ToString());
    std::unique_ptr<rocksdr::Replicator> q = std::move(*po);
    auto client = pki.Issue("p1", rocksdr::crypto::CertificateUsage::kClient);
    rocksdr::SecondaryBundle bundle;
    bundle.cluster_id = kCluster;
    bundle.secondary_id = "p1";
    bundle.primary_address = "127.0.0.1:" + std::to_string(p->port());
    bundle.tls = pki.Credentials(client);
    if (auto s = q->BecomeSecondary(bundle); !s.ok()) Die("promotion phase: " + s.ToString());
    const uint64_t latest = pdb->GetLatestSequenceNumber();
    const auto w0 = Clock::now();
    while (Acked(p.get(), "p1") < latest) {
      if (Clock::now() - w0 > std::chrono::seconds(300)) Die("promotion phase: the secondary did not catch up");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (auto s = p->Close(); !s.ok()) Die("closing the primary: " + s.ToString());
    pdb = nullptr;
    auto server2 = pki.Issue("promoted", rocksdr::crypto::CertificateUsage::kServer);
    rocksdr::PrimaryConfig pc2;
    pc2.cluster_id = kCluster;
    pc2.epoch = 2;
    pc2.listen_address = "127.0.0.1:0";
    pc2.tls = pki.Credentials(server2);
    const auto t0 = Clock::now();
    if (auto s = q->Promote(pc2); !s.ok()) Die("Promote: " + s.ToString());
    const auto t1 = Clock::now();
    uint64_t attempts = 0;
    while (true) {
      ++attempts;
      rocksdb::Status ws;
      rocksdr::Status s = q->WithDb([&](rocksdr::ReplicatedDB* db, const auto&) {
        ws = db->Put(rocksdb::WriteOptions(), "promoted", "1");
        return rocksdr::Status::OK();
      });
      if (s.ok() && ws.ok()) break;
      if (Clock::now() - t0 > std::chrono::seconds(30)) Die("the promoted node accepted no write within 30 s");
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    const double ms = Seconds(Clock::now() - t0) * 1e3;
    report.Add({"promotion: Promote -> first accepted write", ms, "ms", std::nullopt, std::nullopt, "<= 1000 ms",
                ms <= 1000, "Promote returned after " + std::to_string(Seconds(t1 - t0) * 1e3).substr(0, 6) +
                                " ms; " + std::to_string(attempts) + " write attempt(s); " +
                                std::to_string(next_key) + " keys"});
    (void)q->Close();
  } else {
    (void)p->Close();
  }
  p.reset();
  base.reset();

  // ---- 6. bootstrap vs a local copy.
  if (bootstrap_mb > 0) {
    phase("bootstrap vs local copy");
    rocksdr::DbSpec bs;
    bs.path = dir + "/boot-primary";
    bs.db_options.create_if_missing = true;
    auto bo = rocksdr::Replicator::Open(bs);
    if (!bo.ok()) Die(bo.status().ToString());
    std::unique_ptr<rocksdr::Replicator> bp = std::move(*bo);
    rocksdr::PrimaryConfig bpc = pc;
    if (auto s = bp->BecomePrimary(bpc); !s.ok()) Die("bootstrap phase: " + s.ToString());
    // Incompressible values, 1 MiB batches.
    std::mt19937_64 rng(42);
    std::string value(4096, '\0');
    const uint64_t batches = bootstrap_mb;
    for (uint64_t b = 0; b < batches; ++b) {
      rocksdb::WriteBatch wb;
      for (int i = 0; i < 256; ++i) {
        for (size_t j = 0; j < value.size(); j += 8) {
          const uint64_t x = rng();
          std::memcpy(value.data() + j, &x, 8);
        }
        if (!wb.Put(Key(b * 256 + i), value).ok()) Die("Put");
      }
      if (auto s = bp->db()->Write(rocksdb::WriteOptions(), &wb); !s.ok()) Die(s.ToString());
    }
    if (auto s = bp->db()->Flush(rocksdb::FlushOptions()); !s.ok()) Die("flush: " + s.ToString());
    // The live files a bootstrap sends (what a local copy copies too).
    std::vector<std::string> live;
    uint64_t manifest_size = 0;
    if (auto s = bp->db()->GetLiveFiles(live, &manifest_size, /*flush_memtable=*/false); !s.ok()) Die(s.ToString());
    for (auto& f : live) f = f.substr(f.find_first_not_of('/'));
    const auto k0 = Clock::now();
    const uint64_t copied = CopyFiles(live, bs.path, dir + "/boot-copy");
    const double copy_s = Seconds(Clock::now() - k0);
    fs::remove_all(dir + "/boot-copy");

    SecondaryProcess boot(node, dir, "boot", &pki, bp->port(), secondary_sync);
    const uint64_t target = bp->db()->GetLatestSequenceNumber();
    const auto b0 = Clock::now();
    boot.Start();
    if (!WaitAcked(bp.get(), {&boot}, target, std::chrono::seconds(1800))) Die("bootstrap did not finish");
    const double boot_s = Seconds(Clock::now() - b0);
    const uint64_t sent = copied;  // the checkpoint holds these live files (hard links)
    boot.Stop();
    (void)bp->Close();
    const double boot_mbs = sent / 1e6 / boot_s, copy_mbs = copied / 1e6 / copy_s;
    report.Add({"bootstrap of " + std::to_string(sent >> 20) + " MiB", boot_mbs, "MB/s", copy_mbs, boot_mbs / copy_mbs,
                ">= 0.5", bootstrap_mb >= 1024 ? std::optional<bool>(boot_mbs / copy_mbs >= 0.5) : std::nullopt,
                "baseline: copy + fsync of the same live files on the same disk (" + std::to_string(copy_s).substr(0, 5) +
                    " s); bootstrap from the secondary's start to its first ACK after the install (" +
                    std::to_string(boot_s).substr(0, 5) + " s)" +
                    (bootstrap_mb >= 1024 ? "" : "; target stated for >= 1 GiB (--bootstrap-gb 1)")});
  }

  const double load_after = LoadAverage();
  utsname u{};
  uname(&u);
  std::printf("replication_e2e_bench: 1-put batches, %zu-byte values, secondaries in their own processes "
              "(secondary sync %s, max batch delay %llu us, busy frame interval %llu us); %u CPUs, load average %.2f before / %.2f after; %.0f s\n",
              kValueBytes, secondary_sync ? "on" : "off", static_cast<unsigned long long>(batch_delay_us),
              static_cast<unsigned long long>(busy_interval_us),
              std::thread::hardware_concurrency(), load_before, load_after, Seconds(Clock::now() - suite_start));
  report.Print();
  if (flags.count("json")) {
    nlohmann::json j;
    j["suite"] = "replication_e2e_bench";
    j["machine"] = {{"cpus", std::thread::hardware_concurrency()},
                    {"kernel", std::string(u.sysname) + " " + u.release},
                    {"load_average_before", load_before},
                    {"load_average_after", load_after}};
    j["config"] = {{"writes", writes},
                   {"rounds", rounds},
                   {"rates", rates},
                   {"lag_seconds", lag_seconds},
                   {"catchup", catchup},
                   {"batch_delay_us", batch_delay_us},
                   {"write_ring_bytes", write_ring_bytes},
                   {"secondary_sync", secondary_sync},
                   {"max_secondaries", max_secondaries},
                   {"bootstrap_mb", bootstrap_mb},
                   {"value_bytes", kValueBytes}};
    j["seconds"] = Seconds(Clock::now() - suite_start);
    j["results"] = report.Json();
    std::ofstream out(flags["json"]);
    out << j.dump(2) << "\n";
    if (!out.good()) Die("cannot write " + flags["json"]);
  }
  return 0;
}
