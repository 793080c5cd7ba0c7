// Handshake rules: version negotiation, cluster id and epoch checks, STREAM vs BOOTSTRAP.
#include "rocksdr/replication/handshake.h"

#include <gtest/gtest.h>

namespace rocksdr::replication {
namespace {

Hello MakeHello(uint64_t epoch, bool has_cursor, uint64_t cursor) {
  Hello h;
  h.cluster_id = "cluster-a";
  h.secondary_id = "dr1";
  h.epoch = epoch;
  h.has_cursor = has_cursor;
  h.last_applied_sequence = cursor;
  return h;
}

TEST(Handshake, NegotiatePicksTheHighestCommonVersion) {
  EXPECT_EQ(NegotiateVersion(1, 1).value(), 1);
  EXPECT_EQ(NegotiateVersion(1, 5, 1, 3).value(), 3);
  EXPECT_EQ(NegotiateVersion(2, 5, 1, 3).value(), 3);
  EXPECT_EQ(NegotiateVersion(1, 2, 2, 4).value(), 2);
}

TEST(Handshake, NegotiateNamesBothVersionsWhenThereIsNoCommonOne) {
  auto r = NegotiateVersion(2, 3, 1, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(r.status().message(),
            "no common replication protocol version: the peer speaks 2..3, this side speaks 1; upgrade this side");
  r = NegotiateVersion(1, 1, 2, 2);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("the peer speaks 1, this side speaks 2; upgrade the peer"), std::string::npos)
      << r.status().ToString();
  EXPECT_FALSE(NegotiateVersion(3, 2).ok());  // an empty peer range
}

TEST(Handshake, CheckHelloAcceptsAMatchingSecondary) {
  HelloVerdict v = CheckHello(MakeHello(4, true, 10), "cluster-a", 4);
  EXPECT_TRUE(v.status.ok()) << v.status.ToString();
  EXPECT_EQ(v.version, kProtocolVersion);
  EXPECT_TRUE(CheckHello(MakeHello(2, true, 10), "cluster-a", 4).status.ok());  // older: bootstrap later
}

TEST(Handshake, CheckHelloRefusals) {
  Hello future = MakeHello(4, true, 10);
  future.min_version = kProtocolVersion + 1;
  future.max_version = kProtocolVersion + 2;
  HelloVerdict v = CheckHello(future, "cluster-a", 4);
  EXPECT_EQ(v.code, ErrorCode::kUnsupportedVersion);
  const std::string ranges = "the peer speaks " + std::to_string(kProtocolVersion + 1) + ".." +
                             std::to_string(kProtocolVersion + 2) + ", this side speaks " +
                             std::to_string(kMinProtocolVersion) + ".." + std::to_string(kProtocolVersion);
  EXPECT_NE(v.status.message().find(ranges), std::string::npos)
      << v.status.ToString();

  v = CheckHello(MakeHello(4, true, 10), "cluster-b", 4);
  EXPECT_EQ(v.code, ErrorCode::kClusterMismatch);
  EXPECT_FALSE(v.status.ok());
  EXPECT_NE(v.status.message().find("'cluster-a'"), std::string::npos);
  EXPECT_NE(v.status.message().find("'cluster-b'"), std::string::npos);

  v = CheckHello(MakeHello(5, true, 10), "cluster-a", 4);
  EXPECT_EQ(v.code, ErrorCode::kStaleEpoch);
  EXPECT_EQ(v.status.code(), Code::kFailedPrecondition);
  EXPECT_NE(v.status.message().find("this primary's epoch 4 is older than secondary 'dr1''s epoch 5"),
            std::string::npos)
      << v.status.ToString();
}

TEST(Handshake, CheckWelcomeRules) {
  Hello h = MakeHello(4, true, 10);
  Welcome w;
  w.version = 1;
  w.cluster_id = "cluster-a";
  w.epoch = 4;
  ErrorCode code = ErrorCode::kInternal;
  EXPECT_TRUE(CheckWelcome(h, w, &code).ok());
  w.epoch = 6;  // a newer primary (promoted since): accepted, the data will tell
  EXPECT_TRUE(CheckWelcome(h, w, &code).ok());

  w.epoch = 3;
  Status s = CheckWelcome(h, w, &code);
  EXPECT_EQ(code, ErrorCode::kStaleEpoch);
  EXPECT_NE(s.message().find("epoch 3 is older than this secondary's epoch 4"), std::string::npos) << s.ToString();

  w.epoch = 4;
  w.cluster_id = "cluster-z";
  s = CheckWelcome(h, w, &code);
  EXPECT_EQ(code, ErrorCode::kClusterMismatch);
  EXPECT_FALSE(s.ok());

  w.cluster_id = "cluster-a";
  w.version = kProtocolVersion + 1;
  s = CheckWelcome(h, w, &code);
  EXPECT_EQ(code, ErrorCode::kUnsupportedVersion);
  EXPECT_NE(s.message().find("version " + std::to_string(kProtocolVersion + 1)), std::string::npos);
}

TEST(Handshake, DecideResume) {
  PrimaryPosition p{.epoch = 4, .latest_sequence = 1000, .oldest_available_sequence = 500, .history = ""};
  Welcome w;

  DecideResume(MakeHello(4, true, 700), p, &w);
  EXPECT_EQ(w.mode, ResumeMode::kStream);
  EXPECT_EQ(w.stream_from_sequence, 701u);
  EXPECT_EQ(w.epoch, 4u);
  EXPECT_EQ(w.primary_latest_sequence, 1000u);

  DecideResume(MakeHello(4, true, 499), p, &w);  // needs 500: the oldest still there
  EXPECT_EQ(w.mode, ResumeMode::kStream);
  EXPECT_EQ(w.stream_from_sequence, 500u);

  DecideResume(MakeHello(4, true, 1000), p, &w);  // caught up
  EXPECT_EQ(w.mode, ResumeMode::kStream);
  EXPECT_EQ(w.stream_from_sequence, 1001u);

  DecideResume(MakeHello(4, true, 498), p, &w);
  EXPECT_EQ(w.mode, ResumeMode::kBootstrap);
  EXPECT_EQ(w.stream_from_sequence, 0u);
  EXPECT_EQ(w.bootstrap_reason,
            "WAL gap: the secondary needs sequence 499, but the primary's WAL starts at sequence 500");

  DecideResume(MakeHello(4, false, 0), p, &w);
  EXPECT_EQ(w.mode, ResumeMode::kBootstrap);
  EXPECT_NE(w.bootstrap_reason.find("no replication position"), std::string::npos);

  DecideResume(MakeHello(3, true, 700), p, &w);
  EXPECT_EQ(w.mode, ResumeMode::kBootstrap);
  EXPECT_NE(w.bootstrap_reason.find("epoch 3"), std::string::npos);

  DecideResume(MakeHello(4, true, 1001), p, &w);
  EXPECT_EQ(w.mode, ResumeMode::kBootstrap);
  EXPECT_NE(w.bootstrap_reason.find("diverged"), std::string::npos);

  PrimaryPosition no_wal{.epoch = 4, .latest_sequence = 1000, .oldest_available_sequence = 0, .history = ""};
  DecideResume(MakeHello(4, true, 900), no_wal, &w);
  EXPECT_EQ(w.mode, ResumeMode::kBootstrap);
  EXPECT_NE(w.bootstrap_reason.find("holds no batch"), std::string::npos);

  // Two sites promoted to epoch 4: the same epoch, another history. Unknown ids (older data) on
  // either side leave the decision to the epoch.
  PrimaryPosition named = p;
  named.history = "history-of-b";
  Hello other = MakeHello(4, true, 700);
  other.history = "history-of-c";
  DecideResume(other, named, &w);
  EXPECT_EQ(w.mode, ResumeMode::kBootstrap);
  EXPECT_NE(w.bootstrap_reason.find("another history of epoch 4"), std::string::npos) << w.bootstrap_reason;
  EXPECT_NE(w.bootstrap_reason.find("history-of-c"), std::string::npos) << w.bootstrap_reason;
  other.history = "history-of-b";
  DecideResume(other, named, &w);
  EXPECT_EQ(w.mode, ResumeMode::kStream);
  other.history = "";
  DecideResume(other, named, &w);
  EXPECT_EQ(w.mode, ResumeMode::kStream);
  other.history = "history-of-c";
  DecideResume(other, p, &w);
  EXPECT_EQ(w.mode, ResumeMode::kStream);

  // Every decision is a valid WELCOME.
  w.cluster_id = "cluster-a";
  EXPECT_TRUE(Validate(w).ok()) << Validate(w).ToString();
  DecideResume(MakeHello(4, true, 1000), p, &w);
  EXPECT_TRUE(Validate(w).ok()) << Validate(w).ToString();
}

}  // namespace
}  // namespace rocksdr::replication
