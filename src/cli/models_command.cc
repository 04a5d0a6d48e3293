// kiln models list|show and kiln models alias set|delete.
#include <iostream>

#include "cli/command_context.h"
#include "cli/json_view.h"
#include "cli/table.h"

namespace kiln::cli {
namespace {

std::string AliasesOf(const Json& object) {
  std::string out;
  for (const Json& a : Array(object, "aliases")) {
    if (!out.empty()) out += ",";
    out += a.is_string() ? a.get<std::string>() : Str(a, "alias") + "→v" + Str(a, "version");
  }
  return out.empty() ? "-" : out;
}

Status ListModels(CommandContext& context, const std::string& filter) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  Json all = Json::array();
  std::string token;
  do {
    Json request = {{"max_results", 1000}};
    if (!filter.empty()) request["filter"] = filter;
    if (!token.empty()) request["page_token"] = token;
    KILN_ASSIGN_OR_RETURN(Json page, api->Call("GET", "/api/2.0/mlflow/registered-models/search", request));
    for (const Json& m : Array(page, "registered_models")) all.push_back(m);
    token = Str(page, "next_page_token");
  } while (!token.empty());
  if (context.json) {
    PrintJson({{"registered_models", all}});
    return Status::Ok();
  }
  Table table({"NAME", "LATEST", "ALIASES", "UPDATED", "DESCRIPTION"});
  for (const Json& m : all) {
    int64_t latest = 0;
    for (const Json& v : Array(m, "latest_versions")) latest = std::max(latest, Int(v, "version"));
    table.AddRow({Str(m, "name"), latest > 0 ? std::to_string(latest) : "-", AliasesOf(m),
                  FormatTime(Int(m, "last_updated_timestamp")), Str(m, "description")});
  }
  std::cout << table.Render();
  return Status::Ok();
}

Status ShowModel(CommandContext& context, const std::string& name) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  KILN_ASSIGN_OR_RETURN(Json model, api->Call("GET", "/api/2.0/mlflow/registered-models/get", {{"name", name}}));
  std::string escaped;
  for (char c : name) {
    if (c == '\'') escaped += '\\';
    escaped += c;
  }
  Json versions = Json::array();
  std::string token;
  do {
    Json request = {{"filter", "name='" + escaped + "'"}, {"max_results", 1000}};
    if (!token.empty()) request["page_token"] = token;
    KILN_ASSIGN_OR_RETURN(Json page, api->Call("GET", "/api/2.0/mlflow/model-versions/search", request));
    for (const Json& v : Array(page, "model_versions")) versions.push_back(v);
    token = Str(page, "next_page_token");
  } while (!token.empty());
  if (context.json) {
    PrintJson({{"registered_model", model["registered_model"]}, {"model_versions", versions}});
    return Status::Ok();
  }
  const Json& m = model["registered_model"];
  std::cout << "model        " << Str(m, "name") << "\n"
            << "description  " << Str(m, "description") << "\n"
            << "aliases      " << AliasesOf(m) << "\n"
            << "updated      " << FormatTime(Int(m, "last_updated_timestamp")) << "\n\n";
  Table table({"VERSION", "ALIASES", "STATUS", "RUN", "CREATED", "SOURCE"});
  for (const Json& v : versions) {
    table.AddRow({Str(v, "version"), AliasesOf(v), Str(v, "status"), Str(v, "run_id"),
                  FormatTime(Int(v, "creation_timestamp")), Str(v, "source")});
  }
  std::cout << table.Render();
  return Status::Ok();
}

}  // namespace

void AddModelsCommand(CLI::App& root, CommandContext& context) {
  CLI::App* models = root.add_subcommand("models", "Model registry: models, versions, aliases");
  models->require_subcommand(1);

  auto filter = std::make_shared<std::string>();
  CLI::App* list = models->add_subcommand("list", "List registered models");
  list->add_option("--filter", *filter, "e.g. \"name LIKE 'fraud%'\"");
  context.AddTargetOptions(list);
  context.AddJsonOption(list);
  list->callback([&context, filter] {
    Status status = ListModels(context, *filter);
    if (!status.ok()) context.Fail(status);
  });

  auto name = std::make_shared<std::string>();
  CLI::App* show = models->add_subcommand("show", "Show a model, its versions and aliases");
  show->add_option("name", *name, "Registered model name")->required();
  context.AddTargetOptions(show);
  context.AddJsonOption(show);
  show->callback([&context, name] {
    Status status = ShowModel(context, *name);
    if (!status.ok()) context.Fail(status);
  });

  CLI::App* alias = models->add_subcommand("alias", "Set or delete an alias such as champion");
  alias->require_subcommand(1);
  auto alias_model = std::make_shared<std::string>();
  auto alias_name = std::make_shared<std::string>();
  auto alias_version = std::make_shared<std::string>();
  CLI::App* set = alias->add_subcommand("set", "Point ALIAS at VERSION (moves it if it exists)");
  set->add_option("model", *alias_model, "Registered model name")->required();
  set->add_option("alias", *alias_name, "Alias, e.g. champion")->required();
  set->add_option("version", *alias_version, "Version number")->required();
  context.AddTargetOptions(set);
  set->callback([&context, alias_model, alias_name, alias_version] {
    auto api = context.Client();
    Status status = api.status();
    if (api.ok()) {
      status = (*api)
                   ->Call("POST", "/api/2.0/mlflow/registered-models/alias",
                          {{"name", *alias_model}, {"alias", *alias_name}, {"version", *alias_version}})
                   .status();
    }
    if (!status.ok()) return context.Fail(status);
    std::cout << *alias_model << "@" << *alias_name << " -> version " << *alias_version << "\n";
  });
  CLI::App* remove = alias->add_subcommand("delete", "Delete an alias");
  remove->add_option("model", *alias_model, "Registered model name")->required();
  remove->add_option("alias", *alias_name, "Alias")->required();
  context.AddTargetOptions(remove);
  remove->callback([&context, alias_model, alias_name] {
    auto api = context.Client();
    Status status = api.status();
    if (api.ok()) {
      status = (*api)
                   ->Call("DELETE", "/api/2.0/mlflow/registered-models/alias",
                          {{"name", *alias_model}, {"alias", *alias_name}})
                   .status();
    }
    if (!status.ok()) return context.Fail(status);
    std::cout << "deleted alias " << *alias_model << "@" << *alias_name << "\n";
  });
  AddModelGuardrailCommands(models, context);
}

}  // namespace kiln::cli
