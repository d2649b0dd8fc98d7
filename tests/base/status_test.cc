#include "base/status.h"

#include <gtest/gtest.h>

namespace strongroom {
namespace {

StatusOr<int> Half(int v) {
  if (v % 2 != 0) return std::unexpected(Status::InvalidArgument("odd"));
  return v / 2;
}

StatusOr<int> Quarter(int v) {
  SR_ASSIGN_OR_RETURN(int half, Half(v));
  SR_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

Status CheckEven(int v) {
  SR_RETURN_IF_ERROR(Half(v));
  return Status::Ok();
}

TEST(Status, DefaultIsOkAndNamedFactoriesCarryTheirCode) {
  EXPECT_TRUE(Status().ok());
  EXPECT_EQ(Status().ToString(), "ok");
  Status s = Status::IntegrityError("record MAC mismatch");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kIntegrityError);
  EXPECT_EQ(s.ToString(), "integrity_error: record MAC mismatch");
  EXPECT_EQ(s.WithContext("secure_values").message(), "secure_values: record MAC mismatch");
}

TEST(Status, MacrosPropagateTheFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  StatusOr<int> r = Quarter(6);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(3).code(), StatusCode::kInvalidArgument);
}

TEST(Status, UnexpectedConvertsToStatus) {
  Status s = std::unexpected(Status::NotFound("x"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace strongroom
