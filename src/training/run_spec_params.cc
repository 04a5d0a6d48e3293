// Sweep assignments ("max_depth=6") applied to a spec, and the flat run
// params Kiln logs for a spec.
#include <algorithm>
#include <cctype>
#include <climits>

#include "data/timestamp.h"
#include "training/run_spec.h"
#include "training/run_spec_internal.h"

namespace kiln::training {
namespace {

constexpr size_t kMaxRunParamValueBytes = 250;

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

// At most kMaxRunParamValueBytes bytes, cut on a UTF-8 boundary and marked "...".
std::string Shortened(std::string value) {
  if (value.size() <= kMaxRunParamValueBytes) return value;
  size_t cut = kMaxRunParamValueBytes - 3;
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) --cut;
  value.resize(cut);
  return value + "...";
}

std::string FormatByteSize(int64_t bytes) {
  static constexpr std::pair<int, char> kUnits[] = {{40, 'T'}, {30, 'G'}, {20, 'M'}, {10, 'K'}};
  for (const auto& [shift, letter] : kUnits) {
    if (bytes % (int64_t{1} << shift) == 0) return std::to_string(bytes >> shift) + letter;
  }
  return std::to_string(bytes);
}

// A word a POSIX shell reads back as itself.
std::string ShellQuoted(const std::string& word) {
  const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](unsigned char c) {
    return std::isalnum(c) ||
           std::string_view("_-.,/:=@%+").find(static_cast<char>(c)) != std::string_view::npos;
  });
  if (plain) return word;
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string JoinWith(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

// Sets one built-in trainer setting; `name` is an XGBoost field or parameter.
std::string AssignXGBoost(XGBoostSpec& xgboost, const std::string& name, const std::string& value) {
  if (name == "num_boost_round" || name == "early_stopping_rounds") {
    const std::optional<int64_t> number = internal::ParseInteger(value);
    if (!number || *number < INT_MIN || *number > INT_MAX) {
      return "trainer.xgboost." + name + ": expected an integer, got '" + value + "'";
    }
    (name == "num_boost_round" ? xgboost.num_boost_round : xgboost.early_stopping_rounds) =
        static_cast<int>(*number);
  } else if (name == "seed") {
    const std::optional<uint64_t> seed = internal::ParseUnsigned(value);
    if (!seed) return "trainer.xgboost.seed: expected a non-negative integer, got '" + value + "'";
    xgboost.seed = *seed;
  } else if (name == "objective") {
    xgboost.objective = value;
  } else {
    xgboost.params[name] = value;
  }
  return "";
}

bool SameProblem(const internal::SpecProblem& a, const internal::SpecProblem& b) {
  return a.field == b.field && a.message == b.message;
}

}  // namespace

Status ApplyAssignment(RunSpec& spec, std::string_view assignment) {
  const std::string shown = "sweep assignment '" + std::string(assignment) + "': ";
  const size_t equals = assignment.find('=');
  if (equals == std::string_view::npos || Trim(assignment.substr(0, equals)).empty()) {
    return InvalidArgument(shown + "expected NAME=VALUE");
  }
  const std::string name(Trim(assignment.substr(0, equals)));
  const std::string value(Trim(assignment.substr(equals + 1)));

  RunSpec changed = spec;
  std::string problem;
  if (name.starts_with("params.") && name.size() > 7) {
    changed.params[name.substr(7)] = value;
  } else if (name.starts_with("xgboost.") && name.size() > 8) {
    if (spec.trainer != TrainerKind::kXGBoost) {
      return InvalidArgument(shown + "this run's trainer is a command, not xgboost");
    }
    problem = AssignXGBoost(changed.xgboost, name.substr(8), value);
  } else if (spec.trainer == TrainerKind::kXGBoost && spec.params.count(name) == 0) {
    problem = AssignXGBoost(changed.xgboost, name, value);
  } else {
    changed.params[name] = value;
  }
  if (!problem.empty()) return InvalidArgument(shown + problem);

  // Report what the assignment broke, not what was already wrong.
  const std::vector<internal::SpecProblem> before = internal::CheckRunSpec(spec);
  std::vector<internal::SpecProblem> added;
  for (const internal::SpecProblem& after : internal::CheckRunSpec(changed)) {
    const auto same = [&](const internal::SpecProblem& old) { return SameProblem(old, after); };
    if (std::none_of(before.begin(), before.end(), same)) added.push_back(after);
  }
  if (!added.empty()) return InvalidArgument(shown + internal::FormatProblems(added));
  spec = std::move(changed);
  return Status::Ok();
}

std::map<std::string, std::string> RunParams(const RunSpec& spec) {
  std::map<std::string, std::string> params;
  params["executor"] = spec.executor;
  if (spec.trainer == TrainerKind::kXGBoost) {
    params["trainer"] = "xgboost";
    params["xgboost.objective"] = spec.xgboost.objective;
    params["xgboost.num_boost_round"] = std::to_string(spec.xgboost.num_boost_round);
    params["xgboost.early_stopping_rounds"] = std::to_string(spec.xgboost.early_stopping_rounds);
    params["xgboost.seed"] = std::to_string(spec.xgboost.seed);
    for (const auto& [name, value] : spec.xgboost.params) params["xgboost." + name] = value;
  } else {
    params["trainer"] = "command";
    std::vector<std::string> words;
    for (const std::string& word : spec.command.argv) words.push_back(ShellQuoted(word));
    params["command"] = JoinWith(words, " ");
  }

  const SplitSpec& split = spec.split;
  params["split.kind"] = split.kind == SplitKind::kTime ? "time" : "random";
  if (!split.validation_start_micros) {  // with a validation start, the fraction is unused
    params["split.validation_fraction"] = internal::FormatNumber(split.validation_fraction);
  }
  params["split.holdout_fraction"] = internal::FormatNumber(split.holdout_fraction);
  if (split.kind == SplitKind::kRandom) {
    params["split.seed"] = std::to_string(split.seed);
  } else {
    const std::string time_column =
        split.time_column.empty() ? spec.data.timestamp_column : split.time_column;
    params["split.time_column"] = time_column;
    if (split.validation_start_micros) {
      params["split.validation_start"] = data::FormatTimestamp(*split.validation_start_micros);
    }
  }

  const DataSpec& data = spec.data;
  if (!data.feature_service.empty()) {
    params["data.feature_service"] = data.feature_service;
    if (!data.feature_project.empty()) params["data.feature_project"] = data.feature_project;
    params["data.entities"] = data.entities;
    params["data.timestamp_column"] = data.timestamp_column;
    if (data.start_micros) params["data.start"] = data::FormatTimestamp(*data.start_micros);
    if (data.end_micros) params["data.end"] = data::FormatTimestamp(*data.end_micros);
  } else {
    params["data.file"] = data.file;
  }
  params["data.label"] = data.label;
  if (!data.exclude.empty()) params["data.exclude"] = JoinWith(data.exclude, ",");

  const ResourceLimits& resources = spec.resources;
  params["resources.cpus"] = std::to_string(resources.cpus);
  if (resources.memory_bytes > 0) params["resources.memory"] = FormatByteSize(resources.memory_bytes);
  if (resources.time_limit_seconds > 0) {
    params["resources.time_limit"] = data::FormatDuration(resources.time_limit_seconds);
  }
  if (!resources.partition.empty()) params["resources.partition"] = resources.partition;
  if (!resources.gres.empty()) params["resources.gres"] = resources.gres;

  for (const auto& [name, value] : spec.params) params.emplace(name, value);
  for (auto& [name, value] : params) value = Shortened(std::move(value));
  return params;
}

}  // namespace kiln::training
