// Re-bootstrap of DR secondaries through the Replicator runtime (real mutual TLS on 127.0.0.1,
// port 0, one process), and what a bootstrap must keep:
//  - an IngestExternalFile on the primary re-bootstraps both secondaries automatically; status
//    shows the reason on both ends and the bootstrap count; the data ends identical;
//  - the node-local "sidecar/" and "control/" keys of a secondary (its activation credentials)
//    survive a bootstrap install, and the primary's own local keys are not inherited;
//  - auto_rebootstrap: false — after a WAL gap, or an ingestion, the secondary stops with its
//    data and position (state needs-bootstrap, reason in status) until the operator requests a
//    bootstrap (Replicator::RequestBootstrap, or the control socket's request_bootstrap);
//  - a restarted primary that used a registry keeps refusing ids outside the persisted list.
#include <gtest/gtest.h>
#include <rocksdb/sst_file_writer.h>

#include <fstream>
#include <thread>

#include "../../plugin/src/control_server.h"
#include "../../plugin/src/replicated_db.h"
#include "../../plugin/src/reserved_cf.h"
#include "support/replicator_cluster_test.h"
#include "support/replicator_test_util.h"

namespace rocksdr {
namespace {

using testing::DiffDumps;
using testing::DumpClosedDb;
using testing::EncodeU64;
using testing::WaitFor;

constexpr char kCluster[] = "cluster-r";

class RebootstrapTest : public testing::ReplicatorClusterTest {
 protected:
  RebootstrapTest() : ReplicatorClusterTest(kCluster) {}
  // A node-local key, read or written directly in __rocksdr_local (as the control socket does).
  static std::optional<std::string> GetLocal(Replicator* r, const std::string& key) {
    std::optional<std::string> out;
    EXPECT_TRUE(r->WithDb([&](ReplicatedDB* db, const auto&) {
                   auto* impl = plugin::ReplicatedDBImpl::From(db);
                   std::string v;
                   if (impl->base()->Get(rocksdb::ReadOptions(), impl->local_cf(), key, &v).ok()) out = v;
                   return Status::OK();
                 }).ok());
    return out;
  }
  static void PutLocal(Replicator* r, const std::string& key, const std::string& value) {
    ASSERT_TRUE(plugin::SaveLocal(r, key, value).ok());
  }
  // Plugin options of a primary configured from files (plugin.yaml's replication.tls), listening
  // on 127.0.0.1 port 0: a server certificate of this cluster's CA written to files.
  PluginOptions FileTlsOptions() {
    auto write = [&](const std::string& name, const std::string& content) {
      std::ofstream(dir_.Sub(name), std::ios::binary) << content;
      return dir_.Sub(name);
    };
    auto server = pki_.Server(kCluster);
    PluginOptions po;
    po.replication_listen_address = "127.0.0.1:0";
    po.tls_cert_file = write("p.crt", server.cert_pem);
    po.tls_key_file = write("p.key", std::string(server.key_pem.begin(), server.key_pem.end()));
    po.tls_ca_file = write("ca.crt", pki_.ca_pem());
    return po;
  }
  // Ingests an SST of `n` keys "ing<i>" into column family "users" of the primary.
  void Ingest(Replicator* p, const std::string& name, int n) {
    const std::string path = dir_.Sub(name + ".sst");
    rocksdb::SstFileWriter w{rocksdb::EnvOptions(), rocksdb::Options()};
    ASSERT_TRUE(w.Open(path).ok());
    for (int i = 0; i < n; ++i) {
      char k[32];
      std::snprintf(k, sizeof k, "ing-%s-%06d", name.c_str(), i);
      ASSERT_TRUE(w.Put(k, "ingested").ok());
    }
    ASSERT_TRUE(w.Finish().ok());
    rocksdb::Status s = p->db()->IngestExternalFile(p->ColumnFamily("users"), {path}, rocksdb::IngestExternalFileOptions());
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  const SecondaryStatus* Find(const ReplicationStatus& st, const std::string& id) {
    for (const auto& s : st.secondaries) {
      if (s.id == id) return &s;
    }
    return nullptr;
  }
};

TEST_F(RebootstrapTest, IngestionRebootstrapsBothSecondariesAndKeepsTheirLocalKeys) {
  auto p = OpenNode("p");
  ASSERT_TRUE(p->BecomePrimary(Primary()).ok());
  // The primary's own sidecar state must never reach a secondary.
  PutLocal(p.get(), "sidecar/credentials", "primary-only");
  auto s1 = OpenNode("s1");
  auto s2 = OpenNode("s2");
  ASSERT_TRUE(s1->BecomeSecondary(Bundle("s1", p->port())).ok());
  ASSERT_TRUE(s2->BecomeSecondary(Bundle("s2", p->port())).ok());
  for (int i = 0; i < 300; ++i) Put(p.get(), "users", "a" + std::to_string(i), "1");
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s1.get(), Latest(p.get())) && CaughtUp(s2.get(), Latest(p.get())); }));
  ASSERT_EQ(s1->GetStatus().bootstrap.bootstraps, 1u) << "joined by one bootstrap";
  EXPECT_EQ(GetLocal(s1.get(), "sidecar/credentials"), std::nullopt) << "the primary's local keys were inherited";
  // What s1's sidecar keeps about itself (after its join, as activation does).
  PutLocal(s1.get(), "sidecar/credentials", "s1-activation");
  PutLocal(s1.get(), "control/secondary_link", "{\"secondary_id\":\"s1\"}");

  Ingest(p.get(), "one", 500);
  for (int i = 0; i < 100; ++i) Put(p.get(), "counters", "c", EncodeU64(1));
  // The link states follow the install a moment later (seen under TSan): wait for them too.
  ASSERT_TRUE(WaitFor([&] {
    const auto pst = p->GetStatus();
    for (const char* id : {"s1", "s2"}) {
      const SecondaryStatus* s = Find(pst, id);
      if (s == nullptr || s->state != ConnectionState::kStreaming) return false;
    }
    return CaughtUp(s1.get(), Latest(p.get())) && CaughtUp(s2.get(), Latest(p.get())) &&
           s1->GetStatus().bootstrap.bootstraps == 2 && s2->GetStatus().bootstrap.bootstraps == 2 &&
           s1->GetStatus().primary_link.state == ConnectionState::kStreaming &&
           s2->GetStatus().primary_link.state == ConnectionState::kStreaming;
  })) << "s1 bootstraps " << s1->GetStatus().bootstrap.bootstraps << ", s2 " << s2->GetStatus().bootstrap.bootstraps
      << "; s1 link " << static_cast<int>(s1->GetStatus().primary_link.state);

  // Status: the primary names the ingestion per secondary; each secondary counts its bootstraps.
  auto pst = p->GetStatus();
  EXPECT_EQ(pst.external_ingestions, 1u);
  for (const char* id : {"s1", "s2"}) {
    const SecondaryStatus* s = Find(pst, id);
    ASSERT_NE(s, nullptr) << id;
    EXPECT_NE(s->needs_bootstrap_reason.find("external file ingestion"), std::string::npos)
        << id << ": " << s->needs_bootstrap_reason;
    EXPECT_EQ(s->state, ConnectionState::kStreaming) << id;
  }
  auto sst = s1->GetStatus();
  EXPECT_NE(sst.bootstrap.reason.find("re-bootstrap"), std::string::npos) << sst.bootstrap.reason;
  EXPECT_EQ(sst.primary_link.state, ConnectionState::kStreaming);

  // s1 kept its own local keys through the install; the primary's are still not there.
  EXPECT_EQ(GetLocal(s1.get(), "sidecar/credentials"), std::optional<std::string>("s1-activation"));
  EXPECT_EQ(GetLocal(s1.get(), "control/secondary_link"), std::optional<std::string>("{\"secondary_id\":\"s1\"}"));
  EXPECT_EQ(GetLocal(s2.get(), "sidecar/credentials"), std::nullopt);

  ASSERT_TRUE(s1->Close().ok());
  ASSERT_TRUE(s2->Close().ok());
  ASSERT_TRUE(p->Close().ok());
  auto dump = DumpClosedDb(dir_.Sub("p"));
  EXPECT_EQ(dump["users"].count("ing-one-000499"), 1u);
  EXPECT_EQ(DiffDumps(dump, DumpClosedDb(dir_.Sub("s1"))), "");
  EXPECT_EQ(DiffDumps(dump, DumpClosedDb(dir_.Sub("s2"))), "");
}

