// kiln_bench_training_baseline: the baseline of bench/run-training — the
// training a `kiln run` of a file spec does, in this process, without the
// platform: read the CSV (Kiln's data::ReadCsv), split it exactly as the run
// does (training::SplitData), build the DMatrices and boost with early
// stopping through XGBoost's C API directly, with the spec's parameters,
// seed and nthread (= resources.cpus), and save the model to a buffer. The
// spec is parsed with Kiln's own parser so both sides train on the same
// settings; the saved model bytes are the same as the run's model.ubj
// (feature names and types are set as the built-in trainer sets them), which
// bench/run-training checks by SHA-256. Prints one JSON object per training.
//
// No SHAP, predictions, profile, importances or artifact files: those are
// what the built-in trainer adds and part of the overhead being measured.
#include <xgboost/c_api.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/hashing.h"
#include "data/csv.h"
#include "training/data_split.h"
#include "training/run_spec.h"

namespace kiln_bench {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace training = kiln::training;
namespace data = kiln::data;

constexpr const char* kUsage = R"(usage: kiln_bench_training_baseline --spec SPEC.yaml [options]

  --spec FILE            a run spec with data.file and the built-in xgboost trainer
  --set NAME=VALUE       override, as `kiln run --set` (repeatable)
  --grid NAME=V1,V2,...  every combination, trained one after another in this
                         process, each reading the CSV again (repeatable)
  --model-out FILE       write the (last) model's bytes here
  --extras yes           then also time, step by step, what the built-in trainer
                         does after training (reload, predictions, SHAP, importances)
  --shap-rows N          SHAP on at most N validation rows (default 500, as the
                         built-in trainer's kShapMaxRows)
Prints one JSON object per training; with --grid, then one summary object.
)";

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "kiln_bench_training_baseline: %s\n", message.c_str());
  std::exit(1);
}

template <typename T>
T OrFail(kiln::Result<T> result) {
  if (!result.ok()) Fail(result.status().message());
  return std::move(*result);
}

void Check(int rc, const char* what) {
  if (rc != 0) Fail(std::string("XGBoost: ") + what + ": " + XGBGetLastError());
}

double Seconds(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

struct MatrixFree {
  void operator()(void* handle) const { XGDMatrixFree(handle); }
};
struct BoosterFree {
  void operator()(void* handle) const { XGBoosterFree(handle); }
};
using MatrixPtr = std::unique_ptr<void, MatrixFree>;
using BoosterPtr = std::unique_ptr<void, BoosterFree>;

// The same default metrics and "higher is better" rule as the built-in
// trainer (src/training/evaluation.cc); early stopping watches the last one.
std::vector<std::string> EvalMetrics(const training::XGBoostSpec& spec) {
  auto it = spec.params.find("eval_metric");
  if (it == spec.params.end()) {
    if (spec.objective.rfind("binary:", 0) == 0) return {"auc", "error", "logloss"};
    if (spec.objective == "reg:absoluteerror") return {"rmse", "mae"};
    return {"mae", "rmse"};
  }
  std::vector<std::string> metrics;
  std::string text = it->second;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = std::min(text.find(',', start), text.size());
    std::string metric = text.substr(start, end - start);
    metric.erase(0, metric.find_first_not_of(' '));
    metric.erase(metric.find_last_not_of(' ') + 1);
    if (!metric.empty()) metrics.push_back(metric);
    start = end + 1;
  }
  return metrics;
}

bool HigherIsBetter(const std::string& metric) {
  std::string base = metric.substr(0, metric.find('@'));
  return base == "auc" || base == "aucpr" || base == "map" || base == "ndcg" || base == "pre";
}

