#pragma once
// Test-only set-up shared by the model cache and prediction service tests
// (included by *_test.cc): synthetic data, XGBoost models trained in
// process and written as Kiln model folders, a ServingEnvironment (a
// temporary data directory with a migrated SQLite metadata store, artifact
// store, tracking store, model registry and feature store) that registers
// such models as versions of a registered model, and an in-memory
// PredictionStore whose records a test can read while a PredictionLog owns it.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "features/definition_loader.h"
#include "features/feature_store.h"
#include "features/migrations.h"
#include "features/source_schema.h"
#include "serving/migrations.h"
#include "serving/prediction_log.h"
#include "serving/serving_testing.h"
#include "storage/artifact_store.h"
#include "storage/database.h"
#include "storage/migrations.h"
#include "tracking/migrations.h"
#include "tracking/model_registry.h"
#include "tracking/tracking_store.h"
#include "training/data_split.h"
#include "training/model_artifact.h"
#include "training/model_folder.h"
#include "training/promotion.h"
#include "training/xgboost_api.h"

namespace kiln::serving::testing_support {

// Dense rows (row-major, NaN = missing) with 0/1 labels, or class labels
// 0..classes-1 when classes > 2.
struct Dataset {
  std::vector<std::string> names;
  size_t rows = 0;
  std::vector<float> values;
  std::vector<float> labels;
};

// `rows` rows of uniform values in [-2, 2); every `missing_every`-th value
// (counting all cells; 0: none) is NaN. The label depends on the first two
// columns, so trees split on them and on missing values.
inline Dataset MakeDataset(size_t rows, std::vector<std::string> names, uint64_t seed,
                           size_t missing_every = 0, int classes = 2) {
  training::SplitMix64 generator(seed);
  auto uniform = [&generator] {
    return static_cast<float>((generator.Next() >> 11) * 0x1.0p-53 * 4.0 - 2.0);
  };
  Dataset data;
  data.names = std::move(names);
  data.rows = rows;
  const size_t columns = data.names.size();
  data.values.resize(rows * columns);
  for (size_t i = 0; i < data.values.size(); ++i) {
    data.values[i] = missing_every > 0 && i % missing_every == missing_every - 1
                         ? std::numeric_limits<float>::quiet_NaN()
                         : uniform();
  }
  for (size_t r = 0; r < rows; ++r) {
    const float* row = data.values.data() + r * columns;
    const float a = std::isnan(row[0]) ? 0.5f : row[0];
    const float b = columns > 1 && !std::isnan(row[1]) ? row[1] : -0.25f;
    const float score = a + 0.5f * b + 0.3f * uniform();
    if (classes > 2) {
      data.labels.push_back(score < -0.5f ? 0.0f : score < 0.5f ? 1.0f : static_cast<float>(classes - 1));
    } else {
      data.labels.push_back(score > 0 ? 1.0f : 0.0f);
    }
  }
  return data;
}

struct TrainOptions {
  std::string objective = "binary:logistic";
  std::string booster = "gbtree";
  int rounds = 20;
  int max_depth = 4;
  int num_class = 0;  // > 0: multi-class objectives
};

// XGBoost's UBJSON model bytes of a booster trained on `data`.
inline std::string TrainModelBytes(const Dataset& data, const TrainOptions& options = {}) {
  training::DMatrix train = Must(training::DMatrix::FromDense(data.values, data.rows, data.names.size(), 1));
  Must(train.SetLabels(data.labels));
  training::Booster booster = Must(training::Booster::Create({&train}));
  Must(booster.SetParam("objective", options.objective));
  Must(booster.SetParam("booster", options.booster));
  Must(booster.SetParam("max_depth", std::to_string(options.max_depth)));
  Must(booster.SetParam("eta", "0.3"));
  Must(booster.SetParam("seed", "7"));
  Must(booster.SetParam("nthread", "1"));
  Must(booster.SetParam("tree_method", "hist"));
  if (options.booster == "dart") Must(booster.SetParam("rate_drop", "0.2"));
  if (options.num_class > 0) Must(booster.SetParam("num_class", std::to_string(options.num_class)));
  Must(booster.SetFeatureInfo(data.names, std::vector<std::string>(data.names.size(), "float")));
  for (int round = 0; round < options.rounds; ++round) Must(booster.UpdateOneIter(round, train));
  return Must(booster.SaveModel("ubj"));
}

// kiln-model.json's contents for a model over `names` (all float64).
inline training::ModelInfo MakeModelInfo(const std::vector<std::string>& names,
                                         const std::string& objective = "binary:logistic",
                                         training::ModelOrigin origin = {}, int rounds = 20) {
  training::ModelInfo info;
  info.signature.origin = std::move(origin);
  for (const std::string& name : names) info.signature.features.push_back({name, data::Type::kFloat64});
  info.signature.label = {"y", data::Type::kFloat64};
  info.signature.objective = objective;
  info.xgboost_version = training::XGBoostVersion();
  info.rounds = rounds;
  info.best_iteration = rounds - 1;
  return info;
}

// A PredictionStore in memory. The records live in a State the test keeps a
// pointer to, so it can read them while a PredictionLog owns the store.
class InMemoryPredictionStore : public PredictionStore {
 public:
  struct State {
    std::mutex mutex;
    std::vector<PredictionRecord> records;
    std::vector<DropMarker> drops;
    std::vector<PredictionRecord> Records() {
      std::lock_guard lock(mutex);
      return records;
    }
  };
  explicit InMemoryPredictionStore(std::shared_ptr<State> state) : state_(std::move(state)) {}

