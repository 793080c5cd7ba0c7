#include "rocksdr/replication/backoff.h"

#include <gtest/gtest.h>

#include <set>

namespace rocksdr::replication {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, GrowsExponentiallyWithinEqualJitterBoundsUpToTheCap) {
  Backoff b({milliseconds(100), 2.0, milliseconds(1000)}, [] { return uint64_t{0}; });
  // Lowest draw: half of the ceiling; highest: the ceiling.
  const int64_t ceilings[] = {100, 200, 400, 800, 1000, 1000, 1000};
  for (int64_t c : ceilings) {
    EXPECT_EQ(b.NextDelay().count(), c / 2) << "ceiling " << c;
  }
  Backoff high({milliseconds(100), 2.0, milliseconds(1000)}, [] { return UINT64_MAX; });
  for (int64_t c : ceilings) {
    const int64_t d = high.NextDelay().count();
    EXPECT_GE(d, c / 2);
    EXPECT_LE(d, c);
  }
}

TEST(Backoff, UpperBoundIsReachedAndDelaysAreSpread) {
  uint64_t next = 0;
  Backoff b({milliseconds(100), 2.0, milliseconds(100)}, [&] { return next++; });
  std::set<int64_t> seen;
  for (int i = 0; i < 51; ++i) seen.insert(b.NextDelay().count());
  EXPECT_EQ(*seen.begin(), 50);
  EXPECT_EQ(*seen.rbegin(), 100);
  EXPECT_EQ(seen.size(), 51u);  // every value of [50, 100] drawn once
}

TEST(Backoff, ResetStartsOver) {
  Backoff b({milliseconds(10), 3.0, milliseconds(10000)}, [] { return UINT64_MAX; });
  b.NextDelay();
  b.NextDelay();
  EXPECT_EQ(b.failures(), 2u);
  EXPECT_GE(b.NextDelay().count(), 45);  // ceiling 90
  b.Reset();
  EXPECT_EQ(b.failures(), 0u);
  EXPECT_LE(b.NextDelay().count(), 10);
}

TEST(Backoff, NeverOverflowsAndNeverZero) {
  Backoff b({milliseconds(1), 10.0, milliseconds(30000)}, [] { return UINT64_MAX; });
  for (int i = 0; i < 10000; ++i) {
    const int64_t d = b.NextDelay().count();
    ASSERT_GE(d, 1);
    ASSERT_LE(d, 30000);
  }
  EXPECT_GE(b.NextDelay().count(), 15000);
}

TEST(Backoff, InvalidOptionsAreClamped) {
  Backoff b({milliseconds(0), 0.5, milliseconds(0)}, [] { return uint64_t{0}; });
  for (int i = 0; i < 5; ++i) EXPECT_EQ(b.NextDelay().count(), 1);
}

TEST(Backoff, DefaultRandomSourceStaysInBounds) {
  Backoff b({milliseconds(100), 2.0, milliseconds(400)});
  for (int i = 0; i < 100; ++i) {
    const int64_t d = b.NextDelay().count();
    ASSERT_GE(d, 50);
    ASSERT_LE(d, 400);
  }
}

}  // namespace
}  // namespace rocksdr::replication
