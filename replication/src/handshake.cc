// Handshake rules: version negotiation, identity and epoch checks, STREAM vs BOOTSTRAP.
#include "rocksdr/replication/handshake.h"

#include <algorithm>

namespace rocksdr::replication {

namespace {
std::string Range(uint16_t lo, uint16_t hi) {
  return lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi);
}
}  // namespace

Result<uint16_t> NegotiateVersion(uint16_t peer_min, uint16_t peer_max, uint16_t local_min, uint16_t local_max) {
  uint16_t lo = std::max(peer_min, local_min);
  uint16_t hi = std::min(peer_max, local_max);
  if (peer_min <= peer_max && lo <= hi) return hi;
  std::string which = peer_min > local_max ? "upgrade this side" : "upgrade the peer";
  return Status::FailedPrecondition("no common replication protocol version: the peer speaks " +
                                    Range(peer_min, peer_max) + ", this side speaks " + Range(local_min, local_max) +
                                    "; " + which);
}

HelloVerdict CheckHello(const Hello& hello, std::string_view primary_cluster_id, uint64_t primary_epoch) {
  HelloVerdict v;
  Result<uint16_t> version = NegotiateVersion(hello.min_version, hello.max_version);
  if (!version.ok()) {
    v.status = version.status();
    v.code = ErrorCode::kUnsupportedVersion;
    return v;
  }
  if (hello.cluster_id != primary_cluster_id) {
    v.status = Status::FailedPrecondition("secondary '" + hello.secondary_id + "' belongs to cluster '" +
                                          hello.cluster_id + "', but this primary is cluster '" +
                                          std::string(primary_cluster_id) +
                                          "'; activate the secondary with a token from this primary");
    v.code = ErrorCode::kClusterMismatch;
    return v;
  }
  if (hello.epoch > primary_epoch) {
    v.status = Status::FailedPrecondition(
        "this primary's epoch " + std::to_string(primary_epoch) + " is older than secondary '" + hello.secondary_id +
        "''s epoch " + std::to_string(hello.epoch) +
        ": another site was promoted since; this primary must stop accepting writes and be demoted");
    v.code = ErrorCode::kStaleEpoch;
    return v;
  }
  v.version = version.value();
  return v;
}

Status CheckWelcome(const Hello& hello, const Welcome& welcome, ErrorCode* code) {
  if (welcome.version < hello.min_version || welcome.version > hello.max_version) {
    *code = ErrorCode::kUnsupportedVersion;
    return Status::FailedPrecondition("the primary chose protocol version " + std::to_string(welcome.version) +
                                      ", which this secondary did not offer (" +
                                      Range(hello.min_version, hello.max_version) + ")");
  }
  if (welcome.cluster_id != hello.cluster_id) {
    *code = ErrorCode::kClusterMismatch;
    return Status::FailedPrecondition("the primary belongs to cluster '" + welcome.cluster_id +
                                      "', but this secondary was activated for cluster '" + hello.cluster_id +
                                      "'; check secondary's primary address or re-activate it");
  }
  if (welcome.epoch < hello.epoch) {
    *code = ErrorCode::kStaleEpoch;
    return Status::FailedPrecondition("epoch " + std::to_string(welcome.epoch) +
                                      " is older than this secondary's epoch " + std::to_string(hello.epoch) +
                                      ": the primary was superseded by a promotion; point this secondary at the "
                                      "current primary (secondary/update-primary)");
  }
  return Status::OK();
}

std::optional<std::string> ForeignHistoryReason(const Hello& hello, std::string_view primary_history) {
  if (hello.history.empty() || primary_history.empty() || hello.history == primary_history) return std::nullopt;
  return "the secondary's position belongs to another history of epoch " + std::to_string(hello.epoch) +
         " (history " + hello.history + ", this primary's is " + std::string(primary_history) +
         "): two sites were promoted to the same epoch, and the secondary holds writes of the other one";
}

void DecideResume(const Hello& hello, const PrimaryPosition& primary, Welcome* welcome) {
  welcome->epoch = primary.epoch;
  welcome->primary_latest_sequence = primary.latest_sequence;
  welcome->stream_from_sequence = 0;
  welcome->bootstrap_reason.clear();
  welcome->mode = ResumeMode::kBootstrap;
  const uint64_t cursor = hello.last_applied_sequence;
  if (!hello.has_cursor) {
    welcome->bootstrap_reason = "the secondary has no replication position (first join, or its data was wiped)";
  } else if (hello.epoch != primary.epoch) {
    welcome->bootstrap_reason = "the secondary's position belongs to epoch " + std::to_string(hello.epoch) +
                                "'s history; this primary is at epoch " + std::to_string(primary.epoch);
  } else if (auto other = ForeignHistoryReason(hello, primary.history)) {
    welcome->bootstrap_reason = *other;
  } else if (cursor > primary.latest_sequence) {
    welcome->bootstrap_reason = "the secondary's position " + std::to_string(cursor) +
                                " is ahead of the primary's latest sequence " +
                                std::to_string(primary.latest_sequence) + ": the histories diverged";
  } else if (cursor < primary.latest_sequence &&
             (primary.oldest_available_sequence == 0 || cursor + 1 < primary.oldest_available_sequence)) {
    welcome->bootstrap_reason = "WAL gap: the secondary needs sequence " + std::to_string(cursor + 1) +
                                ", but the primary's WAL " +
                                (primary.oldest_available_sequence == 0
                                     ? std::string("holds no batch any more")
                                     : "starts at sequence " + std::to_string(primary.oldest_available_sequence));
  } else {
    welcome->mode = ResumeMode::kStream;
    welcome->stream_from_sequence = cursor + 1;
  }
}

}  // namespace rocksdr::replication
