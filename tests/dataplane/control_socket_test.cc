// The plugin's control socket end to end: a real Replicator on a temp DB, StartControlServer,
// and the sidecar's client (ConnectPluginControl).
//  - status JSON; KV round trip on both stores (binary values, the local store lives under
//    "sidecar/" in __rocksdr_local, paging of large scans by entries and by bytes);
//  - socket file mode 0600, unsafe parent directories and foreign files refused, a stale socket
//    replaced, a live one not;
//  - malformed, oversized, out-of-order and unknown requests answered with errors while the
//    server keeps serving; connection limit; hello version mismatch;
//  - a stopped server -> kUnavailable at once, a hung one -> kDeadlineExceeded within the
//    timeout; the client reconnects to a restarted server;
//  - enable primary through the client, a real secondary Replicator enabled through its own
//    control socket with a bundle (certificates from the test CA) receives a replicated-store
//    Put made through the primary's client; the secondary refuses replicated writes; a
//    secondary not in the allowed list is refused by the primary; revoke.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "../../plugin/src/replicated_db.h"
#include "../../plugin/src/reserved_cf.h"
#include "rocksdr/control_server.h"
#include "rocksdr/replication/control_io.h"
#include "rocksdr/replication/control_protocol.h"
#include "rocksdr/sidecar/plugin_control_client.h"
#include "support/control_configs.h"
#include "support/time_scale.h"
#include "support/replication_pki.h"
#include "support/replicator_test_util.h"

