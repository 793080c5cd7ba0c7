// The sidecar's production PluginControl: a client of the plugin's control socket (the plugin
// side is rocksdr/control_server.h; wire format replication/PROTOCOL.md, "Control socket").
//
//   auto control = rocksdr::sidecar::ConnectPluginControl("/run/app/rocksdr.sock",
//                                                         std::chrono::seconds(5));
//   auto status = (*control)->Status();
//
// Behaviour:
//  - One connection, opened on the first call (or by ConnectPluginControl when connect_now) and
//    reused; the first request on it is "hello" (version check), and the server must run as our
//    uid or root (SO_PEERCRED), since we send it private keys.
//  - Every call is bounded: `timeout` for connect + one request/response, role changes
//    (enable/promote/demote/disable/update) `role_change_timeout` (they may wipe or reopen the DB).
//  - A broken connection is dropped and the next call reconnects; a connection the server closed
//    while idle is noticed before sending. A call whose request could not be written is retried
//    once on a fresh connection; so is a read-only or idempotent call (status, get, put, delete,
//    scan, ...) that finds a reused connection closed before any answer; a role change is not (its
//    outcome is then unknown: the error says so). A timed-out connection is closed (a late answer
//    must not be read as the next one's).
//  - No plugin at the path, or it does not answer: kUnavailable "plugin control socket <path> is
//    not answering: is the application running? (...)"; a timeout: kDeadlineExceeded.
//  - Errors the plugin reports come back with the plugin's code and message.
//
// Who may call: the sidecar, from any thread (calls are serialized by a mutex).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "rocksdr/sidecar/plugin_control.h"
#include "rocksdr/status.h"

namespace rocksdr::sidecar {

struct PluginControlClientOptions {
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
  std::chrono::milliseconds role_change_timeout{std::chrono::minutes(2)};
  // Connect (and hello) in ConnectPluginControl; false: on the first call.
  bool connect_now = true;
};

Result<std::unique_ptr<PluginControl>> ConnectPluginControl(const std::string& socket_path,
                                                            const PluginControlClientOptions& options);
// The same with role_change_timeout = max(timeout, 2 minutes).
Result<std::unique_ptr<PluginControl>> ConnectPluginControl(const std::string& socket_path,
                                                            std::chrono::milliseconds timeout);

}  // namespace rocksdr::sidecar
