// Frame encoding and the incremental FrameDecoder (grammar in frame.h and PROTOCOL.md).
#include "rocksdr/replication/frame.h"

#include <algorithm>
#include <cassert>
#include <cstdio>

#include "rocksdr/replication/crc32c.h"
#include "wire_coding.h"

namespace rocksdr::replication {

Status ValidateProtocolLimits(const ProtocolLimits& limits) {
  if (limits.max_frame_payload < kMinFramePayloadLimit || limits.max_frame_payload > kMaxFramePayloadCeiling) {
    return Status::InvalidArgument("max_frame_payload " + std::to_string(limits.max_frame_payload) +
                                   " is out of range: it must be between " + std::to_string(kMinFramePayloadLimit) +
                                   " and " + std::to_string(kMaxFramePayloadCeiling) + " bytes");
  }
  struct Field {
    const char* name;
    uint32_t value;
  };
  for (const Field& f : {Field{"max_batches_per_frame", limits.max_batches_per_frame},
                         Field{"max_id_length", limits.max_id_length},
                         Field{"max_text_length", limits.max_text_length},
                         Field{"max_file_name_length", limits.max_file_name_length},
                         Field{"max_bootstrap_files", limits.max_bootstrap_files}}) {
    if (f.value == 0) return Status::InvalidArgument(std::string(f.name) + " must be at least 1");
  }
  return Status::OK();
}

bool IsKnownFrameType(uint8_t value) { return value >= 1 && value <= kMaxFrameType; }

std::string_view FrameTypeName(FrameType type) {
  switch (type) {
    case FrameType::kHello: return "HELLO";
    case FrameType::kWelcome: return "WELCOME";
    case FrameType::kBatches: return "BATCHES";
    case FrameType::kHeartbeat: return "HEARTBEAT";
    case FrameType::kAck: return "ACK";
    case FrameType::kBootstrapBegin: return "BOOTSTRAP_BEGIN";
    case FrameType::kFileBegin: return "FILE_BEGIN";
    case FrameType::kFileChunk: return "FILE_CHUNK";
    case FrameType::kFileEnd: return "FILE_END";
    case FrameType::kBootstrapEnd: return "BOOTSTRAP_END";
    case FrameType::kError: return "ERROR";
    case FrameType::kGoodbye: return "GOODBYE";
    case FrameType::kReceived: return "RECEIVED";
  }
  return "UNKNOWN";
}

bool PrimaryMaySend(FrameType type) {
  switch (type) {
    case FrameType::kHello:
    case FrameType::kAck:
    case FrameType::kReceived:
      return false;
    default:
      return IsKnownFrameType(static_cast<uint8_t>(type));
  }
}

bool SecondaryMaySend(FrameType type) {
  switch (type) {
    case FrameType::kHello:
    case FrameType::kAck:
    case FrameType::kReceived:
    case FrameType::kError:
    case FrameType::kGoodbye:
      return true;
    default:
      return false;
  }
}

size_t BeginFrame(FrameType type, std::string* out) {
  size_t start = out->size();
  char header[kFrameHeaderSize] = {0, 0, 0, 0, static_cast<char>(type)};
  out->append(header, sizeof(header));
  return start;
}

void FinishFrame(size_t start, std::string* out) {
  assert(out->size() >= start + kFrameHeaderSize);
  size_t payload_size = out->size() - start - kFrameHeaderSize;
  assert(payload_size <= kMaxFramePayloadCeiling);
  wire::EncodeFixed32(out->data() + start, static_cast<uint32_t>(payload_size));
  uint32_t crc = crc32c::Value(out->data() + start, kFrameHeaderSize + payload_size);
  wire::PutFixed32(out, crc32c::Mask(crc));
}

void EncodeFrame(FrameType type, std::string_view payload, std::string* out) {
  out->reserve(out->size() + kFrameOverhead + payload.size());
  size_t start = BeginFrame(type, out);
  out->append(payload.data(), payload.size());
  FinishFrame(start, out);
}

FrameDecoder::FrameDecoder(const ProtocolLimits& limits) : max_payload_(limits.max_frame_payload) {}

Status FrameDecoder::FrameError(Code code, const std::string& what) const {
  std::string msg = "replication frame #" + std::to_string(frames_decoded_ + 1) + " at stream offset " +
                    std::to_string(stream_offset_) + ": " + what;
  if (frames_decoded_ == 0) {
    // The first frame is the likeliest place to meet a peer that does not speak this protocol
    // (an HTTP client, a TLS-in-TLS misconfiguration); show the header bytes, never payload bytes.
    msg += "; the first bytes received were";
    size_t n = std::min(buffered_bytes(), kFrameHeaderSize);
    for (size_t i = 0; i < n; ++i) {
      char hex[4];
      std::snprintf(hex, sizeof(hex), " %02x", static_cast<unsigned char>(buffer_[pos_ + i]));
      msg += hex;
    }
    msg += " — is the peer a rocksdr replication endpoint of a compatible version?";
  }
  return Status(code, std::move(msg));
}

void FrameDecoder::CheckHeader() {
  if (header_checked_ || !error_.ok()) return;
  size_t avail = buffered_bytes();
  if (avail < 4) return;
  uint32_t length = wire::DecodeFixed32(buffer_.data() + pos_);
  if (length > max_payload_) {
    error_ = FrameError(Code::kResourceExhausted,
                        "payload length " + std::to_string(length) + " exceeds the limit of " +
                            std::to_string(max_payload_) +
                            " bytes (max_frame_payload); refusing it before reading the payload");
    return;
  }
  if (avail < kFrameHeaderSize) return;
  uint8_t type = static_cast<uint8_t>(buffer_[pos_ + 4]);
  if (!IsKnownFrameType(type)) {
    error_ = FrameError(Code::kCorruption, "unknown frame type " + std::to_string(type) +
                                               " (this build knows types 1.." + std::to_string(kMaxFrameType) +
                                               ")");
    return;
  }
  header_checked_ = true;
  // The length is bounded: reserving the whole frame now avoids regrowing while it arrives.
  buffer_.reserve(pos_ + kFrameOverhead + length);
}

void FrameDecoder::Feed(const char* data, size_t n) {
  if (!error_.ok() || n == 0) return;
  if (pos_ > 0 && (pos_ == buffer_.size() || pos_ >= buffer_.size() / 2)) {
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
  if (!header_checked_ && buffered_bytes() < kFrameHeaderSize) {
    // Take just enough bytes to check the header before buffering anything more.
    size_t take = std::min(n, kFrameHeaderSize - buffered_bytes());
    buffer_.append(data, take);
    data += take;
    n -= take;
    CheckHeader();
    if (!error_.ok()) return;
  }
  buffer_.append(data, n);
  CheckHeader();
}

Result<std::optional<Frame>> FrameDecoder::Next() {
  if (!error_.ok()) return error_;
  CheckHeader();
  if (!error_.ok()) return error_;
  if (!header_checked_) return std::optional<Frame>();
  const char* p = buffer_.data() + pos_;
  uint32_t length = wire::DecodeFixed32(p);
  size_t frame_size = kFrameOverhead + static_cast<size_t>(length);
  if (buffered_bytes() < frame_size) return std::optional<Frame>();

  uint32_t expected = crc32c::Value(p, kFrameHeaderSize + length);
  uint32_t stored = crc32c::Unmask(wire::DecodeFixed32(p + kFrameHeaderSize + length));
  if (expected != stored) {
    char detail[96];
    std::snprintf(detail, sizeof(detail), "checksum mismatch (stored crc32c %08x, computed %08x)", stored,
                  expected);
    error_ = FrameError(Code::kCorruption,
                        std::string(detail) + " in a " +
                            std::string(FrameTypeName(static_cast<FrameType>(static_cast<uint8_t>(p[4])))) +
                            " frame of " + std::to_string(length) + " payload bytes");
    return error_;
  }
  Frame frame;
  frame.type = static_cast<FrameType>(static_cast<uint8_t>(p[4]));
  frame.payload.assign(p + kFrameHeaderSize, length);
  pos_ += frame_size;
  stream_offset_ += frame_size;
  ++frames_decoded_;
  header_checked_ = false;
  if (pos_ == buffer_.size()) {
    buffer_.clear();
    pos_ = 0;
  }
  CheckHeader();  // the next frame's header may already be here
  return std::optional<Frame>(std::move(frame));
}

}  // namespace rocksdr::replication