// The last "valid-<metric>:<value>" of an evaluation line.
bool LastValidMetric(const std::string& line, std::string* metric, double* value) {
  bool found = false;
  size_t position = line.find('\t');
  while (position != std::string::npos) {
    size_t end = line.find('\t', position + 1);
    std::string item = line.substr(position + 1, end == std::string::npos ? std::string::npos : end - position - 1);
    size_t dash = item.find('-'), colon = item.rfind(':');
    if (dash != std::string::npos && colon != std::string::npos && item.substr(0, dash) == "valid") {
      *metric = item.substr(dash + 1, colon - dash - 1);
      *value = std::strtod(item.c_str() + colon + 1, nullptr);
      found = true;
    }
    position = end;
  }
  return found;
}

std::string FeatureType(data::Type type) {
  if (type == data::Type::kBool) return "i";
  if (type == data::Type::kInt64) return "int";
  return "float";
}

// A split's row-major float values (null → NaN) and its DMatrix with labels.
struct SplitMatrix {
  std::vector<float> values;
  MatrixPtr matrix;
};

SplitMatrix BuildMatrix(const std::vector<const data::Column*>& features, const data::Column& label,
                        const std::vector<int64_t>& rows, int threads, std::vector<const char*>& names,
                        std::vector<const char*>& types) {
  const size_t width = features.size();
  SplitMatrix split;
  split.values.resize(rows.size() * width);
  for (size_t j = 0; j < width; ++j) {
    const data::Column& column = *features[j];
    const bool is_float = column.type() == data::Type::kFloat64;
    for (size_t i = 0; i < rows.size(); ++i) {
      const size_t row = static_cast<size_t>(rows[i]);
      float value = std::nanf("");
      if (!column.IsNull(row)) {
        value = is_float ? static_cast<float>(column.floats()[row]) : static_cast<float>(column.ints()[row]);
      }
      split.values[i * width + j] = value;
    }
  }
  std::vector<float> labels(rows.size());
  const bool label_float = label.type() == data::Type::kFloat64;
  for (size_t i = 0; i < rows.size(); ++i) {
    labels[i] = label_float ? static_cast<float>(label.floats()[rows[i]]) : static_cast<float>(label.ints()[rows[i]]);
  }
  DMatrixHandle handle = nullptr;
  Check(XGDMatrixCreateFromMat_omp(split.values.data(), rows.size(), width, std::nanf(""), &handle, threads),
        "creating a matrix");
  split.matrix.reset(handle);
  Check(XGDMatrixSetFloatInfo(handle, "label", labels.data(), labels.size()), "setting labels");
  Check(XGDMatrixSetStrFeatureInfo(handle, "feature_name", names.data(), names.size()), "feature names");
  Check(XGDMatrixSetStrFeatureInfo(handle, "feature_type", types.data(), types.size()), "feature types");
  return split;
}

void Predict(BoosterHandle model, DMatrixHandle matrix, int type) {
  const std::string config = "{\"type\":" + std::to_string(type) +
                             ",\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,\"strict_shape\":false}";
  const bst_ulong* shape = nullptr;
  bst_ulong dimensions = 0;
  const float* result = nullptr;
  Check(XGBoosterPredictFromDMatrix(model, matrix, config.c_str(), &shape, &dimensions, &result), "predicting");
}

