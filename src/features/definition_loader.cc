#include "features/definition_loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "data/timestamp.h"

namespace kiln::features {
namespace {

using Keys = std::vector<std::string_view>;

const Keys kTopLevelKeys = {"entities",        "feature_services", "feature_views", "format_version",
                            "on_demand_views", "project",          "sources"};
const Keys kSourceKeys = {
    "batch_source", "columns", "created_timestamp_field", "description", "kind", "name", "path",
    "query",        "table",   "timestamp_field",         "timezone",    "uri"};
const Keys kEntityKeys = {"description", "join_keys", "name"};
const Keys kViewKeys = {"description", "entities", "features", "name", "online", "source", "tags", "ttl"};
const Keys kFeatureKeys = {"aggregation", "description", "expect", "expression", "name", "type"};
const Keys kAggregationKeys = {"column", "function", "window"};
const Keys kExpectKeys = {"allowed", "max", "max_null_fraction", "min", "type"};
const Keys kOnDemandKeys = {"description", "features", "name", "request"};
const Keys kServiceKeys = {"description", "features", "name"};

std::string JoinKeys(const Keys& keys) {
  std::string out;
  for (std::string_view key : keys) {
    if (!out.empty()) out += ", ";
    out += key;
  }
  return out;
}

// Where `project:` was set, across files.
struct ProjectSetting {
  std::string value;
  Location location;
};

// Reads the YAML documents of one file into a RepositoryDef, keeping every
// problem and carrying on, so one pass reports them all.
class YamlFileReader {
 public:
  explicit YamlFileReader(std::string file) : file_(std::move(file)) {}

  // The problems found so far, in line order.
  std::vector<std::string> TakeErrors() {
    std::stable_sort(errors_.begin(), errors_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> out;
    for (auto& [line, text] : errors_) out.push_back(std::move(text));
    errors_.clear();
    return out;
  }

  void ReadDocument(const YAML::Node& document, RepositoryDef* def, ProjectSetting* project) {
    if (document.IsNull()) return;  // an empty file
    if (!CheckMap(document, "", kTopLevelKeys)) return;
    if (const YAML::Node version = document["format_version"]; IsSet(version)) {
      if (!version.IsScalar() || version.Scalar() != "1") {
        Error(version, "", "format_version " + Text(version) + " is not supported (this kiln reads 1)");
      }
    }
    if (const YAML::Node name = document["project"]; IsSet(name)) {
      if (!name.IsScalar()) {
        Error(name, "", "'project' must be a name");
      } else if (!project->location.file.empty()) {
        Error(name, "",
              "project is set again (first set in " + project->location.ToString() +
                  "); set it in one file only");
      } else {
        project->value = name.Scalar();
        project->location = At(name);
      }
    }
    ReadList(document, "sources", "source",
             [&](const YAML::Node& n, const std::string& c) { def->sources.push_back(ReadSource(n, c)); });
    ReadList(document, "entities", "entity",
             [&](const YAML::Node& n, const std::string& c) { def->entities.push_back(ReadEntity(n, c)); });
    ReadList(document, "feature_views", "feature view", [&](const YAML::Node& n, const std::string& c) {
      def->feature_views.push_back(ReadView(n, c));
    });
    ReadList(document, "on_demand_views", "on-demand view", [&](const YAML::Node& n, const std::string& c) {
      def->on_demand_views.push_back(ReadOnDemandView(n, c));
    });
    ReadList(document, "feature_services", "feature service", [&](const YAML::Node& n, const std::string& c) {
      def->feature_services.push_back(ReadService(n, c));
    });
  }

 private:
  Location At(const YAML::Node& node) const { return Location{file_, node.Mark().line + 1}; }

  void Error(const YAML::Node& node, const std::string& context, const std::string& message) {
    const Location location = At(node);
    std::string text = location.ToString() + ": ";
    if (!context.empty()) text += context + ": ";
    errors_.emplace_back(location.line, text + message);
  }

  static bool IsSet(const YAML::Node& node) { return node.IsDefined() && !node.IsNull(); }

  static std::string Text(const YAML::Node& node) {
    if (node.IsScalar()) return "'" + node.Scalar() + "'";
    return node.IsSequence() ? "(a list)" : "(a map)";
  }

  // Reports a node that is not a map, and unknown or repeated keys.
  bool CheckMap(const YAML::Node& node, const std::string& context, const Keys& known) {
    if (!node.IsMap()) {
      Error(node, context, "expected a map with keys " + JoinKeys(known) + ", got " + Text(node));
      return false;
    }
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node& key = it->first;
      if (!key.IsScalar()) {
        Error(key, context, "keys must be names, got " + Text(key));
        continue;
      }
      const std::string& name = key.Scalar();
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        Error(key, context, "unknown key '" + name + "' (known: " + JoinKeys(known) + ")");
      } else if (!seen.insert(name).second) {
        Error(key, context, "key '" + name + "' appears twice");
      }
    }
    return true;
  }

