// libFuzzer target: arbitrary bytes through the FrameDecoder (in chunks chosen by the input) and
// every message decoder. Finds crashes, overreads (ASan) and undefined behaviour; also checks that
// whatever decodes re-encodes to the same payload (the codec is canonical).
//
// Build (not part of CMake yet):
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Icrypto/include -Ireplication/include \
//     tests/fuzz/frame_fuzz.cc replication/src/{frame,crc32c,handshake,messages*}.cc \
//     crypto/status.cc -o frame_fuzz
//   ./frame_fuzz tests/fuzz/corpus/frame -max_total_time=60
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>

#include "rocksdr/replication/frame.h"
#include "rocksdr/replication/messages.h"

namespace {

using namespace rocksdr::replication;

template <typename M>
void DecodeAndCheck(std::string_view payload, const ProtocolLimits& limits) {
  M m;
  if (!Decode(payload, &m, limits).ok()) return;
  // A decoded message must validate and re-encode to the exact bytes it came from (HELLO from a
  // newer version may carry ignored extensions, so only its prefix is compared).
  if (!Validate(m, limits).ok()) std::abort();
  std::string again = Encode(m);
  if constexpr (std::is_same_v<M, Hello>) {
    if (payload.substr(0, again.size()) != again) std::abort();
  } else {
    if (again != payload) std::abort();
  }
}

void DecodeAs(FrameType type, std::string_view payload, const ProtocolLimits& limits) {
  switch (type) {
    case FrameType::kHello: return DecodeAndCheck<Hello>(payload, limits);
    case FrameType::kWelcome: return DecodeAndCheck<Welcome>(payload, limits);
    case FrameType::kBatches: return DecodeAndCheck<Batches>(payload, limits);
    case FrameType::kHeartbeat: return DecodeAndCheck<Heartbeat>(payload, limits);
    case FrameType::kAck: return DecodeAndCheck<Ack>(payload, limits);
    case FrameType::kBootstrapBegin: return DecodeAndCheck<BootstrapBegin>(payload, limits);
    case FrameType::kFileBegin: return DecodeAndCheck<FileBegin>(payload, limits);
    case FrameType::kFileChunk: return DecodeAndCheck<FileChunk>(payload, limits);
    case FrameType::kFileEnd: return DecodeAndCheck<FileEnd>(payload, limits);
    case FrameType::kBootstrapEnd: return DecodeAndCheck<BootstrapEnd>(payload, limits);
    case FrameType::kError: return DecodeAndCheck<ErrorMessage>(payload, limits);
    case FrameType::kGoodbye: return DecodeAndCheck<Goodbye>(payload, limits);
    case FrameType::kReceived: return DecodeAndCheck<Received>(payload, limits);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ProtocolLimits limits;
  limits.max_frame_payload = kMinFramePayloadLimit;  // small, so lengths near the limit are reachable
  limits.max_batches_per_frame = 64;
  std::string_view input(reinterpret_cast<const char*>(data), size);

  // 1. The input as a stream, fed in chunks of 1..16 bytes (sizes taken from the input itself).
  FrameDecoder decoder(limits);
  size_t pos = 0;
  size_t chunk_seed = size > 0 ? data[size - 1] : 0;
  bool failed = false;
  while (pos < size && !failed) {
    size_t n = std::min(size - pos, 1 + (chunk_seed++ % 16));
    decoder.Feed(input.data() + pos, n);
    pos += n;
    for (;;) {
      auto r = decoder.Next();
      if (!r.ok()) {
        failed = true;
        if (!decoder.failed()) std::abort();
        break;
      }
      if (!r->has_value()) break;
      if ((*r)->payload.size() > limits.max_frame_payload) std::abort();
      DecodeAs((*r)->type, (*r)->payload, limits);
    }
  }
  if (decoder.buffered_bytes() > size) std::abort();

  // 2. The input as the payload of every message type (reaches the message decoders without
  // having to forge a CRC).
  for (uint8_t t = 1; t <= kMaxFrameType; ++t) DecodeAs(static_cast<FrameType>(t), input, limits);
  return 0;
}
