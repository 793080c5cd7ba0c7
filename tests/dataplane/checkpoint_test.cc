// Tests of bootstrap checkpoints: creation on the primary (plugin/src/checkpoint_source.h) and
// installation on a secondary (plugin/src/checkpoint_installer.h), including validation of what is
// received and recovery of every crash point of the install.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "../../plugin/src/checkpoint_installer.h"
#include "../../plugin/src/checkpoint_source.h"
#include "rocksdr/replication/crc32c.h"
#include "support/rocksdb_test_db.h"

namespace rocksdr::plugin {
namespace {

using testing::EncodeU64;
using testing::TempDir;
using testing::TestDb;
namespace fs = std::filesystem;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

InstallerOptions Opts() {
  InstallerOptions o;
  o.db_options = rocksdb::DBOptions(TestDb::DefaultOptions());
  o.cf_options = [](const std::string&) { return rocksdb::ColumnFamilyOptions(TestDb::DefaultOptions()); };
  return o;
}

// Streams `info` into `inst` in chunks, as the receiver would.
Status Stream(const CheckpointInfo& info, CheckpointInstaller& inst, size_t chunk = 4096) {
  ROCKSDR_RETURN_IF_ERROR(inst.Begin(info.sequence, info.files, info.total_bytes));
  for (size_t i = 0; i < info.files.size(); ++i) {
    uint64_t off = 0;
    uint32_t crc = 0;
    std::string buf;
    while (true) {
      ROCKSDR_RETURN_IF_ERROR(ReadCheckpointChunk(info, i, off, chunk, &buf));
      if (buf.empty()) break;
      crc = replication::crc32c::Extend(crc, buf.data(), buf.size());
      ROCKSDR_RETURN_IF_ERROR(inst.WriteChunk(info.files[i].name, off, buf));
      off += buf.size();
    }
    ROCKSDR_RETURN_IF_ERROR(inst.FinishFile(info.files[i].name, crc));
  }
  return Status::OK();
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 2000; ++i) {
      ASSERT_TRUE(primary_.db()->Put(rocksdb::WriteOptions(), primary_.cf("a"), "k" + std::to_string(i),
                                     std::string(100, static_cast<char>('a' + i % 26))).ok());
    }
    ASSERT_TRUE(primary_.db()->Merge(rocksdb::WriteOptions(), primary_.cf("a"), "n", EncodeU64(7)).ok());
    ASSERT_TRUE(primary_.db()->Put(rocksdb::WriteOptions(), primary_.cf(std::string(kReplicatedCf)), "token", "t").ok());
    // Node-local state of the primary: must not reach the secondary.
    ASSERT_TRUE(primary_.db()->Put(rocksdb::WriteOptions(), primary_.local(), kLocalKeyRole, "primary").ok());
    ASSERT_TRUE(primary_.db()->Put(rocksdb::WriteOptions(), primary_.local(), "activation", "secret").ok());
  }
  TempDir dir_;
  TestDb primary_{dir_.Sub("primary"), {"a"}};
};

