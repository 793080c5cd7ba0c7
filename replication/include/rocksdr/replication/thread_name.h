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
// primary, one per connected secondary: reads the write ring / WAL, paces and builds frames
inline constexpr const char* kThreadPump = "rocksdr-pump";
// primary: TLS and sockets of the replication port, ACKs
inline constexpr const char* kThreadNet = "rocksdr-net";
// secondary: TLS and socket of the link to the primary, applying batches
inline constexpr const char* kThreadClient = "rocksdr-client";
// secondary: group WAL sync (sync_apply); started on every node, idle unless it applies
inline constexpr const char* kThreadSync = "rocksdr-sync";
// both (acts on a secondary): restarts the link for a re-bootstrap or a newer epoch
inline constexpr const char* kThreadMonitor = "rocksdr-monitor";
// both: the control socket, accepting; and one thread per control connection
inline constexpr const char* kThreadControl = "rocksdr-control";
inline constexpr const char* kThreadControlConn = "rocksdr-ctlconn";
// sidecar: the HTTP API; the DR re-arm loop after a restart
inline constexpr const char* kThreadHttp = "rocksdr-http";
inline constexpr const char* kThreadRearm = "rocksdr-rearm";

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
