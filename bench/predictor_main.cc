// kiln_bench_predictor: the fast in-process predictor (serving::TreeEnsemble)
// against XGBoost's own, on the model of issue 5's target: binary:logistic,
// 100 trees of depth 6 over 20 features, trained here on synthetic data
// (fixed seed, 10 % missing values).
//
//   single row   XGBoosterPredictFromDense on one row (the C API directly,
//                array-interface strings built before timing) against
//                TreeEnsemble::PredictRow; each call timed alone, median.
//   batch        1,000 rows: XGBoosterPredictFromDense with nthread = all
//                cores against PredictBatchParallel (all cores) and
//                PredictBatch (one thread); median over repetitions.
//
// Every output of both is compared bit for bit first. Prints a table, or
// one JSON object with --json.
#include <xgboost/c_api.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "serving/tree_ensemble.h"
#include "training/xgboost_api.h"

namespace kiln_bench {
namespace {

using Clock = std::chrono::steady_clock;
namespace serving = kiln::serving;
namespace training = kiln::training;

constexpr const char* kUsage = R"(usage: kiln_bench_predictor [options]

  --trees N        boosting rounds (default 100)
  --depth N        max_depth (default 6)
  --features N     columns (default 20)
  --train-rows N   training rows (default 20000)
  --calls N        timed single-row calls of each predictor (default 20000)
  --batch N        rows of the batch (default 1000)
  --batches N      timed batches of each predictor (default 200)
  --json           print one JSON object instead of the table
)";

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "kiln_bench_predictor: %s\n", message.c_str());
  std::exit(1);
}

template <typename T>
T OrFail(kiln::Result<T> result) {
  if (!result.ok()) Fail(result.status().message());
  return std::move(result).value();
}

void Check(int rc, const char* what) {
  if (rc != 0) Fail(std::string("XGBoost: ") + what + ": " + XGBGetLastError());
}

struct Options {
  int trees = 100;
  int depth = 6;
  size_t features = 20;
  size_t train_rows = 20000;
  size_t calls = 20000;
  size_t batch = 1000;
  size_t batches = 200;
  bool json = false;
};

Options ParseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (name == "--json") {
      options.json = true;
      continue;
    }
    if (name == "--help" || i + 1 >= argc) {
      std::fputs(kUsage, name == "--help" ? stdout : stderr);
      std::exit(name == "--help" ? 0 : 2);
    }
    const long long value = std::atoll(argv[++i]);
    if (value <= 0) Fail(name + " needs a positive integer");
    if (name == "--trees") options.trees = static_cast<int>(value);
    else if (name == "--depth") options.depth = static_cast<int>(value);
    else if (name == "--features") options.features = static_cast<size_t>(value);
    else if (name == "--train-rows") options.train_rows = static_cast<size_t>(value);
    else if (name == "--calls") options.calls = static_cast<size_t>(value);
    else if (name == "--batch") options.batch = static_cast<size_t>(value);
    else if (name == "--batches") options.batches = static_cast<size_t>(value);
    else Fail("unknown option " + name + "\n" + kUsage);
  }
  return options;
}

// Row-major features, 10 % NaN, and a binary label from the first five.
std::vector<float> MakeRows(size_t rows, size_t columns, uint32_t seed, std::vector<float>* labels) {
  std::mt19937 generator(seed);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> uniform;
  std::vector<float> values(rows * columns);
  for (size_t row = 0; row < rows; ++row) {
    float signal = 0;
    for (size_t column = 0; column < columns; ++column) {
      const float value = uniform(generator) < 0.1f ? NAN : normal(generator);
      values[row * columns + column] = value;
      if (column < 5 && !std::isnan(value)) signal += value * static_cast<float>(column + 1) / 5;
    }
    if (labels) labels->push_back(signal + normal(generator) > 0 ? 1.0f : 0.0f);
  }
  return values;
}

// XGBoost's __array_interface__ for `rows` float rows at `data`.
std::string ArrayInterface(const float* data, size_t rows, size_t columns) {
  return "{\"data\":[" + std::to_string(reinterpret_cast<uintptr_t>(data)) + ",true],\"shape\":[" +
         std::to_string(rows) + "," + std::to_string(columns) + "],\"typestr\":\"<f4\",\"version\":3}";
}

const char* kPredictConfig =
    "{\"type\":0,\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,"
    "\"strict_shape\":false,\"missing\":NaN,\"cache_id\":0}";

const float* XGBoostPredict(void* booster, const std::string& array) {
  const bst_ulong* shape = nullptr;
  bst_ulong dimensions = 0;
  const float* result = nullptr;
  Check(XGBoosterPredictFromDense(booster, array.c_str(), kPredictConfig, nullptr, &shape, &dimensions, &result),
        "predicting");
  return result;
}

double Micros(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::micro>(to - from).count();
}

double Median(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

}  // namespace
}  // namespace kiln_bench

