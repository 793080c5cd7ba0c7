// FaultCluster; see fault_cluster.h.
#include "support/fault_cluster.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "rocksdr/replication/consistency_ops.h"
#include "rocksdr/sidecar/plugin_control_client.h"
#include "support/control_configs.h"
#include "support/node_process.h"

namespace rocksdr::testing {

namespace {

bool Poll(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

std::string Tail(const std::string& path, size_t bytes) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string s = ss.str();
  return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

}  // namespace

FaultCluster::FaultCluster(FaultClusterOptions options) : options_(std::move(options)) {}

FaultCluster::~FaultCluster() {
  primary_ctl_.reset();
  secondary_ctl_.reset();
  proxy_.reset();
  Reap(&primary_pid_);
  Reap(&secondary_pid_);
  for (pid_t& p : extra_pids_) Reap(&p);
}

std::string FaultCluster::LimitsYaml() const {
  std::string y = "limits:\n  heartbeat_interval_ms: " + std::to_string(options_.heartbeat_interval_ms) +
                  "\n  peer_timeout_ms: " + std::to_string(options_.peer_timeout_ms) + "\n";
  if (options_.storage_retry_initial_ms != 0) {
    y += "  storage_retry_initial_ms: " + std::to_string(options_.storage_retry_initial_ms) + "\n";
  }
  if (options_.storage_retry_max_ms != 0) {
    y += "  storage_retry_max_ms: " + std::to_string(options_.storage_retry_max_ms) + "\n";
  }
  return y;
}

pid_t FaultCluster::SpawnNode(const std::string& name, bool load) {
  if (!std::filesystem::exists(dir_.Sub(name + ".yaml"))) {
    WriteFile(dir_.Sub(name + ".yaml"), "role: disabled\nstate_dir: " + dir_.Sub(name + ".state") + "\n" + LimitsYaml());
  }
  const pid_t pid = Spawn(name, dir_.Sub(name), load);
  if (pid > 0) extra_pids_.push_back(pid);
  return pid;
}

std::unique_ptr<sidecar::PluginControl> FaultCluster::ConnectNode(const std::string& name) {
  return ConnectWhenUp(dir_.Sub(name + ".sock"));
}

void FaultCluster::Reap(pid_t* pid) {
  if (*pid <= 0) return;
  ::kill(*pid, SIGKILL);
  int status = 0;
  ::waitpid(*pid, &status, 0);
  *pid = -1;
}

std::string FaultCluster::secondary_db() const {
  return options_.secondary_db_dir.empty() ? dir_.Sub("s1") : options_.secondary_db_dir + "/s1";
}

std::string FaultCluster::Logs() const {
  return "--- primary log (tail) ---\n" + Tail(dir_.Sub("p.log"), 3000) + "\n--- secondary log (tail) ---\n" +
         Tail(dir_.Sub("s1.log"), 3000);
}

size_t FaultCluster::OpenFds() {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)e;
    ++n;
  }
  return n;
}

size_t FaultCluster::Children() {
  // Processes (zombies included) whose parent is this process.
  const std::string me = std::to_string(::getpid());
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "stat");
    std::string line;
    std::getline(in, line);
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string state, ppid;
    rest >> state >> ppid;
    if (ppid == me) ++n;
  }
  return n;
}

pid_t FaultCluster::Spawn(const std::string& name, const std::string& db, bool load) {
  std::vector<std::string> args = {NodeBinary(), "serve", "--db", db, "--config", dir_.Sub(name + ".yaml"),
                                   "--control-socket", dir_.Sub(name + ".sock"), "--replication-address",
                                   "127.0.0.1:0"};
  if (options_.sync_apply) {
    args.push_back("--sync");
    args.push_back(*options_.sync_apply ? "1" : "0");
  }
  if (load) {
    args.push_back("--load-every-ms");
    args.push_back(std::to_string(options_.load_every_ms));
  }
  return SpawnWithLog(args, dir_.Sub(name + ".log"));
}

std::unique_ptr<sidecar::PluginControl> FaultCluster::ConnectWhenUp(const std::string& sock) {
  std::unique_ptr<sidecar::PluginControl> out;
  Poll([&] {
    sidecar::PluginControlClientOptions o;
    o.timeout = std::chrono::seconds(20);
    o.role_change_timeout = std::chrono::seconds(60);
    auto c = sidecar::ConnectPluginControl(sock, o);
    if (!c.ok()) return false;
    out = std::move(*c);
    return true;
  }, std::chrono::seconds(30));
  EXPECT_NE(out, nullptr) << "the node's control socket " << sock << " never answered\n" << Logs();
  return out;
}

sidecar::PrimaryConfig FaultCluster::PrimaryConfig() const {
  return ControlPrimaryConfig(pki_, kCluster, {kSecondaryId, "s2", "p"});
}

sidecar::ActivationBundle FaultCluster::Bundle() const { return BundleFor(kSecondaryId, proxy_->address()); }

sidecar::ActivationBundle FaultCluster::BundleFor(const std::string& id, const std::string& address) const {
  return ControlBundle(pki_, kCluster, id, address, "http://127.0.0.1:1");
}

