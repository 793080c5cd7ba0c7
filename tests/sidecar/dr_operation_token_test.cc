// OperationTokenAttempt (the generate-operation-token state machine) and DrOperationTokens (the
// local store of DR operation tokens), without HTTP.
#include <gtest/gtest.h>

#include "rocksdr/crypto/otp.h"
#include "rocksdr/sidecar/dr_op_token_store.h"
#include "rocksdr/sidecar/dr_operation_token.h"
#include "rocksdr/sidecar/memory_plugin_control.h"

namespace rocksdr::sidecar {
namespace {

crypto::SecureBytes Key(uint8_t fill) { return crypto::SecureBytes(33, fill); }
crypto::SecureString Otp() { return crypto::SecureString("abcdefghijklmnopqrstuvwxyz01"); }

TEST(OperationTokenAttemptTest, IdleViewReportsRequiredAndNoOtp) {
  OperationTokenAttempt a;
  AttemptView v = a.View(3);
  EXPECT_FALSE(v.started);
  EXPECT_EQ(v.required, 3);
  EXPECT_EQ(v.progress, 0);
  EXPECT_EQ(v.otp, "");
  EXPECT_EQ(v.otp_length, crypto::kTokenLength);
  nlohmann::json j = v.ToJson();
  for (const char* f : {"nonce", "started", "progress", "required", "complete", "encoded_token",
                        "encoded_root_token", "pgp_fingerprint", "otp", "otp_length"}) {
    EXPECT_TRUE(j.contains(f)) << f;
  }
}

TEST(OperationTokenAttemptTest, StartReturnsOtpOnceAndRefusesASecondStart) {
  OperationTokenAttempt a;
  Result<AttemptView> v = a.Start(2, "n1", Otp());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->started);
  EXPECT_EQ(v->otp, "abcdefghijklmnopqrstuvwxyz01");
  EXPECT_EQ(v->nonce, "n1");
  EXPECT_EQ(a.View(9).otp, "");       // never again
  EXPECT_EQ(a.View(9).required, 2);   // the attempt's, not the idle value
  Result<AttemptView> again = a.Start(2, "n2", Otp());
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("already in progress"), std::string::npos);
  EXPECT_EQ(a.nonce(), "n1");
  EXPECT_FALSE(a.Start(0, "n", Otp()).ok());
}

TEST(OperationTokenAttemptTest, SubmitErrorsAreVaults) {
  OperationTokenAttempt a;
  Result<OperationTokenAttempt::SubmitResult> none = a.Submit(Key(1), "n1");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message(), "no DR operation token generation in progress");

  ASSERT_TRUE(a.Start(3, "n1", Otp()).ok());
  Result<OperationTokenAttempt::SubmitResult> bad_nonce = a.Submit(Key(1), "other");
  ASSERT_FALSE(bad_nonce.ok());
  EXPECT_EQ(bad_nonce.status().message(),
            "incorrect nonce supplied; nonce for this DR operation token generation operation is \"n1\"");

  Result<OperationTokenAttempt::SubmitResult> one = a.Submit(Key(1), "n1");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->view.progress, 1);
  EXPECT_FALSE(one->threshold_reached);
  Result<OperationTokenAttempt::SubmitResult> dup = a.Submit(Key(1), "n1");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().message(), "given key has already been provided during this generation operation");
  EXPECT_EQ(a.View(0).progress, 1);  // unchanged by the error
}

TEST(OperationTokenAttemptTest, ThresholdHandsOutKeysAbortResetsProgressKeepsNonce) {
  OperationTokenAttempt a;
  ASSERT_TRUE(a.Start(2, "n1", Otp()).ok());
  ASSERT_TRUE(a.Submit(Key(1), "n1").ok());
  Result<OperationTokenAttempt::SubmitResult> r = a.Submit(Key(2), "n1");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->threshold_reached);
  ASSERT_EQ(r->keys.size(), 2u);
  EXPECT_EQ(r->keys[0], Key(1));
  EXPECT_EQ(r->keys[1], Key(2));
  a.Abort();
  AttemptView v = a.View(0);
  EXPECT_TRUE(v.started);
  EXPECT_EQ(v.progress, 0);
  EXPECT_EQ(v.nonce, "n1");
  // The same keys may be given again after an abort.
  ASSERT_TRUE(a.Submit(Key(1), "n1").ok());
}