namespace rocksdr {
namespace {

namespace ctl = replication::control;
using nlohmann::json;
using sidecar::Store;
using testing::MakeSpec;
using testing::TempDir;
using testing::WaitFor;

constexpr char kCluster[] = "cluster-ctl";

// A raw connection for sending hand-made bytes.
class RawConn {
 public:
  explicit RawConn(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawConn() { ::close(fd_); }
  bool connected() const { return connected_; }
  Status SendBytes(std::string_view bytes) {
    return ctl::WriteAll(fd_, bytes, ctl::Clock::now() + std::chrono::seconds(5));
  }
  Status SendBody(std::string_view body) { return SendBytes(ctl::EncodeHeader(body.size()) + std::string(body)); }
  Status SendJson(const json& j) {
    auto m = ctl::EncodeMessage(j);
    if (!m.ok()) return m.status();
    return SendBytes(*m);
  }
  // The next response; nullopt when the server closed the connection.
  std::optional<ctl::Response> Read() {
    auto body = ctl::ReadMessage(fd_, ctl::Clock::now() + std::chrono::seconds(5), std::chrono::seconds(5));
    if (!body.ok()) {
      last_read_error_ = body.status();
      return std::nullopt;
    }
    if (!body->has_value()) return std::nullopt;
    auto j = ctl::ParseMessageBody(**body);
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    if (!j.ok()) return std::nullopt;
    auto r = ctl::ParseResponse(*j);
    EXPECT_TRUE(r.ok()) << r.status().ToString() << " in " << j->dump();
    if (!r.ok()) return std::nullopt;
    return *r;
  }
  ctl::Response Call(const json& request) {
    EXPECT_TRUE(SendJson(request).ok());
    auto r = Read();
    EXPECT_TRUE(r.has_value()) << "no answer to " << request.dump();
    return r.value_or(ctl::Response{0, Status::Internal("no answer"), json::object()});
  }
  bool Hello() {
    auto r = Call(ctl::MakeRequest(1, "hello", {{"min_version", 1}, {"max_version", 1}}));
    return r.status.ok() && r.result.value("version", 0) == 1;
  }
  // True once the server closed its side.
  bool ClosedByServer() {
    char c;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return false;
    return ::recv(fd_, &c, 1, 0) == 0;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  Status last_read_error_;
};

class ControlSocketTest : public ::testing::Test {
 protected:
  std::unique_ptr<Replicator> OpenNode(const std::string& name) {
    ReplicatorOptions ro;
    ro.sync_apply = false;
    ro.reconnect_initial_ms = 20;
    ro.reconnect_cap_ms = 200;
    auto r = Replicator::Open(MakeSpec(dir_.Sub(name)), ro);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : nullptr;
  }
  std::unique_ptr<ControlServer> Serve(Replicator* r, const std::string& path, ControlServerOptions o = {}) {
    if (o.replication_listen_address.empty()) o.replication_listen_address = "127.0.0.1:0";
    auto s = StartControlServer(r, path, o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  static std::unique_ptr<sidecar::PluginControl> Connect(const std::string& path,
                                                         std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto c = sidecar::ConnectPluginControl(path, timeout);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }
  sidecar::PrimaryConfig PrimaryCfg(std::vector<std::string> allowed) const {
    return testing::ControlPrimaryConfig(pki_, kCluster, std::move(allowed));
  }
  sidecar::ActivationBundle BundleFor(const std::string& id, const std::string& addr) const {
    return testing::ControlBundle(pki_, kCluster, id, addr, "https://127.0.0.1:8200");
  }
  std::string Sock(const std::string& name) const { return dir_.Sub(name + ".sock"); }

  TempDir dir_;
  testing::TestPki pki_;
};

TEST_F(ControlSocketTest, StatusAndKvRoundTripOnBothStores) {
  auto node = OpenNode("db");
  ASSERT_NE(node, nullptr);
  auto server = Serve(node.get(), Sock("ctl"));
  ASSERT_NE(server, nullptr);
  auto c = Connect(Sock("ctl"));
  ASSERT_NE(c, nullptr);

  auto st = c->Status();
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ((*st)["role"], "disabled");
  EXPECT_EQ((*st)["state"], "disabled");
  EXPECT_EQ((*st)["control_protocol_version"], 1);
  EXPECT_TRUE((*st)["secondaries"].is_array());
  EXPECT_TRUE((*st)["wal"].contains("latest_sequence"));
  EXPECT_TRUE((*st)["last_sequence_applied"].is_null());
  EXPECT_EQ((*st)["replication_address"], "");

  const std::string binary("\0\xff\x01 sealed keyring \x80", 20);
  ASSERT_TRUE(c->Put(Store::kReplicated, "core/keyring", binary).ok());
  ASSERT_TRUE(c->Put(Store::kLocal, "activation", "local-secret").ok());
  auto g = c->Get(Store::kReplicated, "core/keyring");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_TRUE(g->has_value());
  EXPECT_EQ(**g, binary);
  // The two stores are separate.
  auto miss = c->Get(Store::kLocal, "core/keyring");
  ASSERT_TRUE(miss.ok());
  EXPECT_FALSE(miss->has_value());
  auto loc = c->Get(Store::kLocal, "activation");
  ASSERT_TRUE(loc.ok() && loc->has_value());
  EXPECT_EQ(**loc, "local-secret");

  // Where they live: the replicated CF as given, the local CF under "sidecar/".
  ASSERT_TRUE(node->WithDb([&](ReplicatedDB* db, const auto&) {
                    auto* impl = plugin::ReplicatedDBImpl::From(db);
                    std::string v;
                    EXPECT_TRUE(impl->base()->Get(rocksdb::ReadOptions(), impl->replicated_cf(), "core/keyring", &v).ok());
                    EXPECT_EQ(v, binary);
                    EXPECT_TRUE(impl->base()->Get(rocksdb::ReadOptions(), impl->local_cf(), "sidecar/activation", &v).ok());
                    EXPECT_EQ(v, "local-secret");
                    EXPECT_TRUE(impl->base()->Get(rocksdb::ReadOptions(), impl->local_cf(), "activation", &v).IsNotFound());
                    // The application cannot see the reserved store.
                    EXPECT_EQ(node->ColumnFamily(std::string(plugin::kReplicatedCf)), nullptr);
                    return Status::OK();
                  })
                  .ok());

  ASSERT_TRUE(c->Delete(Store::kReplicated, "core/keyring").ok());
  g = c->Get(Store::kReplicated, "core/keyring");
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE(g->has_value());
  EXPECT_TRUE(c->Delete(Store::kReplicated, "never-written").ok());

  // Bounds, checked before sending.
  EXPECT_EQ(c->Put(Store::kLocal, "", "v").code(), Code::kInvalidArgument);
  EXPECT_EQ(c->Put(Store::kLocal, std::string(1025, 'k'), "v").code(), Code::kInvalidArgument);
  EXPECT_EQ(c->Put(Store::kLocal, "k", std::string((1 << 20) + 1, 'v')).code(), Code::kInvalidArgument);
  ASSERT_TRUE(c->Put(Store::kLocal, "max", std::string(1 << 20, 'v')).ok());

  // Scan: prefix, order, limit, and paging past 1000 entries per answer.
  for (int i = 0; i < 1100; ++i) {
    char k[32];
    std::snprintf(k, sizeof(k), "tok/%05d", i);
    ASSERT_TRUE(c->Put(Store::kReplicated, k, std::to_string(i)).ok());
  }
  ASSERT_TRUE(c->Put(Store::kReplicated, "tol", "outside").ok());
  auto sc = c->Scan(Store::kReplicated, "tok/", 1050);
  ASSERT_TRUE(sc.ok()) << sc.status().ToString();
  ASSERT_EQ(sc->size(), 1050u);
  EXPECT_EQ((*sc)[0].first, "tok/00000");
  EXPECT_EQ((*sc)[1020].first, "tok/01020");
  EXPECT_EQ((*sc)[1020].second, "1020");
  EXPECT_EQ(sc->back().first, "tok/01049");
  sc = c->Scan(Store::kReplicated, "tok/", 100000);
  ASSERT_TRUE(sc.ok());
  EXPECT_EQ(sc->size(), 1100u);
  sc = c->Scan(Store::kReplicated, "tok/", 0);
  ASSERT_TRUE(sc.ok());
  EXPECT_TRUE(sc->empty());
  // Large values: paged by bytes (each answer stays under the 4 MiB message bound).
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(c->Put(Store::kLocal, "big/" + std::to_string(i), std::string(900 << 10, static_cast<char>('a' + i))).ok());
  }
  auto big = c->Scan(Store::kLocal, "big/", 10);
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  ASSERT_EQ(big->size(), 6u);
  EXPECT_EQ(big->at(5).first, "big/5");
  EXPECT_EQ(big->at(5).second, std::string(900 << 10, 'f'));
  // The local scan strips the "sidecar/" prefix and does not see the plugin's own keys.
  auto all_local = c->Scan(Store::kLocal, "", 100);
  ASSERT_TRUE(all_local.ok());
  for (const auto& [k, v] : *all_local) {
    EXPECT_NE(k.rfind("sidecar/", 0), 0u) << k;
    EXPECT_NE(k, "role");
  }
  EXPECT_EQ(all_local->size(), 8u);  // activation, max, big/0..5
}

TEST_F(ControlSocketTest, SocketPermissionsAndPathSafety) {
  auto node = OpenNode("db");
  ASSERT_NE(node, nullptr);
  {
    auto server = Serve(node.get(), Sock("ctl"));
    ASSERT_NE(server, nullptr);
    struct stat st {};
    ASSERT_EQ(::lstat(Sock("ctl").c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(st.st_uid, ::geteuid());

    // A second server on a live path is refused, and the first keeps serving.
    auto second = StartControlServer(node.get(), Sock("ctl"));
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().code(), Code::kAlreadyExists) << second.status().ToString();
    auto c = Connect(Sock("ctl"));
    ASSERT_NE(c, nullptr);
    EXPECT_TRUE(c->Status().ok());

    if (::geteuid() == 0) {
      // Another user cannot even connect (mode 0600): a child drops to nobody and tries.
      const std::string path = Sock("ctl");
      pid_t pid = ::fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, path.data(), path.size());
        const int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
        ::_exit(rc == 0 ? 1 : 0);
      }
      int wstatus = 0;
      ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
      ASSERT_TRUE(WIFEXITED(wstatus));
      EXPECT_EQ(WEXITSTATUS(wstatus), 0) << "uid 65534 connected to a 0600 root socket";
    }
    server->Stop();
    EXPECT_NE(::access(Sock("ctl").c_str(), F_OK), 0) << "Stop() must remove the socket file";
  }

  // A world-writable directory without the sticky bit is refused.
  const std::string open_dir = dir_.Sub("open");
  ASSERT_EQ(::mkdir(open_dir.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(open_dir.c_str(), 0777), 0);
  auto s = StartControlServer(node.get(), open_dir + "/ctl.sock");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kPermissionDenied) << s.status().ToString();
  EXPECT_NE(s.status().message().find("sticky"), std::string::npos);
  // ... but a sticky one (like /tmp) is accepted.
  ASSERT_EQ(::chmod(open_dir.c_str(), 01777), 0);
  s = StartControlServer(node.get(), open_dir + "/ctl.sock");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  (*s)->Stop();

  // A regular file at the path is left alone.
  const std::string file = dir_.Sub("not-a-socket");
  { FILE* f = std::fopen(file.c_str(), "w"); ASSERT_NE(f, nullptr); std::fputs("data", f); std::fclose(f); }
  s = StartControlServer(node.get(), file);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kFailedPrecondition) << s.status().ToString();
  EXPECT_EQ(::access(file.c_str(), F_OK), 0);

  // A stale socket file (its server died without removing it) is replaced.
  {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string stale = Sock("stale");
    std::memcpy(addr.sun_path, stale.data(), stale.size());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ::close(fd);  // no listen, no unlink
  }
  auto revived = Serve(node.get(), Sock("stale"));
  ASSERT_NE(revived, nullptr);
  auto c2 = Connect(Sock("stale"));
  ASSERT_NE(c2, nullptr);
  EXPECT_TRUE(c2->Status().ok());

  // Paths a Unix socket cannot hold.
  EXPECT_EQ(StartControlServer(node.get(), "").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(StartControlServer(node.get(), dir_.Sub(std::string(120, 'x'))).status().code(), Code::kInvalidArgument);
}

TEST_F(ControlSocketTest, MalformedRequestsAreAnsweredAndTheServerKeepsServing) {
  auto node = OpenNode("db");
  ASSERT_NE(node, nullptr);
  auto server = Serve(node.get(), Sock("ctl"));
  ASSERT_NE(server, nullptr);

  RawConn raw(Sock("ctl"));
  ASSERT_TRUE(raw.connected());
  // Anything before hello is refused, the connection stays usable.
  auto r = raw.Call(ctl::MakeRequest(7, "status", json::object()));
  EXPECT_EQ(r.id, 7u);
  EXPECT_EQ(r.status.code(), Code::kFailedPrecondition);
  EXPECT_NE(r.status.message().find("hello"), std::string::npos);
  // A version this plugin does not speak.
  r = raw.Call(ctl::MakeRequest(8, "hello", {{"min_version", 2}, {"max_version", 9}}));
  EXPECT_EQ(r.status.code(), Code::kFailedPrecondition);
  EXPECT_NE(r.status.message().find("version 1"), std::string::npos) << r.status.message();
  ASSERT_TRUE(raw.Hello());

  struct Case {
    std::string body;
    Code code;
    std::string needle;
    uint64_t id;
  };
  const std::vector<Case> cases = {
      {"{not json", Code::kInvalidArgument, "not valid JSON", 0},
      {"[1,2,3]", Code::kInvalidArgument, "JSON object", 0},
      {"{\"op\":\"status\"}", Code::kInvalidArgument, "'id'", 0},
      {"{\"id\":-3,\"op\":\"status\"}", Code::kInvalidArgument, "unsigned integer", 0},
      {"{\"id\":0,\"op\":\"status\"}", Code::kInvalidArgument, "at least 1", 0},
      {"{\"id\":11,\"op\":\"status\",\"extra\":1}", Code::kInvalidArgument, "unknown field 'extra'", 11},
      {"{\"id\":12,\"op\":42}", Code::kInvalidArgument, "'op' must be a string", 12},
      {"{\"id\":13,\"op\":\"status\",\"args\":[]}", Code::kInvalidArgument, "'args' must be an object", 13},
      {"{\"id\":14,\"op\":\"format_disk\"}", Code::kInvalidArgument, "unknown op 'format_disk'", 14},
      {"{\"id\":15,\"op\":\"get\",\"args\":{\"store\":\"both\",\"key_b64\":\"aw==\"}}", Code::kInvalidArgument,
       "\"replicated\" or \"local\"", 15},
      {"{\"id\":16,\"op\":\"get\",\"args\":{\"store\":\"local\",\"key_b64\":\"%%%\"}}", Code::kInvalidArgument,
       "base64", 16},
      {"{\"id\":17,\"op\":\"get\",\"args\":{\"store\":\"local\"}}", Code::kInvalidArgument, "missing field 'key_b64'",
       17},
      {"{\"id\":18,\"op\":\"scan\",\"args\":{\"store\":\"local\",\"limit\":100001}}", Code::kInvalidArgument,
       "limit", 18},
      {"{\"id\":19,\"op\":\"enable_primary\",\"args\":{\"config\":{\"cluster_id\":\"c\"}}}",
       Code::kInvalidArgument, "missing field 'ca_cert_pem'", 19},
      {"{\"id\":20,\"op\":\"enable_secondary\",\"args\":{}}", Code::kInvalidArgument, "missing field 'bundle'", 20},
      {"{\"id\":21,\"op\":\"hello\",\"args\":{\"min_version\":1,\"max_version\":1}}", Code::kFailedPrecondition,
       "already", 21},
      {std::string(1000, '[') + std::string(1000, ']'), Code::kInvalidArgument, "deeper than", 0},
      {"{\"id\":22,\"op\":\"put\",\"args\":{\"store\":\"local\",\"key_b64\":\"aw==\",\"value_b64\":\"" +
           std::string(((1 << 20) / 3 + 2) * 4, 'A') + "\"}}",
       Code::kInvalidArgument, "value_b64", 22},
  };
  for (const Case& c : cases) {
    ASSERT_TRUE(raw.SendBody(c.body).ok());
    auto resp = raw.Read();
    ASSERT_TRUE(resp.has_value()) << c.body.substr(0, 80);
    EXPECT_EQ(resp->id, c.id) << c.body.substr(0, 80);
    EXPECT_EQ(resp->status.code(), c.code) << c.body.substr(0, 80) << " -> " << resp->status.ToString();
    EXPECT_NE(resp->status.message().find(c.needle), std::string::npos)
        << c.body.substr(0, 80) << " -> " << resp->status.message();
  }
  // Still serving on the same connection.
  r = raw.Call(ctl::MakeRequest(30, "status", json::object()));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.id, 30u);
  EXPECT_EQ(r.result["role"], "disabled");

  // An oversized length is answered, then the connection is closed (it cannot be resynchronized).
  {
    RawConn big(Sock("ctl"));
    ASSERT_TRUE(big.Hello());
    ASSERT_TRUE(big.SendBytes(ctl::EncodeHeader(5 << 20)).ok());
    auto resp = big.Read();
    ASSERT_TRUE(resp.has_value());
    EXPECT_EQ(resp->status.code(), Code::kResourceExhausted);
    EXPECT_NE(resp->status.message().find("exceeds the limit"), std::string::npos);
    EXPECT_TRUE(big.ClosedByServer());
  }
  {
    RawConn zero(Sock("ctl"));
    ASSERT_TRUE(zero.SendBytes(std::string(4, '\0')).ok());
    auto resp = zero.Read();
    ASSERT_TRUE(resp.has_value());
    EXPECT_EQ(resp->status.code(), Code::kInvalidArgument);
    EXPECT_TRUE(zero.ClosedByServer());
  }
  // A client that sends half a message and goes away does not disturb the others.
  {
    RawConn half(Sock("ctl"));
    ASSERT_TRUE(half.SendBytes(ctl::EncodeHeader(100) + "{\"id\":").ok());
  }
  auto c = Connect(Sock("ctl"));
  ASSERT_NE(c, nullptr);
  auto st = c->Status();
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  r = raw.Call(ctl::MakeRequest(31, "status", json::object()));
  EXPECT_TRUE(r.status.ok());
}

TEST_F(ControlSocketTest, ConnectionLimitAndConcurrentCallers) {
  auto node = OpenNode("db");
  ASSERT_NE(node, nullptr);
  ControlServerOptions o;
  o.max_connections = 2;
  auto server = Serve(node.get(), Sock("ctl"), o);
  ASSERT_NE(server, nullptr);
  auto a = Connect(Sock("ctl"));
  ASSERT_NE(a, nullptr);
  {
    RawConn hog(Sock("ctl"));
    ASSERT_TRUE(hog.Hello());
    ASSERT_TRUE(WaitFor([&] { return server->connections() == 2; }, std::chrono::seconds(5)));
    auto refused = sidecar::ConnectPluginControl(Sock("ctl"), std::chrono::seconds(2));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), Code::kResourceExhausted) << refused.status().ToString();
  }
  // The hog left: a new client is served again.
  ASSERT_TRUE(WaitFor([&] { return server->connections() == 1; }, std::chrono::seconds(5)));
  auto b = Connect(Sock("ctl"));
  ASSERT_NE(b, nullptr);

