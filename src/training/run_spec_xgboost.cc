// The built-in trainer's settings: supported objectives, and the XGBoost
// tree-booster parameters Kiln accepts with their types and ranges, checked
// before anything runs so a typo never reaches XGBoosterSetParam.
#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "training/run_spec_internal.h"

namespace kiln::training::internal {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

enum class ParamKind { kNumber, kInteger, kChoice, kEvalMetric, kMonotone, kInteraction };

// How one XGBoost parameter is checked. Numbers lie in the interval
// (min, max) with each end open or closed.
struct ParamRule {
  ParamKind kind = ParamKind::kNumber;
  double min = -kInfinity;
  double max = kInfinity;
  bool min_open = false;
  bool max_open = false;
  std::vector<std::string> choices;  // kChoice
  std::string objective;             // when set: only meaningful with this objective
  std::string same_as;               // an alias: the canonical name
};

ParamRule Number(double min, bool min_open, double max = kInfinity, bool max_open = true) {
  return ParamRule{ParamKind::kNumber, min, max, min_open, max_open, {}, {}, {}};
}
ParamRule Integer(double min) {
  return ParamRule{ParamKind::kInteger, min, kInfinity, false, true, {}, {}, {}};
}
ParamRule Choice(std::vector<std::string> choices) {
  ParamRule rule;
  rule.kind = ParamKind::kChoice;
  rule.choices = std::move(choices);
  return rule;
}
ParamRule Kind(ParamKind kind) {
  ParamRule rule;
  rule.kind = kind;
  return rule;
}
ParamRule For(ParamRule rule, std::string objective) {
  rule.objective = std::move(objective);
  return rule;
}
ParamRule Alias(ParamRule rule, std::string canonical) {
  rule.same_as = std::move(canonical);
  return rule;
}

const std::map<std::string, ParamRule>& Rules() {
  static const auto* const kRules = new std::map<std::string, ParamRule>{
      {"eta", Number(0, true, 1, false)},
      {"learning_rate", Alias(Number(0, true, 1, false), "eta")},
      {"max_depth", Integer(0)},
      {"min_child_weight", Number(0, false)},
      {"subsample", Number(0, true, 1, false)},
      {"colsample_bytree", Number(0, true, 1, false)},
      {"colsample_bylevel", Number(0, true, 1, false)},
      {"colsample_bynode", Number(0, true, 1, false)},
      {"lambda", Number(0, false)},
      {"reg_lambda", Alias(Number(0, false), "lambda")},
      {"alpha", Number(0, false)},
      {"reg_alpha", Alias(Number(0, false), "alpha")},
      {"gamma", Number(0, false)},
      {"min_split_loss", Alias(Number(0, false), "gamma")},
      {"max_bin", Integer(2)},
      {"tree_method", Choice({"auto", "exact", "approx", "hist"})},
      {"grow_policy", Choice({"depthwise", "lossguide"})},
      {"max_leaves", Integer(0)},
      {"scale_pos_weight", Number(0, false)},
      {"max_delta_step", Number(0, false)},
      {"eval_metric", Kind(ParamKind::kEvalMetric)},
      {"base_score", Number(-kInfinity, true)},
      {"num_parallel_tree", Integer(1)},
      {"monotone_constraints", Kind(ParamKind::kMonotone)},
      {"interaction_constraints", Kind(ParamKind::kInteraction)},
      {"booster", Choice({"gbtree"})},
      {"tweedie_variance_power", For(Number(1, true, 2, true), "reg:tweedie")},
      {"huber_slope", For(Number(0, true), "reg:pseudohubererror")},
  };
  return *kRules;
}

// Metrics XGBoost computes for the supported objectives; "error" and
// "tweedie-nloglik" also take "@<number>".
const std::vector<std::string>& EvalMetrics() {
  static const auto* const kMetrics = new std::vector<std::string>{
      "auc",  "aucpr", "error",           "gamma-deviance", "gamma-nloglik", "logloss",        "mae",
      "mape", "mphe",  "poisson-nloglik", "rmse",           "rmsle",         "tweedie-nloglik"};
  return *kMetrics;
}

std::string Quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

std::string Interval(const ParamRule& rule) {
  if (rule.max == kInfinity) {
    return rule.min_open ? "greater than " + FormatNumber(rule.min) : "at least " + FormatNumber(rule.min);
  }
  return std::string("in ") + (rule.min_open ? "(" : "[") + FormatNumber(rule.min) + ", " +
         FormatNumber(rule.max) + (rule.max_open ? ")" : "]");
}

bool InInterval(const ParamRule& rule, double value) {
  const bool above = rule.min_open ? value > rule.min : value >= rule.min;
  const bool below = rule.max_open ? value < rule.max : value <= rule.max;
  return above && below;
}

std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Splits "a,b,c" at commas (the items trimmed).
std::vector<std::string_view> SplitCommas(std::string_view text) {
  std::vector<std::string_view> items;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    items.push_back(Trim(text.substr(start, comma == std::string_view::npos ? comma : comma - start)));
    if (comma == std::string_view::npos) return items;
    start = comma + 1;
  }
}

