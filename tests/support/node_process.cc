// rocksdr_node child processes; see node_process.h.
#include "support/node_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>

extern char** environ;

namespace rocksdr::testing {

namespace {

pid_t Spawn(const std::vector<std::string>& args, char* const* envp, const std::string& log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, args[0].c_str(), &fa, nullptr, argv.data(), envp);
  posix_spawn_file_actions_destroy(&fa);
  EXPECT_EQ(rc, 0) << "spawning " << args[0];
  return rc == 0 ? pid : -1;
}

}  // namespace

std::string NodeBinary() { return std::string(ROCKSDR_BINARY_DIR) + "/examples/rocksdr_node/rocksdr_node"; }

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  ASSERT_TRUE(out.good()) << path;
}

void WriteSecondaryNodeConfig(const TempDir& dir, const TestPki& pki, const std::string& id,
                              const std::string& cluster, uint64_t heartbeat_interval_ms,
                              uint64_t peer_timeout_ms) {
  const auto c = pki.Client(id, cluster);
  WriteFile(dir.Sub(id + ".crt"), c.cert_pem);
  WriteFile(dir.Sub(id + ".key"), std::string(c.key_pem.begin(), c.key_pem.end()));
  WriteFile(dir.Sub("ca.crt"), pki.ca_pem());
  WriteFile(dir.Sub(id + ".yaml"), "state_dir: " + dir.Sub(id + ".state") + "\nreplication:\n  tls: { cert_file: " +
                                       dir.Sub(id + ".crt") + ", key_file: " + dir.Sub(id + ".key") +
                                       ", ca_file: " + dir.Sub("ca.crt") + " }\nlimits:\n  heartbeat_interval_ms: " +
                                       std::to_string(heartbeat_interval_ms) +
                                       "\n  peer_timeout_ms: " + std::to_string(peer_timeout_ms) + "\n");
}

pid_t SpawnWithLog(const std::vector<std::string>& args, const std::string& log) {
  return Spawn(args, environ, log);
}

pid_t SpawnWithLog(const std::vector<std::string>& args, const std::vector<std::string>& env,
                   const std::string& log) {
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  return Spawn(args, envp.data(), log);
}

void KillAndReap(pid_t pid, int sig, int* status) {
  ASSERT_EQ(::kill(pid, sig), 0);
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);
  if (status != nullptr) *status = st;
}

}  // namespace rocksdr::testing