// What the built-in trainer does after saving the model (RunBuiltinTrainer
// in src/training/builtin_trainer.cc), timed step by step: reload the model
// from its bytes, dump it as JSON (to count trees), predict train and
// validation, SHAP contributions of the validation rows (an evenly spaced
// sample of at most `shap_rows`: keep the default in step with kShapMaxRows in
// builtin_trainer.cc), and three feature importances. Not the baseline
// profile or the artifact files.
json TrainerExtras(const std::string& model_bytes, const SplitMatrix& train, const SplitMatrix& valid,
                   size_t valid_rows, size_t width, int threads, const std::vector<std::string>& metrics,
                   size_t shap_rows) {
  Clock::time_point t = Clock::now();
  json timings;
  auto lap = [&](const char* name) {
    Clock::time_point now = Clock::now();
    timings[name] = Seconds(t, now);
    t = now;
  };
  BoosterHandle handle = nullptr;
  Check(XGBoosterCreate(nullptr, 0, &handle), "creating a booster");
  BoosterPtr model(handle);
  Check(XGBoosterLoadModelFromBuffer(handle, model_bytes.data(), model_bytes.size()), "loading");
  Check(XGBoosterSetParam(handle, "nthread", std::to_string(threads).c_str()), "nthread");
  for (const std::string& metric : metrics) Check(XGBoosterSetParam(handle, "eval_metric", metric.c_str()), "metric");
  bst_ulong length = 0;
  const char* bytes = nullptr;
  Check(XGBoosterSaveModelToBuffer(handle, "{\"format\":\"json\"}", &length, &bytes), "json");
  json parsed = json::parse(std::string(bytes, length));
  lap("reload_and_json_dump_s");
  Predict(handle, train.matrix.get(), 0);
  Predict(handle, valid.matrix.get(), 0);
  lap("predict_s");
  if (valid_rows <= shap_rows) {
    Predict(handle, valid.matrix.get(), 2);
  } else {
    const size_t step = (valid_rows + shap_rows - 1) / shap_rows;
    std::vector<float> sample;
    for (size_t row = 0; row < valid_rows; row += step) {
      sample.insert(sample.end(), valid.values.begin() + row * width, valid.values.begin() + (row + 1) * width);
    }
    DMatrixHandle matrix = nullptr;
    Check(XGDMatrixCreateFromMat_omp(sample.data(), sample.size() / width, width, std::nanf(""), &matrix, threads),
          "sample");
    MatrixPtr owned(matrix);
    Predict(handle, matrix, 2);
  }
  lap("shap_s");
  for (const char* type : {"total_gain", "gain", "weight"}) {
    const std::string config = json{{"importance_type", type}}.dump();
    bst_ulong features = 0, dimensions = 0;
    const char** names = nullptr;
    const bst_ulong* shape = nullptr;
    const float* scores = nullptr;
    Check(XGBoosterFeatureScore(handle, config.c_str(), &features, &names, &dimensions, &shape, &scores),
          "importance");
  }
  lap("importance_s");
  return timings;
}

