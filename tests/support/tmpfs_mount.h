// A small tmpfs for disk-full scenarios: mounted for the owner's lifetime at a directory the test
// chose, and a filler that writes into it until the file system refuses with ENOSPC.
// Mounting needs root / CAP_SYS_ADMIN: when it fails, mounted() is false and error() says why, so
// the test can GTEST_SKIP and name the reason.
//
// Who may call: tests only (the fault disk-full tests). TmpfsMount from the test thread;
// FillUntilFull from any thread (it touches only the file it is given).
#pragma once

#include <cstdint>
#include <string>

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

// Writes `path` until the file system refuses with ENOSPC; returns the bytes written, or -1 (with
// errno_out set) if something other than ENOSPC stopped it.
int64_t FillUntilFull(const std::string& path, int* errno_out);

}  // namespace rocksdr::testing
