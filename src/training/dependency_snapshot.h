#pragma once
// The dependency snapshot of a training run: what the code ran against —
// digests of the lock and requirement files in the code folder, the Python
// interpreter and a few library versions, the OS, the Kiln and XGBoost
// versions and named Debian packages. Stored as dependencies.json
// (format_version 1, docs/formats/snapshot.md) and compared by
// `kiln runs reproduce`. Plain values and stateless functions; capturing runs
// python3 and dpkg-query (subprocess.h) and reads the disk.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace kiln::training {

inline constexpr int kDependencySnapshotFormatVersion = 1;
// The value recorded for a Python library or Debian package that is absent.
inline constexpr const char* kNotInstalled = "not installed";

struct DependencyOptions {
  std::vector<std::string> debian_packages;  // names, e.g. "libxgboost-dev" or "libc6:amd64"
  std::string kiln_version;                  // passed in by the caller (kiln::kVersion)
  std::string xgboost_version;               // passed in by the caller (XGBoost's C API)
  std::string python = "/usr/bin/python3";   // "" skips Python
  // Distribution names as pip knows them; imported as the module of the same
  // name ('-' → '_', scikit-learn → sklearn) when no metadata is found.
  std::vector<std::string> python_libraries = {"numpy", "pandas", "scikit-learn", "xgboost"};
  std::chrono::milliseconds timeout{10000};  // per program run
  std::string os_release_path = "/etc/os-release";
  std::string dpkg_query = "dpkg-query";
};

// A lock or requirement file found in the code folder.
struct LockFile {
  std::string path;  // relative to the code folder
  std::string sha256;
  int64_t bytes = 0;
};

struct DependencySnapshot {
  std::string kiln_version;
  std::string xgboost_version;
  std::string os_name;            // PRETTY_NAME of os-release; "" when unknown
  std::string machine;            // uname -m, e.g. "x86_64"
  std::string kernel;             // uname -r; recorded but not compared (varies between machines)
  std::string python_executable;  // not compared
  std::string python_version;     // "3.11.2"; "" when Python could not be run
  std::string python_error;       // why python_version is empty; not compared
  std::map<std::string, std::string> python_libraries;  // name → version or kNotInstalled
  std::map<std::string, std::string> debian_packages;   // name → version or kNotInstalled
  std::vector<LockFile> lock_files;                     // sorted by path
};

// Records the dependencies of the code in `code_dir`. Lock files are searched
// in the folder and its direct subfolders, skipping what .gitignore and
// .kilnignore exclude: requirements*.txt, requirements/*.txt,
// constraints.txt, poetry.lock, Pipfile.lock, pyproject.toml, uv.lock,
// environment.yml/.yaml, conda-lock.yml, package-lock.json, yarn.lock,
// pnpm-lock.yaml, Cargo.lock, go.sum, renv.lock, Gemfile.lock. A Python that
// cannot run (or times out) is recorded in python_error, not an error; an
// unknown Debian package is recorded as kNotInstalled.
// Errors: kNotFound when `code_dir` does not exist; kInvalidArgument for a
// malformed Debian package name; errors reading a lock file.
Result<DependencySnapshot> CaptureDependencies(const std::string& code_dir, const DependencyOptions& options);

// dependencies.json, with format_version.
Json DependencySnapshotToJson(const DependencySnapshot& snapshot);
// Errors: kInvalidArgument naming the field ("dependencies.json: 'python.libraries' must be an object of
// strings"), or a format_version this Kiln does not read.
Result<DependencySnapshot> DependencySnapshotFromJson(const Json& json);

// SHA-256 of the canonical JSON (sorted keys, no whitespace) without the
// fields that vary between machines running the same dependencies (kernel,
// python executable, python error). Equal digests ⇔ CompareDependencies is empty.
std::string DependencyDigest(const DependencySnapshot& snapshot);

// Differences from `before` to `after`, for people, e.g.
// "numpy 1.24.2 → 1.26.0", "requirements.txt changed (sha256 ab12cd34ef56… → 0987fedcba65…)",
// "poetry.lock added (sha256 …)", "Python 3.11.2 → 3.12.1". Empty when the
// digests are equal.
std::vector<std::string> CompareDependencies(const DependencySnapshot& before,
                                             const DependencySnapshot& after);

// kiln.snapshot.dependencies_digest, kiln.version, kiln.xgboost_version and
// kiln.python_version (the last three only when known).
std::map<std::string, std::string> DependencyTags(const DependencySnapshot& snapshot);

}  // namespace kiln::training
