// InfoLog; see info_log.h.
#include "info_log.h"

#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <thread>

namespace rocksdr::plugin {
namespace {

class InfoLog : public rocksdb::Logger {
 public:
  InfoLog(std::FILE* f, rocksdb::InfoLogLevel level) : rocksdb::Logger(level), file_(f) {}
  ~InfoLog() override { CloseNow(); }

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char buf[1024];
    struct timeval tv;
    ::gettimeofday(&tv, nullptr);
    struct tm t;
    const time_t secs = tv.tv_sec;
    ::localtime_r(&secs, &t);
    int n = std::snprintf(buf, sizeof(buf), "%04d/%02d/%02d-%02d:%02d:%02d.%06ld %llx ", t.tm_year + 1900,
                          t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, static_cast<long>(tv.tv_usec),
                          static_cast<unsigned long long>(std::hash<std::thread::id>{}(std::this_thread::get_id())));
    if (n < 0) return;
    va_list copy;
    va_copy(copy, ap);
    const int m = std::vsnprintf(buf + n, sizeof(buf) - static_cast<size_t>(n), format, copy);
    va_end(copy);
    if (m < 0) return;
    size_t len = std::min(sizeof(buf) - 1, static_cast<size_t>(n) + static_cast<size_t>(m));
    if (len == 0 || buf[len - 1] != '\n') buf[len++] = '\n';
    std::lock_guard<std::mutex> l(mu_);
    if (file_ == nullptr) return;
    // A failed write (ENOSPC) loses this line only; the next one is tried again.
    if (std::fwrite(buf, 1, len, file_) != len || std::fflush(file_) != 0) std::clearerr(file_);
  }

  void Flush() override {
    std::lock_guard<std::mutex> l(mu_);
    if (file_ != nullptr && std::fflush(file_) != 0) std::clearerr(file_);
  }

 protected:
  rocksdb::Status CloseImpl() override {
    CloseNow();
    return rocksdb::Status::OK();
  }

 private:
  void CloseNow() {
    std::lock_guard<std::mutex> l(mu_);
    if (file_ != nullptr) std::fclose(file_);
    file_ = nullptr;
  }

  std::mutex mu_;
  std::FILE* file_;  // GUARDED_BY(mu_)
};

}  // namespace

std::shared_ptr<rocksdb::Logger> OpenInfoLog(const std::string& db_path, const rocksdb::DBOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_directory(db_path, ec)) {
    if (!options.create_if_missing) return nullptr;  // DB::Open reports the missing DB
    std::filesystem::create_directories(db_path, ec);
  }
  const std::string log = db_path + "/LOG";
  if (std::filesystem::exists(log, ec)) {
    struct timeval tv;
    ::gettimeofday(&tv, nullptr);
    const long long micros = static_cast<long long>(tv.tv_sec) * 1000000 + tv.tv_usec;
    std::filesystem::rename(log, log + ".old." + std::to_string(micros), ec);
  }
  std::FILE* f = std::fopen(log.c_str(), "ae");
  if (f == nullptr) return nullptr;
  return std::make_shared<InfoLog>(f, options.info_log_level);
}

}  // namespace rocksdr::plugin
