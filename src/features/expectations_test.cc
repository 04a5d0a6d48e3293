// Per-feature expectations: the reasons a row is refused, and the JSON a
// quarantined row is kept as.
#include "features/expectations.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>

#include "data/timestamp.h"

namespace kiln::features {
namespace {

using ::testing::ElementsAre;

data::Column Floats(std::initializer_list<double> values) {
  data::Column column(data::Type::kFloat64);
  for (double v : values) {
    if (std::isnan(v) && std::signbit(v)) {
      column.AppendNull();  // -NaN marks a null in these tests
    } else {
      column.AppendFloat(v);
    }
  }
  return column;
}

const double kNull = -std::numeric_limits<double>::quiet_NaN();

Expectation Range(std::optional<double> min, std::optional<double> max) {
  Expectation expect;
  expect.min = min;
  expect.max = max;
  return expect;
}

FeatureDef Feature(const std::string& name, Expectation expect) {
  FeatureDef def;
  def.name = name;
  def.expect = std::move(expect);
  return def;
}

TEST(ExpectationsTest, RangeFailuresNameTheFeatureValueAndBound) {
  FeatureDef def = Feature("delay_mean_1d", Range(-100.0, 1000.0));
  data::Column values = Floats({2900, 12.5, -250, 1000});
  std::vector<CheckedFeature> features = {{&def, &values, ""}};
  ExpectationReport report = CheckExpectations(features, 4);
  EXPECT_EQ(report.failed_rows, 2);
  EXPECT_THAT(report.reasons, ElementsAre("feature 'delay_mean_1d' = 2900 above max 1000", "",
                                          "feature 'delay_mean_1d' = -250 below min -100", ""));
}

TEST(ExpectationsTest, NanFailsARangeButNullPassesIt) {
  FeatureDef def = Feature("ratio", Range(0.0, 1.0));
  data::Column values = Floats({std::numeric_limits<double>::quiet_NaN(), kNull, 0.5});
  std::vector<CheckedFeature> features = {{&def, &values, ""}};
  ExpectationReport report = CheckExpectations(features, 3);
  EXPECT_THAT(report.reasons, ElementsAre("feature 'ratio' is NaN (expected between 0 and 1)", "", ""));
}

TEST(ExpectationsTest, IntegersAndTheLabelShownInReasons) {
  FeatureDef def = Feature("flights", Range(1.0, std::nullopt));
  data::Column values(data::Type::kInt64);
  values.AppendInt(0);
  values.AppendInt(3);
  std::vector<CheckedFeature> features = {{&def, &values, "origin_delays.flights"}};
  ExpectationReport report = CheckExpectations(features, 2);
  EXPECT_THAT(report.reasons, ElementsAre("feature 'origin_delays.flights' = 0 below min 1", ""));
}

TEST(ExpectationsTest, AllowedValuesCompareAsText) {
  Expectation expect;
  expect.allowed = {"AA", "UA"};
  FeatureDef carrier = Feature("carrier", expect);
  data::Column strings(data::Type::kString);
  strings.AppendString("AA");
  strings.AppendString("ZZ");
  strings.AppendNull();
  Expectation digits;
  digits.allowed = {"1", "2"};
  FeatureDef level = Feature("level", digits);
  data::Column ints(data::Type::kInt64);
  ints.AppendInt(2);
  ints.AppendInt(2);
  ints.AppendInt(7);
  std::vector<CheckedFeature> features = {{&carrier, &strings, ""}, {&level, &ints, ""}};
  ExpectationReport report = CheckExpectations(features, 3);
  EXPECT_EQ(report.failed_rows, 2);
  EXPECT_THAT(report.reasons,
              ElementsAre("", "feature 'carrier' = 'ZZ' is not one of the allowed values (AA, UA)",
                          "feature 'level' = 7 is not one of the allowed values (1, 2)"));
}

TEST(ExpectationsTest, NullFractionAboveTheMaximumRefusesTheNullRows) {
  Expectation expect;
  expect.max_null_fraction = 0.5;
  FeatureDef def = Feature("distance", expect);
  data::Column values = Floats({kNull, 1, kNull, kNull});
  std::vector<CheckedFeature> features = {{&def, &values, ""}};
  ExpectationReport report = CheckExpectations(features, 4);
  EXPECT_EQ(report.failed_rows, 3);
  const std::string reason = "feature 'distance' is null in 3 of 4 rows (75%), above max_null_fraction 0.5";
  EXPECT_THAT(report.reasons, ElementsAre(reason, "", reason, reason));

  // At the maximum, nothing is refused.
  data::Column half = Floats({kNull, 1, kNull, 2});
  std::vector<CheckedFeature> at_max = {{&def, &half, ""}};
  EXPECT_EQ(CheckExpectations(at_max, 4).failed_rows, 0);
}

TEST(ExpectationsTest, TypeMismatchAndSeveralReasonsOnOneRow) {
  Expectation int_type;
  int_type.type = data::Type::kInt64;
  FeatureDef typed = Feature("count", int_type);
  FeatureDef ranged = Feature("fare", Range(std::nullopt, 10.0));
  data::Column floats = Floats({1.5, kNull});
  data::Column fares = Floats({11, 1});
  std::vector<CheckedFeature> features = {{&typed, &floats, ""}, {&ranged, &fares, ""}};
  ExpectationReport report = CheckExpectations(features, 2);
  EXPECT_EQ(report.failed_rows, 1);
  EXPECT_THAT(report.reasons,
              ElementsAre("feature 'count' has type float64, expected int64; feature 'fare' = 11 above max 10", ""));
}

TEST(ExpectationsTest, FeaturesWithoutExpectationsPassEverything) {
  FeatureDef def = Feature("free", {});
  data::Column values = Floats({kNull, std::numeric_limits<double>::infinity()});
  std::vector<CheckedFeature> features = {{&def, &values, ""}};
  ExpectationReport report = CheckExpectations(features, 2);
  EXPECT_EQ(report.failed_rows, 0);
  EXPECT_THAT(report.reasons, ElementsAre("", ""));
}

TEST(ExpectationsTest, RowToJsonWritesEveryType) {
  data::Frame frame;
  data::Column origin(data::Type::kString);
  origin.AppendString("SFO \"x\"");
  data::Column count(data::Type::kInt64);
  count.AppendInt(-3);
  data::Column mean(data::Type::kFloat64);
  mean.AppendFloat(std::numeric_limits<double>::quiet_NaN());
  data::Column flag(data::Type::kBool);
  flag.AppendInt(1);
  data::Column when(data::Type::kTimestamp);
  when.AppendInt(data::DaysFromCivil(2001, 1, 5) * 86400 * data::kMicrosPerSecond);
  data::Column missing(data::Type::kFloat64);
  missing.AppendNull();
  ASSERT_TRUE(frame.AddColumn("origin", origin).ok());
  ASSERT_TRUE(frame.AddColumn("count", count).ok());
  ASSERT_TRUE(frame.AddColumn("mean", mean).ok());
  ASSERT_TRUE(frame.AddColumn("flag", flag).ok());
  ASSERT_TRUE(frame.AddColumn("when", when).ok());
  ASSERT_TRUE(frame.AddColumn("missing", missing).ok());
  EXPECT_EQ(RowToJson(frame, 0),
            "{\"origin\":\"SFO \\\"x\\\"\",\"count\":-3,\"mean\":\"NaN\",\"flag\":true,"
            "\"when\":\"2001-01-05T00:00:00Z\",\"missing\":null}");
}

}  // namespace
}  // namespace kiln::features
