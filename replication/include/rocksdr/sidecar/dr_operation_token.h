// OperationTokenAttempt: the state machine of one DR operation-token generation attempt
// (sys/replication/dr/secondary/generate-operation-token/{attempt,update}), as Vault's
// generate-root (vault-dr-api.md, "Operation-token attempt"):
//
//   Start(required, nonce, otp)   one attempt at a time ("... already in progress")
//   Submit(key, nonce)            "no ... generation in progress"; wrong nonce ->
//                                 `incorrect nonce supplied; nonce for this ... operation is "<n>"`;
//                                 a key given twice -> "given key has already been provided during
//                                 this generation operation"; below the threshold: progress only;
//                                 at the threshold: the collected keys are handed out (moved) for
//                                 the caller to combine and verify, then the caller calls either
//   Abort()                       wrong keys: progress back to 0, nonce and OTP kept, or
//   Complete(token)               success: returns encoded_token = EncodeToken(token, otp) and
//                                 clears the attempt.
//   Cancel()                      drops the attempt (DELETE .../attempt).
//
// Pure: no I/O, no clock, no randomness (the caller passes the nonce and the OTP), so every rule is
// unit-testable. Keys and the OTP live in zeroizing containers.
//
// Who may call: the DR handlers. Not thread-safe: callers hold their own mutex.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rocksdr/crypto/secure_bytes.h"
#include "rocksdr/status.h"

namespace rocksdr::sidecar {

// What the attempt endpoints answer (Vault's bare object). `otp` is set only in the answer to
// Start (returned once); otp_length is always the attempt's OTP length (28).
struct AttemptView {
  bool started = false;
  std::string nonce;
  int progress = 0;
  int required = 0;
  bool complete = false;
  std::string encoded_token;
  std::string otp;
  size_t otp_length = 0;

  nlohmann::json ToJson() const;
};

class OperationTokenAttempt {
 public:
  // Errors: kFailedPrecondition "DR operation token generation already in progress" (with the
  // hint to cancel it), kInvalidArgument (required < 1, empty nonce or OTP).
  Result<AttemptView> Start(int required, std::string nonce, crypto::SecureString otp);

  // Current state; `required_if_idle` is reported when no attempt runs (Vault reports the
  // threshold even then). Never includes the OTP.
  AttemptView View(int required_if_idle) const;

  bool in_progress() const { return started_; }
  const std::string& nonce() const { return nonce_; }

  // Drops the attempt (keys zeroized). Idempotent.
  void Cancel();

  struct SubmitResult {
    AttemptView view;                        // progress after this key
    bool threshold_reached = false;          // keys below hold `required` keys to verify
    std::vector<crypto::SecureBytes> keys;   // only when threshold_reached (moved out)
  };
  // Adds one key (raw bytes). Errors: kFailedPrecondition (no attempt), kInvalidArgument (wrong
  // nonce, duplicate key, empty key) — the attempt is unchanged by an error.
  Result<SubmitResult> Submit(const crypto::SecureBytes& key, std::string_view nonce);

  // After a failed verification at the threshold: progress 0, nonce and OTP kept.
  void Abort();

  // After a successful verification: the encoded token (base64 raw of OTP xor token) and the
  // attempt is cleared. Errors: kFailedPrecondition (no attempt), EncodeToken's (lengths differ).
  Result<AttemptView> Complete(std::string_view token);

 private:
  bool started_ = false;
  std::string nonce_;
  crypto::SecureString otp_;
  int required_ = 0;
  std::vector<crypto::SecureBytes> keys_;
};

}  // namespace rocksdr::sidecar
