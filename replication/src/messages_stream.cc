// Message codec: BATCHES, HEARTBEAT and ACK (grammar in PROTOCOL.md, "Streaming").
#include "message_reader.h"
#include "rocksdr/replication/messages.h"
#include "wire_coding.h"

namespace rocksdr::replication {

namespace {
// The smallest encoding of one batch: sequence (8), count (1), rep length (1), rep header (12).
constexpr size_t kMinEncodedBatchSize = 8 + 1 + 1 + kWriteBatchHeaderSize;

Status ValidateBatch(const WalBatch& b, size_t index) {
  // The error text is built only on failure: this runs for every batch shipped and received.
  auto where = [index] { return "BATCHES: batch " + std::to_string(index) + ": "; };
  if (b.sequence == 0) return Status::InvalidArgument(where() + "sequence 0 is not a RocksDB batch sequence");
  if (b.sequence > kMaxSequenceNumber || kMaxSequenceNumber - b.sequence + 1 < b.count) {
    return Status::InvalidArgument(where() + "sequence " + std::to_string(b.sequence) + " + count " +
                                   std::to_string(b.count) + " passes RocksDB's largest sequence number 2^56-1");
  }
  if (b.rep.size() < kWriteBatchHeaderSize) {
    return Status::InvalidArgument(where() + "rep is " + std::to_string(b.rep.size()) +
                                   " bytes, shorter than a WriteBatch header (12)");
  }
  return Status::OK();
}
}  // namespace

// batches := n:varint32 batch{n}
// batch   := sequence:fixed64 count:varint32 rep:string
size_t EncodedBatchSize(const WalBatch& batch) {
  return 8 + wire::VarintLength(batch.count) + wire::VarintLength(batch.rep.size()) + batch.rep.size();
}

size_t EncodedBatchesSize(std::span<const WalBatch> batches) {
  size_t n = wire::VarintLength(batches.size());
  for (const WalBatch& b : batches) n += EncodedBatchSize(b);
  return n;
}

void EncodeBatchesTo(std::span<const WalBatch> batches, std::string* payload) {
  payload->reserve(payload->size() + EncodedBatchesSize(batches));
  wire::PutVarint32(payload, static_cast<uint32_t>(batches.size()));
  for (const WalBatch& b : batches) {
    wire::PutFixed64(payload, b.sequence);
    wire::PutVarint32(payload, b.count);
    wire::PutLengthPrefixed(payload, b.rep);
  }
}

void EncodeTo(const Batches& m, std::string* payload) { EncodeBatchesTo(m.batches, payload); }

std::string Encode(const Batches& m) {
  std::string s;
  EncodeTo(m, &s);
  return s;
}

Status ValidateBatches(std::span<const WalBatch> batches, const ProtocolLimits& limits) {
  if (batches.empty()) return Status::InvalidArgument("BATCHES: carries no batch");
  if (batches.size() > limits.max_batches_per_frame) {
    return Status::ResourceExhausted("BATCHES: " + std::to_string(batches.size()) +
                                     " batches, over the limit of " + std::to_string(limits.max_batches_per_frame) +
                                     " per frame (max_batches_per_frame)");
  }
  for (size_t i = 0; i < batches.size(); ++i) ROCKSDR_RETURN_IF_ERROR(ValidateBatch(batches[i], i));
  size_t size = EncodedBatchesSize(batches);
  if (size > limits.max_frame_payload) {
    return Status::ResourceExhausted("BATCHES: payload of " + std::to_string(size) + " bytes is over the limit of " +
                                     std::to_string(limits.max_frame_payload) +
                                     " (max_frame_payload); split the batches over several frames, or raise "
                                     "max_frame_payload on both sites for a single batch this large");
  }
  return Status::OK();
}

Status Validate(const Batches& m, const ProtocolLimits& limits) { return ValidateBatches(m.batches, limits); }

Status Decode(std::string_view payload, Batches* m, const ProtocolLimits& limits) {
  MessageReader r(payload, "BATCHES");
  uint32_t n = 0;
  r.Varint32(&n, "n");
  if (r.ok() && n > limits.max_batches_per_frame) {
    r.Fail(Code::kResourceExhausted, "n",
           std::to_string(n) + " batches, over the limit of " + std::to_string(limits.max_batches_per_frame) +
               " per frame (max_batches_per_frame)");
  }
  if (r.ok() && n > r.raw().remaining() / kMinEncodedBatchSize) {
    r.Fail(Code::kCorruption, "n",
           std::to_string(n) + " batches cannot fit in the " + std::to_string(r.raw().remaining()) +
               " bytes that follow");
  }
  ROCKSDR_RETURN_IF_ERROR(r.Finish(/*allow_trailing=*/true));
  m->batches.clear();
  m->batches.reserve(n);  // bounded by both checks above
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    WalBatch& b = m->batches.emplace_back();
    r.Fixed64(&b.sequence, "sequence");
    r.Varint32(&b.count, "count");
    r.String(&b.rep, limits.max_frame_payload, "rep");
  }
  ROCKSDR_RETURN_IF_ERROR(r.Finish());
  return Validate(*m, limits);
}

