// SecondaryClient: a DR secondary's replication link to its primary. Connects (mutual TLS 1.3,
// the primary's certificate verified against the replication CA and, by default, against the
// host name or IP it connects to), says HELLO (cluster id, epoch, secondary id, cursor), and
// then either streams — applying BATCHES through the BatchSink and ACKing what it applied and
// what is durable — or receives a bootstrap checkpoint into the sink first.
//
// Life cycle (SecondaryClientStatus::state, one ordered enum as in Redis's replica state):
//   connecting -> handshaking -> [bootstrapping] -> streaming
//        ^                                              |
//        +----- idle-with-error <-----------------------+  (any failure; backoff with jitter)
// Failures that retrying cannot fix halt the client in idle-with-error with `halted` set and the
// reason in last_error: the primary belongs to another cluster or an older epoch (a stream from
// a superseded primary is refused: ERROR + close), the primary refused us (revoked / not
// authorized / stale epoch / no common version), or the sink refused the stream (needs a
// bootstrap it may not take, corruption: nothing more is applied). A local storage failure of
// the sink (disk full: sink_retry.h) waits with the storage_retry backoff, calls
// BatchSink::Recover (until it succeeds, one attempt per delay) and reconnects; status says
// local_storage_failed, the error and the next attempt's time. Everything else (network
// errors, dead primary, malformed frames, primary restarts) reconnects after
// Backoff::NextDelay(), resuming from the sink's cursor.
//
// Every frame is checked before anything reaches the sink: batches must continue the cursor
// (cursor + 1; a mismatch is a protocol error and nothing is applied), bootstrap files must
// arrive in order, within their announced sizes, with matching CRC32C.
//
// Threads: one network thread owned by the client; the sink is called on it only. Public
// methods are thread-safe. Stop() (and the destructor) says GOODBYE, closes, and joins within
// about 1 s (plus a sink call in progress).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "rocksdr/replication/backoff.h"
#include "rocksdr/replication/batch_sink.h"
#include "rocksdr/replication/messages.h"
#include "rocksdr/replication/protocol_limits.h"
#include "rocksdr/replication/session_status.h"
#include "rocksdr/replication/tls_context.h"
#include "rocksdr/status.h"

namespace rocksdr::replication {

struct SecondaryClientOptions {
  // The cluster this secondary belongs to (from its activation bundle). Required.
  std::string cluster_id;
  // The epoch of the history this secondary holds. A primary with an older one is refused.
  // Default: 1.
  uint64_t epoch = 1;
  // This secondary's id; must match its certificate's CN (see PrimaryServerOptions). Required.
  std::string secondary_id;
  // The primary's replication address. Required.
  std::string primary_host;
  uint16_t primary_port = 0;
  // Client certificate + key + replication CA. Required.
  TlsCredentials tls;
  // Check that the primary's certificate names primary_host (DNS or IP SAN). Default: true.
  bool verify_primary_host = true;
  // Codec limits (max_frame_payload is announced in HELLO). Default: ProtocolLimits().
  ProtocolLimits limits;
  // Most unacknowledged bytes the primary may send us (announced in HELLO). Default: 64 MiB.
  // Min 64 KiB.
  uint64_t window_bytes = 64ull << 20;
  // TCP connect + TLS handshake + WELCOME must complete within this. Default: 5 s.
  std::chrono::milliseconds connect_timeout{5000};
  // No frame from the primary for this long means it is dead: reconnect. Must exceed the
  // primary's heartbeat interval. Default: 10 s.
  std::chrono::milliseconds dead_timeout{10000};
  // Reconnect delays. Default: BackoffOptions().
  BackoffOptions backoff;
  // Delays between attempts after a local storage failure (disk full), each preceded by
  // BatchSink::Recover. Default: 1 s doubling to 30 s.
  BackoffOptions storage_retry{std::chrono::milliseconds(1000), 2.0, std::chrono::milliseconds(30000)};
  // Randomness for the backoff jitter; nullptr = CSPRNG. For tests.
  Backoff::RandomFn random;
  // Highest protocol version offered in HELLO, within [kMinProtocolVersion, kProtocolVersion]:
  // to behave as an older build would during a mixed-version rollout, and for tests.
  // Default: kProtocolVersion.
  uint16_t max_protocol_version = kProtocolVersion;
};

class SecondaryClient {
 public:
  // Validates the options, builds the TLS context and starts connecting. `sink` must outlive
  // the client. Errors: kInvalidArgument.
  static Result<std::unique_ptr<SecondaryClient>> Start(SecondaryClientOptions options,
                                                        BatchSink* sink);
  ~SecondaryClient();
  SecondaryClient(const SecondaryClient&) = delete;
  SecondaryClient& operator=(const SecondaryClient&) = delete;

  SecondaryClientStatus GetStatus() const;

  // Bounded; idempotent.
  void Stop();

 private:
  class Impl;
  explicit SecondaryClient(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace rocksdr::replication
