// The `rocksdr` binary end to end: `rocksdr server -config FILE` as a child process, driven by
// the CLI (operator init / unseal / status / write -f / read / delete / seal, -format=json,
// error exits), then SIGTERM; the server's log must not contain any token or unseal key.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

namespace {

const std::string kBinary = std::string(ROCKSDR_BINARY_DIR) + "/tools/rocksdr";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct CliRun {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs the CLI with `args`, environment `env` added, stdin from `input`.
CliRun Cli(const std::vector<std::string>& args, const std::vector<std::string>& env, const std::string& input = "") {
  const std::string dir = ::testing::TempDir() + "/rocksdr_cli_" + std::to_string(getpid());
  const std::string out_path = dir + "_out", err_path = dir + "_err", in_path = dir + "_in";
  {
    std::ofstream in(in_path);
    in << input;
  }
  pid_t pid = fork();
  if (pid == 0) {
    int in = open(in_path.c_str(), O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(kBinary.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
    unsetenv("VAULT_ADDR");
    unsetenv("VAULT_TOKEN");
    execv(kBinary.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CliRun r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadFile(out_path);
  r.err = ReadFile(err_path);
  return r;
}

class CliServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = ::testing::TempDir() + "/rocksdr_srv_" + std::to_string(getpid());
    config_ = dir + ".yaml";
    addr_file_ = dir + ".addr";
    log_ = dir + ".log";
    unlink(addr_file_.c_str());
    {
      std::ofstream c(config_);
      c << "listener:\n  address: 127.0.0.1:0\n  tls_disable: true\nplugin:\n  in_memory: true\nlog:\n  level: debug\n";
    }
    pid_ = fork();
    if (pid_ == 0) {
      int devnull = open("/dev/null", O_WRONLY);
      int err = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(devnull, 1);
      dup2(err, 2);
      execl(kBinary.c_str(), kBinary.c_str(), "server", "-config", config_.c_str(), "-address-file",
            addr_file_.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 200 && addr_.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      std::string a = ReadFile(addr_file_);
      if (!a.empty() && a.back() == '\n') addr_ = a.substr(0, a.size() - 1);
    }
    ASSERT_FALSE(addr_.empty()) << "server did not start: " << ReadFile(log_);
  }
  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  int StopServer() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  pid_t pid_ = -1;
  std::string config_, addr_file_, log_, addr_;
};

TEST_F(CliServerTest, OperatorFlowReadWriteAndCleanLogs) {
  const std::vector<std::string> env = {"ROCKSDR_ADDR=" + addr_};

  CliRun st = Cli({"status"}, env);
  EXPECT_EQ(st.code, 2) << st.err;  // sealed (not initialized)
  EXPECT_NE(st.out.find("Initialized        false"), std::string::npos) << st.out;

  CliRun init = Cli({"operator", "init", "-key-shares=3", "-key-threshold=2", "-format=json"}, env);
  ASSERT_EQ(init.code, 0) << init.err;
  nlohmann::json j = nlohmann::json::parse(init.out);
  ASSERT_EQ(j["unseal_keys_b64"].size(), 3u);
  EXPECT_EQ(j["unseal_threshold"], 2);
  const std::string root = j["root_token"];
  const std::vector<std::string> keys = j["unseal_keys_b64"], hex = j["unseal_keys_hex"];

  CliRun again = Cli({"operator", "init"}, env);
  EXPECT_EQ(again.code, 2);
  EXPECT_NE(again.err.find("Code: 400. Errors:\n\n* rocksdr is already initialized"), std::string::npos) << again.err;

  CliRun u1 = Cli({"operator", "unseal", keys[0]}, env);
  EXPECT_EQ(u1.code, 0) << u1.err;
  EXPECT_NE(u1.out.find("Unseal Progress    1/2"), std::string::npos) << u1.out;
  CliRun bad = Cli({"operator", "unseal", "zz-not-a-key"}, env);
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("'key' must be a valid hex or base64 string"), std::string::npos) << bad.err;
  CliRun u2 = Cli({"operator", "unseal"}, env, hex[2] + "\n");  // key from stdin, hex form
  EXPECT_EQ(u2.code, 0) << u2.err;
  EXPECT_NE(u2.out.find("\nSealed          false\n"), std::string::npos) << u2.out;

  CliRun ok = Cli({"status", "-format=json"}, env);
  EXPECT_EQ(ok.code, 0);
  EXPECT_EQ(nlohmann::json::parse(ok.out)["sealed"], false);

  const std::vector<std::string> auth = {"ROCKSDR_ADDR=" + addr_, "ROCKSDR_TOKEN=" + root};
  CliRun noforce = Cli({"write", "secret/app"}, auth);
  EXPECT_EQ(noforce.code, 1);
  EXPECT_NE(noforce.err.find("Must supply data or use -force"), std::string::npos);
  CliRun noauth = Cli({"write", "secret/app", "k=v"}, env);
  EXPECT_EQ(noauth.code, 2);
  EXPECT_NE(noauth.err.find("Error writing data to secret/app: Error making API request."), std::string::npos);
  EXPECT_NE(noauth.err.find("Code: 403. Errors:\n\n* permission denied"), std::string::npos) << noauth.err;
  EXPECT_NE(noauth.err.find("No token was sent: set ROCKSDR_TOKEN"), std::string::npos) << noauth.err;
  CliRun badauth = Cli({"write", "-token=not-a-token", "secret/app", "k=v"}, env);
  EXPECT_EQ(badauth.code, 2);
  EXPECT_EQ(badauth.err.find("No token was sent"), std::string::npos) << badauth.err;
  // An address with a path (say, .../v1 copied from a URL) is refused with what to give instead.
  CliRun path = Cli({"read", "-address=" + addr_ + "/v1", "secret/app"}, auth);
  EXPECT_NE(path.code, 0);
  EXPECT_NE(path.err.find("has a path: give scheme://host:port only"), std::string::npos) << path.err;

  CliRun w = Cli({"write", "secret/app", "user=alice", "level=3"}, auth);
  EXPECT_EQ(w.code, 0) << w.err;
  EXPECT_EQ(w.out, "Success! Data written to: secret/app\n");
  CliRun r = Cli({"read", "secret/app"}, auth);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "Key      Value\n---      -----\nlevel    3\nuser     alice\n");
  CliRun rj = Cli({"read", "-format=json", "secret/app"}, auth);
  EXPECT_EQ(nlohmann::json::parse(rj.out)["data"]["user"], "alice");
  // k=@file reads the value from a file (as Vault's CLI does; trailing newline dropped); k=\@x is
  // the literal "@x"; a missing file is refused locally and nothing is written.
  const std::string vfile = ::testing::TempDir() + "/rocksdr_cli_value_" + std::to_string(getpid());
  std::ofstream(vfile) << "from a file\n";
  CliRun wf = Cli({"write", "secret/files", "note=@" + vfile, "lit=\\@x"}, auth);
  EXPECT_EQ(wf.code, 0) << wf.err;
  nlohmann::json files = nlohmann::json::parse(Cli({"read", "-format=json", "secret/files"}, auth).out);
  EXPECT_EQ(files["data"]["note"], "from a file");
  EXPECT_EQ(files["data"]["lit"], "@x");
  CliRun nofile = Cli({"write", "secret/nofile", "note=@" + vfile + ".missing"}, auth);
  EXPECT_EQ(nofile.code, 1);
  EXPECT_NE(nofile.err.find("cannot read " + vfile + ".missing (for note=@...): No such file or directory"),
            std::string::npos)
      << nofile.err;
  EXPECT_EQ(Cli({"read", "secret/nofile"}, auth).code, 2);
  std::remove(vfile.c_str());
  CliRun forced = Cli({"write", "-f", "sys/no/such/path"}, auth);
  EXPECT_EQ(forced.code, 2);
  EXPECT_NE(forced.err.find("URL: PUT " + addr_ + "/v1/sys/no/such/path\nCode: 404. Errors:\n\n* unsupported path"),
            std::string::npos)
      << forced.err;
  CliRun dr = Cli({"read", "sys/replication/dr/status"}, auth);
  EXPECT_EQ(dr.out, "Key     Value\n---     -----\nmode    disabled\n");
  CliRun del = Cli({"delete", "secret/app"}, auth);
  EXPECT_EQ(del.out, "Success! Data deleted (if it existed) at: secret/app\n");
  CliRun gone = Cli({"read", "secret/app"}, auth);
  EXPECT_EQ(gone.code, 2);
  EXPECT_EQ(gone.err, "No value found at secret/app\n");
  CliRun usage = Cli({"read"}, auth);
  EXPECT_EQ(usage.code, 1);
  CliRun badfmt = Cli({"read", "-format=xml", "secret/app"}, auth);
  EXPECT_EQ(badfmt.code, 1);

  CliRun seal = Cli({"operator", "seal"}, auth);
  EXPECT_EQ(seal.code, 0) << seal.err;
  EXPECT_EQ(seal.out, "Success! rocksdr is sealed.\n");
  EXPECT_EQ(Cli({"read", "secret/app"}, auth).code, 2);

  EXPECT_EQ(StopServer(), 0);
  const std::string log = ReadFile(log_);
  EXPECT_NE(log.find("listening on"), std::string::npos) << log;
  EXPECT_NE(log.find("/v1/sys/unseal"), std::string::npos) << log;  // debug request lines are there
  EXPECT_NE(log.find("received SIGTERM"), std::string::npos) << log;
  EXPECT_EQ(log.find(root), std::string::npos);
  EXPECT_EQ(log.find(root.substr(4)), std::string::npos);
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(log.find(keys[i]), std::string::npos);
    EXPECT_EQ(log.find(hex[i]), std::string::npos);
  }
}

// One `rocksdr server` per plugin control socket: a second one is refused naming the first's pid;
// after the first is killed with -9 (its flock goes with it), a new one starts.
TEST(CliServer, ASecondServerOnTheSameControlSocketIsRefused) {
  const std::string dir = ::testing::TempDir() + "/rocksdr_lock_" + std::to_string(getpid());
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  const std::string cfg = dir + "/sidecar.yaml";
  std::ofstream(cfg) << "listener:\n  address: 127.0.0.1:0\n  tls_disable: true\nplugin:\n  control_socket: " << dir
                     << "/app.sock\n";
  auto start = [&](const std::string& addr_file) {
    const pid_t pid = fork();
    if (pid == 0) {
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 1);
      dup2(devnull, 2);
      execl(kBinary.c_str(), kBinary.c_str(), "server", "-config", cfg.c_str(), "-address-file", addr_file.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 400 && ReadFile(addr_file).empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    return pid;
  };
  const pid_t first = start(dir + "/a.addr");
  int status = 0;
  if (ReadFile(dir + "/a.addr").empty()) {
    kill(first, SIGKILL);
    waitpid(first, &status, 0);
    FAIL() << "the first server did not start";
  }
  // A running server cannot dump core (its memory holds the unsealed keys).
  const std::string limits = ReadFile("/proc/" + std::to_string(first) + "/limits");
  EXPECT_NE(limits.find("Max core file size        0                    0"), std::string::npos) << limits;
  // The second, with its stderr kept: it must exit by itself (a server that started instead is
  // killed after 10 s and fails the test rather than hanging it).
  const std::string second_err = dir + "/b.err";
  const pid_t second = fork();
  if (second == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    int err = open(second_err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(devnull, 1);
    dup2(err, 2);
    execl(kBinary.c_str(), kBinary.c_str(), "server", "-config", cfg.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  bool exited = false;
  for (int i = 0; i < 400 && !exited; ++i) {
    exited = waitpid(second, &status, WNOHANG) == second;
    if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  if (!exited) {
    kill(second, SIGKILL);
    waitpid(second, &status, 0);
  }
  EXPECT_TRUE(exited) << "a second server on the same control socket kept running";
  EXPECT_TRUE(exited && WIFEXITED(status) && WEXITSTATUS(status) == 1);
  EXPECT_NE(ReadFile(second_err).find("another rocksdr server (pid " + std::to_string(first) +
                                      ") already drives the plugin at " + dir + "/app.sock"),
            std::string::npos)
      << ReadFile(second_err);
  kill(first, SIGKILL);
  waitpid(first, &status, 0);
  const pid_t third = start(dir + "/c.addr");
  EXPECT_FALSE(ReadFile(dir + "/c.addr").empty()) << "no server could start after the first was killed";
  kill(third, SIGTERM);
  waitpid(third, &status, 0);
  for (const char* f : {"/sidecar.yaml", "/a.addr", "/b.err", "/c.addr", "/app.sock.sidecar.lock"}) unlink((dir + f).c_str());
  rmdir(dir.c_str());
}

TEST(CliServer, BadConfigAndDevMode) {
  const std::string cfg = ::testing::TempDir() + "/rocksdr_bad_" + std::to_string(getpid()) + ".yaml";
  {
    std::ofstream c(cfg);
    c << "plugin: {in_memory: true}\nlistener:\n  address: 0.0.0.0:0\n  tls_disable: true\n";
  }
  CliRun r = Cli({"server", "-config", cfg}, {});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(cfg + ":3:3: listener.tls_disable is only allowed on a loopback address"), std::string::npos)
      << r.err;
  CliRun none = Cli({"server"}, {});
  EXPECT_EQ(none.code, 1);
  // Dev mode (plain HTTP, root token printed) follows the same loopback-only rule.
  CliRun open_dev = Cli({"server", "-dev", "-dev-listen-address=0.0.0.0:0"}, {});
  EXPECT_EQ(open_dev.code, 1);
  EXPECT_NE(open_dev.err.find("-dev-listen-address 0.0.0.0:0 is reachable from other machines"), std::string::npos)
      << open_dev.err;
  // An address file that cannot be written stops the server at once, with the reason (scripts
  // wait for that file).
  CliRun nofile = Cli({"server", "-dev", "-dev-listen-address=127.0.0.1:0", "-address-file",
                       "/nonexistent-dir/api.addr"},
                      {});
  EXPECT_EQ(nofile.code, 1);
  EXPECT_NE(nofile.err.find("cannot write the address file /nonexistent-dir/api.addr: No such file or directory"),
            std::string::npos)
      << nofile.err;
}

}  // namespace
