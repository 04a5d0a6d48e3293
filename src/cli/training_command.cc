// kiln run | sweep | runs cancel|reproduce|queue | internal train.
// Thin: specs are read here and sent to /api/training; the work is in the
// training module, in this process (--data-dir) or in a server (--server).
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <utility>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli/command_context.h"
#include "cli/features_command.h"
#include "cli/json_view.h"
#include "cli/table.h"
#include "common/progress.h"
#include "training/builtin_trainer.h"
#include "training/builtin_trainer_job.h"

namespace kiln::cli {
namespace {

namespace fs = std::filesystem;

struct SpecFlags {
  std::string spec_file;
  std::vector<std::string> set;
  std::string executor;
  bool detach = false;
};

struct SweepFlags {
  SpecFlags spec;
  std::vector<std::string> grid;
  std::vector<std::string> space;
  int random = 0;
  int64_t seed = 0;
  std::string metric;
  std::string goal;
};

bool IsTerminal(const std::string& status) {
  return status == "FINISHED" || status == "FAILED" || status == "KILLED";
}

// The request fields naming a spec: its text, the folder its relative paths
// are resolved against, and overrides.
Result<Json> SpecRequest(const SpecFlags& flags) {
  std::ifstream in(flags.spec_file);
  if (!in) return NotFound("cannot read run spec '" + flags.spec_file + "'");
  std::stringstream text;
  text << in.rdbuf();
  std::error_code error;
  fs::path absolute = fs::absolute(flags.spec_file, error);
  Json request = {{"spec", text.str()},
                  {"base_dir", absolute.parent_path().string()},
                  {"spec_file", absolute.string()},
                  {"set", flags.set}};
  if (!flags.executor.empty()) request["executor"] = flags.executor;
  return request;
}

std::string Tag(const Json& run, const std::string& key) {
  for (const Json& tag : Array(run["data"], "tags")) {
    if (Str(tag, "key") == key) return Str(tag, "value");
  }
  return "";
}

// The built-in trainer's boosting rounds (done, total) of a running run, from
// the queue listing; {0, 0} when unknown.
std::pair<int64_t, int64_t> RoundsOf(ApiClient& api, const std::string& run_id) {
  Result<Json> queue = api.Call("GET", "/api/training/queue", Json::object());
  if (!queue.ok()) return {0, 0};
  for (const Json& run : Array(*queue, "runs")) {
    if (Str(run, "run_id") == run_id) return {Int(run, "rounds_done"), Int(run, "rounds_total")};
  }
  return {0, 0};
}

// Polls the run until it ends. On a terminal (and not quiet) a progress
// line shows its status and, while the built-in trainer boosts, rounds
// done/total with rate and ETA.
Result<Json> WaitForRun(ApiClient& api, const std::string& run_id, bool quiet) {
  const bool show = !quiet && ::isatty(STDERR_FILENO);
  const auto started = std::chrono::steady_clock::now();
  std::unique_ptr<Progress> rounds;
  while (true) {
    KILN_ASSIGN_OR_RETURN(Json response, api.Call("GET", "/api/2.0/mlflow/runs/get", {{"run_id", run_id}}));
    const Json& run = response["run"];
    std::string status = Str(run["info"], "status");
    if (IsTerminal(status)) {
      if (rounds) rounds->Finish();
      if (show && !rounds) std::cerr << "\r\033[K" << std::flush;
      return run;
    }
    if (show) {
      auto [done, total] = status == "RUNNING" ? RoundsOf(api, run_id) : std::pair<int64_t, int64_t>{0, 0};
      if (total > 0) {
        if (!rounds) {
          std::cerr << "\r\033[K" << std::flush;
          rounds = std::make_unique<Progress>("run " + run_id.substr(0, 8) + " boosting", total, "rounds", false);
        }
        rounds->Set(done);
      } else if (!rounds) {
        auto seconds = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
        std::cerr << "\r\033[Krun " << run_id << "  " << status << "  " << seconds.count() << " s" << std::flush;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(api.is_local() ? 100 : 500));
  }
}

void PrintRunResult(const Json& run) {
  const Json& info = run["info"];
  int64_t start = Int(info, "start_time");
  int64_t end = Int(info, "end_time");
  std::cout << "run " << Str(info, "run_id") << " (" << Str(info, "run_name") << "): " << Str(info, "status");
  if (end > 0) std::cout << " in " << FormatDuration(end - start);
  std::string message = Tag(run, "kiln.message");
  if (!message.empty()) std::cout << " — " << message;
  std::cout << "\n";
  std::string metrics;
  for (const Json& metric : Array(run["data"], "metrics")) {
    std::string key = Str(metric, "key");
    if (key.find('.') != std::string::npos && key.rfind("holdout.", 0) != 0) continue;  // per-iteration curves
    metrics += "  " + key + " " + FormatNumber(Number(metric, "value"));
  }
  if (!metrics.empty()) std::cout << " " << metrics << "\n";
  if (Tag(run, "kiln.trainer") == "xgboost" && Str(info, "status") == "FINISHED") {
    std::cout << "  model: runs:/" << Str(info, "run_id") << "/model\n";
  }
}

Status EndedWell(const Json& run) {
  std::string status = Str(run["info"], "status");
  if (status == "FINISHED") return Status::Ok();
  std::string message = Tag(run, "kiln.message");
  return FailedPrecondition("run " + Str(run["info"], "run_id") + " ended " + status +
                            (message.empty() ? "" : ": " + message) + " (its logs are artifacts logs/stdout.txt and logs/stderr.txt)");
}

Status RunSpecCommand(CommandContext& context, const SpecFlags& flags) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  if (flags.detach && api->is_local()) {
    return InvalidArgument("--detach needs a server (--server URL): without one the run lives in this process");
  }
  KILN_ASSIGN_OR_RETURN(Json request, SpecRequest(flags));
  KILN_ASSIGN_OR_RETURN(Json submitted, api->Call("POST", "/api/training/runs", request));
  const std::string run_id = Str(submitted["run"], "run_id");
  if (flags.detach) {
    if (context.json) {
      PrintJson(submitted);
    } else {
      std::cout << "run " << run_id << " queued on " << Str(submitted["run"], "executor") << "\n";
    }
    return Status::Ok();
  }
  if (!context.quiet && !context.json) {
    std::cerr << "run " << run_id << " queued (code " << Str(submitted["run"], "code_digest").substr(0, 12)
              << ", data " << Str(submitted["run"], "data_digest").substr(0, 12) << ")\n";
  }
  KILN_ASSIGN_OR_RETURN(Json run, WaitForRun(*api, run_id, context.quiet || context.json));
  if (context.json) {
    PrintJson({{"run", run}, {"submitted", submitted["run"]}});
  } else {
    PrintRunResult(run);
  }
  return EndedWell(run);
}

Status CancelCommand(CommandContext& context, const std::string& run_id) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  KILN_ASSIGN_OR_RETURN(Json response, api->Call("POST", "/api/training/runs/cancel", {{"run_id", run_id}}));
  if (context.json) {
    PrintJson(response);
  } else {
    std::cout << "cancelling run " << run_id << "\n";
  }
  return Status::Ok();
}

Status QueueCommand(CommandContext& context) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  KILN_ASSIGN_OR_RETURN(Json response, api->Call("GET", "/api/training/queue", Json::object()));
  if (context.json) {
    PrintJson(response);
    return Status::Ok();
  }
  Table table({"RUN ID", "EXECUTOR", "STATE", "POSITION", "ROUNDS"});
  for (const Json& run : Array(response, "runs")) {
    table.AddRow({Str(run, "run_id"), Str(run, "executor"), Str(run, "state"),
                  Int(run, "position") > 0 ? std::to_string(Int(run, "position")) : "-",
                  Int(run, "rounds_total") > 0
                      ? std::to_string(Int(run, "rounds_done")) + "/" + std::to_string(Int(run, "rounds_total"))
                      : "-"});
  }
  std::cout << table.Render();
  return Status::Ok();
}