// One training as `kiln run` would do it for `spec`; returns its JSON line.
json Train(const training::RunSpec& spec, const std::string& model_out, bool extras, size_t shap_rows) {
  const Clock::time_point start = Clock::now();
  if (spec.data.file.empty() || spec.trainer != training::TrainerKind::kXGBoost) {
    Fail("the spec must have data.file and trainer.xgboost");
  }
  const std::string& path = spec.data.file;
  const std::vector<std::string> header = OrFail(data::ReadCsvHeader(path));
  std::set<std::string> drop(spec.data.exclude.begin(), spec.data.exclude.end());
  drop.insert(spec.data.label);
  std::vector<std::string> feature_names;  // header order, as PrepareFileData
  for (const std::string& column : header) {
    if (!drop.count(column)) feature_names.push_back(column);
  }
  data::ReadOptions options;
  options.source_name = path;
  options.columns = feature_names;
  options.columns.push_back(spec.data.label);
  const bool time_split = spec.split.kind == training::SplitKind::kTime;
  if (time_split) {
    options.timestamp_columns = {spec.split.time_column};
    if (!drop.count(spec.split.time_column) || spec.split.time_column == spec.data.label) {
      Fail("split.time_column must be an excluded column");
    }
    options.columns.push_back(spec.split.time_column);
  }
  data::Frame frame = OrFail(data::ReadCsv(path, options));
  const Clock::time_point read = Clock::now();

  training::SplitRows split = OrFail(training::SplitData(frame, spec.split));
  const Clock::time_point split_done = Clock::now();

  const int threads = std::max(1, spec.resources.cpus);
  std::vector<const data::Column*> features;
  std::vector<std::string> types;
  for (const std::string& name : feature_names) {
    features.push_back(frame.Find(name));
    types.push_back(FeatureType(features.back()->type()));
  }
  std::vector<const char*> name_pointers, type_pointers;
  for (const std::string& name : feature_names) name_pointers.push_back(name.c_str());
  for (const std::string& type : types) type_pointers.push_back(type.c_str());
  const data::Column& label = *frame.Find(spec.data.label);
  SplitMatrix train_split = BuildMatrix(features, label, split.train, threads, name_pointers, type_pointers);
  SplitMatrix valid_split = BuildMatrix(features, label, split.validation, threads, name_pointers, type_pointers);
  const MatrixPtr& train = train_split.matrix;
  const MatrixPtr& valid = valid_split.matrix;
  const Clock::time_point matrices = Clock::now();

  // Parameters in the built-in trainer's order (Configure in builtin_trainer.cc).
  DMatrixHandle cache[] = {train.get(), valid.get()};
  BoosterHandle handle = nullptr;
  Check(XGBoosterCreate(cache, 2, &handle), "creating a booster");
  BoosterPtr booster(handle);
  const training::XGBoostSpec& xgb = spec.xgboost;
  for (const auto& [name, value] : xgb.params) {
    if (name != "eval_metric") Check(XGBoosterSetParam(handle, name.c_str(), value.c_str()), name.c_str());
  }
  if (!xgb.params.contains("tree_method")) Check(XGBoosterSetParam(handle, "tree_method", "hist"), "tree_method");
  Check(XGBoosterSetParam(handle, "objective", xgb.objective.c_str()), "objective");
  Check(XGBoosterSetParam(handle, "seed", std::to_string(xgb.seed).c_str()), "seed");
  Check(XGBoosterSetParam(handle, "nthread", std::to_string(threads).c_str()), "nthread");
  for (const std::string& metric : EvalMetrics(xgb)) Check(XGBoosterSetParam(handle, "eval_metric", metric.c_str()), "eval_metric");
  Check(XGBoosterSetStrFeatureInfo(handle, "feature_name", name_pointers.data(), name_pointers.size()), "names");
  Check(XGBoosterSetStrFeatureInfo(handle, "feature_type", type_pointers.data(), type_pointers.size()), "types");

  const char* eval_names[] = {"train", "valid"};
  int best_iteration = 0, rounds = 0;
  double best_score = 0;
  std::string stop_metric;
  for (int round = 0; round < xgb.num_boost_round; ++round) {
    Check(XGBoosterUpdateOneIter(handle, round, train.get()), "boosting");
    const char* line = nullptr;
    Check(XGBoosterEvalOneIter(handle, round, cache, eval_names, 2, &line), "evaluating");
    rounds = round + 1;
    if (xgb.early_stopping_rounds == 0) {
      best_iteration = round;
      continue;
    }
    double value = 0;
    if (!LastValidMetric(line, &stop_metric, &value)) Fail(std::string("no validation metric in '") + line + "'");
    const bool improved = HigherIsBetter(stop_metric) ? value > best_score : value < best_score;
    if (round == 0 || improved) {
      best_score = value;
      best_iteration = round;
    } else if (round - best_iteration >= xgb.early_stopping_rounds) {
      break;
    }
  }
  const Clock::time_point trained = Clock::now();

  BoosterPtr sliced;
  BoosterHandle model = handle;
  if (best_iteration + 1 < rounds) {
    BoosterHandle slice = nullptr;
    Check(XGBoosterSlice(handle, 0, best_iteration + 1, 1, &slice), "slicing");
    sliced.reset(slice);
    model = slice;
  }
  bst_ulong length = 0;
  const char* bytes = nullptr;
  Check(XGBoosterSaveModelToBuffer(model, "{\"format\":\"ubj\"}", &length, &bytes), "saving");
  std::string model_bytes(bytes, length);
  const Clock::time_point saved = Clock::now();

  if (!model_out.empty()) std::ofstream(model_out, std::ios::binary) << model_bytes;
  json result = {{"train_rows", split.train.size()},
          {"validation_rows", split.validation.size()},
          {"holdout_rows", split.holdout.size()},
          {"features", feature_names.size()},
          {"threads", threads},
          {"rounds_trained", rounds},
          {"best_iteration", best_iteration},
          {"stop_metric", stop_metric.empty() ? "" : "valid." + stop_metric},
          {"best_score", best_score},
          {"model_bytes", model_bytes.size()},
          {"model_sha256", kiln::Sha256Hex(model_bytes)},
          {"read_csv_s", Seconds(start, read)},
          {"split_s", Seconds(read, split_done)},
          {"matrices_s", Seconds(split_done, matrices)},
          {"boost_s", Seconds(matrices, trained)},
          {"save_s", Seconds(trained, saved)},
          {"pure_training_s", Seconds(matrices, saved)},
          {"in_process_s", Seconds(start, saved)}};
  if (extras) {
    result["trainer_extras"] = TrainerExtras(model_bytes, train_split, valid_split, split.validation.size(),
                                             feature_names.size(), threads, EvalMetrics(xgb), shap_rows);
  }
  return result;
}

