// A promotion (or BecomePrimary) whose server could not start must change nothing. The epoch
// marker that a promotion writes cannot be undone, so what would fail the new primary's server —
// a listen address taken by another process, TLS material that does not fit — is checked before
// it: the call is refused with the reason, the node keeps its role and epoch and (a secondary)
// keeps following its primary; once the cause is fixed the same call succeeds, on that address.
// Before, the node became a primary at the new epoch with no listener: no secondary could reach
// it until the node was restarted.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "rocksdr/replication/listener_socket.h"
#include "rocksdr/replicator.h"
#include "support/replicator_cluster_test.h"
#include "support/replicator_test_util.h"

namespace rocksdr {
namespace {

using replication::ListenerSocket;
using testing::DumpClosedDb;
using testing::WaitFor;

class PromotionPreflight : public testing::ReplicatorClusterTest {
 protected:
  PromotionPreflight() : ReplicatorClusterTest("preflight-cluster") {}

  // p_ a primary, s1_ its secondary, caught up after `keys` writes into "users".
  void StartCaughtUp(int keys) {
    p_ = OpenNode("p");
    ASSERT_NE(p_, nullptr);
    ASSERT_TRUE(p_->BecomePrimary(Primary()).ok());
    s1_ = OpenNode("s1");
    ASSERT_NE(s1_, nullptr);
    ASSERT_TRUE(s1_->BecomeSecondary(Bundle("s1", p_->port())).ok());
    for (int i = 0; i < keys; ++i) Put(p_.get(), "users", "k" + std::to_string(i), "v");
    ASSERT_TRUE(WaitFor([&] { return CaughtUp(s1_.get(), Latest(p_.get())); }));
  }

  std::unique_ptr<Replicator> p_, s1_;
};

TEST_F(PromotionPreflight, ATakenListenAddressRefusesThePromotionWithNothingChanged) {
  ASSERT_NO_FATAL_FAILURE(StartCaughtUp(20));
  // Another process holds the address the new primary is to listen on.
  auto squatter = ListenerSocket::Open("127.0.0.1", 0);
  ASSERT_TRUE(squatter.ok()) << squatter.status().ToString();
  const uint16_t port = squatter->port();
  PrimaryConfig config = Primary(1);
  config.listen_address = "127.0.0.1:" + std::to_string(port);

  Status refused = s1_->Promote(config);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.code(), Code::kUnavailable) << refused.ToString();
  EXPECT_NE(refused.message().find("nothing changed"), std::string::npos) << refused.ToString();
  EXPECT_NE(refused.message().find("127.0.0.1:" + std::to_string(port)), std::string::npos) << refused.ToString();
  EXPECT_NE(refused.message().find("in use"), std::string::npos) << refused.ToString();
  EXPECT_EQ(s1_->db()->role(), Role::kSecondary);
  EXPECT_EQ(s1_->db()->epoch(), 1u);

  // Still a secondary that follows its primary: writes made now reach it.
  for (int i = 20; i < 30; ++i) Put(p_.get(), "users", "k" + std::to_string(i), "v");
  const uint64_t latest = Latest(p_.get());
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s1_.get(), latest); })) << s1_->GetStatus().primary_link.last_error;

  // The address is free again and the primary site is lost: the same promotion succeeds, and the
  // new primary listens on that address (a new secondary joins it there).
  squatter = ListenerSocket();
  ASSERT_TRUE(p_->Close().ok());
  p_.reset();
  Status promoted = s1_->Promote(config);
  ASSERT_TRUE(promoted.ok()) << promoted.ToString();
  EXPECT_EQ(s1_->db()->role(), Role::kPrimary);
  EXPECT_EQ(s1_->db()->epoch(), 2u);
  EXPECT_EQ(s1_->port(), port);
  Put(s1_.get(), "users", "after-promotion", "yes");
  auto s2 = OpenNode("s2");
  ASSERT_NE(s2, nullptr);
  ASSERT_TRUE(s2->BecomeSecondary(Bundle("s2", port, 2)).ok());
  const uint64_t newest = Latest(s1_.get());
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s2.get(), newest); })) << s2->GetStatus().primary_link.last_error;
  ASSERT_TRUE(s2->Close().ok());
  s2.reset();
  ASSERT_TRUE(s1_->Close().ok());
  s1_.reset();
  auto d = DumpClosedDb(dir_.Sub("s1"));
  EXPECT_EQ(d["users"].size(), 31u);
  EXPECT_EQ(DiffNodes("s1", "s2"), "");
}

TEST_F(PromotionPreflight, TlsMaterialThatDoesNotFitRefusesThePromotionWithNothingChanged) {
  ASSERT_NO_FATAL_FAILURE(StartCaughtUp(10));
  PrimaryConfig config = Primary(1);
  config.tls.key_pem = pki_.Client("someone-else", cluster_id_).key_pem;  // not the certificate's key

  Status refused = s1_->Promote(config);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.code(), Code::kInvalidArgument) << refused.ToString();
  EXPECT_NE(refused.message().find("nothing changed"), std::string::npos) << refused.ToString();
  EXPECT_NE(refused.message().find("does not match the certificate"), std::string::npos) << refused.ToString();
  EXPECT_EQ(refused.message().find("PRIVATE KEY"), std::string::npos) << "the key reached the message";
  EXPECT_EQ(s1_->db()->role(), Role::kSecondary);
  EXPECT_EQ(s1_->db()->epoch(), 1u);
  Put(p_.get(), "users", "after-refusal", "v");
  const uint64_t latest = Latest(p_.get());
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s1_.get(), latest); })) << s1_->GetStatus().primary_link.last_error;
}

TEST_F(PromotionPreflight, BecomePrimaryOnATakenAddressLeavesTheRoleAsItWas) {
  auto node = OpenNode("n");
  ASSERT_NE(node, nullptr);
  const Role before = node->db()->role();
  auto squatter = ListenerSocket::Open("127.0.0.1", 0);
  ASSERT_TRUE(squatter.ok()) << squatter.status().ToString();
  PrimaryConfig config = Primary(1);
  config.listen_address = "127.0.0.1:" + std::to_string(squatter->port());

  Status refused = node->BecomePrimary(config);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.code(), Code::kUnavailable) << refused.ToString();
  EXPECT_NE(refused.message().find("role is unchanged"), std::string::npos) << refused.ToString();
  EXPECT_EQ(node->db()->role(), before);

  // A primary re-running BecomePrimary on its own address (a restart of its listener) still
  // works: the running server frees the address before it is bound again.
  squatter = ListenerSocket();
  ASSERT_TRUE(node->BecomePrimary(config).ok());
  EXPECT_EQ(node->db()->role(), Role::kPrimary);
  const uint16_t port = node->port();
  EXPECT_TRUE(node->BecomePrimary(config).ok());
  EXPECT_EQ(node->port(), port);
}

}  // namespace
}  // namespace rocksdr
