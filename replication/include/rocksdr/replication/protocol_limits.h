// ProtocolLimits: every bound the replication codec enforces on what it receives (PROTOCOL.md,
// "Limits"). Each length or count read from the network is checked against these BEFORE anything
// is allocated or copied for it. Senders use the same limits (Validate* in messages.h) so that a
// well-behaved peer never produces a frame the other side refuses.
//
// Who may use: anyone; plain value type. Both sites should run with the same values; the only one
// that is negotiated is max_frame_payload (HELLO carries the secondary's, see PROTOCOL.md).
#pragma once

#include <cstdint>

#include "rocksdr/status.h"

namespace rocksdr::replication {

// Every control message fits in this; a configured max_frame_payload below it is refused.
inline constexpr uint32_t kMinFramePayloadLimit = 64 * 1024;
// No configuration may raise max_frame_payload above this (1 GiB).
inline constexpr uint32_t kMaxFramePayloadCeiling = 1u << 30;
// 16 MiB of batch reps or file bytes, plus 64 KiB for the per-message and per-batch fields.
inline constexpr uint32_t kDefaultMaxFramePayload = (16u << 20) + (64u << 10);

struct ProtocolLimits {
  // Largest payload (bytes after the type byte, before the CRC) a frame may carry. A single WAL
  // batch larger than this cannot be shipped (the shipper reports it); raise it on both sites.
  // Default: kDefaultMaxFramePayload (16 MiB + 64 KiB).
  uint32_t max_frame_payload = kDefaultMaxFramePayload;

  // Most WAL batches one BATCHES frame may carry. Default: 65536.
  uint32_t max_batches_per_frame = 65536;

  // Longest cluster id or secondary id, in bytes. Default: 256.
  uint32_t max_id_length = 256;

  // Longest human-readable text (ERROR message, GOODBYE and BOOTSTRAP reasons). Default: 4096.
  uint32_t max_text_length = 4096;

  // Longest bootstrap file name (a plain name: [A-Za-z0-9._-], no '/', no ".."). Default: 255.
  uint32_t max_file_name_length = 255;

  // Most files one bootstrap may announce in BOOTSTRAP_BEGIN. Default: 1,000,000.
  uint32_t max_bootstrap_files = 1'000'000;
};

// OK if every field is within its allowed range (max_frame_payload in
// [kMinFramePayloadLimit, kMaxFramePayloadCeiling], the others non-zero); otherwise an
// InvalidArgument naming the field and the range.
Status ValidateProtocolLimits(const ProtocolLimits& limits);

}  // namespace rocksdr::replication
