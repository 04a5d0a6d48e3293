#pragma once
// Sweeps: many child runs of one spec under a parent run, each with its own
// parameter assignment — every combination of a grid, or N random draws
// from a search space with a seed — and the best child by a chosen metric.
// docs/training/runs.md ("Sweeps").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "training/run_spec.h"
#include "training/training_service.h"

namespace kiln::training {

// One swept parameter. Grid: `values`. Random: `values` (choices) or a range
// low:high, optionally log-uniform and/or integer.
struct SweepDimension {
  std::string name;
  std::vector<std::string> values;
  bool is_range = false;
  double low = 0;
  double high = 0;
  bool log_scale = false;
  bool integer = false;
};

// "max_depth=4,6,8" (values); "eta=0.01:0.3" (range), "eta=0.01:0.3:log",
// "max_depth=3:10:int" (whole bounds; every whole number in between equally
// likely). Errors name the text: "sweep parameter 'eta=': no values".
Result<SweepDimension> ParseSweepDimension(std::string_view text);

struct SweepRequest {
  std::vector<SweepDimension> grid;    // every combination
  int random_trials = 0;               // > 0: random search over `space`
  uint64_t seed = 0;
  std::vector<SweepDimension> space;
  std::string metric = "auc";          // final metric of each child
  std::optional<bool> maximize;        // default: by the metric's name (rmse: minimize)
  int max_runs = 1000;                 // refuse sweeps larger than this
};

// The assignment ("NAME=VALUE" list) of each child, in launch order: a
// grid's combinations with the last dimension varying fastest, or
// `random_trials` draws, deterministic for a seed. Errors: nothing to sweep,
// both grid and random, --param without --random, a parameter given twice,
// a range in a grid, too many runs ("the grid has 1296 combinations; the
// limit is 1000: sweep fewer values").
Result<std::vector<std::vector<std::string>>> ExpandSweep(const SweepRequest& request);

struct SweepLaunch {
  std::string parent_run_id;
  std::vector<SubmittedRun> children;
};

// Creates the parent run (RUNNING, params = the sweep's definition), submits
// one child per assignment (tagged mlflow.parentRunId), and ends the parent
// when every child has ended, tagged with the best child
// (kiln.sweep.best_run_id) and logging the best metric. Every assignment is
// checked against the spec before any run is created. When a child cannot be
// submitted no further ones are, the error names it, and the parent still
// ends once the children already submitted have (FAILED when none finished).
Result<SweepLaunch> LaunchSweep(TrainingService& service, const RunSpec& spec, const SweepRequest& request,
                                const SubmitOptions& options);

struct SweepChild {
  std::string run_id;
  std::string run_name;
  std::string status;
  std::optional<double> metric;
  std::vector<std::string> assignment;  // from the kiln.sweep.assignment tag
};
struct SweepSummary {
  std::string parent_run_id;
  std::string metric;
  bool maximize = true;
  int finished = 0, failed = 0, running = 0;  // running includes scheduled
  std::vector<SweepChild> children;           // best first; runs without the metric last
  std::optional<SweepChild> best;
};

// Reads the children of a sweep's parent from the tracking store.
Result<SweepSummary> SummarizeSweep(tracking::TrackingStore& tracking, const std::string& parent_run_id);
Json SweepSummaryToJson(const SweepSummary& summary);

}  // namespace kiln::training
