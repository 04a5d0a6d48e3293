// kiln runs list|show|compare.
#include <iostream>
#include <map>
#include <set>

#include "cli/command_context.h"
#include "cli/json_view.h"
#include "cli/table.h"

namespace kiln::cli {
namespace {

struct ListFlags {
  std::string project;
  std::string filter;
  std::vector<std::string> order_by;
  int max_results = 100;
  std::string view = "ACTIVE_ONLY";
};

Result<std::string> ProjectId(ApiClient& api, const std::string& project) {
  auto found = api.Call("GET", "/api/2.0/mlflow/experiments/get-by-name", {{"experiment_name", project}});
  if (found.ok()) return Str((*found)["experiment"], "experiment_id");
  // Accept a numeric id as well as a name.
  if (!project.empty() && project.find_first_not_of("0123456789") == std::string::npos) return project;
  return NotFound("no project named '" + project + "' (see 'kiln projects list')");
}

std::string RunName(const Json& run) {
  std::string name = Str(run["info"], "run_name");
  if (!name.empty()) return name;
  for (const Json& tag : Array(run["data"], "tags")) {
    if (Str(tag, "key") == "mlflow.runName") return Str(tag, "value");
  }
  return "";
}

Status ListRuns(CommandContext& context, const ListFlags& flags) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  KILN_ASSIGN_OR_RETURN(std::string project_id, ProjectId(*api, flags.project));
  Json request = {{"experiment_ids", Json::array({project_id})},
                  {"max_results", flags.max_results},
                  {"run_view_type", flags.view}};
  if (!flags.filter.empty()) request["filter"] = flags.filter;
  if (!flags.order_by.empty()) request["order_by"] = flags.order_by;
  KILN_ASSIGN_OR_RETURN(Json page, api->Call("POST", "/api/2.0/mlflow/runs/search", request));
  if (context.json) {
    PrintJson(page);
    return Status::Ok();
  }
  const Json& runs = Array(page, "runs");
  // Show the metrics the runs have in common as columns (at most four).
  std::map<std::string, int> metric_counts;
  for (const Json& run : runs) {
    for (const Json& m : Array(run["data"], "metrics")) ++metric_counts[Str(m, "key")];
  }
  std::vector<std::string> metric_columns;
  for (const auto& [key, count] : metric_counts) {
    if (metric_columns.size() < 4) metric_columns.push_back(key);
  }
  std::vector<std::string> headers = {"RUN ID", "NAME", "STATUS", "STARTED", "DURATION"};
  for (const auto& key : metric_columns) headers.push_back(key);
  Table table(headers);
  for (const Json& run : runs) {
    const Json& info = run["info"];
    int64_t start = Int(info, "start_time");
    int64_t end = Int(info, "end_time");
    std::vector<std::string> row = {Str(info, "run_id"), RunName(run), Str(info, "status"), FormatTime(start),
                                    end > 0 ? FormatDuration(end - start) : "-"};
    for (const auto& key : metric_columns) {
      std::string cell = "-";
      for (const Json& m : Array(run["data"], "metrics")) {
        if (Str(m, "key") == key) cell = FormatNumber(Number(m, "value"));
      }
      row.push_back(cell);
    }
    table.AddRow(row);
  }
  std::cout << table.Render();
  if (!Str(page, "next_page_token").empty()) {
    std::cout << "(more runs: raise --max-results or narrow --filter)\n";
  }
  return Status::Ok();
}

Result<Json> GetRun(ApiClient& api, const std::string& run_id) {
  KILN_ASSIGN_OR_RETURN(Json response, api.Call("GET", "/api/2.0/mlflow/runs/get", {{"run_id", run_id}}));
  return response["run"];
}

Status ShowRun(CommandContext& context, const std::string& run_id) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  KILN_ASSIGN_OR_RETURN(Json run, GetRun(*api, run_id));
  if (context.json) {
    PrintJson({{"run", run}});
    return Status::Ok();
  }
  const Json& info = run["info"];
  std::cout << "run        " << Str(info, "run_id") << "\n"
            << "name       " << RunName(run) << "\n"
            << "project    " << Str(info, "experiment_id") << "\n"
            << "status     " << Str(info, "status") << "\n"
            << "started    " << FormatTime(Int(info, "start_time")) << "\n"
            << "ended      " << FormatTime(Int(info, "end_time")) << "\n"
            << "artifacts  " << Str(info, "artifact_uri") << "\n";
  Table params({"PARAM", "VALUE"});
  for (const Json& p : Array(run["data"], "params")) params.AddRow({Str(p, "key"), Str(p, "value")});
  if (!params.empty()) std::cout << "\n" << params.Render();
  Table metrics({"METRIC", "VALUE", "STEP"});
  for (const Json& m : Array(run["data"], "metrics")) {
    metrics.AddRow({Str(m, "key"), FormatNumber(Number(m, "value")), std::to_string(Int(m, "step"))});
  }
  if (!metrics.empty()) std::cout << "\n" << metrics.Render();
  Table tags({"TAG", "VALUE"});
  for (const Json& t : Array(run["data"], "tags")) tags.AddRow({Str(t, "key"), Str(t, "value")});
  if (!tags.empty()) std::cout << "\n" << tags.Render();
  return Status::Ok();
}