void FaultCluster::EnablePrimary() {
  ASSERT_NE(primary_ctl_, nullptr);
  Status s = primary_ctl_->EnablePrimary(PrimaryConfig());
  ASSERT_TRUE(s.ok()) << "enable_primary: " << s.ToString() << "\n" << Logs();
  auto addr = primary_ctl_->ReplicationAddress();
  ASSERT_TRUE(addr.ok()) << addr.status().ToString();
  const uint16_t port = static_cast<uint16_t>(std::stoul(addr->substr(addr->rfind(':') + 1)));
  if (proxy_) {
    proxy_->SetTarget(port);
  } else {
    proxy_ = FaultProxy::Start(port);
    ASSERT_NE(proxy_, nullptr);
  }
}

void FaultCluster::Start() {
  ASSERT_TRUE(std::filesystem::exists(NodeBinary()))
      << NodeBinary() << " is missing: build the rocksdr_node target";
  const std::string limits = LimitsYaml();
  WriteFile(dir_.Sub("p.yaml"), "role: disabled\nstate_dir: " + dir_.Sub("p.state") + "\n" + limits);
  WriteFile(dir_.Sub("s1.yaml"), "role: disabled\nstate_dir: " + dir_.Sub("s1.state") + "\n" + limits);
  if (!options_.secondary_db_dir.empty()) std::filesystem::create_directories(options_.secondary_db_dir);
  primary_pid_ = Spawn("p", primary_db(), /*load=*/true);
  secondary_pid_ = Spawn("s1", secondary_db(), /*load=*/false);
  ASSERT_GT(primary_pid_, 0);
  ASSERT_GT(secondary_pid_, 0);
  primary_ctl_ = ConnectWhenUp(dir_.Sub("p.sock"));
  secondary_ctl_ = ConnectWhenUp(dir_.Sub("s1.sock"));
  ASSERT_NE(primary_ctl_, nullptr);
  ASSERT_NE(secondary_ctl_, nullptr);
  EnablePrimary();
  if (::testing::Test::HasFatalFailure()) return;
  Status s = secondary_ctl_->EnableSecondary(Bundle());
  ASSERT_TRUE(s.ok()) << "enable_secondary: " << s.ToString() << "\n" << Logs();
  ASSERT_TRUE(WaitStreaming()) << "the secondary never streamed\n" << Logs();
}

void FaultCluster::KillPrimary() {
  primary_ctl_.reset();
  Reap(&primary_pid_);
}

void FaultCluster::RestartPrimary() {
  primary_pid_ = Spawn("p", primary_db(), /*load=*/true);
  ASSERT_GT(primary_pid_, 0);
  primary_ctl_ = ConnectWhenUp(dir_.Sub("p.sock"));
  EnablePrimary();
}

void FaultCluster::KillSecondary() {
  secondary_ctl_.reset();
  Reap(&secondary_pid_);
}

void FaultCluster::RestartSecondary() {
  secondary_pid_ = Spawn("s1", secondary_db(), /*load=*/false);
  ASSERT_GT(secondary_pid_, 0);
  secondary_ctl_ = ConnectWhenUp(dir_.Sub("s1.sock"));
  ASSERT_NE(secondary_ctl_, nullptr);
  Status s = secondary_ctl_->UpdatePrimary(Bundle());
  ASSERT_TRUE(s.ok()) << "update_primary after the restart: " << s.ToString() << "\n" << Logs();
}

void FaultCluster::RejoinSecondary() {
  ASSERT_NE(secondary_ctl_, nullptr);
  Status s = secondary_ctl_->EnableSecondary(Bundle());
  ASSERT_TRUE(s.ok()) << "enable_secondary (rejoin): " << s.ToString() << "\n" << Logs();
}

nlohmann::json FaultCluster::PrimaryStatus() {
  if (!primary_ctl_) return nlohmann::json::object();
  auto s = primary_ctl_->Status();
  return s.ok() ? *s : nlohmann::json::object();
}

nlohmann::json FaultCluster::SecondaryStatus() {
  if (!secondary_ctl_) return nlohmann::json::object();
  auto s = secondary_ctl_->Status();
  return s.ok() ? *s : nlohmann::json::object();
}

bool FaultCluster::WaitStreaming(std::chrono::milliseconds timeout) {
  return Poll([&] { return SecondaryStatus().value("state", "") == "stream-wals"; }, timeout);
}

Result<sidecar::ConsistencyReport> FaultCluster::Consistency(uint64_t bucket_keys) {
  if (!primary_ctl_ || !secondary_ctl_) return Status::FailedPrecondition("a node is down");
  return ControlSocketConsistency("primary", primary_ctl_.get(), "secondary", secondary_ctl_.get(), bucket_keys,
                                  sidecar::ConsistencyMode::kLive);
}

Result<sidecar::ConsistencyReport> ControlSocketConsistency(const std::string& a_name, sidecar::PluginControl* a,
                                                            const std::string& b_name, sidecar::PluginControl* b,
                                                            uint64_t bucket_keys, sidecar::ConsistencyMode mode) {
  auto node = [](const std::string& name, sidecar::PluginControl* c) {
    sidecar::ConsistencyNode n;
    n.name = name;
    n.call = [c](std::string_view op, const nlohmann::json& args) { return c->Consistency(op, args); };
    return n;
  };
  sidecar::ConsistencyCheckOptions o;
  o.mode = mode;
  o.bucket_keys = bucket_keys;
  o.timeout_ms = 20'000;
  return sidecar::RunConsistencyCheck(node(a_name, a), node(b_name, b), o);
}

}  // namespace rocksdr::testing