  Status Write(std::span<const PredictionRecord> records) override {
    std::lock_guard lock(state_->mutex);
    state_->records.insert(state_->records.end(), records.begin(), records.end());
    return Status::Ok();
  }
  Status WriteDrop(const DropMarker& drop) override {
    std::lock_guard lock(state_->mutex);
    state_->drops.push_back(drop);
    return Status::Ok();
  }
  Status Flush() override { return Status::Ok(); }
  Result<PredictionReadResult> Read(const PredictionQuery& query) override {
    std::lock_guard lock(state_->mutex);
    PredictionReadResult result;
    for (const PredictionRecord& record : state_->records) {
      if (!query.model.empty() && record.model != query.model) continue;
      result.records.push_back(record);
    }
    result.matched = static_cast<int64_t>(result.records.size());
    result.drops = state_->drops;
    return result;
  }
  std::string Describe() const override { return "memory"; }

 private:
  std::shared_ptr<State> state_;
};

// A data directory with every store the prediction server uses. Models are
// registered as Kiln's trainer leaves them: a run's artifacts/model folder,
// registered from runs:/<run>/model (storage location mlflow-artifacts:/…).
// Everything lives under a temporary directory removed by the destructor.
class ServingEnvironment {
 public:
  ServingEnvironment() : directory_("kiln-serving-service-test") {
    storage::DatabaseOptions options;
    options.uri = "sqlite://" + (directory_.path() / "kiln.db").string();
    options.durable_commits = false;
    options.pool_size = 4;
    database_ = Must(storage::Database::Open(options));
    Must(database_->Migrate(
        {&storage::Migrations(), &tracking::Migrations(), &features::Migrations(), &serving::Migrations()}));
    artifacts_ = std::make_unique<storage::ArtifactStore>(*database_,
                                                          (directory_.path() / "artifacts").string(), clock_);
    tracking_ = std::make_unique<tracking::TrackingStore>(*database_, clock_, ids_);
    registry_ = std::make_unique<tracking::ModelRegistry>(*database_, *tracking_, clock_);
    features::FeatureStoreOptions feature_options;
    feature_options.data_dir = directory_.string();
    feature_options.threads = 1;
    features_ = std::make_unique<features::FeatureStore>(*database_, *artifacts_, *tracking_, clock_,
                                                         feature_options);
  }
  ~ServingEnvironment() {
    features_.reset();
    registry_.reset();
    tracking_.reset();
    artifacts_.reset();
    database_.reset();
  }
  ServingEnvironment(const ServingEnvironment&) = delete;
  ServingEnvironment& operator=(const ServingEnvironment&) = delete;

