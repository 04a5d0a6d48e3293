#pragma once
// Training/serving skew: recompute offline, with the point-in-time join
// used for training sets, the features of logged predictions — same
// entities, same request fields, as of the online store's materialization
// point the server read (PredictionRecord::features_as_of_micros; the
// prediction time when unknown) — and compare them feature by feature with
// what the server used. A mismatch means the online and offline paths
// disagree (a changed definition, a stale or broken materialization, a
// request field computed differently), not merely that the online store
// lags: staleness (prediction time − materialization point) is reported
// separately.
//
// Numbers match when |online − offline| <= abs_tolerance + rel_tolerance ·
// |offline| (float32 inputs: the model sees floats); null matches null only.

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "serving/prediction_record.h"

namespace kiln::features {
class FeatureStore;
}

namespace kiln::serving {

struct SkewOptions {
  double abs_tolerance = 1e-6;
  double rel_tolerance = 1e-6;
  int max_examples = 3;  // per feature
  int threads = 0;
};

struct SkewExample {
  std::string prediction_id;
  std::string entity;  // compact JSON of the entity keys
  double online = 0;   // NaN = null
  double offline = 0;
};

struct FeatureSkew {
  std::string feature;  // "origin_delays.delay_mean_1d"
  int64_t compared = 0;
  int64_t mismatches = 0;
  double max_abs_difference = 0;
  std::vector<SkewExample> examples;
};

struct SkewReport {
  std::string project;           // feature-store project
  std::string feature_service;
  int64_t predictions = 0;       // compared
  int64_t skipped = 0;           // records without a feature service or features
  std::vector<FeatureSkew> features;  // the model's feature order
  int64_t mismatches = 0;        // total over features
  // Staleness: prediction time − materialization point, over the sample (µs).
  int64_t staleness_p50_micros = 0;
  int64_t staleness_max_micros = 0;
};

// `records` all come from one model (same feature names); `project` and
// `service` are the model signature's feature project and service.
// Errors: unknown project/service, records whose entity lacks a join key
// ("prediction pred-1: entity lacks join key 'origin'").
Result<SkewReport> CheckSkew(features::FeatureStore& store, const std::string& project, const std::string& service,
                             const std::vector<PredictionRecord>& records, const SkewOptions& options);

}  // namespace kiln::serving
