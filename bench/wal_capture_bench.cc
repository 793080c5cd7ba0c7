// wal_capture_bench: a design spike for the primary-CPU target (bench/RESULTS.md, "Capturing the
// WAL where RocksDB writes it"). Not used by the product.
//
// The question: what would the writer pay to capture each write group's WAL bytes where RocksDB
// appends them (a FileSystem wrapper around the WAL files) instead of copying every batch into
// rocksdr's write ring, and what would a tailer pay to cut those bytes back into WriteBatches?
//
// It writes N 1-put batches (16-byte keys, 100-byte values, as replication_e2e_bench does) on one
// thread through three DBs, each fresh for every round, in alternating rounds:
//   plain    RocksDB on the default FileSystem: the baseline;
//   capture  RocksDB on a FileSystem whose WAL files also copy every Append into a byte log (one
//            producer: RocksDB's WAL writes are serialized; a release store publishes the end);
//   ring     a rocksdr primary with no secondary: the write ring as shipped today (with no
//            tailer, so none of the shipping threads' work or interference is included);
//   no ring  the same with write_ring_bytes 0: the DB wrapper's own checks alone.
// It reports the writing thread's CPU per write (RUSAGE_THREAD), medians over the rounds, and its
// ratio to plain. Then it parses the byte log of every capture round in RocksDB's log format
// (32 KiB blocks, 7-byte headers, records split into fragments across blocks), checks that it
// holds exactly N batches with contiguous sequences, and reports ns per batch for the parse and
// for a CRC32C over the bytes (what a frame's checksum costs).
//
// Usage: wal_capture_bench [--writes N (300000)] [--rounds R (5)]
#include <sys/resource.h>

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bench_support.h"
#include "rocksdr/replication/crc32c.h"

namespace {

using rocksdr::bench::Die;
using Clock = std::chrono::steady_clock;

constexpr size_t kValueBytes = 100;
constexpr size_t kBlockSize = 32768;  // RocksDB's log::kBlockSize
constexpr size_t kHeaderSize = 7;     // checksum (4), length (2), type (1)

double ThreadCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// The captured WAL bytes of one DB: appended by RocksDB's WAL writer (one thread at a time),
// with the offset at which each WAL file starts. Sized to hold a whole round: no wrap-around.
class ByteLog {
 public:
  explicit ByteLog(size_t capacity) : buf_(capacity) {}
  void Append(const char* p, size_t n) {
    const uint64_t end = end_.load(std::memory_order_relaxed);
    if (end + n > buf_.size()) Die("the byte log is full: raise its capacity or lower --writes");
    std::memcpy(buf_.data() + end, p, n);
    end_.store(end + n, std::memory_order_release);
  }
  void StartFile() {
    std::lock_guard<std::mutex> l(mu_);
    file_starts_.push_back(end_.load(std::memory_order_acquire));
  }
  uint64_t end() const { return end_.load(std::memory_order_acquire); }
  const char* data() const { return buf_.data(); }
  std::vector<uint64_t> file_starts() const {
    std::lock_guard<std::mutex> l(mu_);
    return file_starts_;
  }

 private:
  std::vector<char> buf_;
  std::atomic<uint64_t> end_{0};
  mutable std::mutex mu_;
  std::vector<uint64_t> file_starts_;
};

class CapturingWal : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  CapturingWal(std::unique_ptr<rocksdb::FSWritableFile> f, ByteLog* log)
      : FSWritableFileOwnerWrapper(std::move(f)), log_(log) {}
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->Append(data, o, dbg);
    if (s.ok()) log_->Append(data.data(), data.size());
    return s;
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& info, rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->Append(data, o, info, dbg);
    if (s.ok()) log_->Append(data.data(), data.size());
    return s;
  }

 private:
  ByteLog* log_;
};

class CapturingFs : public rocksdb::FileSystemWrapper {
 public:
  CapturingFs(std::shared_ptr<rocksdb::FileSystem> base, ByteLog* log) : FileSystemWrapper(std::move(base)), log_(log) {}
  const char* Name() const override { return "CapturingFs"; }
  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* out,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(name, o, out, dbg);
    if (s.ok() && name.size() > 4 && name.compare(name.size() - 4, 4, ".log") == 0) {
      log_->StartFile();
      *out = std::make_unique<CapturingWal>(std::move(*out), log_);
    }
    return s;
  }

 private:
  ByteLog* log_;
};