  // Registers a new version of `name` holding `model_bytes` and `info`
  // (training::RegisterRunModel, which also checks the model loads).
  int64_t Register(const std::string& name, const std::string& model_bytes, training::ModelInfo info) {
    const std::string run_id = UploadModel(model_bytes, info, /*break_model=*/false);
    training::RegistryContext context{*registry_, *tracking_, *artifacts_, *features_};
    training::RegisterRequest request;
    request.run_id = run_id;
    request.name = name;
    return Must(training::RegisterRunModel(context, request)).version;
  }

  // Registers a version whose model.ubj does not match the SHA-256 in its
  // kiln-model.json (so it cannot be loaded).
  int64_t RegisterBroken(const std::string& name, const std::string& model_bytes, training::ModelInfo info) {
    const std::string run_id = UploadModel(model_bytes, info, /*break_model=*/true);
    if (!registry_->GetRegisteredModel(name).ok())
      Must(registry_->CreateRegisteredModel(name, {}, std::nullopt));
    tracking::NewModelVersion version;
    version.name = name;
    version.source = "runs:/" + run_id + "/model";
    version.run_id = run_id;
    return Must(registry_->CreateModelVersion(version)).version;
  }

  void SetAlias(const std::string& name, const std::string& alias, int64_t version) {
    Must(registry_->SetRegisteredModelAlias(name, alias, version));
  }

  // Writes `text` to `relative` under the data directory (feature sources).
  void WriteFile(const std::string& relative, const std::string& text) {
    std::ofstream(directory_.path() / relative, std::ios::binary) << text;
  }

  // Applies the feature repository in `yaml` (paths relative to the data directory).
  features::ApplyResult ApplyRepository(const std::string& yaml, const std::string& project) {
    features::RepositoryDef def =
        Must(features::ParseRepositoryFiles({{"repo.yaml", yaml}}, project, directory_.string()));
    auto repository = Must(
        features::Repository::Build(std::move(def), features::DefaultSchemaResolver(directory_.string())));
    return Must(features_->Apply(*repository, features::ApplyOptions()));
  }

  // Materializes every online view of `project` up to `end_micros`.
  void Materialize(const std::string& project, int64_t end_micros) {
    features::MaterializeRequest request;
    request.project = project;
    request.end_micros = end_micros;
    Must(features_->Materialize(request));
  }

  tracking::ModelRegistry& registry() { return *registry_; }
  storage::ArtifactStore& artifacts() { return *artifacts_; }
  features::FeatureStore& features() { return *features_; }
  FakeClock& clock() { return clock_; }
  const std::filesystem::path& path() const { return directory_.path(); }

 private:
  // A new run whose artifacts/model folder holds the model; its id.
  std::string UploadModel(const std::string& model_bytes, training::ModelInfo info, bool break_model) {
    tracking::CreateRunRequest run_request;
    tracking::Run run = Must(tracking_->CreateRun(run_request));
    const std::string folder = (directory_.path() / ("model-" + run.info.run_id)).string();
    Must(training::WriteModelDirectory(folder, model_bytes, info));
    if (break_model)
      Must(training::WriteArtifactFile(folder + "/" + training::kModelFileName, "not a model"));
    std::string root = run.info.artifact_uri.substr(std::string_view(training::kArtifactScheme).size());
    while (!root.empty() && root.front() == '/') root.erase(0, 1);
    for (const char* file :
         {training::kModelFileName, training::kModelInfoFileName, training::kMLmodelFileName}) {
      Must(artifacts_->PutBytes(root + "/model/" + file,
                                Must(training::ReadArtifactFile(folder + "/" + file))));
    }
    std::filesystem::remove_all(folder);
    return run.info.run_id;
  }

  TestDirectory directory_;
  FakeClock clock_{1'700'000'000'000};
  IdGenerator ids_{11};
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<storage::ArtifactStore> artifacts_;
  std::unique_ptr<tracking::TrackingStore> tracking_;
  std::unique_ptr<tracking::ModelRegistry> registry_;
  std::unique_ptr<features::FeatureStore> features_;
};

}  // namespace kiln::serving::testing_support
