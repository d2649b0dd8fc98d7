// tests/support/status_matchers.h — status assertions that say what they
// mean: EXPECT_OK(expr) / ASSERT_OK(expr) and EXPECT_STATUS(expr, code) /
// ASSERT_STATUS(expr, code), instead of `ASSERT_TRUE(x.has_value())`.
//
// `expr` is anything StatusOf can read: a Status, a StatusOr<T>, or any
// type with a `status()` member returning Status (api::ApiResult), or an
// std::expected whose error has a `status` member (api::ApiOr<T>,
// api::AuthResult). A failure prints the expression and the code and
// message it got (messages are safe to show: base/status.h).
// Thread-safety: functions.
#pragma once

#include <gtest/gtest.h>

#include <expected>
#include <string>
#include <type_traits>

#include "base/status.h"

namespace strongroom::testing_support {

inline Status StatusOf(const Status& status) { return status; }

template <typename T, typename E>
Status StatusOf(const std::expected<T, E>& value) {
  if (value.has_value()) return Status::Ok();
  if constexpr (std::is_same_v<E, Status>) {
    return value.error();
  } else {
    return value.error().status;
  }
}

template <typename T>
requires requires(const T& t) {
  { t.status() } -> std::convertible_to<Status>;
}
Status StatusOf(const T& value) { return value.status(); }

template <typename T>
::testing::AssertionResult IsOk(const char* text, const T& value) {
  const Status status = StatusOf(value);
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << text << " is not OK: " << status.ToString();
}

template <typename T>
::testing::AssertionResult HasCode(const char* text, const char* code_text, const T& value,
                                   StatusCode code) {
  const Status status = StatusOf(value);
  if (status.code() == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << text << " is " << (status.ok() ? std::string("ok") : status.ToString()) << ", expected "
         << code_text << " (" << StatusCodeName(code) << ")";
}

}  // namespace strongroom::testing_support

#define EXPECT_OK(expr) EXPECT_PRED_FORMAT1(::strongroom::testing_support::IsOk, (expr))
#define ASSERT_OK(expr) ASSERT_PRED_FORMAT1(::strongroom::testing_support::IsOk, (expr))
#define EXPECT_STATUS(expr, code) \
  EXPECT_PRED_FORMAT2(::strongroom::testing_support::HasCode, (expr), (code))
#define ASSERT_STATUS(expr, code) \
  ASSERT_PRED_FORMAT2(::strongroom::testing_support::HasCode, (expr), (code))