// "max_depth=2,3" → {"max_depth=2", "max_depth=3"}.
std::vector<std::string> Expand(const std::string& grid) {
  size_t equals = grid.find('=');
  if (equals == std::string::npos) Fail("--grid " + grid + ": expected NAME=V1,V2,...");
  std::vector<std::string> items;
  std::string values = grid.substr(equals + 1);
  size_t start = 0;
  while (start <= values.size()) {
    size_t end = std::min(values.find(',', start), values.size());
    items.push_back(grid.substr(0, equals + 1) + values.substr(start, end - start));
    start = end + 1;
  }
  return items;
}

int Main(int argc, char** argv) {
  const Clock::time_point start = Clock::now();
  std::string spec_file, model_out;
  bool extras = false;
  size_t shap_rows = 500;
  std::vector<std::string> sets, grids;
  for (int i = 1; i < argc; ++i) {
    std::string name = argv[i];
    if (i + 1 >= argc) Fail(std::string(kUsage) + "missing value for " + name);
    std::string value = argv[++i];
    if (name == "--spec") {
      spec_file = value;
    } else if (name == "--set") {
      sets.push_back(value);
    } else if (name == "--grid") {
      grids.push_back(value);
    } else if (name == "--model-out") {
      model_out = value;
    } else if (name == "--extras") {
      extras = value == "yes";
    } else if (name == "--shap-rows") {
      shap_rows = std::max(1L, std::strtol(value.c_str(), nullptr, 10));
    } else {
      Fail(std::string(kUsage) + "unknown option " + name);
    }
  }
  if (spec_file.empty()) Fail(std::string(kUsage) + "--spec is required");
  training::RunSpec spec = OrFail(training::ParseRunSpecFile(spec_file));
  for (const std::string& assignment : sets) {
    if (kiln::Status status = training::ApplyAssignment(spec, assignment); !status.ok()) Fail(status.message());
  }
  const double spec_s = Seconds(start, Clock::now());

  std::vector<std::vector<std::string>> combinations = {{}};
  for (const std::string& grid : grids) {
    std::vector<std::vector<std::string>> next;
    for (const auto& combination : combinations) {
      for (const std::string& item : Expand(grid)) {
        next.push_back(combination);
        next.back().push_back(item);
      }
    }
    combinations = std::move(next);
  }
  double total = 0;
  for (const auto& combination : combinations) {
    training::RunSpec point = spec;
    for (const std::string& assignment : combination) {
      if (kiln::Status status = training::ApplyAssignment(point, assignment); !status.ok()) Fail(status.message());
    }
    json result = Train(point, model_out, extras, shap_rows);
    result["assignment"] = combination;
    result["spec_s"] = spec_s;
    total += result["in_process_s"].get<double>();
    std::cout << result.dump() << std::endl;
  }
  if (!grids.empty()) {
    std::cout << json{{"kind", "grid"}, {"trainings", combinations.size()}, {"sequential_s", total},
                      {"process_s", Seconds(start, Clock::now())}}
                     .dump()
              << std::endl;
  }
  return 0;
}

}  // namespace
}  // namespace kiln_bench

int main(int argc, char** argv) { return kiln_bench::Main(argc, argv); }