TEST(OperationTokenAttemptTest, CompleteEncodesWithTheOtpAndClears) {
  OperationTokenAttempt a;
  ASSERT_TRUE(a.Start(1, "n1", Otp()).ok());
  Result<OperationTokenAttempt::SubmitResult> r = a.Submit(Key(7), "n1");
  ASSERT_TRUE(r.ok() && r->threshold_reached);
  const std::string token = "rdr.ABCDEFGHIJKLMNOPQRSTUVWX";
  ASSERT_EQ(token.size(), crypto::kTokenLength);
  Result<AttemptView> done = a.Complete(token);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_TRUE(done->complete);
  EXPECT_EQ(done->nonce, "n1");
  EXPECT_EQ(done->ToJson()["encoded_root_token"], done->encoded_token);
  Result<crypto::SecureString> decoded = crypto::DecodeToken(done->encoded_token, "abcdefghijklmnopqrstuvwxyz01");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(std::string(decoded->data(), decoded->size()), token);
  EXPECT_FALSE(a.in_progress());
  EXPECT_FALSE(a.Complete(token).ok());
}

TEST(OperationTokenAttemptTest, CancelDropsTheAttempt) {
  OperationTokenAttempt a;
  ASSERT_TRUE(a.Start(2, "n1", Otp()).ok());
  ASSERT_TRUE(a.Submit(Key(1), "n1").ok());
  a.Cancel();
  EXPECT_FALSE(a.View(2).started);
  EXPECT_FALSE(a.Submit(Key(2), "n1").ok());
  EXPECT_TRUE(a.Start(2, "n2", Otp()).ok());
}

TEST(DrOperationTokensTest, CreateOpenRevokeAndNothingInClear) {
  MemoryPluginControl control;
  DrOperationTokens tokens(&control);
  std::vector<crypto::SecureBytes> keys = {Key(0x41), Key(0x42)};
  Result<crypto::SecureString> t = tokens.Create(keys, 100);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  const std::string token(t->data(), t->size());
  EXPECT_EQ(token.size(), crypto::kTokenLength);
  EXPECT_EQ(token.substr(0, 4), "rdr.");

  Result<std::vector<crypto::SecureBytes>> opened = tokens.Open(token);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, keys);

  // Neither the token nor the keys are stored in clear (nor in base64).
  for (const auto& [k, v] : control.Dump(Store::kLocal)) {
    EXPECT_EQ(k.find(token), std::string::npos);
    EXPECT_EQ(v.find(token), std::string::npos);
    EXPECT_EQ(v.find("QUFBQUFB"), std::string::npos);  // base64 of "AAAAAA"
    EXPECT_EQ(v.find(std::string(33, 'A')), std::string::npos);
  }
  EXPECT_TRUE(control.Dump(Store::kReplicated).empty());

  std::string wrong = token;
  wrong[10] = wrong[10] == 'a' ? 'b' : 'a';
  Result<std::vector<crypto::SecureBytes>> bad = tokens.Open(wrong);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), kInvalidOpTokenMessage);
  EXPECT_FALSE(tokens.Open("").ok());
  EXPECT_FALSE(tokens.Open(std::string(300, 'x')).ok());

  ASSERT_TRUE(tokens.Revoke(token).ok());
  EXPECT_FALSE(tokens.Open(token).ok());
  EXPECT_FALSE(tokens.Revoke(token).ok());
}

TEST(DrOperationTokensTest, TamperedEntryIsCorruptionAndRevokeAllClears) {
  MemoryPluginControl control;
  DrOperationTokens tokens(&control);
  Result<crypto::SecureString> t1 = tokens.Create({Key(1)}, 1);
  Result<crypto::SecureString> t2 = tokens.Create({Key(2)}, 1);
  ASSERT_TRUE(t1.ok() && t2.ok());
  // Swap the two entries' values: each now fails to open under its own token.
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto& [k, v] : control.Dump(Store::kLocal)) {
    if (k.rfind(kOpTokenKeyPrefix, 0) == 0) entries.emplace_back(k, v);
  }
  ASSERT_EQ(entries.size(), 2u);
  ASSERT_TRUE(control.Put(Store::kLocal, entries[0].first, entries[1].second).ok());
  ASSERT_TRUE(control.Put(Store::kLocal, entries[1].first, entries[0].second).ok());
  Result<std::vector<crypto::SecureBytes>> o = tokens.Open(std::string_view(t1->data(), t1->size()));
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), Code::kCorruption);

  ASSERT_TRUE(tokens.RevokeAll().ok());
  for (const auto& [k, v] : control.Dump(Store::kLocal)) EXPECT_NE(k.rfind(kOpTokenKeyPrefix, 0), 0u) << k;
}

}  // namespace
}  // namespace rocksdr::sidecar
