#include "training/builtin_trainer_job.h"

#include <set>

#include "training/evaluation.h"
#include "training/model_artifact_json.h"

namespace kiln::training {
namespace {

constexpr const char* kDocument = "trainer job";

Status JobError(std::string_view field, std::string_view message) {
  return InvalidArgument(std::string(kDocument) + ": " + std::string(field) + ": " + std::string(message));
}

}  // namespace

Json SplitSpecToJson(const SplitSpec& split) {
  Json json{{"kind", split.kind == SplitKind::kTime ? "time" : "random"},
            {"validation_fraction", split.validation_fraction},
            {"holdout_fraction", split.holdout_fraction},
            {"seed", split.seed},
            {"time_column", split.time_column},
            {"validation_start_micros", nullptr}};
  if (split.validation_start_micros) json["validation_start_micros"] = *split.validation_start_micros;
  return json;
}

Result<SplitSpec> SplitSpecFromJson(const Json& json, std::string_view field) {
  JsonFieldReader reader(json, kDocument, std::string(field));
  KILN_RETURN_IF_ERROR(reader.CheckObject());
  SplitSpec split;
  KILN_ASSIGN_OR_RETURN(std::string kind, reader.String("kind", false));
  if (kind == "time") {
    split.kind = SplitKind::kTime;
  } else if (kind == "random" || kind.empty()) {
    split.kind = SplitKind::kRandom;
  } else {
    return reader.Error(reader.FieldPath("kind"), "expected 'random' or 'time', got '" + kind + "'");
  }
  KILN_ASSIGN_OR_RETURN(split.validation_fraction,
                        reader.Double("validation_fraction", split.validation_fraction));
  KILN_ASSIGN_OR_RETURN(split.holdout_fraction, reader.Double("holdout_fraction", split.holdout_fraction));
  KILN_ASSIGN_OR_RETURN(split.seed, reader.Uint64("seed", 0));
  KILN_ASSIGN_OR_RETURN(split.time_column, reader.String("time_column", false));
  KILN_ASSIGN_OR_RETURN(split.validation_start_micros, reader.OptionalInt64("validation_start_micros"));
  return split;
}

Json XGBoostSpecToJson(const XGBoostSpec& xgboost) {
  Json params = Json::object();
  for (const auto& [name, value] : xgboost.params) params[name] = value;
  return Json{{"objective", xgboost.objective},
              {"num_boost_round", xgboost.num_boost_round},
              {"early_stopping_rounds", xgboost.early_stopping_rounds},
              {"seed", xgboost.seed},
              {"params", std::move(params)}};
}

Result<XGBoostSpec> XGBoostSpecFromJson(const Json& json, std::string_view field) {
  JsonFieldReader reader(json, kDocument, std::string(field));
  KILN_RETURN_IF_ERROR(reader.CheckObject());
  XGBoostSpec xgboost;
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> objective, reader.OptionalString("objective"));
  if (objective) xgboost.objective = *objective;
  KILN_ASSIGN_OR_RETURN(int64_t rounds, reader.Int64("num_boost_round", xgboost.num_boost_round));
  KILN_ASSIGN_OR_RETURN(int64_t early, reader.Int64("early_stopping_rounds", xgboost.early_stopping_rounds));
  if (rounds < 0 || rounds > 1'000'000)
    return reader.Error(reader.FieldPath("num_boost_round"), "out of range");
  if (early < 0 || early > 1'000'000)
    return reader.Error(reader.FieldPath("early_stopping_rounds"), "out of range");
  xgboost.num_boost_round = static_cast<int>(rounds);
  xgboost.early_stopping_rounds = static_cast<int>(early);
  KILN_ASSIGN_OR_RETURN(xgboost.seed, reader.Uint64("seed", 0));
  KILN_ASSIGN_OR_RETURN(JsonFieldReader params, reader.Object("params"));
  for (const auto& [name, value] : params.object().items()) {
    if (!value.is_string())
      return params.Error(params.FieldPath(name), "expected a string, got " + value.dump());
    xgboost.params[name] = value.get<std::string>();
  }
  return xgboost;
}

