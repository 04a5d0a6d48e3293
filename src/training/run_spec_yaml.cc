// ParseRunSpec: the YAML a user writes (docs/training/run-spec.md) into a
// RunSpec. Shape and type problems are found while reading, the rest by
// CheckRunSpec; all are reported together as "<file>:<line>: <field>: <problem>".
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "data/timestamp.h"
#include "training/run_spec.h"
#include "training/run_spec_internal.h"

namespace kiln::training {
namespace {

namespace fs = std::filesystem;
using Keys = std::vector<std::string>;

const Keys kTopLevelKeys = {"code",      "data",     "debian_packages", "executor", "params", "project",
                            "resources", "run_name", "split",           "tags",     "trainer"};
const Keys kDataKeys = {"end",  "entities", "exclude", "feature_project", "feature_service",
                        "file", "label",    "start",   "timestamp_column"};
const Keys kSplitKeys = {"holdout_fraction", "kind", "seed", "time_column", "validation_fraction",
                         "validation_start"};
const Keys kTrainerKeys = {"command", "env", "xgboost"};
const Keys kResourceKeys = {"cpus", "gres", "memory", "partition", "time_limit"};

std::string Join(const std::string& field, const std::string& key) {
  return field.empty() ? key : field + "." + key;
}

std::string Shown(const YAML::Node& node) {
  if (node.IsScalar()) return "'" + node.Scalar() + "'";
  return node.IsSequence() ? "a list" : "a map";
}

// A map entry: the key node (for its line) and the value.
struct Entry {
  YAML::Node key;
  YAML::Node value;
};
using Entries = std::map<std::string, Entry>;

// Reads one YAML document into a RunSpec, collecting every problem with
// its line. Single use; not thread-safe.
class RunSpecReader {
 public:
  RunSpecReader(std::string file_name, fs::path base_dir)
      : file_name_(std::move(file_name)), base_dir_(std::move(base_dir)) {}

