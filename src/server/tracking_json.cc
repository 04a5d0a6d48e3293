#include "server/tracking_json.h"

#include <optional>

namespace kiln::server {
namespace {

std::string Path(std::string_view prefix, std::string_view field) {
  return prefix.empty() ? std::string(field) : std::string(prefix) + "." + std::string(field);
}

std::string Indexed(std::string_view field, size_t index) {
  return std::string(field) + "[" + std::to_string(index) + "]";
}

// Typed access to a field of a nested object, reported under its full path:
// JsonFields on a one-field object named by the path.
class NestedFields {
 public:
  NestedFields(const Json& object, std::string prefix) : object_(object), prefix_(std::move(prefix)) {}

  // Reads the field in place; only a failed read is repeated on a one-field
  // copy named by the full path, so the error names it (log-batch parses
  // thousands of these per request).
  template <typename Getter>
  auto Get(std::string_view field, Getter getter) const {
    auto direct = getter(JsonFields(object_), field);
    if (direct.ok()) return direct;
    std::string path = Path(prefix_, field);
    Json single = Json::object();
    auto it = object_.find(field);
    if (it != object_.end()) single[path] = *it;
    return getter(JsonFields(single), path);
  }

  Result<std::optional<std::string>> OptionalString(std::string_view field) const {
    return Get(field, [](const JsonFields& f, std::string_view p) { return f.OptionalString(p); });
  }
  // Missing, null and "" are all "missing", as in MLflow.
  Result<std::string> RequiredString(std::string_view field) const {
    KILN_ASSIGN_OR_RETURN(std::optional<std::string> value, OptionalString(field));
    if (!value || value->empty()) return MissingParameter(Path(prefix_, field));
    return *value;
  }
  Result<std::optional<int64_t>> OptionalInt64(std::string_view field) const {
    return Get(field, [](const JsonFields& f, std::string_view p) { return f.OptionalInt64(p); });
  }
  Result<int64_t> RequiredInt64(std::string_view field) const {
    return Get(field, [](const JsonFields& f, std::string_view p) { return f.RequiredInt64(p); });
  }
  Result<double> RequiredDouble(std::string_view field) const {
    return Get(field, [](const JsonFields& f, std::string_view p) { return f.RequiredDouble(p); });
  }

 private:
  const Json& object_;
  std::string prefix_;
};

// The objects of an array field; missing gives none.
Result<std::vector<Json>> ObjectArray(const Json& message, std::string_view field) {
  KILN_ASSIGN_OR_RETURN(std::vector<Json> items, JsonFields(message).OptionalArray(field));
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_object()) return InvalidParameter(Indexed(field, i), items[i], "an object");
  }
  return items;
}

Result<std::vector<tracking::Tag>> ParseTagObjects(const std::vector<Json>& items, std::string_view field) {
  std::vector<tracking::Tag> tags;
  tags.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    NestedFields f(items[i], Indexed(field, i));
    tracking::Tag tag;
    KILN_ASSIGN_OR_RETURN(tag.key, f.RequiredString("key"));
    KILN_ASSIGN_OR_RETURN(std::optional<std::string> value, f.OptionalString("value"));
    tag.value = value.value_or("");
    tags.push_back(std::move(tag));
  }
  return tags;
}

}  // namespace

Json TagsJson(const std::vector<tracking::Tag>& tags) {
  Json out = Json::array();
  for (const tracking::Tag& tag : tags) out.push_back({{"key", tag.key}, {"value", tag.value}});
  return out;
}

Json ExperimentJson(const tracking::Experiment& experiment) {
  Json out = {{"experiment_id", experiment.experiment_id},
              {"name", experiment.name},
              {"artifact_location", experiment.artifact_location},
              {"lifecycle_stage", experiment.lifecycle_stage},
              {"creation_time", experiment.creation_time},
              {"last_update_time", experiment.last_update_time}};
  if (!experiment.tags.empty()) out["tags"] = TagsJson(experiment.tags);
  return out;
}

Json MetricJson(const tracking::Metric& metric) {
  return {{"key", metric.key},
          {"value", JsonDouble(metric.value)},
          {"timestamp", metric.timestamp},
          {"step", metric.step}};
}

Json MetricWithRunIdJson(const tracking::MetricWithRunId& metric) {
  Json out = MetricJson(metric.metric);
  out["run_id"] = metric.run_id;
  return out;
}

Json RunInfoJson(const tracking::RunInfo& info) {
  Json out = {{"run_id", info.run_id},
              {"run_uuid", info.run_id},
              {"run_name", info.run_name},
              {"experiment_id", info.experiment_id},
              {"user_id", info.user_id},
              {"status", std::string(tracking::RunStatusName(info.status))},
              {"start_time", info.start_time},
              {"artifact_uri", info.artifact_uri},
              {"lifecycle_stage", info.lifecycle_stage}};
  if (info.end_time) out["end_time"] = *info.end_time;
  return out;
}

Json DatasetInputJson(const tracking::DatasetInput& input) {
  const tracking::Dataset& d = input.dataset;
  Json dataset = {{"name", d.name}, {"digest", d.digest}, {"source_type", d.source_type}, {"source", d.source}};
  if (d.schema) dataset["schema"] = *d.schema;
  if (d.profile) dataset["profile"] = *d.profile;
  Json out = {{"dataset", std::move(dataset)}};
  if (!input.tags.empty()) out["tags"] = TagsJson(input.tags);
  return out;
}