  // Calls `read` for each element of the list under `key`, with a context
  // such as "feature view 'x'" (or "feature view #2" when unnamed).
  template <typename ReadFn>
  void ReadList(const YAML::Node& parent, const char* key, const std::string& kind, ReadFn read) {
    const YAML::Node list = parent[key];
    if (!IsSet(list)) return;
    if (!list.IsSequence()) {
      Error(list, "", std::string("'") + key + "' must be a list, got " + Text(list));
      return;
    }
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node item = list[i];
      std::string context = kind + " #" + std::to_string(i + 1);
      const YAML::Node name = item.IsMap() ? item["name"] : YAML::Node();
      if (IsSet(name) && name.IsScalar()) context = kind + " '" + name.Scalar() + "'";
      read(item, context);
    }
  }

  std::string ReadName(const YAML::Node& map, const std::string& context) {
    const YAML::Node name = map["name"];
    if (!IsSet(name)) {
      Error(map, context, "missing 'name'");
      return "";
    }
    if (!name.IsScalar()) {
      Error(name, context, "'name' must be a name, got " + Text(name));
      return "";
    }
    return name.Scalar();
  }

  void ReadString(const YAML::Node& map, const char* key, const std::string& context, std::string* out) {
    const YAML::Node node = map[key];
    if (!IsSet(node)) return;
    if (!node.IsScalar()) {
      Error(node, context, std::string("'") + key + "' must be a single value, got " + Text(node));
      return;
    }
    *out = node.Scalar();
  }

  void ReadBool(const YAML::Node& map, const char* key, const std::string& context, bool* out) {
    const YAML::Node node = map[key];
    if (!IsSet(node)) return;
    std::string text = node.IsScalar() ? node.Scalar() : "";
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    if (text == "true") {
      *out = true;
    } else if (text == "false") {
      *out = false;
    } else {
      Error(node, context, std::string("'") + key + "' must be true or false, got " + Text(node));
    }
  }

  void ReadNumber(const YAML::Node& map, const char* key, const std::string& context,
                  std::optional<double>* out) {
    const YAML::Node node = map[key];
    if (!IsSet(node)) return;
    if (node.IsScalar()) {
      const std::string& text = node.Scalar();
      char* end = nullptr;
      errno = 0;
      const double value = std::strtod(text.c_str(), &end);
      if (!text.empty() && end == text.c_str() + text.size() && errno == 0 && std::isfinite(value)) {
        *out = value;
        return;
      }
    }
    Error(node, context, std::string("'") + key + "' must be a finite number, got " + Text(node));
  }

  // A list of single values; a lone value counts as a list of one.
  void ReadStringList(const YAML::Node& map, const char* key, const std::string& context,
                      std::vector<std::string>* out) {
    const YAML::Node node = map[key];
    if (!IsSet(node)) return;
    if (node.IsScalar()) {
      out->push_back(node.Scalar());
      return;
    }
    if (!node.IsSequence()) {
      Error(node, context, std::string("'") + key + "' must be a list, got " + Text(node));
      return;
    }
    for (size_t i = 0; i < node.size(); ++i) {
      if (node[i].IsScalar()) {
        out->push_back(node[i].Scalar());
      } else {
        Error(node[i], context, std::string("'") + key + "' must list single values, got " + Text(node[i]));
      }
    }
  }

  void ReadType(const YAML::Node& node, const std::string& context, const std::string& what,
                std::optional<data::Type>* out) {
    if (!IsSet(node)) return;
    if (!node.IsScalar()) {
      Error(node, context, what + " must be a type name, got " + Text(node));
      return;
    }
    Result<data::Type> type = data::ParseType(node.Scalar());
    if (!type.ok()) {
      Error(node, context, what + ": " + type.status().message());
      return;
    }
    *out = *type;
  }

