// ValidateRunSpec: every check of a run spec that needs no I/O. The YAML
// reader (run_spec_yaml.cc) adds file:line to these problems; RunSpecFromJson
// and ApplyAssignment report them as they are.
#include "training/run_spec.h"

#include <algorithm>
#include <regex>
#include <set>

#include "data/timestamp.h"
#include "features/expression_parser.h"
#include "features/labels.h"
#include "tracking/tracking_store.h"
#include "tracking/tracking_validation.h"
#include "training/run_spec_internal.h"

namespace kiln::training {
namespace internal {
namespace {

constexpr size_t kMaxRunNameLength = 250;
constexpr size_t kMaxFreeParamValueLength = 250;
constexpr int64_t kMinMemoryBytes = int64_t{1} << 20;

std::string Quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

bool HasControlCharacter(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

// MLflow's rule for param and tag keys (tracking_validation.h), with our own words.
std::string KeyProblem(std::string_view kind, std::string_view key) {
  if (key.empty()) return kind == "tag" ? "tag keys must not be empty" : "param names must not be empty";
  const bool characters_ok = std::all_of(key.begin(), key.end(), [](unsigned char c) {
    return std::isalnum(c) || c >= 0x80 ||
           std::string_view("_-. :/").find(static_cast<char>(c)) != std::string_view::npos;
  });
  if (!characters_ok) {
    return std::string(kind) + " " + Quoted(key) +
           " may only contain letters, digits, '_', '-', '.', ' ', ':' and '/'";
  }
  if (tracking::NormalizePath(key) != key || key.starts_with("..")) {
    return std::string(kind) + " " + Quoted(key) + " must be a plain path (no '..', leading or doubled '/')";
  }
  if (tracking::CharacterCount(key) > tracking::kMaxEntityKeyLength) {
    return std::string(kind) + " names may have at most " + std::to_string(tracking::kMaxEntityKeyLength) +
           " characters";
  }
  return "";
}

void CheckNames(const RunSpec& spec, std::vector<SpecProblem>* problems) {
  if (spec.project.empty()) {
    problems->push_back({"project", "required: the tracking project the run belongs to"});
  } else if (HasControlCharacter(spec.project) || spec.project.front() == ' ' || spec.project.back() == ' ') {
    problems->push_back({"project", Quoted(spec.project) +
                                        " is not a valid project name (no control characters, leading or "
                                        "trailing spaces)"});
  } else if (tracking::CharacterCount(spec.project) > tracking::kMaxExperimentNameLength) {
    problems->push_back({"project", "project names may have at most " +
                                        std::to_string(tracking::kMaxExperimentNameLength) + " characters"});
  }
  if (HasControlCharacter(spec.run_name)) {
    problems->push_back({"run_name", "must not contain control characters"});
  } else if (tracking::CharacterCount(spec.run_name) > kMaxRunNameLength) {
    problems->push_back({"run_name", "run names may have at most " + std::to_string(kMaxRunNameLength) +
                                         " characters, got " +
                                         std::to_string(tracking::CharacterCount(spec.run_name))});
  }
}

void CheckLabel(const DataSpec& data, std::vector<SpecProblem>* problems) {
  if (data.label.empty()) {
    problems->push_back({"data.label", "required: a column name, or NAME = EXPRESSION"});
    return;
  }
  Result<features::DerivedColumn> label = features::ParseDerivedColumn(data.label);
  if (!label.ok()) {
    problems->push_back(
        {"data.label", "expected a column name or NAME = EXPRESSION, got " + Quoted(data.label)});
    return;
  }
  if (label->expression.empty()) return;
  if (data.feature_service.empty()) {
    problems->push_back({"data.label",
                         "NAME = EXPRESSION labels are computed from entity rows and need "
                         "feature_service data; with a file, name a column"});
    return;
  }
  Result<features::SyntaxNode> syntax = features::ParseExpression(label->expression);
  if (!syntax.ok()) {
    problems->push_back(
        {"data.label", "expression " + Quoted(label->expression) + ": " + syntax.status().message()});
  }
}

void CheckData(const DataSpec& data, std::vector<SpecProblem>* problems) {
  const bool service = !data.feature_service.empty();
  const bool file = !data.file.empty();
  if (service && file) {
    problems->push_back({"data", "give either feature_service or file, not both"});
  } else if (!service && !file) {
    problems->push_back({"data", "give feature_service (with entities and label) or file (with label)"});
  }
  if (service) {
    if (data.entities.empty()) {
      problems->push_back({"data.entities",
                           "required with feature_service: a CSV or JSON-lines file of entity "
                           "rows (join keys, timestamp, label)"});
    }
    if (data.timestamp_column.empty()) problems->push_back({"data.timestamp_column", "must not be empty"});
  } else if (file) {
    const std::string only = "only used with feature_service data";
    if (!data.feature_project.empty()) problems->push_back({"data.feature_project", only});
    if (!data.entities.empty()) problems->push_back({"data.entities", only});
    if (data.start_micros) problems->push_back({"data.start", only});
    if (data.end_micros) problems->push_back({"data.end", only});
  }
  if (data.start_micros && data.end_micros && *data.start_micros >= *data.end_micros) {
    problems->push_back({"data.end", "must be after start (" + data::FormatTimestamp(*data.start_micros) +
                                         "), got " + data::FormatTimestamp(*data.end_micros)});
  }
  if (service || file) CheckLabel(data, problems);

  const Result<features::DerivedColumn> label = features::ParseDerivedColumn(data.label);
  std::set<std::string> seen;
  for (const std::string& column : data.exclude) {
    if (column.empty()) {
      problems->push_back({"data.exclude", "column names must not be empty"});
    } else if (!seen.insert(column).second) {
      problems->push_back({"data.exclude", Quoted(column) + " is listed twice"});
    } else if (label.ok() && label->name == column) {
      problems->push_back({"data.exclude", Quoted(column) + " is the label; it cannot be excluded"});
    }
  }
}

void CheckSplit(const RunSpec& spec, std::vector<SpecProblem>* problems) {
  const SplitSpec& split = spec.split;
  const bool validation_ok = split.validation_fraction > 0 && split.validation_fraction < 1;
  const bool holdout_ok = split.holdout_fraction >= 0 && split.holdout_fraction < 1;
  if (!validation_ok) {
    problems->push_back({"split.validation_fraction", "must be greater than 0 and less than 1, got " +
                                                          FormatNumber(split.validation_fraction)});
  }
  if (!holdout_ok) {
    problems->push_back({"split.holdout_fraction",
                         "must be at least 0 and less than 1, got " + FormatNumber(split.holdout_fraction)});
  }
  if (validation_ok && holdout_ok && !split.validation_start_micros &&
      split.validation_fraction + split.holdout_fraction >= 1) {
    problems->push_back({"split",
                         "validation_fraction + holdout_fraction must be less than 1 to leave rows to "
                         "train on, got " +
                             FormatNumber(split.validation_fraction) + " + " +
                             FormatNumber(split.holdout_fraction)});
  }
  if (split.kind == SplitKind::kRandom) {
    const std::string only = "only used by a time split (kind: time)";
    if (!split.time_column.empty()) problems->push_back({"split.time_column", only});
    if (split.validation_start_micros) problems->push_back({"split.validation_start", only});
  } else if (split.time_column.empty() && spec.data.feature_service.empty()) {
    problems->push_back({"split.time_column",
                         "a time split of file data needs time_column, the column to "
                         "order rows by"});
  }
  if (split.validation_start_micros && spec.data.start_micros &&
      *split.validation_start_micros <= *spec.data.start_micros) {
    problems->push_back({"split.validation_start", "must be after data.start (" +
                                                       data::FormatTimestamp(*spec.data.start_micros) +
                                                       ") or no rows are left to train on"});
  }
}

void CheckCommand(const CommandSpec& command, std::vector<SpecProblem>* problems) {
  if (command.argv.empty()) {
    problems->push_back({"trainer.command", "must name a program to run, e.g. [python3, train.py]"});
  } else if (command.argv.front().empty()) {
    problems->push_back({"trainer.command", "the program name is empty"});
  }
  static const std::regex kEnvName("[A-Za-z_][A-Za-z0-9_]*");
  for (const auto& [name, value] : command.env) {
    const std::string field = "trainer.env." + name;
    if (!std::regex_match(name, kEnvName)) {
      problems->push_back(
          {field, Quoted(name) + " is not an environment variable name (letters, digits, '_')"});
    } else if (name.starts_with("KILN_")) {
      problems->push_back({field, "names starting with KILN_ are set by Kiln"});
    }
    if (value.find('\0') != std::string::npos)
      problems->push_back({field, "must not contain NUL characters"});
  }
}

void CheckFreeParams(const RunSpec& spec, std::vector<SpecProblem>* problems) {
  static const std::regex kParamName("[A-Za-z0-9_.-]+");
  for (const auto& [name, value] : spec.params) {
    const std::string field = "params." + name;
    const size_t dot = name.find('.');
    const std::string section = name.substr(0, dot);
    const bool reserved = name == "executor" || name == "trainer" || name == "command" ||
                          (dot != std::string::npos && (section == "xgboost" || section == "split" ||
                                                        section == "data" || section == "resources"));
    if (!std::regex_match(name, kParamName)) {
      problems->push_back({field, "param names may only contain letters, digits, '_', '-' and '.'"});
    } else if (std::string problem = KeyProblem("param", name); !problem.empty()) {
      problems->push_back({field, problem});
    } else if (reserved) {
      problems->push_back({field, "clashes with a run param Kiln logs for the spec; choose another name"});
    }
    if (tracking::CharacterCount(value) > kMaxFreeParamValueLength) {
      problems->push_back({field, "values may have at most " + std::to_string(kMaxFreeParamValueLength) +
                                      " characters, got " + std::to_string(tracking::CharacterCount(value))});
    }
  }
}

void CheckResources(const ResourceLimits& resources, std::vector<SpecProblem>* problems) {
  if (resources.cpus < 1) {
    problems->push_back({"resources.cpus", "must be at least 1, got " + std::to_string(resources.cpus)});
  }
  if (resources.memory_bytes < 0) {
    problems->push_back({"resources.memory", "must not be negative (0: no limit)"});
  } else if (resources.memory_bytes > 0 && resources.memory_bytes < kMinMemoryBytes) {
    const std::string bytes = std::to_string(resources.memory_bytes);
    problems->push_back(
        {"resources.memory", bytes + " bytes is too little to run anything (at least 1M" +
                                 (resources.memory_bytes < 1024 ? "; did you mean " + bytes + "G?)" : ")")});
  }
  if (resources.time_limit_seconds < 0) {
    problems->push_back({"resources.time_limit", "must not be negative (0: no limit)"});
  }
  static const std::regex kSlurmWord("[A-Za-z0-9_.:,=+-]*");
  if (!std::regex_match(resources.partition, kSlurmWord)) {
    problems->push_back(
        {"resources.partition", Quoted(resources.partition) + " is not a Slurm partition name"});
  }
  if (!std::regex_match(resources.gres, kSlurmWord)) {
    problems->push_back({"resources.gres", Quoted(resources.gres) + " is not a Slurm GRES such as gpu:1"});
  }
}

void CheckTags(const RunSpec& spec, std::vector<SpecProblem>* problems) {
  for (const auto& [key, value] : spec.tags) {
    const std::string field = "tags." + key;
    if (std::string problem = KeyProblem("tag", key); !problem.empty()) {
      problems->push_back({field, problem});
    } else if ((key.starts_with("mlflow.") && key != "mlflow.note.content") || key.starts_with("kiln.")) {
      problems->push_back({field, "tags starting with 'mlflow.' or 'kiln.' are set by Kiln"});
    }
    if (tracking::CharacterCount(value) > tracking::kMaxTagValueLength) {
      problems->push_back({field, "tag values may have at most " +
                                      std::to_string(tracking::kMaxTagValueLength) + " characters"});
    }
  }
}

}  // namespace

std::vector<SpecProblem> CheckRunSpec(const RunSpec& spec) {
  std::vector<SpecProblem> problems;
  CheckNames(spec, &problems);
  CheckData(spec.data, &problems);
  CheckSplit(spec, &problems);
  if (spec.trainer == TrainerKind::kXGBoost) {
    CheckXGBoost(spec.xgboost, &problems);
  } else {
    CheckCommand(spec.command, &problems);
  }
  CheckFreeParams(spec, &problems);
  CheckResources(spec.resources, &problems);
  if (spec.executor != "local" && spec.executor != "slurm") {
    problems.push_back({"executor", "expected local or slurm, got " + Quoted(spec.executor)});
  }
  static const std::regex kPackage("[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?");
  std::set<std::string> packages;
  for (const std::string& package : spec.debian_packages) {
    if (!std::regex_match(package, kPackage)) {
      problems.push_back({"debian_packages", Quoted(package) + " is not a Debian package name (lower-case "
                                                               "letters, digits, '+', '-', '.')"});
    } else if (!packages.insert(package).second) {
      problems.push_back({"debian_packages", Quoted(package) + " is listed twice"});
    }
  }
  CheckTags(spec, &problems);
  return problems;
}

std::string FormatProblems(const std::vector<SpecProblem>& problems) {
  std::string out;
  for (const SpecProblem& problem : problems) {
    if (!out.empty()) out += '\n';
    out += problem.field.empty() ? problem.message : problem.field + ": " + problem.message;
  }
  return out;
}

}  // namespace internal

Status ValidateRunSpec(const RunSpec& spec) {
  const std::vector<internal::SpecProblem> problems = internal::CheckRunSpec(spec);
  if (problems.empty()) return Status::Ok();
  return InvalidArgument(internal::FormatProblems(problems));
}

}  // namespace kiln::training
