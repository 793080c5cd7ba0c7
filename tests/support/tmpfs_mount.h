// A small tmpfs for disk-full scenarios: mounted for the owner's lifetime at a directory the test
// chose, and a filler that writes into it until the file system refuses with ENOSPC.
// Mounting needs root / CAP_SYS_ADMIN: when it fails, mounted() is false and error() says why, so
// the test can GTEST_SKIP and name the reason. TempTmpfs: one mounted in a fresh temp directory.
//
// Who may call: tests only (the fault disk-full tests). TmpfsMount and TempTmpfs from the test
// thread; FillUntilFull from any thread (it touches only the file it is given).
#pragma once

#include <cstdint>
#include <string>

#include "support/rocksdb_test_db.h"

namespace rocksdr::testing {

// A tmpfs of `size` (mount's size= syntax, e.g. "32m") mounted at `dir` (created if missing);
// unmounted (lazily, so a straggler cannot block it) by the destructor.
class TmpfsMount {
 public:
  TmpfsMount(const std::string& dir, const char* size);
  ~TmpfsMount();
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  bool mounted() const { return mounted_; }
  // strerror of the failed mount; empty when mounted.
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

// A TmpfsMount of `size` at <a fresh temp directory>/tmpfs; the directory is removed after the
// unmount. Typical use:
//   TempTmpfs tmpfs("32m");
//   if (!tmpfs.mounted()) GTEST_SKIP() << tmpfs.SkipReason();
class TempTmpfs {
 public:
  explicit TempTmpfs(const char* size) : size_(size), path_(parent_.Sub("tmpfs")), mount_(path_, size) {}

  bool mounted() const { return mount_.mounted(); }
  // The mount point.
  const std::string& path() const { return path_; }
  // Why the scenario cannot run when it is not mounted (the mount's error; root is needed).
  std::string SkipReason() const {
    return "cannot mount a " + size_ + " tmpfs at " + path_ + " (" + mount_.error() +
           "): this scenario needs root / CAP_SYS_ADMIN; it was NOT run";
  }

 private:
  std::string size_;
  TempDir parent_;
  std::string path_;
  TmpfsMount mount_;
};

// Writes `path` until the file system refuses with ENOSPC; returns the bytes written, or -1 (with
// errno_out set) if something other than ENOSPC stopped it.
int64_t FillUntilFull(const std::string& path, int* errno_out);

}  // namespace rocksdr::testing
