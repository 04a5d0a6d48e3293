#include "training/evaluation.h"

#include <gtest/gtest.h>

#include <cmath>

#include "training/builtin_trainer_testing.h"
#include "training/xgboost_api.h"

namespace kiln::training {
namespace {

using trainer_testing::Unwrap;

TEST(EvaluationTest, AucCountsTiesAsOneHalf) {
  // Pairs (pos, neg): (0.35 > 0.1) (0.35 < 0.4) (0.8 > 0.1) (0.8 > 0.4) → 3/4.
  EXPECT_DOUBLE_EQ(AreaUnderRoc({0, 0, 1, 1}, {0.1f, 0.4f, 0.35f, 0.8f}), 0.75);
  EXPECT_DOUBLE_EQ(AreaUnderRoc({0, 1}, {0.5f, 0.5f}), 0.5);
  // One tie of a positive with one of two negatives: (1 + 0.5) / 2.
  EXPECT_DOUBLE_EQ(AreaUnderRoc({0, 0, 1}, {0.2f, 0.6f, 0.6f}), 0.75);
  EXPECT_TRUE(std::isnan(AreaUnderRoc({1, 1}, {0.2f, 0.6f})));
}

TEST(EvaluationTest, BinaryAndRegressionMetricsOnSmallInputs) {
  auto binary = Unwrap(EvaluateMetrics("binary:logistic", {0, 1, 1, 0}, {0.2f, 0.9f, 0.4f, 0.6f}));
  EXPECT_DOUBLE_EQ(binary["error"], 0.5);  // 0.4 → 0 and 0.6 → 1 are wrong
  double logloss = -(std::log(0.8f) + std::log(0.9f) + std::log(0.4f) + std::log(0.4f)) / 4;
  EXPECT_NEAR(binary["logloss"], logloss, 1e-6);
  EXPECT_DOUBLE_EQ(binary["auc"], 0.75);

  auto regression = Unwrap(EvaluateMetrics("reg:squarederror", {1, 2, 3}, {1, 2, 5}));
  EXPECT_DOUBLE_EQ(regression["rmse"], std::sqrt(4.0 / 3));
  EXPECT_DOUBLE_EQ(regression["mae"], 2.0 / 3);
  EXPECT_EQ(regression.count("auc"), 0u);
}

TEST(EvaluationTest, ErrorsNameTheProblem) {
  EXPECT_EQ(EvaluateMetrics("binary:logistic", {0, 2}, {0.1f, 0.2f}).status().message(),
            "metrics: label 2 in row 2 is not 0 or 1");
  EXPECT_EQ(EvaluateMetrics("reg:squarederror", {0, 2}, {0.1f}).status().message(),
            "metrics: 2 labels but 1 predictions");
  EXPECT_EQ(EvaluateMetrics("reg:squarederror", {}, {}).status().message(), "metrics: no rows to evaluate");
  EXPECT_EQ(
      ClassifyObjective("multi:softmax").status().message(),
      "objective 'multi:softmax' is not supported by the built-in trainer (use binary:logistic or a reg: "
      "objective)");
  EXPECT_EQ(Unwrap(ClassifyObjective("reg:absoluteerror")), ObjectiveKind::kRegression);
}

TEST(EvaluationTest, HigherIsBetterFollowsXGBoost) {
  EXPECT_TRUE(HigherIsBetter("auc"));
  EXPECT_TRUE(HigherIsBetter("aucpr"));
  EXPECT_TRUE(HigherIsBetter("ndcg@5"));
  EXPECT_FALSE(HigherIsBetter("logloss"));
  EXPECT_FALSE(HigherIsBetter("error@0.7"));
  EXPECT_FALSE(HigherIsBetter("rmse"));
}

TEST(EvaluationTest, ParsesXGBoostEvaluationLines) {
  auto values = Unwrap(ParseEvalLine("[12]\ttrain-auc:0.98\tvalid-error@0.7:0.125\tvalid-logloss:nan"));
  ASSERT_EQ(values.size(), 3u);
  EXPECT_EQ(values[0].set, "train");
  EXPECT_EQ(values[0].metric, "auc");
  EXPECT_DOUBLE_EQ(values[0].value, 0.98);
  EXPECT_EQ(values[1].metric, "error@0.7");
  EXPECT_DOUBLE_EQ(values[1].value, 0.125);
  EXPECT_TRUE(std::isnan(values[2].value));
  EXPECT_EQ(ParseEvalLine("[1]\ttrain-auc=0.9").status().message(),
            "cannot read XGBoost's evaluation output '[1]\ttrain-auc=0.9'");
}

// Trains a few rounds on synthetic data and compares Kiln's metrics of the
// booster's predictions with XGBoost's own evaluation of the same data.
void ExpectAgreementWithXGBoost(const std::string& objective, const std::vector<std::string>& metrics) {
  SplitMix64 generator(11);
  const size_t rows = 3000, columns = 3;
  std::vector<float> features(rows * columns), labels(rows);
  for (size_t i = 0; i < rows; ++i) {
    for (size_t j = 0; j < columns; ++j)
      features[i * columns + j] = static_cast<float>(trainer_testing::Normal(generator));
    // Rounded feature values make many tied predictions, exercising tie handling.
    features[i * columns + 2] = std::round(features[i * columns + 2]);
    double signal = features[i * columns] + 0.8 * trainer_testing::Normal(generator);
    labels[i] = objective == "binary:logistic" ? (signal > 0 ? 1.0f : 0.0f) : static_cast<float>(signal);
  }
  auto matrix = Unwrap(DMatrix::FromDense(features, rows, columns, 1));
  ASSERT_TRUE(matrix.SetLabels(labels).ok());
  auto booster = Unwrap(Booster::Create({&matrix}));
  ASSERT_TRUE(booster.SetParam("objective", objective).ok());
  ASSERT_TRUE(booster.SetParam("max_depth", "2").ok());
  ASSERT_TRUE(booster.SetParam("nthread", "1").ok());
  for (const std::string& metric : metrics) ASSERT_TRUE(booster.SetParam("eval_metric", metric).ok());
  for (int round = 0; round < 4; ++round) ASSERT_TRUE(booster.UpdateOneIter(round, matrix).ok());
  auto line = Unwrap(booster.EvalOneIter(3, {{"valid", &matrix}}));
  auto xgboost_values = Unwrap(ParseEvalLine(line));
  ASSERT_EQ(xgboost_values.size(), metrics.size()) << line;
  auto predictions = Unwrap(booster.Predict(matrix, Booster::PredictionType::kValue));
  auto ours = Unwrap(EvaluateMetrics(objective, labels, predictions));
  for (const EvalValue& value : xgboost_values) {
    ASSERT_TRUE(ours.count(value.metric)) << value.metric;
    EXPECT_NEAR(ours[value.metric], value.value, 1e-6) << value.metric << " in " << line;
  }
}

TEST(EvaluationTest, BinaryMetricsAgreeWithXGBoost) {
  ExpectAgreementWithXGBoost("binary:logistic", {"auc", "logloss", "error"});
}

TEST(EvaluationTest, RegressionMetricsAgreeWithXGBoost) {
  ExpectAgreementWithXGBoost("reg:squarederror", {"rmse", "mae"});
}

}  // namespace
}  // namespace kiln::training
