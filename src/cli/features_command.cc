// kiln features plan|apply|list|services|functions, and the data-plane
// subcommands of features_data_command.cc. Definitions are read from the
// YAML folder here, on the client: sources are resolved (columns, absolute
// paths) where their files are, and the self-contained JSON form goes to the
// API, so a remote server stores exactly what was planned.
#include <iostream>

#include "cli/features_command.h"
#include "cli/json_view.h"
#include "cli/table.h"
#include "features/definition_json.h"
#include "features/definition_loader.h"
#include "features/repository.h"
#include "features/source_schema.h"

namespace kiln::cli {
namespace {

Result<Json> LoadDefinitions(const std::string& directory) {
  KILN_ASSIGN_OR_RETURN(features::RepositoryDef def, features::LoadRepositoryDir(directory));
  std::string root = def.root;
  KILN_ASSIGN_OR_RETURN(auto repository,
                        features::Repository::Build(std::move(def), features::DefaultSchemaResolver(root)));
  return features::RepositoryToJson(repository->def());
}

std::string ChangeMark(const std::string& change) {
  if (change == "added") return "+";
  if (change == "removed") return "-";
  return "~";
}

void PrintChanges(const Json& plan) {
  const Json& changes = Array(plan, "changes");
  if (changes.empty()) {
    std::cout << "no changes: project '" << Str(plan, "project") << "' is at version "
              << Int(plan, "current_version") << "\n";
    return;
  }
  Table table({"", "KIND", "NAME", "CHANGE", "BREAKING", "REASON"});
  int added = 0, changed = 0, removed = 0, breaking = 0;
  for (const Json& change : changes) {
    std::string kind = Str(change, "change");
    added += kind == "added";
    changed += kind == "changed";
    removed += kind == "removed";
    bool is_breaking = change.value("breaking", false);
    breaking += is_breaking;
    table.AddRow({ChangeMark(kind), Str(change, "kind"), Str(change, "name"), kind, is_breaking ? "yes" : "",
                  Str(change, "reason")});
  }
  std::cout << table.Render() << "\n"
            << added << " added, " << changed << " changed, " << removed << " removed";
  if (breaking > 0) std::cout << " (" << breaking << " breaking)";
  std::cout << "\n";
}

Status Plan(CommandContext& context, const std::string& directory) {
  KILN_ASSIGN_OR_RETURN(Json definitions, LoadDefinitions(directory));
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  KILN_ASSIGN_OR_RETURN(Json plan, api->Call("POST", "/api/features/plan", {{"repository", definitions}}));
  if (context.json) {
    PrintJson(plan);
    return Status::Ok();
  }
  std::cout << "project '" << Str(plan, "project") << "', applied version " << Int(plan, "current_version")
            << "\n";
  PrintChanges(plan);
  return Status::Ok();
}

Status Apply(CommandContext& context, const std::string& directory) {
  KILN_ASSIGN_OR_RETURN(Json definitions, LoadDefinitions(directory));
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  KILN_ASSIGN_OR_RETURN(Json result, api->Call("POST", "/api/features/apply", {{"repository", definitions}}));
  if (context.json) {
    PrintJson(result);
    return Status::Ok();
  }
  if (!result.value("applied", false)) {
    PrintChanges(result);
    return Status::Ok();
  }
  PrintChanges(result);
  std::cout << "applied: project '" << Str(result, "project") << "' is now at version " << Int(result, "version")
            << "\n";
  for (const Json& service : Array(result, "services")) {
    std::cout << "feature service " << Str(service, "name") << " → version " << Int(service, "version") << "\n";
  }
  return Status::Ok();
}

Status List(CommandContext& context, const std::string& project) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  Json request = Json::object();
  if (!project.empty()) request["project"] = project;
  KILN_ASSIGN_OR_RETURN(Json response, api->Call("GET", "/api/features/views", request));
  if (context.json) {
    PrintJson(response);
    return Status::Ok();
  }
  Table table({"FEATURE", "TYPE", "DEFINITION", "VIEW KEYS", "TTL"});
  for (const Json& view : Array(response, "views")) {
    std::string keys;
    for (const Json& key : Array(view, "join_keys")) keys += (keys.empty() ? "" : ",") + key.get<std::string>();
    if (Str(view, "kind") == "on_demand_view") keys = "(on demand)";
    for (const Json& feature : Array(view, "features")) {
      std::string definition = Str(feature, "expression");
      if (feature.contains("aggregation")) {
        const Json& aggregation = feature["aggregation"];
        definition = Str(aggregation, "function") + "(" + Str(aggregation, "column") + ") over " +
                     Str(aggregation, "window");
      }
      table.AddRow({Str(view, "name") + "." + Str(feature, "name"), Str(feature, "type"), definition, keys,
                    Str(view, "ttl").empty() ? "-" : Str(view, "ttl")});
    }
  }
  std::cout << table.Render();
  return Status::Ok();
}

Status Services(CommandContext& context, const std::string& project, const std::string& name) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  Json request = Json::object();
  if (!project.empty()) request["project"] = project;
  if (!name.empty()) request["name"] = name;
  KILN_ASSIGN_OR_RETURN(Json response, api->Call("GET", "/api/features/services", request));
  if (context.json) {
    PrintJson(response);
    return Status::Ok();
  }
  if (!name.empty()) {
    for (const Json& service : Array(response, "services")) {
      std::cout << "feature service " << Str(service, "name") << " version " << Int(service, "version")
                << " (definitions v" << Int(service, "repository_version") << ", "
                << FormatTime(Int(service, "created_timestamp")) << ")\n";
      Table table({"FEATURE", "TYPE"});
      for (const Json& feature : Array(service, "features")) {
        table.AddRow({Str(feature, "name"), Str(feature, "type")});
      }
      std::cout << table.Render() << "\n";
    }
    return Status::Ok();
  }
  Table table({"SERVICE", "VERSION", "FEATURES", "CREATED", "DESCRIPTION"});
  for (const Json& service : Array(response, "services")) {
    table.AddRow({Str(service, "name"), std::to_string(Int(service, "version")),
                  std::to_string(Array(service, "features").size()), FormatTime(Int(service, "created_timestamp")),
                  Str(service, "description")});
  }
  std::cout << table.Render();
  return Status::Ok();
}

