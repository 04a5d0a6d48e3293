#pragma once
// Private to the run_spec*.cc files: the checks shared by the YAML reader,
// ValidateRunSpec, RunSpecFromJson and ApplyAssignment, so a problem reads
// the same wherever it is found. Stateless; thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "training/run_spec.h"

namespace kiln::training::internal {

// One problem with a spec: the field it concerns, as a dotted path
// ("trainer.xgboost.max_depth", "split", "" for the whole spec), and what is
// wrong ("expected an integer ≥ 0, got 'deep'").
struct SpecProblem {
  std::string field;
  std::string message;
};

// Every problem of a spec, in field order. No I/O: paths are not checked.
std::vector<SpecProblem> CheckRunSpec(const RunSpec& spec);

// "field: message" lines joined by newlines, as ValidateRunSpec reports them.
std::string FormatProblems(const std::vector<SpecProblem>& problems);

// The problems of the built-in trainer's settings: objective, rounds, and
// each entry of `params` (field paths "trainer.xgboost.<name>").
void CheckXGBoost(const XGBoostSpec& xgboost, std::vector<SpecProblem>* problems);

// Whether `name` is an XGBoost parameter Kiln accepts in XGBoostSpec::params
// (not objective / num_boost_round / early_stopping_rounds / seed, which are fields).
bool IsKnownXGBoostParam(std::string_view name);
// The names IsKnownXGBoostParam accepts, sorted.
const std::vector<std::string>& KnownXGBoostParams();
// The supported objectives, in documentation order.
const std::vector<std::string>& SupportedObjectives();

// " (did you mean 'x'?)" when one candidate is within a small edit
// distance of `name`, else " (known: a, b, …)".
std::string NameHint(std::string_view name, const std::vector<std::string>& candidates);

// Strict numbers: the whole text, decimal, finite. "3.0" is not an integer.
std::optional<int64_t> ParseInteger(std::string_view text);
std::optional<uint64_t> ParseUnsigned(std::string_view text);
std::optional<double> ParseNumber(std::string_view text);
// The shortest text that reads back as the same double ("0.2", "1e-05").
std::string FormatNumber(double value);

// Splits a command line into argv the way a POSIX shell would split words,
// without running one: whitespace separates, '…' is literal, "…" honours
// \" \\ \$ \`, and a backslash outside quotes escapes the next character.
// No variables, globs or operators. Error: "unterminated \" quote".
Result<std::vector<std::string>> SplitCommandLine(std::string_view text);

}  // namespace kiln::training::internal
