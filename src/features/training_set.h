#pragma once
// Training sets: entity rows (join keys, a timestamp, request fields and
// labels) joined point-in-time with the features of a feature service or a
// feature list, with on-demand features computed by the same expression
// engine the online path uses. The result is written as CSV (deterministic
// bytes), its SHA-256 is its data version, it is stored in the artifact
// store, and optionally recorded as a dataset input of a run.
// Format: docs/formats/training-set.md.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "data/frame.h"
#include "features/repository.h"
#include "features/source_reader.h"

namespace kiln::features {

struct TrainingSetRequest {
  std::string service;                // a feature service, or
  std::vector<std::string> features;  // "view.feature" / "view.*" refs
  data::Frame entities;
  std::string entity_timestamp = "event_timestamp";  // column of `entities`
  std::vector<std::string> labels;    // columns of `entities` kept as labels
  bool require_created_before_entity = false;
  int threads = 0;
  bool quiet = true;
};

struct TrainingSet {
  // Entity columns (join keys, timestamp, request fields, labels, in the
  // entity frame's order; other entity columns are dropped; the timestamp
  // as a timestamp column) then one column per requested feature named
  // "view.feature", in request order. Rows in entity order.
  data::Frame frame;
  std::vector<ResolvedFeature> features;
  int64_t rows = 0;
  // Per feature, the fraction of rows where it is null (misses included).
  std::vector<double> null_fractions;
};

// Builds the frame. Row features honour the view's TTL; aggregation
// features only their window (t − window, t], as materialization does. The
// entity timestamp may be ISO 8601 text (read as UTC when naive).
// Errors: unknown service/feature; entity frame missing a
// join key, the timestamp column, a request field or a label ("entity rows
// lack column 'origin' needed by feature view 'origin_delays'"); a column of
// the wrong type.
Result<TrainingSet> BuildTrainingSet(const Repository& repository,
                                     const TrainingSetRequest& request,
                                     const SourceReadOptions& source_options);

}  // namespace kiln::features
