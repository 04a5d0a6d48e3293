#pragma once
// One logged prediction (docs/formats/prediction-log.md, format_version 1):
// what was asked, which model version answered, with which feature values,
// and what it predicted. Written by the prediction server for every row it
// predicts; read back by the skew check, and later by experiments and
// monitoring, which join labels and business events to it by id / unit.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace kiln::serving {

struct PredictionRecord {
  std::string id;                // unique, e.g. "pred-5f0c…"; labels refer to it
  int64_t timestamp_micros = 0;  // when served (the request's as-of time in replays)
  std::string model;             // registered model name
  int64_t version = 0;           // registry version
  std::string alias;             // the alias the request reached it by ("" = by version)
  std::string experiment;        // (experiments issue) "" when none
  std::string arm;
  std::string unit_id;           // the randomization / business unit ("" when not given)
  Json entity = Json::object();  // entity keys as sent: {"origin": "ORD", ...}
  Json request = Json::object(); // request fields as sent: {"departure": "2001-04-01T08:00:00Z"}
  // The model's inputs as used, in the model's feature order; NaN = missing
  // (null). The names are shared by every record of a model version.
  std::shared_ptr<const std::vector<std::string>> feature_names;
  std::vector<double> feature_values;
  // The online store's materialization point for the model's feature
  // service when the features were read (µs; 0 when unknown or no feature
  // service): the skew check recomputes offline features as of this time.
  int64_t features_as_of_micros = 0;
  double prediction = 0;
};

// JSON object form (one line of the file log). Feature values as an object
// {"name": number|null}.
Json PredictionRecordToJson(const PredictionRecord& record);
// Errors name the field: "prediction log line 12: field 'version': expected an integer".
Result<PredictionRecord> PredictionRecordFromJson(const Json& json);

// (implementer's additions) The same object as text, as the file log writes
// and reads it: unlike the Json form above (whose objects sort their keys),
// these keep the features in the model's order. Append* adds no newline.
void AppendPredictionRecordJson(const PredictionRecord& record, std::string* out);
// Errors as PredictionRecordFromJson, or "malformed JSON: ..." for bad text.
Result<PredictionRecord> ParsePredictionRecordJson(std::string_view text);
// The "features" object alone, {"name": number|null} in order (the SQL
// store's features_json column), and back into record->feature_names/values.
void AppendFeaturesJson(const PredictionRecord& record, std::string* out);
Status ParseFeaturesJson(std::string_view text, PredictionRecord* record);

}  // namespace kiln::serving