  // One client shared by several threads (the mutex serializes calls).
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string k = "t" + std::to_string(t) + "/" + std::to_string(i);
        if (!a->Put(Store::kReplicated, k, k).ok()) ++failures;
        auto g = a->Get(Store::kReplicated, k);
        if (!g.ok() || !g->has_value() || **g != k) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto sc = b->Scan(Store::kReplicated, "t", 1000);
  ASSERT_TRUE(sc.ok());
  EXPECT_EQ(sc->size(), 200u);
}

TEST_F(ControlSocketTest, IdleConnectionsAreClosedAndTheClientReconnectsTransparently) {
  auto node = OpenNode("db");
  ASSERT_NE(node, nullptr);
  ControlServerOptions o;
  o.idle_timeout = std::chrono::milliseconds(150);
  auto server = Serve(node.get(), Sock("ctl"), o);
  ASSERT_NE(server, nullptr);
  auto c = Connect(Sock("ctl"));
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(WaitFor([&] { return server->connections() == 1; }, std::chrono::seconds(5)));
  ASSERT_TRUE(WaitFor([&] { return server->connections() == 0; }, std::chrono::seconds(5)))
      << "an idle connection must be closed";
  // A role change (not retried when its outcome could be unknown) on the stale connection gets
  // the plugin's real answer: the client noticed the close and reconnected first.
  Status d = c->Demote();
  EXPECT_EQ(d.code(), Code::kFailedPrecondition) << d.ToString();
  EXPECT_NE(d.message().find("Demote needs a DR primary"), std::string::npos) << d.ToString();
  ASSERT_TRUE(WaitFor([&] { return server->connections() == 0; }, std::chrono::seconds(5)));
  EXPECT_TRUE(c->Put(Store::kLocal, "after-idle", "v").ok());
}

TEST_F(ControlSocketTest, DeadOrHungPluginIsReportedWithinTheTimeout) {
  // Nothing at the path.
  auto none = sidecar::ConnectPluginControl(Sock("nobody"), std::chrono::milliseconds(500));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kUnavailable);
  EXPECT_NE(none.status().message().find("is not answering: is the application running?"), std::string::npos)
      << none.status().message();

