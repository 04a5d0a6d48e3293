#include "training/builtin_trainer_outputs.h"

#include <gtest/gtest.h>

#include <limits>

namespace kiln::training {
namespace {

TEST(BuiltinTrainerOutputsTest, MetricsLinesAreOneObjectEach) {
  std::string text =
      MetricsJsonl({{"valid.auc", 0.5, 3}, {"auc", std::numeric_limits<double>::quiet_NaN(), 0}});
  EXPECT_EQ(text,
            "{\"key\":\"valid.auc\",\"step\":3,\"value\":0.5}\n"
            "{\"key\":\"auc\",\"step\":0,\"value\":\"NaN\"}\n");
}

TEST(BuiltinTrainerOutputsTest, ImportanceListsEveryFeatureInOrder) {
  Json json = FeatureImportanceJson({"b", "a", "unused"}, {{"a", 10}, {"b", 4}}, {{"a", 5}, {"b", 4}},
                                    {{"a", 2}, {"b", 1}});
  EXPECT_EQ(json["format_version"], 1);
  ASSERT_EQ(json["features"].size(), 3u);
  EXPECT_EQ(json["features"][0], (Json{{"name", "b"}, {"total_gain", 4.0}, {"gain", 4.0}, {"weight", 1.0}}));
  EXPECT_EQ(json["features"][1]["total_gain"], 10.0);
  EXPECT_EQ(json["features"][2],
            (Json{{"name", "unused"}, {"total_gain", 0.0}, {"gain", 0.0}, {"weight", 0.0}}));
}

TEST(BuiltinTrainerOutputsTest, ShapImportanceIsTheMeanAbsoluteContributionWithTheBiasApart) {
  // Two rows of (a, b, bias).
  std::vector<float> contributions = {1.0f,  -2.0f, 0.5f,  //
                                      -3.0f, 0.0f,  0.5f};
  Json json = ShapImportanceJson({"a", "b"}, contributions, 2, "validation", 7);
  EXPECT_EQ(json["features"][0], (Json{{"name", "a"}, {"mean_abs_shap", 2.0}}));
  EXPECT_EQ(json["features"][1], (Json{{"name", "b"}, {"mean_abs_shap", 1.0}}));
  EXPECT_EQ(json["bias"], 0.5);
  EXPECT_EQ(json["rows"], 2);
  EXPECT_EQ(json["split_rows"], 7);
  EXPECT_EQ(json["split"], "validation");
}

}  // namespace
}  // namespace kiln::training
