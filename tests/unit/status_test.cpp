#include "core/status.h"

#include <gtest/gtest.h>

namespace seer {
namespace {

TEST(Status, HttpMappingFollowsDesign) {
  EXPECT_EQ(http_status(StatusCode::kOk), 200);
  EXPECT_EQ(http_status(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(http_status(StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(http_status(StatusCode::kNotFound), 404);
  EXPECT_EQ(http_status(StatusCode::kPayloadTooLarge), 413);
  EXPECT_EQ(http_status(StatusCode::kUnsupported), 415);
  EXPECT_EQ(http_status(StatusCode::kUnavailable), 503);
  EXPECT_EQ(http_status(StatusCode::kResourceExhausted), 507);
  EXPECT_EQ(http_status(StatusCode::kDeadlineExceeded), 504);
  EXPECT_EQ(http_status(StatusCode::kCancelled), 499);
  EXPECT_EQ(http_status(StatusCode::kInternal), 500);
}

TEST(Status, FactoriesFormatAndKeepCode) {
  Status s = Status::not_found("unknown model '{}'", "wd14");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "unknown model 'wd14'");
  EXPECT_EQ(s.to_string(), "NotFound: unknown model 'wd14'");
  EXPECT_EQ(s.with_context("load").message(), "load: unknown model 'wd14'");
  EXPECT_EQ(s.with_context("load").code(), StatusCode::kNotFound);
  EXPECT_TRUE(Status().ok());
  EXPECT_EQ(Status().to_string(), "OK");
}

StatusOr<int> half(int x) {
  if (x % 2) return Status::invalid_argument("{} is odd", x);
  return x / 2;
}

Status quarter(int x, int* out) {
  SEER_ASSIGN_OR_RETURN(int h, half(x));
  SEER_ASSIGN_OR_RETURN(*out, half(h));
  return {};
}

TEST(Status, MacrosPropagate) {
  int out = 0;
  EXPECT_TRUE(quarter(8, &out).ok());
  EXPECT_EQ(out, 2);
  Status s = quarter(6, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "3 is odd");
}

}  // namespace
}  // namespace seer
