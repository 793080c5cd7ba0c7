// Replication protocol codec throughput: BATCHES frames of 64 x 150-byte batches (encode, decode),
// and CRC32C (dispatched: SSE4.2 where available; portable tables).
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "rocksdr/replication/crc32c.h"
#include "rocksdr/replication/frame.h"
#include "rocksdr/replication/messages.h"

namespace rocksdr::replication {
namespace {

std::vector<WalBatch> MakeBatches(int n, size_t rep_size) {
  std::mt19937_64 rng(1);
  std::vector<WalBatch> batches;
  uint64_t seq = 1000;
  for (int i = 0; i < n; ++i) {
    WalBatch b;
    b.sequence = seq;
    b.count = 2;
    seq += b.count;
    b.rep.resize(rep_size);
    for (char& c : b.rep) c = static_cast<char>(rng());
    batches.push_back(std::move(b));
  }
  return batches;
}

size_t RepBytes(const std::vector<WalBatch>& batches) {
  size_t n = 0;
  for (const WalBatch& b : batches) n += b.rep.size();
  return n;
}

void BM_EncodeBatchesFrame(benchmark::State& state) {
  auto batches = MakeBatches(64, 150);
  std::string out;
  for (auto _ : state) {
    out.clear();
    AppendBatchesFrame(batches, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * RepBytes(batches)));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batches.size()));
  state.counters["frame_bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_EncodeBatchesFrame);

void BM_DecodeBatchesFrame(benchmark::State& state) {
  auto batches = MakeBatches(64, 150);
  std::string frame;
  AppendBatchesFrame(batches, &frame);
  FrameDecoder decoder;
  Batches decoded;
  for (auto _ : state) {
    decoder.Feed(frame);
    auto r = decoder.Next();
    if (!r.ok() || !r->has_value()) {
      state.SkipWithError("frame did not decode");
      break;
    }
    Status s = Decode((*r)->payload, &decoded);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(decoded.batches.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * RepBytes(batches)));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batches.size()));
}
BENCHMARK(BM_DecodeBatchesFrame);

// The whole path in one loop: shipper encodes, receiver decodes the frame and the batches.
void BM_EncodeDecodeBatchesFrame(benchmark::State& state) {
  auto batches = MakeBatches(64, 150);
  std::string frame;
  FrameDecoder decoder;
  Batches decoded;
  for (auto _ : state) {
    frame.clear();
    AppendBatchesFrame(batches, &frame);
    decoder.Feed(frame);
    auto r = decoder.Next();
    if (!r.ok() || !r->has_value() || !Decode((*r)->payload, &decoded).ok()) {
      state.SkipWithError("round trip failed");
      break;
    }
    benchmark::DoNotOptimize(decoded.batches.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * RepBytes(batches)));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batches.size()));
}
BENCHMARK(BM_EncodeDecodeBatchesFrame);

std::string RandomBytes(size_t n) {
  std::mt19937_64 rng(2);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

void BM_Crc32c(benchmark::State& state) {
  std::string data = RandomBytes(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(crc32c::Value(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.SetLabel(crc32c::IsHardwareAccelerated() ? "sse4.2" : "portable");
}
BENCHMARK(BM_Crc32c)->Arg(64)->Arg(4096)->Arg(1 << 20);

void BM_Crc32cPortable(benchmark::State& state) {
  std::string data = RandomBytes(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(crc32c::ExtendPortable(0, data.data(), data.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Crc32cPortable)->Arg(64)->Arg(4096)->Arg(1 << 20);

}  // namespace
}  // namespace rocksdr::replication

BENCHMARK_MAIN();