  void ReadTypeMap(const YAML::Node& map, const char* key, const std::string& context,
                   const std::string& item_kind, std::map<std::string, data::Type>* out) {
    const YAML::Node node = map[key];
    if (!IsSet(node)) return;
    if (!node.IsMap()) {
      Error(node, context,
            std::string("'") + key + "' must map " + item_kind + " names to types, got " + Text(node));
      return;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar()) {
        Error(it->first, context, std::string("'") + key + "' keys must be names");
        continue;
      }
      const std::string& name = it->first.Scalar();
      std::optional<data::Type> type;
      ReadType(it->second, context, item_kind + " '" + name + "'", &type);
      if (!type) {
        if (!IsSet(it->second)) Error(it->first, context, item_kind + " '" + name + "' needs a type");
        continue;
      }
      if (!out->emplace(name, *type).second) {
        Error(it->first, context, item_kind + " '" + name + "' appears twice");
      }
    }
  }

  void ReadDuration(const YAML::Node& map, const char* key, const std::string& context, int64_t* out) {
    const YAML::Node node = map[key];
    if (!IsSet(node)) return;
    if (!node.IsScalar()) {
      Error(node, context,
            std::string("'") + key + "' must be a duration such as 1h or 7d, got " + Text(node));
      return;
    }
    Result<int64_t> seconds = data::ParseDurationSeconds(node.Scalar());
    if (!seconds.ok()) {
      Error(node, context, std::string("'") + key + "': " + seconds.status().message());
      return;
    }
    *out = *seconds;
  }

  SourceDef ReadSource(const YAML::Node& node, const std::string& context) {
    SourceDef source;
    source.location = At(node);
    if (!CheckMap(node, context, kSourceKeys)) return source;
    source.name = ReadName(node, context);
    if (const YAML::Node kind = node["kind"]; !IsSet(kind)) {
      Error(node, context, "missing 'kind' (csv, jsonl, sqlite, postgres or push)");
    } else {
      Result<SourceKind> parsed =
          kind.IsScalar() ? ParseSourceKind(kind.Scalar()) : Result<SourceKind>(InvalidArgument(""));
      if (parsed.ok()) {
        source.kind = *parsed;
      } else {
        Error(kind, context,
              "unknown kind " + Text(kind) + " (expected csv, jsonl, sqlite, postgres or push)");
      }
    }
    ReadString(node, "path", context, &source.path);
    ReadString(node, "uri", context, &source.uri);
    ReadString(node, "table", context, &source.table);
    ReadString(node, "query", context, &source.query);
    ReadString(node, "timestamp_field", context, &source.timestamp_field);
    ReadString(node, "created_timestamp_field", context, &source.created_timestamp_field);
    ReadString(node, "timezone", context, &source.timezone);
    ReadTypeMap(node, "columns", context, "column", &source.columns);
    ReadString(node, "batch_source", context, &source.batch_source);
    ReadString(node, "description", context, &source.description);
    return source;
  }

  EntityDef ReadEntity(const YAML::Node& node, const std::string& context) {
    EntityDef entity;
    entity.location = At(node);
    if (!CheckMap(node, context, kEntityKeys)) return entity;
    entity.name = ReadName(node, context);
    ReadStringList(node, "join_keys", context, &entity.join_keys);
    ReadString(node, "description", context, &entity.description);
    return entity;
  }

  FeatureViewDef ReadView(const YAML::Node& node, const std::string& context) {
    FeatureViewDef view;
    view.location = At(node);
    if (!CheckMap(node, context, kViewKeys)) return view;
    view.name = ReadName(node, context);
    ReadStringList(node, "entities", context, &view.entities);
    ReadString(node, "source", context, &view.source);
    ReadDuration(node, "ttl", context, &view.ttl_seconds);
    ReadBool(node, "online", context, &view.online);
    ReadFeatures(node, &view.features);
    if (const YAML::Node tags = node["tags"]; IsSet(tags)) {
      if (!tags.IsMap()) {
        Error(tags, context, "'tags' must map names to text, got " + Text(tags));
      } else {
        for (auto it = tags.begin(); it != tags.end(); ++it) {
          if (!it->first.IsScalar() || !(it->second.IsScalar() || it->second.IsNull())) {
            Error(it->first, context, "'tags' must map names to single values");
            continue;
          }
          view.tags[it->first.Scalar()] = it->second.IsNull() ? "" : it->second.Scalar();
        }
      }
    }
    ReadString(node, "description", context, &view.description);
    return view;
  }

  void ReadFeatures(const YAML::Node& owner, std::vector<FeatureDef>* features) {
    ReadList(owner, "features", "feature",
             [&](const YAML::Node& n, const std::string& c) { features->push_back(ReadFeature(n, c)); });
  }

  FeatureDef ReadFeature(const YAML::Node& node, const std::string& context) {
    FeatureDef feature;
    feature.location = At(node);
    if (!CheckMap(node, context, kFeatureKeys)) return feature;
    feature.name = ReadName(node, context);
    ReadString(node, "expression", context, &feature.expression);
    if (const YAML::Node aggregation = node["aggregation"]; IsSet(aggregation)) {
      if (CheckMap(aggregation, context + ": aggregation", kAggregationKeys)) {
        AggregationDef def;
        ReadString(aggregation, "function", context, &def.function);
        if (def.function.empty()) Error(aggregation, context, "aggregation needs a 'function'");
        ReadString(aggregation, "column", context, &def.column);
        if (!IsSet(aggregation["window"])) {
          Error(aggregation, context, "aggregation needs a 'window' such as 1h or 7d");
        }
        ReadDuration(aggregation, "window", context, &def.window_seconds);
        feature.aggregation = def;
      }
    }
    ReadType(node["type"], context, "'type'", &feature.declared_type);
    if (const YAML::Node expect = node["expect"]; IsSet(expect)) {
      if (CheckMap(expect, context + ": expect", kExpectKeys)) {
        ReadType(expect["type"], context, "'expect.type'", &feature.expect.type);
        ReadNumber(expect, "min", context, &feature.expect.min);
        ReadNumber(expect, "max", context, &feature.expect.max);
        ReadStringList(expect, "allowed", context, &feature.expect.allowed);
        ReadNumber(expect, "max_null_fraction", context, &feature.expect.max_null_fraction);
      }
    }
    ReadString(node, "description", context, &feature.description);
    return feature;
  }

  OnDemandViewDef ReadOnDemandView(const YAML::Node& node, const std::string& context) {
    OnDemandViewDef view;
    view.location = At(node);
    if (!CheckMap(node, context, kOnDemandKeys)) return view;
    view.name = ReadName(node, context);
    ReadTypeMap(node, "request", context, "request field", &view.request);
    ReadFeatures(node, &view.features);
    ReadString(node, "description", context, &view.description);
    return view;
  }

  FeatureServiceDef ReadService(const YAML::Node& node, const std::string& context) {
    FeatureServiceDef service;
    service.location = At(node);
    if (!CheckMap(node, context, kServiceKeys)) return service;
    service.name = ReadName(node, context);
    std::vector<std::string> refs;
    ReadStringList(node, "features", context, &refs);
    for (const std::string& text : refs) {
      Result<FeatureRef> ref = ParseFeatureRef(text);
      if (ref.ok()) {
        service.features.push_back(*ref);
      } else {
        Error(node["features"], context, ref.status().message());
      }
    }
    ReadString(node, "description", context, &service.description);
    return service;
  }

  std::string file_;
  std::vector<std::pair<int, std::string>> errors_;  // (line, message)
};

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) {
    if (!out.empty()) out += '\n';
    out += line;
  }
  return out;
}

}  // namespace