Status ReproduceCommand(CommandContext& context, const std::string& run_id) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  KILN_ASSIGN_OR_RETURN(Json submitted, api->Call("POST", "/api/training/runs/reproduce", {{"run_id", run_id}}));
  const std::string new_id = Str(submitted["run"], "run_id");
  if (!context.quiet && !context.json) std::cerr << "reproducing run " << run_id << " as run " << new_id << "\n";
  KILN_ASSIGN_OR_RETURN(Json run, WaitForRun(*api, new_id, context.quiet || context.json));
  KILN_ASSIGN_OR_RETURN(Json report, api->Call("GET", "/api/training/runs/reproduction", {{"run_id", new_id}}));
  if (context.json) {
    PrintJson(report);
  } else {
    PrintRunResult(run);
    const bool identical = report.value("model_identical", false);
    std::cout << (identical ? "model: bit-identical to run " : "model: DIFFERS from run ") << run_id << "\n";
    for (const Json& file : Array(report, "files")) {
      if (Str(file, "path").rfind("model/", 0) == 0) {
        std::cout << "  " << Str(file, "path") << "  " << Str(file, "reproduction_sha256").substr(0, 16)
                  << (file.value("identical", false) ? "  same" : "  differs") << "\n";
      }
    }
    for (const Json& difference : Array(report, "differences")) {
      std::cout << "  differs: " << difference.get<std::string>() << "\n";
    }
  }
  return EndedWell(run);
}

