// The canonical JSON form of a run spec (docs/formats/run-spec.md,
// format_version 1): every field written, defaults included, keys sorted,
// timestamps as ISO 8601 text in UTC.
#include <limits>
#include <set>
#include <type_traits>

#include "data/timestamp.h"
#include "training/run_spec.h"
#include "training/run_spec_internal.h"

namespace kiln::training {
namespace {

Json OptionalTimestamp(const std::optional<int64_t>& micros) {
  return micros ? Json(data::FormatTimestamp(*micros)) : Json(nullptr);
}

std::string_view SplitKindName(SplitKind kind) { return kind == SplitKind::kTime ? "time" : "random"; }

// Reads one JSON object field by field, keeping the first problem; fields
// that are absent or null keep their defaults. Single use.
class JsonSpecReader {
 public:
  // The first problem, or OK.
  const Status& status() const { return status_; }

  // Whether `json` is an object whose keys are all in `known`.
  bool Object(const Json& json, const std::string& path, const std::set<std::string>& known) {
    if (!json.is_object()) return Fail(path, "expected an object, got " + json.dump());
    for (const auto& [key, value] : json.items()) {
      if (known.count(key) == 0) return Fail(Join(path, key), "unknown field");
    }
    return true;
  }

  const Json* Get(const Json& object, const std::string& key) {
    const auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
  }

  void String(const Json& object, const std::string& path, const std::string& key, std::string* out) {
    const Json* value = Get(object, key);
    if (value == nullptr) return;
    if (!value->is_string()) {
      Fail(Join(path, key), "expected a string, got " + value->dump());
      return;
    }
    *out = value->get<std::string>();
  }

  template <typename Integer>
  void Int(const Json& object, const std::string& path, const std::string& key, Integer* out) {
    const Json* value = Get(object, key);
    if (value == nullptr) return;
    bool fits = false;
    if constexpr (std::is_signed_v<Integer>) {
      fits = value->is_number_integer() &&
             (value->is_number_unsigned()
                  ? value->get<uint64_t>() <= uint64_t{std::numeric_limits<Integer>::max()}
                  : value->get<int64_t>() >= std::numeric_limits<Integer>::min() &&
                        value->get<int64_t>() <= std::numeric_limits<Integer>::max());
    } else {
      fits = value->is_number_unsigned();
    }
    if (!fits) {
      Fail(Join(path, key), "expected an integer, got " + value->dump());
      return;
    }
    *out = value->get<Integer>();
  }

  void Number(const Json& object, const std::string& path, const std::string& key, double* out) {
    const Json* value = Get(object, key);
    if (value == nullptr) return;
    if (!value->is_number()) {
      Fail(Join(path, key), "expected a number, got " + value->dump());
      return;
    }
    *out = value->get<double>();
  }

  void Timestamp(const Json& object, const std::string& path, const std::string& key,
                 std::optional<int64_t>* out) {
    std::string text;
    String(object, path, key, &text);
    if (text.empty()) return;
    Result<int64_t> micros = data::ParseTimestamp(text, data::TimeZone::Utc());
    if (!micros.ok()) {
      Fail(Join(path, key), micros.status().message());
      return;
    }
    *out = *micros;
  }

  void StringList(const Json& object, const std::string& path, const std::string& key,
                  std::vector<std::string>* out) {
    const Json* value = Get(object, key);
    if (value == nullptr) return;
    if (!value->is_array()) {
      Fail(Join(path, key), "expected a list of strings, got " + value->dump());
      return;
    }
    for (const Json& item : *value) {
      if (!item.is_string()) {
        Fail(Join(path, key), "expected a list of strings, got " + value->dump());
        return;
      }
      out->push_back(item.get<std::string>());
    }
  }

  void StringMap(const Json& object, const std::string& path, const std::string& key,
                 std::map<std::string, std::string>* out) {
    const Json* value = Get(object, key);
    if (value == nullptr) return;
    if (!value->is_object()) {
      Fail(Join(path, key), "expected an object of strings, got " + value->dump());
      return;
    }
    for (const auto& [name, item] : value->items()) {
      if (!item.is_string()) {
        Fail(Join(Join(path, key), name), "expected a string, got " + item.dump());
        return;
      }
      (*out)[name] = item.get<std::string>();
    }
  }

