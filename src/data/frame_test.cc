#include "data/frame.h"

#include <gtest/gtest.h>

namespace kiln::data {
namespace {

Column Ints(std::initializer_list<int64_t> values) {
  Column column(Type::kInt64);
  for (int64_t value : values) column.AppendInt(value);
  return column;
}

TEST(FrameTest, AddColumnChecksLengthsAndDuplicateNames) {
  Frame frame;
  ASSERT_TRUE(frame.AddColumn("a", Ints({1, 2, 3})).ok());
  EXPECT_EQ(frame.num_rows(), 3u);
  Status duplicate = frame.AddColumn("a", Ints({4, 5, 6}));
  EXPECT_EQ(duplicate.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(duplicate.message(), "duplicate column 'a'");
  Status short_column = frame.AddColumn("b", Ints({1}));
  EXPECT_EQ(short_column.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(short_column.message(), "column 'b' has 1 rows but the frame has 3");
  EXPECT_EQ(frame.num_columns(), 1u);
}

TEST(FrameTest, FindsColumnsByNameAndNamesTheChoicesWhenAbsent) {
  Frame frame;
  ASSERT_TRUE(frame.AddColumn("a", Ints({1})).ok());
  ASSERT_TRUE(frame.AddColumn("b", Ints({2})).ok());
  EXPECT_EQ(frame.IndexOf("b"), 1);
  EXPECT_EQ(frame.IndexOf("c"), -1);
  EXPECT_EQ(frame.Find("c"), nullptr);
  Result<const Column*> missing = frame.Get("c");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "no column 'c' (columns: a, b)");
  ASSERT_EQ(frame.schema().size(), 2u);
  EXPECT_EQ(frame.schema()[1].name, "b");
  EXPECT_EQ(frame.schema()[1].type, Type::kInt64);
}

TEST(FrameTest, SetRemoveSelectAndTake) {
  Frame frame;
  ASSERT_TRUE(frame.AddColumn("a", Ints({1, 2})).ok());
  ASSERT_TRUE(frame.AddColumn("b", Ints({3, 4})).ok());
  ASSERT_TRUE(frame.SetColumn("a", Ints({9, 8})).ok());
  EXPECT_EQ(frame.column(0).ints()[0], 9);
  EXPECT_FALSE(frame.SetColumn("a", Ints({1})).ok());
  ASSERT_TRUE(frame.SetColumn("c", Ints({5, 6})).ok());

  Result<Frame> selected = frame.Select({"c", "a"});
  ASSERT_TRUE(selected.ok());
  EXPECT_EQ(selected->names(), (std::vector<std::string>{"c", "a"}));
  EXPECT_EQ(selected->num_rows(), 2u);
  EXPECT_EQ(frame.Select({"a", "zz"}).status().message(), "no column 'zz' (columns: a, b, c)");

  const std::vector<int64_t> rows = {1, kNoRow};
  Frame taken = frame.Take(rows);
  EXPECT_EQ(taken.num_rows(), 2u);
  EXPECT_EQ(taken.column(1).ints()[0], 4);
  EXPECT_TRUE(taken.column(0).IsNull(1));
  EXPECT_TRUE(taken.column(2).IsNull(1));

  ASSERT_TRUE(frame.RemoveColumn("b").ok());
  EXPECT_EQ(frame.names(), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(frame.RemoveColumn("b").message(), "no column 'b' (columns: a, c)");
}

}  // namespace
}  // namespace kiln::data
