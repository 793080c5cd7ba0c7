#include "rocksdr/status.h"

#include <gtest/gtest.h>

namespace rocksdr {
namespace {

TEST(Status, OkAndErrorsCarryCodeAndMessage) {
  EXPECT_TRUE(Status::OK().ok());
  Status s = Status::InvalidArgument("threshold must be at least 2");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.ToString(), "invalid-argument: threshold must be at least 2");
  EXPECT_EQ(s.WithContext("split").message(), "split: threshold must be at least 2");
}

TEST(Result, HoldsValueOrError) {
  Result<int> good(7);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);
  Result<int> bad(Status::NotFound("no such secondary"));
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kNotFound);
  Result<int> misuse(Status::OK());
  EXPECT_EQ(misuse.status().code(), Code::kInternal);
}

}  // namespace
}  // namespace rocksdr
