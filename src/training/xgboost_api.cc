#include "training/xgboost_api.h"

#include <xgboost/c_api.h>

#include <cmath>
#include <cstdio>

#include "common/json.h"

namespace kiln::training {
namespace {

// XGBoost messages look like "[12:00:00] ../src/learner.cc:767: Check failed:
// ...\nStack trace:\n  [bt] ...": keep the message only.
std::string CleanXGBoostMessage(std::string message) {
  size_t trace = message.find("Stack trace:");
  if (trace != std::string::npos) message.resize(trace);
  if (!message.empty() && message[0] == '[') {
    size_t close = message.find("] ");
    if (close != std::string::npos) message.erase(0, close + 2);
  }
  // "../src/learner.cc:767: " — a source location ("path:line") before the text.
  size_t colon = message.find(": ");
  if (colon != std::string::npos) {
    std::string_view location(message.data(), colon);
    size_t line_start = location.rfind(':');
    bool is_location = line_start != std::string_view::npos && line_start + 1 < location.size() &&
                       location.find(' ') == std::string_view::npos &&
                       location.find_first_not_of("0123456789", line_start + 1) == std::string_view::npos;
    if (is_location) message.erase(0, colon + 2);
  }
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

// JSON __array_interface__ of a float32 row-major matrix.
std::string ArrayInterface(const float* values, size_t rows, size_t columns) {
  char buffer[160];
  std::snprintf(buffer, sizeof buffer,
                "{\"data\":[%llu,true],\"shape\":[%zu,%zu],\"typestr\":\"<f4\",\"version\":3}",
                static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(values)), rows, columns);
  return buffer;
}

Result<std::vector<float>> CopyOutput(const bst_ulong* shape, bst_ulong dimensions, const float* result) {
  size_t size = 1;
  for (bst_ulong i = 0; i < dimensions; ++i) size *= shape[i];
  return std::vector<float>(result, result + size);
}

std::vector<const char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<const char*> pointers;
  for (const std::string& text : strings) pointers.push_back(text.c_str());
  return pointers;
}

}  // namespace

