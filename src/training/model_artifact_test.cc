#include "training/model_artifact.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include "common/hashing.h"
#include "data/csv.h"
#include "training/builtin_trainer.h"
#include "training/builtin_trainer_data.h"
#include "training/builtin_trainer_testing.h"

namespace kiln::training {
namespace {

using trainer_testing::ReadText;
using trainer_testing::TempDir;
using trainer_testing::Unwrap;

// Trains once for the whole suite: the model folder and its data.
class ModelArtifactTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    trainer_testing::WriteSyntheticCsv(dir_->Path("data.csv"), 1000, trainer_testing::LabelKind::kSignal);
    TrainerJob job = trainer_testing::SyntheticJob(dir_->Path("data.csv"));
    job.xgboost.num_boost_round = 20;
    ASSERT_TRUE(RunBuiltinTrainer(job, dir_->Path("out"), true).ok());
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string ModelDir() { return dir_->Path("out/model"); }
  static data::Frame Data() {
    data::ReadOptions options;
    return Unwrap(data::ReadCsv(dir_->Path("data.csv"), options));
  }

  static TempDir* dir_;
};
TempDir* ModelArtifactTest::dir_ = nullptr;

TEST_F(ModelArtifactTest, PredictionsMatchXGBoostAfterReload) {
  LoadedModel model = Unwrap(LoadedModel::Load(ModelDir()));
  EXPECT_EQ(model.signature().features.size(), 4u);
  EXPECT_EQ(model.signature().objective, "binary:logistic");
  data::Frame frame = Data();
  std::vector<float> predictions = Unwrap(model.Predict(frame));
  ASSERT_EQ(predictions.size(), 1000u);

  // XGBoost's own prediction through a DMatrix of the same numbers.
  std::vector<std::string> names = {"x1", "x2", "count", "flag"};
  std::vector<float> matrix = Unwrap(FeatureMatrix(frame, names, nullptr, "the model"));
  DMatrix dmatrix = Unwrap(DMatrix::FromDense(matrix, 1000, 4, 1));
  Booster booster = Unwrap(Booster::FromModelBytes(ReadText(ModelDir() + "/model.ubj")));
  std::vector<float> expected = Unwrap(booster.Predict(dmatrix, Booster::PredictionType::kValue));
  EXPECT_EQ(predictions, expected);
  for (float p : predictions) ASSERT_TRUE(p > 0 && p < 1);

  for (size_t row = 0; row < 1000; ++row) {
    EXPECT_EQ(Unwrap(model.PredictRow(&matrix[row * 4], 4)), predictions[row]) << row;
  }
  EXPECT_EQ(model.PredictRow(matrix.data(), 3).status().message(),
            "a row of 3 values; the model takes 4 features");
}

TEST_F(ModelArtifactTest, ConcurrentPredictionsAgree) {
  LoadedModel model = Unwrap(LoadedModel::Load(ModelDir(), 1));
  data::Frame frame = Data();
  std::vector<float> expected = Unwrap(model.Predict(frame));
  std::vector<float> matrix =
      Unwrap(FeatureMatrix(frame, {"x1", "x2", "count", "flag"}, nullptr, "the model"));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t row = t; row < 1000; row += 4) {
        Result<float> value = model.PredictRow(&matrix[row * 4], 4);
        if (!value.ok() || *value != expected[row]) ++mismatches[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST_F(ModelArtifactTest, PredictNamesAMissingOrWrongFeature) {
  LoadedModel model = Unwrap(LoadedModel::Load(ModelDir()));
  data::Frame frame = Unwrap(Data().Select({"x1", "x2", "flag", "day"}));
  EXPECT_EQ(model.Predict(frame).status().message(),
            "input lacks feature 'count' (columns: x1, x2, flag, day)");
  data::Frame renamed = Unwrap(Data().Select({"x1", "x2", "flag"}));
  ASSERT_TRUE(renamed.AddColumn("count", Data().column(Data().IndexOf("day"))).ok());
  EXPECT_EQ(model.Predict(renamed).status().message(),
            "feature 'count' is a string column; the model takes numbers and booleans");
}

TEST_F(ModelArtifactTest, LoadChecksTheDigestAndFormatVersion) {
  TempDir copy;
  std::filesystem::copy(ModelDir(), copy.path() / "model");
  const std::string dir = copy.Path("model");
  std::string bytes = ReadText(dir + "/model.ubj");
  bytes[bytes.size() / 2] ^= 1;
  trainer_testing::WriteText(dir + "/model.ubj", bytes);
  Json info = Json::parse(ReadText(dir + "/kiln-model.json"));
  Status tampered = LoadedModel::Load(dir).status();
  EXPECT_EQ(tampered.message(), "model file " + dir + "/model.ubj has SHA-256 " + Sha256Hex(bytes) +
                                    ", kiln-model.json says " + info["model_sha256"].get<std::string>());
  info["format_version"] = 2;
  trainer_testing::WriteText(dir + "/kiln-model.json", info.dump());
  EXPECT_EQ(LoadedModel::Load(dir).status().message(),
            "kiln-model.json: format_version 2 is newer than this Kiln reads (up to 1)");
  EXPECT_EQ(LoadedModel::Load(copy.Path("none")).status().message(),
            copy.Path("none") + "/kiln-model.json: no such file");
}

TEST_F(ModelArtifactTest, InfoRoundTripsAndMLmodelIsDeterministic) {
  Json json = Json::parse(ReadText(ModelDir() + "/kiln-model.json"));
  ModelInfo info = Unwrap(ModelInfoFromJson(json));
  EXPECT_EQ(ModelInfoToJson(info), json);
  EXPECT_EQ(info.signature.origin.project, "demo");
  EXPECT_EQ(info.xgboost_version, XGBoostVersion());
  std::string mlmodel = ReadText(ModelDir() + "/MLmodel");
  EXPECT_EQ(mlmodel, MLmodelYaml(info));
  EXPECT_NE(mlmodel.find("    model_format: ubj\n"), std::string::npos);
  EXPECT_NE(mlmodel.find("    xgb_version: " + XGBoostVersion() + "\n"), std::string::npos);
  EXPECT_NE(mlmodel.find("{\"name\":\"flag\",\"type\":\"boolean\"}"), std::string::npos);
  EXPECT_EQ(mlmodel.find("utc_time_created"), std::string::npos);
  json["signature"]["features"][0]["type"] = "complex";
  EXPECT_EQ(ModelInfoFromJson(json).status().message(),
            "kiln-model.json: signature.features[0].type: " + data::ParseType("complex").status().message());
}

// Python's xgboost reads model.ubj and predicts the same numbers.
TEST_F(ModelArtifactTest, PythonXGBoostLoadsTheModel) {
  if (std::system("/usr/bin/python3 -c 'import xgboost' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3 xgboost is not installed";
  }
  LoadedModel model = Unwrap(LoadedModel::Load(ModelDir()));
  data::Frame frame = Data();
  std::vector<float> predictions = Unwrap(model.Predict(frame));
  std::vector<float> matrix =
      Unwrap(FeatureMatrix(frame, {"x1", "x2", "count", "flag"}, nullptr, "the model"));
  TempDir work;
  std::string values;
  for (float value : matrix) {
    char text[32];
    std::snprintf(text, sizeof text, "%.9g\n", value);  // round-trips a float
    values += text;
  }
  trainer_testing::WriteText(work.Path("x.txt"), values);
  std::string command =
      "/usr/bin/python3 -c 'import sys, numpy, xgboost\n"
      "b = xgboost.Booster(model_file=sys.argv[1])\n"
      "x = numpy.loadtxt(sys.argv[2], dtype=numpy.float32).reshape(-1, 4)\n"
      "d = xgboost.DMatrix(x, feature_names=b.feature_names, feature_types=b.feature_types)\n"
      "print(\"\\n\".join(repr(float(p)) for p in b.predict(d)))' " +
      ModelDir() + "/model.ubj " + work.Path("x.txt");
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  ASSERT_EQ(pclose(pipe), 0) << output;
  std::istringstream lines(output);
  std::vector<float> python;
  for (double value; lines >> value;) python.push_back(static_cast<float>(value));
  ASSERT_EQ(python.size(), predictions.size());
  for (size_t row = 0; row < python.size(); ++row) EXPECT_NEAR(python[row], predictions[row], 1e-6) << row;
}

}  // namespace
}  // namespace kiln::training