Status CompareRuns(CommandContext& context, const std::vector<std::string>& run_ids) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  std::vector<Json> runs;
  for (const std::string& id : run_ids) {
    KILN_ASSIGN_OR_RETURN(Json run, GetRun(*api, id));
    runs.push_back(std::move(run));
  }
  // key -> value per run ("" when the run lacks it).
  std::map<std::string, std::vector<std::string>> rows;
  auto put = [&](const std::string& key, size_t index, const std::string& value) {
    auto& cells = rows[key];
    cells.resize(runs.size());
    cells[index] = value;
  };
  for (size_t i = 0; i < runs.size(); ++i) {
    put("name", i, RunName(runs[i]));
    put("status", i, Str(runs[i]["info"], "status"));
    for (const Json& p : Array(runs[i]["data"], "params")) put("params." + Str(p, "key"), i, Str(p, "value"));
    for (const Json& m : Array(runs[i]["data"], "metrics")) {
      put("metrics." + Str(m, "key"), i, FormatNumber(Number(m, "value")));
    }
  }
  Json json_rows = Json::array();
  std::vector<std::string> headers = {"", "KEY"};
  for (const Json& run : runs) headers.push_back(Str(run["info"], "run_id").substr(0, 8));
  Table table(headers);
  for (auto& [key, cells] : rows) {
    cells.resize(runs.size());
    bool differs = std::set<std::string>(cells.begin(), cells.end()).size() > 1;
    std::vector<std::string> row = {differs ? "*" : "", key};
    for (const auto& cell : cells) row.push_back(cell.empty() ? "-" : cell);
    table.AddRow(row);
    json_rows.push_back({{"key", key}, {"values", cells}, {"differs", differs}});
  }
  if (context.json) {
    PrintJson({{"run_ids", run_ids}, {"rows", json_rows}});
  } else {
    std::cout << table.Render() << "(* marks values that differ between runs)\n";
  }
  return Status::Ok();
}

}  // namespace

void AddRunsCommand(CLI::App& root, CommandContext& context) {
  CLI::App* runs = root.add_subcommand("runs", "Training runs: list, show, compare, cancel, reproduce, queue");
  runs->require_subcommand(1);

  auto flags = std::make_shared<ListFlags>();
  CLI::App* list = runs->add_subcommand("list", "List a project's runs");
  list->add_option("--project", flags->project, "Project name or id")->required();
  list->add_option("--filter", flags->filter, "MLflow filter, e.g. \"metrics.auc > 0.8 AND params.depth = '6'\"");
  list->add_option("--order-by", flags->order_by, "e.g. \"metrics.auc DESC\" (repeatable)");
  list->add_option("--max-results", flags->max_results, "Page size")->capture_default_str();
  list->add_option("--view", flags->view, "ACTIVE_ONLY, DELETED_ONLY or ALL")
      ->check(CLI::IsMember({"ACTIVE_ONLY", "DELETED_ONLY", "ALL"}));
  context.AddTargetOptions(list);
  context.AddJsonOption(list);
  list->callback([&context, flags] {
    Status status = ListRuns(context, *flags);
    if (!status.ok()) context.Fail(status);
  });

  auto run_id = std::make_shared<std::string>();
  CLI::App* show = runs->add_subcommand("show", "Show one run: info, params, metrics, tags");
  show->add_option("run", *run_id, "Run id")->required();
  context.AddTargetOptions(show);
  context.AddJsonOption(show);
  show->callback([&context, run_id] {
    Status status = ShowRun(context, *run_id);
    if (!status.ok()) context.Fail(status);
  });

  auto run_ids = std::make_shared<std::vector<std::string>>();
  CLI::App* compare = runs->add_subcommand("compare", "Params and metrics of runs side by side");
  compare->add_option("runs", *run_ids, "Run ids")->required()->expected(1, -1);
  context.AddTargetOptions(compare);
  context.AddJsonOption(compare);
  compare->callback([&context, run_ids] {
    Status status = CompareRuns(context, *run_ids);
    if (!status.ok()) context.Fail(status);
  });
  AddTrainingRunCommands(runs, context);
}

}  // namespace kiln::cli