Status SweepCommand(CommandContext& context, const SweepFlags& flags) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  KILN_ASSIGN_OR_RETURN(Json request, SpecRequest(flags.spec));
  request["grid"] = flags.grid;
  request["space"] = flags.space;
  if (flags.random > 0) request["random"] = flags.random;
  request["seed"] = flags.seed;
  if (!flags.metric.empty()) request["metric"] = flags.metric;
  if (!flags.goal.empty()) request["goal"] = flags.goal;
  KILN_ASSIGN_OR_RETURN(Json launched, api->Call("POST", "/api/training/sweeps", request));
  const std::string parent = Str(launched, "parent_run_id");
  const Json& runs = Array(launched, "runs");
  if (!context.quiet && !context.json) {
    std::cerr << "sweep " << parent << ": " << runs.size() << " runs\n";
  }
  {
    Progress progress("sweep", static_cast<int64_t>(runs.size()), "runs", context.quiet || context.json);
    for (const Json& child : runs) {
      KILN_ASSIGN_OR_RETURN(Json run, WaitForRun(*api, Str(child, "run_id"), /*quiet=*/true));
      (void)run;
      progress.Add(1);
    }
    progress.Finish();
  }
  // The parent ends just after its last child.
  KILN_ASSIGN_OR_RETURN(Json parent_run, WaitForRun(*api, parent, true));
  (void)parent_run;
  KILN_ASSIGN_OR_RETURN(Json summary, api->Call("GET", "/api/training/sweeps/summary", {{"parent_run_id", parent}}));
  if (context.json) {
    PrintJson(summary);
    return Status::Ok();
  }
  const std::string metric = Str(summary, "metric");
  Table table({"RUN ID", "NAME", "STATUS", metric, "ASSIGNMENT"});
  for (const Json& child : Array(summary, "children")) {
    std::string assignment;
    for (const Json& item : Array(child, "assignment")) assignment += (assignment.empty() ? "" : " ") + item.get<std::string>();
    table.AddRow({Str(child, "run_id"), Str(child, "run_name"), Str(child, "status"),
                  child["metric"].is_number() ? FormatNumber(child["metric"].get<double>()) : "-", assignment});
  }
  std::cout << table.Render();
  std::cout << "sweep " << parent << ": " << Int(summary, "finished") << " finished, " << Int(summary, "failed")
            << " failed";
  if (summary["best_run_id"].is_string()) {
    std::cout << "; best " << metric << " " << FormatNumber(summary["best_metric"].get<double>()) << " ("
              << Str(summary, "goal") << ") in run " << Str(summary, "best_run_id");
  }
  std::cout << "\n";
  return Int(summary, "finished") > 0 ? Status::Ok() : FailedPrecondition("no run of the sweep finished");
}

// Inside the sandbox: the built-in trainer.
Status InternalTrain(const std::string& job_file, const std::string& out_dir, bool quiet) {
  KILN_ASSIGN_OR_RETURN(training::TrainerJob job, training::ReadTrainerJobFile(job_file));
  const char* progress_file = std::getenv("KILN_PROGRESS_FILE");
  KILN_ASSIGN_OR_RETURN(training::TrainerSummary summary,
                        training::RunBuiltinTrainer(job, out_dir, quiet, progress_file ? progress_file : ""));
  std::cout << "trained " << summary.rounds_trained << " rounds, best iteration " << summary.best_iteration;
  for (const auto& [key, value] : summary.metrics) std::cout << ", " << key << " " << FormatNumber(value);
  std::cout << "\n";
  return Status::Ok();
}