Result<RepositoryDef> ParseRepositoryFiles(const std::vector<RepositoryFile>& files,
                                           const std::string& default_project, const std::string& root) {
  RepositoryDef def;
  def.root = root;
  ProjectSetting project;
  std::vector<std::string> errors;
  for (const RepositoryFile& file : files) {
    YamlFileReader reader(file.name);
    std::vector<YAML::Node> documents;
    try {
      documents = YAML::LoadAll(file.text);
    } catch (const YAML::Exception& e) {
      errors.push_back(file.name + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
      continue;
    }
    for (const YAML::Node& document : documents) {
      try {
        reader.ReadDocument(document, &def, &project);
      } catch (const YAML::Exception& e) {  // defensive: a conversion we did not foresee
        errors.push_back(file.name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
      }
    }
    for (std::string& error : reader.TakeErrors()) errors.push_back(std::move(error));
  }
  if (!errors.empty()) return InvalidArgument(JoinLines(errors));
  def.project = project.location.file.empty() ? default_project : project.value;
  return def;
}

Result<RepositoryDef> LoadRepositoryDir(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (!fs::exists(path, error)) return InvalidArgument(path + ": no such directory");
  if (!fs::is_directory(path, error)) return InvalidArgument(path + ": not a directory");
  fs::path root = fs::weakly_canonical(fs::absolute(path, error), error);
  std::vector<fs::path> paths;
  for (const fs::directory_entry& entry : fs::directory_iterator(root, error)) {
    const std::string name = entry.path().filename().string();
    const std::string extension = entry.path().extension().string();
    if (name.starts_with(".") || !entry.is_regular_file()) continue;
    if (extension == ".yaml" || extension == ".yml") paths.push_back(entry.path());
  }
  if (error) return InvalidArgument(path + ": cannot list the folder: " + error.message());
  if (paths.empty()) return InvalidArgument(path + ": no *.yaml or *.yml files");
  std::sort(paths.begin(), paths.end());

  std::vector<RepositoryFile> files;
  for (const fs::path& file : paths) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return InvalidArgument(file.string() + ": cannot read the file");
    std::ostringstream text;
    text << in.rdbuf();
    files.push_back({file.filename().string(), text.str()});
  }
  return ParseRepositoryFiles(files, root.filename().string(), root.string());
}

}  // namespace kiln::features