TEST_F(CheckpointTest, SourceListsFilesReadsChunksAndRefusesExistingDir) {
  auto info = CreateBootstrapCheckpoint(primary_.db(), dir_.Sub("cp"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->sequence, primary_.db()->GetLatestSequenceNumber());
  uint64_t sum = 0;
  bool has_current = false;
  for (size_t i = 0; i < info->files.size(); ++i) {
    const auto& f = info->files[i];
    EXPECT_EQ(f.name.find('/'), std::string::npos);
    EXPECT_EQ(f.size, fs::file_size(dir_.Sub("cp") + "/" + f.name));
    has_current = has_current || f.name == "CURRENT";
    sum += f.size;
    std::string whole, buf;
    for (uint64_t off = 0;; off += buf.size()) {
      ASSERT_TRUE(ReadCheckpointChunk(*info, i, off, 1000, &buf).ok());
      if (buf.empty()) break;
      whole += buf;
    }
    EXPECT_EQ(whole, ReadAll(dir_.Sub("cp") + "/" + f.name));
  }
  EXPECT_TRUE(has_current);
  EXPECT_EQ(sum, info->total_bytes);
  EXPECT_FALSE(fs::exists(dir_.Sub("cp") + "/LOG"));  // our read-only open left nothing behind
  std::string buf;
  EXPECT_EQ(ReadCheckpointChunk(*info, info->files.size(), 0, 10, &buf).code(), Code::kInvalidArgument);
  EXPECT_EQ(ReadCheckpointChunk(*info, 0, 0, 0, &buf).code(), Code::kInvalidArgument);
  EXPECT_EQ(CreateBootstrapCheckpoint(primary_.db(), dir_.Sub("cp")).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(RemoveCheckpoint(dir_.Sub("cp")).ok());
  EXPECT_FALSE(fs::exists(dir_.Sub("cp")));
}

TEST_F(CheckpointTest, SequenceIsExactWhileWritesContinue) {
  std::atomic<bool> stop{false};
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread t;
    ~Joiner() {
      stop = true;
      t.join();
    }
  } writer{stop, std::thread([&] {
    for (int i = 0; !stop.load(); ++i) {
      primary_.db()->Merge(rocksdb::WriteOptions(), primary_.cf("a"), "n", EncodeU64(1)).PermitUncheckedError();
    }
  })};
  for (int round = 0; round < 3; ++round) {
    const std::string cp = dir_.Sub("cp" + std::to_string(round));
    auto info = CreateBootstrapCheckpoint(primary_.db(), cp);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    // Every merge after SetUp is one sequence: the counter in the copy must be 7 + (seq - base).
    TestDb copy(cp, {"a"});
    EXPECT_EQ(copy.db()->GetLatestSequenceNumber(), info->sequence);
    std::string v;
    ASSERT_TRUE(copy.db()->Get(rocksdb::ReadOptions(), copy.cf("a"), "n", &v).ok());
    EXPECT_EQ(testing::DecodeU64(v), 7 + (info->sequence - 2004)) << "round " << round;
  }
}

TEST_F(CheckpointTest, InstallReplacesTheOldDbAndPositionsTheCursor) {
  const std::string target = dir_.Sub("secondary");
  {
    TestDb old(target, {"a"});
    ASSERT_TRUE(old.db()->Put(rocksdb::WriteOptions(), old.cf("a"), "stale", "x").ok());
  }
  auto info = CreateBootstrapCheckpoint(primary_.db(), dir_.Sub("cp"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  InstallerOptions o = Opts();
  o.local_keys[std::string(kLocalKeyRole)] = "secondary";
  std::vector<InstallProgress> seen;
  o.progress = [&](const InstallProgress& p) { seen.push_back(p); };
  CheckpointInstaller inst(target, o);
  ASSERT_TRUE(Stream(*info, inst).ok());
  auto seq = inst.Commit();
  ASSERT_TRUE(seq.ok()) << seq.status().ToString();
  EXPECT_EQ(*seq, info->sequence);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().files_done, info->files.size());
  EXPECT_EQ(seen.back().bytes_done, info->total_bytes);
  EXPECT_EQ(seen.back().bytes_total, info->total_bytes);
  EXPECT_FALSE(fs::exists(target + ".staging"));
  EXPECT_FALSE(fs::exists(target + ".ready"));
  EXPECT_FALSE(fs::exists(target + ".old"));
  // The installed copy is the owner's only (the received files are 0600; RocksDB's own later files
  // are 0644, so it is the directory, 0700, that keeps others out).
  EXPECT_EQ(fs::status(target).permissions() & fs::perms::all, fs::perms::owner_all);

  TestDb sec(target, {"a"});
  EXPECT_EQ(sec.Dump("a"), primary_.Dump("a"));
  EXPECT_EQ(sec.Dump(std::string(kReplicatedCf)), primary_.Dump(std::string(kReplicatedCf)));
  const auto local = sec.Dump(std::string(kLocalCf));
  EXPECT_EQ(local.size(), 2u);  // cursor + role; the primary's activation secret is gone
  EXPECT_EQ(local.at(std::string(kLocalKeyRole)), "secondary");
  EXPECT_EQ(local.at(std::string(kLocalKeyCursor)), EncodeU64(info->sequence));
}

TEST_F(CheckpointTest, InstallerRejectsBadFileLists) {
  CheckpointInstaller inst(dir_.Sub("t"), Opts());
  auto list = [](std::string name) { return std::vector<CheckpointFileInfo>{{"CURRENT", 1}, {std::move(name), 1}}; };
  for (const char* bad : {"../evil", "a/b", "", ".", "..", "x\ny", "/abs"}) {
    EXPECT_EQ(inst.Begin(1, list(bad), 2).code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(inst.Begin(1, list("CURRENT"), 2).code(), Code::kInvalidArgument);  // duplicate
  EXPECT_EQ(inst.Begin(1, list("OPTIONS-1"), 3).code(), Code::kInvalidArgument);  // total mismatch
  EXPECT_EQ(inst.Begin(1, {}, 0).code(), Code::kInvalidArgument);
  EXPECT_EQ(inst.Begin(1, {{"MANIFEST-1", 1}}, 1).code(), Code::kInvalidArgument);  // no CURRENT
  InstallerOptions small = Opts();
  small.limits.max_files = 1;
  small.limits.max_file_bytes = 10;
  CheckpointInstaller lim(dir_.Sub("t"), small);
  EXPECT_EQ(lim.Begin(1, list("OPTIONS-1"), 2).code(), Code::kResourceExhausted);
  EXPECT_EQ(lim.Begin(1, {{"CURRENT", 11}}, 11).code(), Code::kResourceExhausted);
  EXPECT_FALSE(fs::exists(dir_.Sub("t.staging")));
}

TEST_F(CheckpointTest, InstallerRejectsBadChunksAndCrcAndCleansUp) {
  const std::vector<CheckpointFileInfo> files{{"CURRENT", 4}, {"B", 0}};
  const uint32_t crc_abcd = replication::crc32c::Value("abcd");
  struct Case {
    const char* what;
    std::function<Status(CheckpointInstaller&)> run;
    Code code;
  };
  const Case cases[] = {
      {"unannounced", [](CheckpointInstaller& i) { return i.WriteChunk("C", 0, "x"); }, Code::kInvalidArgument},
      {"offset gap", [](CheckpointInstaller& i) { return i.WriteChunk("CURRENT", 1, "x"); }, Code::kInvalidArgument},
      {"past size", [](CheckpointInstaller& i) { return i.WriteChunk("CURRENT", 0, "abcde"); }, Code::kInvalidArgument},
      {"short", [&](CheckpointInstaller& i) {
         ROCKSDR_RETURN_IF_ERROR(i.WriteChunk("CURRENT", 0, "abc"));
         return i.FinishFile("CURRENT", crc_abcd);
       }, Code::kInvalidArgument},
      {"crc", [&](CheckpointInstaller& i) {
         ROCKSDR_RETURN_IF_ERROR(i.WriteChunk("CURRENT", 0, "abcd"));
         return i.FinishFile("CURRENT", crc_abcd ^ 1);
       }, Code::kCorruption},
      {"commit early", [&](CheckpointInstaller& i) {
         ROCKSDR_RETURN_IF_ERROR(i.WriteChunk("CURRENT", 0, "abcd"));
         ROCKSDR_RETURN_IF_ERROR(i.FinishFile("CURRENT", crc_abcd));
         return i.Commit().status();
       }, Code::kFailedPrecondition},
      {"not a db", [&](CheckpointInstaller& i) {
         ROCKSDR_RETURN_IF_ERROR(i.WriteChunk("CURRENT", 0, "abcd"));
         ROCKSDR_RETURN_IF_ERROR(i.FinishFile("CURRENT", crc_abcd));
         ROCKSDR_RETURN_IF_ERROR(i.FinishFile("B", 0));
         return i.Commit().status();
       }, Code::kCorruption},
  };
  for (const Case& c : cases) {
    CheckpointInstaller inst(dir_.Sub("t"), Opts());
    ASSERT_TRUE(inst.Begin(1, files, 4).ok());
    EXPECT_TRUE(fs::exists(dir_.Sub("t.staging")));
    Status s = c.run(inst);
    EXPECT_EQ(s.code(), c.code) << c.what << ": " << s.ToString();
    EXPECT_FALSE(fs::exists(dir_.Sub("t.staging"))) << c.what;
    EXPECT_FALSE(fs::exists(dir_.Sub("t"))) << c.what;
  }
}

TEST(CheckpointRecover, EveryCrashPointEndsConsistent) {
  TempDir d;
  const std::string t = d.Sub("db");
  auto make = [](const std::string& dir, const std::string& tag) {
    fs::create_directories(dir);
    WriteFile(dir + "/TAG", tag);
  };
  auto tag = [&](const std::string& dir) { return fs::exists(dir) ? ReadAll(dir + "/TAG") : std::string("<none>"); };

  // Nothing to do.
  auto r = CheckpointInstaller::Recover(t);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, RecoveryAction::kNothing);

  // Crash while receiving: the old DB stays, the staging is removed.
  make(t, "old");
  make(t + ".staging", "partial");
  r = CheckpointInstaller::Recover(t);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, RecoveryAction::kRemovedStaging);
  EXPECT_EQ(tag(t), "old");
  EXPECT_FALSE(fs::exists(t + ".staging"));

  // Crash after staging -> ready, before the old DB moved: the swap completes.
  make(t + ".ready", "new");
  r = CheckpointInstaller::Recover(t);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, RecoveryAction::kCompletedSwap);
  EXPECT_EQ(tag(t), "new");
  EXPECT_FALSE(fs::exists(t + ".ready"));
  EXPECT_FALSE(fs::exists(t + ".old"));

  // Crash between the two renames (T moved to T.old, T.ready not yet T).
  fs::rename(t, t + ".old");
  make(t + ".ready", "newer");
  r = CheckpointInstaller::Recover(t);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, RecoveryAction::kCompletedSwap);
  EXPECT_EQ(tag(t), "newer");
  EXPECT_FALSE(fs::exists(t + ".old"));

  // Crash before T.old was removed.
  make(t + ".old", "stale");
  r = CheckpointInstaller::Recover(t);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, RecoveryAction::kRemovedOld);
  EXPECT_EQ(tag(t), "newer");
  EXPECT_FALSE(fs::exists(t + ".old"));
}

TEST_F(CheckpointTest, BeginCleansLeftoversOfACrashedInstall) {
  const std::string target = dir_.Sub("secondary");
  fs::create_directories(target + ".staging");
  WriteFile(target + ".staging/CURRENT", "junk");
  auto info = CreateBootstrapCheckpoint(primary_.db(), dir_.Sub("cp"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  CheckpointInstaller inst(target, Opts());
  ASSERT_TRUE(Stream(*info, inst, 1 << 20).ok());
  ASSERT_TRUE(inst.Commit().ok());
  TestDb sec(target, {"a"});
  EXPECT_EQ(sec.Dump("a"), primary_.Dump("a"));
}

TEST(Crc32c, InstallerUsesCastagnoli) {
  EXPECT_EQ(CheckpointInstaller::Crc32cExtend(0, "123456789"), 0xE3069283u);
  EXPECT_EQ(CheckpointInstaller::Crc32cExtend(CheckpointInstaller::Crc32cExtend(0, "1234"), "56789"), 0xE3069283u);
}

}  // namespace
}  // namespace rocksdr::plugin
