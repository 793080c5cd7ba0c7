// rocksdr_node (examples/rocksdr_node) as a child process of a test: where the built binary is,
// the files a DR secondary node needs (its client certificate, the replication CA, its plugin
// YAML), starting it with its output appended to a log, and killing and reaping it.
//
// Who may call: tests only, from the test thread (gtest assertions: a helper that fails a fatal
// assertion returns early; callers check with ASSERT_NO_FATAL_FAILURE / HasFatalFailure()).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "support/replication_pki.h"
#include "support/rocksdb_test_db.h"

namespace rocksdr::testing {

// The rocksdr_node binary of this build tree.
std::string NodeBinary();

// Writes `content` to `path` (replacing it); a fatal failure if the write did not succeed.
void WriteFile(const std::string& path, const std::string& content);

// Writes, in `dir`, what `rocksdr_node secondary --config <dir>/<id>.yaml` needs: <id>.crt and
// <id>.key (a client certificate from `pki` for `id` in `cluster`), ca.crt (pki's CA) and
// <id>.yaml (state_dir <dir>/<id>.state, those TLS files, the two limits given).
void WriteSecondaryNodeConfig(const TempDir& dir, const TestPki& pki, const std::string& id,
                              const std::string& cluster, uint64_t heartbeat_interval_ms,
                              uint64_t peer_timeout_ms);

// Runs `args` (args[0] is the program's path) with this process's environment, stdout and stderr
// appended to `log`. Returns the pid, or -1 (with a non-fatal failure) if it could not start.
pid_t SpawnWithLog(const std::vector<std::string>& args, const std::string& log);
// The same with exactly the environment `env` ("NAME=value" entries).
pid_t SpawnWithLog(const std::vector<std::string>& args, const std::vector<std::string>& env,
                   const std::string& log);

// Sends `sig` to `pid` and waits for it to end; its wait status in *status when given. A fatal
// failure if the signal cannot be sent or the process is not reaped.
void KillAndReap(pid_t pid, int sig, int* status = nullptr);

}  // namespace rocksdr::testing