  auto node = OpenNode("db");
  ASSERT_NE(node, nullptr);
  auto server = Serve(node.get(), Sock("ctl"));
  ASSERT_NE(server, nullptr);
  auto c = Connect(Sock("ctl"), std::chrono::milliseconds(800));
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Put(Store::kLocal, "k", "v").ok());

  // The plugin goes away while the client holds a connection.
  server->Stop();
  server.reset();
  auto t0 = std::chrono::steady_clock::now();
  auto g = c->Get(Store::kLocal, "k");
  auto elapsed = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), Code::kUnavailable) << g.status().ToString();
  EXPECT_NE(g.status().message().find(Sock("ctl")), std::string::npos);
  EXPECT_LT(elapsed, rocksdr::testing::Scaled(std::chrono::milliseconds(800)));  // fails fast, no hang
  EXPECT_EQ(c->Demote().code(), Code::kUnavailable);

  // It comes back (application restarted): the same client reconnects.
  server = Serve(node.get(), Sock("ctl"));
  ASSERT_NE(server, nullptr);
  g = c->Get(Store::kLocal, "k");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_TRUE(g->has_value());
  EXPECT_EQ(**g, "v");
  server->Stop();

  // A hung plugin: the socket accepts (backlog) but nobody answers.
  const std::string hung = Sock("hung");
  int lfd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, hung.data(), hung.size());
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(lfd, 4), 0);
  t0 = std::chrono::steady_clock::now();
  auto h = sidecar::ConnectPluginControl(hung, std::chrono::milliseconds(300));
  elapsed = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(h.ok());
  EXPECT_TRUE(h.status().code() == Code::kUnavailable || h.status().code() == Code::kDeadlineExceeded)
      << h.status().ToString();
  EXPECT_GE(elapsed, std::chrono::milliseconds(250));
  EXPECT_LT(elapsed, rocksdr::testing::Scaled(std::chrono::milliseconds(2000)));  // the 300 ms timeout holds
  ::close(lfd);
}

