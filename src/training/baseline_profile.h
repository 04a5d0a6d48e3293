#pragma once
// The baseline profile of a trained model (docs/formats/baseline-profile.md,
// format_version 1): for the train and validation splits, per feature, for
// the label and for the model's predictions — counts, nulls, mean, standard
// deviation, min, max and a histogram on bin edges taken from the train
// split's quantiles and reused for validation, so drift (PSI) can later be
// computed against live data binned the same way. Values are the 32-bit
// floats the model sees. Deterministic: the same inputs give the same JSON.
// Stateless functions; thread-safe.

#include <cstddef>
#include <string>
#include <vector>

#include "common/json.h"

namespace kiln::training {

inline constexpr int kBaselineProfileFormatVersion = 1;
inline constexpr int kBaselineHistogramBins = 10;

// Values spaced `stride` apart (a column of a row-major matrix); NaN = null.
struct StridedValues {
  const float* data = nullptr;
  size_t size = 0;
  size_t stride = 1;
  float operator[](size_t i) const { return data[i * stride]; }
};

// One column to profile.
struct ProfiledColumn {
  std::string name;
  std::string role;  // "feature", "label", "prediction"
  std::string type;  // the Kiln type name ("float64", "bool", …)
  StridedValues train;
  StridedValues validation;
};

// Inner bin edges: the lower (type 1) quantiles at 1/bins … (bins-1)/bins of
// the non-null values, duplicates removed — at most bins - 1 edges, so at
// most `bins` bins. Empty when there are no values.
std::vector<double> QuantileEdges(StridedValues values, int bins);

// Statistics of one split: {"count", "null_count", "mean", "stddev", "min",
// "max", "histogram"}. count is the non-null values; histogram[k] counts
// values v with edges[k-1] <= v < edges[k] (edges[-1] = -inf, edges[n] =
// +inf), so it has edges.size() + 1 entries summing to count. stddev is the
// sample deviation (n - 1); mean/stddev/min/max are null without values.
Json SummarizeValues(StridedValues values, const std::vector<double>& edges);

// The whole profile document. `header` fields (label, objective,
// model_sha256, …) are copied to the top level.
Json BuildBaselineProfile(const std::vector<ProfiledColumn>& columns, const Json& header);

}  // namespace kiln::training
