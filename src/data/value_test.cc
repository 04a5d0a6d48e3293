#include "data/value.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace kiln::data {
namespace {

TEST(ValueTest, ParseTypeAcceptsAliasesAndNamesTheChoicesOnError) {
  EXPECT_EQ(*ParseType("double"), Type::kFloat64);
  EXPECT_EQ(*ParseType("integer"), Type::kInt64);
  EXPECT_EQ(*ParseType("datetime"), Type::kTimestamp);
  Result<Type> bad = ParseType("decimal");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "unknown type 'decimal' (expected one of bool, int64, float64, string, timestamp)");
}

TEST(ValueTest, BitwiseEqualsComparesTypeNullnessAndBits) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(Value::Float(nan).BitwiseEquals(Value::Float(nan)));
  EXPECT_FALSE(Value::Float(0.0).BitwiseEquals(Value::Float(-0.0)));
  EXPECT_FALSE(Value::Float(nan).BitwiseEquals(Value::Float(-nan)));
  EXPECT_TRUE(Value::Null(Type::kInt64).BitwiseEquals(Value::Null(Type::kInt64)));
  EXPECT_FALSE(Value::Null(Type::kInt64).BitwiseEquals(Value::Null(Type::kFloat64)));
  EXPECT_FALSE(Value::Int(1).BitwiseEquals(Value::Bool(true)));
  EXPECT_FALSE(Value::Int(1).BitwiseEquals(Value::Timestamp(1)));
  EXPECT_TRUE(Value::String("é").BitwiseEquals(Value::String("é")));
  EXPECT_FALSE(Value::String("a").BitwiseEquals(Value::String("b")));
}

TEST(ValueTest, ToStringSpellsEachType) {
  EXPECT_EQ(Value::Null(Type::kString).ToString(), "null");
  EXPECT_EQ(Value::Bool(true).ToString(), "true");
  EXPECT_EQ(Value::Int(-3).ToString(), "-3");
  EXPECT_EQ(Value::Float(0.1).ToString(), "0.1");
  EXPECT_EQ(Value::Float(3.0).ToString(), "3.0");
  EXPECT_EQ(Value::Float(1e300).ToString(), "1e+300");
  EXPECT_EQ(Value::Float(std::nan("")).ToString(), "nan");
  EXPECT_EQ(Value::Float(-std::numeric_limits<double>::infinity()).ToString(), "-inf");
  EXPECT_EQ(Value::String("a,b").ToString(), "a,b");
  EXPECT_EQ(Value::Timestamp(978679815250000).ToString(), "2001-01-05T07:30:15.250000Z");
}

}  // namespace
}  // namespace kiln::data
