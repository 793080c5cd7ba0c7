// The replication protocol's messages: one struct per frame type, each with
//
//   void   EncodeTo(const M& m, std::string* payload);   // appends the payload
//   std::string Encode(const M& m);                        // the payload alone
//   Status Validate(const M& m, const ProtocolLimits&);    // the receiver's checks, for senders
//   Status Decode(std::string_view payload, M* m, const ProtocolLimits& = {});  // parse + Validate
//
// and AppendMessageFrame(m, &out) to append the whole frame (frame.h) without an intermediate copy.
// The byte layout of every payload, and the rules the fields obey, are in PROTOCOL.md.
//
// Decoding never trusts a length or count before checking it against ProtocolLimits, never reads
// past the payload, and refuses trailing bytes (except in HELLO from a newer protocol version, see
// PROTOCOL.md). On error *m is unspecified and the Status (kCorruption for malformed bytes,
// kResourceExhausted for a limit, kInvalidArgument for a field that breaks a rule) names the message
// and the field. Messages carry no secrets; text fields are bounded but otherwise arbitrary bytes,
// so escape them before logging.
//
// Continuity of batches, epochs and positions is NOT checked here (that is the session's job; see
// handshake.h for the handshake rules).
//
// Who may call: anyone, from any thread (pure functions on values).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rocksdr/replication/frame.h"
#include "rocksdr/replication/protocol_limits.h"
#include "rocksdr/replication/wal_batch.h"
#include "rocksdr/status.h"

