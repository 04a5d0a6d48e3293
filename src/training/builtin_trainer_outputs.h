#pragma once
// The built-in trainer's output documents other than the model: metrics
// lines, gain importance and mean |SHAP| importance
// (docs/formats/model-artifact.md). Pure functions of their inputs, so the
// same training gives the same bytes. Thread-safe.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/json.h"

namespace kiln::training {

inline constexpr int kImportanceFormatVersion = 1;

// One line of metrics.jsonl: {"key": "valid.auc", "step": 3, "value": 0.91}.
struct MetricLine {
  std::string key;
  double value = 0;
  int64_t step = 0;
};

// One JSON object a line, NaN and infinities as "NaN"/"Infinity" strings.
std::string MetricsJsonl(const std::vector<MetricLine>& lines);

// Gain importance of every feature, in signature order; a feature no tree
// splits on gets 0. Scores map feature name → XGBoost score.
Json FeatureImportanceJson(const std::vector<std::string>& features,
                           const std::map<std::string, double>& total_gain,
                           const std::map<std::string, double>& gain,
                           const std::map<std::string, double>& weight);

// Mean |SHAP| per feature over `rows` rows of XGBoost contributions
// (row-major, features + 1 columns; the last is the bias, reported apart
// as its mean), taken from a split of `split_rows` rows.
Json ShapImportanceJson(const std::vector<std::string>& features, const std::vector<float>& contributions,
                        size_t rows, const std::string& split, size_t split_rows);

}  // namespace kiln::training
