// librocksdr's entry points: open or attach a RocksDB database under DR replication.
//
//   std::unique_ptr<rocksdr::ReplicatedDB> db;
//   rocksdr::Status s = rocksdr::Open(options, plugin_options, "/data/app", &db);
//   db->Put(rocksdb::WriteOptions(), "k", "v");   // a rocksdb::DB like any other
//
// A ReplicatedDB is a rocksdb::StackableDB. By role (rocksdr/role.h):
//  - disabled: every call is passed through to RocksDB unchanged;
//  - primary: writes are passed through, then tailers are woken; column-family create/drop and
//    external file ingestion are recorded in the WAL as in-band markers; writes RocksDB cannot
//    replicate are refused (disableWAL writes, DeleteFile, CreateColumnFamilyWithImport);
//  - secondary: every application read, write, iterator, snapshot, ingestion and column-family
//    change returns NotSupported("DR secondary: not serving requests until promoted ...")
//    (GetSnapshot returns nullptr, NewIterator an iterator whose status() says so).
// In every role the application cannot touch rocksdr's reserved column families (their handles
// are never returned by Open; batches that name them are refused), nor write LogData blobs
// that start with "rocksdr:" (they would be read as replication markers).
//
// Synchronous replication (PluginOptions ack_mode received / durable, README "Synchronous
// replication"): on a primary, a write that succeeded locally then waits until ack_count
// secondaries confirm its own batch. If they do not within ack_timeout_ms and ack_on_timeout is
// fail, the write returns rocksdb::Status::TimedOut whose message says "... is written on the
// primary but NOT confirmed by N secondar(y|ies) ...": the data IS in the primary's DB (and
// replicates when a secondary catches up), it is only not known to be on a secondary. The same
// code answers a waiting write when the primary stops serving (role change, close). With
// ack_on_timeout degrade the write returns OK and the DB runs async until the secondaries catch
// up (GetReplicationStatus().sync.degraded).
//
// External file ingestion on a primary forces every secondary to re-bootstrap from a checkpoint:
// ingested files are not in the WAL. The primary records an `ingest` marker before ingesting,
// and the WAL tailer answers "needs bootstrap: external file ingestion" when it reaches it.
//
// Refused at Open/Attach (each with a message naming the option and why):
// unordered_write, two_write_queues, manual_wal_flush, allow_2pc, and (Attach) a WAL retention
// smaller than PluginOptions asks. enable_pipelined_write is accepted: it still assigns
// sequence numbers and writes the WAL in one order, and publishes a sequence only after its
// WAL record is written, which is all the tailer relies on.
//
// Threading: as rocksdb::DB — every method may be called from any thread. Lifetimes: destroy
// the column family handles you got from Open before deleting the ReplicatedDB.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/utilities/object_registry.h>
#include <rocksdb/utilities/stackable_db.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rocksdr/options.h"
#include "rocksdr/replication_status.h"
#include "rocksdr/role.h"
#include "rocksdr/status.h"

namespace rocksdr {

class ReplicatedDB : public rocksdb::StackableDB {
 public:
  explicit ReplicatedDB(rocksdb::DB* db) : rocksdb::StackableDB(db) {}

  virtual Role role() const = 0;
  virtual uint64_t epoch() const = 0;
  virtual std::string cluster_id() const = 0;
  virtual const PluginOptions& plugin_options() const = 0;

  // A snapshot of the local replication state (see rocksdr/replication_status.h).
  virtual ReplicationStatus GetReplicationStatus() = 0;
};

// Opens `path` like rocksdb::DB::Open with column families, under replication.
// column_families must not name a reserved column family; the reserved ones are opened (or
// created) in addition and their handles are kept inside *db. *handles receives one handle per
// entry of column_families, in order. db_options.WAL_ttl_seconds / WAL_size_limit_MB are
// replaced by plugin_options' WAL retention, and the `rocksdr` EventListener is added.
// Errors: kInvalidArgument (bad plugin options, refused DB options, reserved names),
// kFailedPrecondition / kIOError / kCorruption ... from RocksDB (the message says which).
Status Open(const rocksdb::DBOptions& db_options, const PluginOptions& plugin_options,
            const std::string& path, const std::vector<rocksdb::ColumnFamilyDescriptor>& column_families,
            std::vector<rocksdb::ColumnFamilyHandle*>* handles, std::unique_ptr<ReplicatedDB>* db);

// The same for a DB that has only the default column family (plus rocksdr's reserved ones).
Status Open(const rocksdb::Options& options, const PluginOptions& plugin_options, const std::string& path,
            std::unique_ptr<ReplicatedDB>* db);

// Wraps a DB the application opened itself. `handles` are all the handles it opened; any of
// them that belongs to a reserved column family is taken over by *out (the application must
// not use or destroy it). Missing reserved column families are created. On success *out owns
// `db`; on failure the caller still owns it (and nothing was changed except, possibly, the
// creation of the reserved column families).
// Errors: as Open, plus kInvalidArgument when the DB's WAL retention is smaller than
// plugin_options asks (WAL_ttl_seconds / WAL_size_limit_MB cannot be changed on an open DB).
Status Attach(rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>& handles,
              const PluginOptions& plugin_options, std::unique_ptr<ReplicatedDB>* out);

// Registers rocksdr's RocksDB objects (the EventListener with id "rocksdr") in `library`.
// The signature is RocksDB's registrar type (ObjectLibrary::RegistrarFunc), so it can be
// passed to ObjectRegistry::AddLibrary. Returns the number of factories registered.
// ObjectLibrary::Default() is registered automatically on first use of Open/Attach and at
// static initialization; call RegisterObjects(*ObjectLibrary::Default(), "") yourself before
// loading an OPTIONS file that names `listeners={id=rocksdr}` if you never call Open.
int RegisterObjects(rocksdb::ObjectLibrary& library, const std::string& arg);

}  // namespace rocksdr
