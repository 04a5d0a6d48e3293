#pragma once
// Test helpers for the built-in trainer's tests: temp folders that clean up,
// synthetic CSV data made from a seeded generator, a default job.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "training/builtin_trainer_job.h"
#include "training/data_split.h"

namespace kiln::training::trainer_testing {

// The value of an OK result; otherwise fails the test and throws.
template <typename T>
T Unwrap(Result<T> result) {
  if (!result.ok()) {
    ADD_FAILURE() << "unexpected error: " << result.status().ToString();
    throw std::runtime_error(result.status().ToString());
  }
  return std::move(result).value();
}

// A fresh folder under the temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir()
      : path_(std::filesystem::temp_directory_path() / ("kiln-xgb-test-" + IdGenerator().RandomHex(8))) {
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string Path(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// A standard normal draw (Box–Muller) from the portable generator.
inline double Normal(SplitMix64& generator) {
  double u1 = (static_cast<double>(generator.Next() >> 11) + 0.5) / 9007199254740992.0;
  double u2 = (static_cast<double>(generator.Next() >> 11) + 0.5) / 9007199254740992.0;
  return std::sqrt(-2 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

enum class LabelKind { kSignal, kNoise, kRegression };

// Columns x1, x2 (float64; x2 is empty, i.e. null, every 17th row), count
// (int64), flag (bool), day (ISO date, increasing) and y: x1 + noise > 0
// (kSignal), a coin flip (kNoise), or 2·x1 + count/10 + noise (kRegression).
inline void WriteSyntheticCsv(const std::string& path, int rows, LabelKind kind, uint64_t seed = 1) {
  SplitMix64 generator(seed);
  std::ostringstream csv;
  csv << "x1,x2,count,flag,day,y\n";
  for (int i = 0; i < rows; ++i) {
    double x1 = Normal(generator), x2 = Normal(generator), noise = Normal(generator);
    int64_t count = static_cast<int64_t>(generator.Below(50));
    bool flag = generator.Below(2) == 1;
    csv << x1 << ',';
    if (i % 17 != 5) csv << x2;
    csv << ',' << count << ',' << (flag ? "true" : "false") << ",2024-01-" << (i % 28 + 1 < 10 ? "0" : "")
        << (i % 28 + 1) << ',';
    if (kind == LabelKind::kSignal) csv << (x1 + 0.3 * noise > 0 ? 1 : 0);
    if (kind == LabelKind::kNoise) csv << generator.Below(2);
    if (kind == LabelKind::kRegression) csv << 2 * x1 + count / 10.0 + 0.1 * noise;
    csv << '\n';
  }
  WriteText(path, csv.str());
}

// A job over WriteSyntheticCsv's columns: 100 rounds, early stopping after 10.
inline TrainerJob SyntheticJob(const std::string& data_file,
                               const std::string& objective = "binary:logistic") {
  TrainerJob job;
  job.data_file = data_file;
  job.label = "y";
  job.features = {"x1", "x2", "count", "flag"};
  job.split.validation_fraction = 0.2;
  job.split.holdout_fraction = 0.1;
  job.split.seed = 3;
  job.xgboost.objective = objective;
  job.xgboost.num_boost_round = 100;
  job.xgboost.early_stopping_rounds = 10;
  job.xgboost.seed = 5;
  job.xgboost.params = {{"max_depth", "3"}, {"eta", "0.3"}};
  job.threads = 2;
  job.origin.project = "demo";
  job.origin.training_set_digest = "abc123";
  return job;
}

}  // namespace kiln::training::trainer_testing
