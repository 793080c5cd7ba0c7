// librocksdr_preload.so's entry points: replacements for both rocksdb::DB::Open overloads.
// Loaded with LD_PRELOAD, these definitions come before librocksdb's in symbol lookup, so an
// unmodified application's DB::Open lands here. The real functions are found with
// dlsym(RTLD_NEXT, <mangled name>).
//
// Re-entry: RocksDB's 3-argument Open calls the 5-argument one through the PLT (so it lands
// here again), and rocksdr's own code (rocksdr::Open) calls DB::Open too. A thread_local guard
// (ReentryGuard) sends every nested call straight to the real function.
//
// Not interposed (documented in the README): TransactionDB::Open, OptimisticTransactionDB::Open,
// DB::OpenForReadOnly, DB::OpenAsSecondary, DBWithTTL::Open — they do not go through DB::Open.
#include <dlfcn.h>
#include <rocksdb/db.h>

#include <string>
#include <vector>

#include "preload_attach.h"
#include "preloaded_db.h"

namespace {

using rocksdr::preload::Decision;
using rocksdr::preload::RealOpen5;
using rocksdr::preload::ReentryGuard;

using RealOpen3 = rocksdb::Status (*)(const rocksdb::Options&, const std::string&, rocksdb::DB**);

constexpr char kOpen3[] =
    "_ZN7rocksdb2DB4OpenERKNS_7OptionsERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEEPPS0_";
constexpr char kOpen5[] =
    "_ZN7rocksdb2DB4OpenERKNS_9DBOptionsERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEERKSt6vectorINS_"
    "22ColumnFamilyDescriptorESaISD_EEPSC_IPNS_18ColumnFamilyHandleESaISJ_EEPPS0_";

template <typename Fn>
Fn Real(const char* symbol) {
  // RTLD_NEXT: the next definition after this library — librocksdb's. Looked up on every call
  // (cheap next to opening a DB) so that no static state is touched before main.
  return reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, symbol));
}

rocksdb::Status Missing(const char* symbol) {
  const char* err = ::dlerror();
  rocksdr::preload::Log(std::string("ERROR: the real rocksdb::DB::Open (") + symbol +
                        ") was not found: " + (err ? err : "no librocksdb loaded after the preload"));
  return rocksdb::Status::NotSupported("rocksdr preload: the real rocksdb::DB::Open was not found",
                                       "is the application linked with librocksdb.so.7.8?");
}

}  // namespace

namespace rocksdb {

Status DB::Open(const DBOptions& db_options, const std::string& name,
                const std::vector<ColumnFamilyDescriptor>& column_families, std::vector<ColumnFamilyHandle*>* handles,
                DB** dbptr) {
  const RealOpen5 real = Real<RealOpen5>(kOpen5);
  if (real == nullptr) return Missing(kOpen5);
  if (ReentryGuard::active()) return real(db_options, name, column_families, handles, dbptr);
  ReentryGuard guard;
  Status refusal;
  switch (rocksdr::preload::Decide(name, &refusal)) {
    case Decision::kPassThrough: return real(db_options, name, column_families, handles, dbptr);
    case Decision::kRefuse: return refusal;
    case Decision::kAttach: break;
  }
  return rocksdr::preload::AttachOnOpen(db_options, name, column_families, handles, dbptr, real);
}

Status DB::Open(const Options& options, const std::string& name, DB** dbptr) {
  const RealOpen3 real = Real<RealOpen3>(kOpen3);
  if (real == nullptr) return Missing(kOpen3);
  if (ReentryGuard::active()) return real(options, name, dbptr);
  Status refusal;
  switch (rocksdr::preload::Decide(name, &refusal)) {
    case Decision::kPassThrough: return real(options, name, dbptr);  // its nested 5-argument call passes through
    case Decision::kRefuse: return refusal;
    case Decision::kAttach: break;
  }
  // What RocksDB's own 3-argument Open does, through the 5-argument route above.
  const DBOptions db_options(options);
  const ColumnFamilyOptions cf_options(options);
  std::vector<ColumnFamilyDescriptor> column_families = {ColumnFamilyDescriptor(kDefaultColumnFamilyName, cf_options)};
  if (db_options.persist_stats_to_disk) {
    column_families.emplace_back(kPersistentStatsColumnFamilyName, cf_options);
  }
  std::vector<ColumnFamilyHandle*> handles;
  Status s = DB::Open(db_options, name, column_families, &handles, dbptr);
  if (s.ok()) {
    // The DB keeps its own reference to every column family; the handles are not needed.
    for (auto* h : handles) delete h;
  }
  return s;
}

}  // namespace rocksdb
