#include "training/run_snapshot.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <fstream>
#include <sstream>

#include "common/hashing.h"
#include "common/version.h"
#include "data/csv.h"
#include "features/labels.h"
#include "training/builtin_trainer_job.h"
#include "training/code_snapshot.h"
#include "training/dependency_snapshot.h"
#include "training/tar_archive.h"
#include "training/xgboost_api.h"

namespace kiln::training {
namespace {

namespace fs = std::filesystem;

constexpr int kDataFormatVersion = 1;
constexpr size_t kMaxParamsPerBatch = 100;
constexpr size_t kMaxTagsPerBatch = 100;

Result<std::string> ReadFileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string EndsWithLower(std::string path) {
  for (char& c : path) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return path;
}

bool IsJsonLines(const std::string& path) {
  std::string lower = EndsWithLower(path);
  return lower.ends_with(".jsonl") || lower.ends_with(".ndjson") || lower.ends_with(".json");
}

Result<data::Frame> ReadTable(const std::string& path, bool quiet, const std::string& label,
                              const std::string& timestamp_column = "") {
  data::ReadOptions options;
  if (!timestamp_column.empty()) options.timestamp_columns = {timestamp_column};
  options.quiet = quiet;
  options.progress_label = label;
  if (IsJsonLines(path)) return data::ReadJsonLines(path, options);
  return data::ReadCsv(path, options);
}

std::vector<std::string> Without(const std::vector<std::string>& columns, const std::set<std::string>& drop) {
  std::vector<std::string> kept;
  for (const std::string& column : columns) {
    if (drop.count(column) == 0) kept.push_back(column);
  }
  return kept;
}

// Writes tags and params in batches the tracking store accepts.
Status LogTagsAndParams(tracking::TrackingStore& tracking, const std::string& run_id,
                        const std::map<std::string, std::string>& tags,
                        const std::map<std::string, std::string>& params) {
  std::vector<tracking::RunTag> tag_batch;
  for (const auto& [key, value] : tags) {
    tag_batch.push_back({key, value.substr(0, 5000)});
    if (tag_batch.size() == kMaxTagsPerBatch) {
      KILN_RETURN_IF_ERROR(tracking.LogBatch(run_id, {}, {}, tag_batch));
      tag_batch.clear();
    }
  }
  if (!tag_batch.empty()) KILN_RETURN_IF_ERROR(tracking.LogBatch(run_id, {}, {}, tag_batch));
  std::vector<tracking::Param> param_batch;
  for (const auto& [key, value] : params) {
    param_batch.push_back({key, value});
    if (param_batch.size() == kMaxParamsPerBatch) {
      KILN_RETURN_IF_ERROR(tracking.LogBatch(run_id, {}, param_batch, {}));
      param_batch.clear();
    }
  }
  if (!param_batch.empty()) KILN_RETURN_IF_ERROR(tracking.LogBatch(run_id, {}, param_batch, {}));
  return Status::Ok();
}

struct PreparedData {
  std::string relative_path;  // under the run's artifacts
  std::string digest;
  std::string label;
  std::vector<std::string> features;
  ModelOrigin origin;
  Json description;  // data.json
};

// Training data from the feature store: entity rows (filtered to the time
// range) + label → a training set recorded as the run's dataset input.
Result<PreparedData> PrepareFeatureServiceData(SnapshotContext& context) {
  const RunSpec& spec = context.record.spec;
  const DataSpec& data = spec.data;
  KILN_ASSIGN_OR_RETURN(data::Frame entities,
                        ReadTable(data.entities, context.impl.options.quiet, "read entities", data.timestamp_column));
  const int timestamp_index = entities.IndexOf(data.timestamp_column);
  if (timestamp_index < 0) {
    return InvalidArgument("data.entities: " + data.entities + " has no column '" + data.timestamp_column +
                           "' (data.timestamp_column)");
  }
  if (data.start_micros || data.end_micros) {
    const data::Column& times = entities.column(static_cast<size_t>(timestamp_index));
    if (times.type() != data::Type::kTimestamp) {
      return InvalidArgument("data.start/end: column '" + data.timestamp_column + "' of " + data.entities +
                             " is not a timestamp column");
    }
    std::vector<int64_t> keep;
    for (size_t row = 0; row < times.size(); ++row) {
      if (times.IsNull(row)) continue;
      const int64_t t = times.ints()[row];
      if (data.start_micros && t < *data.start_micros) continue;
      if (data.end_micros && t >= *data.end_micros) continue;
      keep.push_back(static_cast<int64_t>(row));
    }
    entities = entities.Take(keep);
  }
  if (entities.num_rows() == 0) {
    return InvalidArgument("data: no entity rows in " + data.entities + " fall in the time range");
  }
  KILN_ASSIGN_OR_RETURN(features::DerivedColumn label, features::ParseDerivedColumn(data.label));
  KILN_RETURN_IF_ERROR(features::AddDerivedColumns(entities, {label}));

  features::TrainingSetJob job;
  job.project = data.feature_project;
  job.request.service = data.feature_service;
  job.request.entities = std::move(entities);
  job.request.entity_timestamp = data.timestamp_column;
  job.request.labels = {label.name};
  job.request.quiet = context.impl.options.quiet;
  job.name = data.feature_service;
  job.run_id = context.record.run_id;
  KILN_ASSIGN_OR_RETURN(features::TrainingSetInfo info, context.impl.features.CreateTrainingSet(job));

  PreparedData prepared;
  prepared.relative_path = "training_set/" + job.name + ".csv";
  prepared.digest = info.digest;
  prepared.label = label.name;
  // The training set ends with one column per feature of the service.
  const size_t feature_count = info.null_fractions.size();
  std::vector<std::string> features(info.columns.end() - static_cast<std::ptrdiff_t>(feature_count),
                                    info.columns.end());
  prepared.features = Without(features, {data.exclude.begin(), data.exclude.end()});
  prepared.origin.project = spec.project;
  prepared.origin.feature_project = job.project;
  prepared.origin.feature_service = data.feature_service;
  prepared.origin.feature_service_version = info.service_version;
  prepared.origin.repository_version = info.repository_version;
  prepared.origin.training_set_digest = info.digest;
  KILN_ASSIGN_OR_RETURN(std::string entities_digest, Sha256File(data.entities));
  prepared.description = {{"kind", "feature_service"},
                          {"feature_project", job.project},
                          {"feature_service", data.feature_service},
                          {"feature_service_version", info.service_version},
                          {"repository_version", info.repository_version},
                          {"entities_file", data.entities},
                          {"entities_sha256", entities_digest},
                          {"timestamp_column", data.timestamp_column},
                          {"label", data.label},
                          {"rows", info.rows},
                          {"columns", info.columns},
                          {"features", prepared.features},
                          {"store_path", info.artifact_path}};
  if (data.start_micros) prepared.description["start_micros"] = *data.start_micros;
  if (data.end_micros) prepared.description["end_micros"] = *data.end_micros;
  return prepared;
}

// Training data from a file: stored in the run's artifacts as CSV (JSON
// lines converted), recorded as a dataset input.
Result<PreparedData> PrepareFileData(SnapshotContext& context) {
  const RunSpec& spec = context.record.spec;
  const std::string& path = spec.data.file;
  std::string csv_path = path;
  std::string converted;
  std::vector<std::string> columns;
  if (IsJsonLines(path)) {
    KILN_ASSIGN_OR_RETURN(data::Frame frame, ReadTable(path, context.impl.options.quiet, "read data"));
    converted = context.record.run_dir + "/data.csv";
    KILN_RETURN_IF_ERROR(data::WriteCsvFile(frame, converted));
    csv_path = converted;
    columns = frame.names();
  } else {
    KILN_ASSIGN_OR_RETURN(columns, data::ReadCsvHeader(path));
  }
  if (std::find(columns.begin(), columns.end(), spec.data.label) == columns.end()) {
    return InvalidArgument("data.label: " + path + " has no column '" + spec.data.label + "'");
  }
  for (const std::string& excluded : spec.data.exclude) {
    if (std::find(columns.begin(), columns.end(), excluded) == columns.end()) {
      return InvalidArgument("data.exclude: " + path + " has no column '" + excluded + "'");
    }
  }
  std::set<std::string> drop(spec.data.exclude.begin(), spec.data.exclude.end());
  drop.insert(spec.data.label);
  PreparedData prepared;
  KILN_ASSIGN_OR_RETURN(prepared.digest, Sha256File(csv_path));
  std::string stem = fs::path(path).stem().string();
  prepared.relative_path = "data/" + stem + ".csv";
  prepared.label = spec.data.label;
  prepared.features = Without(columns, drop);
  prepared.origin.project = spec.project;
  prepared.origin.training_set_digest = prepared.digest;
  KILN_RETURN_IF_ERROR(context.impl.PutRunFile(context.record, prepared.relative_path, csv_path));
  std::error_code error;
  if (!converted.empty()) fs::remove(converted, error);

  tracking::DatasetInput input;
  input.tags.push_back({"mlflow.data.context", "training"});
  input.dataset.name = stem;
  input.dataset.digest = prepared.digest.substr(0, 36);
  input.dataset.source_type = "local";
  input.dataset.source = Json({{"uri", "file://" + path}, {"sha256", prepared.digest}}).dump();
  KILN_RETURN_IF_ERROR(context.impl.service.tracking().LogInputs(context.record.run_id, {input}));
  prepared.description = {{"kind", "file"},   {"file", path},        {"label", spec.data.label},
                          {"columns", columns}, {"features", prepared.features}};
  return prepared;
}

// Reproduction: the original run's data, copied into the new run.
Result<PreparedData> ReuseData(SnapshotContext& context) {
  storage::ArtifactStore& artifacts = context.impl.service.artifacts();
  KILN_ASSIGN_OR_RETURN(Json data, LoadRunJson(artifacts, *context.original, "snapshot/data.json"));
  KILN_ASSIGN_OR_RETURN(std::string original_root, RunArtifactRoot(context.original->info));
  PreparedData prepared;
  prepared.relative_path = data.value("artifact_path", "");
  prepared.digest = data.value("sha256", "");
  prepared.label = data.value("label_column", "");
  prepared.features = data.value("features", std::vector<std::string>{});
  prepared.description = data;
  if (data.contains("origin")) {
    const Json& origin = data["origin"];
    prepared.origin.project = origin.value("project", "");
    prepared.origin.feature_project = origin.value("feature_project", "");
    prepared.origin.feature_service = origin.value("feature_service", "");
    prepared.origin.feature_service_version = origin.value("feature_service_version", int64_t{0});
    prepared.origin.repository_version = origin.value("repository_version", int64_t{0});
    prepared.origin.training_set_digest = origin.value("training_set_digest", "");
  }
  KILN_ASSIGN_OR_RETURN(std::string object, artifacts.ObjectPath(original_root + "/" + prepared.relative_path));
  KILN_RETURN_IF_ERROR(context.impl.PutRunFile(context.record, prepared.relative_path, object));
  // The same dataset inputs as the original run.
  if (!context.original->inputs.dataset_inputs.empty()) {
    KILN_RETURN_IF_ERROR(context.impl.service.tracking().LogInputs(context.record.run_id,
                                                                   context.original->inputs.dataset_inputs));
  }
  return prepared;
}

}  // namespace

Result<Json> LoadRunJson(storage::ArtifactStore& artifacts, const tracking::Run& run, const std::string& path) {
  KILN_ASSIGN_OR_RETURN(std::string root, RunArtifactRoot(run.info));
  Result<std::string> object = artifacts.ObjectPath(root + "/" + path);
  if (!object.ok()) {
    return FailedPrecondition("run " + run.info.run_id + " has no " + path +
                              " (was it started by 'kiln run'?): " + object.status().message());
  }
  KILN_ASSIGN_OR_RETURN(std::string text, ReadFileText(*object));
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Internal("run " + run.info.run_id + ": " + path + " is not valid JSON");
  return json;
}

Result<RunSpec> LoadSnapshotSpec(storage::ArtifactStore& artifacts, const tracking::Run& run) {
  KILN_ASSIGN_OR_RETURN(Json json, LoadRunJson(artifacts, run, "snapshot/spec.json"));
  return RunSpecFromJson(json);
}

Result<SnapshotSummary> TakeRunSnapshot(SnapshotContext& context) {
  RunRecord& record = context.record;
  TrainingService::Impl& impl = context.impl;
  storage::ArtifactStore& artifacts = impl.service.artifacts();
  const RunSpec& spec = record.spec;
  std::error_code error;
  fs::create_directories(record.run_dir, error);
  if (error) return Internal("cannot create run folder " + record.run_dir + ": " + error.message());

  std::map<std::string, std::string> tags;
  SnapshotSummary summary;

  // Code: a tarball of the working tree (or the original run's).
  const std::string tar_relative = "snapshot/code.tar";
  if (context.original) {
    KILN_ASSIGN_OR_RETURN(std::string original_root, RunArtifactRoot(context.original->info));
    KILN_ASSIGN_OR_RETURN(std::string object, artifacts.ObjectPath(original_root + "/" + tar_relative));
    KILN_RETURN_IF_ERROR(impl.PutRunFile(record, tar_relative, object));
    for (const auto& [key, value] : context.original->data.tags) {
      if (key.rfind("mlflow.source.git.", 0) == 0 || key.rfind("kiln.snapshot.code", 0) == 0) tags[key] = value;
    }
  } else {
    const std::string temp_tar = record.run_dir + "/code.tar";
    KILN_ASSIGN_OR_RETURN(CodeSnapshot code, CaptureCodeSnapshot(spec.code_dir, temp_tar, CodeSnapshotOptions{}));
    for (const auto& [key, value] : MlflowGitTags(code)) tags[key] = value;
    if (code.git_dirty && !code.git_diff.empty()) {
      KILN_RETURN_IF_ERROR(impl.PutRunBytes(record, "snapshot/git.diff", code.git_diff));
    }
    Result<storage::ArtifactInfo> stored = artifacts.PutFile(record.artifact_root + "/" + tar_relative, temp_tar);
    if (!stored.ok()) return stored.status();
  }
  KILN_ASSIGN_OR_RETURN(record.code_tar, artifacts.ObjectPath(record.artifact_root + "/" + tar_relative));
  record.code_tar = fs::absolute(record.code_tar, error).string();
  KILN_ASSIGN_OR_RETURN(storage::ArtifactInfo tar_info, artifacts.Stat(record.artifact_root + "/" + tar_relative));
  summary.code_digest = tar_info.digest;
  tags["kiln.snapshot.code_digest"] = tar_info.digest;
  const std::string code_dir = record.run_dir + "/snapshot";
  fs::remove_all(code_dir, error);
  KILN_RETURN_IF_ERROR(ExtractTar(record.code_tar, code_dir));

  // Dependencies, captured now (a reproduction records the environment it runs in).
  DependencyOptions dependency_options;
  dependency_options.debian_packages = spec.debian_packages;
  dependency_options.kiln_version = kVersion;
  dependency_options.xgboost_version = XGBoostVersion();
  KILN_ASSIGN_OR_RETURN(DependencySnapshot dependencies, CaptureDependencies(code_dir, dependency_options));
  Json dependencies_json = DependencySnapshotToJson(dependencies);
  KILN_RETURN_IF_ERROR(impl.PutRunBytes(record, "snapshot/dependencies.json", dependencies_json.dump(2) + "\n"));
  for (const auto& [key, value] : DependencyTags(dependencies)) tags[key] = value;

  // Configuration.
  Json spec_json = RunSpecToJson(spec);
  const std::string spec_text = spec_json.dump(2) + "\n";
  KILN_RETURN_IF_ERROR(impl.PutRunBytes(record, "snapshot/spec.json", spec_text));
  tags["kiln.spec_digest"] = Sha256Hex(spec_text);

  // Data.
  PreparedData data;
  if (context.original) {
    KILN_ASSIGN_OR_RETURN(data, ReuseData(context));
  } else if (!spec.data.feature_service.empty()) {
    KILN_ASSIGN_OR_RETURN(data, PrepareFeatureServiceData(context));
  } else {
    KILN_ASSIGN_OR_RETURN(data, PrepareFileData(context));
  }
  record.data_name = fs::path(data.relative_path).filename().string();
  KILN_ASSIGN_OR_RETURN(record.data_file, artifacts.ObjectPath(record.artifact_root + "/" + data.relative_path));
  record.data_file = fs::absolute(record.data_file, error).string();
  summary.data_digest = data.digest;
  tags["kiln.data.digest"] = data.digest;
  Json data_json = data.description;
  data_json["format_version"] = kDataFormatVersion;
  data_json["artifact_path"] = data.relative_path;
  data_json["sha256"] = data.digest;
  data_json["label_column"] = data.label;
  data_json["features"] = data.features;
  data_json["origin"] = {{"project", data.origin.project},
                         {"feature_project", data.origin.feature_project},
                         {"feature_service", data.origin.feature_service},
                         {"feature_service_version", data.origin.feature_service_version},
                         {"repository_version", data.origin.repository_version},
                         {"training_set_digest", data.origin.training_set_digest}};
  KILN_RETURN_IF_ERROR(impl.PutRunBytes(record, "snapshot/data.json", data_json.dump(2) + "\n"));

  // The built-in trainer's job.
  if (spec.trainer == TrainerKind::kXGBoost) {
    TrainerJob job;
    job.data_file = std::string(kSandboxDataDir) + "/" + record.data_name;
    job.label = data.label;
    job.features = data.features;
    job.split = spec.split;
    if (job.split.kind == SplitKind::kTime && job.split.time_column.empty()) {
      job.split.time_column = spec.data.timestamp_column;
    }
    job.xgboost = spec.xgboost;
    job.threads = std::max(1, spec.resources.cpus);
    job.origin = data.origin;
    KILN_RETURN_IF_ERROR(ValidateTrainerJob(job));
    record.trainer_job = TrainerJobToJson(job);
    KILN_RETURN_IF_ERROR(impl.PutRunBytes(record, "snapshot/trainer-job.json", record.trainer_job.dump(2) + "\n"));
  }

  if (!context.options.spec_file.empty()) tags["mlflow.source.name"] = context.options.spec_file;
  KILN_RETURN_IF_ERROR(LogTagsAndParams(impl.service.tracking(), record.run_id, tags, RunParams(spec)));
  return summary;
}

}  // namespace kiln::training
