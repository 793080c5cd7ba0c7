// The LD_PRELOAD route end to end (plugin/preload/, README "Replicating an unmodified
// application (LD_PRELOAD)"): Debian's unmodified /usr/bin/db_bench runs with
// librocksdr_preload.so preloaded and ROCKSDR_CONFIG naming its DB, so its DB is a DR primary;
// a rocksdr_node secondary (its own process, mutual TLS on 127.0.0.1) replicates it. After
// fillrandom, overwrite and deleterandom, both DBs are scanned with `ldb --hex` and compared
// byte for byte. The failure cases: an unreadable config, a refused DB option and a listener
// that cannot be created stop db_bench's open with the message; with on_error: continue it runs
// unreplicated, says so on stderr and in preload-status.json; a DB the config does not name is
// not touched.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/node_process.h"
#include "support/replication_pki.h"
#include "support/rocksdb_test_db.h"

extern char** environ;

namespace rocksdr {
namespace {

constexpr char kCluster[] = "preload-test";
constexpr char kDbBench[] = "/usr/bin/db_bench";
constexpr char kLdb[] = "/usr/bin/ldb";

using testing::NodeBinary;
using testing::WriteFile;

std::string PreloadLib() { return std::string(ROCKSDR_BINARY_DIR) + "/plugin/preload/librocksdr_preload.so"; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Starts `args` with `env` added to this process's environment, stdout+stderr to `log`.
pid_t Spawn(const std::vector<std::string>& args, const std::vector<std::string>& env, const std::string& log) {
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string v = *e;
    if (v.rfind("LD_PRELOAD=", 0) == 0 || v.rfind("ROCKSDR_CONFIG=", 0) == 0) continue;
    envs.push_back(v);
  }
  for (auto& e : env) envs.push_back(e);
  return testing::SpawnWithLog(args, envs, log);
}

// Waits for `pid` at most `timeout` (then kills it and fails). Returns the exit status, or -1.
int Wait(pid_t pid, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "process " << pid << " did not finish within " << timeout.count() << " s; killed";
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

struct RunResult {
  int exit_code = -1;
  std::string output;
};

// A port that was free a moment ago (the secondary must know the primary's port before the
// primary exists, and db_bench reopens its DB, so the port is fixed in the config).
uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

class PreloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const std::string& f : {std::string(kDbBench), std::string(kLdb)}) {
      ASSERT_TRUE(std::filesystem::exists(f)) << f << " is missing: install rocksdb-tools (scripts/deps)";
    }
    ASSERT_TRUE(std::filesystem::exists(PreloadLib()))
        << PreloadLib() << " is missing: build the rocksdr_preload target";
    ASSERT_TRUE(std::filesystem::exists(NodeBinary())) << NodeBinary() << " is missing: build rocksdr_node";
    auto server = pki_.Server(kCluster);
    WriteFile(dir_.Sub("p.crt"), server.cert_pem);
    WriteFile(dir_.Sub("p.key"), std::string(server.key_pem.begin(), server.key_pem.end()));
    auto client = pki_.Client("s1", kCluster);
    WriteFile(dir_.Sub("s1.crt"), client.cert_pem);
    WriteFile(dir_.Sub("s1.key"), std::string(client.key_pem.begin(), client.key_pem.end()));
    WriteFile(dir_.Sub("ca.crt"), pki_.ca_pem());
  }

  std::string PrimaryDb() const { return dir_.Sub("primary"); }

  // A plugin YAML for the preloaded primary; `preload_extra` lines go under `preload:`.
  std::string WritePrimaryConfig(uint16_t port, const std::string& preload_extra = "") {
    const std::string path = dir_.Sub("primary.yaml");
    WriteFile(path, "replication:\n  listen_address: \"127.0.0.1:" + std::to_string(port) +
                        "\"\n  tls: { cert_file: " + dir_.Sub("p.crt") + ", key_file: " + dir_.Sub("p.key") +
                        ", ca_file: " + dir_.Sub("ca.crt") +
                        " }\nlimits: { heartbeat_interval_ms: 100, peer_timeout_ms: 3000 }\n"
                        "preload:\n  databases: [" + PrimaryDb() + "]\n  cluster_id: " + kCluster + "\n" +
                        preload_extra);
    return path;
  }

