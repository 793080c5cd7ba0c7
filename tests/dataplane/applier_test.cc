// Tests of the secondary's Applier (plugin/src/applier.h) against real RocksDB primaries and
// secondaries: continuity, grouping, atomic cursor, markers, corruption, durability, crash resume.
#include "../../plugin/src/applier.h"

#include <gtest/gtest.h>
#include <rocksdb/write_batch.h>

#include <string>
#include <vector>

#include "support/rocksdb_test_db.h"

namespace rocksdr::plugin {
namespace {

using replication::WalBatch;
using testing::EncodeU64;
using testing::ReadWal;
using testing::TempDir;
using testing::TestDb;

std::unique_ptr<Applier> OpenApplier(TestDb& sec, ApplierOptions o = {}) {
  auto a = Applier::Open(sec.db(), sec.local(), sec.handles(), std::move(o));
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  return a.ok() ? std::move(*a) : nullptr;
}

// A fresh secondary that mirrors a fresh primary: cursor 0.
std::unique_ptr<Applier> FreshSecondary(TestDb& sec, ApplierOptions o = {}) {
  EXPECT_TRUE(Applier::WriteCursor(sec.db(), sec.local(), 0, true).ok());
  return OpenApplier(sec, std::move(o));
}

void WriteSome(TestDb& p, int from, int to) {
  for (int i = from; i < to; ++i) {
    rocksdb::WriteBatch wb;
    ASSERT_TRUE(wb.Put(p.cf("a"), "k" + std::to_string(i), "v" + std::to_string(i)).ok());
    if (i % 3 == 0) {
      ASSERT_TRUE(wb.Merge(p.cf("a"), "counter", EncodeU64(1)).ok());
    }
    if (i % 5 == 0) {
      ASSERT_TRUE(wb.Delete(p.cf("a"), "k" + std::to_string(i - 1)).ok());
    }
    ASSERT_TRUE(p.db()->Write(rocksdb::WriteOptions(), &wb).ok());
  }
}

uint32_t LocalId(TestDb& db) { return db.local()->GetID(); }

// Number of write batches in a DB's own WAL (= DB::Write calls that reached it).
size_t WalBatchCount(TestDb& db) {
  std::unique_ptr<rocksdb::TransactionLogIterator> it;
  EXPECT_TRUE(db.db()->GetUpdatesSince(1, &it).ok());
  size_t n = 0;
  for (; it->Valid(); it->Next()) ++n;
  return n;
}

class ApplierTest : public ::testing::Test {
 protected:
  TempDir dir_;
  TestDb primary_{dir_.Sub("primary"), {"a"}};
  TestDb secondary_{dir_.Sub("secondary"), {"a"}};
};

TEST_F(ApplierTest, AppliesAContiguousStreamAndPersistsTheCursor) {
  WriteSome(primary_, 0, 100);
  auto batches = ReadWal(primary_.db(), 1, LocalId(primary_));
  ASSERT_EQ(batches.size(), 100u);
  auto a = FreshSecondary(secondary_);
  ASSERT_TRUE(a->Apply(std::vector<WalBatch>(batches.begin(), batches.begin() + 40)).ok());
  EXPECT_EQ(a->applied_sequence(), batches[39].last_sequence());
  ASSERT_TRUE(a->Apply(std::vector<WalBatch>(batches.begin() + 40, batches.end())).ok());
  const uint64_t last = primary_.db()->GetLatestSequenceNumber();
  EXPECT_EQ(a->applied_sequence(), last);
  EXPECT_EQ(a->durable_sequence(), last);
  auto c = a->cursor();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, std::optional<uint64_t>(last));
  EXPECT_EQ(secondary_.Dump("a"), primary_.Dump("a"));
  EXPECT_FALSE(secondary_.Dump("a").empty());
  // Reopening the secondary keeps the position.
  a.reset();
  secondary_.Reopen();
  a = OpenApplier(secondary_);
  EXPECT_EQ(a->applied_sequence(), last);
}

TEST_F(ApplierTest, RefusesGapsAndDuplicatesAndAppliesNothingOfThatCall) {
  WriteSome(primary_, 0, 10);
  auto b = ReadWal(primary_.db(), 1, LocalId(primary_));
  auto a = FreshSecondary(secondary_);
  Status s = a->Apply({b[1]});  // gap: expected 1
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("expected sequence 1, got " + std::to_string(b[1].sequence)), std::string::npos)
      << s.message();
  s = a->Apply({b[0], b[2]});  // gap inside the call: b[0] must not be applied either
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_TRUE(secondary_.Dump("a").empty());
  EXPECT_EQ(a->applied_sequence(), std::optional<uint64_t>(0));
  ASSERT_TRUE(a->Apply({b[0], b[1]}).ok());
  EXPECT_EQ(a->Apply({b[1]}).code(), Code::kFailedPrecondition);  // duplicate
  EXPECT_EQ(a->Apply({b[0]}).code(), Code::kFailedPrecondition);  // older
  ASSERT_TRUE(a->Apply({b[2]}).ok());
  EXPECT_FALSE(a->needs_bootstrap());
}