// While disabled, a DB takes changes that leave no WAL record (an ingestion: no marker is written
// outside the primary role). Re-enabled in the same cluster, the primary starts a new epoch, so a
// secondary resuming from its cursor is bootstrapped instead of silently missing them.
TEST_F(RebootstrapTest, ReenabledAfterDisableTheSecondaryIsBootstrappedAndGetsWhatChangedMeanwhile) {
  auto p = OpenNode("p");
  ASSERT_TRUE(p->BecomePrimary(Primary()).ok());
  auto s = OpenNode("s");
  ASSERT_TRUE(s->BecomeSecondary(Bundle("s", p->port())).ok());
  for (int i = 0; i < 100; ++i) Put(p.get(), "users", "a" + std::to_string(i), "1");
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s.get(), Latest(p.get())); }));
  ASSERT_TRUE(p->Disable().ok());
  ASSERT_NO_FATAL_FAILURE(Ingest(p.get(), "while-disabled", 50));
  ASSERT_TRUE(p->BecomePrimary(Primary()).ok());
  EXPECT_EQ(p->db()->epoch(), 2u);
  ASSERT_TRUE(s->UpdatePrimary(Bundle("s", p->port(), 2)).ok());
  Put(p.get(), "users", "after", "1");
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s.get(), Latest(p.get())) && s->GetStatus().epoch == 2; }));
  EXPECT_EQ(s->GetStatus().bootstrap.bootstraps, 2u);
  ASSERT_TRUE(s->Close().ok());
  ASSERT_TRUE(p->Close().ok());
  EXPECT_EQ(DiffNodes("p", "s"), "");
}

