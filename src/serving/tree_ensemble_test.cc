#include "serving/tree_ensemble.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/json.h"
#include "training/xgboost_api.h"

namespace kiln::serving {
namespace {

using training::Booster;
using training::DMatrix;

template <typename T>
T Unwrap(Result<T> result) {
  if (!result.ok()) {
    ADD_FAILURE() << "unexpected error: " << result.status().ToString();
    throw std::runtime_error(result.status().ToString());
  }
  return std::move(result).value();
}

enum class Labels { kBinary, kRegression, kPositive, kThreeClasses };

// Row-major synthetic data: `nan_fraction` of the values are missing; the
// label depends on the first five features (a missing one counts as 0.3).
struct Dataset {
  std::vector<float> values;
  std::vector<float> labels;
  size_t rows = 0;
  size_t columns = 0;

  const float* Row(size_t row) const { return values.data() + row * columns; }
};

Dataset MakeData(size_t rows, size_t columns, double nan_fraction, uint32_t seed, Labels labels) {
  std::mt19937 generator(seed);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<double> uniform;
  Dataset data;
  data.rows = rows;
  data.columns = columns;
  for (size_t row = 0; row < rows; ++row) {
    float signal = 0;
    for (size_t column = 0; column < columns; ++column) {
      float value = uniform(generator) < nan_fraction ? NAN : normal(generator);
      if (column < 5) signal += std::isnan(value) ? 0.3f : value * static_cast<float>(column + 1) / 5;
      data.values.push_back(value);
    }
    const float noise = normal(generator);
    switch (labels) {
      case Labels::kBinary:
        data.labels.push_back(signal + noise > 0 ? 1.0f : 0.0f);
        break;
      case Labels::kRegression:
        data.labels.push_back(10 + signal + 0.1f * noise);
        break;
      case Labels::kPositive:
        data.labels.push_back(std::exp(0.3f * signal) + 0.05f);
        break;
      case Labels::kThreeClasses:
        data.labels.push_back(signal < -1 ? 0.0f : signal < 1 ? 1.0f : 2.0f);
        break;
    }
  }
  return data;
}

// A booster trained on `data` with `params` for `rounds` rounds, with the
// matrix it was trained on.
struct Trained {
  DMatrix matrix;
  Booster booster;
};

Trained Train(const Dataset& data, const std::map<std::string, std::string>& params, int rounds) {
  DMatrix matrix = Unwrap(DMatrix::FromDense(data.values, data.rows, data.columns, 1));
  EXPECT_TRUE(matrix.SetLabels(data.labels).ok());
  Booster booster = Unwrap(Booster::Create({&matrix}));
  EXPECT_TRUE(booster.SetParam("nthread", "1").ok());  // OpenMP threads crawl on a busy 2-core machine
  EXPECT_TRUE(booster.SetParam("seed", "3").ok());
  for (const auto& [name, value] : params) EXPECT_TRUE(booster.SetParam(name, value).ok()) << name;
  for (int round = 0; round < rounds; ++round) {
    Status status = booster.UpdateOneIter(round, matrix);
    if (!status.ok()) throw std::runtime_error(status.ToString());
  }
  return Trained{std::move(matrix), std::move(booster)};
}

std::string Json(const Booster& booster) { return Unwrap(booster.SaveModel("json")); }

// Adds, for every split of the first trees, a row whose split feature is
// exactly the threshold (which must go right), so that ties are tested.
void AddRowsOnThresholds(const std::string& model_json, Dataset* data) {
  const kiln::Json model = kiln::Json::parse(model_json);
  const kiln::Json& trees = model["learner"]["gradient_booster"]["model"]["trees"];
  for (size_t t = 0; t < std::min<size_t>(trees.size(), 5); ++t) {
    const kiln::Json& tree = trees[t];
    for (size_t node = 0; node < tree["left_children"].size(); ++node) {
      if (tree["left_children"][node] == -1) continue;
      std::vector<float> row(data->Row(node % data->rows), data->Row(node % data->rows) + data->columns);
      row[tree["split_indices"][node].get<size_t>()] = tree["split_conditions"][node].get<float>();
      data->values.insert(data->values.end(), row.begin(), row.end());
      ++data->rows;
    }
  }
  data->values.insert(data->values.end(), data->columns, NAN);  // a row with every value missing
  ++data->rows;
}

uint32_t Bits(float value) { return std::bit_cast<uint32_t>(value); }

// Every row of `test` through PredictRow, PredictMargin, PredictBatch and
// PredictBatchParallel must give exactly XGBoost's float. (XGBoost's
// margins come from a DMatrix, which refuses infinities: rows with them
// are checked without margins.)
void ExpectSameAsXGBoost(const TreeEnsemble& model, const Booster& booster, const Dataset& test,
                         bool check_margins = true) {
  ASSERT_EQ(model.num_features(), test.columns);
  const std::vector<float> expected = Unwrap(booster.PredictDense(test.values.data(), test.rows, test.columns));
  std::vector<float> margins(test.rows);
  for (size_t row = 0; row < test.rows; ++row) margins[row] = model.PredictMargin(test.Row(row));
  if (check_margins) {
    DMatrix matrix = Unwrap(DMatrix::FromDense(test.values, test.rows, test.columns, 1));
    margins = Unwrap(booster.Predict(matrix, Booster::PredictionType::kMargin));
  }
  ASSERT_EQ(expected.size(), test.rows);
  std::vector<float> batch(test.rows), parallel(test.rows, -1), one_thread(test.rows, -1);
  model.PredictBatch(test.values.data(), test.rows, test.columns, batch.data());
  PredictBatchParallel(model, test.values.data(), test.rows, test.columns, parallel.data(), 2);
  PredictBatchParallel(model, test.values.data(), test.rows, test.columns, one_thread.data(), 1);
  size_t mismatches = 0;
  for (size_t row = 0; row < test.rows; ++row) {
    const float single = model.PredictRow(test.Row(row));
    const float margin = model.PredictMargin(test.Row(row));
    const bool same = Bits(single) == Bits(expected[row]) && Bits(margin) == Bits(margins[row]) &&
                      Bits(batch[row]) == Bits(expected[row]) && Bits(parallel[row]) == Bits(expected[row]) &&
                      Bits(one_thread[row]) == Bits(expected[row]);
    if (!same && ++mismatches <= 5) {
      ADD_FAILURE() << "row " << row << ": XGBoost " << expected[row] << " (margin " << margins[row]
                    << "), PredictRow " << single << " (margin " << margin << "), PredictBatch " << batch[row]
                    << ", PredictBatchParallel " << parallel[row] << " / " << one_thread[row];
    }
  }
  EXPECT_EQ(mismatches, 0u) << "of " << test.rows << " rows";
}

TEST(TreeEnsembleTest, BinaryLogisticDepth6With100TreesAndMissingValuesIsExactlyXGBoost) {
  Dataset train = MakeData(3000, 20, 0.1, 1, Labels::kBinary);
  Trained trained = Train(train, {{"objective", "binary:logistic"}, {"max_depth", "6"}, {"tree_method", "hist"}}, 100);
  const std::string json = Json(trained.booster);
  TreeEnsemble model = Unwrap(TreeEnsemble::FromXGBoostJson(json));
  EXPECT_EQ(model.num_trees(), 100u);
  EXPECT_EQ(model.num_features(), 20u);
  EXPECT_EQ(model.objective(), "binary:logistic");

  Dataset test = MakeData(2000, 20, 0.1, 2, Labels::kBinary);
  AddRowsOnThresholds(json, &test);
  ExpectSameAsXGBoost(model, trained.booster, test);
  ExpectSameAsXGBoost(model, trained.booster, train);
}

TEST(TreeEnsembleTest, SquaredErrorWithExactTreesIsExactlyXGBoost) {
  Dataset train = MakeData(2000, 8, 0.05, 3, Labels::kRegression);
  Trained trained =
      Train(train, {{"objective", "reg:squarederror"}, {"max_depth", "5"}, {"tree_method", "exact"}}, 60);
  const std::string json = Json(trained.booster);
  TreeEnsemble model = Unwrap(TreeEnsemble::FromXGBoostJson(json));
  Dataset test = MakeData(1500, 8, 0.05, 4, Labels::kRegression);
  AddRowsOnThresholds(json, &test);
  ExpectSameAsXGBoost(model, trained.booster, test);
}

TEST(TreeEnsembleTest, DeepAndUnevenTreesAreExactlyXGBoost) {
  // Loss-guided trees up to depth 14: deeper than the complete-tree layout
  // takes, so both layouts are exercised, with uneven leaf depths.
  Dataset train = MakeData(4000, 10, 0.1, 5, Labels::kRegression);
  Trained trained = Train(train,
                          {{"objective", "reg:squarederror"},
                           {"tree_method", "hist"},
                           {"grow_policy", "lossguide"},
                           {"max_depth", "14"},
                           {"max_leaves", "200"},
                           {"min_child_weight", "0"}},
                          30);
  TreeEnsemble model = Unwrap(TreeEnsemble::FromXGBoostJson(Json(trained.booster)));
  ExpectSameAsXGBoost(model, trained.booster, MakeData(1500, 10, 0.1, 6, Labels::kRegression));
}

TEST(TreeEnsembleTest, ApproxTreesAndParallelTreesAreExactlyXGBoost) {
  Dataset train = MakeData(2000, 6, 0.1, 7, Labels::kBinary);
  Trained trained = Train(train,
                          {{"objective", "binary:logistic"},
                           {"tree_method", "approx"},
                           {"num_parallel_tree", "3"},
                           {"subsample", "0.7"},
                           {"max_depth", "4"}},
                          10);
  TreeEnsemble model = Unwrap(TreeEnsemble::FromXGBoostJson(Json(trained.booster)));
  EXPECT_EQ(model.num_trees(), 30u);
  Dataset test = MakeData(1000, 6, 0.1, 8, Labels::kBinary);
  ExpectSameAsXGBoost(model, trained.booster, test);

  // Rounds count num_parallel_tree trees each.
  Booster first_four = Unwrap(trained.booster.Slice(0, 4));
  TreeEnsemble four_rounds = Unwrap(TreeEnsemble::FromXGBoostJson(Json(trained.booster), 4));
  EXPECT_EQ(four_rounds.num_trees(), 12u);
  ExpectSameAsXGBoost(four_rounds, first_four, test);

  // XGBoost 2.0 records where each round starts (iteration_indptr) instead.
  kiln::Json edited = kiln::Json::parse(Json(trained.booster));
  edited["learner"]["gradient_booster"]["model"]["gbtree_model_param"].erase("num_parallel_tree");
  edited["learner"]["gradient_booster"]["model"]["iteration_indptr"] = {0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30};
  TreeEnsemble from_indptr = Unwrap(TreeEnsemble::FromXGBoostJson(edited.dump(), 4));
  EXPECT_EQ(from_indptr.num_trees(), 12u);
  ExpectSameAsXGBoost(from_indptr, first_four, test);
}

TEST(TreeEnsembleTest, ModelsSplittingOnHundredsOfFeaturesAreExactlyXGBoost) {
  // More distinct split features than the scratch row kept on the stack.
  Dataset train = MakeData(600, 700, 0.1, 21, Labels::kBinary);
  std::mt19937 generator(22);
  for (size_t row = 0; row < train.rows; ++row) {  // every feature carries a little signal
    float sum = 0;
    for (size_t column = 0; column < train.columns; ++column) {
      const float value = train.values[row * train.columns + column];
      if (!std::isnan(value)) sum += value;
    }
    train.labels[row] = sum + std::normal_distribution<float>(0, 3)(generator) > 0 ? 1.0f : 0.0f;
  }
  Trained trained = Train(train,
                          {{"objective", "binary:logistic"},
                           {"max_depth", "6"},
                           {"colsample_bynode", "0.2"},
                           {"max_bin", "16"},
                           {"min_child_weight", "0"},
                           {"tree_method", "hist"}},
                          40);
  const std::string json = Json(trained.booster);
  std::set<int64_t> split_features;
  const kiln::Json parsed = kiln::Json::parse(json);
  for (const kiln::Json& tree : parsed["learner"]["gradient_booster"]["model"]["trees"]) {
    for (size_t node = 0; node < tree["left_children"].size(); ++node) {
      if (tree["left_children"][node] != -1) split_features.insert(tree["split_indices"][node].get<int64_t>());
    }
  }
  ASSERT_GT(split_features.size(), 512u);
  TreeEnsemble model = Unwrap(TreeEnsemble::FromXGBoostJson(json));
  ExpectSameAsXGBoost(model, trained.booster, MakeData(200, 700, 0.1, 23, Labels::kBinary));
}

// Early stopping keeps the first best_iteration + 1 rounds: the trainer
// slices the booster; a caller can also ask for fewer rounds than the model has.
TEST(TreeEnsembleTest, FewerRoundsThanTreesMatchXGBoostsIterationRange) {
  Dataset train = MakeData(2000, 12, 0.1, 9, Labels::kBinary);
  Trained trained = Train(train, {{"objective", "binary:logistic"}, {"max_depth", "6"}}, 50);
  const std::string json = Json(trained.booster);
  Dataset test = MakeData(1000, 12, 0.1, 10, Labels::kBinary);
  Booster first_17 = Unwrap(trained.booster.Slice(0, 17));

  TreeEnsemble sliced = Unwrap(TreeEnsemble::FromXGBoostJson(Json(first_17)));
  EXPECT_EQ(sliced.num_trees(), 17u);
  ExpectSameAsXGBoost(sliced, first_17, test);

  TreeEnsemble limited = Unwrap(TreeEnsemble::FromXGBoostJson(json, 17));
  EXPECT_EQ(limited.num_trees(), 17u);
  ExpectSameAsXGBoost(limited, first_17, test);

  TreeEnsemble all = Unwrap(TreeEnsemble::FromXGBoostJson(json, 50));
  EXPECT_EQ(all.num_trees(), 50u);

  Status too_many = TreeEnsemble::FromXGBoostJson(json, 51).status();
  EXPECT_EQ(too_many.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(too_many.message(), "rounds 51 is more than the model's 50 boosting rounds");
  EXPECT_EQ(TreeEnsemble::FromXGBoostJson(json, -1).status().message(), "rounds must not be negative, got -1");
}

TEST(TreeEnsembleTest, TheModelReloadedFromUbjsonAsTheServerLoadsItIsExactlyXGBoost) {
  Dataset train = MakeData(1500, 20, 0.1, 11, Labels::kBinary);
  Trained trained = Train(train, {{"objective", "binary:logistic"}, {"max_depth", "6"}}, 40);
  Booster reloaded = Unwrap(Booster::FromModelBytes(Unwrap(trained.booster.SaveModel("ubj"))));
  TreeEnsemble model = Unwrap(TreeEnsemble::FromXGBoostJson(Json(reloaded)));
  ExpectSameAsXGBoost(model, reloaded, MakeData(1000, 20, 0.1, 12, Labels::kBinary));
}

struct ObjectiveCase {
  std::string objective;
  Labels labels;
  std::string base_score;  // "" for XGBoost's default
};

void PrintTo(const ObjectiveCase& param, std::ostream* out) { *out << param.objective; }

class TreeEnsembleObjectiveTest : public testing::TestWithParam<ObjectiveCase> {};

// Each objective's base margin (ProbToMargin) and transform, including a
// base_score whose logit / log is not exact in float.
TEST_P(TreeEnsembleObjectiveTest, IsExactlyXGBoost) {
  const ObjectiveCase& param = GetParam();
  Dataset train = MakeData(1500, 8, 0.1, 13, param.labels);
  std::map<std::string, std::string> params = {{"objective", param.objective}, {"max_depth", "4"}};
  if (!param.base_score.empty()) params["base_score"] = param.base_score;
  Trained trained = Train(train, params, 25);
  TreeEnsemble model = Unwrap(TreeEnsemble::FromXGBoostJson(Json(trained.booster)));
  EXPECT_EQ(model.objective(), param.objective);
  ExpectSameAsXGBoost(model, trained.booster, MakeData(1000, 8, 0.1, 14, param.labels));
}

INSTANTIATE_TEST_SUITE_P(Objectives, TreeEnsembleObjectiveTest,
                         testing::Values(ObjectiveCase{"binary:logistic", Labels::kBinary, "0.3"},
                                         ObjectiveCase{"binary:logitraw", Labels::kBinary, "0.7"},
                                         ObjectiveCase{"reg:logistic", Labels::kBinary, ""},
                                         ObjectiveCase{"reg:squarederror", Labels::kRegression, "9.7"},
                                         ObjectiveCase{"reg:absoluteerror", Labels::kRegression, ""},
                                         ObjectiveCase{"reg:pseudohubererror", Labels::kRegression, ""},
                                         ObjectiveCase{"count:poisson", Labels::kPositive, "1.3"},
                                         ObjectiveCase{"reg:gamma", Labels::kPositive, "0.7"},
                                         ObjectiveCase{"reg:tweedie", Labels::kPositive, ""}),
                         [](const testing::TestParamInfo<ObjectiveCase>& info) {
                           std::string name = info.param.objective;
                           for (char& c : name) {
                             if (c == ':') c = '_';
                           }
                           return name;
                         });

// A real two-split model (root on feature 0, its children on feature 1),
// edited to chosen thresholds, default directions and leaf values, then
// loaded into XGBoost too: both must agree, and on what the split rule says.
class EditedModel {
 public:
  EditedModel() {
    Dataset train = MakeData(500, 2, 0.0, 15, Labels::kBinary);
    for (size_t row = 0; row < train.rows; ++row) {  // a label that needs both features
      train.labels[row] = (train.values[row * 2] > 0) == (train.values[row * 2 + 1] > 0) ? 1.0f : 0.0f;
    }
    Trained trained =
        Train(train, {{"objective", "binary:logistic"}, {"max_depth", "2"}, {"min_child_weight", "0"}}, 1);
    json_ = kiln::Json::parse(Json(trained.booster));
    // Root on feature 0, both children on feature 1.
    kiln::Json& nodes = tree();
    EXPECT_NE(nodes["left_children"][1], -1);
    EXPECT_NE(nodes["left_children"][2], -1);
    nodes["split_indices"][0] = 0;
    nodes["split_indices"][1] = 1;
    nodes["split_indices"][2] = 1;
  }

  kiln::Json& tree() { return json_["learner"]["gradient_booster"]["model"]["trees"][0]; }
  std::string text() const { return json_.dump(); }
  Booster booster() const { return Unwrap(Booster::FromModelBytes(text())); }

 private:
  kiln::Json json_;
};

TEST(TreeEnsembleTest, SplitRuleValueBelowThresholdGoesLeftTiesGoRightMissingFollowsTheDefault) {
  EditedModel edited;
  kiln::Json& tree = edited.tree();
  ASSERT_EQ(tree["left_children"][0], 1);
  tree["split_conditions"][0] = 0.5;
  tree["default_left"][0] = 1;
  // Leaves: distinct margins, so the leaf reached is visible in the output.
  for (size_t node = 1; node < tree["left_children"].size(); ++node) {
    if (tree["left_children"][node] == -1) tree["split_conditions"][node] = 0.125 * static_cast<double>(node);
  }
  for (int node : {1, 2}) {
    if (tree["left_children"][node] != -1) {
      tree["split_conditions"][node] = 0.0;
      tree["default_left"][node] = node == 1 ? 0 : 1;  // left child: missing goes right; right child: left
    }
  }
  TreeEnsemble model = Unwrap(TreeEnsemble::FromXGBoostJson(edited.text()));
  const float kInfinity = std::numeric_limits<float>::infinity();
  Dataset rows;
  rows.columns = 2;
  rows.values = {0.49999997f, -1, 0.5f, -1,   0.50000006f, 1,    NAN,  NAN,   NAN,  0,
                 0.5f,        0,  -0.0f, 0,   0.5f,       -0.0f, 1e30f, -1e-30f, -1e30f, NAN};
  rows.rows = rows.values.size() / 2;
  ExpectSameAsXGBoost(model, edited.booster(), rows);
  Dataset infinite;
  infinite.columns = 2;
  infinite.values = {-kInfinity, 2, kInfinity, NAN, 0.25f, kInfinity, 0.75f, -kInfinity};
  infinite.rows = 4;
  ExpectSameAsXGBoost(model, edited.booster(), infinite, /*check_margins=*/false);

  auto leaf_of = [&](float x0, float x1) {
    const float row[2] = {x0, x1};
    return model.PredictMargin(row);
  };
  const int left = tree["left_children"][0], right = tree["right_children"][0];
  // Below the threshold → left subtree; equal → right subtree; NaN → left (default).
  auto subtree_leaf = [&](int node, bool go_left) {
    if (tree["left_children"][node] == -1) return tree["split_conditions"][node].get<float>();
    const int child = go_left ? tree["left_children"][node].get<int>() : tree["right_children"][node].get<int>();
    return tree["split_conditions"][child].get<float>();
  };
  EXPECT_EQ(leaf_of(0.49999997f, -1), subtree_leaf(left, true));
  EXPECT_EQ(leaf_of(0.5f, -1), subtree_leaf(right, true));
  EXPECT_EQ(leaf_of(NAN, -1), subtree_leaf(left, true));
  EXPECT_EQ(leaf_of(0.5f, 0.0f), subtree_leaf(right, false));  // tie on the second split: right
}

TEST(TreeEnsembleTest, DefaultLeftSplitAtMinusInfinitySendsOnlyMissingValuesLeft) {
  EditedModel edited;
  edited.tree()["split_conditions"][0] = -12345.5;  // becomes -Infinity in the text below
  edited.tree()["default_left"][0] = 1;
  edited.tree()["split_conditions"][1] = 1e30;  // +Infinity
  edited.tree()["default_left"][1] = 0;
  std::string text = edited.text();
  for (auto [from, to] : {std::pair<std::string, std::string>{"-12345.5", "-Infinity"}, {"1e+30", "Infinity"}}) {
    ASSERT_NE(text.find(from), std::string::npos) << from;
    text.replace(text.find(from), from.size(), to);
  }
  TreeEnsemble model = Unwrap(TreeEnsemble::FromXGBoostJson(text));
  Booster booster = Unwrap(Booster::FromModelBytes(text));
  const float kInfinity = std::numeric_limits<float>::infinity();
  Dataset rows;
  rows.columns = 2;
  rows.values = {NAN, 0, NAN, NAN, -kInfinity, 1, -1e38f, -1, 5, NAN, NAN, kInfinity, NAN, 1e38f};
  rows.rows = rows.values.size() / 2;
  ExpectSameAsXGBoost(model, booster, rows, /*check_margins=*/false);
  const float missing[2] = {NAN, 0}, minus_infinity[2] = {-kInfinity, 0};
  EXPECT_NE(model.PredictMargin(missing), model.PredictMargin(minus_infinity));
}

TEST(TreeEnsembleTest, SigmoidClampsLikeXGBoostForExtremeMargins) {
  for (double leaf : {-120.0, -88.75, -30.0, 30.0, 120.0}) {
    EditedModel edited;
    kiln::Json& tree = edited.tree();
    for (size_t node = 0; node < tree["left_children"].size(); ++node) {
      if (tree["left_children"][node] == -1) tree["split_conditions"][node] = leaf;
    }
    TreeEnsemble model = Unwrap(TreeEnsemble::FromXGBoostJson(edited.text()));
    Dataset rows;
    rows.columns = 2;
    rows.values = {0.1f, 0.2f, NAN, -3.0f};
    rows.rows = 2;
    ExpectSameAsXGBoost(model, edited.booster(), rows);
  }
}

// Several threads predicting at once, single rows and parallel batches
// (which share one pool of helper threads), get the serial answers.
TEST(TreeEnsembleTest, ConcurrentCallersGetTheSameAnswers) {
  Dataset train = MakeData(1200, 10, 0.1, 16, Labels::kBinary);
  Trained trained = Train(train, {{"objective", "binary:logistic"}, {"max_depth", "6"}}, 20);
  const TreeEnsemble model = Unwrap(TreeEnsemble::FromXGBoostJson(Json(trained.booster)));
  std::vector<float> serial(train.rows);
  model.PredictBatch(train.values.data(), train.rows, train.columns, serial.data());
  std::vector<std::vector<float>> rows(4, std::vector<float>(train.rows)), batches(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < rows.size(); ++t) {
    threads.emplace_back([&, t] {
      for (size_t row = 0; row < train.rows; ++row) rows[t][row] = model.PredictRow(train.Row(row));
      for (int repetition = 0; repetition < 5; ++repetition) {
        std::vector<float> batch(train.rows, -1);
        PredictBatchParallel(model, train.values.data(), train.rows, train.columns, batch.data());
        batches[t] = batch;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (size_t t = 0; t < rows.size(); ++t) {
    EXPECT_EQ(rows[t], serial);
    EXPECT_EQ(batches[t], serial);
  }
}

TEST(TreeEnsembleTest, FeatureNamesAndBaseMarginComeFromTheModel) {
  Dataset train = MakeData(300, 3, 0.0, 17, Labels::kBinary);
  DMatrix matrix = Unwrap(DMatrix::FromDense(train.values, train.rows, train.columns, 1));
  ASSERT_TRUE(matrix.SetLabels(train.labels).ok());
  Booster booster = Unwrap(Booster::Create({&matrix}));
  ASSERT_TRUE(booster.SetParam("objective", "binary:logistic").ok());
  ASSERT_TRUE(booster.SetParam("base_score", "0.25").ok());
  ASSERT_TRUE(booster.SetFeatureInfo({"age", "income", "tenure"}, {"float", "float", "int"}).ok());
  ASSERT_TRUE(booster.UpdateOneIter(0, matrix).ok());
  TreeEnsemble model = Unwrap(TreeEnsemble::FromXGBoostJson(Json(booster)));
  EXPECT_EQ(model.feature_names(), (std::vector<std::string>{"age", "income", "tenure"}));
  EXPECT_EQ(model.base_margin(), -std::log(1.0f / 0.25f - 1.0f));
}

// ---- Refusals: the caller falls back to XGBoost's predictor on these. ----

TEST(TreeEnsembleTest, RefusesDartGblinearMultiClassAndCategoricalModelsNamingWhy) {
  Dataset binary = MakeData(300, 4, 0.0, 18, Labels::kBinary);
  Status dart = TreeEnsemble::FromXGBoostJson(
                    Json(Train(binary, {{"objective", "binary:logistic"}, {"booster", "dart"}}, 3).booster))
                    .status();
  EXPECT_EQ(dart.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(dart.message(), "model uses booster 'dart'; the fast predictor supports gbtree");

  Status linear = TreeEnsemble::FromXGBoostJson(
                      Json(Train(binary, {{"objective", "binary:logistic"}, {"booster", "gblinear"}}, 3).booster))
                      .status();
  EXPECT_EQ(linear.message(), "model uses booster 'gblinear'; the fast predictor supports gbtree");

  Dataset classes = MakeData(300, 4, 0.0, 19, Labels::kThreeClasses);
  Status softprob = TreeEnsemble::FromXGBoostJson(
                        Json(Train(classes, {{"objective", "multi:softprob"}, {"num_class", "3"}}, 3).booster))
                        .status();
  EXPECT_EQ(softprob.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(softprob.message(), "objective 'multi:softprob' is not supported by the fast predictor");

  // A categorical feature: XGBoost writes its split thresholds as bare NaN.
  Dataset categories = MakeData(400, 3, 0.0, 20, Labels::kBinary);
  for (size_t row = 0; row < categories.rows; ++row) {
    float& category = categories.values[row * 3];
    category = static_cast<float>(row % 5);
    categories.labels[row] = (row % 5 == 1 || row % 5 == 3) ? 1.0f : 0.0f;
  }
  DMatrix matrix = Unwrap(DMatrix::FromDense(categories.values, categories.rows, 3, 1));
  ASSERT_TRUE(matrix.SetLabels(categories.labels).ok());
  ASSERT_TRUE(matrix.SetFeatureInfo({"colour", "x", "y"}, {"c", "q", "q"}).ok());
  Booster categorical = Unwrap(Booster::Create({&matrix}));
  ASSERT_TRUE(categorical.SetParam("tree_method", "hist").ok());
  ASSERT_TRUE(categorical.SetParam("objective", "binary:logistic").ok());
  ASSERT_TRUE(categorical.UpdateOneIter(0, matrix).ok());
  const std::string categorical_json = Json(categorical);
  ASSERT_NE(categorical_json.find("NaN"), std::string::npos);
  Status refused = TreeEnsemble::FromXGBoostJson(categorical_json).status();
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.message(), "model has categorical splits (tree 0); the fast predictor supports numerical splits only");
}

TEST(TreeEnsembleTest, UnsupportedObjectiveIsNamed) {
  EditedModel edited;
  kiln::Json model = kiln::Json::parse(edited.text());
  model["learner"]["objective"]["name"] = "rank:pairwise";
  EXPECT_EQ(TreeEnsemble::FromXGBoostJson(model.dump()).status().message(),
            "objective 'rank:pairwise' is not supported by the fast predictor");
}

// ---- Malformed models: InvalidArgument naming the field. ----

std::string MessageOf(const std::string& json) {
  Result<TreeEnsemble> result = TreeEnsemble::FromXGBoostJson(json);
  EXPECT_FALSE(result.ok());
  if (result.ok()) return "";
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << result.status().message();
  return result.status().message();
}

TEST(TreeEnsembleTest, MalformedJsonIsRefusedWithWhereAndWhat) {
  EXPECT_EQ(MessageOf("{\"learner\": "),
            "XGBoost model JSON: parse error at line 1, column 13: syntax error while parsing value - unexpected end "
            "of input; expected '[', '{', or a literal");
  EXPECT_EQ(MessageOf("[1, 2]"), "XGBoost model JSON: the top level is not an object");
  EXPECT_EQ(MessageOf("{\"version\": [1, 7, 4]}"), "XGBoost model JSON: missing field 'learner'");

  EditedModel edited;
  const kiln::Json good = kiln::Json::parse(edited.text());
  auto edit = [&](auto change) {
    kiln::Json model = good;
    change(model);
    return MessageOf(model.dump());
  };
  auto tree = [](kiln::Json& model) -> kiln::Json& { return model["learner"]["gradient_booster"]["model"]["trees"][0]; };

  EXPECT_EQ(edit([](kiln::Json& m) { m["learner"]["gradient_booster"]["model"].erase("trees"); }),
            "XGBoost model JSON: missing field 'learner.gradient_booster.model.trees'");
  EXPECT_EQ(edit([](kiln::Json& m) { m["learner"]["learner_model_param"]["base_score"] = "half"; }),
            "XGBoost model JSON: field 'learner.learner_model_param.base_score' is not a number: \"half\"");
  EXPECT_EQ(edit([&](kiln::Json& m) { tree(m)["left_children"].erase(0); }),
            "XGBoost model JSON: field 'learner.gradient_booster.model.trees[0].left_children' has " +
                std::to_string(good["learner"]["gradient_booster"]["model"]["trees"][0]["left_children"].size() - 1) +
                " entries for " +
                std::to_string(good["learner"]["gradient_booster"]["model"]["trees"][0]["left_children"].size()) +
                " nodes");
  EXPECT_EQ(edit([&](kiln::Json& m) { tree(m)["split_conditions"][0] = "low"; }),
            "XGBoost model JSON: field 'learner.gradient_booster.model.trees[0].split_conditions' holds a "
            "non-number: \"low\"");
  EXPECT_EQ(edit([&](kiln::Json& m) { tree(m)["left_children"][0] = 99; }),
            "XGBoost model JSON: learner.gradient_booster.model.trees[0] node 0 has child 99 outside [1, " +
                std::to_string(good["learner"]["gradient_booster"]["model"]["trees"][0]["left_children"].size()) +
                ")");
  EXPECT_EQ(edit([&](kiln::Json& m) { tree(m)["right_children"][0] = tree(m)["left_children"][0]; }),
            "XGBoost model JSON: learner.gradient_booster.model.trees[0] node 0 leads to node 1 a second time");
  EXPECT_EQ(edit([&](kiln::Json& m) { tree(m)["split_indices"][0] = 7; }),
            "XGBoost model JSON: learner.gradient_booster.model.trees[0] node 0 splits on feature 7 but the model "
            "has 2 features");
  EXPECT_EQ(edit([](kiln::Json& m) { m["learner"]["gradient_booster"]["model"]["tree_info"].push_back(0); }),
            "XGBoost model JSON: 'learner.gradient_booster.model.tree_info' has 2 entries for 1 trees");
}

}  // namespace
}  // namespace kiln::serving
