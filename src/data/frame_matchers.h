#pragma once
// Test helpers for the data module's tests (header only, test code only):
// bitwise Frame comparison with a message naming the first difference.

#include <gtest/gtest.h>

#include "data/frame.h"

namespace kiln::data {

inline testing::AssertionResult FramesBitwiseEqual(const Frame& expected, const Frame& actual) {
  if (expected.names() != actual.names()) {
    return testing::AssertionFailure() << "column names differ";
  }
  if (expected.num_rows() != actual.num_rows()) {
    return testing::AssertionFailure()
           << "rows: expected " << expected.num_rows() << ", got " << actual.num_rows();
  }
  for (size_t c = 0; c < expected.num_columns(); ++c) {
    if (expected.column(c).type() != actual.column(c).type()) {
      return testing::AssertionFailure()
             << "column '" << expected.names()[c] << "': expected type "
             << TypeName(expected.column(c).type()) << ", got " << TypeName(actual.column(c).type());
    }
    for (size_t row = 0; row < expected.num_rows(); ++row) {
      const Value want = expected.column(c).Get(row);
      const Value got = actual.column(c).Get(row);
      if (!want.BitwiseEquals(got)) {
        return testing::AssertionFailure() << "column '" << expected.names()[c] << "' row " << row
                                           << ": expected " << want.ToString() << ", got " << got.ToString();
      }
    }
  }
  return testing::AssertionSuccess();
}

}  // namespace kiln::data
