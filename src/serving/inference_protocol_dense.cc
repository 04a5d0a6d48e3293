// InferInputsToDense: the inputs of a parsed OIP infer request as the dense
// float32 rows a model predicts from (inference_protocol.h).

#include <cmath>
#include <limits>
#include <string_view>
#include <unordered_map>

#include "features/expression_binder.h"
#include "serving/inference_protocol.h"
#include "serving/inference_protocol_internal.h"

namespace kiln::serving {

namespace {

using internal::QuoteName;

// At most this many feature names are listed in an error message.
constexpr size_t kMaxListedFeatures = 20;

std::string FeatureList(const std::vector<std::string>& feature_names) {
  std::string list;
  for (size_t i = 0; i < feature_names.size() && i < kMaxListedFeatures; ++i) {
    list += (i ? ", " : "") + feature_names[i];
  }
  if (feature_names.size() > kMaxListedFeatures) {
    list += ", … (" + std::to_string(feature_names.size()) + " in all)";
  }
  return list;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// A double as float32: beyond float's range it becomes ±infinity (a plain
// cast would be undefined), NaN stays NaN.
float ToFloat(double value) {
  constexpr double kMax = std::numeric_limits<float>::max();
  if (value > kMax) return std::numeric_limits<float>::infinity();
  if (value < -kMax) return -std::numeric_limits<float>::infinity();
  return static_cast<float>(value);
}

Status CheckNumeric(const InferTensor& input) {
  if (input.datatype == "BYTES" || !input.strings.empty()) {
    return InvalidArgument("input " + QuoteName(input.name) + " has datatype " + input.datatype +
                           ", but the model's features are numeric");
  }
  return Status::Ok();
}

// Layout 2: one tensor of shape [rows, features] in the model's feature order.
Result<DenseRows> MatrixToDense(const InferTensor& input, const std::vector<std::string>& feature_names,
                                size_t max_rows) {
  const size_t columns = feature_names.size();
  if (input.shape[0] < 0 || input.shape[1] < 0 || static_cast<uint64_t>(input.shape[1]) != columns) {
    return InvalidArgument("input " + QuoteName(input.name) + " has shape " + ShapeText(input.shape) +
                           ": expected one input per feature, or one input of shape [rows, " +
                           std::to_string(columns) + "] with the model's features in order (" +
                           FeatureList(feature_names) + ")");
  }
  const uint64_t rows = static_cast<uint64_t>(input.shape[0]);
  if (rows > max_rows) return internal::LimitExceeded(rows, "rows", max_rows);
  KILN_RETURN_IF_ERROR(CheckNumeric(input));
  if (input.numbers.size() != rows * columns) {
    return InvalidArgument("input " + QuoteName(input.name) + " has shape " + ShapeText(input.shape) +
                           " but " + std::to_string(input.numbers.size()) + " values");
  }
  DenseRows dense;
  dense.rows = rows;
  dense.columns = columns;
  dense.values.resize(input.numbers.size());
  for (size_t i = 0; i < input.numbers.size(); ++i) dense.values[i] = ToFloat(input.numbers[i]);
  return dense;
}

// The column of feature `name`, or -1.
class FeatureIndex {
 public:
  explicit FeatureIndex(const std::vector<std::string>& names) : names_(names) {
    if (names.size() > kLinearSearchLimit) {
      for (size_t i = 0; i < names.size(); ++i) by_name_.emplace(names[i], i);
    }
  }
  ptrdiff_t Find(std::string_view name) const {
    if (names_.size() <= kLinearSearchLimit) {
      for (size_t i = 0; i < names_.size(); ++i) {
        if (names_[i] == name) return static_cast<ptrdiff_t>(i);
      }
      return -1;
    }
    auto it = by_name_.find(name);
    return it == by_name_.end() ? -1 : static_cast<ptrdiff_t>(it->second);
  }

 private:
  static constexpr size_t kLinearSearchLimit = 32;
  const std::vector<std::string>& names_;
  std::unordered_map<std::string_view, size_t> by_name_;
};

}  // namespace

Result<DenseRows> InferInputsToDense(const InferRequest& request,
                                     const std::vector<std::string>& feature_names, size_t max_rows) {
  if (request.inputs.empty()) return InvalidArgument("inputs: the request has no input tensors");
  const FeatureIndex index(feature_names);
  const InferTensor& first = request.inputs.front();
  if (request.inputs.size() == 1 && first.shape.size() == 2 && index.Find(first.name) < 0) {
    return MatrixToDense(first, feature_names, max_rows);
  }

  // Layout 1: one tensor per feature, named after it, shape [rows] or [rows, 1].
  const size_t columns = feature_names.size();
  std::vector<const InferTensor*> by_column(columns, nullptr);
  size_t rows = 0;
  for (size_t i = 0; i < request.inputs.size(); ++i) {
    const InferTensor& input = request.inputs[i];
    const ptrdiff_t column = index.Find(input.name);
    if (column < 0) {
      std::string closest = input.name.size() <= 64 ? features::ClosestName(input.name, feature_names) : "";
      return InvalidArgument(
          "input " + QuoteName(input.name) + " is not a feature of the model (" +
          (closest.empty() ? "features: " + FeatureList(feature_names) : "did you mean '" + closest + "'?") +
          ")");
    }
    if (by_column[column] != nullptr) {
      return InvalidArgument("input " + QuoteName(input.name) + " appears more than once");
    }
    by_column[column] = &input;
    const bool column_shape = input.shape.size() == 1 || (input.shape.size() == 2 && input.shape[1] == 1);
    if (!column_shape || input.shape[0] < 0) {
      return InvalidArgument("input " + QuoteName(input.name) + " has shape " + ShapeText(input.shape) +
                             ": a per-feature input has shape [rows] or [rows, 1]");
    }
    const size_t input_rows = static_cast<size_t>(input.shape[0]);
    if (i == 0) {
      rows = input_rows;
      if (rows > max_rows) return internal::LimitExceeded(rows, "rows", max_rows);
    } else if (input_rows != rows) {
      return InvalidArgument("input " + QuoteName(input.name) + " has " + std::to_string(input_rows) +
                             " rows, " + QuoteName(first.name) + " has " + std::to_string(rows));
    }
    KILN_RETURN_IF_ERROR(CheckNumeric(input));
    if (input.numbers.size() != rows) {
      return InvalidArgument("input " + QuoteName(input.name) + " has shape " + ShapeText(input.shape) +
                             " but " + std::to_string(input.numbers.size()) + " values");
    }
  }
  std::string missing;
  size_t missing_count = 0;
  for (size_t column = 0; column < columns; ++column) {
    if (by_column[column] != nullptr) continue;
    if (++missing_count <= kMaxListedFeatures)
      missing += (missing.empty() ? "" : ", ") + QuoteName(feature_names[column]);
  }
  if (missing_count > 0) {
    if (missing_count > kMaxListedFeatures) missing += ", … (" + std::to_string(missing_count) + " in all)";
    return InvalidArgument(
        std::string(missing_count == 1 ? "input lacks feature " : "input lacks features ") + missing);
  }

  DenseRows dense;
  dense.rows = rows;
  dense.columns = columns;
  dense.values.resize(rows * columns);
  for (size_t column = 0; column < columns; ++column) {
    const std::vector<double>& numbers = by_column[column]->numbers;
    for (size_t row = 0; row < rows; ++row) dense.values[row * columns + column] = ToFloat(numbers[row]);
  }
  return dense;
}

}  // namespace kiln::serving
