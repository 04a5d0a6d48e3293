// dependencies.json (format_version 1), its digest, comparison and tags.
#include <algorithm>
#include <set>

#include "common/hashing.h"
#include "training/dependency_snapshot.h"

namespace kiln::training {
namespace {

Status FieldError(const std::string& field, const std::string& expected) {
  return InvalidArgument("dependencies.json: '" + field + "' must be " + expected);
}

Result<std::string> StringField(const Json& object, const std::string& key, const std::string& field) {
  if (!object.contains(key)) return std::string();
  const Json& value = object[key];
  if (!value.is_string()) return FieldError(field, "a string");
  return value.get<std::string>();
}

Result<std::map<std::string, std::string>> StringMap(const Json& object, const std::string& key,
                                                     const std::string& field) {
  std::map<std::string, std::string> out;
  if (!object.contains(key)) return out;
  const Json& value = object[key];
  if (!value.is_object()) return FieldError(field, "an object of strings");
  for (const auto& [name, version] : value.items()) {
    if (!version.is_string()) return FieldError(field, "an object of strings");
    out[name] = version.get<std::string>();
  }
  return out;
}

Result<Json> ObjectField(const Json& object, const std::string& key) {
  if (!object.contains(key)) return Json::object();
  if (!object[key].is_object()) return FieldError(key, "an object");
  return object[key];
}

// The digest's input: everything except what varies between machines.
Json ComparableJson(const DependencySnapshot& snapshot) {
  Json json = DependencySnapshotToJson(snapshot);
  json["os"].erase("kernel");
  json["python"].erase("executable");
  json["python"].erase("error");
  return json;
}

std::string ShortDigest(const std::string& digest) { return digest.substr(0, 12) + "…"; }

std::string OrUnknown(const std::string& value) { return value.empty() ? "unknown" : value; }

void CompareValue(const std::string& what, const std::string& before, const std::string& after,
                  std::vector<std::string>* out) {
  if (before != after) out->push_back(what + " " + OrUnknown(before) + " → " + OrUnknown(after));
}

void CompareMaps(const std::string& prefix, const std::map<std::string, std::string>& before,
                 const std::map<std::string, std::string>& after, std::vector<std::string>* out) {
  std::set<std::string> names;
  for (const auto& [name, version] : before) names.insert(name);
  for (const auto& [name, version] : after) names.insert(name);
  for (const std::string& name : names) {
    auto b = before.find(name), a = after.find(name);
    std::string from = b == before.end() ? "not recorded" : b->second;
    std::string to = a == after.end() ? "not recorded" : a->second;
    if (from != to) out->push_back(prefix + name + " " + from + " → " + to);
  }
}

}  // namespace

Json DependencySnapshotToJson(const DependencySnapshot& snapshot) {
  std::vector<LockFile> sorted = snapshot.lock_files;
  std::sort(sorted.begin(), sorted.end(),
            [](const LockFile& a, const LockFile& b) { return a.path < b.path; });
  Json lock_files = Json::array();
  for (const LockFile& file : sorted) {
    lock_files.push_back({{"path", file.path}, {"sha256", file.sha256}, {"bytes", file.bytes}});
  }
  return Json{
      {"format_version", kDependencySnapshotFormatVersion},
      {"kiln_version", snapshot.kiln_version},
      {"xgboost_version", snapshot.xgboost_version},
      {"os", {{"name", snapshot.os_name}, {"machine", snapshot.machine}, {"kernel", snapshot.kernel}}},
      {"python",
       {{"executable", snapshot.python_executable},
        {"version", snapshot.python_version},
        {"error", snapshot.python_error},
        {"libraries", snapshot.python_libraries}}},
      {"debian_packages", snapshot.debian_packages},
      {"lock_files", lock_files},
  };
}

Result<DependencySnapshot> DependencySnapshotFromJson(const Json& json) {
  if (!json.is_object()) return InvalidArgument("dependencies.json: expected a JSON object");
  if (!json.contains("format_version") || !json["format_version"].is_number_integer()) {
    return FieldError("format_version", "an integer");
  }
  int version = json["format_version"].get<int>();
  if (version != kDependencySnapshotFormatVersion) {
    return InvalidArgument("dependencies.json has format_version " + std::to_string(version) +
                           "; this Kiln reads format_version " +
                           std::to_string(kDependencySnapshotFormatVersion));
  }
  DependencySnapshot snapshot;
  KILN_ASSIGN_OR_RETURN(snapshot.kiln_version, StringField(json, "kiln_version", "kiln_version"));
  KILN_ASSIGN_OR_RETURN(snapshot.xgboost_version, StringField(json, "xgboost_version", "xgboost_version"));
  KILN_ASSIGN_OR_RETURN(Json os, ObjectField(json, "os"));
  KILN_ASSIGN_OR_RETURN(snapshot.os_name, StringField(os, "name", "os.name"));
  KILN_ASSIGN_OR_RETURN(snapshot.machine, StringField(os, "machine", "os.machine"));
  KILN_ASSIGN_OR_RETURN(snapshot.kernel, StringField(os, "kernel", "os.kernel"));
  KILN_ASSIGN_OR_RETURN(Json python, ObjectField(json, "python"));
  KILN_ASSIGN_OR_RETURN(snapshot.python_executable, StringField(python, "executable", "python.executable"));
  KILN_ASSIGN_OR_RETURN(snapshot.python_version, StringField(python, "version", "python.version"));
  KILN_ASSIGN_OR_RETURN(snapshot.python_error, StringField(python, "error", "python.error"));
  KILN_ASSIGN_OR_RETURN(snapshot.python_libraries, StringMap(python, "libraries", "python.libraries"));
  KILN_ASSIGN_OR_RETURN(snapshot.debian_packages, StringMap(json, "debian_packages", "debian_packages"));
  if (json.contains("lock_files")) {
    const Json& files = json["lock_files"];
    if (!files.is_array()) return FieldError("lock_files", "an array");
    for (size_t i = 0; i < files.size(); ++i) {
      std::string field = "lock_files[" + std::to_string(i) + "]";
      const Json& file = files[i];
      if (!file.is_object() || !file.contains("path") || !file["path"].is_string() ||
          !file.contains("sha256") || !file["sha256"].is_string() ||
          (file.contains("bytes") && !file["bytes"].is_number_integer())) {
        return FieldError(field, "an object with string 'path' and 'sha256' and integer 'bytes'");
      }
      snapshot.lock_files.push_back({file["path"].get<std::string>(), file["sha256"].get<std::string>(),
                                     file.value("bytes", int64_t{0})});
    }
  }
  return snapshot;
}

std::string DependencyDigest(const DependencySnapshot& snapshot) {
  return Sha256Hex(ComparableJson(snapshot).dump());
}

std::vector<std::string> CompareDependencies(const DependencySnapshot& before,
                                             const DependencySnapshot& after) {
  std::vector<std::string> out;
  CompareValue("Kiln", before.kiln_version, after.kiln_version, &out);
  CompareValue("XGBoost", before.xgboost_version, after.xgboost_version, &out);
  CompareValue("OS", before.os_name, after.os_name, &out);
  CompareValue("machine", before.machine, after.machine, &out);
  CompareValue("Python", before.python_version, after.python_version, &out);
  CompareMaps("", before.python_libraries, after.python_libraries, &out);
  CompareMaps("Debian package ", before.debian_packages, after.debian_packages, &out);
  std::map<std::string, const LockFile*> old_files, new_files;
  for (const LockFile& file : before.lock_files) old_files[file.path] = &file;
  for (const LockFile& file : after.lock_files) new_files[file.path] = &file;
  for (const auto& [path, file] : old_files) {
    auto now = new_files.find(path);
    if (now == new_files.end()) {
      out.push_back(path + " removed (was sha256 " + ShortDigest(file->sha256) + ")");
    } else if (now->second->sha256 != file->sha256 || now->second->bytes != file->bytes) {
      out.push_back(path + " changed (sha256 " + ShortDigest(file->sha256) + " → " +
                    ShortDigest(now->second->sha256) + ")");
    }
  }
  for (const auto& [path, file] : new_files) {
    if (!old_files.count(path)) out.push_back(path + " added (sha256 " + ShortDigest(file->sha256) + ")");
  }
  return out;
}

std::map<std::string, std::string> DependencyTags(const DependencySnapshot& snapshot) {
  std::map<std::string, std::string> tags;
  tags["kiln.snapshot.dependencies_digest"] = DependencyDigest(snapshot);
  if (!snapshot.kiln_version.empty()) tags["kiln.version"] = snapshot.kiln_version;
  if (!snapshot.xgboost_version.empty()) tags["kiln.xgboost_version"] = snapshot.xgboost_version;
  if (!snapshot.python_version.empty()) tags["kiln.python_version"] = snapshot.python_version;
  return tags;
}

}  // namespace kiln::training
