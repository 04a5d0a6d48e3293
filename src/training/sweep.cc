#include "training/sweep.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "training/evaluation.h"

namespace kiln::training {
namespace {

constexpr const char* kAssignmentTag = "kiln.sweep.assignment";

std::vector<std::string> SplitOn(std::string_view text, char separator) {
  std::vector<std::string> parts;
  size_t begin = 0;
  while (true) {
    size_t end = text.find(separator, begin);
    parts.emplace_back(text.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin));
    if (end == std::string_view::npos) break;
    begin = end + 1;
  }
  return parts;
}

Result<double> ParseNumber(std::string_view text, std::string_view context) {
  std::string copy(text);
  char* end = nullptr;
  double value = std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size() || !std::isfinite(value)) {
    return InvalidArgument("sweep parameter '" + std::string(context) + "': '" + copy + "' is not a number");
  }
  return value;
}

// SplitMix64: the same draws on every machine for a seed.
class Generator {
 public:
  explicit Generator(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0); }

 private:
  uint64_t state_;
};

std::string FormatDraw(double value, bool integer) {
  if (integer) return std::to_string(static_cast<int64_t>(std::llround(value)));
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  return buffer;
}

std::string Join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string joined;
  for (const std::string& part : parts) {
    if (!joined.empty()) joined += separator;
    joined += part;
  }
  return joined;
}

}  // namespace

Result<SweepDimension> ParseSweepDimension(std::string_view text) {
  size_t equals = text.find('=');
  if (equals == std::string_view::npos || equals == 0) {
    return InvalidArgument("sweep parameter '" + std::string(text) +
                           "': expected NAME=V1,V2,… or NAME=LOW:HIGH[:log][:int]");
  }
  SweepDimension dimension;
  dimension.name = std::string(text.substr(0, equals));
  std::string_view values = text.substr(equals + 1);
  if (values.empty()) return InvalidArgument("sweep parameter '" + std::string(text) + "': no values");
  if (values.find(':') != std::string_view::npos) {
    std::vector<std::string> parts = SplitOn(values, ':');
    if (parts.size() < 2) return InvalidArgument("sweep parameter '" + std::string(text) + "': expected LOW:HIGH");
    KILN_ASSIGN_OR_RETURN(dimension.low, ParseNumber(parts[0], text));
    KILN_ASSIGN_OR_RETURN(dimension.high, ParseNumber(parts[1], text));
    for (size_t i = 2; i < parts.size(); ++i) {
      if (parts[i] == "log") {
        dimension.log_scale = true;
      } else if (parts[i] == "int") {
        dimension.integer = true;
      } else {
        return InvalidArgument("sweep parameter '" + std::string(text) + "': unknown option '" + parts[i] +
                               "' (use log or int)");
      }
    }
    if (dimension.low > dimension.high) {
      return InvalidArgument("sweep parameter '" + std::string(text) + "': LOW is greater than HIGH");
    }
    if (dimension.log_scale && dimension.low <= 0) {
      return InvalidArgument("sweep parameter '" + std::string(text) + "': a log range needs LOW > 0");
    }
    const bool whole = dimension.low == std::floor(dimension.low) && dimension.high == std::floor(dimension.high);
    if (dimension.integer && !whole) {
      return InvalidArgument("sweep parameter '" + std::string(text) + "': an int range needs whole LOW and HIGH");
    }
    dimension.is_range = true;
    return dimension;
  }
  for (std::string& value : SplitOn(values, ',')) {
    if (value.empty()) return InvalidArgument("sweep parameter '" + std::string(text) + "': empty value");
    dimension.values.push_back(std::move(value));
  }
  return dimension;
}

