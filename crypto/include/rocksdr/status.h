// rocksdr::Status and rocksdr::Result<T> — the error vocabulary of every layer above RocksDB.
//
// Errors on rocksdr's data and control paths are values, never exceptions (see STYLE.md).
// A Status carries a code (what kind of failure, for callers that branch on it) and a message
// (what happened and what to do, for operators). Messages never contain secrets.
//
// Who may call: anyone. Thread safety: values; a const Status may be shared between threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace rocksdr {

enum class Code : int {
  kOk = 0,
  kInvalidArgument,     // the caller's input is malformed or out of bounds
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,    // authenticated, but not allowed
  kUnauthenticated,     // signature, MAC, key or token did not verify
  kFailedPrecondition,  // the system is not in a state where this is allowed
  kResourceExhausted,   // a limit was hit
  kUnavailable,         // try again later (peer down, sealed, ...)
  kDeadlineExceeded,
  kAborted,
  kCorruption,          // stored or received bytes are inconsistent
  kIOError,
  kInternal,            // a bug or an unexpected library failure
};

// Returns the stable lower-case name of a code, e.g. "invalid-argument".
std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
  static Status Unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
  static Status FailedPrecondition(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
  static Status ResourceExhausted(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status DeadlineExceeded(std::string m) { return {Code::kDeadlineExceeded, std::move(m)}; }
  static Status Aborted(std::string m) { return {Code::kAborted, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status IOError(std::string m) { return {Code::kIOError, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid-argument: <message>", or "ok".
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>"; the code is kept.
  Status WithContext(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) { return a.code_ == b.code_; }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}                 // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {          // NOLINT: implicit by design
    if (status_.ok()) status_ = Status::Internal("Result constructed from an OK status without a value");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  // REQUIRES: ok().
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace rocksdr

// Returns early from the enclosing function if `expr` yields a non-OK Status.
#define ROCKSDR_RETURN_IF_ERROR(expr)            \
  do {                                           \
    ::rocksdr::Status _rocksdr_st = (expr);      \
    if (!_rocksdr_st.ok()) return _rocksdr_st;   \
  } while (0)
