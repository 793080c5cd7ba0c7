// Replicator::Adopt (rocksdr/replicator.h): the primary runtime over a DB the application opened
// itself — the LD_PRELOAD route (plugin/preload/). The runtime is the same as Replicator::Open's;
// the ManagedDb is in adopted mode, which refuses every operation that would reopen the DB or
// install a bootstrap into it (ManagedDb::CheckReopenable).
#include <filesystem>
#include <system_error>

#include "managed_db.h"
#include "replicator_factory.h"
#include "rocksdr/replicator.h"

namespace rocksdr {

Result<std::unique_ptr<Replicator>> Replicator::Adopt(std::unique_ptr<ReplicatedDB> db, const DbSpec& spec,
                                                      const ReplicatorOptions& options) {
  auto managed = plugin::ManagedDb::Adopt(spec, std::move(db));
  if (!managed.ok()) return managed.status();
  // Checkpoints of an earlier process are garbage (their streams died with it).
  std::error_code ec;
  std::filesystem::remove_all(ResolveStateDir(spec.plugin_options, spec.path) + "/checkpoints", ec);
  return plugin::NewReplicator(std::move(*managed), options);
}

}  // namespace rocksdr