Result<std::vector<std::vector<std::string>>> ExpandSweep(const SweepRequest& request) {
  if (request.random_trials < 0) {
    return InvalidArgument("--random needs a positive number of runs, got " + std::to_string(request.random_trials));
  }
  const bool random = request.random_trials > 0;
  if (random && !request.grid.empty()) return InvalidArgument("give either a grid or a random search, not both");
  if (!random && request.grid.empty()) {
    return InvalidArgument("nothing to sweep: give --grid NAME=V1,V2 or --random N with --param NAME=LOW:HIGH");
  }
  if (!random && !request.space.empty()) {
    return InvalidArgument("--param '" + request.space.front().name + "' describes a random search: add --random N");
  }
  const std::vector<SweepDimension>& dimensions = random ? request.space : request.grid;
  std::set<std::string> names;
  for (const SweepDimension& dimension : dimensions) {
    if (!names.insert(dimension.name).second) {
      return InvalidArgument("sweep parameter '" + dimension.name + "' is given twice");
    }
    if (!dimension.is_range && dimension.values.empty()) {
      return InvalidArgument("sweep parameter '" + dimension.name + "': no values");
    }
  }
  std::vector<std::vector<std::string>> assignments;
  if (!random) {
    uint64_t combinations = 1;  // saturates: only compared with the limit
    for (const SweepDimension& dimension : request.grid) {
      if (dimension.is_range) {
        return InvalidArgument("grid parameter '" + dimension.name +
                               "' is a range; a grid needs values (NAME=V1,V2,…); ranges are for --random");
      }
      const uint64_t count = dimension.values.size();
      combinations = combinations > UINT64_MAX / count ? UINT64_MAX : combinations * count;
    }
    if (combinations > static_cast<uint64_t>(std::max(0, request.max_runs))) {
      return InvalidArgument("the grid has " +
                             (combinations == UINT64_MAX ? std::string("too many") : std::to_string(combinations)) +
                             " combinations; the limit is " + std::to_string(request.max_runs) +
                             ": sweep fewer values");
    }
    std::vector<size_t> index(request.grid.size(), 0);
    for (uint64_t n = 0; n < combinations; ++n) {
      std::vector<std::string> assignment;
      for (size_t d = 0; d < request.grid.size(); ++d) {
        assignment.push_back(request.grid[d].name + "=" + request.grid[d].values[index[d]]);
      }
      assignments.push_back(std::move(assignment));
      for (size_t d = request.grid.size(); d-- > 0;) {  // the last dimension varies fastest
        if (++index[d] < request.grid[d].values.size()) break;
        index[d] = 0;
      }
    }
    return assignments;
  }
  if (request.space.empty()) return InvalidArgument("a random search needs --param NAME=LOW:HIGH or NAME=V1,V2");
  if (request.random_trials > request.max_runs) {
    return InvalidArgument(std::to_string(request.random_trials) + " random trials exceed the limit of " +
                           std::to_string(request.max_runs));
  }
  Generator generator(request.seed);
  for (int trial = 0; trial < request.random_trials; ++trial) {
    std::vector<std::string> assignment;
    for (const SweepDimension& dimension : request.space) {
      std::string value;
      if (!dimension.is_range) {
        value = dimension.values[generator.Next() % dimension.values.size()];
      } else if (dimension.log_scale) {
        const double u = generator.Uniform();
        const double draw =
            std::exp(std::log(dimension.low) + u * (std::log(dimension.high) - std::log(dimension.low)));
        value = FormatDraw(dimension.integer ? std::clamp(std::round(draw), dimension.low, dimension.high) : draw,
                           dimension.integer);
      } else if (dimension.integer) {
        // Each whole number in [low, high] equally likely.
        const double count = dimension.high - dimension.low + 1;
        value = FormatDraw(std::min(dimension.high, dimension.low + std::floor(generator.Uniform() * count)), true);
      } else {
        value = FormatDraw(dimension.low + generator.Uniform() * (dimension.high - dimension.low), false);
      }
      assignment.push_back(dimension.name + "=" + value);
    }
    assignments.push_back(std::move(assignment));
  }
  return assignments;
}

