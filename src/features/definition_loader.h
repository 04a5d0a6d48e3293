#pragma once
// Reads a feature repository — a folder of YAML files — into a
// RepositoryDef. Checks the shape only (known keys, value kinds, type names,
// durations); names, references and types are checked by Repository::Build.
// Every error is "<file>:<line>: <object>: <problem>", and the errors of all
// files are reported together, one per line. Stateless; thread-safe.
// Format: docs/formats/feature-repository.md (format_version 1).

#include <string>
#include <vector>

#include "common/status.h"
#include "features/definitions.h"

namespace kiln::features {

// Reads every *.yaml and *.yml file directly in `path` (not recursive,
// hidden files skipped), in name order. `project:` may appear in one file;
// without it the project is the folder's name. RepositoryDef::root is the
// folder's absolute path. Errors (kInvalidArgument): "<path>: not a
// directory", "<path>: no *.yaml or *.yml files", and every definition error.
Result<RepositoryDef> LoadRepositoryDir(const std::string& path);

struct RepositoryFile {
  std::string name;  // as shown in messages, e.g. "views.yaml"
  std::string text;
};

// The same over in-memory files (in the given order), e.g. uploaded ones.
// `default_project` is used when no file sets `project:`; `root` becomes
// RepositoryDef::root.
Result<RepositoryDef> ParseRepositoryFiles(const std::vector<RepositoryFile>& files,
                                           const std::string& default_project, const std::string& root);

}  // namespace kiln::features