// heartbeat := primary_latest_sequence:fixed64 primary_wall_clock_micros:fixed64
//              primary_send_monotonic_micros:fixed64
void EncodeTo(const Heartbeat& m, std::string* payload) {
  wire::PutFixed64(payload, m.primary_latest_sequence);
  wire::PutFixed64(payload, m.primary_wall_clock_micros);
  wire::PutFixed64(payload, m.primary_send_monotonic_micros);
}

std::string Encode(const Heartbeat& m) {
  std::string s;
  EncodeTo(m, &s);
  return s;
}

Status Validate(const Heartbeat& m, const ProtocolLimits& /*limits*/) {
  return CheckSequence("HEARTBEAT", "primary_latest_sequence", m.primary_latest_sequence);
}

Status Decode(std::string_view payload, Heartbeat* m, const ProtocolLimits& limits) {
  MessageReader r(payload, "HEARTBEAT");
  r.Fixed64(&m->primary_latest_sequence, "primary_latest_sequence");
  r.Fixed64(&m->primary_wall_clock_micros, "primary_wall_clock_micros");
  r.Fixed64(&m->primary_send_monotonic_micros, "primary_send_monotonic_micros");
  ROCKSDR_RETURN_IF_ERROR(r.Finish());
  return Validate(*m, limits);
}

// ack := applied_sequence:fixed64 durable_sequence:fixed64 echo_send_monotonic_micros:fixed64
//        received_bytes:fixed64
void EncodeTo(const Ack& m, std::string* payload) {
  wire::PutFixed64(payload, m.applied_sequence);
  wire::PutFixed64(payload, m.durable_sequence);
  wire::PutFixed64(payload, m.echo_send_monotonic_micros);
  wire::PutFixed64(payload, m.received_bytes);
}

std::string Encode(const Ack& m) {
  std::string s;
  EncodeTo(m, &s);
  return s;
}

Status Validate(const Ack& m, const ProtocolLimits& /*limits*/) {
  ROCKSDR_RETURN_IF_ERROR(CheckSequence("ACK", "applied_sequence", m.applied_sequence));
  if (m.durable_sequence > m.applied_sequence) {
    return Status::InvalidArgument("ACK: field durable_sequence: " + std::to_string(m.durable_sequence) +
                                   " is ahead of applied_sequence " + std::to_string(m.applied_sequence));
  }
  return Status::OK();
}

Status Decode(std::string_view payload, Ack* m, const ProtocolLimits& limits) {
  MessageReader r(payload, "ACK");
  r.Fixed64(&m->applied_sequence, "applied_sequence");
  r.Fixed64(&m->durable_sequence, "durable_sequence");
  r.Fixed64(&m->echo_send_monotonic_micros, "echo_send_monotonic_micros");
  r.Fixed64(&m->received_bytes, "received_bytes");
  ROCKSDR_RETURN_IF_ERROR(r.Finish());
  return Validate(*m, limits);
}

// received := received_sequence:fixed64
void EncodeTo(const Received& m, std::string* payload) { wire::PutFixed64(payload, m.received_sequence); }

std::string Encode(const Received& m) {
  std::string s;
  EncodeTo(m, &s);
  return s;
}

Status Validate(const Received& m, const ProtocolLimits& /*limits*/) {
  return CheckSequence("RECEIVED", "received_sequence", m.received_sequence);
}

Status Decode(std::string_view payload, Received* m, const ProtocolLimits& limits) {
  MessageReader r(payload, "RECEIVED");
  r.Fixed64(&m->received_sequence, "received_sequence");
  ROCKSDR_RETURN_IF_ERROR(r.Finish());
  return Validate(*m, limits);
}

}  // namespace rocksdr::replication
