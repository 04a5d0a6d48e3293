#include "serving/skew_job.h"

#include <cmath>
#include <map>

#include "data/timestamp.h"
#include "serving/served_model.h"
#include "tracking/model_registry.h"

namespace kiln::serving {
namespace {

Json NumberOrNull(double value) { return std::isnan(value) ? Json(nullptr) : Json(value); }

}  // namespace

Result<SkewJobResult> RunSkewJob(features::FeatureStore& features, PredictionStore& log,
                                 tracking::ModelRegistry& registry, storage::ArtifactStore& artifacts,
                                 const SkewJob& job) {
  if (job.sample <= 0) return InvalidArgument("--sample must be positive, got " + std::to_string(job.sample));
  PredictionQuery query;
  query.model = job.model;
  query.version = job.version;
  query.sample = job.sample;
  query.seed = job.seed;
  KILN_ASSIGN_OR_RETURN(PredictionReadResult read, log.Read(query));
  if (read.records.empty()) {
    return NotFound("no logged predictions of model '" + job.model + "'" +
                    (job.version ? " version " + std::to_string(*job.version) : "") + " in " + log.Describe());
  }
  SkewJobResult result;
  result.model = job.model;
  result.logged = read.matched;
  for (const DropMarker& drop : read.drops) result.dropped += drop.count;
  if (job.version) {
    result.version = *job.version;
  } else {
    std::map<int64_t, int64_t> counts;
    for (const PredictionRecord& record : read.records) ++counts[record.version];
    int64_t best = 0;
    for (const auto& [version, count] : counts) {
      if (count > best) {
        best = count;
        result.version = version;
      }
    }
  }
  std::vector<PredictionRecord> records;
  for (PredictionRecord& record : read.records) {
    if (record.version == result.version) records.push_back(std::move(record));
  }
  KILN_ASSIGN_OR_RETURN(tracking::ModelVersion version, registry.GetModelVersion(job.model, result.version));
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<const ServedModel> model,
                        ServedModel::Load(artifacts, job.model, result.version, version.run_id.value_or(""),
                                          version.storage_location));
  const training::ModelOrigin& origin = model->signature().origin;
  if (origin.feature_service.empty()) {
    return FailedPrecondition(job.model + " v" + std::to_string(result.version) +
                              " was not trained on a feature service: nothing to compare");
  }
  KILN_ASSIGN_OR_RETURN(result.report,
                        CheckSkew(features, origin.feature_project, origin.feature_service, records, job.options));
  return result;
}

Json SkewJobResultToJson(const SkewJobResult& result) {
  const SkewReport& report = result.report;
  Json features = Json::array();
  for (const FeatureSkew& feature : report.features) {
    Json examples = Json::array();
    for (const SkewExample& example : feature.examples) {
      examples.push_back({{"prediction_id", example.prediction_id},
                          {"entity", example.entity},
                          {"online", NumberOrNull(example.online)},
                          {"offline", NumberOrNull(example.offline)}});
    }
    features.push_back({{"feature", feature.feature},
                        {"compared", feature.compared},
                        {"mismatches", feature.mismatches},
                        {"max_abs_difference", feature.max_abs_difference},
                        {"examples", examples}});
  }
  return Json{{"model", result.model},
              {"version", result.version},
              {"logged", result.logged},
              {"dropped", result.dropped},
              {"project", report.project},
              {"feature_service", report.feature_service},
              {"predictions", report.predictions},
              {"skipped", report.skipped},
              {"mismatches", report.mismatches},
              {"staleness_p50_seconds", report.staleness_p50_micros / 1e6},
              {"staleness_max_seconds", report.staleness_max_micros / 1e6},
              {"features", features}};
}

}  // namespace kiln::serving
