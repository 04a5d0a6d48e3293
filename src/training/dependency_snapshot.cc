// CaptureDependencies. JSON, digest, comparison and tags: dependency_snapshot_json.cc.
#include "training/dependency_snapshot.h"

#include <sys/stat.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "common/hashing.h"
#include "training/gitignore.h"
#include "training/subprocess.h"

namespace kiln::training {
namespace {

// Prints {"python": "3.11.2", "libraries": {"numpy": "1.24.2", "pandas": null}}
// for the distribution names given as arguments. Reads package metadata, and
// imports the module only when there is none.
constexpr const char* kPythonProbe = R"PY(
import json, platform, sys
try:
    from importlib import metadata
except ImportError:
    metadata = None
modules = {"scikit-learn": "sklearn"}
libraries = {}
for name in sys.argv[1:]:
    version = None
    if metadata is not None:
        try:
            version = metadata.version(name)
        except Exception:
            pass
    if version is None:
        try:
            module = __import__(modules.get(name, name.replace("-", "_")))
            version = str(getattr(module, "__version__", "unknown"))
        except Exception:
            pass
    libraries[name] = version
print(json.dumps({"python": platform.python_version(), "libraries": libraries}))
)PY";

bool IsLockFileName(const std::string& path) {
  static const std::set<std::string> kNames = {
      "constraints.txt", "poetry.lock",      "Pipfile.lock",   "pyproject.toml",    "uv.lock",
      "environment.yml", "environment.yaml", "conda-lock.yml", "package-lock.json", "yarn.lock",
      "pnpm-lock.yaml",  "Cargo.lock",       "go.sum",         "renv.lock",         "Gemfile.lock"};
  size_t slash = path.rfind('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string folder = slash == std::string::npos ? "" : path.substr(0, slash);
  if (kNames.count(name) || WildMatch("requirements*.txt", name, true)) return true;
  return folder == "requirements" && name.ends_with(".txt");
}

Result<std::vector<LockFile>> FindLockFiles(const std::string& code_dir) {
  KILN_ASSIGN_OR_RETURN(WalkResult walk,
                        WalkUnignored(code_dir, {".gitignore", ".kilnignore"}, /*max_depth=*/2));
  std::vector<LockFile> files;
  for (const WalkedEntry& entry : walk.entries) {
    if (entry.kind != WalkedEntry::Kind::kFile || !IsLockFileName(entry.path)) continue;
    std::string full = code_dir + "/" + entry.path;
    Result<std::string> digest = Sha256File(full);
    if (!digest.ok()) return FailedPrecondition("cannot read lock file '" + full + "'");
    files.push_back({entry.path, *digest, entry.size});
  }
  return files;
}

std::string OsPrettyName(const std::string& os_release_path) {
  std::ifstream in(os_release_path);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("PRETTY_NAME=", 0) != 0) continue;
    std::string value = line.substr(12);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    return value;
  }
  return "";
}

// Runs the Python probe; failures are recorded, not returned.
void CapturePython(const DependencyOptions& options, DependencySnapshot* snapshot) {
  snapshot->python_executable = options.python;
  std::vector<std::string> argv = {options.python, "-I", "-c", kPythonProbe};
  argv.insert(argv.end(), options.python_libraries.begin(), options.python_libraries.end());
  SubprocessOptions subprocess;
  subprocess.timeout = options.timeout;
  Result<SubprocessResult> result = RunSubprocess(argv, subprocess);
  if (!result.ok()) {
    snapshot->python_error = result.status().message();
    return;
  }
  if (!result->succeeded()) {
    snapshot->python_error = "'" + options.python + "' failed: " + result->ErrorText();
    return;
  }
  Json output = Json::parse(result->stdout_text, nullptr, /*allow_exceptions=*/false);
  if (!output.is_object() || !output.contains("python") || !output["python"].is_string() ||
      !output.contains("libraries") || !output["libraries"].is_object()) {
    snapshot->python_error = "'" + options.python + "' printed unexpected output: " + result->stdout_text;
    return;
  }
  snapshot->python_version = output["python"].get<std::string>();
  for (const auto& [name, version] : output["libraries"].items()) {
    snapshot->python_libraries[name] = version.is_string() ? version.get<std::string>() : kNotInstalled;
  }
}