namespace rocksdr::replication {

// The protocol version this build speaks best, and the oldest it still speaks.
// Version 2 adds RECEIVED; version 3 adds WELCOME.flags, by which the primary says whether it
// wants RECEIVED at all; version 4 adds HELLO.history, the id of the history the secondary's
// position belongs to (see PROTOCOL.md, "Versions"). Every other message is unchanged.
inline constexpr uint16_t kProtocolVersion = 4;
inline constexpr uint16_t kMinProtocolVersion = 1;

// RocksDB's largest sequence number (kMaxSequenceNumber = 2^56 - 1).
inline constexpr uint64_t kMaxSequenceNumber = (uint64_t{1} << 56) - 1;
// A WriteBatch rep starts with sequence:fixed64 count:fixed32.
inline constexpr size_t kWriteBatchHeaderSize = 12;
// Default flow-control window a secondary offers in HELLO.
inline constexpr uint64_t kDefaultWindowBytes = 64ull << 20;

// HELLO (secondary -> primary): who I am and where I am.
struct Hello {
  static constexpr FrameType kType = FrameType::kHello;
  uint16_t min_version = kMinProtocolVersion;
  uint16_t max_version = kProtocolVersion;
  std::string cluster_id;
  uint64_t epoch = 0;                 // the epoch of the history this secondary holds
  std::string secondary_id;
  bool has_cursor = false;            // false: no usable position (fresh or wiped) -> bootstrap
  uint64_t last_applied_sequence = 0; // the primary sequence applied last; 0 if !has_cursor
  uint32_t max_frame_payload = kDefaultMaxFramePayload;  // largest payload this secondary accepts
  uint64_t window_bytes = kDefaultWindowBytes;           // most unacknowledged bytes it accepts
  // Version >= 4 (sent when max_version >= kHelloHistoryVersion): the id of the history its
  // position belongs to, written by the primary that started that history (each promotion
  // starts one); "" = unknown. Two sites promoted to the same epoch have different ids.
  std::string history;
};

// The first protocol version whose HELLO carries `history`, and its longest value.
inline constexpr uint16_t kHelloHistoryVersion = 4;
inline constexpr size_t kMaxHistoryIdLength = 64;

enum class ResumeMode : uint8_t { kStream = 1, kBootstrap = 2 };

// The first protocol version in which a secondary sends RECEIVED.
inline constexpr uint16_t kReceivedAckVersion = 2;
// The first protocol version whose WELCOME carries `flags`.
inline constexpr uint16_t kWelcomeFlagsVersion = 3;
// WELCOME.flags bits. kWelcomeSendReceived: send RECEIVED for every BATCHES frame (the primary
// waits for it: ack mode `received`). Without it a version-3 secondary sends no RECEIVED.
inline constexpr uint32_t kWelcomeSendReceived = 1u << 0;
inline constexpr uint32_t kWelcomeKnownFlags = kWelcomeSendReceived;

// WELCOME (primary -> secondary): the handshake's answer.
struct Welcome {
  static constexpr FrameType kType = FrameType::kWelcome;
  uint16_t version = kProtocolVersion;     // chosen; within the HELLO's [min_version, max_version]
  std::string cluster_id;
  uint64_t epoch = 0;
  uint64_t primary_latest_sequence = 0;
  ResumeMode mode = ResumeMode::kStream;
  uint64_t stream_from_sequence = 0;       // kStream: the first sequence that will be sent
  std::string bootstrap_reason;            // kBootstrap: why (shown in the secondary's status)
  uint32_t flags = 0;                      // kWelcome* bits; version >= kWelcomeFlagsVersion only
};

// Whether the secondary of a connection that negotiated `welcome` sends RECEIVED: always at
// version 2 (it cannot be told otherwise), at version >= 3 only if flags ask for it, never at 1.
inline bool SecondarySendsReceived(const Welcome& welcome) {
  return welcome.version >= kWelcomeFlagsVersion ? (welcome.flags & kWelcomeSendReceived) != 0
                                                 : welcome.version >= kReceivedAckVersion;
}

// BATCHES (primary -> secondary): consecutive WAL batches, in order.
struct Batches {
  static constexpr FrameType kType = FrameType::kBatches;
  std::vector<WalBatch> batches;
};

// HEARTBEAT (primary -> secondary): liveness, lag and RTT measurement.
struct Heartbeat {
  static constexpr FrameType kType = FrameType::kHeartbeat;
  uint64_t primary_latest_sequence = 0;
  uint64_t primary_wall_clock_micros = 0;  // Unix time, for lag in milliseconds
  uint64_t primary_send_monotonic_micros = 0;  // echoed in ACK, for RTT
};

// ACK (secondary -> primary): progress, and flow-control credit.
struct Ack {
  static constexpr FrameType kType = FrameType::kAck;
  uint64_t applied_sequence = 0;           // last primary sequence applied (visible on the secondary)
  uint64_t durable_sequence = 0;           // last primary sequence synced to disk; <= applied
  uint64_t echo_send_monotonic_micros = 0; // of the latest HEARTBEAT received; 0 if none yet
  uint64_t received_bytes = 0;             // frame bytes consumed since WELCOME (flow control)
};

// RECEIVED (secondary -> primary, version >= 2): a BATCHES frame passed its checks and is about
// to be applied; sent before applying it, so a primary waiting for "received" (synchronous
// replication, ack mode received) does not wait for the secondary's disk. From version 3 only
// when WELCOME.flags has kWelcomeSendReceived (SecondarySendsReceived).
struct Received {
  static constexpr FrameType kType = FrameType::kReceived;
  uint64_t received_sequence = 0;  // last sequence of the BATCHES frame received
};

// BOOTSTRAP_BEGIN (primary -> secondary): a checkpoint follows.
struct BootstrapBegin {
  static constexpr FrameType kType = FrameType::kBootstrapBegin;
  uint64_t checkpoint_sequence = 0;  // the checkpoint holds exactly the primary's data at this sequence
  uint32_t file_count = 0;
  uint64_t total_bytes = 0;
};

// FILE_BEGIN (primary -> secondary): one checkpoint file follows.
struct FileBegin {
  static constexpr FrameType kType = FrameType::kFileBegin;
  std::string name;  // a plain file name (see ValidateFileName)
  uint64_t size = 0;
};

// FILE_CHUNK (primary -> secondary): consecutive bytes of the current file.
struct FileChunk {
  static constexpr FrameType kType = FrameType::kFileChunk;
  uint64_t offset = 0;  // of data[0] in the file; equals the bytes of the file sent before
  std::string data;
};

// FILE_END (primary -> secondary): the current file is complete.
struct FileEnd {
  static constexpr FrameType kType = FrameType::kFileEnd;
  uint32_t file_crc32c = 0;  // crc32c::Value of the whole file (unmasked)
};

// BOOTSTRAP_END (primary -> secondary): all files were sent; stream continues after it.
struct BootstrapEnd {
  static constexpr FrameType kType = FrameType::kBootstrapEnd;
};

// Error codes carried by ERROR. Values are stable on the wire; receivers keep unknown values.
enum class ErrorCode : uint16_t {
  kProtocolViolation = 1,   // malformed frame, or a frame not allowed in this state
  kUnsupportedVersion = 2,  // no common protocol version
  kClusterMismatch = 3,     // the peers belong to different clusters
  kStaleEpoch = 4,          // the receiver's epoch is older than the sender's
  kNotAuthorized = 5,       // unknown or revoked secondary
  kLimitExceeded = 6,       // a frame or value over a ProtocolLimits bound
  kBootstrapFailed = 7,     // the checkpoint could not be made, sent or installed
  kWalUnavailable = 8,      // the primary cannot read its WAL (not a gap: a gap means bootstrap)
  kShuttingDown = 9,        // the sender is stopping; reconnect later
  kInternal = 10,           // a bug; see the sender's log
};
inline constexpr uint16_t kMaxKnownErrorCode = 10;

// "protocol-violation", ..., "unknown" for values this build does not know.
std::string_view ErrorCodeName(uint16_t code);

// ERROR (either way): the sender refuses to continue and closes the connection.
struct ErrorMessage {
  static constexpr FrameType kType = FrameType::kError;
  uint16_t code = static_cast<uint16_t>(ErrorCode::kInternal);  // an ErrorCode value (or a newer one)
  std::string message;  // for the operator: what is wrong and what to do
};

// The Status a receiver reports for an ERROR from its peer, e.g.
// "primary sent ERROR stale-epoch: epoch 3 is older than this secondary's epoch 4".
Status ToStatus(const ErrorMessage& m, std::string_view peer_role);

// GOODBYE (either way): orderly close.
struct Goodbye {
  static constexpr FrameType kType = FrameType::kGoodbye;
  std::string reason;
};

// OK if `name` is a plain file name: 1..max_length bytes of [A-Za-z0-9._-], not starting with '.',
// no "..", so it can never leave the staging directory it is written to.
Status ValidateFileName(std::string_view name, size_t max_length);

#define ROCKSDR_DECLARE_MESSAGE_CODEC(M)                                                  \
  void EncodeTo(const M& m, std::string* payload);                                       \
  std::string Encode(const M& m);                                                        \
  Status Validate(const M& m, const ProtocolLimits& limits = ProtocolLimits());          \
  Status Decode(std::string_view payload, M* m, const ProtocolLimits& limits = ProtocolLimits());

ROCKSDR_DECLARE_MESSAGE_CODEC(Hello)
ROCKSDR_DECLARE_MESSAGE_CODEC(Welcome)
ROCKSDR_DECLARE_MESSAGE_CODEC(Batches)
ROCKSDR_DECLARE_MESSAGE_CODEC(Heartbeat)
ROCKSDR_DECLARE_MESSAGE_CODEC(Ack)
ROCKSDR_DECLARE_MESSAGE_CODEC(Received)
ROCKSDR_DECLARE_MESSAGE_CODEC(BootstrapBegin)
ROCKSDR_DECLARE_MESSAGE_CODEC(FileBegin)
ROCKSDR_DECLARE_MESSAGE_CODEC(FileChunk)
ROCKSDR_DECLARE_MESSAGE_CODEC(FileEnd)
ROCKSDR_DECLARE_MESSAGE_CODEC(BootstrapEnd)
ROCKSDR_DECLARE_MESSAGE_CODEC(ErrorMessage)
ROCKSDR_DECLARE_MESSAGE_CODEC(Goodbye)

#undef ROCKSDR_DECLARE_MESSAGE_CODEC

// BATCHES straight from the shipper's batches, without copying them into a Batches first.
void EncodeBatchesTo(std::span<const WalBatch> batches, std::string* payload);
// Bytes one batch adds to a BATCHES payload, and the payload size for `batches`, so that a shipper
// can fill a frame up to max_frame_payload exactly.
size_t EncodedBatchSize(const WalBatch& batch);
size_t EncodedBatchesSize(std::span<const WalBatch> batches);
// The checks Validate(Batches) makes, on a span.
Status ValidateBatches(std::span<const WalBatch> batches, const ProtocolLimits& limits = ProtocolLimits());

// Appends the complete frame of message m to *out (header, payload, CRC).
// REQUIRES: the payload fits kMaxFramePayloadCeiling; call Validate first for untrusted values.
template <typename M>
void AppendMessageFrame(const M& m, std::string* out) {
  size_t start = BeginFrame(M::kType, out);
  EncodeTo(m, out);
  FinishFrame(start, out);
}

inline void AppendBatchesFrame(std::span<const WalBatch> batches, std::string* out) {
  size_t start = BeginFrame(FrameType::kBatches, out);
  EncodeBatchesTo(batches, out);
  FinishFrame(start, out);
}

}  // namespace rocksdr::replication
