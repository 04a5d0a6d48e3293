#pragma once
// Model metrics for the built-in trainer and promotion checks: Kiln's own
// AUC (tie-correct), logloss, error, RMSE and MAE, computed as XGBoost does
// (same clipping and threshold) so they agree with its evaluation lines;
// parsing of those lines; the objectives the built-in trainer supports.
// Stateless functions; thread-safe.

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace kiln::training {

enum class ObjectiveKind { kBinary, kRegression };

// binary:logistic → kBinary; reg:* and count:poisson → kRegression. Error:
// "objective 'multi:softmax' is not supported by the built-in trainer (use
// binary:logistic or a reg: objective)".
Result<ObjectiveKind> ClassifyObjective(std::string_view objective);

// XGBoost eval_metric names used when the job sets none, in XGBoost's
// order; early stopping follows the last one: binary → auc, error, logloss
// (stops on logloss); reg:absoluteerror → rmse, mae; other regression →
// mae, rmse (stops on rmse).
std::vector<std::string> DefaultEvalMetrics(std::string_view objective);

// Metrics of predictions against labels. Binary (objective binary:*):
// predictions are probabilities, labels 0 or 1; gives "auc", "logloss",
// "error" (threshold 0.5). Regression: "rmse", "mae". AUC is NaN when the
// labels hold one class only. Errors: sizes differ, no rows, a binary label
// other than 0/1.
Result<std::map<std::string, double>> EvaluateMetrics(std::string_view objective,
                                                      const std::vector<float>& labels,
                                                      const std::vector<float>& predictions);

// Tie-correct ROC AUC (ties count one half). REQUIRES: labels are 0/1.
double AreaUnderRoc(const std::vector<float>& labels, const std::vector<float>& predictions);

// True for metrics where larger is better, as XGBoost's early stopping
// decides: auc, aucpr, map, ndcg, pre (and their "@k" forms).
bool HigherIsBetter(std::string_view metric);

// One metric of one evaluation set.
struct EvalValue {
  std::string set;     // "train", "valid"
  std::string metric;  // "auc", "error@0.7"
  double value = 0;
};

// Parses XGBoost's evaluation line "[3]\ttrain-auc:0.97\tvalid-auc:0.95"
// into its values, in order. Error: "cannot read XGBoost's evaluation
// output '...'".
Result<std::vector<EvalValue>> ParseEvalLine(std::string_view line);

}  // namespace kiln::training