// Debian package names (policy §5.6.1), optionally with ":architecture".
bool ValidPackageName(const std::string& name) {
  size_t colon = name.find(':');
  std::string package = name.substr(0, colon);
  if (package.size() < 2 || !(std::islower(package[0]) || std::isdigit(package[0]))) return false;
  for (char c : package) {
    if (!(std::islower(c) || std::isdigit(c) || c == '+' || c == '-' || c == '.')) return false;
  }
  if (colon == std::string::npos) return true;
  std::string arch = name.substr(colon + 1);
  return !arch.empty() && std::all_of(arch.begin(), arch.end(),
                                      [](char c) { return std::islower(c) || std::isdigit(c) || c == '-'; });
}

Status CaptureDebianPackages(const DependencyOptions& options, DependencySnapshot* snapshot) {
  if (options.debian_packages.empty()) return Status::Ok();
  for (const std::string& name : options.debian_packages) {
    if (!ValidPackageName(name)) return InvalidArgument("Debian package name '" + name + "' is not valid");
  }
  std::vector<std::string> argv = {options.dpkg_query, "-W",
                                   "-f=${Package}\t${db:Status-Abbrev}\t${Version}\n"};
  argv.insert(argv.end(), options.debian_packages.begin(), options.debian_packages.end());
  SubprocessOptions subprocess;
  subprocess.timeout = options.timeout;
  Result<SubprocessResult> result = RunSubprocess(argv, subprocess);
  std::map<std::string, std::string> installed;  // package → version
  std::string unknown_reason;
  if (!result.ok()) {
    unknown_reason = "unknown (" + result.status().message() + ")";
  } else {
    // Exit status 1 just means some names matched nothing.
    std::istringstream lines(result->stdout_text);
    for (std::string line; std::getline(lines, line);) {
      size_t tab1 = line.find('\t'), tab2 = line.find('\t', tab1 + 1);
      if (tab1 == std::string::npos || tab2 == std::string::npos) continue;
      if (line.compare(tab1 + 1, 2, "ii") != 0) continue;  // removed, config-files only, …
      installed.emplace(line.substr(0, tab1), line.substr(tab2 + 1));
    }
  }
  for (const std::string& name : options.debian_packages) {
    if (!unknown_reason.empty()) {
      snapshot->debian_packages[name] = unknown_reason;
      continue;
    }
    auto found = installed.find(name.substr(0, name.find(':')));
    snapshot->debian_packages[name] = found == installed.end() ? kNotInstalled : found->second;
  }
  return Status::Ok();
}

}  // namespace

Result<DependencySnapshot> CaptureDependencies(const std::string& code_dir,
                                               const DependencyOptions& options) {
  struct stat info;
  if (::stat(code_dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    return NotFound("code folder '" + code_dir + "' does not exist");
  }
  DependencySnapshot snapshot;
  snapshot.kiln_version = options.kiln_version;
  snapshot.xgboost_version = options.xgboost_version;
  snapshot.os_name = OsPrettyName(options.os_release_path);
  struct utsname system;
  if (::uname(&system) == 0) {
    snapshot.machine = system.machine;
    snapshot.kernel = system.release;
  }
  KILN_ASSIGN_OR_RETURN(snapshot.lock_files, FindLockFiles(code_dir));
  if (!options.python.empty()) CapturePython(options, &snapshot);
  KILN_RETURN_IF_ERROR(CaptureDebianPackages(options, &snapshot));
  return snapshot;
}

}  // namespace kiln::training
