#include "training/baseline_profile.h"

#include <algorithm>
#include <cmath>

namespace kiln::training {
namespace {

Json NumberOrNull(bool present, double value) { return present ? Json(value) : Json(nullptr); }

}  // namespace

std::vector<double> QuantileEdges(StridedValues values, int bins) {
  std::vector<float> sorted;
  sorted.reserve(values.size);
  for (size_t i = 0; i < values.size; ++i) {
    if (!std::isnan(values[i])) sorted.push_back(values[i]);
  }
  std::vector<double> edges;
  if (sorted.empty() || bins < 2) return edges;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  for (int k = 1; k < bins; ++k) {
    // Lower quantile q = k / bins: the value at index floor(q × (n − 1)).
    size_t index = static_cast<size_t>(k) * (n - 1) / static_cast<size_t>(bins);
    double edge = sorted[index];
    if (edges.empty() || edge > edges.back()) edges.push_back(edge);
  }
  return edges;
}

Json SummarizeValues(StridedValues values, const std::vector<double>& edges) {
  int64_t count = 0, nulls = 0;
  double sum = 0, minimum = 0, maximum = 0;
  std::vector<int64_t> histogram(edges.size() + 1, 0);
  for (size_t i = 0; i < values.size; ++i) {
    float value = values[i];
    if (std::isnan(value)) {
      ++nulls;
      continue;
    }
    if (count == 0 || value < minimum) minimum = value;
    if (count == 0 || value > maximum) maximum = value;
    ++count;
    sum += value;
    size_t bin = std::upper_bound(edges.begin(), edges.end(), static_cast<double>(value)) - edges.begin();
    ++histogram[bin];
  }
  const double mean = count > 0 ? sum / static_cast<double>(count) : 0;
  double squares = 0;
  for (size_t i = 0; i < values.size; ++i) {
    float value = values[i];
    if (!std::isnan(value)) squares += (value - mean) * (value - mean);
  }
  const double stddev = count > 1 ? std::sqrt(squares / static_cast<double>(count - 1)) : 0;
  return Json{{"count", count},
              {"null_count", nulls},
              {"mean", NumberOrNull(count > 0, mean)},
              {"stddev", NumberOrNull(count > 1, stddev)},
              {"min", NumberOrNull(count > 0, minimum)},
              {"max", NumberOrNull(count > 0, maximum)},
              {"histogram", histogram}};
}

Json BuildBaselineProfile(const std::vector<ProfiledColumn>& columns, const Json& header) {
  Json profile{{"format_version", kBaselineProfileFormatVersion}};
  for (const auto& [key, value] : header.items()) profile[key] = value;
  profile["histogram"] = Json{{"bins", kBaselineHistogramBins},
                              {"edges", "train quantiles (lower), duplicates removed"},
                              {"splits", {"train", "validation"}}};
  Json rows = Json::object();
  Json profiled = Json::array();
  for (const ProfiledColumn& column : columns) {
    std::vector<double> edges = QuantileEdges(column.train, kBaselineHistogramBins);
    profiled.push_back(Json{{"name", column.name},
                            {"role", column.role},
                            {"type", column.type},
                            {"bin_edges", edges},
                            {"train", SummarizeValues(column.train, edges)},
                            {"validation", SummarizeValues(column.validation, edges)}});
    rows["train"] = column.train.size;
    rows["validation"] = column.validation.size;
  }
  profile["rows"] = std::move(rows);
  profile["columns"] = std::move(profiled);
  return profile;
}

}  // namespace kiln::training
