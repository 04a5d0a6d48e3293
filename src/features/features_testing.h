#pragma once
// Helpers shared by the features module's tests (test-only; included by
// *_test.cc files): ISO text to timestamps, and unwrapping Results.

#include <gtest/gtest.h>

#include <stdexcept>
#include <string_view>
#include <utility>

#include "common/status.h"
#include "data/timestamp.h"

namespace kiln::features::testing_support {

// Microseconds of an ISO 8601 text read as UTC; a parse error fails the test.
inline int64_t T(std::string_view iso) {
  auto micros = data::ParseTimestamp(iso, data::TimeZone::Utc());
  EXPECT_TRUE(micros.ok()) << micros.status().ToString();
  return micros.ok() ? *micros : 0;
}

// The value of an OK result; otherwise fails the test and throws, so the
// test stops at the first unexpected error.
template <typename T>
T Value(Result<T> result) {
  if (!result.ok()) {
    ADD_FAILURE() << "unexpected error: " << result.status().ToString();
    throw std::runtime_error(result.status().ToString());
  }
  return std::move(result).value();
}

}  // namespace kiln::features::testing_support
