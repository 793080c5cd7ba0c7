// Frames: the unit of the replication byte stream (one TLS connection carries a sequence of them).
//
//   frame   := length:fixed32 type:uint8 payload:bytes[length] crc:fixed32
//   crc     := Mask(crc32c(length field, type, payload))          (crc32c.h; little-endian)
//
// `length` counts the payload only, so every value 0..limit is meaningful (BOOTSTRAP_END has an
// empty payload). The full grammar, the message payloads and the limits are in PROTOCOL.md.
//
// FrameDecoder turns the bytes read from a connection back into frames, incrementally: it never
// needs more than one frame in memory, refuses an oversize length or an unknown type as soon as the
// header bytes arrive (before buffering the payload), and detects a corrupted byte anywhere in a
// frame by its CRC. Once it has failed it stays failed: the connection must be closed.
//
// Who may call: anyone. A FrameDecoder is not thread-safe: one per connection, used from that
// connection's strand/thread. EncodeFrame and the helpers are pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rocksdr/replication/protocol_limits.h"
#include "rocksdr/status.h"

namespace rocksdr::replication {

inline constexpr size_t kFrameHeaderSize = 5;   // length:fixed32 type:uint8
inline constexpr size_t kFrameTrailerSize = 4;  // crc:fixed32
inline constexpr size_t kFrameOverhead = kFrameHeaderSize + kFrameTrailerSize;

// Frame types. Values are stable on the wire; 0 is never valid.
enum class FrameType : uint8_t {
  kHello = 1,            // secondary -> primary, first frame of a connection
  kWelcome = 2,          // primary -> secondary, answer to HELLO
  kBatches = 3,          // primary -> secondary: WAL batches
  kHeartbeat = 4,        // primary -> secondary
  kAck = 5,              // secondary -> primary
  kBootstrapBegin = 6,   // primary -> secondary
  kFileBegin = 7,        // primary -> secondary
  kFileChunk = 8,        // primary -> secondary
  kFileEnd = 9,          // primary -> secondary
  kBootstrapEnd = 10,    // primary -> secondary
  kError = 11,           // either way; the sender closes the connection after it
  kGoodbye = 12,         // either way; orderly close
  kReceived = 13,        // secondary -> primary, protocol version >= 2: batches received, not yet applied
};
inline constexpr uint8_t kMaxFrameType = 13;

// True if `value` is one of the FrameType values above.
bool IsKnownFrameType(uint8_t value);

// "HELLO", "BATCHES", ...; "UNKNOWN" for other values.
std::string_view FrameTypeName(FrameType type);

// Which side may send a frame type (the session refuses a frame from the wrong side).
bool PrimaryMaySend(FrameType type);
bool SecondaryMaySend(FrameType type);

struct Frame {
  FrameType type = FrameType::kGoodbye;
  std::string payload;
};

// Appends one complete frame (header, payload, CRC) to *out.
// REQUIRES: payload.size() <= kMaxFramePayloadCeiling (the receiver's limit is usually smaller:
// senders check messages with the Validate* functions of messages.h first).
void EncodeFrame(FrameType type, std::string_view payload, std::string* out);

// For encoders that write a payload directly into the output buffer (no intermediate copy):
//   size_t start = BeginFrame(type, out);  ...append the payload to *out...;  FinishFrame(start, out);
// REQUIRES: nothing else touches *out between the two calls; the payload size is as for EncodeFrame.
size_t BeginFrame(FrameType type, std::string* out);
void FinishFrame(size_t start, std::string* out);

class FrameDecoder {
 public:
  // REQUIRES: ValidateProtocolLimits(limits).ok() (only max_frame_payload is used here).
  explicit FrameDecoder(const ProtocolLimits& limits = ProtocolLimits());

  FrameDecoder(const FrameDecoder&) = delete;
  FrameDecoder& operator=(const FrameDecoder&) = delete;

  // Appends bytes read from the connection. Checks the header of the next frame as soon as it is
  // complete; an error is reported by the following Next(). After an error, bytes are dropped.
  // Call Next() until it returns std::nullopt after every Feed, so at most one frame is buffered.
  void Feed(const char* data, size_t n);
  void Feed(std::string_view data) { Feed(data.data(), data.size()); }

  // Returns the next complete frame, std::nullopt if more bytes are needed, or an error:
  //   kResourceExhausted  the length field is over limits.max_frame_payload
  //   kCorruption         unknown frame type, or CRC mismatch
  // Errors are sticky: every later call returns the same error.
  Result<std::optional<Frame>> Next();

  // True once an error has been detected (Next() will return it).
  bool failed() const { return !error_.ok(); }
  // Bytes received but not yet returned as frames.
  size_t buffered_bytes() const { return buffer_.size() - pos_; }
  // Frames returned so far, and the stream offset of the next frame (for diagnostics).
  uint64_t frames_decoded() const { return frames_decoded_; }
  uint64_t stream_offset() const { return stream_offset_; }

 private:
  // Validates whatever part of the next frame's header is buffered; sets error_ on failure.
  void CheckHeader();
  Status FrameError(Code code, const std::string& what) const;

  const uint32_t max_payload_;
  std::string buffer_;
  size_t pos_ = 0;              // start of the next frame in buffer_
  bool header_checked_ = false; // the length and type of the frame at pos_ are valid
  uint64_t frames_decoded_ = 0;
  uint64_t stream_offset_ = 0;  // stream offset of buffer_[pos_]
  Status error_;
};

}  // namespace rocksdr::replication