TEST_F(RebootstrapTest, AutoRebootstrapOffStopsAtAWalGapUntilTheOperatorRequestsIt) {
  PluginOptions ppo;
  ppo.wal_ttl_seconds = 1;
  ppo.wal_size_limit_mb = 0;
  auto p = OpenNode("p", ppo);
  ASSERT_TRUE(p->BecomePrimary(Primary()).ok());
  PluginOptions spo;
  spo.auto_rebootstrap = false;
  auto s1 = OpenNode("s1", spo);
  // Joining is not a re-bootstrap: it happens without the operator.
  ASSERT_TRUE(s1->BecomeSecondary(Bundle("s1", p->port())).ok());
  for (int i = 0; i < 100; ++i) Put(p.get(), "users", "a" + std::to_string(i), "1");
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s1.get(), Latest(p.get())); }));
  ASSERT_EQ(s1->GetStatus().bootstrap.bootstraps, 1u);
  PutLocal(s1.get(), "sidecar/credentials", "s1-activation");
  const uint64_t stopped_at = *s1->GetStatus().last_sequence_applied;
  ASSERT_TRUE(s1->Close().ok());
  s1.reset();

  // Purge the primary's WAL past the stopped secondary's position.
  ASSERT_NO_FATAL_FAILURE(PurgeWalPast(p.get(), stopped_at));

  s1 = OpenNode("s1", spo);
  ASSERT_TRUE(s1->UpdatePrimary(Bundle("s1", p->port())).ok());
  ASSERT_TRUE(WaitFor([&] { return s1->GetStatus().primary_link.state == ConnectionState::kNeedsBootstrap; }))
      << s1->GetStatus().primary_link.last_error;
  auto st = s1->GetStatus();
  EXPECT_TRUE(st.primary_link.halted);
  EXPECT_NE(st.primary_link.last_error.find("WAL gap"), std::string::npos) << st.primary_link.last_error;
  EXPECT_NE(st.primary_link.last_error.find("auto_rebootstrap"), std::string::npos) << st.primary_link.last_error;
  EXPECT_EQ(st.last_sequence_applied, std::optional<uint64_t>(stopped_at)) << "data and position kept";
  EXPECT_EQ(st.bootstrap.bootstraps, 0u);
  // The runtime's monitor (100 ms period) leaves it alone.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  st = s1->GetStatus();
  EXPECT_EQ(st.primary_link.state, ConnectionState::kNeedsBootstrap);
  EXPECT_EQ(st.bootstrap.bootstraps, 0u);
  EXPECT_EQ(st.last_sequence_applied, std::optional<uint64_t>(stopped_at));

  // The operator's action.
  EXPECT_FALSE(p->RequestBootstrap().ok()) << "a primary cannot be bootstrapped";
  ASSERT_TRUE(s1->RequestBootstrap().ok());
  for (int i = 0; i < 100; ++i) Put(p.get(), "counters", "c", EncodeU64(1));
  // The cursor reaches the checkpoint's sequence when it is installed, a moment before the link
  // reports streaming: wait for both (seen under ASan).
  ASSERT_TRUE(WaitFor([&] {
    return CaughtUp(s1.get(), Latest(p.get())) && s1->GetStatus().primary_link.state == ConnectionState::kStreaming;
  })) << "state " << static_cast<int>(s1->GetStatus().primary_link.state);
  st = s1->GetStatus();
  EXPECT_EQ(st.bootstrap.bootstraps, 1u);
  EXPECT_EQ(GetLocal(s1.get(), "sidecar/credentials"), std::optional<std::string>("s1-activation"));
  ASSERT_TRUE(s1->Close().ok());
  ASSERT_TRUE(p->Close().ok());
  EXPECT_EQ(DiffNodes("p", "s1"), "");
}