void AddSpecOptions(CLI::App* command, SpecFlags& flags) {
  command->add_option("spec", flags.spec_file, "Run spec (YAML); see docs/training/run-spec.md")->required();
  command->add_option("--set", flags.set, "Override a parameter: NAME=VALUE (repeatable), e.g. --set max_depth=8");
  command->add_option("--executor", flags.executor, "local or slurm (overrides the spec)");
}

}  // namespace

void AddTrainingCommands(CLI::App& root, CommandContext& context) {
  auto run_flags = std::make_shared<SpecFlags>();
  CLI::App* run = root.add_subcommand("run", "Train: snapshot, then run a spec in a sandbox and track it");
  AddSpecOptions(run, *run_flags);
  run->add_flag("--detach", run_flags->detach, "Return once queued (needs --server)");
  context.AddTargetOptions(run);
  context.AddJsonOption(run);
  BindCommand(run, context, [&context, run_flags] { return RunSpecCommand(context, *run_flags); });

  auto sweep_flags = std::make_shared<SweepFlags>();
  CLI::App* sweep = root.add_subcommand("sweep", "Run a grid or random search of a spec as child runs of a parent");
  AddSpecOptions(sweep, sweep_flags->spec);
  sweep->add_option("--grid", sweep_flags->grid, "NAME=V1,V2,… (repeatable): every combination");
  sweep->add_option("--random", sweep_flags->random, "Random search: this many runs drawn from --param");
  sweep->add_option("--param", sweep_flags->space, "NAME=LOW:HIGH[:log][:int] or NAME=V1,V2 (repeatable)");
  sweep->add_option("--seed", sweep_flags->seed, "Seed of the random search")->capture_default_str();
  sweep->add_option("--metric", sweep_flags->metric, "Metric that picks the best run (default auc, or rmse)");
  sweep->add_option("--goal", sweep_flags->goal, "maximize or minimize (default: by the metric)")
      ->check(CLI::IsMember({"maximize", "minimize"}));
  context.AddTargetOptions(sweep);
  context.AddJsonOption(sweep);
  BindCommand(sweep, context, [&context, sweep_flags] { return SweepCommand(context, *sweep_flags); });

  CLI::App* internal = root.add_subcommand("internal", "");  // hidden: used inside run sandboxes
  internal->group("");
  internal->require_subcommand(1);
  auto job_file = std::make_shared<std::string>();
  auto out_dir = std::make_shared<std::string>();
  auto train_quiet = std::make_shared<bool>(false);
  CLI::App* train = internal->add_subcommand("train", "Run the built-in XGBoost trainer on a trainer job");
  train->add_option("--job", *job_file, "Trainer job (JSON)")->required();
  train->add_option("--out", *out_dir, "Output folder")->required();
  train->add_flag("--quiet", *train_quiet, "No progress line");
  BindCommand(train, context, [job_file, out_dir, train_quiet] { return InternalTrain(*job_file, *out_dir, *train_quiet); });
}

void AddTrainingRunCommands(CLI::App* runs, CommandContext& context) {
  auto cancel_id = std::make_shared<std::string>();
  CLI::App* cancel = runs->add_subcommand("cancel", "Stop a queued or running run (it ends KILLED)");
  cancel->add_option("run", *cancel_id, "Run id")->required();
  context.AddTargetOptions(cancel);
  context.AddJsonOption(cancel);
  BindCommand(cancel, context, [&context, cancel_id] { return CancelCommand(context, *cancel_id); });

  auto reproduce_id = std::make_shared<std::string>();
  CLI::App* reproduce =
      runs->add_subcommand("reproduce", "Re-run a run from its snapshot and compare the models bit for bit");
  reproduce->add_option("run", *reproduce_id, "Run id")->required();
  context.AddTargetOptions(reproduce);
  context.AddJsonOption(reproduce);
  BindCommand(reproduce, context, [&context, reproduce_id] { return ReproduceCommand(context, *reproduce_id); });

  CLI::App* queue = runs->add_subcommand("queue", "Runs waiting for or holding an executor slot");
  context.AddTargetOptions(queue);
  context.AddJsonOption(queue);
  BindCommand(queue, context, [&context] { return QueueCommand(context); });
}

}  // namespace kiln::cli
