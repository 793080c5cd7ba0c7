// libFuzzer target: the handshake rules (handshake.h) on decoded, hostile HELLO / WELCOME payloads
// and input-chosen primary positions. Checks the rules' promises, not just "no crash":
//   - CheckHello accepts only a common version, the same cluster id and an epoch not newer than
//     the primary's; the chosen version lies in both ranges;
//   - DecideResume's WELCOME always validates and round-trips, streams only from cursor + 1 of
//     the same epoch's history that the primary's WAL still holds, and the secondary's
//     CheckWelcome accepts what an accepting primary answers;
//   - CheckWelcome on a hostile WELCOME accepts only an offered version, the same cluster and an
//     epoch not older than the secondary's;
//   - WELCOME flags (version >= 3) round-trip; a decoded WELCOME never has flags below version 3
//     or bits this build does not know; RECEIVED is sent at version 2 always, at 3 only if asked.
//
// Input: 8 bytes primary epoch | 8 latest | 8 oldest | 1 flags | 2 HELLO length | HELLO | WELCOME.
// flags: bit 0 = the primary has the HELLO's cluster id, bit 1 = the primary asks for RECEIVED.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "rocksdr/replication/handshake.h"
#include "rocksdr/replication/messages.h"

namespace {

using namespace rocksdr::replication;

uint64_t Take64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kHeader = 8 + 8 + 8 + 1 + 2;
  if (size < kHeader) return 0;
  // RocksDB sequence numbers are 56-bit; a primary never reports more.
  constexpr uint64_t kSeqMask = (uint64_t{1} << 56) - 1;
  PrimaryPosition pos;
  pos.epoch = Take64(data) & kSeqMask;
  pos.latest_sequence = Take64(data + 8) & kSeqMask;
  pos.oldest_available_sequence = Take64(data + 16) & kSeqMask;
  if (pos.oldest_available_sequence > pos.latest_sequence + 1) pos.oldest_available_sequence = 0;
  const uint8_t flags = data[24];
  size_t hello_len = size_t{data[25]} | (size_t{data[26]} << 8);
  std::string_view rest(reinterpret_cast<const char*>(data) + kHeader, size - kHeader);
  if (hello_len > rest.size()) hello_len = rest.size();
  std::string_view hello_bytes = rest.substr(0, hello_len);
  std::string_view welcome_bytes = rest.substr(hello_len);

  ProtocolLimits limits;
  Hello hello;
  if (!Decode(hello_bytes, &hello, limits).ok()) return 0;

  // The primary's side. Its cluster id is the HELLO's (flag bit 0) or another one.
  const std::string primary_cluster = (flags & 1) ? hello.cluster_id : hello.cluster_id + "x";
  HelloVerdict verdict = CheckHello(hello, primary_cluster, pos.epoch);
  if (verdict.status.ok()) {
    Check(verdict.version >= hello.min_version && verdict.version <= hello.max_version);
    Check(verdict.version >= kMinProtocolVersion && verdict.version <= kProtocolVersion);
    Check(hello.cluster_id == primary_cluster);
    Check(hello.epoch <= pos.epoch);

    Welcome welcome;
    welcome.version = verdict.version;
    welcome.cluster_id = primary_cluster;
    DecideResume(hello, pos, &welcome);
    const bool ask_received = (flags & 2) != 0;
    if (ask_received && welcome.version >= kWelcomeFlagsVersion) welcome.flags = kWelcomeSendReceived;
    Check(Validate(welcome, limits).ok());
    Welcome again;
    Check(Decode(Encode(welcome), &again, limits).ok());
    Check(Encode(again) == Encode(welcome));
    Check(again.flags == welcome.flags);
    Check(SecondarySendsReceived(again) ==
          (again.version == kReceivedAckVersion || (again.version >= kWelcomeFlagsVersion && ask_received)));
    if (welcome.mode == ResumeMode::kStream) {
      Check(hello.has_cursor && hello.epoch == pos.epoch);
      Check(welcome.stream_from_sequence == hello.last_applied_sequence + 1);
      Check(hello.last_applied_sequence <= pos.latest_sequence);
      Check(hello.last_applied_sequence == pos.latest_sequence ||
            (pos.oldest_available_sequence != 0 && welcome.stream_from_sequence >= pos.oldest_available_sequence));
    } else {
      Check(!welcome.bootstrap_reason.empty() && welcome.stream_from_sequence == 0);
    }
    ErrorCode code = ErrorCode::kInternal;
    Check(CheckWelcome(hello, welcome, &code).ok());
  } else {
    Check(!verdict.status.message().empty());
  }

  // The secondary's side, on a hostile WELCOME.
  Welcome hostile;
  if (Decode(welcome_bytes, &hostile, limits).ok()) {
    Check(hostile.version >= kWelcomeFlagsVersion || hostile.flags == 0);
    Check((hostile.flags & ~kWelcomeKnownFlags) == 0);
    ErrorCode code = ErrorCode::kInternal;
    if (CheckWelcome(hello, hostile, &code).ok()) {
      Check(hostile.version >= hello.min_version && hostile.version <= hello.max_version);
      Check(hostile.cluster_id == hello.cluster_id);
      Check(hostile.epoch >= hello.epoch);
    } else {
      Check(code == ErrorCode::kUnsupportedVersion || code == ErrorCode::kClusterMismatch ||
            code == ErrorCode::kStaleEpoch);
    }
  }
  return 0;
}
