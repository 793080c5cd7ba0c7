// The constructor of the Replicator runtime (replicator.cc) over a ManagedDb, for the other
// entry points than Replicator::Open (Replicator::Adopt in replicator_adopt.cc).
// Who may include: plugin/src only. Any thread.
#pragma once

#include <memory>

#include "managed_db.h"
#include "rocksdr/replicator.h"

namespace rocksdr::plugin {

// The runtime over `db`, with nothing started (no transport; the persisted role is not acted on).
std::unique_ptr<Replicator> NewReplicator(std::unique_ptr<ManagedDb> db, const ReplicatorOptions& options);

}  // namespace rocksdr::plugin