std::string Key(uint64_t i) {
  char k[32];
  std::snprintf(k, sizeof k, "key%013llu", static_cast<unsigned long long>(i));
  return k;
}

// The writing thread's CPU seconds for n 1-put writes.
double WriteN(rocksdb::DB* db, uint64_t n) {
  const std::string value(kValueBytes, 'v');
  rocksdb::WriteOptions wo;
  const double c0 = ThreadCpuSeconds();
  for (uint64_t i = 0; i < n; ++i) {
    rocksdb::WriteBatch wb;
    if (!wb.Put(Key(i), value).ok()) Die("WriteBatch::Put");
    rocksdb::Status s = db->Write(wo, &wb);
    if (!s.ok()) Die("write: " + s.ToString());
  }
  return ThreadCpuSeconds() - c0;
}

std::unique_ptr<rocksdb::DB> OpenPlain(const std::string& path, rocksdb::Env* env) {
  rocksdb::Options o;
  o.create_if_missing = true;
  if (env != nullptr) o.env = env;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(o, path, &raw);
  if (!s.ok()) Die("opening " + path + ": " + s.ToString());
  return std::unique_ptr<rocksdb::DB>(raw);
}

uint64_t Fixed64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
uint32_t Fixed32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

struct ParseResult {
  uint64_t batches = 0;
  uint64_t first_sequence = 0;
  uint64_t next_sequence = 0;
  std::string error;
};