std::string CheckEvalMetric(std::string_view value) {
  for (std::string_view metric : SplitCommas(value)) {
    const size_t at = metric.find('@');
    const std::string_view name = metric.substr(0, at);
    if (std::find(EvalMetrics().begin(), EvalMetrics().end(), name) == EvalMetrics().end()) {
      return "unknown metric " + Quoted(metric) + NameHint(name, EvalMetrics());
    }
    if (at == std::string_view::npos) continue;
    if ((name != "error" && name != "tweedie-nloglik") || !ParseNumber(metric.substr(at + 1))) {
      return "metric " + Quoted(metric) + ": only error@<threshold> and tweedie-nloglik@<rho> take '@'";
    }
  }
  return "";
}

// "(1,-1,0)": one of -1, 0, 1 per feature.
std::string CheckMonotone(std::string_view value) {
  const std::string_view text = Trim(value);
  std::string expected = "expected a list of -1, 0 and 1 per feature such as (1,-1,0), got " + Quoted(value);
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') return expected;
  for (std::string_view item : SplitCommas(text.substr(1, text.size() - 2))) {
    if (item != "-1" && item != "0" && item != "1") return expected;
  }
  return "";
}

// "[[0,1],[2,3]]": groups of feature indices that may interact.
std::string CheckInteraction(std::string_view value) {
  std::string expected = "expected groups of feature indices such as [[0,1],[2,3]], got " + Quoted(value);
  const Json parsed = Json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array()) return expected;
  for (const Json& group : parsed) {
    if (!group.is_array()) return expected;
    for (const Json& index : group) {
      if (!index.is_number_unsigned()) return expected;
    }
  }
  return "";
}

// The problem with one parameter's value, or "".
std::string CheckValue(const ParamRule& rule, std::string_view value) {
  switch (rule.kind) {
    case ParamKind::kNumber: {
      const std::optional<double> number = ParseNumber(value);
      if (!number) return "expected a number, got " + Quoted(value);
      if (!InInterval(rule, *number)) return "must be " + Interval(rule) + ", got " + std::string(value);
      return "";
    }
    case ParamKind::kInteger: {
      const std::optional<int64_t> number = ParseInteger(value);
      if (!number) return "expected an integer, got " + Quoted(value);
      if (!InInterval(rule, static_cast<double>(*number))) {
        return "must be " + Interval(rule) + ", got " + std::string(value);
      }
      return "";
    }
    case ParamKind::kChoice:
      if (std::find(rule.choices.begin(), rule.choices.end(), value) != rule.choices.end()) return "";
      return "expected one of " + Join(rule.choices, ", ") + ", got " + Quoted(value);
    case ParamKind::kEvalMetric:
      return CheckEvalMetric(value);
    case ParamKind::kMonotone:
      return CheckMonotone(value);
    case ParamKind::kInteraction:
      return CheckInteraction(value);
  }
  return "";
}

