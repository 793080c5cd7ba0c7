// What the process-driving benchmarks (replication_e2e_bench, sync_bench) share: fatal errors, a
// scratch directory, the bench PKI (a CA, a server certificate for 127.0.0.1, client certificates),
// the in-process primary on loopback, and the DR secondary as a rocksdr_node child process (its
// YAML and command line).
//
// Who may include: bench/*_bench.cc only. Header-only, because bench/CMakeLists.txt builds one
// executable per *_bench.cc file. Thread: the benchmark's main thread; nothing here is thread-safe.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "rocksdr/crypto/x509_ca.h"
#include "rocksdr/replication/tls_context.h"
#include "rocksdr/replicator.h"

extern char** environ;

namespace rocksdr::bench {

// Prints "<program>: <what>" on stderr and exits with status 1.
[[noreturn]] inline void Die(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, what.c_str());
  std::exit(1);
}

inline void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  if (!out.good()) Die("cannot write " + path);
}

// The rocksdr_node program: `given` (the --node flag) when not empty, else the one in this build
// tree (bench/../examples/rocksdr_node/rocksdr_node). Dies when it does not exist.
inline std::string NodeProgram(const std::string& given) {
  std::string node = given;
  if (node.empty()) {
    const auto self = std::filesystem::read_symlink("/proc/self/exe");
    node = (self.parent_path().parent_path() / "examples/rocksdr_node/rocksdr_node").string();
  }
  if (!std::filesystem::exists(node)) Die(node + " not found: build the rocksdr_node target or pass --node");
  return node;
}

// A fresh directory <temp>/<prefix>-XXXXXX, removed with everything in it on destruction.
// <temp> is $TMPDIR if set, else /tmp (std::filesystem::temp_directory_path): point TMPDIR at a
// disk with room for `replication_e2e_bench --bootstrap-gb N` (at least 2 x N GiB: the DB and
// then its local copy, or the bootstrapped secondary).
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix) {
    std::error_code ec;
    const std::filesystem::path base = std::filesystem::temp_directory_path(ec);
    if (ec) Die("no temporary directory (TMPDIR): " + ec.message());
    std::string tmpl = (base / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      Die("cannot create a scratch directory in " + base.string() + ": " + std::strerror(errno) +
          " (set TMPDIR to a writable directory)");
    }
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A CA valid for 24 hours and the certificates it issues for one cluster.
struct Pki {
  std::string cluster;
  crypto::CertifiedKey ca;
  crypto::CertifiedKey server;

  static Pki Create(const std::string& cluster) {
    auto c = crypto::CreateCa("bench CA", std::chrono::hours(24));
    if (!c.ok()) Die(c.status().ToString());
    return Pki{cluster, std::move(*c), {}};
  }
  // A server certificate carries 127.0.0.1 as its IP address.
  crypto::CertifiedKey Issue(const std::string& cn, crypto::CertificateUsage usage) const {
    crypto::CertificateRequest req;
    req.common_name = cn;
    req.cluster_id = cluster;
    req.usage = usage;
    if (usage == crypto::CertificateUsage::kServer) req.ip_addresses = {"127.0.0.1"};
    auto c = crypto::IssueCertificate(ca, req);
    if (!c.ok()) Die("issuing a certificate for " + cn + ": " + c.status().ToString());
    return std::move(*c);
  }
  replication::TlsCredentials Credentials(const crypto::CertifiedKey& c) const {
    return {c.cert_pem, c.key_pem, ca.cert_pem};
  }
  // Writes `c` as <base>.crt and <base>.key.
  static void WriteCertificate(const crypto::CertifiedKey& c, const std::string& base) {
    WriteFile(base + ".crt", c.cert_pem);
    WriteFile(base + ".key", std::string(c.key_pem.begin(), c.key_pem.end()));
  }
};

// The primary of pki's cluster, listening on 127.0.0.1 (a free port) with pki.server.
inline PrimaryConfig LoopbackPrimary(const Pki& pki) {
  PrimaryConfig pc;
  pc.cluster_id = pki.cluster;
  pc.listen_address = "127.0.0.1:0";
  pc.tls = pki.Credentials(pki.server);
  return pc;
}

// Opens spec's DB as a Replicator and makes it the primary `pc` describes.
inline std::unique_ptr<Replicator> OpenPrimary(const DbSpec& spec, const PrimaryConfig& pc) {
  auto opened = Replicator::Open(spec);
  if (!opened.ok()) Die(opened.status().ToString());
  std::unique_ptr<Replicator> p = std::move(*opened);
  if (auto s = p->BecomePrimary(pc); !s.ok()) Die(s.ToString());
  return p;
}

// The rocksdr_node YAML of a DR secondary: its state directory and TLS files.
inline std::string SecondaryYaml(const std::string& state_dir, const std::string& cert_file,
                                 const std::string& key_file, const std::string& ca_file) {
  return "state_dir: " + state_dir + "\nreplication:\n  tls: { cert_file: " + cert_file + ", key_file: " + key_file +
         ", ca_file: " + ca_file + " }\n";
}

// The command line of `rocksdr_node secondary` replicating the primary on 127.0.0.1:<port>;
// sync: the secondary syncs its WAL with every applied group.
inline std::vector<std::string> SecondaryArgs(const std::string& node, const std::string& db,
                                              const std::string& config, const std::string& cluster,
                                              const std::string& id, uint16_t port, bool sync) {
  return {node,    "secondary", "--db",      db, "--config", config, "--cluster", cluster, "--id",
          id,      "--primary", "127.0.0.1:" + std::to_string(port), "--sync",  sync ? "1" : "0"};
}

// A child process (args[0] is the program), stdout and stderr appended to `log`. Stop() (and the
// destructor) sends SIGTERM and waits for it.
class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> args, std::string log) : args_(std::move(args)), log_(std::move(log)) {}
  ~ChildProcess() { Stop(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  const std::string& log() const { return log_; }
  bool running() const { return pid_ > 0; }

  // Does nothing when it runs already.
  void Start() {
    if (pid_ > 0) return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char*> argv;
    for (auto& a : args_) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (::posix_spawn(&pid_, args_[0].c_str(), &fa, nullptr, argv.data(), environ) != 0) Die("spawn " + args_[0]);
    posix_spawn_file_actions_destroy(&fa);
  }
  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  // True (once) when it was started and has exited by itself since; it is then not running.
  bool ExitedByItself() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
    pid_ = -1;
    return true;
  }

 private:
  std::vector<std::string> args_;
  std::string log_;
  pid_t pid_ = -1;
};

}  // namespace rocksdr::bench