// Cuts the log's WAL files into WriteBatches (RocksDB log format, no recycled logs) and checks
// that their sequences are contiguous.
ParseResult Parse(const ByteLog& log) {
  ParseResult r;
  std::vector<uint64_t> starts = log.file_starts();
  const uint64_t end = log.end();
  std::string fragments;
  for (size_t f = 0; f < starts.size() && r.error.empty(); ++f) {
    const uint64_t file_start = starts[f];
    const uint64_t file_end = f + 1 < starts.size() ? starts[f + 1] : end;
    uint64_t pos = file_start;
    while (pos < file_end) {
      const uint64_t left = kBlockSize - (pos - file_start) % kBlockSize;
      if (left < kHeaderSize) {  // a block's trailer
        pos += left;
        continue;
      }
      if (file_end - pos < kHeaderSize) {
        r.error = "a header cut short at " + std::to_string(pos);
        break;
      }
      const char* h = log.data() + pos;
      const size_t length = static_cast<uint8_t>(h[4]) | (static_cast<size_t>(static_cast<uint8_t>(h[5])) << 8);
      const int type = static_cast<uint8_t>(h[6]);
      if (pos + kHeaderSize + length > file_end || kHeaderSize + length > left) {
        r.error = "a record runs past its block or file at " + std::to_string(pos);
        break;
      }
      const char* payload = h + kHeaderSize;
      pos += kHeaderSize + length;
      std::string_view batch;
      switch (type) {
        case 1: batch = std::string_view(payload, length); break;                   // full
        case 2: fragments.assign(payload, length); continue;                        // first
        case 3: fragments.append(payload, length); continue;                        // middle
        case 4: fragments.append(payload, length); batch = fragments; break;        // last
        default: r.error = "record type " + std::to_string(type) + " at " + std::to_string(pos); break;
      }
      if (!r.error.empty()) break;
      if (batch.size() < 12) {
        r.error = "a WriteBatch shorter than its header";
        break;
      }
      const uint64_t sequence = Fixed64(batch.data());
      const uint32_t count = Fixed32(batch.data() + 8);
      if (r.batches == 0) {
        r.first_sequence = sequence;
      } else if (sequence != r.next_sequence) {
        r.error = "sequence " + std::to_string(sequence) + " where " + std::to_string(r.next_sequence) + " was expected";
        break;
      }
      r.next_sequence = sequence + count;
      ++r.batches;
    }
  }
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; i += 2) {
    if (std::strncmp(argv[i], "--", 2) != 0 || i + 1 >= argc) Die(std::string("bad argument ") + argv[i]);
    flags[argv[i] + 2] = argv[i + 1];
  }
  auto num = [&](const char* name, uint64_t def) -> uint64_t {
    if (!flags.count(name)) return def;
    const std::string& v = flags[name];
    if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos) {
      Die(std::string("--") + name + " needs a number below 10^9");
    }
    return std::stoull(v);
  };
  const uint64_t writes = std::max<uint64_t>(1000, num("writes", 300000));
  const uint64_t rounds = std::max<uint64_t>(1, num("rounds", 5));

  const rocksdr::bench::ScratchDir scratch("rocksdr-wal-capture-bench");
  rocksdr::bench::Pki pki = rocksdr::bench::Pki::Create("capture-bench");
  pki.server = pki.Issue("primary", rocksdr::crypto::CertificateUsage::kServer);

  std::vector<double> plain, capture, ring, noring, parse_ns, crc_ns;
  uint32_t checksums = 0;
  for (uint64_t r = 0; r < rounds; ++r) {
    const std::string round = scratch.path() + "/r" + std::to_string(r);
    {
      auto db = OpenPlain(round + "-plain", nullptr);
      plain.push_back(WriteN(db.get(), writes) / static_cast<double>(writes) * 1e6);
    }
    {
      ByteLog log(writes * 256 + (1 << 20));
      auto fs = std::make_shared<CapturingFs>(rocksdb::FileSystem::Default(), &log);
      std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
      {
        auto db = OpenPlain(round + "-capture", env.get());
        capture.push_back(WriteN(db.get(), writes) / static_cast<double>(writes) * 1e6);
      }
      const auto t0 = Clock::now();
      ParseResult parsed = Parse(log);
      const auto t1 = Clock::now();
      const uint32_t crc = rocksdr::replication::crc32c::Value(log.data(), log.end());
      const auto t2 = Clock::now();
      if (!parsed.error.empty()) Die("parsing the captured WAL: " + parsed.error);
      if (parsed.batches != writes || parsed.next_sequence - parsed.first_sequence != writes) {
        Die("the captured WAL holds " + std::to_string(parsed.batches) + " batches (sequences " +
            std::to_string(parsed.first_sequence) + ".." + std::to_string(parsed.next_sequence) + "), not " +
            std::to_string(writes));
      }
      parse_ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(writes));
      crc_ns.push_back(std::chrono::duration<double, std::nano>(t2 - t1).count() / static_cast<double>(writes));
      checksums ^= crc;  // printed: keeps the CRC from being optimized away
    }
    for (const bool with_ring : {true, false}) {
      rocksdr::DbSpec spec;
      spec.path = round + (with_ring ? "-ring" : "-noring");
      spec.db_options.create_if_missing = true;
      if (!with_ring) spec.plugin_options.write_ring_bytes = 0;
      std::unique_ptr<rocksdr::Replicator> p =
          rocksdr::bench::OpenPrimary(spec, rocksdr::bench::LoopbackPrimary(pki));
      (with_ring ? ring : noring).push_back(WriteN(p->db(), writes) / static_cast<double>(writes) * 1e6);
      if (!p->Close().ok()) Die("closing the primary");
    }
  }
  const double base = Median(plain);
  std::printf("wal_capture_bench: %llu 1-put writes (100-byte values) per DB, %llu alternating rounds; medians\n\n",
              static_cast<unsigned long long>(writes), static_cast<unsigned long long>(rounds));
  std::printf("%-58s %10s %8s\n", "writing thread, CPU per write", "us", "ratio");
  std::printf("%-58s %10.3f %8.3f\n", "plain RocksDB", base, 1.0);
  std::printf("%-58s %10.3f %8.3f\n", "RocksDB + WAL bytes captured at Append", Median(capture), Median(capture) / base);
  std::printf("%-58s %10.3f %8.3f\n", "rocksdr primary, write ring, no secondary", Median(ring), Median(ring) / base);
  std::printf("%-58s %10.3f %8.3f\n", "rocksdr primary, no write ring (write_ring_bytes 0)", Median(noring),
              Median(noring) / base);
  std::printf("\n%-58s %10.1f\n", "parse the captured WAL into batches, ns per batch", Median(parse_ns));
  std::printf("%-58s %10.1f   (xor of the CRCs %08x)\n", "CRC32C over the captured WAL, ns per batch", Median(crc_ns),
              checksums);
  std::printf("\nrounds (us per write): plain");
  for (double v : plain) std::printf(" %.3f", v);
  std::printf("; capture");
  for (double v : capture) std::printf(" %.3f", v);
  std::printf("; ring");
  for (double v : ring) std::printf(" %.3f", v);
  std::printf("; no ring");
  for (double v : noring) std::printf(" %.3f", v);
  std::printf("\n");
  return 0;
}
