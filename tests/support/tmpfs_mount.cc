// TmpfsMount and FillUntilFull; see tmpfs_mount.h.
#include "support/tmpfs_mount.h"

#include <sys/mount.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace rocksdr::testing {

TmpfsMount::TmpfsMount(const std::string& dir, const char* size) : dir_(dir) {
  std::filesystem::create_directories(dir_);
  const std::string opts = std::string("size=") + size + ",mode=0700";
  if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, opts.c_str()) == 0) {
    mounted_ = true;
  } else {
    error_ = std::strerror(errno);
  }
}

TmpfsMount::~TmpfsMount() {
  if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
}

int64_t FillUntilFull(const std::string& path, int* errno_out) {
  FILE* f = std::fopen(path.c_str(), "ab");
  if (f == nullptr) {
    *errno_out = errno;
    return -1;
  }
  std::setvbuf(f, nullptr, _IONBF, 0);
  const std::string chunk(4096, 'x');
  int64_t written = 0;
  for (;;) {
    const size_t n = std::fwrite(chunk.data(), 1, chunk.size(), f);
    written += static_cast<int64_t>(n);
    if (n < chunk.size()) {
      *errno_out = errno;
      break;
    }
  }
  std::fclose(f);
  return *errno_out == ENOSPC ? written : -1;
}

}  // namespace rocksdr::testing
