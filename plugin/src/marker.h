// In-band markers: events that RocksDB does not put in the WAL (column-family create/drop, external
// file ingestion) and rocksdr's own history events (epoch changes) are written by the primary into
// its WAL, in order, as a dedicated write batch:
//
//   marker batch := PutLogData("rocksdr:" <kind> ":" <payload>) + Put(kLocalCf, "marker", <seq>)
//
// The Put into the node-local CF (dropped by the tailer before shipping) gives the batch Count 1, so
// the marker owns one sequence number of its own and continuity stays `sequence + count`.
// Kinds and payloads (text, fields separated by ':'; names may not contain ':' — they are
// percent-encoded by EncodeMarker):
//   cf-create:<cf id>:<cf name>   a column family was created with this id (ids follow creation order)
//   cf-drop:<cf id>:<cf name>     a column family was dropped
//   ingest:<cf id>:<file count>   files were ingested (not in the WAL): secondaries re-bootstrap
//   epoch:<epoch>:<cluster id>[:<history id>]
//                                 a new history starts (promotion); the first record of that history.
//                                 The history id (printable ASCII, at most 64 bytes) names it apart
//                                 from another site's promotion to the same epoch; markers written
//                                 before history ids existed have none
//
// Who may include: plugin/src only. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "rocksdr/status.h"

namespace rocksdr::plugin {

enum class MarkerKind { kCfCreate, kCfDrop, kIngest, kEpoch };

struct Marker {
  MarkerKind kind = MarkerKind::kCfCreate;
  uint64_t id = 0;        // cf id (cf-create, cf-drop, ingest) or epoch (epoch)
  std::string name;       // cf name (cf-create, cf-drop) or cluster id (epoch)
  uint64_t count = 0;     // file count (ingest)
  std::string history;    // the new history's id (epoch; "" = none)
};

// The LogData blob for `m`, starting with kMarkerPrefix.
std::string EncodeMarker(const Marker& m);

// Parses a LogData blob. Blobs that do not start with kMarkerPrefix are not ours: returns
// kNotFound (callers ignore them). A blob with our prefix that does not parse is kCorruption.
Result<Marker> DecodeMarker(std::string_view blob);

}  // namespace rocksdr::plugin
