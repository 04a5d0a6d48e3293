#pragma once
// A run spec: everything needed to start one training run — project, data,
// split, trainer, resources and executor. Written by users as YAML
// (docs/training/run-spec.md), stored in the run's snapshot as canonical JSON
// (docs/formats/run-spec.md, format_version 1), so a run can be re-executed
// from its snapshot alone. Plain values; no I/O except ParseRunSpecFile.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace kiln::training {

inline constexpr int kRunSpecFormatVersion = 1;

// CPUs, memory and wall time a run may use, and Slurm placement.
struct ResourceLimits {
  int cpus = 1;                    // also XGBoost's nthread for the built-in trainer
  int64_t memory_bytes = 0;        // 0: no limit. YAML: "4G", "512M", "1073741824"
  int64_t time_limit_seconds = 0;  // 0: no limit. YAML: "90s", "30m", "2h", 3600
  std::string partition;           // Slurm only
  std::string gres;                // Slurm only, e.g. "gpu:1"
};

// Where the training rows come from: exactly one of `feature_service` or `file`.
struct DataSpec {
  // From the feature store: a training set of `feature_service` (in
  // `feature_project`, default: the only project) for the entity rows in
  // `entities` (a CSV/JSON-lines file, relative to the spec's folder),
  // restricted to entity timestamps in [start, end) when given.
  std::string feature_project;
  std::string feature_service;
  std::string entities;
  std::string timestamp_column = "event_timestamp";
  std::optional<int64_t> start_micros;
  std::optional<int64_t> end_micros;
  // Or a CSV/JSON-lines file of features and label (relative to the spec's folder).
  std::string file;
  // The label: a column name, or "NAME = EXPRESSION" over entity columns
  // (feature-service data only), e.g. "delayed = delay > 15".
  std::string label;
  // Columns that are neither features nor the label (ids, timestamps).
  // Entity join keys and the timestamp are excluded automatically for
  // feature-service data.
  std::vector<std::string> exclude;
};

enum class SplitKind { kRandom, kTime };

// How rows are divided into train / validation (/ holdout).
struct SplitSpec {
  SplitKind kind = SplitKind::kRandom;
  double validation_fraction = 0.2;
  double holdout_fraction = 0.0;  // rows kept out of training and validation
  uint64_t seed = 0;              // random split
  // Time split: rows ordered by `time_column` (default: the data's
  // timestamp column); the last fractions go to validation then holdout,
  // or, when `validation_start_micros` is set, rows at or after it are
  // validation (and holdout, by fraction of those, when asked).
  std::string time_column;
  std::optional<int64_t> validation_start_micros;
};

enum class TrainerKind { kXGBoost, kCommand };

struct XGBoostSpec {
  std::string objective = "binary:logistic";  // or reg:squarederror, reg:absoluteerror, …
  int num_boost_round = 100;
  int early_stopping_rounds = 10;  // 0: no early stopping
  uint64_t seed = 0;
  // Any other XGBoost parameter, as XGBoosterSetParam takes it: eta,
  // max_depth, subsample, tree_method, eval_metric (comma-separated), …
  std::map<std::string, std::string> params;
};

struct CommandSpec {
  // argv, run with the snapshot as the working directory; argv[0] is found
  // on the sandbox's PATH (e.g. "python3").
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;  // added to the scrubbed environment
};

struct RunSpec {
  std::string project;   // tracking project; required
  std::string run_name;  // optional
  // The code to snapshot: a folder (relative to the spec's folder; default
  // the spec's folder).
  std::string code_dir;
  DataSpec data;
  SplitSpec split;
  TrainerKind trainer = TrainerKind::kXGBoost;
  XGBoostSpec xgboost;
  CommandSpec command;
  // Free parameters, logged as run params and passed to command trainers
  // as KILN_PARAM_<NAME> variables.
  std::map<std::string, std::string> params;
  ResourceLimits resources;
  std::string executor = "local";  // "local" or "slurm"
  // Debian packages whose versions the snapshot records (dpkg-query).
  std::vector<std::string> debian_packages;
  std::map<std::string, std::string> tags;  // extra run tags
};

// Parses and validates YAML. Relative paths are resolved against
// `base_dir` and stored absolute. Every problem is reported at once, each
// naming the field: "run.yaml: trainer.xgboost.max_depth: expected an
// integer, got 'deep'" / "data: give either feature_service or file, not both".
Result<RunSpec> ParseRunSpec(std::string_view yaml_text, std::string_view file_name, const std::string& base_dir);
Result<RunSpec> ParseRunSpecFile(const std::string& path);

// Checks a spec built in code (the parser calls it too).
Status ValidateRunSpec(const RunSpec& spec);

// Canonical JSON (format_version 1), and back. FromJson validates.
Json RunSpecToJson(const RunSpec& spec);
Result<RunSpec> RunSpecFromJson(const Json& json);

// Applies one sweep assignment "NAME=VALUE": NAME is an XGBoost parameter
// (num_boost_round, early_stopping_rounds, seed, objective, or any other
// name → xgboost.params) for the built-in trainer, else a free param.
// Errors name the assignment: "sweep assignment 'max_depth': expected NAME=VALUE".
Status ApplyAssignment(RunSpec& spec, std::string_view assignment);

// The run params Kiln logs for a spec: trainer parameters, split, data and
// resources, flattened to "xgboost.max_depth", "split.kind", … (≤ 250 chars values).
std::map<std::string, std::string> RunParams(const RunSpec& spec);

// "4G" → 4294967296; "90s"/"30m"/"2h"/"1d" → seconds.
Result<int64_t> ParseByteSize(std::string_view text);
Result<int64_t> ParseSeconds(std::string_view text);

}  // namespace kiln::training