  RunResult DbBench(const std::string& config, const std::vector<std::string>& extra_args,
                    const std::string& db = "") {
    std::vector<std::string> args = {kDbBench, "--db=" + (db.empty() ? PrimaryDb() : db), "--num=10000",
                                     "--value_size=100", "--key_size=16", "--threads=1", "--compression_type=none",
                                     "--seed=1", "--stats_interval_seconds=0"};
    for (auto& a : extra_args) args.push_back(a);
    std::vector<std::string> env = {"LD_PRELOAD=" + PreloadLib()};
    if (!config.empty()) env.push_back("ROCKSDR_CONFIG=" + config);
    const std::string log = dir_.Sub("db_bench." + std::to_string(++runs_) + ".log");
    RunResult r;
    const pid_t pid = Spawn(args, env, log);
    if (pid > 0) r.exit_code = Wait(pid, std::chrono::seconds(120));
    r.output = ReadFile(log);
    return r;
  }

  // `ldb --db=path scan --hex` (without the preload), its exit status checked.
  std::string LdbScan(const std::string& path) {
    const std::string log = dir_.Sub("ldb." + std::to_string(++runs_) + ".out");
    const pid_t pid = Spawn({kLdb, "--db=" + path, "scan", "--hex"}, {}, log);
    EXPECT_EQ(Wait(pid, std::chrono::seconds(60)), 0) << ReadFile(log);
    return ReadFile(log);
  }

  testing::TempDir dir_;
  testing::TestPki pki_;
  int runs_ = 0;
};

size_t Lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

TEST_F(PreloadTest, DbBenchReplicatesToASecondaryByteForByte) {
  const uint16_t port = FreePort();
  // close_wait: db_bench closes its DB at exit; the primary waits for s1 to acknowledge the last
  // sequence (polling its own status, bounded) before it lets the DB close.
  const std::string config = WritePrimaryConfig(port, "  close_wait: { timeout_ms: 60000, secondaries: 1 }\n");
  WriteFile(dir_.Sub("s1.yaml"), "state_dir: " + dir_.Sub("s1.state") + "\nreplication:\n  tls: { cert_file: " +
                                     dir_.Sub("s1.crt") + ", key_file: " + dir_.Sub("s1.key") + ", ca_file: " +
                                     dir_.Sub("ca.crt") +
                                     " }\nlimits: { heartbeat_interval_ms: 100, peer_timeout_ms: 3000 }\n");
  const std::string s1_log = dir_.Sub("s1.log");
  const pid_t s1 = Spawn({NodeBinary(), "secondary", "--db", dir_.Sub("s1"), "--config", dir_.Sub("s1.yaml"),
                          "--cluster", kCluster, "--id", "s1", "--primary", "127.0.0.1:" + std::to_string(port),
                          "--sync", "0"},
                         {}, s1_log);
  ASSERT_GT(s1, 0);

  const RunResult bench = DbBench(config, {"--benchmarks=fillrandom,overwrite,deleterandom"});
  ::kill(s1, SIGTERM);
  EXPECT_EQ(Wait(s1, std::chrono::seconds(30)), 0) << ReadFile(s1_log);
  ASSERT_EQ(bench.exit_code, 0) << bench.output;
  EXPECT_NE(bench.output.find("WAL retention for replication: WAL_ttl_seconds=86400 (the application asked 0)"),
            std::string::npos)
      << bench.output;
  EXPECT_NE(bench.output.find("replicating as DR primary of cluster preload-test"), std::string::npos)
      << bench.output;
  for (const char* b : {"fillrandom", "overwrite", "deleterandom"}) {
    EXPECT_NE(bench.output.find(std::string(b) + " "), std::string::npos) << b << " did not run:\n" << bench.output;
  }
  // The last close (at db_bench's exit) waited for the secondary.
  const size_t last_close = bench.output.rfind(": closing at sequence ");
  ASSERT_NE(last_close, std::string::npos) << bench.output;
  EXPECT_NE(bench.output.find("1 secondary caught up", last_close), std::string::npos) << bench.output;

  const std::string primary = LdbScan(PrimaryDb());
  const std::string secondary = LdbScan(dir_.Sub("s1"));
  EXPECT_GT(Lines(primary), 1000u) << primary.substr(0, 2000);
  EXPECT_LT(Lines(primary), 10000u) << "deleterandom deleted nothing?";
  EXPECT_TRUE(primary == secondary) << "the secondary differs from the primary: " << Lines(primary) << " vs "
                                    << Lines(secondary) << " lines\n" << ReadFile(s1_log);
}