void WriteRun(JsonWriter& w, const tracking::Run& run) {
  const tracking::RunInfo& info = run.info;
  w.BeginObject();
  w.Key("info");
  w.BeginObject();
  w.Field("run_id", info.run_id);
  w.Field("run_uuid", info.run_id);
  w.Field("run_name", info.run_name);
  w.Field("experiment_id", info.experiment_id);
  w.Field("user_id", info.user_id);
  w.Field("status", tracking::RunStatusName(info.status));
  w.Field("start_time", info.start_time);
  if (info.end_time) w.Field("end_time", *info.end_time);
  w.Field("artifact_uri", info.artifact_uri);
  w.Field("lifecycle_stage", info.lifecycle_stage);
  w.EndObject();

  w.Key("data");
  w.BeginObject();
  if (!run.data.metrics.empty()) {
    w.Key("metrics");
    w.BeginArray();
    for (const tracking::Metric& metric : run.data.metrics) {
      w.BeginObject();
      w.Field("key", metric.key);
      w.Key("value");
      w.Double(metric.value);
      w.Field("timestamp", metric.timestamp);
      w.Field("step", metric.step);
      w.EndObject();
    }
    w.EndArray();
  }
  auto write_pairs = [&](const char* name, const auto& items) {
    if (items.empty()) return;
    w.Key(name);
    w.BeginArray();
    for (const auto& item : items) {
      w.BeginObject();
      w.Field("key", item.key);
      w.Field("value", item.value);
      w.EndObject();
    }
    w.EndArray();
  };
  write_pairs("params", run.data.params);
  write_pairs("tags", run.data.tags);
  w.EndObject();

  w.Key("inputs");
  w.BeginObject();
  if (!run.inputs.dataset_inputs.empty()) {
    w.Key("dataset_inputs");
    w.BeginArray();
    for (const tracking::DatasetInput& input : run.inputs.dataset_inputs) w.Value(DatasetInputJson(input));
    w.EndArray();
  }
  w.EndObject();
  w.EndObject();
}

Json RunJson(const tracking::Run& run) {
  std::string text;
  JsonWriter writer(&text);
  WriteRun(writer, run);
  return Json::parse(text);
}

Result<std::vector<tracking::Tag>> ParseTags(const Json& message, std::string_view field) {
  KILN_ASSIGN_OR_RETURN(std::vector<Json> items, ObjectArray(message, field));
  return ParseTagObjects(items, field);
}

Result<std::vector<tracking::Metric>> ParseMetrics(const Json& message, std::string_view field) {
  KILN_ASSIGN_OR_RETURN(std::vector<Json> items, ObjectArray(message, field));
  std::vector<tracking::Metric> metrics;
  metrics.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    NestedFields f(items[i], Indexed(field, i));
    tracking::Metric metric;
    KILN_ASSIGN_OR_RETURN(metric.key, f.RequiredString("key"));
    KILN_ASSIGN_OR_RETURN(metric.value, f.RequiredDouble("value"));
    KILN_ASSIGN_OR_RETURN(metric.timestamp, f.RequiredInt64("timestamp"));
    KILN_ASSIGN_OR_RETURN(std::optional<int64_t> step, f.OptionalInt64("step"));
    metric.step = step.value_or(0);
    metrics.push_back(std::move(metric));
  }
  return metrics;
}

Result<std::vector<tracking::Param>> ParseParams(const Json& message, std::string_view field) {
  KILN_ASSIGN_OR_RETURN(std::vector<Json> items, ObjectArray(message, field));
  KILN_ASSIGN_OR_RETURN(std::vector<tracking::Tag> pairs, ParseTagObjects(items, field));
  std::vector<tracking::Param> params;
  params.reserve(pairs.size());
  for (tracking::Tag& pair : pairs) params.push_back({std::move(pair.key), std::move(pair.value)});
  return params;
}

Result<std::vector<tracking::DatasetInput>> ParseDatasetInputs(const Json& message, std::string_view field) {
  KILN_ASSIGN_OR_RETURN(std::vector<Json> items, ObjectArray(message, field));
  std::vector<tracking::DatasetInput> inputs;
  inputs.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    std::string prefix = Indexed(field, i);
    tracking::DatasetInput input;
    KILN_ASSIGN_OR_RETURN(std::vector<Json> tag_items, ObjectArray(items[i], "tags"));
    KILN_ASSIGN_OR_RETURN(input.tags, ParseTagObjects(tag_items, Path(prefix, "tags")));
    const Json* dataset = JsonFields(items[i]).Get("dataset");
    if (dataset == nullptr) return MissingParameter(Path(prefix, "dataset"));
    if (!dataset->is_object()) return InvalidParameter(Path(prefix, "dataset"), *dataset, "an object");
    NestedFields f(*dataset, Path(prefix, "dataset"));
    tracking::Dataset& d = input.dataset;
    KILN_ASSIGN_OR_RETURN(d.name, f.RequiredString("name"));
    KILN_ASSIGN_OR_RETURN(d.digest, f.RequiredString("digest"));
    KILN_ASSIGN_OR_RETURN(d.source_type, f.RequiredString("source_type"));
    KILN_ASSIGN_OR_RETURN(d.source, f.RequiredString("source"));
    KILN_ASSIGN_OR_RETURN(d.schema, f.OptionalString("schema"));
    KILN_ASSIGN_OR_RETURN(d.profile, f.OptionalString("profile"));
    inputs.push_back(std::move(input));
  }
  return inputs;
}

Result<std::vector<std::string>> ParseStringList(const Json& message, std::string_view field) {
  const Json* value = JsonFields(message).Get(field);
  if (value != nullptr && value->is_string()) return std::vector<std::string>{value->get<std::string>()};
  return JsonFields(message).OptionalStringArray(field);
}

}  // namespace kiln::server
