#include "training/baseline_profile.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>

namespace kiln::training {
namespace {

constexpr float kNull = std::numeric_limits<float>::quiet_NaN();

StridedValues View(const std::vector<float>& values, size_t offset = 0, size_t stride = 1) {
  return StridedValues{values.data() + offset, values.size() / stride, stride};
}

int64_t Sum(const Json& histogram) {
  int64_t total = 0;
  for (const Json& count : histogram) total += count.get<int64_t>();
  return total;
}

TEST(BaselineProfileTest, QuantileEdgesAreLowerDecilesWithoutDuplicates) {
  std::vector<float> values(100);
  std::iota(values.begin(), values.end(), 1.0f);  // 1 … 100
  EXPECT_EQ(QuantileEdges(View(values), 10), (std::vector<double>{10, 20, 30, 40, 50, 60, 70, 80, 90}));
  std::vector<float> flags = {0, 1, 1, 1, kNull, 0, 1, 1, 1, 1};
  EXPECT_EQ(QuantileEdges(View(flags), 10), (std::vector<double>{0, 1}));
  EXPECT_TRUE(QuantileEdges(View(std::vector<float>{kNull, kNull}), 10).empty());
}

TEST(BaselineProfileTest, SummaryCountsNullsAndBinsEveryValue) {
  std::vector<float> values = {1, 2, kNull, 4, 10, kNull, 3};
  Json summary = SummarizeValues(View(values), {2, 4});
  EXPECT_EQ(summary["count"], 5);
  EXPECT_EQ(summary["null_count"], 2);
  EXPECT_DOUBLE_EQ(summary["mean"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(summary["stddev"].get<double>(), std::sqrt((9 + 4 + 0 + 36 + 1) / 4.0));
  EXPECT_EQ(summary["min"], 1.0);
  EXPECT_EQ(summary["max"], 10.0);
  // (-inf, 2): 1 · [2, 4): 2 3 · [4, +inf): 4 10
  EXPECT_EQ(summary["histogram"], Json({1, 2, 2}));

  Json empty = SummarizeValues(View(std::vector<float>{kNull}), {});
  EXPECT_EQ(empty["count"], 0);
  EXPECT_TRUE(empty["mean"].is_null());
  EXPECT_TRUE(empty["stddev"].is_null());
  EXPECT_EQ(empty["histogram"], Json({0}));
}

TEST(BaselineProfileTest, ProfileReusesTrainEdgesForValidation) {
  // Two features interleaved in a row-major matrix (stride 2).
  std::vector<float> train, validation;
  for (int i = 0; i < 200; ++i) train.insert(train.end(), {static_cast<float>(i), static_cast<float>(i % 2)});
  for (int i = 0; i < 50; ++i) validation.insert(validation.end(), {static_cast<float>(300 + i), kNull});
  std::vector<ProfiledColumn> columns = {
      {"a", "feature", "float64", View(train, 0, 2), View(validation, 0, 2)},
      {"b", "feature", "bool", View(train, 1, 2), View(validation, 1, 2)}};
  Json profile = BuildBaselineProfile(columns, Json{{"label", "y"}});
  EXPECT_EQ(profile["format_version"], kBaselineProfileFormatVersion);
  EXPECT_EQ(profile["label"], "y");
  EXPECT_EQ(profile["rows"]["train"], 200);
  EXPECT_EQ(profile["rows"]["validation"], 50);
  const Json& a = profile["columns"][0];
  EXPECT_EQ(a["name"], "a");
  EXPECT_EQ(a["role"], "feature");
  ASSERT_EQ(a["bin_edges"].size(), 9u);
  EXPECT_EQ(a["bin_edges"][0], 19.0);  // index floor(1 × 199 / 10) = 19
  EXPECT_EQ(Sum(a["train"]["histogram"]), 200);
  for (size_t bin = 0; bin < 10; ++bin) {
    EXPECT_NEAR(a["train"]["histogram"][bin].get<double>(), 20, 1) << bin;
  }
  // Every validation value is past the last train edge: one bin holds all.
  EXPECT_EQ(a["validation"]["histogram"][9], 50);
  EXPECT_EQ(Sum(a["validation"]["histogram"]), 50);
  const Json& b = profile["columns"][1];
  EXPECT_EQ(b["bin_edges"], Json({0.0, 1.0}));
  EXPECT_EQ(b["train"]["histogram"], Json({0, 100, 100}));
  EXPECT_EQ(b["validation"]["null_count"], 50);
  for (const char* key : {"count", "null_count", "mean", "stddev", "min", "max", "histogram"}) {
    EXPECT_TRUE(a["validation"].contains(key)) << key;
  }
}

}  // namespace
}  // namespace kiln::training