TEST_F(PreloadTest, UnreadableConfigStopsTheOpen) {
  const RunResult r = DbBench(dir_.Sub("missing.yaml"), {"--benchmarks=fillrandom"});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("rocksdr preload: ERROR: refusing to open " + PrimaryDb()), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("missing.yaml: cannot open the plugin options file"), std::string::npos) << r.output;

  const RunResult unset = DbBench("", {"--benchmarks=fillrandom"});
  EXPECT_NE(unset.exit_code, 0) << unset.output;
  EXPECT_NE(unset.output.find("ROCKSDR_CONFIG is not set"), std::string::npos) << unset.output;

  WriteFile(dir_.Sub("bad.yaml"), "preload:\n  databases: relative/path\n");
  const RunResult bad = DbBench(dir_.Sub("bad.yaml"), {"--benchmarks=fillrandom"});
  EXPECT_NE(bad.exit_code, 0) << bad.output;
  EXPECT_NE(bad.output.find("bad.yaml:2:14: 'preload.databases' must be a list of strings"), std::string::npos)
      << bad.output;
}

TEST_F(PreloadTest, RefusedDbOptionStopsTheOpen) {
  const RunResult r = DbBench(WritePrimaryConfig(0), {"--benchmarks=fillrandom", "--manual_wal_flush=true"});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("DBOptions::manual_wal_flush=true is refused by rocksdr"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("NOT opened"), std::string::npos) << r.output;
}

TEST_F(PreloadTest, ListenerThatCannotBeCreatedStopsTheOpen) {
  // Hold the port so that the primary's listener cannot bind it.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const RunResult r = DbBench(WritePrimaryConfig(ntohs(a.sin_port)), {"--benchmarks=fillrandom"});
  ::close(fd);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("cannot listen for replication on 127.0.0.1:" + std::to_string(ntohs(a.sin_port)) +
                          ": Address already in use"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("the role is unchanged"), std::string::npos) << r.output;
}

TEST_F(PreloadTest, OnErrorContinueRunsUnreplicatedWithAWarning) {
  const RunResult r =
      DbBench(WritePrimaryConfig(0, "  on_error: continue\n"), {"--benchmarks=fillrandom", "--manual_wal_flush=true"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("rocksdr preload: WARNING: " + PrimaryDb() + " runs UNREPLICATED"), std::string::npos)
      << r.output;
  const std::string status = ReadFile(PrimaryDb() + ".rocksdr/preload-status.json");
  EXPECT_NE(status.find("\"replicated\": false"), std::string::npos) << status;
  EXPECT_NE(status.find("manual_wal_flush=true is refused"), std::string::npos) << status;
  EXPECT_GT(Lines(LdbScan(PrimaryDb())), 1000u);
}

TEST_F(PreloadTest, DbNotNamedInTheConfigIsPassedThrough) {
  const RunResult r = DbBench(WritePrimaryConfig(0), {"--benchmarks=fillrandom"}, dir_.Sub("other"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("rocksdr preload:"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("other.rocksdr")));
  EXPECT_GT(Lines(LdbScan(dir_.Sub("other"))), 1000u);
}

}  // namespace
}  // namespace rocksdr