  bool Fail(const std::string& path, const std::string& message) {
    if (status_.ok()) status_ = InvalidArgument("run spec JSON: " + path + ": " + message);
    return false;
  }

 private:
  static std::string Join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  Status status_;
};

Json EmptyIfNull(const Json* json) { return json == nullptr ? Json::object() : *json; }

}  // namespace

Json RunSpecToJson(const RunSpec& spec) {
  Json json = Json::object();
  json["format_version"] = kRunSpecFormatVersion;
  json["project"] = spec.project;
  json["run_name"] = spec.run_name;
  json["code_dir"] = spec.code_dir;
  const DataSpec& data = spec.data;
  json["data"] = {{"feature_project", data.feature_project},
                  {"feature_service", data.feature_service},
                  {"entities", data.entities},
                  {"timestamp_column", data.timestamp_column},
                  {"start", OptionalTimestamp(data.start_micros)},
                  {"end", OptionalTimestamp(data.end_micros)},
                  {"file", data.file},
                  {"label", data.label},
                  {"exclude", data.exclude}};
  const SplitSpec& split = spec.split;
  json["split"] = {{"kind", SplitKindName(split.kind)},
                   {"validation_fraction", split.validation_fraction},
                   {"holdout_fraction", split.holdout_fraction},
                   {"seed", split.seed},
                   {"time_column", split.time_column},
                   {"validation_start", OptionalTimestamp(split.validation_start_micros)}};
  if (spec.trainer == TrainerKind::kXGBoost) {
    json["trainer"] = {{"kind", "xgboost"},
                       {"xgboost",
                        {{"objective", spec.xgboost.objective},
                         {"num_boost_round", spec.xgboost.num_boost_round},
                         {"early_stopping_rounds", spec.xgboost.early_stopping_rounds},
                         {"seed", spec.xgboost.seed},
                         {"params", spec.xgboost.params}}}};
  } else {
    json["trainer"] = {{"kind", "command"},
                       {"command", {{"argv", spec.command.argv}, {"env", spec.command.env}}}};
  }
  json["params"] = spec.params;
  json["resources"] = {{"cpus", spec.resources.cpus},
                       {"memory_bytes", spec.resources.memory_bytes},
                       {"time_limit_seconds", spec.resources.time_limit_seconds},
                       {"partition", spec.resources.partition},
                       {"gres", spec.resources.gres}};
  json["executor"] = spec.executor;
  json["debian_packages"] = spec.debian_packages;
  json["tags"] = spec.tags;
  return json;
}

Result<RunSpec> RunSpecFromJson(const Json& json) {
  JsonSpecReader reader;
  RunSpec spec;
  if (!reader.Object(json, "",
                     {"format_version", "project", "run_name", "code_dir", "data", "split", "trainer",
                      "params", "resources", "executor", "debian_packages", "tags"})) {
    return reader.status();
  }
  const Json* version = reader.Get(json, "format_version");
  if (version == nullptr) return InvalidArgument("run spec JSON: format_version is missing");
  if (*version != kRunSpecFormatVersion) {
    return InvalidArgument("run spec JSON: format_version " + version->dump() +
                           " is not supported (this kiln reads " + std::to_string(kRunSpecFormatVersion) +
                           ")");
  }
  reader.String(json, "", "project", &spec.project);
  reader.String(json, "", "run_name", &spec.run_name);
  reader.String(json, "", "code_dir", &spec.code_dir);

  const Json data = EmptyIfNull(reader.Get(json, "data"));
  if (reader.Object(data, "data",
                    {"feature_project", "feature_service", "entities", "timestamp_column", "start", "end",
                     "file", "label", "exclude"})) {
    reader.String(data, "data", "feature_project", &spec.data.feature_project);
    reader.String(data, "data", "feature_service", &spec.data.feature_service);
    reader.String(data, "data", "entities", &spec.data.entities);
    reader.String(data, "data", "timestamp_column", &spec.data.timestamp_column);
    reader.Timestamp(data, "data", "start", &spec.data.start_micros);
    reader.Timestamp(data, "data", "end", &spec.data.end_micros);
    reader.String(data, "data", "file", &spec.data.file);
    reader.String(data, "data", "label", &spec.data.label);
    reader.StringList(data, "data", "exclude", &spec.data.exclude);
  }

  const Json split = EmptyIfNull(reader.Get(json, "split"));
  if (reader.Object(
          split, "split",
          {"kind", "validation_fraction", "holdout_fraction", "seed", "time_column", "validation_start"})) {
    std::string kind = "random";
    reader.String(split, "split", "kind", &kind);
    if (kind == "time") {
      spec.split.kind = SplitKind::kTime;
    } else if (kind != "random") {
      reader.Fail("split.kind", "expected random or time, got '" + kind + "'");
    }
    reader.Number(split, "split", "validation_fraction", &spec.split.validation_fraction);
    reader.Number(split, "split", "holdout_fraction", &spec.split.holdout_fraction);
    reader.Int(split, "split", "seed", &spec.split.seed);
    reader.String(split, "split", "time_column", &spec.split.time_column);
    reader.Timestamp(split, "split", "validation_start", &spec.split.validation_start_micros);
  }

  const Json trainer = EmptyIfNull(reader.Get(json, "trainer"));
  if (reader.Object(trainer, "trainer", {"kind", "xgboost", "command"})) {
    std::string kind = "xgboost";
    reader.String(trainer, "trainer", "kind", &kind);
    if (kind == "xgboost") {
      const Json xgboost = EmptyIfNull(reader.Get(trainer, "xgboost"));
      if (reader.Object(xgboost, "trainer.xgboost",
                        {"objective", "num_boost_round", "early_stopping_rounds", "seed", "params"})) {
        reader.String(xgboost, "trainer.xgboost", "objective", &spec.xgboost.objective);
        reader.Int(xgboost, "trainer.xgboost", "num_boost_round", &spec.xgboost.num_boost_round);
        reader.Int(xgboost, "trainer.xgboost", "early_stopping_rounds", &spec.xgboost.early_stopping_rounds);
        reader.Int(xgboost, "trainer.xgboost", "seed", &spec.xgboost.seed);
        reader.StringMap(xgboost, "trainer.xgboost", "params", &spec.xgboost.params);
      }
      if (trainer.contains("command")) reader.Fail("trainer.command", "not used by the xgboost trainer");
    } else if (kind == "command") {
      spec.trainer = TrainerKind::kCommand;
      const Json command = EmptyIfNull(reader.Get(trainer, "command"));
      if (reader.Object(command, "trainer.command", {"argv", "env"})) {
        reader.StringList(command, "trainer.command", "argv", &spec.command.argv);
        reader.StringMap(command, "trainer.command", "env", &spec.command.env);
      }
      if (trainer.contains("xgboost")) reader.Fail("trainer.xgboost", "not used by a command trainer");
    } else {
      reader.Fail("trainer.kind", "expected xgboost or command, got '" + kind + "'");
    }
  }

  reader.StringMap(json, "", "params", &spec.params);
  const Json resources = EmptyIfNull(reader.Get(json, "resources"));
  if (reader.Object(resources, "resources",
                    {"cpus", "memory_bytes", "time_limit_seconds", "partition", "gres"})) {
    reader.Int(resources, "resources", "cpus", &spec.resources.cpus);
    reader.Int(resources, "resources", "memory_bytes", &spec.resources.memory_bytes);
    reader.Int(resources, "resources", "time_limit_seconds", &spec.resources.time_limit_seconds);
    reader.String(resources, "resources", "partition", &spec.resources.partition);
    reader.String(resources, "resources", "gres", &spec.resources.gres);
  }
  reader.String(json, "", "executor", &spec.executor);
  reader.StringList(json, "", "debian_packages", &spec.debian_packages);
  reader.StringMap(json, "", "tags", &spec.tags);
  if (!reader.status().ok()) return reader.status();
  KILN_RETURN_IF_ERROR(ValidateRunSpec(spec));
  return spec;
}

}  // namespace kiln::training