TEST_F(ApplierTest, WithoutACursorItNeedsBootstrap) {
  WriteSome(primary_, 0, 2);
  auto b = ReadWal(primary_.db(), 1, LocalId(primary_));
  auto a = OpenApplier(secondary_);
  EXPECT_EQ(a->applied_sequence(), std::nullopt);
  auto c = a->cursor();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, std::nullopt);
  Status s = a->Apply({b[0]});
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(s.message().rfind("needs bootstrap:", 0), 0u) << s.message();
  EXPECT_TRUE(secondary_.Dump("a").empty());
}

TEST_F(ApplierTest, CorruptRepsAreRefusedWithNothingApplied) {
  WriteSome(primary_, 0, 3);
  auto b = ReadWal(primary_.db(), 1, LocalId(primary_));
  auto a = FreshSecondary(secondary_);
  std::vector<WalBatch> bad_cases;
  WalBatch shorty = b[1];
  shorty.rep.resize(7);
  bad_cases.push_back(shorty);
  WalBatch truncated = b[1];
  truncated.rep.pop_back();
  bad_cases.push_back(truncated);
  WalBatch miscounted = b[1];  // header says fewer records than present
  miscounted.rep[8] = static_cast<char>(miscounted.rep[8] - 1);
  bad_cases.push_back(miscounted);
  WalBatch overcounted = b[1];  // header count larger than the sequences the batch covers
  overcounted.rep[8] = static_cast<char>(overcounted.rep[8] + 5);
  bad_cases.push_back(overcounted);
  WalBatch bad_tag = b[1];
  bad_tag.rep[12] = static_cast<char>(0x7f);
  bad_cases.push_back(bad_tag);
  WalBatch bad_marker = b[1];
  {
    rocksdb::WriteBatch wb(b[1].rep);
    ASSERT_TRUE(wb.PutLogData("rocksdr:cf-create:x:y").ok());
    bad_marker.rep = wb.Data();
  }
  bad_cases.push_back(bad_marker);
  for (const WalBatch& bad : bad_cases) {
    Status s = a->Apply({b[0], bad, b[2]});
    EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
    EXPECT_TRUE(secondary_.Dump("a").empty());
    EXPECT_EQ(a->applied_sequence(), std::optional<uint64_t>(0));
  }
  ASSERT_TRUE(a->Apply(b).ok());
  EXPECT_EQ(secondary_.Dump("a"), primary_.Dump("a"));
}

TEST_F(ApplierTest, RecordsForTheLocalColumnFamilyAreRefused) {
  rocksdb::WriteBatch wb;
  ASSERT_TRUE(wb.Put(primary_.local(), "cursor", EncodeU64(999)).ok());
  WalBatch evil{1, 1, wb.Data()};
  auto a = FreshSecondary(secondary_);
  Status s = a->Apply({evil});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("node-local"), std::string::npos);
  EXPECT_EQ(*a->cursor(), std::optional<uint64_t>(0));
}

