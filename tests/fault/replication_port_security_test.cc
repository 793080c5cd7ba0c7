// The replication port of a real running primary (rocksdr_node serve, its application writing,
// one real DR secondary streaming through a proxy: FaultCluster) against hostile clients:
//   - a client certificate from a foreign CA, and no client certificate (TLS refused);
//   - plain TCP garbage (not TLS);
//   - a certificate from the cluster's own CA but for another cluster (cluster SAN);
//   - HELLOs with another cluster id; from a certificate of the right CA whose id this primary
//     does not allow, with an older epoch and with a NEWER epoch (which must not fence it: only
//     an authorized member may announce a newer epoch);
//   - an oversized frame length (refused before buffering).
// Each is refused, the primary's log says why, the primary stays unfenced and keeps serving its
// real secondary, no refused client ever appears in its status, and afterwards the secondary is
// an exact prefix of the primary (consistency check): nothing was applied anywhere.
// (The same refusals at unit level, against an in-process server: dataplane.TlsTransport.*.)
#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "rocksdr/replication/frame.h"
#include "rocksdr/replication/messages.h"
#include "support/fault_cluster.h"
#include "support/raw_peer.h"
#include "support/replicator_test_util.h"

namespace rocksdr::testing {
namespace {

using replication::ErrorCode;
using replication::Frame;
using replication::FrameType;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string HelloFrame(const std::string& cluster, const std::string& id, uint64_t epoch) {
  replication::Hello h;
  h.cluster_id = cluster;
  h.secondary_id = id;
  h.epoch = epoch;
  std::string out;
  replication::AppendMessageFrame(h, &out);
  return out;
}

// The ERROR a refused connection gets (code, message), or nullopt when it got something else.
std::optional<replication::ErrorMessage> RefusalOf(RawPeer& c) {
  std::optional<Frame> f = c.ReadFrame();
  if (!f || f->type != FrameType::kError) return std::nullopt;
  replication::ErrorMessage m;
  if (!replication::Decode(f->payload, &m).ok()) return std::nullopt;
  return m;
}

class ReplicationPortSecurity : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.Start();
    ASSERT_FALSE(HasFatalFailure());
    auto addr = cluster_.primary()->ReplicationAddress();
    ASSERT_TRUE(addr.ok()) << addr.status().ToString();
    port_ = static_cast<uint16_t>(std::stoul(addr->substr(addr->rfind(':') + 1)));
  }

  // Waits until the primary's log, from `mark` on, contains every needle; the new text.
  std::string WaitLogged(size_t mark, const std::vector<std::string>& needles) {
    std::string fresh;
    WaitFor([&] {
      fresh = ReadAll(cluster_.dir() + "/p.log");
      fresh = fresh.size() > mark ? fresh.substr(mark) : "";
      for (const auto& n : needles) {
        if (fresh.find(n) == std::string::npos) return false;
      }
      return true;
    }, std::chrono::seconds(10));
    for (const auto& n : needles) EXPECT_NE(fresh.find(n), std::string::npos) << "the primary did not log '" << n << "':\n" << fresh;
    return fresh;
  }
  size_t LogSize() { return ReadAll(cluster_.dir() + "/p.log").size(); }

  FaultCluster cluster_;
  uint16_t port_ = 0;
};

