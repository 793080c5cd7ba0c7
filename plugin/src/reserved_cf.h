// rocksdr's reserved column families inside the protected DB, and the keys it keeps there.
// The application never sees or writes them (the DB wrapper hides and fences them).
//
//  kReplicatedCf  shipped to secondaries like any application CF: the sidecar's keyring, token
//                 store and secondary registry (so a DR secondary holds an exact replica).
//  kLocalCf       node-local, NEVER shipped (the tailer drops its records): the applied cursor,
//                 role, epoch, cluster id, activation credentials.
//
// Who may include: plugin/src only.
#pragma once

#include <string_view>

namespace rocksdr::plugin {

inline constexpr std::string_view kReplicatedCf = "__rocksdr_replicated";
inline constexpr std::string_view kLocalCf = "__rocksdr_local";

// Keys of kLocalCf. Values are documented next to their writers.
inline constexpr std::string_view kLocalKeyCursor = "cursor";        // fixed64 LE: last primary seq applied
inline constexpr std::string_view kLocalKeyRole = "role";            // "disabled" | "primary" | "secondary"
inline constexpr std::string_view kLocalKeyEpoch = "epoch";          // fixed64 LE
inline constexpr std::string_view kLocalKeyClusterId = "cluster_id"; // text (UUID)
// Present while a superseded primary's write fence holds (text: the reason). Written when the
// fence is set, deleted with every role change and by an operator re-enable, so a fenced primary
// that restarts stays fenced (invariant 4) instead of taking writes at its old epoch.
inline constexpr std::string_view kLocalKeyFence = "fence";
// The id of the history this node's data belongs to (text, a UUID): written with the epoch marker
// by the primary that starts a history (SetRole), by the applier when it applies such a marker,
// and kept from the checkpoint by a bootstrap install. Sent in HELLO, so two sites promoted to the
// same epoch do not take each other's positions for their own (PROTOCOL.md "Handshake" 5).
inline constexpr std::string_view kLocalKeyHistory = "history";

// Key prefixes of kLocalCf owned by this node's sidecar ("sidecar/": activation credentials,
// DR operation-token state) and control socket ("control/": allowed secondaries, the followed
// primary). A bootstrap install carries them over (DbSink::CommitBootstrap): they describe this
// node, not the primary whose checkpoint replaces the data.
inline constexpr std::string_view kLocalSidecarPrefix = "sidecar/";
inline constexpr std::string_view kLocalControlPrefix = "control/";
// "registry" while the primary's server checks secondaries against the persisted allowed list
// (control/allowed_secondaries) — set by BecomePrimary/Promote with an authorize callback, so a
// restarted primary keeps refusing ids outside the list; absent: any certificate of the CA.
inline constexpr std::string_view kLocalKeyPrimaryAuthorization = "control/primary_authorization";

// Prefix of rocksdr's in-band PutLogData markers in the WAL (column-family create/drop, epoch,
// ingestion). See replication/PROTOCOL.md.
inline constexpr std::string_view kMarkerPrefix = "rocksdr:";

}  // namespace rocksdr::plugin