Result<SweepLaunch> LaunchSweep(TrainingService& service, const RunSpec& spec, const SweepRequest& request,
                                const SubmitOptions& options) {
  KILN_ASSIGN_OR_RETURN(auto assignments, ExpandSweep(request));
  // Check every child's spec before creating anything.
  std::vector<RunSpec> specs;
  for (const auto& assignment : assignments) {
    RunSpec child = spec;
    for (const std::string& item : assignment) KILN_RETURN_IF_ERROR(ApplyAssignment(child, item));
    KILN_RETURN_IF_ERROR(ValidateRunSpec(child));
    specs.push_back(std::move(child));
  }
  tracking::TrackingStore& tracking = service.tracking();
  Clock& clock = service.clock();
  std::string project_id;
  Result<tracking::Experiment> existing = tracking.GetExperimentByName(spec.project);
  if (existing.ok()) {
    project_id = existing->experiment_id;
  } else if (existing.status().code() == StatusCode::kNotFound) {
    KILN_ASSIGN_OR_RETURN(project_id, tracking.CreateExperiment(spec.project, "", {}));
  } else {
    return existing.status();
  }
  const bool maximize = request.maximize.value_or(HigherIsBetter(request.metric));
  tracking::CreateRunRequest create;
  create.experiment_id = project_id;
  create.user_id = options.user;
  create.run_name = spec.run_name.empty() ? "" : spec.run_name + "-sweep";
  create.tags = {{"kiln.sweep", "true"},
                 {"kiln.sweep.metric", request.metric},
                 {"kiln.sweep.goal", maximize ? "maximize" : "minimize"},
                 {"kiln.sweep.runs", std::to_string(specs.size())}};
  if (!options.user.empty()) create.tags.push_back({"mlflow.user", options.user});
  KILN_ASSIGN_OR_RETURN(tracking::Run parent, tracking.CreateRun(create));
  const std::string parent_id = parent.info.run_id;
  // Ends the parent FAILED when no child will end it.
  auto fail_parent = [&](const Status& status) {
    (void)tracking.SetTag(parent_id, {"kiln.error", status.message().substr(0, 5000)});
    tracking::UpdateRunRequest failed;
    failed.status = tracking::RunStatus::kFailed;
    failed.end_time = clock.NowMillis();
    (void)tracking.UpdateRun(parent_id, failed);
    return Status(status.code(), "sweep " + parent_id + ": " + status.message());
  };
  std::vector<tracking::Param> params;
  for (const SweepDimension& dimension : request.random_trials > 0 ? request.space : request.grid) {
    std::string definition = dimension.is_range ? FormatDraw(dimension.low, false) + ":" +
                                                      FormatDraw(dimension.high, false) +
                                                      (dimension.log_scale ? ":log" : "") +
                                                      (dimension.integer ? ":int" : "")
                                                : Join(dimension.values, ",");
    params.push_back({"sweep." + dimension.name, definition.substr(0, 500)});
  }
  params.push_back({"sweep.kind", request.random_trials > 0 ? "random" : "grid"});
  if (request.random_trials > 0) params.push_back({"sweep.seed", std::to_string(request.seed)});
  Status logged = tracking.LogBatch(parent_id, {}, params, {});
  if (!logged.ok()) return fail_parent(logged);

  SweepLaunch launch;
  launch.parent_run_id = parent_id;
  std::vector<std::string> child_ids;
  Status submit_error;
  for (size_t i = 0; i < specs.size(); ++i) {
    SubmitOptions child_options = options;
    child_options.parent_run_id = parent_id;
    child_options.tags[kAssignmentTag] = Join(assignments[i], " ");
    if (specs[i].run_name.empty()) specs[i].run_name = parent.info.run_name + "-" + std::to_string(i + 1);
    Result<SubmittedRun> child = service.Submit(specs[i], child_options);
    if (!child.ok()) {
      submit_error = Status(child.status().code(), "run " + std::to_string(i + 1) + " of " +
                                                       std::to_string(specs.size()) +
                                                       " could not be submitted (no more were): " +
                                                       child.status().message());
      (void)tracking.SetTag(parent_id, {"kiln.error", submit_error.message().substr(0, 5000)});
      break;
    }
    child_ids.push_back(child->run_id);
    launch.children.push_back(*child);
  }
  // The parent ends when its last child does (at once when none was submitted).
  service.AfterRuns(child_ids, [&tracking, &clock, parent_id](const std::vector<RunOutcome>&) {
    Result<SweepSummary> summary = SummarizeSweep(tracking, parent_id);
    std::vector<tracking::RunTag> tags;
    std::vector<tracking::Metric> metrics;
    if (summary.ok() && summary->best) {
      tags.push_back({"kiln.sweep.best_run_id", summary->best->run_id});
      metrics.push_back({"best_" + summary->metric, *summary->best->metric, clock.NowMillis(), 0});
    }
    (void)tracking.LogBatch(parent_id, metrics, {}, tags);
    tracking::UpdateRunRequest end;
    end.status = summary.ok() && summary->finished > 0 ? tracking::RunStatus::kFinished : tracking::RunStatus::kFailed;
    end.end_time = clock.NowMillis();
    (void)tracking.UpdateRun(parent_id, end);
  });
  if (!submit_error.ok()) {
    return Status(submit_error.code(), "sweep " + parent_id + " launched " + std::to_string(launch.children.size()) +
                                           " of " + std::to_string(specs.size()) + " runs: " + submit_error.message());
  }
  return launch;
}