TEST_F(RebootstrapTest, AutoRebootstrapOffStopsAtAnIngestionUntilTheControlSocketRequestsIt) {
  auto p = OpenNode("p");
  ASSERT_TRUE(p->BecomePrimary(Primary()).ok());
  PluginOptions spo;
  spo.auto_rebootstrap = false;
  auto s1 = OpenNode("s1", spo);
  auto s2 = OpenNode("s2");  // default: re-bootstraps by itself
  ASSERT_TRUE(s1->BecomeSecondary(Bundle("s1", p->port())).ok());
  ASSERT_TRUE(s2->BecomeSecondary(Bundle("s2", p->port())).ok());
  for (int i = 0; i < 200; ++i) Put(p.get(), "users", "a" + std::to_string(i), "1");
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s1.get(), Latest(p.get())) && CaughtUp(s2.get(), Latest(p.get())); }));
  const uint64_t before = Latest(p.get());

  Ingest(p.get(), "two", 200);
  Put(p.get(), "users", "after", "1");
  ASSERT_TRUE(WaitFor([&] { return s1->GetStatus().primary_link.state == ConnectionState::kNeedsBootstrap; }))
      << s1->GetStatus().primary_link.last_error;
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s2.get(), Latest(p.get())); }));
  EXPECT_EQ(s2->GetStatus().bootstrap.bootstraps, 2u);
  auto st = s1->GetStatus();
  EXPECT_NE(st.primary_link.last_error.find("auto_rebootstrap"), std::string::npos) << st.primary_link.last_error;
  EXPECT_EQ(st.last_sequence_applied, std::optional<uint64_t>(before));
  EXPECT_EQ(st.bootstrap.bootstraps, 1u);

  // The control socket's view and op (the handler behind the socket).
  plugin::ControlHandler handler(s1.get(), ControlServerOptions{});
  auto js = handler.Handle({1, "status", nlohmann::json::object()});
  ASSERT_TRUE(js.ok()) << js.status().ToString();
  EXPECT_EQ((*js)["state"], "needs-bootstrap") << js->dump();
  EXPECT_NE((*js)["primary_link"]["last_error"].get<std::string>().find("re-bootstrap"), std::string::npos);
  auto bad = handler.Handle({2, "request_bootstrap", nlohmann::json{{"now", true}}});
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  auto ok = handler.Handle({3, "request_bootstrap", nlohmann::json::object()});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s1.get(), Latest(p.get())); }));
  EXPECT_EQ(s1->GetStatus().bootstrap.bootstraps, 2u);

  ASSERT_TRUE(s1->Close().ok());
  ASSERT_TRUE(s2->Close().ok());
  ASSERT_TRUE(p->Close().ok());
  auto dump = DumpClosedDb(dir_.Sub("p"));
  EXPECT_EQ(dump["users"].count("ing-two-000199"), 1u);
  EXPECT_EQ(DiffDumps(dump, DumpClosedDb(dir_.Sub("s1"))), "");
  EXPECT_EQ(DiffDumps(dump, DumpClosedDb(dir_.Sub("s2"))), "");
}