  Result<RunSpec> Read(const YAML::Node& document) {
    RunSpec spec;
    if (!document.IsDefined() || document.IsNull()) {
      return InvalidArgument(file_name_ +
                             ": the file is empty; a run spec needs at least project, data and trainer");
    }
    const Entries top = ReadMap(document, "", &kTopLevelKeys);
    if (document.IsMap()) {
      ReadText(top, "", "project", &spec.project);
      ReadText(top, "", "run_name", &spec.run_name);
      ReadCode(top, &spec);
      ReadData(Section(top, "", "data", &kDataKeys), &spec.data);
      ReadSplit(Section(top, "", "split", &kSplitKeys), &spec);
      ReadTrainer(top, &spec);
      ReadStringMap(top, "", "params", &spec.params);
      ReadResources(Section(top, "", "resources", &kResourceKeys), &spec.resources);
      ReadText(top, "", "executor", &spec.executor);
      ReadList(top, "", "debian_packages", &spec.debian_packages);
      ReadStringMap(top, "", "tags", &spec.tags);
      for (internal::SpecProblem& problem : internal::CheckRunSpec(spec)) {
        if (!Suppressed(problem.field)) AddError(LineOf(problem.field), problem.field, problem.message);
      }
    }
    if (errors_.empty()) return spec;
    std::stable_sort(errors_.begin(), errors_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string text;
    for (const auto& [line, error] : errors_) text += (text.empty() ? "" : "\n") + error;
    return InvalidArgument(text);
  }

 private:
  // Problems and the lines they are at.
  void AddError(int line, const std::string& field, const std::string& message) {
    std::string text = file_name_ + (line > 0 ? ":" + std::to_string(line) : "") + ": ";
    if (!field.empty()) text += field + ": ";
    errors_.emplace_back(line, text + message);
  }
  void Error(const YAML::Node& node, const std::string& field, const std::string& message) {
    failed_.insert(field);
    AddError(static_cast<int>(node.Mark().line) + 1, field, message);
  }
  int LineOf(std::string field) const {
    while (true) {
      if (const auto it = lines_.find(field); it != lines_.end()) return it->second;
      const size_t dot = field.rfind('.');
      if (dot == std::string::npos) return 0;
      field.resize(dot);
    }
  }
  // A field already reported while reading, or inside one.
  bool Suppressed(const std::string& field) const {
    for (const std::string& failed : failed_) {
      if (field == failed || field.starts_with(failed + ".")) return true;
    }
    return false;
  }

  // The entries of a map (null: none), reporting keys that are not names,
  // appear twice or (with `known`) are unknown.
  Entries ReadMap(const YAML::Node& node, const std::string& field, const Keys* known) {
    Entries entries;
    if (node.IsNull()) return entries;
    if (!node.IsMap()) {
      Error(node, field, "expected a map, got " + Shown(node));
      return entries;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node& key = it->first;
      const int line = static_cast<int>(key.Mark().line) + 1;
      if (!key.IsScalar()) {
        AddError(line, field, "keys must be names, got " + Shown(key));
        continue;
      }
      const std::string& name = key.Scalar();
      if (known != nullptr && std::find(known->begin(), known->end(), name) == known->end()) {
        AddError(line, field, "unknown key '" + name + "'" + internal::NameHint(name, *known));
      } else if (entries.count(name) > 0) {
        Error(key, Join(field, name), "appears twice");
      } else {
        entries[name] = Entry{key, it->second};
        lines_[Join(field, name)] = line;
      }
    }
    return entries;
  }

  static const Entry* Find(const Entries& entries, const std::string& key) {
    const auto it = entries.find(key);
    return it == entries.end() || it->second.value.IsNull() ? nullptr : &it->second;
  }

  Entries Section(const Entries& parent, const std::string& field, const std::string& key,
                  const Keys* known) {
    const Entry* entry = Find(parent, key);
    return entry == nullptr ? Entries() : ReadMap(entry->value, Join(field, key), known);
  }

  // A single value as text; false when absent or not a single value.
  bool ReadText(const Entries& map, const std::string& field, const std::string& key, std::string* out) {
    const Entry* entry = Find(map, key);
    if (entry == nullptr) return false;
    if (!entry->value.IsScalar()) {
      Error(entry->value, Join(field, key), "expected a single value, got " + Shown(entry->value));
      return false;
    }
    *out = entry->value.Scalar();
    return true;
  }

  template <typename Number, typename Parse>
  void ReadNumber(const Entries& map, const std::string& field, const std::string& key, const char* expected,
                  Parse parse, Number* out) {
    std::string text;
    if (!ReadText(map, field, key, &text)) return;
    const auto value = parse(text);
    if (!value || *value < std::numeric_limits<Number>::lowest() ||
        *value > std::numeric_limits<Number>::max()) {
      Error(Find(map, key)->value, Join(field, key),
            std::string("expected ") + expected + ", got '" + text + "'");
      return;
    }
    *out = static_cast<Number>(*value);
  }
  template <typename Integer>
  void ReadInteger(const Entries& map, const std::string& field, const std::string& key, Integer* out) {
    ReadNumber(map, field, key, "an integer", internal::ParseInteger, out);
  }
  void ReadUnsigned(const Entries& map, const std::string& field, const std::string& key, uint64_t* out) {
    ReadNumber(map, field, key, "a non-negative integer", internal::ParseUnsigned, out);
  }
  void ReadDouble(const Entries& map, const std::string& field, const std::string& key, double* out) {
    ReadNumber(map, field, key, "a number", internal::ParseNumber, out);
  }

  // Text parsed by `parse` (a Result<T>); its error message follows the field.
  template <typename T, typename Parse>
  void ReadParsed(const Entries& map, const std::string& field, const std::string& key, Parse parse, T* out) {
    std::string text;
    if (!ReadText(map, field, key, &text)) return;
    auto value = parse(text);
    if (!value.ok()) {
      Error(Find(map, key)->value, Join(field, key), value.status().message());
      return;
    }
    *out = *value;
  }
  void ReadTimestamp(const Entries& map, const std::string& field, const std::string& key,
                     std::optional<int64_t>* out) {
    ReadParsed(
        map, field, key,
        [](const std::string& text) { return data::ParseTimestamp(text, data::TimeZone::Utc()); }, out);
  }

  // A list of single values; a lone value is a list of one.
  void ReadList(const Entries& map, const std::string& field, const std::string& key,
                std::vector<std::string>* out) {
    const Entry* entry = Find(map, key);
    if (entry == nullptr) return;
    if (entry->value.IsScalar()) {
      out->push_back(entry->value.Scalar());
      return;
    }
    if (!entry->value.IsSequence()) {
      Error(entry->value, Join(field, key), "expected a list, got " + Shown(entry->value));
      return;
    }
    for (const YAML::Node& item : entry->value) {
      if (!item.IsScalar()) {
        Error(item, Join(field, key), "expected a list of single values, got " + Shown(item) + " in it");
        continue;
      }
      out->push_back(item.Scalar());
    }
  }

  // Names to single values (numbers kept as written; null is "").
  void ReadStringMap(const Entries& parent, const std::string& field, const std::string& key,
                     std::map<std::string, std::string>* out) {
    const std::string path = Join(field, key);
    const Entry* entry = Find(parent, key);
    if (entry == nullptr) return;
    for (const auto& [name, item] : ReadMap(entry->value, path, nullptr)) {
      if (item.value.IsNull()) {
        (*out)[name] = "";
      } else if (item.value.IsScalar()) {
        (*out)[name] = item.value.Scalar();
      } else {
        Error(item.value, Join(path, name), "expected a single value, got " + Shown(item.value));
      }
    }
  }

  // A relative path against the spec's folder, normalised.
  std::string Resolve(const std::string& path) const {
    const fs::path given(path);
    return (given.is_absolute() ? given : base_dir_ / given).lexically_normal().string();
  }

  // A path that must name an existing file (or folder).
  void ReadPath(const Entries& map, const std::string& field, const std::string& key, bool folder,
                std::string* out) {
    std::string text;
    if (!ReadText(map, field, key, &text) || text.empty()) return;
    *out = Resolve(text);
    std::error_code error;
    const fs::file_status status = fs::status(*out, error);
    if (!fs::exists(status)) {
      Error(Find(map, key)->value, Join(field, key),
            std::string("no such ") + (folder ? "folder" : "file") + ": " + *out);
    } else if (folder && !fs::is_directory(status)) {
      Error(Find(map, key)->value, Join(field, key), *out + " is a file, not a folder");
    } else if (!folder && fs::is_directory(status)) {
      Error(Find(map, key)->value, Join(field, key), *out + " is a folder, not a file");
    }
  }

  void ReadCode(const Entries& top, RunSpec* spec) {
    spec->code_dir = base_dir_.lexically_normal().string();
    ReadPath(top, "", "code", /*folder=*/true, &spec->code_dir);
    if (spec->code_dir.size() > 1 && spec->code_dir.back() == '/') spec->code_dir.pop_back();
  }

  void ReadData(const Entries& data, DataSpec* out) {
    ReadText(data, "data", "feature_service", &out->feature_service);
    ReadText(data, "data", "feature_project", &out->feature_project);
    ReadPath(data, "data", "entities", /*folder=*/false, &out->entities);
    const bool timestamp_given = ReadText(data, "data", "timestamp_column", &out->timestamp_column);
    ReadTimestamp(data, "data", "start", &out->start_micros);
    ReadTimestamp(data, "data", "end", &out->end_micros);
    ReadPath(data, "data", "file", /*folder=*/false, &out->file);
    ReadText(data, "data", "label", &out->label);
    ReadList(data, "data", "exclude", &out->exclude);
    if (timestamp_given && out->feature_service.empty() && !out->file.empty()) {
      Error(Find(data, "timestamp_column")->key, "data.timestamp_column",
            "only used with feature_service data (to split a file by time, set split.time_column)");
    }
  }

  void ReadSplit(const Entries& split, RunSpec* spec) {
    std::string kind;
    if (ReadText(split, "split", "kind", &kind)) {
      if (kind == "time") {
        spec->split.kind = SplitKind::kTime;
      } else if (kind != "random") {
        Error(Find(split, "kind")->value, "split.kind", "expected random or time, got '" + kind + "'");
      }
    }
    ReadDouble(split, "split", "validation_fraction", &spec->split.validation_fraction);
    ReadDouble(split, "split", "holdout_fraction", &spec->split.holdout_fraction);
    ReadUnsigned(split, "split", "seed", &spec->split.seed);
    ReadText(split, "split", "time_column", &spec->split.time_column);
    ReadTimestamp(split, "split", "validation_start", &spec->split.validation_start_micros);
    if (Find(split, "validation_start") != nullptr && Find(split, "validation_fraction") != nullptr) {
      Error(Find(split, "validation_start")->key, "split",
            "give validation_fraction or validation_start, not both");
    }
    // A time split of feature-service data orders rows by the entity timestamp.
    if (spec->split.kind == SplitKind::kTime && spec->split.time_column.empty() &&
        !spec->data.feature_service.empty()) {
      spec->split.time_column = spec->data.timestamp_column;
    }
  }

  void ReadTrainer(const Entries& top, RunSpec* spec) {
    const Entry* trainer = Find(top, "trainer");
    if (trainer == nullptr) {
      AddError(0, "trainer", "required: xgboost (the built-in trainer) or command (your own program)");
      return;
    }
    if (trainer->value.IsScalar()) {
      if (trainer->value.Scalar() == "xgboost") return;  // the built-in trainer with its defaults
      Error(trainer->value, "trainer",
            "expected xgboost, or a map with xgboost: or command:, got " + Shown(trainer->value));
      return;
    }
    const Entries entries = ReadMap(trainer->value, "trainer", &kTrainerKeys);
    const Entry* xgboost = Find(entries, "xgboost");
    const bool has_xgboost = entries.count("xgboost") > 0;
    const bool has_command = entries.count("command") > 0;
    if (has_xgboost == has_command && failed_.count("trainer") == 0) {
      Error(trainer->key, "trainer",
            has_xgboost ? "give either xgboost or command, not both"
                        : "give xgboost (the built-in trainer) or command (your own program)");
    }
    if (has_command) {
      spec->trainer = TrainerKind::kCommand;
      ReadCommand(entries, &spec->command);
      ReadStringMap(entries, "trainer", "env", &spec->command.env);
    } else if (Find(entries, "env") != nullptr) {
      Error(Find(entries, "env")->key, "trainer.env", "only used with command");
    }
    if (has_xgboost && !has_command && xgboost != nullptr) ReadXGBoost(*xgboost, &spec->xgboost);
  }

  void ReadCommand(const Entries& trainer, CommandSpec* command) {
    const Entry* entry = Find(trainer, "command");
    if (entry == nullptr) return;  // CheckRunSpec reports the empty argv
    if (entry->value.IsScalar()) {
      Result<std::vector<std::string>> argv = internal::SplitCommandLine(entry->value.Scalar());
      if (!argv.ok()) {
        Error(entry->value, "trainer.command",
              argv.status().message() + " in '" + entry->value.Scalar() + "'");
        return;
      }
      command->argv = *argv;
      return;
    }
    ReadList(trainer, "trainer", "command", &command->argv);
  }

  // XGBoost parameter values: a single value, or a list for
  // monotone_constraints "(1,-1)", interaction_constraints "[[0,1]]" and
  // eval_metric "auc,logloss".
  void ReadXGBoostParam(const std::string& name, const Entry& entry, XGBoostSpec* xgboost) {
    const std::string field = "trainer.xgboost." + name;
    const YAML::Node& value = entry.value;
    if (xgboost->params.count(name) > 0) {
      Error(entry.key, field, "given twice (directly and under params)");
      return;
    }
    lines_[field] = static_cast<int>(entry.key.Mark().line) + 1;
    if (value.IsScalar() || value.IsNull()) {
      xgboost->params[name] = value.IsNull() ? "" : value.Scalar();
      return;
    }
    auto join = [&](const YAML::Node& list, const char* open, const char* close, bool* ok) {
      std::string text = open;
      for (size_t i = 0; i < list.size(); ++i) {
        if (!list[i].IsScalar()) *ok = false;
        text += (i ? "," : "") + (list[i].IsScalar() ? list[i].Scalar() : "");
      }
      return text + close;
    };
    bool ok = value.IsSequence();
    std::string text;
    if (ok && name == "interaction_constraints") {
      text = "[";
      for (size_t i = 0; i < value.size(); ++i) {
        if (!value[i].IsSequence()) ok = false;
        text += (i ? "," : "") + join(value[i], "[", "]", &ok);
      }
      text += "]";
    } else if (ok && name == "monotone_constraints") {
      text = join(value, "(", ")", &ok);
    } else if (ok && name == "eval_metric") {
      text = join(value, "", "", &ok);
    } else {
      ok = false;
    }
    if (!ok) {
      Error(value, field, "expected a single value, got " + Shown(value));
      return;
    }
    xgboost->params[name] = text;
  }

  void ReadXGBoost(const Entry& entry, XGBoostSpec* xgboost) {
    const Entries entries = ReadMap(entry.value, "trainer.xgboost", nullptr);
    ReadText(entries, "trainer.xgboost", "objective", &xgboost->objective);
    ReadInteger(entries, "trainer.xgboost", "num_boost_round", &xgboost->num_boost_round);
    ReadInteger(entries, "trainer.xgboost", "early_stopping_rounds", &xgboost->early_stopping_rounds);
    ReadUnsigned(entries, "trainer.xgboost", "seed", &xgboost->seed);
    static const std::set<std::string> kFields = {"objective", "num_boost_round", "early_stopping_rounds",
                                                  "seed", "params"};
    for (const auto& [name, item] : entries) {
      if (kFields.count(name) == 0) ReadXGBoostParam(name, item, xgboost);
    }
    if (const Entry* params = Find(entries, "params")) {
      for (const auto& [name, item] : ReadMap(params->value, "trainer.xgboost.params", nullptr)) {
        ReadXGBoostParam(name, item, xgboost);
      }
    }
  }

  void ReadResources(const Entries& resources, ResourceLimits* out) {
    ReadInteger(resources, "resources", "cpus", &out->cpus);
    ReadParsed(resources, "resources", "memory", ParseByteSize, &out->memory_bytes);
    ReadParsed(resources, "resources", "time_limit", ParseSeconds, &out->time_limit_seconds);
    ReadText(resources, "resources", "partition", &out->partition);
    ReadText(resources, "resources", "gres", &out->gres);
  }

  std::string file_name_;
  fs::path base_dir_;
  std::vector<std::pair<int, std::string>> errors_;  // (line, message); line 0: none
  std::map<std::string, int> lines_;                 // field → line of its key
  std::set<std::string> failed_;                     // fields reported while reading
};

}  // namespace

Result<RunSpec> ParseRunSpec(std::string_view yaml_text, std::string_view file_name,
                             const std::string& base_dir) {
  const std::string name(file_name);
  std::error_code error;
  const fs::path base = fs::absolute(base_dir.empty() ? "." : base_dir, error).lexically_normal();
  YAML::Node document;
  try {
    document = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(name + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
  }
  try {
    return RunSpecReader(name, base).Read(document);
  } catch (const YAML::Exception& e) {  // defensive: a conversion we did not foresee
    return InvalidArgument(name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

Result<RunSpec> ParseRunSpecFile(const std::string& path) {
  std::error_code error;
  if (!fs::exists(path, error)) return NotFound(path + ": no such file");
  if (fs::is_directory(path, error))
    return InvalidArgument(path + ": is a folder; give the run spec's YAML file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument(path + ": cannot read the file");
  std::ostringstream text;
  text << in.rdbuf();
  const fs::path absolute = fs::absolute(path, error).lexically_normal();
  return ParseRunSpec(text.str(), path, absolute.parent_path().string());
}

}  // namespace kiln::training
