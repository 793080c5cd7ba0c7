// SetThreadName: names the calling thread, so that `top -H`, `ps -L`, perf and
// /proc/<pid>/task/*/comm show which rocksdr thread spends the CPU (README, "Threads"; the e2e
// bench splits the primary's CPU by these names). Linux keeps at most 15 characters.
//
// Who may call: rocksdr code, first thing on a thread it started. Best effort: a failure (another
// platform, a name too long) leaves the inherited name.
#pragma once

#include <pthread.h>

#include <cstring>

namespace rocksdr::replication {

// The names rocksdr gives its threads (<= 15 characters each).
inline constexpr const char* kThreadPump = "rocksdr-pump";        // primary: one per secondary, reads and frames batches
inline constexpr const char* kThreadNet = "rocksdr-net";          // primary: TLS and sockets of the replication port
inline constexpr const char* kThreadClient = "rocksdr-client";    // secondary: TLS, socket, applying batches
inline constexpr const char* kThreadSync = "rocksdr-sync";        // secondary: group WAL sync (sync_apply)
inline constexpr const char* kThreadMonitor = "rocksdr-monitor";  // both: role, fencing and status upkeep
inline constexpr const char* kThreadControl = "rocksdr-control";  // both: control socket, accepting
inline constexpr const char* kThreadControlConn = "rocksdr-ctlconn";  // both: one control connection
inline constexpr const char* kThreadHttp = "rocksdr-http";        // sidecar: HTTP API
inline constexpr const char* kThreadRearm = "rocksdr-rearm";      // sidecar: DR re-arm after promotion

inline void SetThreadName(const char* name) {
#if defined(__linux__)
  char buf[16];
  std::strncpy(buf, name, sizeof buf - 1);
  buf[sizeof buf - 1] = '\0';
  pthread_setname_np(pthread_self(), buf);
#else
  (void)name;
#endif
}

}  // namespace rocksdr::replication
