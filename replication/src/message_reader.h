// MessageReader: decodes one message payload field by field, remembering the first error with the
// message and field names ("HELLO: field cluster_id: ..."), so each decoder reads as its grammar.
//
// Who may include: replication/src message codec files only. Not thread-safe (a local value).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "rocksdr/status.h"
#include "wire_coding.h"

namespace rocksdr::replication {

class MessageReader {
 public:
  MessageReader(std::string_view payload, std::string_view message) : in_(payload), message_(message) {}

  bool ok() const { return status_.ok(); }

  void U8(uint8_t* v, const char* field) {
    if (ok() && !in_.GetUint8(v)) Truncated(field);
  }
  void Bool(bool* v, const char* field) {
    uint8_t b = 0;
    U8(&b, field);
    if (ok() && b > 1) Fail(Code::kCorruption, field, "boolean byte is " + std::to_string(b) + ", not 0 or 1");
    *v = b == 1;
  }
  void Fixed16(uint16_t* v, const char* field) {
    if (ok() && !in_.GetFixed16(v)) Truncated(field);
  }
  void Fixed32(uint32_t* v, const char* field) {
    if (ok() && !in_.GetFixed32(v)) Truncated(field);
  }
  void Fixed64(uint64_t* v, const char* field) {
    if (ok() && !in_.GetFixed64(v)) Truncated(field);
  }
  void Varint32(uint32_t* v, const char* field) {
    if (ok() && !in_.GetVarint32(v)) Fail(Code::kCorruption, field, "truncated or malformed varint");
  }
  // A length-prefixed string of at most max_length bytes; the length is checked before copying.
  void String(std::string* s, size_t max_length, const char* field) {
    if (!ok()) return;
    std::string_view view;
    bool too_long = false;
    if (!in_.GetLengthPrefixed(max_length, &view, &too_long)) {
      if (too_long) {
        Fail(Code::kResourceExhausted, field, "longer than the limit of " + std::to_string(max_length) + " bytes");
      } else {
        Truncated(field);
      }
      return;
    }
    s->assign(view.data(), view.size());
  }
  wire::WireReader& raw() { return in_; }

  void Fail(Code code, const char* field, const std::string& what) {
    if (!ok()) return;
    status_ = Status(code, std::string(message_) + ": field " + field + ": " + what);
  }

  // The first error, or a Corruption if bytes remain unread (unless allow_trailing).
  Status Finish(bool allow_trailing = false) {
    if (ok() && !allow_trailing && !in_.empty()) {
      status_ = Status::Corruption(std::string(message_) + ": " + std::to_string(in_.remaining()) +
                                   " unexpected bytes after the last field");
    }
    return status_;
  }

 private:
  void Truncated(const char* field) { Fail(Code::kCorruption, field, "payload ends before this field"); }

  wire::WireReader in_;
  std::string_view message_;
  Status status_;
};

// Rule checks shared by the message validators. Each returns OK or an InvalidArgument /
// ResourceExhausted Status prefixed with "<message>: field <field>: ".
Status CheckId(std::string_view message, const char* field, std::string_view value, size_t max_length);
Status CheckText(std::string_view message, const char* field, std::string_view value, size_t max_length);
Status CheckSequence(std::string_view message, const char* field, uint64_t value);

}  // namespace rocksdr::replication