TEST_F(ApplierTest, LogDataOnlyBatchSharesTheNextSequence) {
  WriteSome(primary_, 0, 2);
  auto b = ReadWal(primary_.db(), 1, LocalId(primary_));
  rocksdb::WriteBatch note;
  ASSERT_TRUE(note.PutLogData("application note").ok());
  WalBatch logdata{b[1].sequence, 0, note.Data()};
  auto a = FreshSecondary(secondary_);
  ASSERT_TRUE(a->Apply({b[0], logdata, b[1]}).ok());
  EXPECT_EQ(a->applied_sequence(), b[1].last_sequence());
  // Alone, a count-0 batch at cursor+1 is accepted and does not move the cursor.
  rocksdb::WriteBatch note2;
  ASSERT_TRUE(note2.PutLogData("x").ok());
  ASSERT_TRUE(a->Apply({WalBatch{b[1].next_sequence(), 0, note2.Data()}}).ok());
  EXPECT_EQ(a->applied_sequence(), b[1].last_sequence());
}

TEST_F(ApplierTest, GroupsConsecutiveBatchesIntoOneWriteBoundedByBytes) {
  WriteSome(primary_, 0, 200);
  auto b = ReadWal(primary_.db(), 1, LocalId(primary_));
  {
    auto a = FreshSecondary(secondary_);
    const size_t before = WalBatchCount(secondary_);
    ASSERT_TRUE(a->Apply(b).ok());
    EXPECT_EQ(WalBatchCount(secondary_) - before, 1u);  // one write for 200 batches
  }
  TestDb small(dir_.Sub("small"), {"a"});
  ApplierOptions o;
  o.max_group_bytes = 1000;
  auto a = FreshSecondary(small, o);
  const size_t before = WalBatchCount(small);
  ASSERT_TRUE(a->Apply(b).ok());
  size_t body = 0;
  for (auto& x : b) body += x.rep.size() - 12;
  const size_t writes = WalBatchCount(small) - before;
  EXPECT_GE(writes, body / 1000);
  EXPECT_LE(writes, body / 1000 * 2 + 2);
  EXPECT_EQ(small.Dump("a"), primary_.Dump("a"));
}

TEST_F(ApplierTest, DurabilityFollowsSyncOption) {
  WriteSome(primary_, 0, 5);
  auto b = ReadWal(primary_.db(), 1, LocalId(primary_));
  ApplierOptions o;
  o.sync = false;
  auto a = FreshSecondary(secondary_, o);
  ASSERT_TRUE(a->Apply(b).ok());
  EXPECT_EQ(a->applied_sequence(), b.back().last_sequence());
  EXPECT_EQ(a->durable_sequence(), std::optional<uint64_t>(0));
  ASSERT_TRUE(a->SyncWal().ok());
  EXPECT_EQ(a->durable_sequence(), b.back().last_sequence());
}

TEST_F(ApplierTest, ColumnFamilyMarkersCreateAndDropInOrder) {
  WriteSome(primary_, 0, 3);
  rocksdb::ColumnFamilyHandle* nh = primary_.CreateCfWithMarker("new");
  ASSERT_TRUE(primary_.db()->Put(rocksdb::WriteOptions(), nh, "x", "1").ok());
  ASSERT_TRUE(primary_.db()->Merge(rocksdb::WriteOptions(), nh, "c", EncodeU64(5)).ok());
  primary_.DropCfWithMarker("a");
  auto b = ReadWal(primary_.db(), 1, LocalId(primary_));
  auto a = FreshSecondary(secondary_);
  // Apply up to and including the create marker; check the CF exists with the primary's id.
  ASSERT_TRUE(a->Apply({b[0], b[1], b[2], b[3]}).ok());
  EXPECT_EQ(a->applied_sequence(), b[3].last_sequence());
  ASSERT_EQ(a->created_column_families().size(), 1u);
  EXPECT_EQ(a->created_column_families()[0]->GetID(), nh->GetID());
  EXPECT_EQ(a->created_column_families()[0]->GetName(), "new");
  ASSERT_TRUE(a->Apply(std::vector<WalBatch>(b.begin() + 4, b.end())).ok());
  EXPECT_EQ(a->applied_sequence(), primary_.db()->GetLatestSequenceNumber());
  a.reset();
  secondary_.Reopen();
  EXPECT_EQ(secondary_.cf("a"), nullptr);  // dropped
  ASSERT_NE(secondary_.cf("new"), nullptr);
  EXPECT_EQ(secondary_.cf("new")->GetID(), nh->GetID());
  EXPECT_EQ(secondary_.Dump("new"), primary_.Dump("new"));
  // Replaying the markers after a crash before their cursor was persisted is harmless.
  ASSERT_TRUE(Applier::WriteCursor(secondary_.db(), secondary_.local(), b[2].last_sequence(), true).ok());
  a = OpenApplier(secondary_);
  ASSERT_TRUE(a->Apply({b[3]}).ok());
  EXPECT_FALSE(a->needs_bootstrap());
}