Result<SweepSummary> SummarizeSweep(tracking::TrackingStore& tracking, const std::string& parent_run_id) {
  KILN_ASSIGN_OR_RETURN(tracking::Run parent, tracking.GetRun(parent_run_id));
  SweepSummary summary;
  summary.parent_run_id = parent_run_id;
  for (const tracking::RunTag& tag : parent.data.tags) {
    if (tag.key == "kiln.sweep.metric") summary.metric = tag.value;
    if (tag.key == "kiln.sweep.goal") summary.maximize = tag.value != "minimize";
  }
  if (summary.metric.empty()) return InvalidArgument("run " + parent_run_id + " is not a sweep's parent run");
  tracking::SearchRunsRequest search;
  search.experiment_ids = {parent.info.experiment_id};
  search.filter = "tags.mlflow.parentRunId = '" + parent_run_id + "'";
  search.max_results = 1000;
  do {
    KILN_ASSIGN_OR_RETURN(tracking::RunPage page, tracking.SearchRuns(search));
    for (const tracking::Run& run : page.runs) {
      SweepChild child;
      child.run_id = run.info.run_id;
      child.run_name = run.info.run_name;
      child.status = std::string(tracking::RunStatusName(run.info.status));
      for (const tracking::Metric& metric : run.data.metrics) {
        if (metric.key == summary.metric && std::isfinite(metric.value)) child.metric = metric.value;
      }
      for (const tracking::RunTag& tag : run.data.tags) {
        if (tag.key == kAssignmentTag) child.assignment = SplitOn(tag.value, ' ');
      }
      if (run.info.status == tracking::RunStatus::kFinished) {
        ++summary.finished;
      } else if (run.info.status == tracking::RunStatus::kRunning ||
                 run.info.status == tracking::RunStatus::kScheduled) {
        ++summary.running;
      } else {
        ++summary.failed;
      }
      summary.children.push_back(std::move(child));
    }
    search.page_token = page.next_page_token;
  } while (!search.page_token.empty());
  const bool maximize = summary.maximize;
  std::stable_sort(summary.children.begin(), summary.children.end(), [maximize](const SweepChild& a, const SweepChild& b) {
    if (a.metric.has_value() != b.metric.has_value()) return a.metric.has_value();
    if (!a.metric) return a.run_name < b.run_name;
    return maximize ? *a.metric > *b.metric : *a.metric < *b.metric;
  });
  if (!summary.children.empty() && summary.children.front().metric &&
      summary.children.front().status == "FINISHED") {
    summary.best = summary.children.front();
  }
  return summary;
}

Json SweepSummaryToJson(const SweepSummary& summary) {
  Json children = Json::array();
  for (const SweepChild& child : summary.children) {
    Json item = {{"run_id", child.run_id},
                 {"run_name", child.run_name},
                 {"status", child.status},
                 {"assignment", child.assignment}};
    item["metric"] = child.metric ? Json(*child.metric) : Json(nullptr);
    children.push_back(std::move(item));
  }
  Json json = {{"parent_run_id", summary.parent_run_id},
               {"metric", summary.metric},
               {"goal", summary.maximize ? "maximize" : "minimize"},
               {"finished", summary.finished},
               {"failed", summary.failed},
               {"running", summary.running},
               {"children", std::move(children)}};
  json["best_run_id"] = summary.best ? Json(summary.best->run_id) : Json(nullptr);
  json["best_metric"] = summary.best ? Json(*summary.best->metric) : Json(nullptr);
  return json;
}

}  // namespace kiln::training
