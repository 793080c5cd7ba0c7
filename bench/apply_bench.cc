// Secondary apply throughput: the same shipped 1-put batches written one DB::Write per batch (each
// with its cursor Put, as an ungrouped applier would) versus applied through Applier, which groups
// consecutive batches into one WriteBatch + cursor per write. Both in one run, same machine, same
// data; the ratio is printed at the end (target: grouped >= 1.5x).
//
//   build-*/bench/apply_bench [--benchmark_min_time=...]
#include <benchmark/benchmark.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../plugin/src/applier.h"
#include "../plugin/src/reserved_cf.h"

namespace {

using rocksdr::plugin::Applier;
using rocksdr::plugin::ApplierOptions;
using rocksdr::replication::WalBatch;

constexpr int kBatches = 20000;
constexpr size_t kPerApplyCall = 1000;  // batches per Apply call (one received frame's worth)
constexpr size_t kSyncBatches = 500;    // with sync, one fsync per write: fewer batches keep the run short

// The batches one iteration applies.
std::vector<WalBatch> Slice(const std::vector<WalBatch>& all, bool sync) {
  return sync ? std::vector<WalBatch>(all.begin(), all.begin() + kSyncBatches) : all;
}

std::string TempPath(const std::string& name) {
  static const std::string root = [] {
    std::string t = (std::filesystem::temp_directory_path() / "rocksdr-apply-bench-XXXXXX").string();
    return std::string(::mkdtemp(t.data()));
  }();
  return root + "/" + name;
}

// A DB with default + reserved CFs (ids 0, 1, 2 on every fresh DB).
struct Db {
  explicit Db(const std::string& path) {
    rocksdb::Options o;
    o.create_if_missing = true;
    o.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> descs = {
        {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions(o)},
        {std::string(rocksdr::plugin::kReplicatedCf), rocksdb::ColumnFamilyOptions(o)},
        {std::string(rocksdr::plugin::kLocalCf), rocksdb::ColumnFamilyOptions(o)}};
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(o), path, descs, &handles, &raw);
    if (!s.ok()) {
      std::fprintf(stderr, "open %s: %s\n", path.c_str(), s.ToString().c_str());
      std::abort();
    }
    db.reset(raw);
  }
  ~Db() {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    db->Close().PermitUncheckedError();
  }
  rocksdb::ColumnFamilyHandle* local() const { return handles[2]; }
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
};

// kBatches shipped batches of one 100-byte Put each, as read from a primary's WAL.
const std::vector<WalBatch>& Shipped() {
  static const std::vector<WalBatch> batches = [] {
    std::vector<WalBatch> out;
    Db primary(TempPath("primary"));
    rocksdb::WriteOptions wo;
    for (int i = 0; i < kBatches; ++i) {
      char key[32];
      std::snprintf(key, sizeof key, "user%010d", i);
      primary.db->Put(wo, key, std::string(100, 'v')).PermitUncheckedError();
    }
    std::unique_ptr<rocksdb::TransactionLogIterator> it;
    primary.db->GetUpdatesSince(1, &it).PermitUncheckedError();
    for (; it->Valid(); it->Next()) {
      rocksdb::BatchResult r = it->GetBatch();
      out.push_back(WalBatch{r.sequence, r.writeBatchPtr->Count(), r.writeBatchPtr->Data()});
    }
    return out;
  }();
  return batches;
}

std::string Fixed64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

void BM_OneWritePerBatch(benchmark::State& state) {
  const bool sync = state.range(0) != 0;
  const std::vector<WalBatch> batches = Slice(Shipped(), sync);
  Db sec(TempPath(std::string("single-") + (sync ? "sync" : "nosync")));
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  for (auto _ : state) {
    for (const WalBatch& b : batches) {
      rocksdb::WriteBatch wb(b.rep);
      wb.Put(sec.local(), rocksdb::Slice(rocksdr::plugin::kLocalKeyCursor.data(),
                                         rocksdr::plugin::kLocalKeyCursor.size()),
             Fixed64(b.last_sequence()))
          .PermitUncheckedError();
      rocksdb::Status s = sec.db->Write(wo, &wb);
      if (!s.ok()) state.SkipWithError(s.ToString().c_str());
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batches.size()));
}

void BM_GroupedApplier(benchmark::State& state) {
  const bool sync = state.range(0) != 0;
  const std::vector<WalBatch> batches = Slice(Shipped(), sync);
  Db sec(TempPath(std::string("grouped-") + (sync ? "sync" : "nosync")));
  ApplierOptions o;
  o.sync = sync;
  for (auto _ : state) {
    state.PauseTiming();
    Applier::WriteCursor(sec.db.get(), sec.local(), 0, false).ok();
    auto applier = Applier::Open(sec.db.get(), sec.local(), sec.handles, o);
    if (!applier.ok()) state.SkipWithError(applier.status().ToString().c_str());
    state.ResumeTiming();
    for (size_t i = 0; applier.ok() && i < batches.size(); i += kPerApplyCall) {
      const size_t end = std::min(batches.size(), i + kPerApplyCall);
      rocksdr::Status s = (*applier)->Apply(std::vector<WalBatch>(batches.begin() + i, batches.begin() + end));
      if (!s.ok()) {
        state.SkipWithError(s.ToString().c_str());
        break;
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batches.size()));
}

BENCHMARK(BM_OneWritePerBatch)->Arg(0)->Arg(1)->ArgName("sync")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GroupedApplier)->Arg(0)->Arg(1)->ArgName("sync")->Unit(benchmark::kMillisecond)->UseRealTime();

// Console output plus the grouped/single ratio per sync mode.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      auto it = r.counters.find("items_per_second");
      if (it != r.counters.end()) rate_[r.benchmark_name()] = it->second.value;
    }
  }
  void Print() const {
    for (const char* mode : {"sync:0", "sync:1"}) {
      const auto single = rate_.find(std::string("BM_OneWritePerBatch/") + mode + "/real_time");
      const auto grouped = rate_.find(std::string("BM_GroupedApplier/") + mode + "/real_time");
      if (single == rate_.end() || grouped == rate_.end() || single->second <= 0) continue;
      std::printf("%s: one write per batch %.0f batches/s, grouped Applier %.0f batches/s, ratio %.2fx\n", mode,
                  single->second, grouped->second, grouped->second / single->second);
    }
  }

 private:
  std::map<std::string, double> rate_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.Print();
  benchmark::Shutdown();
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(TempPath("x")).parent_path(), ec);
  return 0;
}
