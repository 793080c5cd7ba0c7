// The handshake rules of the replication protocol (PROTOCOL.md, "Handshake"), as pure functions so
// both sessions apply them identically and tests can cover every case without a socket:
//
//   secondary                                   primary
//   HELLO{versions, cluster, epoch, id, cursor} ──►  CheckHello: version, cluster id, epoch
//                                               ◄──  WELCOME{version, ..., DecideResume()}  or ERROR
//   CheckWelcome: version, cluster id, epoch
//
// Who may call: anyone, from any thread (pure functions).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rocksdr/replication/messages.h"
#include "rocksdr/status.h"

namespace rocksdr::replication {

// The highest version both ranges contain. If there is none: kFailedPrecondition whose message
// names both ranges and which side to upgrade.
Result<uint16_t> NegotiateVersion(uint16_t peer_min, uint16_t peer_max, uint16_t local_min = kMinProtocolVersion,
                                  uint16_t local_max = kProtocolVersion);

// The primary's verdict on a HELLO. If !status.ok(), the primary sends ERROR{code, status.message()}
// and closes; if code is kStaleEpoch the primary has learnt of a newer epoch and must also stop
// accepting writes (DESIGN.md invariant 4).
struct HelloVerdict {
  Status status;
  ErrorCode code = ErrorCode::kInternal;  // meaningful only if !status.ok()
  uint16_t version = 0;                   // the chosen protocol version if status.ok()
};

// Checks, in order: a common protocol version; the same cluster id; the secondary's epoch is not
// newer than the primary's (a secondary refuses an older primary, so the primary refuses first).
HelloVerdict CheckHello(const Hello& hello, std::string_view primary_cluster_id, uint64_t primary_epoch);

// The secondary's check of the WELCOME answering `hello`: the chosen version is in the range it
// offered; same cluster id; the primary's epoch is not older than the secondary's. On failure the
// secondary sends ERROR with *code and closes.
Status CheckWelcome(const Hello& hello, const Welcome& welcome, ErrorCode* code);

// What the primary knows of its WAL when a secondary connects.
struct PrimaryPosition {
  uint64_t epoch = 0;
  uint64_t latest_sequence = 0;          // DB::GetLatestSequenceNumber()
  uint64_t oldest_available_sequence = 0;  // the first sequence its WAL can still return; 0 if none
  std::string history;                   // the id of its history (Hello::history); "" = unknown
};

// STREAM or BOOTSTRAP for a secondary whose HELLO passed CheckHello. Bootstrap (with a reason the
// secondary shows in its status) when it has no cursor; its cursor belongs to another epoch's
// history (sequence numbers of different primaries are not comparable), or to another history of
// the same epoch (both sides know their history ids and they differ: two sites were promoted to
// that epoch); its cursor is ahead of the
// primary (diverged); or the WAL no longer holds cursor + 1. Otherwise stream from cursor + 1.
// The tailer may still find a gap later (wal-tailing-pitfalls.md): that is a bootstrap too.
// Fills every field of *welcome except version and cluster_id.
void DecideResume(const Hello& hello, const PrimaryPosition& primary, Welcome* welcome);

// Why a HELLO whose epoch equals the primary's still belongs to another history: both sides name
// their history (version >= 4, ids known) and the ids differ. nullopt when they match or either is
// unknown (data written before history ids existed: only the epoch can tell).
std::optional<std::string> ForeignHistoryReason(const Hello& hello, std::string_view primary_history);

}  // namespace rocksdr::replication
