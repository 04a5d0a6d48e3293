#include "training/builtin_trainer_outputs.h"

#include <cmath>

namespace kiln::training {
namespace {

double ScoreOf(const std::map<std::string, double>& scores, const std::string& feature) {
  auto it = scores.find(feature);
  return it == scores.end() ? 0.0 : it->second;
}

}  // namespace

std::string MetricsJsonl(const std::vector<MetricLine>& lines) {
  std::string out;
  for (const MetricLine& line : lines) {
    out += Json{{"key", line.key}, {"value", JsonDouble(line.value)}, {"step", line.step}}.dump();
    out += '\n';
  }
  return out;
}

Json FeatureImportanceJson(const std::vector<std::string>& features,
                           const std::map<std::string, double>& total_gain,
                           const std::map<std::string, double>& gain,
                           const std::map<std::string, double>& weight) {
  Json list = Json::array();
  for (const std::string& feature : features) {
    list.push_back(Json{{"name", feature},
                        {"total_gain", ScoreOf(total_gain, feature)},
                        {"gain", ScoreOf(gain, feature)},
                        {"weight", ScoreOf(weight, feature)}});
  }
  return Json{
      {"format_version", kImportanceFormatVersion}, {"importance", "gain"}, {"features", std::move(list)}};
}

Json ShapImportanceJson(const std::vector<std::string>& features, const std::vector<float>& contributions,
                        size_t rows, const std::string& split, size_t split_rows) {
  const size_t width = features.size() + 1;
  std::vector<double> sums(width, 0.0);
  for (size_t row = 0; row < rows; ++row) {
    for (size_t j = 0; j < width; ++j) {
      double value = contributions[row * width + j];
      sums[j] += j + 1 == width ? value : std::fabs(value);
    }
  }
  const double count = rows > 0 ? static_cast<double>(rows) : 1.0;
  Json list = Json::array();
  for (size_t j = 0; j < features.size(); ++j) {
    list.push_back(Json{{"name", features[j]}, {"mean_abs_shap", sums[j] / count}});
  }
  return Json{{"format_version", kImportanceFormatVersion},
              {"split", split},
              {"rows", rows},
              {"split_rows", split_rows},
              {"features", std::move(list)},
              {"bias", sums[width - 1] / count}};
}

}  // namespace kiln::training