int main(int argc, char** argv) {
  using namespace kiln_bench;
  const Options options = ParseOptions(argc, argv);
  const size_t columns = options.features;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  // Train.
  std::vector<float> labels;
  const std::vector<float> train = MakeRows(options.train_rows, columns, 1, &labels);
  training::DMatrix matrix = OrFail(training::DMatrix::FromDense(train, options.train_rows, columns, cores));
  if (!matrix.SetLabels(labels).ok()) Fail("setting labels");
  training::Booster booster = OrFail(training::Booster::Create({&matrix}));
  for (auto [name, value] : {std::pair<std::string, std::string>{"objective", "binary:logistic"},
                             {"tree_method", "hist"},
                             {"max_depth", std::to_string(options.depth)},
                             {"eta", "0.1"},
                             {"seed", "7"},
                             {"nthread", std::to_string(cores)}}) {
    if (!booster.SetParam(name, value).ok()) Fail("setting " + name);
  }
  for (int round = 0; round < options.trees; ++round) {
    kiln::Status status = booster.UpdateOneIter(round, matrix);
    if (!status.ok()) Fail(status.message());
  }
  const serving::TreeEnsemble model = OrFail(serving::TreeEnsemble::FromXGBoostJson(OrFail(booster.SaveModel("json"))));

  // Test rows, and the array-interface strings XGBoost needs, built ahead.
  const size_t test_rows = std::max<size_t>(options.batch, 1000);
  const std::vector<float> test = MakeRows(test_rows, columns, 2, nullptr);
  std::vector<std::string> row_arrays;
  for (size_t row = 0; row < test_rows; ++row) row_arrays.push_back(ArrayInterface(&test[row * columns], 1, columns));
  const std::string batch_array = ArrayInterface(test.data(), options.batch, columns);

  // Exactness on every test row.
  const std::vector<float> expected = OrFail(booster.PredictDense(test.data(), test_rows, columns));
  std::vector<float> fast(test_rows);
  serving::PredictBatchParallel(model, test.data(), test_rows, columns, fast.data());
  size_t mismatches = 0;
  for (size_t row = 0; row < test_rows; ++row) {
    const float single = model.PredictRow(&test[row * columns]);
    if (std::bit_cast<uint32_t>(single) != std::bit_cast<uint32_t>(expected[row]) ||
        std::bit_cast<uint32_t>(fast[row]) != std::bit_cast<uint32_t>(expected[row])) {
      ++mismatches;
    }
  }

  // Single row: each call timed alone (the ~20 ns of the clock included).
  std::vector<double> xgboost_row, fast_row;
  volatile float sink = 0;
  for (size_t warm = 0; warm < 200; ++warm) sink = *XGBoostPredict(booster.handle(), row_arrays[warm % test_rows]);
  for (size_t call = 0; call < options.calls; ++call) {
    const size_t row = call % test_rows;
    Clock::time_point start = Clock::now();
    sink = *XGBoostPredict(booster.handle(), row_arrays[row]);
    Clock::time_point middle = Clock::now();
    sink = model.PredictRow(&test[row * columns]);
    Clock::time_point end = Clock::now();
    xgboost_row.push_back(Micros(start, middle));
    fast_row.push_back(Micros(middle, end));
  }
  (void)sink;

  // Batches, interleaved so that both see the same machine.
  std::vector<double> xgboost_batch, parallel_batch, serial_batch;
  std::vector<float> out(options.batch);
  for (size_t repetition = 0; repetition < options.batches; ++repetition) {
    Clock::time_point start = Clock::now();
    XGBoostPredict(booster.handle(), batch_array);
    Clock::time_point after_xgboost = Clock::now();
    serving::PredictBatchParallel(model, test.data(), options.batch, columns, out.data());
    Clock::time_point after_parallel = Clock::now();
    model.PredictBatch(test.data(), options.batch, columns, out.data());
    Clock::time_point end = Clock::now();
    xgboost_batch.push_back(Micros(start, after_xgboost));
    parallel_batch.push_back(Micros(after_xgboost, after_parallel));
    serial_batch.push_back(Micros(after_parallel, end));
  }

  const double xgboost_row_us = Median(xgboost_row), fast_row_us = Median(fast_row);
  const double rows = static_cast<double>(options.batch);
  const double xgboost_rows_s = rows / Median(xgboost_batch) * 1e6;
  const double parallel_rows_s = rows / Median(parallel_batch) * 1e6;
  const double serial_rows_s = rows / Median(serial_batch) * 1e6;

  if (options.json) {
    nlohmann::json result = {
        {"model", {{"objective", "binary:logistic"}, {"trees", model.num_trees()}, {"max_depth", options.depth},
                   {"features", columns}}},
        {"cores", cores},
        {"rows_compared", test_rows},
        {"mismatches", mismatches},
        {"single_row_us", {{"xgboost_median", xgboost_row_us}, {"fast_median", fast_row_us},
                           {"speedup", xgboost_row_us / fast_row_us}}},
        {"batch", {{"rows", options.batch}, {"xgboost_rows_per_s", xgboost_rows_s},
                   {"fast_parallel_rows_per_s", parallel_rows_s}, {"fast_one_thread_rows_per_s", serial_rows_s},
                   {"speedup", parallel_rows_s / xgboost_rows_s}}}};
    std::printf("%s\n", result.dump().c_str());
    return mismatches == 0 ? 0 : 1;
  }
  std::printf("model: binary:logistic, %zu trees, max_depth %d, %zu features; %d cores\n", model.num_trees(),
              options.depth, columns, cores);
  std::printf("exactness: %zu of %zu rows differ from XGBoost (bitwise)\n\n", mismatches, test_rows);
  std::printf("%-34s %14s %14s %9s\n", "", "XGBoost", "TreeEnsemble", "ratio");
  std::printf("%-34s %11.2f us %11.2f us %8.1fx\n", "single row, median latency", xgboost_row_us, fast_row_us,
              xgboost_row_us / fast_row_us);
  const std::string batch = "batch of " + std::to_string(options.batch) + " rows";
  std::printf("%-34s %10.0f r/s %10.0f r/s %8.1fx\n", (batch + ", all cores").c_str(), xgboost_rows_s, parallel_rows_s,
              parallel_rows_s / xgboost_rows_s);
  std::printf("%-34s %14s %10.0f r/s\n", (batch + ", one thread").c_str(), "", serial_rows_s);
  return mismatches == 0 ? 0 : 1;
}
