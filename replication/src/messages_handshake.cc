// Message codec: HELLO and WELCOME (grammar in PROTOCOL.md, "Handshake").
#include "message_reader.h"
#include "rocksdr/replication/messages.h"
#include "wire_coding.h"

#include <cstdio>

namespace rocksdr::replication {

namespace {
std::string Hex32(uint32_t v) {
  char b[9];
  std::snprintf(b, sizeof b, "%08x", v);
  return b;
}
}  // namespace

// hello := min_version:fixed16 max_version:fixed16 cluster_id:string epoch:fixed64
//          secondary_id:string has_cursor:uint8 last_applied_sequence:fixed64
//          max_frame_payload:fixed32 window_bytes:fixed64
//          [history:string, if max_version >= 4] [extensions of later versions]
void EncodeTo(const Hello& m, std::string* payload) {
  wire::PutFixed16(payload, m.min_version);
  wire::PutFixed16(payload, m.max_version);
  wire::PutLengthPrefixed(payload, m.cluster_id);
  wire::PutFixed64(payload, m.epoch);
  wire::PutLengthPrefixed(payload, m.secondary_id);
  payload->push_back(m.has_cursor ? 1 : 0);
  wire::PutFixed64(payload, m.last_applied_sequence);
  wire::PutFixed32(payload, m.max_frame_payload);
  wire::PutFixed64(payload, m.window_bytes);
  if (m.max_version >= kHelloHistoryVersion) wire::PutLengthPrefixed(payload, m.history);
}

std::string Encode(const Hello& m) {
  std::string s;
  EncodeTo(m, &s);
  return s;
}

Status Validate(const Hello& m, const ProtocolLimits& limits) {
  if (m.min_version == 0 || m.min_version > m.max_version) {
    return Status::InvalidArgument("HELLO: field min_version: versions " + std::to_string(m.min_version) + ".." +
                                   std::to_string(m.max_version) + " are not a valid range (1 <= min <= max)");
  }
  ROCKSDR_RETURN_IF_ERROR(CheckId("HELLO", "cluster_id", m.cluster_id, limits.max_id_length));
  ROCKSDR_RETURN_IF_ERROR(CheckId("HELLO", "secondary_id", m.secondary_id, limits.max_id_length));
  if (!m.has_cursor && m.last_applied_sequence != 0) {
    return Status::InvalidArgument("HELLO: field last_applied_sequence: must be 0 when has_cursor is false");
  }
  ROCKSDR_RETURN_IF_ERROR(CheckSequence("HELLO", "last_applied_sequence", m.last_applied_sequence));
  if (m.max_version < kHelloHistoryVersion && !m.history.empty()) {
    return Status::InvalidArgument("HELLO: field history: version " + std::to_string(m.max_version) +
                                   " has no history (it starts at version " +
                                   std::to_string(kHelloHistoryVersion) + ")");
  }
  if (!m.history.empty()) {
    ROCKSDR_RETURN_IF_ERROR(CheckId("HELLO", "history", m.history, kMaxHistoryIdLength));
  }
  if (m.max_frame_payload < kMinFramePayloadLimit || m.max_frame_payload > kMaxFramePayloadCeiling) {
    return Status::InvalidArgument("HELLO: field max_frame_payload: " + std::to_string(m.max_frame_payload) +
                                   " is outside [" + std::to_string(kMinFramePayloadLimit) + ", " +
                                   std::to_string(kMaxFramePayloadCeiling) + "]");
  }
  if (m.window_bytes < kMinFramePayloadLimit) {
    return Status::InvalidArgument("HELLO: field window_bytes: " + std::to_string(m.window_bytes) +
                                   " is below the minimum of " + std::to_string(kMinFramePayloadLimit));
  }
  return Status::OK();
}

Status Decode(std::string_view payload, Hello* m, const ProtocolLimits& limits) {
  MessageReader r(payload, "HELLO");
  r.Fixed16(&m->min_version, "min_version");
  r.Fixed16(&m->max_version, "max_version");
  r.String(&m->cluster_id, limits.max_id_length, "cluster_id");
  r.Fixed64(&m->epoch, "epoch");
  r.String(&m->secondary_id, limits.max_id_length, "secondary_id");
  r.Bool(&m->has_cursor, "has_cursor");
  r.Fixed64(&m->last_applied_sequence, "last_applied_sequence");
  r.Fixed32(&m->max_frame_payload, "max_frame_payload");
  r.Fixed64(&m->window_bytes, "window_bytes");
  m->history.clear();
  if (r.ok() && m->max_version >= kHelloHistoryVersion) r.String(&m->history, kMaxHistoryIdLength, "history");
  // A peer that speaks a later version may append fields this build does not know; the version-1
  // fields are a prefix of every later HELLO so that negotiation always works.
  ROCKSDR_RETURN_IF_ERROR(r.Finish(/*allow_trailing=*/r.ok() && m->max_version > kProtocolVersion));
  return Validate(*m, limits);
}

// welcome := version:fixed16 cluster_id:string epoch:fixed64 primary_latest_sequence:fixed64
//            mode:uint8 ( 1 stream_from_sequence:fixed64 | 2 bootstrap_reason:string )
//            [flags:fixed32, version >= 3 only]
void EncodeTo(const Welcome& m, std::string* payload) {
  wire::PutFixed16(payload, m.version);
  wire::PutLengthPrefixed(payload, m.cluster_id);
  wire::PutFixed64(payload, m.epoch);
  wire::PutFixed64(payload, m.primary_latest_sequence);
  payload->push_back(static_cast<char>(m.mode));
  if (m.mode == ResumeMode::kStream) {
    wire::PutFixed64(payload, m.stream_from_sequence);
  } else {
    wire::PutLengthPrefixed(payload, m.bootstrap_reason);
  }
  if (m.version >= kWelcomeFlagsVersion) wire::PutFixed32(payload, m.flags);
}

std::string Encode(const Welcome& m) {
  std::string s;
  EncodeTo(m, &s);
  return s;
}

Status Validate(const Welcome& m, const ProtocolLimits& limits) {
  if (m.version == 0) return Status::InvalidArgument("WELCOME: field version: 0 is not a protocol version");
  if (m.version < kWelcomeFlagsVersion && m.flags != 0) {
    return Status::InvalidArgument("WELCOME: field flags: version " + std::to_string(m.version) +
                                   " has no flags (they start at version " +
                                   std::to_string(kWelcomeFlagsVersion) + ")");
  }
  if ((m.flags & ~kWelcomeKnownFlags) != 0) {
    return Status::InvalidArgument("WELCOME: field flags: unknown bits 0x" + Hex32(m.flags & ~kWelcomeKnownFlags) +
                                   " (this build knows 0x" + Hex32(kWelcomeKnownFlags) + ")");
  }
  ROCKSDR_RETURN_IF_ERROR(CheckId("WELCOME", "cluster_id", m.cluster_id, limits.max_id_length));
  ROCKSDR_RETURN_IF_ERROR(CheckSequence("WELCOME", "primary_latest_sequence", m.primary_latest_sequence));
  switch (m.mode) {
    case ResumeMode::kStream:
      if (m.stream_from_sequence == 0 || m.stream_from_sequence > m.primary_latest_sequence + 1) {
        return Status::InvalidArgument("WELCOME: field stream_from_sequence: " +
                                       std::to_string(m.stream_from_sequence) + " is outside [1, " +
                                       std::to_string(m.primary_latest_sequence + 1) +
                                       "] (primary_latest_sequence + 1)");
      }
      if (!m.bootstrap_reason.empty()) {
        return Status::InvalidArgument("WELCOME: field bootstrap_reason: must be empty in stream mode");
      }
      return Status::OK();
    case ResumeMode::kBootstrap:
      if (m.stream_from_sequence != 0) {
        return Status::InvalidArgument("WELCOME: field stream_from_sequence: must be 0 in bootstrap mode");
      }
      if (m.bootstrap_reason.empty()) {
        return Status::InvalidArgument("WELCOME: field bootstrap_reason: must say why a bootstrap is needed");
      }
      return CheckText("WELCOME", "bootstrap_reason", m.bootstrap_reason, limits.max_text_length);
  }
  return Status::InvalidArgument("WELCOME: field mode: " + std::to_string(static_cast<int>(m.mode)) +
                                 " is neither 1 (stream) nor 2 (bootstrap)");
}

Status Decode(std::string_view payload, Welcome* m, const ProtocolLimits& limits) {
  MessageReader r(payload, "WELCOME");
  r.Fixed16(&m->version, "version");
  r.String(&m->cluster_id, limits.max_id_length, "cluster_id");
  r.Fixed64(&m->epoch, "epoch");
  r.Fixed64(&m->primary_latest_sequence, "primary_latest_sequence");
  uint8_t mode = 0;
  r.U8(&mode, "mode");
  m->stream_from_sequence = 0;
  m->bootstrap_reason.clear();
  if (r.ok()) {
    if (mode == static_cast<uint8_t>(ResumeMode::kStream)) {
      m->mode = ResumeMode::kStream;
      r.Fixed64(&m->stream_from_sequence, "stream_from_sequence");
    } else if (mode == static_cast<uint8_t>(ResumeMode::kBootstrap)) {
      m->mode = ResumeMode::kBootstrap;
      r.String(&m->bootstrap_reason, limits.max_text_length, "bootstrap_reason");
    } else {
      r.Fail(Code::kCorruption, "mode", std::to_string(mode) + " is neither 1 (stream) nor 2 (bootstrap)");
    }
  }
  m->flags = 0;
  if (m->version >= kWelcomeFlagsVersion) r.Fixed32(&m->flags, "flags");
  ROCKSDR_RETURN_IF_ERROR(r.Finish());
  return Validate(*m, limits);
}

}  // namespace rocksdr::replication