std::string XGBoostVersion() {
  int major = 0, minor = 0, patch = 0;
  ::XGBoostVersion(&major, &minor, &patch);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

Status XGBoostStatus(int rc, std::string_view what) {
  if (rc == 0) return Status::Ok();
  return InvalidArgument("XGBoost: " + std::string(what) + ": " + CleanXGBoostMessage(XGBGetLastError()));
}

void DMatrix::Deleter::operator()(void* handle) const { XGDMatrixFree(handle); }
void Booster::Deleter::operator()(void* handle) const { XGBoosterFree(handle); }

Result<DMatrix> DMatrix::FromDense(std::span<const float> values, size_t rows, size_t columns, int threads) {
  if (values.size() != rows * columns) return Internal("DMatrix::FromDense: size is not rows × columns");
  DMatrixHandle handle = nullptr;
  KILN_RETURN_IF_ERROR(
      XGBoostStatus(XGDMatrixCreateFromMat_omp(values.data(), rows, columns, std::nanf(""), &handle, threads),
                    "creating a matrix"));
  DMatrix matrix;
  matrix.handle_.reset(handle);
  matrix.rows_ = rows;
  matrix.columns_ = columns;
  return matrix;
}

Status DMatrix::SetLabels(std::span<const float> labels) {
  return XGBoostStatus(XGDMatrixSetFloatInfo(handle(), "label", labels.data(), labels.size()),
                       "setting labels");
}

Status DMatrix::SetFeatureInfo(const std::vector<std::string>& names, const std::vector<std::string>& types) {
  std::vector<const char*> name_pointers = CStrings(names), type_pointers = CStrings(types);
  KILN_RETURN_IF_ERROR(XGBoostStatus(
      XGDMatrixSetStrFeatureInfo(handle(), "feature_name", name_pointers.data(), name_pointers.size()),
      "setting feature names"));
  return XGBoostStatus(
      XGDMatrixSetStrFeatureInfo(handle(), "feature_type", type_pointers.data(), type_pointers.size()),
      "setting feature types");
}

Result<Booster> Booster::Create(const std::vector<const DMatrix*>& cache) {
  std::vector<DMatrixHandle> handles;
  for (const DMatrix* matrix : cache) handles.push_back(matrix->handle());
  BoosterHandle handle = nullptr;
  KILN_RETURN_IF_ERROR(
      XGBoostStatus(XGBoosterCreate(handles.data(), handles.size(), &handle), "creating a booster"));
  Booster booster;
  booster.handle_.reset(handle);
  return booster;
}

Result<Booster> Booster::FromModelBytes(std::string_view bytes) {
  KILN_ASSIGN_OR_RETURN(Booster booster, Create({}));
  KILN_RETURN_IF_ERROR(XGBoostStatus(
      XGBoosterLoadModelFromBuffer(booster.handle(), bytes.data(), bytes.size()), "loading a model"));
  return booster;
}

Status Booster::SetParam(std::string_view name, std::string_view value) {
  std::string name_text(name), value_text(value);
  return XGBoostStatus(XGBoosterSetParam(handle(), name_text.c_str(), value_text.c_str()),
                       "parameter '" + name_text + "' = '" + value_text + "'");
}

Status Booster::SetFeatureInfo(const std::vector<std::string>& names, const std::vector<std::string>& types) {
  std::vector<const char*> name_pointers = CStrings(names), type_pointers = CStrings(types);
  KILN_RETURN_IF_ERROR(XGBoostStatus(
      XGBoosterSetStrFeatureInfo(handle(), "feature_name", name_pointers.data(), name_pointers.size()),
      "setting feature names"));
  return XGBoostStatus(
      XGBoosterSetStrFeatureInfo(handle(), "feature_type", type_pointers.data(), type_pointers.size()),
      "setting feature types");
}

Status Booster::UpdateOneIter(int iteration, const DMatrix& train) {
  return XGBoostStatus(XGBoosterUpdateOneIter(handle(), iteration, train.handle()),
                       "boosting round " + std::to_string(iteration));
}

Result<std::string> Booster::EvalOneIter(int iteration,
                                         const std::vector<std::pair<std::string, const DMatrix*>>& sets) {
  std::vector<DMatrixHandle> handles;
  std::vector<const char*> names;
  for (const auto& [name, matrix] : sets) {
    handles.push_back(matrix->handle());
    names.push_back(name.c_str());
  }
  const char* result = nullptr;
  KILN_RETURN_IF_ERROR(XGBoostStatus(
      XGBoosterEvalOneIter(handle(), iteration, handles.data(), names.data(), handles.size(), &result),
      "evaluating round " + std::to_string(iteration)));
  return std::string(result);
}

Result<std::vector<float>> Booster::Predict(const DMatrix& matrix, PredictionType type) const {
  std::string config =
      "{\"type\":" + std::to_string(static_cast<int>(type)) +
      ",\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,\"strict_shape\":false}";
  const bst_ulong* shape = nullptr;
  bst_ulong dimensions = 0;
  const float* result = nullptr;
  KILN_RETURN_IF_ERROR(XGBoostStatus(
      XGBoosterPredictFromDMatrix(handle(), matrix.handle(), config.c_str(), &shape, &dimensions, &result),
      "predicting"));
  return CopyOutput(shape, dimensions, result);
}

Result<std::vector<float>> Booster::PredictDense(const float* values, size_t rows, size_t columns) const {
  static const char* const kConfig =
      "{\"type\":0,\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,"
      "\"strict_shape\":false,\"missing\":NaN,\"cache_id\":0}";
  if (rows == 0) return std::vector<float>();
  std::string array = ArrayInterface(values, rows, columns);
  const bst_ulong* shape = nullptr;
  bst_ulong dimensions = 0;
  const float* result = nullptr;
  KILN_RETURN_IF_ERROR(XGBoostStatus(
      XGBoosterPredictFromDense(handle(), array.c_str(), kConfig, nullptr, &shape, &dimensions, &result),
      "predicting"));
  return CopyOutput(shape, dimensions, result);
}

Result<Booster> Booster::Slice(int begin_round, int end_round) const {
  BoosterHandle sliced = nullptr;
  KILN_RETURN_IF_ERROR(
      XGBoostStatus(XGBoosterSlice(handle(), begin_round, end_round, 1, &sliced),
                    "slicing rounds " + std::to_string(begin_round) + ".." + std::to_string(end_round)));
  Booster booster;
  booster.handle_.reset(sliced);
  return booster;
}

Result<int> Booster::BoostedRounds() const {
  int rounds = 0;
  KILN_RETURN_IF_ERROR(XGBoostStatus(XGBoosterBoostedRounds(handle(), &rounds), "counting rounds"));
  return rounds;
}

Result<uint64_t> Booster::NumFeatures() const {
  bst_ulong features = 0;
  KILN_RETURN_IF_ERROR(XGBoostStatus(XGBoosterGetNumFeature(handle(), &features), "counting features"));
  return static_cast<uint64_t>(features);
}

Result<std::string> Booster::SaveModel(std::string_view format) const {
  std::string config = "{\"format\":\"" + std::string(format) + "\"}";
  bst_ulong length = 0;
  const char* bytes = nullptr;
  KILN_RETURN_IF_ERROR(XGBoostStatus(XGBoosterSaveModelToBuffer(handle(), config.c_str(), &length, &bytes),
                                     "saving the model"));
  return std::string(bytes, length);
}

Result<std::map<std::string, double>> Booster::FeatureScores(std::string_view importance_type) const {
  std::string config = Json{{"importance_type", std::string(importance_type)}}.dump();
  bst_ulong feature_count = 0, dimensions = 0;
  const char** features = nullptr;
  const bst_ulong* shape = nullptr;
  const float* scores = nullptr;
  KILN_RETURN_IF_ERROR(XGBoostStatus(XGBoosterFeatureScore(handle(), config.c_str(), &feature_count,
                                                           &features, &dimensions, &shape, &scores),
                                     "feature importance '" + std::string(importance_type) + "'"));
  std::map<std::string, double> result;
  for (bst_ulong i = 0; i < feature_count; ++i) result[features[i]] = scores[i];
  return result;
}

}  // namespace kiln::training
