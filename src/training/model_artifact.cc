#include "training/model_artifact.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/hashing.h"
#include "training/model_artifact_json.h"

namespace kiln::training {
namespace {

constexpr const char* kDocument = "kiln-model.json";

Json ColumnToJson(const SignatureColumn& column) {
  return Json{{"name", column.name}, {"type", std::string(data::TypeName(column.type))}};
}

Result<SignatureColumn> ColumnFromJson(const JsonFieldReader& reader) {
  KILN_RETURN_IF_ERROR(reader.CheckObject());
  SignatureColumn column;
  KILN_ASSIGN_OR_RETURN(column.name, reader.String("name", true));
  KILN_ASSIGN_OR_RETURN(std::string type, reader.String("type", true));
  Result<data::Type> parsed = data::ParseType(type);
  if (!parsed.ok()) return reader.Error(reader.FieldPath("type"), parsed.status().message());
  column.type = *parsed;
  return column;
}

// MLflow's column types for a Kiln type.
std::string MLflowType(data::Type type) {
  switch (type) {
    case data::Type::kBool:
      return "boolean";
    case data::Type::kInt64:
      return "long";
    case data::Type::kString:
      return "string";
    case data::Type::kTimestamp:
      return "datetime";
    case data::Type::kFloat64:
      break;
  }
  return "double";
}

// A YAML single-quoted scalar.
std::string YamlQuoted(std::string_view text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

}  // namespace

Json ModelOriginToJson(const ModelOrigin& origin) {
  return Json{{"project", origin.project},
              {"feature_project", origin.feature_project},
              {"feature_service", origin.feature_service},
              {"feature_service_version", origin.feature_service_version},
              {"repository_version", origin.repository_version},
              {"training_set_digest", origin.training_set_digest}};
}

Result<ModelOrigin> ModelOriginFromJson(const Json& json, std::string_view document, std::string_view path) {
  JsonFieldReader reader(json, std::string(document), std::string(path));
  KILN_RETURN_IF_ERROR(reader.CheckObject());
  ModelOrigin origin;
  KILN_ASSIGN_OR_RETURN(origin.project, reader.String("project", false));
  KILN_ASSIGN_OR_RETURN(origin.feature_project, reader.String("feature_project", false));
  KILN_ASSIGN_OR_RETURN(origin.feature_service, reader.String("feature_service", false));
  KILN_ASSIGN_OR_RETURN(origin.feature_service_version, reader.Int64("feature_service_version", 0));
  KILN_ASSIGN_OR_RETURN(origin.repository_version, reader.Int64("repository_version", 0));
  KILN_ASSIGN_OR_RETURN(origin.training_set_digest, reader.String("training_set_digest", false));
  return origin;
}

Json ModelInfoToJson(const ModelInfo& info) {
  Json signature = ModelOriginToJson(info.signature.origin);
  Json features = Json::array();
  for (const SignatureColumn& feature : info.signature.features) features.push_back(ColumnToJson(feature));
  signature["features"] = std::move(features);
  signature["label"] = ColumnToJson(info.signature.label);
  signature["objective"] = info.signature.objective;
  return Json{{"format_version", info.format_version},
              {"signature", std::move(signature)},
              {"xgboost_version", info.xgboost_version},
              {"best_iteration", info.best_iteration},
              {"rounds", info.rounds},
              {"num_trees", info.num_trees},
              {"model_file", info.model_file},
              {"model_sha256", info.model_sha256}};
}

Result<ModelInfo> ModelInfoFromJson(const Json& json) {
  JsonFieldReader top(json, kDocument, "");
  KILN_RETURN_IF_ERROR(top.CheckObject());
  ModelInfo info;
  KILN_ASSIGN_OR_RETURN(std::optional<int64_t> version, top.OptionalInt64("format_version"));
  if (!version) return top.Missing("format_version");
  if (*version > kModelArtifactFormatVersion) {
    return InvalidArgument(std::string(kDocument) + ": format_version " + std::to_string(*version) +
                           " is newer than this Kiln reads (up to " +
                           std::to_string(kModelArtifactFormatVersion) + ")");
  }
  if (*version < 1) return top.Error("format_version", "expected 1 or more, got " + std::to_string(*version));
  info.format_version = static_cast<int>(*version);
  KILN_ASSIGN_OR_RETURN(JsonFieldReader signature, top.Object("signature"));
  KILN_ASSIGN_OR_RETURN(info.signature.origin,
                        ModelOriginFromJson(signature.object(), kDocument, "signature"));
  const Json* features = signature.Find("features");
  if (features == nullptr || !features->is_array() || features->empty()) {
    return signature.Error(signature.FieldPath("features"), "expected a non-empty array");
  }
  for (size_t i = 0; i < features->size(); ++i) {
    JsonFieldReader feature((*features)[i], kDocument,
                            signature.FieldPath("features") + "[" + std::to_string(i) + "]");
    KILN_ASSIGN_OR_RETURN(SignatureColumn column, ColumnFromJson(feature));
    info.signature.features.push_back(std::move(column));
  }
  KILN_ASSIGN_OR_RETURN(JsonFieldReader label, signature.Object("label"));
  KILN_ASSIGN_OR_RETURN(info.signature.label, ColumnFromJson(label));
  KILN_ASSIGN_OR_RETURN(info.signature.objective, signature.String("objective", true));
  KILN_ASSIGN_OR_RETURN(info.xgboost_version, top.String("xgboost_version", false));
  KILN_ASSIGN_OR_RETURN(int64_t best_iteration, top.Int64("best_iteration", 0));
  KILN_ASSIGN_OR_RETURN(int64_t rounds, top.Int64("rounds", 0));
  KILN_ASSIGN_OR_RETURN(int64_t num_trees, top.Int64("num_trees", 0));
  info.best_iteration = static_cast<int>(best_iteration);
  info.rounds = static_cast<int>(rounds);
  info.num_trees = static_cast<int>(num_trees);
  KILN_ASSIGN_OR_RETURN(info.model_file, top.String("model_file", true));
  KILN_ASSIGN_OR_RETURN(info.model_sha256, top.String("model_sha256", true));
  if (info.model_file.find('/') != std::string::npos || info.model_file == "..") {
    return top.Error("model_file", "expected a file name in the model folder, got '" + info.model_file + "'");
  }
  return info;
}

std::string MLmodelYaml(const ModelInfo& info) {
  Json inputs = Json::array();
  for (const SignatureColumn& feature : info.signature.features) {
    inputs.push_back(Json{{"name", feature.name}, {"type", MLflowType(feature.type)}});
  }
  Json outputs =
      Json::array({Json{{"type", "tensor"}, {"tensor-spec", {{"dtype", "float32"}, {"shape", {-1}}}}}});
  std::ostringstream out;
  out << "artifact_path: model\n"
      << "flavors:\n"
      << "  python_function:\n"
      << "    data: " << info.model_file << "\n"
      << "    loader_module: mlflow.xgboost\n"
      << "  xgboost:\n"
      << "    code: null\n"
      << "    data: " << info.model_file << "\n"
      << "    model_class: xgboost.core.Booster\n"
      << "    model_format: ubj\n"
      << "    xgb_version: " << info.xgboost_version << "\n"
      << "signature:\n"
      << "  inputs: " << YamlQuoted(inputs.dump()) << "\n"
      << "  outputs: " << YamlQuoted(outputs.dump()) << "\n";
  return out.str();
}

Status WriteArtifactFile(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Unavailable(path + ": cannot create the file");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return Unavailable(path + ": write failed");
  return Status::Ok();
}

Result<std::string> ReadArtifactFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code error;
    if (!std::filesystem::exists(path, error)) return NotFound(path + ": no such file");
    return Unavailable(path + ": cannot open the file");
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

Status WriteModelDirectory(const std::string& model_dir, std::string_view model_bytes, ModelInfo& info) {
  std::error_code error;
  std::filesystem::create_directories(model_dir, error);
  if (error) return Unavailable(model_dir + ": cannot create the folder: " + error.message());
  info.model_file = kModelFileName;
  info.model_sha256 = Sha256Hex(model_bytes);
  const std::filesystem::path dir(model_dir);
  KILN_RETURN_IF_ERROR(WriteArtifactFile((dir / info.model_file).string(), model_bytes));
  KILN_RETURN_IF_ERROR(
      WriteArtifactFile((dir / kModelInfoFileName).string(), ModelInfoToJson(info).dump(2) + "\n"));
  return WriteArtifactFile((dir / kMLmodelFileName).string(), MLmodelYaml(info));
}

}  // namespace kiln::training
