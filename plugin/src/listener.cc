// The `rocksdr` EventListener and its registration; see listener.h.
#include "listener.h"

#include <mutex>

#include "rocksdr/rocksdr.h"

namespace rocksdr {

int RegisterObjects(rocksdb::ObjectLibrary& library, const std::string& /*arg*/) {
  library.AddFactory<rocksdb::EventListener>(
      plugin::RocksdrListener::kClassName(),
      [](const std::string& /*uri*/, std::unique_ptr<rocksdb::EventListener>* guard,
         std::string* /*errmsg*/) {
        guard->reset(new plugin::RocksdrListener());
        return guard->get();
      });
  return 1;
}

namespace plugin {

namespace {

std::once_flag g_registered;

// Static registration for applications that load OPTIONS files before calling Open. The
// linker keeps this object file because Open/Attach call EnsureObjectsRegistered().
[[maybe_unused]] const bool g_static_registration = [] {
  EnsureObjectsRegistered();
  return true;
}();

}  // namespace

void EnsureObjectsRegistered() {
  std::call_once(g_registered, [] { RegisterObjects(*rocksdb::ObjectLibrary::Default(), ""); });
}

void RocksdrListener::OnExternalFileIngested(rocksdb::DB* /*db*/,
                                             const rocksdb::ExternalFileIngestionInfo& info) {
  events_->RecordIngestion(info.global_seqno);
}

void RocksdrListener::OnFlushCompleted(rocksdb::DB* /*db*/, const rocksdb::FlushJobInfo& /*info*/) {
  events_->RecordFlush();
}

void RocksdrListener::OnBackgroundError(rocksdb::BackgroundErrorReason reason, rocksdb::Status* bg_error) {
  if (bg_error == nullptr) return;
  const bool in_write_path =
      reason == rocksdb::BackgroundErrorReason::kWriteCallback || reason == rocksdb::BackgroundErrorReason::kMemTable;
  events_->RecordBackgroundError(bg_error->ToString(), bg_error->IsNoSpace(), in_write_path);
}

void RocksdrListener::OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) {
  if (info.new_bg_error.ok()) events_->RecordBackgroundError(std::string());
}

std::shared_ptr<RocksdrListener> FindRocksdrListener(const rocksdb::DBOptions& options) {
  for (const auto& l : options.listeners) {
    if (auto r = std::dynamic_pointer_cast<RocksdrListener>(l)) return r;
  }
  return nullptr;
}

}  // namespace plugin
}  // namespace rocksdr