Status Functions(CommandContext& context) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  KILN_ASSIGN_OR_RETURN(Json response, api->Call("GET", "/api/features/functions", Json::object()));
  if (context.json) {
    PrintJson(response);
    return Status::Ok();
  }
  Table table({"SIGNATURE", "DESCRIPTION"});
  for (const Json& function : Array(response, "functions")) {
    table.AddRow({Str(function, "signature"), Str(function, "description")});
  }
  std::cout << table.Render();
  return Status::Ok();
}

}  // namespace

void AddFeaturesCommand(CLI::App& root, CommandContext& context) {
  CLI::App* features = root.add_subcommand(
      "features", "Feature store: definitions, training sets, materialization, online reads, push");
  features->require_subcommand(1);

  auto directory = std::make_shared<std::string>(".");
  CLI::App* plan = features->add_subcommand("plan", "Show what applying a feature repository folder would change");
  plan->add_option("directory", *directory, "Folder of YAML definitions")->capture_default_str();
  context.AddTargetOptions(plan);
  context.AddJsonOption(plan);
  BindCommand(plan, context, [&context, directory] { return Plan(context, *directory); });

  auto apply_directory = std::make_shared<std::string>(".");
  CLI::App* apply = features->add_subcommand("apply", "Register a new version of a feature repository folder");
  apply->add_option("directory", *apply_directory, "Folder of YAML definitions")->capture_default_str();
  context.AddTargetOptions(apply);
  context.AddJsonOption(apply);
  BindCommand(apply, context, [&context, apply_directory] { return Apply(context, *apply_directory); });

  auto project = std::make_shared<std::string>();
  CLI::App* list = features->add_subcommand("list", "List features with their types and definitions");
  list->add_option("--project", *project, "Feature project (default: the only one)");
  context.AddTargetOptions(list);
  context.AddJsonOption(list);
  BindCommand(list, context, [&context, project] { return List(context, *project); });

  auto services_project = std::make_shared<std::string>();
  auto service_name = std::make_shared<std::string>();
  CLI::App* services = features->add_subcommand("services", "List feature services, or one service's versions");
  services->add_option("name", *service_name, "A feature service: show its versions and features");
  services->add_option("--project", *services_project, "Feature project (default: the only one)");
  context.AddTargetOptions(services);
  context.AddJsonOption(services);
  BindCommand(services, context,
       [&context, services_project, service_name] { return Services(context, *services_project, *service_name); });

  CLI::App* functions = features->add_subcommand("functions", "Functions of the feature expression language");
  context.AddTargetOptions(functions);
  context.AddJsonOption(functions);
  BindCommand(functions, context, [&context] { return Functions(context); });

  AddFeatureDataCommands(features, context);
  AddSkewCommand(features, context);
}

}  // namespace kiln::cli
