#include "serving/prediction_record.h"

#include <cmath>
#include <limits>

#include "common/json_writer.h"
#include "data/timestamp.h"

namespace kiln::serving {

namespace {

using OrderedJson = nlohmann::ordered_json;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// "malformed JSON at byte 17: ..." (re-parses with exceptions on this error path only).
Status MalformedJson(std::string_view text) {
  try {
    OrderedJson ignored = OrderedJson::parse(text);
    (void)ignored;
  } catch (const OrderedJson::parse_error& error) {
    std::string what = error.what();
    size_t colon = what.find(": ");
    return InvalidArgument("malformed JSON at byte " + std::to_string(error.byte) + ": " +
                           (colon == std::string::npos ? what : what.substr(colon + 2)));
  } catch (...) {
  }
  return InvalidArgument("malformed JSON");
}

Status FieldError(std::string_view field, std::string_view problem) {
  return InvalidArgument("field '" + std::string(field) + "': " + std::string(problem));
}

// A JSON number, or one of the strings "NaN", "Infinity", "-Infinity"
// (protobuf JSON, as JsonWriter::Double writes non-finite values).
template <typename J>
std::optional<double> NumberOf(const J& value) {
  if (value.is_number()) return value.template get<double>();
  if (value.is_string()) {
    const auto& text = value.template get_ref<const std::string&>();
    if (text == "NaN") return kNaN;
    if (text == "Infinity") return std::numeric_limits<double>::infinity();
    if (text == "-Infinity") return -std::numeric_limits<double>::infinity();
  }
  return std::nullopt;
}

// Field readers: absent and null fields are "missing".
template <typename J>
const J* Find(const J& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

template <typename J>
Result<std::string> StringField(const J& object, const char* name, bool required) {
  const J* value = Find(object, name);
  if (value == nullptr) {
    if (required) return FieldError(name, "missing");
    return std::string();
  }
  if (!value->is_string()) return FieldError(name, "expected a string");
  return value->template get<std::string>();
}

template <typename J>
Result<int64_t> IntegerField(const J& object, const char* name) {
  const J* value = Find(object, name);
  if (value == nullptr) return FieldError(name, "missing");
  if (!value->is_number_integer()) return FieldError(name, "expected an integer");
  if (value->is_number_unsigned() &&
      value->template get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return FieldError(name, "expected an integer");
  }
  return value->template get<int64_t>();
}

// An ISO 8601 timestamp string; nullopt when absent or null and !required.
template <typename J>
Result<std::optional<int64_t>> TimestampField(const J& object, const char* name, bool required) {
  const J* value = Find(object, name);
  if (value == nullptr) {
    if (required) return FieldError(name, "missing");
    return std::optional<int64_t>();
  }
  if (!value->is_string()) return FieldError(name, "expected an ISO 8601 timestamp string");
  auto micros = data::ParseTimestamp(value->template get_ref<const std::string&>(), data::TimeZone::Utc());
  if (!micros.ok()) return FieldError(name, micros.status().message());
  return std::optional<int64_t>(*micros);
}

template <typename J>
Result<Json> ObjectField(const J& object, const char* name) {
  const J* value = Find(object, name);
  if (value == nullptr) return Json::object();
  if (!value->is_object()) return FieldError(name, "expected a JSON object");
  if constexpr (std::is_same_v<J, Json>) {
    return *value;
  } else {
    Json copy = Json::parse(value->dump(-1, ' ', false, OrderedJson::error_handler_t::replace), nullptr,
                            /*allow_exceptions=*/false);
    return copy.is_discarded() ? Json::object() : copy;
  }
}

// {"name": number|null, ...} into names and values, in the object's order.
template <typename J>
Status ReadFeatures(const J& features, PredictionRecord* record) {
  if (!features.is_object()) return FieldError("features", "expected a JSON object");
  auto names = std::make_shared<std::vector<std::string>>();
  names->reserve(features.size());
  record->feature_values.clear();
  record->feature_values.reserve(features.size());
  for (auto it = features.begin(); it != features.end(); ++it) {
    std::optional<double> number = it->is_null() ? std::optional<double>(kNaN) : NumberOf(*it);
    if (!number) return FieldError("features", "value of '" + it.key() + "' must be a number or null");
    names->push_back(it.key());
    record->feature_values.push_back(*number);
  }
  record->feature_names = std::move(names);
  return Status::Ok();
}

template <typename J>
Result<PredictionRecord> RecordFromJson(const J& json) {
  if (!json.is_object()) return InvalidArgument("a prediction record must be a JSON object");
  PredictionRecord record;
  if (const J* kind = Find(json, "kind"); kind != nullptr) {
    if (!kind->is_string() || kind->template get_ref<const std::string&>() != "prediction") {
      return FieldError("kind", "expected \"prediction\", got " + kind->dump());
    }
  }
  KILN_ASSIGN_OR_RETURN(record.id, StringField(json, "id", /*required=*/true));
  if (record.id.empty()) return FieldError("id", "must not be empty");
  KILN_ASSIGN_OR_RETURN(std::optional<int64_t> timestamp, TimestampField(json, "timestamp", /*required=*/true));
  record.timestamp_micros = *timestamp;
  KILN_ASSIGN_OR_RETURN(record.model, StringField(json, "model", /*required=*/true));
  KILN_ASSIGN_OR_RETURN(record.version, IntegerField(json, "version"));
  KILN_ASSIGN_OR_RETURN(record.alias, StringField(json, "alias", /*required=*/false));
  KILN_ASSIGN_OR_RETURN(record.experiment, StringField(json, "experiment", /*required=*/false));
  KILN_ASSIGN_OR_RETURN(record.arm, StringField(json, "arm", /*required=*/false));
  KILN_ASSIGN_OR_RETURN(record.unit_id, StringField(json, "unit_id", /*required=*/false));
  KILN_ASSIGN_OR_RETURN(record.entity, ObjectField(json, "entity"));
  KILN_ASSIGN_OR_RETURN(record.request, ObjectField(json, "request"));
  if (const J* features = Find(json, "features"); features != nullptr) {
    KILN_RETURN_IF_ERROR(ReadFeatures(*features, &record));
  } else {
    record.feature_names = std::make_shared<std::vector<std::string>>();
  }
  KILN_ASSIGN_OR_RETURN(std::optional<int64_t> as_of, TimestampField(json, "features_as_of", /*required=*/false));
  record.features_as_of_micros = as_of.value_or(0);
  const J* prediction = Find(json, "prediction");
  if (prediction == nullptr) return FieldError("prediction", "missing");
  std::optional<double> value = NumberOf(*prediction);
  if (!value) return FieldError("prediction", "expected a number");
  record.prediction = *value;
  return record;
}

void WriteFeatures(const PredictionRecord& record, JsonWriter& writer) {
  writer.BeginObject();
  if (record.feature_names != nullptr) {
    const std::vector<std::string>& names = *record.feature_names;
    for (size_t i = 0; i < names.size(); ++i) {
      writer.Key(names[i]);
      double value = i < record.feature_values.size() ? record.feature_values[i] : kNaN;
      if (std::isnan(value)) {
        writer.Null();
      } else {
        writer.Double(value);
      }
    }
  }
  writer.EndObject();
}

}  // namespace

void AppendPredictionRecordJson(const PredictionRecord& record, std::string* out) {
  JsonWriter writer(out);
  writer.BeginObject();
  writer.Field("kind", "prediction");
  writer.Field("id", record.id);
  writer.Field("timestamp", data::FormatTimestamp(record.timestamp_micros));
  writer.Field("model", record.model);
  writer.Field("version", record.version);
  writer.Field("alias", record.alias);
  writer.Field("experiment", record.experiment);
  writer.Field("arm", record.arm);
  writer.Field("unit_id", record.unit_id);
  writer.Key("entity");
  writer.Value(record.entity.is_object() ? record.entity : Json::object());
  writer.Key("request");
  writer.Value(record.request.is_object() ? record.request : Json::object());
  writer.Key("features");
  WriteFeatures(record, writer);
  writer.Key("features_as_of");
  if (record.features_as_of_micros == 0) {
    writer.Null();
  } else {
    writer.String(data::FormatTimestamp(record.features_as_of_micros));
  }
  writer.Key("prediction");
  writer.Double(record.prediction);
  writer.EndObject();
}

Json PredictionRecordToJson(const PredictionRecord& record) {
  std::string text;
  AppendPredictionRecordJson(record, &text);
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);  // valid by construction
  return json.is_discarded() ? Json::object() : json;
}

Result<PredictionRecord> PredictionRecordFromJson(const Json& json) { return RecordFromJson(json); }

Result<PredictionRecord> ParsePredictionRecordJson(std::string_view text) {
  OrderedJson json = OrderedJson::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return MalformedJson(text);
  return RecordFromJson(json);
}

void AppendFeaturesJson(const PredictionRecord& record, std::string* out) {
  JsonWriter writer(out);
  WriteFeatures(record, writer);
}

Status ParseFeaturesJson(std::string_view text, PredictionRecord* record) {
  OrderedJson json = OrderedJson::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return FieldError("features", MalformedJson(text).message());
  return ReadFeatures(json, record);
}

}  // namespace kiln::serving