TEST_F(ApplierTest, ColumnFamilyIdMismatchNeedsBootstrap) {
  // The secondary once had another CF: its next id is ahead of the primary's.
  rocksdb::ColumnFamilyHandle* stray = nullptr;
  ASSERT_TRUE(secondary_.db()->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "stray", &stray).ok());
  ASSERT_TRUE(secondary_.db()->DropColumnFamily(stray).ok());
  ASSERT_TRUE(secondary_.db()->DestroyColumnFamilyHandle(stray).ok());
  primary_.CreateCfWithMarker("new");
  auto b = ReadWal(primary_.db(), 1, LocalId(primary_));
  auto a = FreshSecondary(secondary_);
  Status s = a->Apply(b);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(s.message().rfind("needs bootstrap:", 0), 0u) << s.message();
  ASSERT_TRUE(a->needs_bootstrap());
  EXPECT_TRUE(a->created_column_families().empty());
  EXPECT_EQ(a->applied_sequence(), std::optional<uint64_t>(0));
  EXPECT_EQ(a->Apply(b).code(), Code::kFailedPrecondition);  // sticky
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir_.Sub("secondary"), &names).ok());
  EXPECT_EQ(std::count(names.begin(), names.end(), "new"), 0);  // the wrong-id CF was removed
}

TEST_F(ApplierTest, DataForAnUnknownColumnFamilyNeedsBootstrap) {
  // Created on the primary without a marker: the secondary cannot know it.
  rocksdb::ColumnFamilyHandle* h = nullptr;
  ASSERT_TRUE(primary_.db()->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "unshipped", &h).ok());
  ASSERT_TRUE(primary_.db()->Put(rocksdb::WriteOptions(), h, "k", "v").ok());
  ASSERT_TRUE(primary_.db()->DestroyColumnFamilyHandle(h).ok());
  auto b = ReadWal(primary_.db(), 1, LocalId(primary_));
  auto a = FreshSecondary(secondary_);
  Status s = a->Apply(b);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("does not have"), std::string::npos) << s.message();
}

TEST_F(ApplierTest, IngestMarkerStopsAfterWhatPrecedes) {
  WriteSome(primary_, 0, 3);
  Marker m;
  m.kind = MarkerKind::kIngest;
  m.id = primary_.cf("a")->GetID();
  m.count = 2;
  primary_.WriteMarker(m);
  WriteSome(primary_, 3, 5);
  auto b = ReadWal(primary_.db(), 1, LocalId(primary_));
  auto a = FreshSecondary(secondary_);
  Status s = a->Apply(b);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("needs bootstrap: external file ingestion on the primary"), std::string::npos)
      << s.message();
  EXPECT_EQ(a->applied_sequence(), b[2].last_sequence());
  EXPECT_EQ(*a->cursor(), std::optional<uint64_t>(b[2].last_sequence()));
  EXPECT_TRUE(a->needs_bootstrap());
  EXPECT_EQ(a->Apply({b[4]}).code(), Code::kFailedPrecondition);
}

TEST_F(ApplierTest, EpochMarkersAreRecordedAndOlderEpochsRefused) {
  Marker e;
  e.kind = MarkerKind::kEpoch;
  e.id = 3;
  e.name = "cluster-1";
  e.history = "history-3";
  primary_.WriteMarker(e);
  WriteSome(primary_, 0, 2);
  e.id = 2;
  primary_.WriteMarker(e);
  auto b = ReadWal(primary_.db(), 1, LocalId(primary_));
  auto a = FreshSecondary(secondary_);
  ASSERT_TRUE(a->Apply({b[0], b[1]}).ok());
  EXPECT_EQ(a->epoch(), std::optional<uint64_t>(3));
  // The marker's history id is recorded with the epoch (sent in the next HELLO).
  std::string history;
  ASSERT_TRUE(secondary_.db()->Get(rocksdb::ReadOptions(), secondary_.local(), std::string(kLocalKeyHistory), &history).ok());
  EXPECT_EQ(history, "history-3");
  a.reset();
  a = OpenApplier(secondary_);  // persisted
  EXPECT_EQ(a->epoch(), std::optional<uint64_t>(3));
  Status s = a->Apply({b[2], b[3]});
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("older"), std::string::npos) << s.message();
  EXPECT_EQ(a->applied_sequence(), b[1].last_sequence());  // b[2] not applied either
}

