#include "training/evaluation.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <numeric>

namespace kiln::training {
namespace {

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// XGBoost's EvalRowLogLoss, in float as it computes it.
double RowLogLoss(float label, float prediction) {
  const float eps = 1e-16f;
  const float negative = 1.0f - prediction;
  if (prediction < eps) return -label * std::log(eps) - (1.0f - label) * std::log(1.0f - eps);
  if (negative < eps) return -label * std::log(1.0f - eps) - (1.0f - label) * std::log(eps);
  return -label * std::log(prediction) - (1.0f - label) * std::log(negative);
}

std::string FormatValue(float value) {
  char buffer[32];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, end);
}

}  // namespace

Result<ObjectiveKind> ClassifyObjective(std::string_view objective) {
  if (objective == "binary:logistic") return ObjectiveKind::kBinary;
  if (StartsWith(objective, "reg:") || objective == "count:poisson") return ObjectiveKind::kRegression;
  return InvalidArgument(
      "objective '" + std::string(objective) +
      "' is not supported by the built-in trainer (use binary:logistic or a reg: objective)");
}

std::vector<std::string> DefaultEvalMetrics(std::string_view objective) {
  if (StartsWith(objective, "binary:")) return {"auc", "error", "logloss"};
  if (objective == "reg:absoluteerror") return {"rmse", "mae"};
  return {"mae", "rmse"};
}

double AreaUnderRoc(const std::vector<float>& labels, const std::vector<float>& predictions) {
  std::vector<size_t> order(labels.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return predictions[a] < predictions[b]; });
  // Mann–Whitney U with mid-ranks for ties.
  double positive_rank_sum = 0, positives = 0;
  size_t start = 0;
  while (start < order.size()) {
    size_t end = start;
    double group_positives = 0;
    while (end < order.size() && predictions[order[end]] == predictions[order[start]]) {
      group_positives += labels[order[end]];
      ++end;
    }
    double mid_rank = (static_cast<double>(start + 1) + static_cast<double>(end)) / 2.0;
    positive_rank_sum += group_positives * mid_rank;
    positives += group_positives;
    start = end;
  }
  double negatives = static_cast<double>(labels.size()) - positives;
  if (positives == 0 || negatives == 0) return std::numeric_limits<double>::quiet_NaN();
  return (positive_rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives);
}

Result<std::map<std::string, double>> EvaluateMetrics(std::string_view objective,
                                                      const std::vector<float>& labels,
                                                      const std::vector<float>& predictions) {
  if (labels.size() != predictions.size()) {
    return InvalidArgument("metrics: " + std::to_string(labels.size()) + " labels but " +
                           std::to_string(predictions.size()) + " predictions");
  }
  if (labels.empty()) return InvalidArgument("metrics: no rows to evaluate");
  const double rows = static_cast<double>(labels.size());
  std::map<std::string, double> metrics;
  if (StartsWith(objective, "binary:")) {
    double logloss = 0, errors = 0;
    for (size_t i = 0; i < labels.size(); ++i) {
      if (labels[i] != 0.0f && labels[i] != 1.0f) {
        return InvalidArgument("metrics: label " + FormatValue(labels[i]) + " in row " +
                               std::to_string(i + 1) + " is not 0 or 1");
      }
      logloss += RowLogLoss(labels[i], predictions[i]);
      errors += (predictions[i] > 0.5f ? 1.0f : 0.0f) != labels[i] ? 1 : 0;
    }
    metrics["auc"] = AreaUnderRoc(labels, predictions);
    metrics["logloss"] = logloss / rows;
    metrics["error"] = errors / rows;
    return metrics;
  }
  double squared = 0, absolute = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    double difference = static_cast<double>(labels[i]) - static_cast<double>(predictions[i]);
    squared += difference * difference;
    absolute += std::fabs(difference);
  }
  metrics["rmse"] = std::sqrt(squared / rows);
  metrics["mae"] = absolute / rows;
  return metrics;
}

bool HigherIsBetter(std::string_view metric) {
  std::string_view base = metric.substr(0, metric.find('@'));
  return base == "auc" || base == "aucpr" || base == "map" || base == "ndcg" || base == "pre";
}

Result<std::vector<EvalValue>> ParseEvalLine(std::string_view line) {
  auto malformed = [&] {
    return InvalidArgument("cannot read XGBoost's evaluation output '" + std::string(line) + "'");
  };
  if (line.empty() || line[0] != '[') return malformed();
  size_t position = line.find(']');
  if (position == std::string_view::npos) return malformed();
  std::vector<EvalValue> values;
  std::string_view rest = line.substr(position + 1);
  while (!rest.empty()) {
    if (rest[0] != '\t') return malformed();
    rest.remove_prefix(1);
    size_t end = rest.find('\t');
    std::string_view item = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    size_t dash = item.find('-');
    size_t colon = item.rfind(':');
    if (dash == std::string_view::npos || colon == std::string_view::npos || colon < dash) return malformed();
    EvalValue value;
    value.set = std::string(item.substr(0, dash));
    value.metric = std::string(item.substr(dash + 1, colon - dash - 1));
    std::string number(item.substr(colon + 1));
    char* parse_end = nullptr;
    value.value = std::strtod(number.c_str(), &parse_end);  // accepts "nan", "inf"
    if (number.empty() || *parse_end != '\0') return malformed();
    values.push_back(std::move(value));
  }
  return values;
}

}  // namespace kiln::training
