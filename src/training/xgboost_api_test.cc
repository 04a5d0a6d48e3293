#include "training/xgboost_api.h"

#include <gtest/gtest.h>

#include <cmath>

#include "training/builtin_trainer_testing.h"

namespace kiln::training {
namespace {

using trainer_testing::Unwrap;

// 4 rows × 2 columns, label = first column > 0.
struct Tiny {
  std::vector<float> values = {-1, 0.5f, 2, 0.1f, -3, NAN, 4, 1};
  std::vector<float> labels = {0, 1, 0, 1};
};

TEST(XGBoostApiTest, VersionIsTheLinkedLibrary) { EXPECT_EQ(XGBoostVersion(), "1.7.4"); }

TEST(XGBoostApiTest, ErrorsBecomeStatusesWithXGBoostsMessageOnly) {
  Tiny tiny;
  DMatrix matrix = Unwrap(DMatrix::FromDense(tiny.values, 4, 2, 1));
  ASSERT_TRUE(matrix.SetLabels(tiny.labels).ok());
  Booster booster = Unwrap(Booster::Create({&matrix}));
  ASSERT_TRUE(booster.SetParam("max_depth", "deep").ok());  // XGBoost checks parameters lazily
  Status status = booster.UpdateOneIter(0, matrix);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  // No "[12:00:00] ../src/learner.cc:123: " prefix, no stack trace.
  EXPECT_EQ(status.message(),
            "XGBoost: boosting round 0: Invalid Parameter format for max_depth expect int but value='deep'");

  // A source location before the message is dropped too.
  std::vector<float> negative = {-1, 1, 1, 1};
  ASSERT_TRUE(matrix.SetLabels(negative).ok());
  Booster gamma = Unwrap(Booster::Create({&matrix}));
  ASSERT_TRUE(gamma.SetParam("objective", "reg:gamma").ok());
  EXPECT_EQ(gamma.UpdateOneIter(0, matrix).message(),
            "XGBoost: boosting round 0: GammaRegression: label must be positive.");

  Status garbage = Booster::FromModelBytes("not a model").status();
  EXPECT_EQ(garbage.message().rfind("XGBoost: loading a model: ", 0), 0u) << garbage.message();
}

TEST(XGBoostApiTest, TrainsSavesSlicesAndPredictsInPlace) {
  Tiny tiny;
  DMatrix matrix = Unwrap(DMatrix::FromDense(tiny.values, 4, 2, 1));
  ASSERT_TRUE(matrix.SetLabels(tiny.labels).ok());
  Booster booster = Unwrap(Booster::Create({&matrix}));
  ASSERT_TRUE(booster.SetParam("objective", "binary:logistic").ok());
  ASSERT_TRUE(booster.SetParam("min_child_weight", "0").ok());
  ASSERT_TRUE(booster.SetFeatureInfo({"a", "b"}, {"float", "float"}).ok());
  for (int round = 0; round < 3; ++round) ASSERT_TRUE(booster.UpdateOneIter(round, matrix).ok());
  EXPECT_EQ(Unwrap(booster.BoostedRounds()), 3);
  EXPECT_EQ(Unwrap(booster.NumFeatures()), 2u);
  std::string line = Unwrap(booster.EvalOneIter(2, {{"train", &matrix}}));
  EXPECT_EQ(line.rfind("[2]\ttrain-logloss:", 0), 0u) << line;

  Booster first_two = Unwrap(booster.Slice(0, 2));
  EXPECT_EQ(Unwrap(first_two.BoostedRounds()), 2);
  Booster reloaded = Unwrap(Booster::FromModelBytes(Unwrap(booster.SaveModel("ubj"))));
  std::vector<float> from_matrix = Unwrap(reloaded.Predict(matrix, Booster::PredictionType::kValue));
  std::vector<float> in_place = Unwrap(reloaded.PredictDense(tiny.values.data(), 4, 2));
  EXPECT_EQ(from_matrix, in_place);
  EXPECT_LT(in_place[0], 0.5f);
  EXPECT_GT(in_place[3], 0.5f);
  std::vector<float> contributions =
      Unwrap(reloaded.Predict(matrix, Booster::PredictionType::kContributions));
  ASSERT_EQ(contributions.size(), 4u * 3u);
  std::vector<float> margins = Unwrap(reloaded.Predict(matrix, Booster::PredictionType::kMargin));
  for (size_t row = 0; row < 4; ++row) {  // SHAP values add up to the margin
    EXPECT_NEAR(contributions[row * 3] + contributions[row * 3 + 1] + contributions[row * 3 + 2],
                margins[row], 1e-5);
  }
  auto gain = Unwrap(reloaded.FeatureScores("total_gain"));
  EXPECT_TRUE(gain.count("a"));
}

}  // namespace
}  // namespace kiln::training
