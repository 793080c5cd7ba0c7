// FenceMutex (the DB wrapper's write fence): readers share it, an exclusive holder excludes
// everyone, readers blocked by an exclusive holder and an exclusive locker waiting for readers
// are all woken, and (as with std::shared_mutex on glibc) a reader may take it shared again while
// an exclusive locker waits.
#include <gtest/gtest.h>

#include <atomic>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "../../plugin/src/fence_mutex.h"

namespace rocksdr {
namespace {

using plugin::FenceMutex;

TEST(FenceMutexTest, ReadersShareAndWritersExcludeEveryone) {
  FenceMutex mu;
  std::atomic<int> readers_inside{0};
  std::atomic<int> writers_inside{0};
  std::atomic<int> max_readers{0};
  std::atomic<bool> violation{false};
  uint64_t guarded = 0;  // written only exclusively, read shared (TSan checks the ordering)
  constexpr int kReaders = 3, kReads = 20000, kWriters = 2, kWrites = 2000;
  std::vector<std::thread> threads;
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&] {
      uint64_t last = 0;
      for (int i = 0; i < kReads; ++i) {
        std::shared_lock<FenceMutex> l(mu);
        const int inside = readers_inside.fetch_add(1) + 1;
        int m = max_readers.load();
        while (inside > m && !max_readers.compare_exchange_weak(m, inside)) {
        }
        if (writers_inside.load() != 0) violation = true;
        if (guarded < last) violation = true;  // never goes back
        last = guarded;
        readers_inside.fetch_sub(1);
      }
    });
  }
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&] {
      for (int i = 0; i < kWrites; ++i) {
        std::unique_lock<FenceMutex> l(mu);
        if (writers_inside.fetch_add(1) != 0 || readers_inside.load() != 0) violation = true;
        ++guarded;
        writers_inside.fetch_sub(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(violation.load());
  std::unique_lock<FenceMutex> l(mu);
  EXPECT_EQ(guarded, uint64_t{kWriters} * kWrites) << "every exclusive section ran alone";
}

TEST(FenceMutexTest, AWaitingWriterDoesNotBlockAReaderThatAlreadyHoldsIt) {
  FenceMutex mu;
  mu.lock_shared();
  std::atomic<bool> writer_in{false};
  std::thread writer([&] {
    std::unique_lock<FenceMutex> l(mu);  // waits for the reader
    writer_in = true;
  });
  // Give the writer time to start waiting (if it has not yet, the test checks less, never fails).
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(writer_in.load());
  mu.lock_shared();  // would deadlock with a writer-preferring lock
  EXPECT_FALSE(writer_in.load());
  mu.unlock_shared();
  mu.unlock_shared();  // the last reader out wakes the writer
  writer.join();
  EXPECT_TRUE(writer_in.load());
  // And readers blocked by the writer's hold are woken by its unlock.
  mu.lock();
  std::atomic<int> readers_done{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      std::shared_lock<FenceMutex> l(mu);
      readers_done.fetch_add(1);
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(readers_done.load(), 0) << "held exclusively: no reader gets in";
  mu.unlock();
  for (auto& t : readers) t.join();
  EXPECT_EQ(readers_done.load(), 3);
}

}  // namespace
}  // namespace rocksdr