TEST_F(ReplicationPortSecurity, HostileClientsAreRefusedLoggedAndChangeNothing) {
  const std::string cluster = FaultCluster::kCluster;
  const TestPki& pki = cluster_.pki();

  {  // A client certificate from a foreign CA (the client trusts the real CA).
    SCOPED_TRACE("foreign CA");
    TestPki foreign("some other CA");
    auto creds = foreign.Client("s2", cluster);
    creds.ca_pem = pki.ca_pem();
    const size_t mark = LogSize();
    RawPeer c(replication::TlsRole::kClient, creds);
    if (!c.Connect(port_)) {
      (void)c.Write(HelloFrame(cluster, "s2", 1));
      EXPECT_FALSE(c.ReadFrame()) << "a foreign-CA client got a frame";
    }
    WaitLogged(mark, {"TLS handshake failed", "unable to get local issuer certificate"});
  }
  {  // No client certificate at all.
    SCOPED_TRACE("no client certificate");
    const size_t mark = LogSize();
    RawPeer c = RawPeer::TlsClientWithoutCertificate();
    if (!c.Connect(port_)) {
      (void)c.Write(HelloFrame(cluster, "s2", 1));
      EXPECT_FALSE(c.ReadFrame()) << "a client without a certificate got a frame";
    }
    WaitLogged(mark, {"TLS handshake failed", "certificate"});
  }
  {  // Plain TCP: an HTTP request, then binary garbage.
    SCOPED_TRACE("plain TCP garbage");
    const size_t mark = LogSize();
    RawPeer c = RawPeer::PlainTcpClient();
    ASSERT_FALSE(c.Connect(port_));
    (void)c.Write("GET / HTTP/1.1\r\nHost: x\r\n\r\n" + std::string("\x00\xff\x16\x03\x01\x00\x05garbage", 14));
    EXPECT_TRUE(c.ServerClosed());
    WaitLogged(mark, {"TLS handshake failed"});
  }
  {  // A certificate from the cluster's CA, but issued for another cluster.
    SCOPED_TRACE("certificate of another cluster");
    const size_t mark = LogSize();
    RawPeer c(replication::TlsRole::kClient, pki.Client("s2", "other-cluster"));
    ASSERT_FALSE(c.Connect(port_));
    ASSERT_FALSE(c.Write(HelloFrame(cluster, "s2", 1)));
    auto err = RefusalOf(c);
    ASSERT_TRUE(err);
    EXPECT_EQ(err->code, static_cast<uint16_t>(ErrorCode::kNotAuthorized)) << err->message;
    WaitLogged(mark, {"closing with ERROR", "the client certificate belongs to cluster \"other-cluster\""});
  }
  {  // A HELLO naming another cluster.
    SCOPED_TRACE("HELLO of another cluster");
    const size_t mark = LogSize();
    RawPeer c(replication::TlsRole::kClient, pki.Client("s2", cluster));
    ASSERT_FALSE(c.Connect(port_));
    ASSERT_FALSE(c.Write(HelloFrame("other-cluster", "s2", 1)));
    auto err = RefusalOf(c);
    ASSERT_TRUE(err);
    EXPECT_EQ(err->code, static_cast<uint16_t>(ErrorCode::kClusterMismatch)) << err->message;
    WaitLogged(mark, {"closing with ERROR cluster-mismatch", "belongs to cluster 'other-cluster'"});
  }
  for (const uint64_t epoch : {uint64_t{0}, uint64_t{2}}) {
    // The right CA and cluster, but an id this primary does not allow; an older epoch, and a newer
    // one (announcing a newer epoch fences a primary: only an allowed member may do it).
    SCOPED_TRACE("unauthorized id, epoch " + std::to_string(epoch));
    const size_t mark = LogSize();
    RawPeer c(replication::TlsRole::kClient, pki.Client("mallory", cluster));
    ASSERT_FALSE(c.Connect(port_));
    ASSERT_FALSE(c.Write(HelloFrame(cluster, "mallory", epoch)));
    auto err = RefusalOf(c);
    ASSERT_TRUE(err);
    EXPECT_EQ(err->code, static_cast<uint16_t>(ErrorCode::kNotAuthorized)) << err->message;
    WaitLogged(mark, {"secondary \"mallory\"", "closing with ERROR not-authorized"});
    EXPECT_EQ(cluster_.PrimaryStatus().value("fenced_reason", "?"), "") << cluster_.PrimaryStatus().dump();
  }
  {  // An oversized frame length: refused before anything is buffered.
    SCOPED_TRACE("oversized frame");
    const size_t mark = LogSize();
    RawPeer c(replication::TlsRole::kClient, pki.Client("s2", cluster));
    ASSERT_FALSE(c.Connect(port_));
    ASSERT_FALSE(c.Write(std::string{'\xff', '\xff', '\xff', '\x7f', '\x01'}));  // a 2 GiB HELLO
    auto err = RefusalOf(c);
    ASSERT_TRUE(err);
    EXPECT_EQ(err->code, static_cast<uint16_t>(ErrorCode::kLimitExceeded)) << err->message;
    WaitLogged(mark, {"closing with ERROR limit-exceeded"});
  }

  // The primary is not fenced, still writes, and still ships to its real secondary.
  const nlohmann::json p = cluster_.PrimaryStatus();
  EXPECT_EQ(p.value("fenced_reason", "?"), "") << p.dump();
  for (const auto& sec : p.value("secondaries", nlohmann::json::array())) {
    EXPECT_EQ(sec.value("id", ""), FaultCluster::kSecondaryId) << "a refused client is in the primary's status: " << p.dump();
  }
  const uint64_t written = p.value("last_sequence_written", uint64_t{0});
  ASSERT_TRUE(WaitFor([&] {
    return cluster_.PrimaryStatus().value("last_sequence_written", uint64_t{0}) > written + 50 &&
           cluster_.SecondaryStatus().value("last_sequence_applied", uint64_t{0}) > written;
  }, std::chrono::seconds(30))) << cluster_.Logs();
  // Nothing was applied anywhere but the primary's own stream: the secondary is its exact prefix.
  auto r = cluster_.Consistency();
  for (int i = 0; i < 5 && (!r.ok() || !r->match); ++i) r = cluster_.Consistency();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->match) << r->ToJson("primary", "secondary").dump(2);
}

}  // namespace
}  // namespace rocksdr::testing
