// Message codec: BOOTSTRAP_BEGIN, FILE_BEGIN, FILE_CHUNK, FILE_END, BOOTSTRAP_END
// (grammar in PROTOCOL.md, "Bootstrap").
#include "message_reader.h"
#include "rocksdr/replication/messages.h"
#include "wire_coding.h"

namespace rocksdr::replication {

namespace {
// Offsets and sizes stay below 2^62 so that offset + size never overflows.
constexpr uint64_t kMaxFileOffset = uint64_t{1} << 62;
}  // namespace

// bootstrap_begin := checkpoint_sequence:fixed64 file_count:fixed32 total_bytes:fixed64
void EncodeTo(const BootstrapBegin& m, std::string* payload) {
  wire::PutFixed64(payload, m.checkpoint_sequence);
  wire::PutFixed32(payload, m.file_count);
  wire::PutFixed64(payload, m.total_bytes);
}

std::string Encode(const BootstrapBegin& m) {
  std::string s;
  EncodeTo(m, &s);
  return s;
}

Status Validate(const BootstrapBegin& m, const ProtocolLimits& limits) {
  ROCKSDR_RETURN_IF_ERROR(CheckSequence("BOOTSTRAP_BEGIN", "checkpoint_sequence", m.checkpoint_sequence));
  if (m.file_count == 0) {
    return Status::InvalidArgument("BOOTSTRAP_BEGIN: field file_count: a checkpoint has at least one file");
  }
  if (m.file_count > limits.max_bootstrap_files) {
    return Status::ResourceExhausted("BOOTSTRAP_BEGIN: field file_count: " + std::to_string(m.file_count) +
                                     " files, over the limit of " + std::to_string(limits.max_bootstrap_files) +
                                     " (max_bootstrap_files)");
  }
  if (m.total_bytes > kMaxFileOffset) {
    return Status::InvalidArgument("BOOTSTRAP_BEGIN: field total_bytes: " + std::to_string(m.total_bytes) +
                                   " is above 2^62");
  }
  return Status::OK();
}

Status Decode(std::string_view payload, BootstrapBegin* m, const ProtocolLimits& limits) {
  MessageReader r(payload, "BOOTSTRAP_BEGIN");
  r.Fixed64(&m->checkpoint_sequence, "checkpoint_sequence");
  r.Fixed32(&m->file_count, "file_count");
  r.Fixed64(&m->total_bytes, "total_bytes");
  ROCKSDR_RETURN_IF_ERROR(r.Finish());
  return Validate(*m, limits);
}

// file_begin := name:string size:fixed64
void EncodeTo(const FileBegin& m, std::string* payload) {
  wire::PutLengthPrefixed(payload, m.name);
  wire::PutFixed64(payload, m.size);
}

std::string Encode(const FileBegin& m) {
  std::string s;
  EncodeTo(m, &s);
  return s;
}

Status Validate(const FileBegin& m, const ProtocolLimits& limits) {
  Status s = ValidateFileName(m.name, limits.max_file_name_length);
  if (!s.ok()) return s.WithContext("FILE_BEGIN: field name");
  if (m.size > kMaxFileOffset) {
    return Status::InvalidArgument("FILE_BEGIN: field size: " + std::to_string(m.size) + " is above 2^62");
  }
  return Status::OK();
}

Status Decode(std::string_view payload, FileBegin* m, const ProtocolLimits& limits) {
  MessageReader r(payload, "FILE_BEGIN");
  r.String(&m->name, limits.max_file_name_length, "name");
  r.Fixed64(&m->size, "size");
  ROCKSDR_RETURN_IF_ERROR(r.Finish());
  return Validate(*m, limits);
}

// file_chunk := offset:fixed64 data:bytes[rest of the payload]
void EncodeTo(const FileChunk& m, std::string* payload) {
  wire::PutFixed64(payload, m.offset);
  payload->append(m.data);
}

std::string Encode(const FileChunk& m) {
  std::string s;
  EncodeTo(m, &s);
  return s;
}

Status Validate(const FileChunk& m, const ProtocolLimits& limits) {
  if (m.data.empty()) return Status::InvalidArgument("FILE_CHUNK: field data: a chunk carries at least one byte");
  if (m.data.size() > limits.max_frame_payload - 8) {
    return Status::ResourceExhausted("FILE_CHUNK: field data: " + std::to_string(m.data.size()) +
                                     " bytes do not fit in max_frame_payload " +
                                     std::to_string(limits.max_frame_payload));
  }
  if (m.offset > kMaxFileOffset) {
    return Status::InvalidArgument("FILE_CHUNK: field offset: " + std::to_string(m.offset) + " is above 2^62");
  }
  return Status::OK();
}

Status Decode(std::string_view payload, FileChunk* m, const ProtocolLimits& limits) {
  MessageReader r(payload, "FILE_CHUNK");
  r.Fixed64(&m->offset, "offset");
  ROCKSDR_RETURN_IF_ERROR(r.Finish(/*allow_trailing=*/true));
  std::string_view data = r.raw().TakeRest();  // already bounded by the frame decoder
  m->data.assign(data.data(), data.size());
  return Validate(*m, limits);
}

// file_end := file_crc32c:fixed32
void EncodeTo(const FileEnd& m, std::string* payload) { wire::PutFixed32(payload, m.file_crc32c); }

std::string Encode(const FileEnd& m) {
  std::string s;
  EncodeTo(m, &s);
  return s;
}

Status Validate(const FileEnd& /*m*/, const ProtocolLimits& /*limits*/) { return Status::OK(); }

Status Decode(std::string_view payload, FileEnd* m, const ProtocolLimits& limits) {
  MessageReader r(payload, "FILE_END");
  r.Fixed32(&m->file_crc32c, "file_crc32c");
  ROCKSDR_RETURN_IF_ERROR(r.Finish());
  return Validate(*m, limits);
}

// bootstrap_end := (empty)
void EncodeTo(const BootstrapEnd& /*m*/, std::string* /*payload*/) {}

std::string Encode(const BootstrapEnd& /*m*/) { return std::string(); }

Status Validate(const BootstrapEnd& /*m*/, const ProtocolLimits& /*limits*/) { return Status::OK(); }

Status Decode(std::string_view payload, BootstrapEnd* /*m*/, const ProtocolLimits& /*limits*/) {
  MessageReader r(payload, "BOOTSTRAP_END");
  return r.Finish();
}

}  // namespace rocksdr::replication
