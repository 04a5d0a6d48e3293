// Derived label columns: parsing "NAME = EXPRESSION" and the messages a user
// sees for bad labels.
#include "features/labels.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "features/features_testing.h"

namespace kiln::features {
namespace {

using testing_support::Value;

data::Frame Delays() {
  data::Frame frame;
  data::Column delay(data::Type::kInt64);
  delay.AppendInt(10);
  delay.AppendInt(30);
  delay.AppendNull();
  EXPECT_TRUE(frame.AddColumn("delay", std::move(delay)).ok());
  return frame;
}

TEST(LabelsTest, ParsesNamesAndAssignmentsButNotComparisons) {
  DerivedColumn plain = Value(ParseDerivedColumn(" delay "));
  EXPECT_EQ(plain.name, "delay");
  EXPECT_EQ(plain.expression, "");
  DerivedColumn derived = Value(ParseDerivedColumn("delayed = delay >= 15"));
  EXPECT_EQ(derived.name, "delayed");
  EXPECT_EQ(derived.expression, "delay >= 15");
  DerivedColumn equality = Value(ParseDerivedColumn("on_time=delay == 0"));
  EXPECT_EQ(equality.name, "on_time");
  EXPECT_EQ(equality.expression, "delay == 0");
}

TEST(LabelsTest, RefusesMalformedLabelsWithTheTextGiven) {
  EXPECT_EQ(ParseDerivedColumn("x y").status().message(),
            "label 'x y': expected a column name or NAME = EXPRESSION");
  EXPECT_EQ(ParseDerivedColumn("delayed =").status().message(),
            "label 'delayed =': the expression after '=' is empty");
  EXPECT_EQ(ParseDerivedColumn("1x = delay").status().message(),
            "label '1x = delay': expected a column name or NAME = EXPRESSION");
}

TEST(LabelsTest, AddsExpressionColumnsOverTheFrame) {
  data::Frame frame = Delays();
  ASSERT_TRUE(AddDerivedColumns(frame, {{"delay", ""}, {"delayed", "delay > 15"}}).ok());
  const data::Column& delayed = *Value(frame.Get("delayed"));
  ASSERT_EQ(delayed.type(), data::Type::kBool);
  EXPECT_EQ(delayed.Get(0).ToString(), "false");
  EXPECT_EQ(delayed.Get(1).ToString(), "true");
  EXPECT_TRUE(delayed.IsNull(2));
}

TEST(LabelsTest, NamesTheLabelInErrors) {
  data::Frame frame = Delays();
  Status missing = AddDerivedColumns(frame, {{"arrival", ""}});
  EXPECT_EQ(missing.message(), "label 'arrival': entity rows have no column 'arrival'");
  Status unknown = AddDerivedColumns(frame, {{"delayed", "delai > 15"}});
  EXPECT_THAT(unknown.message(), ::testing::StartsWith("label 'delayed': "));
  EXPECT_THAT(unknown.message(), ::testing::HasSubstr("unknown column 'delai'"));
}

}  // namespace
}  // namespace kiln::features
