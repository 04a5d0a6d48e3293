#include "data/column.h"

#include <gtest/gtest.h>

namespace kiln::data {
namespace {

TEST(ColumnTest, AppendsValuesAndNullsOfEachStorage) {
  Column ints(Type::kInt64);
  ints.AppendInt(7);
  ints.AppendNull();
  ints.Append(Value::Int(-2));
  ASSERT_EQ(ints.size(), 3u);
  EXPECT_EQ(ints.NullCount(), 1u);
  EXPECT_TRUE(ints.IsNull(1));
  EXPECT_EQ(ints.ints()[1], 0);
  EXPECT_TRUE(ints.Get(2).BitwiseEquals(Value::Int(-2)));
  EXPECT_TRUE(ints.Get(1).BitwiseEquals(Value::Null(Type::kInt64)));

  Column strings(Type::kString);
  strings.AppendString("x");
  strings.Append(Value::Null(Type::kString));
  EXPECT_EQ(strings.strings()[1], "");
  EXPECT_TRUE(strings.Get(0).BitwiseEquals(Value::String("x")));

  Column flags(Type::kBool);
  flags.Append(Value::Bool(true));
  EXPECT_TRUE(flags.Get(0).BitwiseEquals(Value::Bool(true)));

  Column times(Type::kTimestamp);
  times.Append(Value::Timestamp(5));
  EXPECT_TRUE(times.Get(0).BitwiseEquals(Value::Timestamp(5)));
}

TEST(ColumnTest, TakeGathersRowsAndTurnsNoRowIntoNull) {
  Column floats(Type::kFloat64);
  floats.AppendFloat(1.5);
  floats.AppendNull();
  floats.AppendFloat(-4);
  const std::vector<int64_t> rows = {2, kNoRow, 0, 1, 2};
  Column taken = floats.Take(rows);
  ASSERT_EQ(taken.size(), 5u);
  EXPECT_EQ(taken.type(), Type::kFloat64);
  EXPECT_TRUE(taken.Get(0).BitwiseEquals(Value::Float(-4)));
  EXPECT_TRUE(taken.IsNull(1));
  EXPECT_EQ(taken.floats()[1], 0.0);
  EXPECT_TRUE(taken.Get(2).BitwiseEquals(Value::Float(1.5)));
  EXPECT_TRUE(taken.IsNull(3));
  EXPECT_TRUE(taken.Get(4).BitwiseEquals(Value::Float(-4)));

  Column strings(Type::kString);
  strings.AppendString("a");
  strings.AppendString("b");
  const std::vector<int64_t> picks = {1, kNoRow};
  Column taken_strings = strings.Take(picks);
  EXPECT_EQ(taken_strings.strings()[0], "b");
  EXPECT_TRUE(taken_strings.IsNull(1));
  EXPECT_EQ(taken_strings.strings()[1], "");
}

}  // namespace
}  // namespace kiln::data