TEST_F(ApplierTest, ResumesExactlyAfterReopen) {
  // Merge counters expose any duplicate or lost batch.
  for (int i = 0; i < 500; ++i) {
    rocksdb::WriteBatch wb;
    ASSERT_TRUE(wb.Merge(primary_.cf("a"), "n" + std::to_string(i % 7), EncodeU64(i)).ok());
    ASSERT_TRUE(primary_.db()->Write(rocksdb::WriteOptions(), &wb).ok());
  }
  auto b = ReadWal(primary_.db(), 1, LocalId(primary_));
  ApplierOptions o;
  o.max_group_bytes = 512;
  auto a = FreshSecondary(secondary_, o);
  size_t done = 0;
  for (size_t step : {37u, 1u, 100u, 62u, 300u}) {
    ASSERT_TRUE(a->Apply(std::vector<WalBatch>(b.begin() + done, b.begin() + done + step)).ok());
    done += step;
    a.reset();
    secondary_.Reopen();
    a = OpenApplier(secondary_, o);
    ASSERT_EQ(a->applied_sequence(), b[done - 1].last_sequence());
  }
  EXPECT_EQ(secondary_.Dump("a"), primary_.Dump("a"));
}

}  // namespace
}  // namespace rocksdr::plugin

// ---------------------------------------------------------------------------------------------
// Crash test: a child process (this binary, re-executed) applies a stream and is killed with
// SIGKILL at a random moment; the parent reopens the secondary and checks that it holds exactly
// the batches up to its persisted cursor (merge counters expose a lost or duplicated batch).

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>
#include <random>
#include <thread>

extern char** environ;

namespace rocksdr::plugin {
namespace {

void SaveBatches(const std::string& path, const std::vector<WalBatch>& batches) {
  std::ofstream out(path, std::ios::binary);
  for (const auto& b : batches) {
    out << testing::EncodeU64(b.sequence) << testing::EncodeU64(b.count) << testing::EncodeU64(b.rep.size()) << b.rep;
  }
}

std::vector<WalBatch> LoadBatches(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), {});
  std::vector<WalBatch> out;
  for (size_t p = 0; p + 24 <= all.size();) {
    WalBatch b;
    b.sequence = testing::DecodeU64(rocksdb::Slice(all.data() + p, 8));
    b.count = static_cast<uint32_t>(testing::DecodeU64(rocksdb::Slice(all.data() + p + 8, 8)));
    const size_t n = testing::DecodeU64(rocksdb::Slice(all.data() + p + 16, 8));
    b.rep = all.substr(p + 24, n);
    p += 24 + n;
    out.push_back(std::move(b));
  }
  return out;
}

// Runs before main() in the child: applies the saved stream from the cursor on, then exits.
const bool kCrashChild = [] {
  const char* dir = std::getenv("ROCKSDR_APPLIER_CRASH_CHILD");
  if (dir == nullptr) return false;
  const std::string d(dir);
  const std::vector<WalBatch> batches = LoadBatches(d + "/stream");
  TestDb sec(d + "/secondary", {"a"});
  ApplierOptions o;
  o.max_group_bytes = 300;
  auto a = Applier::Open(sec.db(), sec.local(), sec.handles(), o);
  if (!a.ok()) std::_Exit(2);
  size_t i = 0;
  while (i < batches.size() && batches[i].sequence <= *(*a)->applied_sequence()) ++i;
  for (; i < batches.size(); i += 7) {
    const size_t end = std::min(batches.size(), i + 7);
    if (!(*a)->Apply(std::vector<WalBatch>(batches.begin() + i, batches.begin() + end)).ok()) std::_Exit(3);
  }
  std::_Exit(0);
}();

