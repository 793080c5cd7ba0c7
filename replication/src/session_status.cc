// See session_status.h.
#include "rocksdr/replication/session_status.h"

namespace rocksdr::replication {

std::string_view LinkStateName(LinkState s) {
  switch (s) {
    case LinkState::kHandshaking: return "handshaking";
    case LinkState::kBootstrapping: return "bootstrapping";
    case LinkState::kStreaming: return "streaming";
    case LinkState::kDisconnected: return "disconnected";
  }
  return "unknown";
}

std::string_view ClientStateName(ClientState s) {
  switch (s) {
    case ClientState::kConnecting: return "connecting";
    case ClientState::kHandshaking: return "handshaking";
    case ClientState::kBootstrapping: return "bootstrapping";
    case ClientState::kStreaming: return "streaming";
    case ClientState::kIdleWithError: return "idle-with-error";
    case ClientState::kStopped: return "stopped";
  }
  return "unknown";
}

}  // namespace rocksdr::replication