TEST_F(ControlSocketTest, PrimaryAndSecondaryDrivenThroughTheirControlSockets) {
  auto p = OpenNode("p");
  auto s = OpenNode("s");
  ASSERT_TRUE(p && s);
  auto psrv = Serve(p.get(), Sock("p"));
  auto ssrv = Serve(s.get(), Sock("s"));
  ASSERT_TRUE(psrv && ssrv);
  auto pc = Connect(Sock("p"));
  auto sc = Connect(Sock("s"));
  ASSERT_TRUE(pc && sc);

  // Control state written before replication is enabled is part of what the secondary gets.
  ASSERT_TRUE(pc->Put(Store::kReplicated, "core/seal-config", "shares=5,threshold=3").ok());
  EXPECT_EQ(pc->ReplicationAddress().status().code(), Code::kFailedPrecondition);

  ASSERT_TRUE(pc->EnablePrimary(PrimaryCfg({"s1"})).ok());
  auto addr = pc->ReplicationAddress();
  ASSERT_TRUE(addr.ok()) << addr.status().ToString();
  EXPECT_EQ(addr->rfind("127.0.0.1:", 0), 0u) << *addr;
  EXPECT_NE(*addr, "127.0.0.1:0");
  EXPECT_EQ(p->port(), std::stoi(addr->substr(10)));
  auto pst = pc->Status();
  ASSERT_TRUE(pst.ok());
  EXPECT_EQ((*pst)["role"], "primary");
  EXPECT_EQ((*pst)["state"], "running");
  EXPECT_EQ((*pst)["cluster_id"], kCluster);
  EXPECT_EQ((*pst)["replication_address"], *addr);
  EXPECT_EQ((*pst)["allowed_secondaries"], json::array({"s1"}));
  EXPECT_EQ((*pst)["last_sequence"], (*pst)["last_sequence_written"]);
  EXPECT_FALSE(pst->contains("secondary"));

  ASSERT_TRUE(sc->EnableSecondary(BundleFor("s1", *addr)).ok());
  ASSERT_TRUE(WaitFor([&] {
    auto g = sc->Get(Store::kReplicated, "core/seal-config");
    return g.ok() && g->has_value();
  })) << sc->Status()->dump();

  // A Put through the primary's control socket reaches the secondary's replicated store.
  ASSERT_TRUE(pc->Put(Store::kReplicated, "core/keyring", std::string("\x01\x02sealed\x00", 9)).ok());
  ASSERT_TRUE(WaitFor([&] {
    auto g = sc->Get(Store::kReplicated, "core/keyring");
    return g.ok() && g->has_value() && **g == std::string("\x01\x02sealed\x00", 9);
  })) << sc->Status()->dump();
  // Local-store entries are never shipped.
  ASSERT_TRUE(pc->Put(Store::kLocal, "node-only", "primary").ok());
  ASSERT_TRUE(pc->Put(Store::kReplicated, "marker-after-local", "x").ok());
  ASSERT_TRUE(WaitFor([&] {
    auto g = sc->Get(Store::kReplicated, "marker-after-local");
    return g.ok() && g->has_value();
  }));
  auto local = sc->Get(Store::kLocal, "node-only");
  ASSERT_TRUE(local.ok());
  EXPECT_FALSE(local->has_value());

  // The secondary's replicated store belongs to the stream; its local store is writable.
  Status w = sc->Put(Store::kReplicated, "core/keyring", "forged");
  EXPECT_EQ(w.code(), Code::kFailedPrecondition);
  EXPECT_NE(w.message().find("DR secondary: the replicated store is written only by the replication stream"),
            std::string::npos)
      << w.ToString();
  EXPECT_EQ(sc->Delete(Store::kReplicated, "core/keyring").code(), Code::kFailedPrecondition);
  EXPECT_TRUE(sc->Put(Store::kLocal, "activation", "secondary-creds").ok());
  auto sst = sc->Status();
  ASSERT_TRUE(sst.ok());
  EXPECT_EQ((*sst)["role"], "secondary");
  EXPECT_EQ((*sst)["primary_link"]["primary_address"], *addr);
  // The summary the sidecar reads (replication_status.cc): connection, position, identity.
  EXPECT_EQ((*sst)["secondary"]["connection_state"], "connected") << sst->dump();
  EXPECT_EQ((*sst)["secondary"]["secondary_id"], "s1");
  EXPECT_EQ((*sst)["secondary"]["primary_api_addr"], "https://127.0.0.1:8200");
  EXPECT_EQ((*sst)["secondary"]["applied_sequence"], (*sst)["last_sequence_applied"]);
  EXPECT_FALSE((*sst)["secondary"]["last_heartbeat"].get<std::string>().empty());
  // The bootstrap replaced the node-local column family; status put the link back.
  ASSERT_TRUE(s->WithDb([&](ReplicatedDB* db, const auto&) {
                 auto* impl = plugin::ReplicatedDBImpl::From(db);
                 std::string v;
                 EXPECT_TRUE(impl->base()->Get(rocksdb::ReadOptions(), impl->local_cf(), "control/secondary_link", &v).ok());
                 EXPECT_NE(v.find("\"s1\""), std::string::npos) << v;
                 return Status::OK();
               })
                  .ok());
  EXPECT_TRUE((*sst)["last_sequence_applied"].is_number_unsigned());
  // Wrong role for these ops: the runtime's message comes through.
  Status d = sc->Demote();
  EXPECT_EQ(d.code(), Code::kFailedPrecondition);
  EXPECT_NE(d.message().find("Demote needs a DR primary"), std::string::npos) << d.ToString();
  EXPECT_EQ(sc->UpdatePrimary(std::nullopt).code(), Code::kFailedPrecondition);

  ASSERT_TRUE(WaitFor([&] {
    auto st = pc->Status();
    return st.ok() && !(*st)["secondaries"].empty() && (*st)["secondaries"][0]["id"] == "s1" &&
           (*st)["secondaries"][0]["state"] == "streaming" && (*st)["secondaries"][0]["connected"] == true;
  })) << pc->Status()->dump();
  // What the link carried (the bootstrap, then the stream): bytes and BATCHES frames.
  ASSERT_TRUE(WaitFor([&] {
    auto st = pc->Status();
    return st.ok() && (*st)["secondaries"][0]["bytes_sent"].get<uint64_t>() > 0 &&
           (*st)["secondaries"][0]["frames_sent"].get<uint64_t>() >= 1;
  })) << pc->Status()->dump();

  // The operator's re-bootstrap (what the sidecar's secondary/request-bootstrap calls): refused
  // on the primary with the runtime's reason; on the secondary a new copy is installed and it
  // streams again, with the replicated store intact.
  Status pb = pc->RequestBootstrap();
  EXPECT_EQ(pb.code(), Code::kFailedPrecondition);
  EXPECT_NE(pb.message().find("RequestBootstrap needs a DR secondary"), std::string::npos) << pb.ToString();
  const uint64_t boots = s->GetStatus().bootstrap.bootstraps;
  ASSERT_TRUE(sc->RequestBootstrap().ok());
  ASSERT_TRUE(WaitFor([&] {
    auto st = s->GetStatus();
    return st.bootstrap.bootstraps == boots + 1 && st.primary_link.state == ConnectionState::kStreaming;
  })) << sc->Status()->dump();
  auto kept = sc->Get(Store::kReplicated, "core/keyring");
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept, std::optional<std::string>(std::string("\x01\x02sealed\x00", 9)));

  // A secondary with a valid certificate but not in the allowed list is refused by the primary.
  auto x = OpenNode("x");
  auto xsrv = Serve(x.get(), Sock("x"));
  auto xc = Connect(Sock("x"));
  ASSERT_TRUE(x && xsrv && xc);
  ASSERT_TRUE(xc->EnableSecondary(BundleFor("intruder", *addr)).ok());
  ASSERT_TRUE(WaitFor([&] {
    auto st = xc->Status();
    return st.ok() && (*st)["primary_link"]["last_error"].get<std::string>().find("not in this primary's registry") !=
                          std::string::npos;
  })) << xc->Status()->dump();
  auto xg = xc->Get(Store::kReplicated, "core/keyring");
  ASSERT_TRUE(xg.ok());
  EXPECT_FALSE(xg->has_value());
  // The allowed list is persisted: a restarted control server (new connection, new handler)
  // sees it, and changes made through it reach the primary that is already running.
  psrv->Stop();
  EXPECT_EQ(pc->Status().status().code(), Code::kUnavailable);
  psrv = Serve(p.get(), Sock("p"));
  ASSERT_NE(psrv, nullptr);
  pst = pc->Status();
  ASSERT_TRUE(pst.ok()) << pst.status().ToString();
  EXPECT_EQ((*pst)["allowed_secondaries"], json::array({"s1"}));
  // A refused secondary stops trying (an operator must act). Once allowed and re-pointed with
  // update-primary, it joins.
  ASSERT_TRUE(pc->SetAllowedSecondaries({"s1", "intruder"}).ok());
  ASSERT_TRUE(xc->UpdatePrimary(BundleFor("intruder", *addr)).ok());
  ASSERT_TRUE(WaitFor([&] {
    auto g = xc->Get(Store::kReplicated, "core/keyring");
    return g.ok() && g->has_value();
  })) << xc->Status()->dump();

  // Revoke s1: it stops receiving.
  ASSERT_TRUE(pc->RevokeSecondary("s1").ok());
  ASSERT_TRUE(pc->Put(Store::kReplicated, "after-revoke", "x").ok());
  ASSERT_TRUE(WaitFor([&] {
    auto g = xc->Get(Store::kReplicated, "after-revoke");
    return g.ok() && g->has_value();
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto revoked = sc->Get(Store::kReplicated, "after-revoke");
  ASSERT_TRUE(revoked.ok());
  EXPECT_FALSE(revoked->has_value());
  pst = pc->Status();
  ASSERT_TRUE(pst.ok());
  EXPECT_EQ((*pst)["allowed_secondaries"], json::array({"intruder"}));

  // Promote s (it holds a full copy up to the revoke) through its socket.
  psrv->Stop();
  xsrv->Stop();
  x.reset();
  ASSERT_TRUE(p->Disable().ok());
  auto promoted = sc->Promote(PrimaryCfg({}));
  ASSERT_TRUE(promoted.ok()) << promoted.ToString();
  sst = sc->Status();
  ASSERT_TRUE(sst.ok());
  EXPECT_EQ((*sst)["role"], "primary");
  EXPECT_EQ((*sst)["epoch"], 2);
  EXPECT_TRUE(sc->Put(Store::kReplicated, "written-after-promotion", "ok").ok());
  ssrv->Stop();
}

}  // namespace
}  // namespace rocksdr
