// Blocking I/O of control-socket messages (rocksdr/replication/control_protocol.h) on a connected
// stream socket, bounded in time with poll(2). Both ends use it: the plugin's control server and
// the sidecar's client.
//
// Every call takes a deadline and an optional `wake_fd` (the read end of a pipe): when it becomes
// readable the call gives up with kAborted, so a server can stop threads blocked in I/O.
// Writes never raise SIGPIPE (MSG_NOSIGNAL).
//
// Who may call: anyone; one thread per fd at a time (no internal locking).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "rocksdr/status.h"

namespace rocksdr::replication::control {

using Clock = std::chrono::steady_clock;

// Sends all of `bytes`. Errors: kUnavailable when the peer is gone (EPIPE/ECONNRESET),
// kDeadlineExceeded, kAborted (wake_fd), kIOError otherwise.
Status WriteAll(int fd, std::string_view bytes, Clock::time_point deadline, int wake_fd = -1);

// Reads one message body (header checked with DecodeHeader before the body is buffered).
// Waits until `start_deadline` for its first byte; once started, the rest must arrive within
// `rest_timeout`. Returns nullopt on a clean end of stream before the first byte.
// Errors: kUnavailable (peer closed mid-message or reset), kDeadlineExceeded, kAborted (wake_fd),
// kInvalidArgument / kResourceExhausted (bad length: the stream cannot be resynchronized, close
// it after answering), kIOError.
Result<std::optional<std::string>> ReadMessage(int fd, Clock::time_point start_deadline,
                                               std::chrono::milliseconds rest_timeout, int wake_fd = -1);

// The uid of the process at the other end of a connected Unix socket (SO_PEERCRED).
Result<uid_t> PeerUid(int fd);

}  // namespace rocksdr::replication::control