TEST(ApplierCrash, KilledMidStreamResumesExactlyAfterTheCursor) {
  TempDir dir;
  std::vector<WalBatch> batches;
  std::map<std::string, std::string> final_state;
  {
    TestDb primary(dir.Sub("primary"), {"a"});
    for (int i = 0; i < 20000; ++i) {
      rocksdb::WriteBatch wb;
      ASSERT_TRUE(wb.Merge(primary.cf("a"), "n" + std::to_string(i % 7), EncodeU64(1)).ok());
      ASSERT_TRUE(wb.Put(primary.cf("a"), "last" + std::to_string(i % 3), std::to_string(i)).ok());
      ASSERT_TRUE(primary.db()->Write(rocksdb::WriteOptions(), &wb).ok());
    }
    batches = ReadWal(primary.db(), 1, LocalId(primary));
    final_state = primary.Dump("a");
  }
  SaveBatches(dir.Sub("stream"), batches);
  // A fresh secondary at cursor 0 (again when a child applied the whole stream before any kill
  // landed mid-stream).
  auto fresh_secondary = [&] {
    std::filesystem::remove_all(dir.Sub("secondary"));
    TestDb sec(dir.Sub("secondary"), {"a"});
    return Applier::WriteCursor(sec.db(), sec.local(), 0, true).ok();
  };
  ASSERT_TRUE(fresh_secondary());
  std::mt19937 rng(12345);
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::string env = "ROCKSDR_APPLIER_CRASH_CHILD=" + dir.path();
  uint64_t previous = 0;
  int kills = 0;  // kills that landed mid-stream: the child had applied some batches, not all
  // The kill comes after a random delay below max_ms, adapted to this machine's speed: a child
  // that finished shortens the range, one killed before it applied anything lengthens it (a
  // fast machine applies the whole stream in well under 300 ms; a sanitizer build needs longer).
  uint64_t max_ms = 400;
  const uint64_t last = batches.back().last_sequence();
  for (int round = 0; round < 8; ++round) {
    if (previous == last) {
      if (kills > 0) break;
      ASSERT_TRUE(fresh_secondary());
      previous = 0;
    }
    char* argv[] = {self.data(), nullptr};
    char* envp[] = {env.data(), nullptr};
    pid_t pid = 0;
    ASSERT_EQ(::posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv, envp), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(2 + rng() % max_ms));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    const bool killed = WIFSIGNALED(status);
    if (!killed) {
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child failed with " << status;
    }
    // The secondary holds exactly the batches <= cursor.
    TestDb sec(dir.Sub("secondary"), {"a"});
    auto a = OpenApplier(sec);
    const uint64_t cursor = *a->applied_sequence();
    EXPECT_GE(cursor, previous);
    if (killed && cursor > previous && cursor < last) ++kills;
    if (!killed || cursor == last) {
      max_ms = std::max<uint64_t>(4, max_ms / 3);
    } else if (cursor == previous) {
      max_ms = std::min<uint64_t>(20000, max_ms * 2);
    }
    previous = cursor;
    std::printf("round %d: cursor %llu of %llu\n", round, static_cast<unsigned long long>(cursor),
                static_cast<unsigned long long>(batches.back().last_sequence()));
    std::map<std::string, uint64_t> want;
    for (const auto& b : batches) {
      if (b.last_sequence() > cursor) break;
      EXPECT_LE(b.last_sequence(), cursor);
      ++want["n" + std::to_string((b.sequence / 2) % 7)];  // batch i has sequence 2i+1
    }
    for (const auto& [k, n] : want) {
      std::string v;
      ASSERT_TRUE(sec.db()->Get(rocksdb::ReadOptions(), sec.cf("a"), k, &v).ok());
      EXPECT_EQ(testing::DecodeU64(v), n) << k << " at cursor " << cursor;
    }
  }
  EXPECT_GT(kills, 0) << "no kill landed mid-stream (the child finished first, or had not started); the test proved nothing";
  TestDb sec(dir.Sub("secondary"), {"a"});
  auto a = OpenApplier(sec);
  std::vector<WalBatch> rest;
  for (const auto& b : batches) {
    if (b.sequence > *a->applied_sequence()) rest.push_back(b);
  }
  ASSERT_TRUE(a->Apply(rest).ok());
  EXPECT_EQ(sec.Dump("a"), final_state);
}

}  // namespace
}  // namespace rocksdr::plugin
