// kiln projects list|create (MLflow calls projects "experiments").
#include <iostream>

#include "cli/command_context.h"
#include "cli/json_view.h"
#include "cli/table.h"

namespace kiln::cli {
namespace {

Status ListProjects(CommandContext& context, const std::string& view) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  Json all = Json::array();
  std::string token;
  do {
    Json request = {{"max_results", 1000}, {"view_type", view}};
    if (!token.empty()) request["page_token"] = token;
    KILN_ASSIGN_OR_RETURN(Json page, api->Call("POST", "/api/2.0/mlflow/experiments/search", request));
    for (const Json& e : Array(page, "experiments")) all.push_back(e);
    token = Str(page, "next_page_token");
  } while (!token.empty());
  if (context.json) {
    PrintJson({{"projects", all}});
    return Status::Ok();
  }
  Table table({"ID", "NAME", "STAGE", "CREATED", "ARTIFACTS"});
  for (const Json& e : all) {
    table.AddRow({Str(e, "experiment_id"), Str(e, "name"), Str(e, "lifecycle_stage"),
                  FormatTime(Int(e, "creation_time")), Str(e, "artifact_location")});
  }
  std::cout << table.Render();
  return Status::Ok();
}

Status CreateProject(CommandContext& context, const std::string& name, const std::string& location) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  Json request = {{"name", name}};
  if (!location.empty()) request["artifact_location"] = location;
  KILN_ASSIGN_OR_RETURN(Json created, api->Call("POST", "/api/2.0/mlflow/experiments/create", request));
  if (context.json) {
    PrintJson(created);
  } else {
    std::cout << "created project '" << name << "' (id " << Str(created, "experiment_id") << ")\n";
  }
  return Status::Ok();
}

}  // namespace

void AddProjectsCommand(CLI::App& root, CommandContext& context) {
  CLI::App* projects = root.add_subcommand("projects", "Projects: named groups of runs (MLflow experiments)");
  projects->require_subcommand(1);

  CLI::App* list = projects->add_subcommand("list", "List projects");
  auto view = std::make_shared<std::string>("ACTIVE_ONLY");
  list->add_option("--view", *view, "ACTIVE_ONLY, DELETED_ONLY or ALL")
      ->check(CLI::IsMember({"ACTIVE_ONLY", "DELETED_ONLY", "ALL"}));
  context.AddTargetOptions(list);
  context.AddJsonOption(list);
  list->callback([&context, view] {
    Status status = ListProjects(context, *view);
    if (!status.ok()) context.Fail(status);
  });

  CLI::App* create = projects->add_subcommand("create", "Create a project");
  auto name = std::make_shared<std::string>();
  auto location = std::make_shared<std::string>();
  create->add_option("name", *name, "Project name")->required();
  create->add_option("--artifact-location", *location, "Where the project's artifacts go");
  context.AddTargetOptions(create);
  context.AddJsonOption(create);
  create->callback([&context, name, location] {
    Status status = CreateProject(context, *name, *location);
    if (!status.ok()) context.Fail(status);
  });
}

}  // namespace kiln::cli