Status ValidateTrainerJob(const TrainerJob& job) {
  if (job.data_file.empty()) return JobError("data_file", "is required");
  if (job.label.empty()) return JobError("label", "is required");
  if (job.features.empty()) return JobError("features", "at least one feature is required");
  std::set<std::string> seen;
  for (const std::string& feature : job.features) {
    if (feature.empty()) return JobError("features", "a feature name is empty");
    if (feature == job.label) return JobError("features", "'" + feature + "' is the label");
    if (!seen.insert(feature).second) return JobError("features", "'" + feature + "' is listed twice");
  }
  if (job.threads < 1) return JobError("threads", "must be at least 1, got " + std::to_string(job.threads));
  if (job.xgboost.num_boost_round < 1) {
    return JobError("xgboost.num_boost_round",
                    "must be at least 1, got " + std::to_string(job.xgboost.num_boost_round));
  }
  if (job.xgboost.early_stopping_rounds < 0)
    return JobError("xgboost.early_stopping_rounds", "must not be negative");
  Result<ObjectiveKind> kind = ClassifyObjective(job.xgboost.objective);
  if (!kind.ok()) return JobError("xgboost.objective", kind.status().message());
  return Status::Ok();
}

Json TrainerJobToJson(const TrainerJob& job) {
  return Json{{"format_version", kTrainerJobFormatVersion},
              {"data_file", job.data_file},
              {"label", job.label},
              {"features", job.features},
              {"split", SplitSpecToJson(job.split)},
              {"xgboost", XGBoostSpecToJson(job.xgboost)},
              {"threads", job.threads},
              {"signature", ModelOriginToJson(job.origin)}};
}

Result<TrainerJob> TrainerJobFromJson(const Json& json) {
  JsonFieldReader top(json, kDocument, "");
  KILN_RETURN_IF_ERROR(top.CheckObject());
  KILN_ASSIGN_OR_RETURN(std::optional<int64_t> version, top.OptionalInt64("format_version"));
  if (!version) return top.Missing("format_version");
  if (*version != kTrainerJobFormatVersion) {
    return JobError("format_version", std::to_string(*version) + " is not one this Kiln reads (" +
                                          std::to_string(kTrainerJobFormatVersion) + ")");
  }
  TrainerJob job;
  KILN_ASSIGN_OR_RETURN(job.data_file, top.String("data_file", true));
  KILN_ASSIGN_OR_RETURN(job.label, top.String("label", true));
  KILN_ASSIGN_OR_RETURN(job.features, top.StringArray("features"));
  KILN_ASSIGN_OR_RETURN(JsonFieldReader split, top.Object("split"));
  KILN_ASSIGN_OR_RETURN(job.split, SplitSpecFromJson(split.object(), "split"));
  KILN_ASSIGN_OR_RETURN(JsonFieldReader xgboost, top.Object("xgboost"));
  KILN_ASSIGN_OR_RETURN(job.xgboost, XGBoostSpecFromJson(xgboost.object(), "xgboost"));
  KILN_ASSIGN_OR_RETURN(int64_t threads, top.Int64("threads", 1));
  if (threads < 1 || threads > 4096)
    return JobError("threads", "must be between 1 and 4096, got " + std::to_string(threads));
  job.threads = static_cast<int>(threads);
  KILN_ASSIGN_OR_RETURN(JsonFieldReader signature, top.Object("signature"));
  KILN_ASSIGN_OR_RETURN(job.origin, ModelOriginFromJson(signature.object(), kDocument, "signature"));
  KILN_RETURN_IF_ERROR(ValidateTrainerJob(job));
  return job;
}

Status WriteTrainerJobFile(const TrainerJob& job, const std::string& path) {
  return WriteArtifactFile(path, TrainerJobToJson(job).dump(2) + "\n");
}

Result<TrainerJob> ReadTrainerJobFile(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(std::string text, ReadArtifactFile(path));
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return InvalidArgument(path + ": not valid JSON");
  Result<TrainerJob> job = TrainerJobFromJson(json);
  if (!job.ok()) return Status(job.status().code(), path + ": " + job.status().message());
  return job;
}

}  // namespace kiln::training
