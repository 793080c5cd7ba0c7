// SidecarLock: one `rocksdr server` per plugin control socket.
//
// Two sidecars driving one plugin (say, a systemd unit and a manual start) would each run the DR
// re-arm loop and role changes, serialized only inside each process. The first server takes an
// exclusive flock(2) on "<control socket>.sidecar.lock", next to the socket (the socket's private
// directory), and writes its pid there; a second one is refused with that pid. The kernel drops
// the lock when the process ends, kill -9 included, so a crash never leaves it stale.
//
// The lock file's name comes from the socket's directory resolved (realpath), so two spellings of
// one socket share it. Best effort where it cannot be checked: when the socket's directory does
// not exist yet (the sidecar started before the application), or the lock file cannot be opened
// (a read-only directory, a file of another user) or flock(2) fails for another reason than a
// holder (ENOLCK), Acquire answers OK without a lock and says so in `note`; a pid that cannot be
// written is noted too (the lock still holds). Who may call: `rocksdr server` (server_command.cc), once, from its main thread.
#pragma once

#include <string>

#include "rocksdr/status.h"

namespace rocksdr::cli {

class SidecarLock {
 public:
  SidecarLock() = default;
  ~SidecarLock();
  SidecarLock(const SidecarLock&) = delete;
  SidecarLock& operator=(const SidecarLock&) = delete;

  // kFailedPrecondition when another live process holds the lock (the message names its pid).
  Status Acquire(const std::string& control_socket);
  // Set when Acquire could not check (no lock taken) or could not record its pid: what to log.
  const std::string& note() const { return note_; }

 private:
  int fd_ = -1;
  std::string note_;
};

}  // namespace rocksdr::cli
