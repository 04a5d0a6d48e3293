#pragma once
// The one wrapper of XGBoost's C API (libxgboost 1.7): RAII owners of DMatrix
// and Booster handles. Every XGB* call goes through XGBoostStatus(), which
// turns a failure into a Status carrying XGBGetLastError()'s message (log
// prefix and stack trace removed). Objects are move-only.
//
// Thread safety: a DMatrix is immutable once built and may be read from any
// thread. A Booster is not thread-safe while training or changing
// parameters; once configured (trained, or loaded and predicted once),
// concurrent Predict/PredictDense calls are safe — XGBoost guarantees
// thread-safe prediction for tree models and keeps output buffers
// thread-local; both functions copy the output before returning.

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace kiln::training {

// "1.7.4": the version of the linked libxgboost.
std::string XGBoostVersion();

// OK when rc == 0; otherwise kInvalidArgument "XGBoost: <what>: <message>".
Status XGBoostStatus(int rc, std::string_view what);

// A dense matrix of float features (NaN = missing) with optional labels.
class DMatrix {
 public:
  // REQUIRES: values.size() == rows * columns (row-major). threads >= 1.
  static Result<DMatrix> FromDense(std::span<const float> values, size_t rows, size_t columns, int threads);

  Status SetLabels(std::span<const float> labels);
  // XGBoost feature names and types ("float", "int", "i" for indicators).
  Status SetFeatureInfo(const std::vector<std::string>& names, const std::vector<std::string>& types);

  void* handle() const { return handle_.get(); }
  size_t rows() const { return rows_; }
  size_t columns() const { return columns_; }

 private:
  struct Deleter {
    void operator()(void* handle) const;
  };
  std::unique_ptr<void, Deleter> handle_;
  size_t rows_ = 0;
  size_t columns_ = 0;
};

// A gradient-boosted model.
class Booster {
 public:
  enum class PredictionType { kValue = 0, kMargin = 1, kContributions = 2 };

  // A booster to be trained; `cache` are the matrices it will see (train,
  // validation), which must outlive training.
  static Result<Booster> Create(const std::vector<const DMatrix*>& cache);
  // A booster from XGBoosterSaveModelToBuffer bytes ("ubj" or "json").
  static Result<Booster> FromModelBytes(std::string_view bytes);

  Status SetParam(std::string_view name, std::string_view value);
  // Feature names and types saved with the model (XGBoost does not take
  // them from the training matrix by itself).
  Status SetFeatureInfo(const std::vector<std::string>& names, const std::vector<std::string>& types);
  Status UpdateOneIter(int iteration, const DMatrix& train);
  // XGBoost's evaluation line: "[3]\ttrain-auc:0.97\tvalid-auc:0.95".
  Result<std::string> EvalOneIter(int iteration,
                                  const std::vector<std::pair<std::string, const DMatrix*>>& sets);

  // Predictions for every row of `matrix`, row-major; for kContributions
  // each row has columns + 1 values (the last is the bias).
  Result<std::vector<float>> Predict(const DMatrix& matrix, PredictionType type) const;
  // In-place prediction on row-major values (NaN = missing): one value a row.
  Result<std::vector<float>> PredictDense(const float* values, size_t rows, size_t columns) const;

  // The model of boosting rounds [begin, end).
  Result<Booster> Slice(int begin_round, int end_round) const;
  Result<int> BoostedRounds() const;
  Result<uint64_t> NumFeatures() const;
  // "ubj", "json".
  Result<std::string> SaveModel(std::string_view format) const;
  // Feature name → score (XGBoosterFeatureScore) for the features the
  // trees use; importance_type: "weight", "gain", "total_gain", "cover", …
  Result<std::map<std::string, double>> FeatureScores(std::string_view importance_type) const;

  void* handle() const { return handle_.get(); }

 private:
  struct Deleter {
    void operator()(void* handle) const;
  };
  std::unique_ptr<void, Deleter> handle_;
};

}  // namespace kiln::training