// plugin.yaml's role: primary with TLS files on a DB that was never enabled as a DR primary: no
// cluster id to serve under. Open refuses with what to do (it used to say "PrimaryConfig.cluster_id
// is empty", a struct the YAML's author never sees).
TEST_F(RebootstrapTest, ConfiguredPrimaryWithoutAClusterIdIsRefusedWithWhatToDo) {
  PluginOptions ppo = FileTlsOptions();
  ppo.role = Role::kPrimary;
  auto r = Replicator::Open(testing::MakeSpec(dir_.Sub("fresh"), ppo), ReplicatorOptions());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition) << r.status().ToString();
  const std::string m = r.status().message();
  EXPECT_NE(m.find("has no DR cluster id yet"), std::string::npos) << m;
  EXPECT_NE(m.find("sys/replication/dr/primary/enable"), std::string::npos) << m;
  EXPECT_EQ(m.find("PrimaryConfig.cluster_id is empty"), std::string::npos) << m;
}

TEST_F(RebootstrapTest, RestartedPrimaryKeepsCheckingThePersistedRegistry) {
  // A primary configured from files, so that reopening it serves again by itself.
  const PluginOptions ppo = FileTlsOptions();
  auto p = OpenNode("p", ppo);
  PrimaryConfig c;
  c.cluster_id = kCluster;
  c.authorize = [](const std::string& id) {
    return id == "s1" ? Status::OK() : Status::PermissionDenied("secondary '" + id + "' is not allowed");
  };
  ASSERT_TRUE(p->BecomePrimary(c).ok());
  ASSERT_TRUE(plugin::SaveAllowedSecondaries(p.get(), std::set<std::string>{"s1"}).ok());
  ASSERT_TRUE(p->Close().ok());
  p.reset();

  p = OpenNode("p", ppo);
  ASSERT_EQ(p->db()->role(), Role::kPrimary);
  ASSERT_NE(p->port(), 0) << "a persisted primary with TLS files serves at open";
  auto s2 = OpenNode("s2");
  ASSERT_TRUE(s2->BecomeSecondary(Bundle("s2", p->port())).ok());
  ASSERT_TRUE(WaitFor([&] { return s2->GetStatus().primary_link.halted; })) << "s2 was admitted after the restart";
  EXPECT_NE(s2->GetStatus().primary_link.last_error.find("registry"), std::string::npos)
      << s2->GetStatus().primary_link.last_error;
  EXPECT_FALSE(s2->GetStatus().last_sequence_applied.has_value());
  auto s1 = OpenNode("s1");
  ASSERT_TRUE(s1->BecomeSecondary(Bundle("s1", p->port())).ok());
  Put(p.get(), "users", "k", "v");
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s1.get(), Latest(p.get())); }));

  // Without a persisted list a registry primary admits nobody.
  ASSERT_TRUE(plugin::SaveAllowedSecondaries(p.get(), std::nullopt).ok());
  ASSERT_TRUE(p->Close().ok());
  p = OpenNode("p", ppo);
  auto s3 = OpenNode("s3");
  ASSERT_TRUE(s3->BecomeSecondary(Bundle("s3", p->port())).ok());
  ASSERT_TRUE(WaitFor([&] { return s3->GetStatus().primary_link.halted; }));
  EXPECT_NE(s3->GetStatus().primary_link.last_error.find("no persisted"), std::string::npos)
      << s3->GetStatus().primary_link.last_error;

  // A primary enabled without a registry (authorize unset) stays open across restarts.
  PrimaryConfig open;
  open.cluster_id = kCluster;
  ASSERT_TRUE(p->BecomePrimary(open).ok());
  ASSERT_TRUE(p->Close().ok());
  p = OpenNode("p", ppo);
  ASSERT_TRUE(s3->UpdatePrimary(Bundle("s3", p->port())).ok());
  Put(p.get(), "users", "k2", "v");
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s3.get(), Latest(p.get())); }));
  for (auto* r : {s1.get(), s2.get(), s3.get(), p.get()}) ASSERT_TRUE(r->Close().ok());
}

}  // namespace
}  // namespace rocksdr