// base_score must be a valid prediction for the objective's link.
std::string CheckBaseScore(const std::string& objective, std::string_view value) {
  const std::optional<double> score = ParseNumber(value);
  if (!score) return "";  // reported as "expected a number"
  if ((objective == "binary:logistic" || objective == "reg:logistic") && !(*score > 0 && *score < 1)) {
    return "must be in (0, 1) for objective " + objective + ", got " + std::string(value);
  }
  if ((objective == "count:poisson" || objective == "reg:gamma" || objective == "reg:tweedie") &&
      !(*score > 0)) {
    return "must be greater than 0 for objective " + objective + ", got " + std::string(value);
  }
  return "";
}

// Names that are not XGBoostSpec::params entries, and where they belong.
std::string MisplacedParam(std::string_view name) {
  if (name == "nthread" || name == "n_jobs") {
    return "not allowed: the built-in trainer sets XGBoost's threads from resources.cpus";
  }
  if (name == "seed" || name == "random_state") return "not allowed here: set trainer.xgboost.seed";
  if (name == "objective" || name == "num_boost_round" || name == "early_stopping_rounds") {
    return "not an XGBoost parameter entry: set trainer.xgboost." + std::string(name);
  }
  return "";
}

}  // namespace

const std::vector<std::string>& SupportedObjectives() {
  static const auto* const kObjectives = new std::vector<std::string>{
      "binary:logistic",      "reg:squarederror", "reg:absoluteerror", "reg:logistic",
      "reg:pseudohubererror", "count:poisson",    "reg:gamma",         "reg:tweedie"};
  return *kObjectives;
}

bool IsKnownXGBoostParam(std::string_view name) { return Rules().count(std::string(name)) > 0; }

const std::vector<std::string>& KnownXGBoostParams() {
  static const auto* const kNames = [] {
    auto* names = new std::vector<std::string>();
    for (const auto& [name, rule] : Rules()) names->push_back(name);
    return names;
  }();
  return *kNames;
}

void CheckXGBoost(const XGBoostSpec& xgboost, std::vector<SpecProblem>* problems) {
  const std::vector<std::string>& objectives = SupportedObjectives();
  if (std::find(objectives.begin(), objectives.end(), xgboost.objective) == objectives.end()) {
    problems->push_back({"trainer.xgboost.objective", "unsupported objective " + Quoted(xgboost.objective) +
                                                          " (supported: " + Join(objectives, ", ") + ")"});
  }
  if (xgboost.num_boost_round < 1) {
    problems->push_back({"trainer.xgboost.num_boost_round",
                         "must be at least 1, got " + std::to_string(xgboost.num_boost_round)});
  }
  if (xgboost.early_stopping_rounds < 0) {
    problems->push_back(
        {"trainer.xgboost.early_stopping_rounds",
         "must be at least 0 (0: no early stopping), got " + std::to_string(xgboost.early_stopping_rounds)});
  }
  for (const auto& [name, value] : xgboost.params) {
    const std::string field = "trainer.xgboost." + name;
    if (std::string misplaced = MisplacedParam(name); !misplaced.empty()) {
      problems->push_back({field, misplaced});
      continue;
    }
    const auto rule = Rules().find(name);
    if (rule == Rules().end()) {
      std::vector<std::string> candidates = KnownXGBoostParams();
      candidates.insert(candidates.end(), {"objective", "num_boost_round", "early_stopping_rounds", "seed"});
      std::sort(candidates.begin(), candidates.end());
      problems->push_back({field, "unknown XGBoost parameter " + Quoted(name) + NameHint(name, candidates)});
      continue;
    }
    if (!rule->second.same_as.empty() && xgboost.params.count(rule->second.same_as) > 0) {
      problems->push_back(
          {field, "the same parameter as " + rule->second.same_as + "; give only one of them"});
      continue;
    }
    std::string problem = CheckValue(rule->second, value);
    if (problem.empty() && name == "base_score") problem = CheckBaseScore(xgboost.objective, value);
    if (problem.empty() && !rule->second.objective.empty() && rule->second.objective != xgboost.objective) {
      problem =
          "only used with objective " + rule->second.objective + " (this run uses " + xgboost.objective + ")";
    }
    if (!problem.empty()) problems->push_back({field, problem});
  }
}

}  // namespace kiln::training::internal
