// Implementation of dr_operation_token.h.
#include "rocksdr/sidecar/dr_operation_token.h"

#include "rocksdr/crypto/otp.h"
#include "rocksdr/crypto/random.h"

namespace rocksdr::sidecar {

nlohmann::json AttemptView::ToJson() const {
  return {{"nonce", nonce},
          {"started", started},
          {"progress", progress},
          {"required", required},
          {"complete", complete},
          {"encoded_token", encoded_token},
          {"encoded_root_token", encoded_token},
          {"pgp_fingerprint", ""},
          {"otp", otp},
          {"otp_length", otp_length}};
}

Result<AttemptView> OperationTokenAttempt::Start(int required, std::string nonce, crypto::SecureString otp) {
  if (started_) {
    return Status::FailedPrecondition(
        "DR operation token generation already in progress; cancel it first (DELETE "
        "sys/replication/dr/secondary/generate-operation-token/attempt, or `rocksdr operator generate-root "
        "-dr-token -cancel`)");
  }
  if (required < 1) return Status::InvalidArgument("the key threshold must be at least 1");
  if (nonce.empty()) return Status::InvalidArgument("empty nonce");
  if (otp.empty()) return Status::InvalidArgument("empty OTP");
  started_ = true;
  nonce_ = std::move(nonce);
  otp_ = std::move(otp);
  required_ = required;
  keys_.clear();
  AttemptView v = View(required);
  v.otp = std::string(otp_.data(), otp_.size());
  return v;
}

AttemptView OperationTokenAttempt::View(int required_if_idle) const {
  AttemptView v;
  v.otp_length = crypto::kTokenLength;
  if (!started_) {
    v.required = required_if_idle;
    return v;
  }
  v.started = true;
  v.nonce = nonce_;
  v.progress = static_cast<int>(keys_.size());
  v.required = required_;
  v.otp_length = otp_.size();
  return v;
}

void OperationTokenAttempt::Cancel() {
  started_ = false;
  nonce_.clear();
  otp_.clear();  // the allocator zeroizes released memory
  otp_.shrink_to_fit();
  required_ = 0;
  keys_.clear();
}

Result<OperationTokenAttempt::SubmitResult> OperationTokenAttempt::Submit(const crypto::SecureBytes& key,
                                                                          std::string_view nonce) {
  if (!started_) return Status::FailedPrecondition("no DR operation token generation in progress");
  if (nonce != nonce_) {
    return Status::InvalidArgument(
        "incorrect nonce supplied; nonce for this DR operation token generation operation is \"" + nonce_ + "\"");
  }
  if (key.empty()) return Status::InvalidArgument("'key' must be specified in request body as JSON");
  for (const auto& k : keys_) {
    if (crypto::ConstantTimeEquals(crypto::AsStringView(k), crypto::AsStringView(key))) {
      return Status::InvalidArgument("given key has already been provided during this generation operation");
    }
  }
  keys_.push_back(key);
  SubmitResult r;
  r.view = View(required_);
  if (static_cast<int>(keys_.size()) >= required_) {
    r.threshold_reached = true;
    r.keys = std::move(keys_);
    keys_.clear();
  }
  return r;
}

void OperationTokenAttempt::Abort() { keys_.clear(); }

Result<AttemptView> OperationTokenAttempt::Complete(std::string_view token) {
  if (!started_) return Status::FailedPrecondition("no DR operation token generation in progress");
  Result<std::string> encoded = crypto::EncodeToken(token, std::string_view(otp_.data(), otp_.size()));
  if (!encoded.ok()) return encoded.status();
  AttemptView v = View(required_);
  v.progress = required_;
  v.complete = true;
  v.encoded_token = std::move(encoded).value();
  Cancel();
  return v;
}

}  // namespace rocksdr::sidecar
