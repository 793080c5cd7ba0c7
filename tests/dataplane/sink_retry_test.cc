// The secondary's retry policy for sink (local storage) failures (sink_retry.h): which errors are
// retried after a backoff and which halt the link, and the status text while it waits.
#include <gtest/gtest.h>

#include "rocksdr/replication/sink_retry.h"

namespace rocksdr::replication {
namespace {

TEST(SinkRetry, StorageFailuresAreRetried) {
  // DbSink: a full disk (RocksDB IO error / background error) and a busy DB.
  EXPECT_TRUE(SinkFailureIsRetryable(Status::IOError("IO error: No space left on device")));
  EXPECT_TRUE(SinkFailureIsRetryable(Status::Unavailable("Resource busy")));
}

TEST(SinkRetry, RefusedStreamsAndBrokenContractsHalt) {
  // Needs a bootstrap it may not take (auto_rebootstrap off), an epoch marker of another
  // history, a batch that does not continue the cursor: retrying the same stream cannot help.
  EXPECT_FALSE(SinkFailureIsRetryable(Status::FailedPrecondition("needs bootstrap: WAL gap")));
  EXPECT_FALSE(SinkFailureIsRetryable(Status::Corruption("malformed WriteBatch rep")));
  EXPECT_FALSE(SinkFailureIsRetryable(Status::Internal("BatchSink contract broken")));
  EXPECT_FALSE(SinkFailureIsRetryable(Status::InvalidArgument("bad file name")));
  EXPECT_FALSE(SinkFailureIsRetryable(Status::ResourceExhausted("checkpoint exceeds the limit")));
  EXPECT_FALSE(SinkFailureIsRetryable(Status::PermissionDenied("not allowed")));
  EXPECT_FALSE(SinkFailureIsRetryable(Status::OK()));
}

TEST(SinkRetry, StatusNamesTheErrorTheNextAttemptAndWhereToFreeSpace) {
  const std::string full = DescribeStorageRetry("applying failed: io-error: No space left on device",
                                                std::chrono::milliseconds(4000), 3, "/data/db");
  EXPECT_EQ(full,
            "local storage failed: applying failed: io-error: No space left on device; retrying in 4 s "
            "(attempt 3) — free space on /data/db");
  // Seconds rounded up; a wait under a second in ms (never "0 s").
  EXPECT_NE(DescribeStorageRetry("ENOSPC", std::chrono::milliseconds(1500), 2, "/d").find("retrying in 2 s (attempt 2)"),
            std::string::npos);
  EXPECT_NE(DescribeStorageRetry("ENOSPC", std::chrono::milliseconds(300), 1, "/d").find("retrying in 300 ms"),
            std::string::npos);
  // Another storage error: where to look, not "free space".
  const std::string other = DescribeStorageRetry("io-error: Input/output error", std::chrono::milliseconds(1000), 1,
                                                 "/data/db");
  EXPECT_NE(other.find("check the storage of /data/db"), std::string::npos) << other;
  EXPECT_EQ(other.find("free space"), std::string::npos) << other;
  // Unknown location.
  EXPECT_NE(DescribeStorageRetry("ENOSPC", std::chrono::milliseconds(1000), 1, "").find("free space on the secondary"),
            std::string::npos);
}

}  // namespace
}  // namespace rocksdr::replication
