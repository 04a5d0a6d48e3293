// kiln models register|promote|history|promotions and kiln stats: the
// registry's guardrails and iteration statistics, over /api/models and
// /api/stats.
#include <iostream>

#include "cli/command_context.h"
#include "cli/features_command.h"
#include "cli/json_view.h"
#include "cli/table.h"

namespace kiln::cli {
namespace {

struct PromoteFlags {
  std::string name;
  std::string alias = "champion";
  std::string candidate;
  std::string metric;
  double tolerance = 0;
  double latency_budget_ms = 5;
};

std::string Version(const Json& value) { return value.is_string() ? value.get<std::string>() : "-"; }

std::string Hours(const Json& millis) {
  if (!millis.is_number()) return "-";
  return FormatDuration(static_cast<int64_t>(millis.get<double>()));
}

Status Register(CommandContext& context, const std::string& run_id, const std::string& name) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  KILN_ASSIGN_OR_RETURN(Json response, api->Call("POST", "/api/models/register", {{"run_id", run_id}, {"name", name}}));
  if (context.json) {
    PrintJson(response);
  } else {
    const Json& version = response["model_version"];
    std::cout << "registered " << Str(version, "name") << " version " << Str(version, "version") << " from run "
              << run_id << "\n";
  }
  return Status::Ok();
}

Status Promote(CommandContext& context, const PromoteFlags& flags) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  Json request = {{"name", flags.name},
                  {"alias", flags.alias},
                  {"candidate", flags.candidate},
                  {"tolerance", flags.tolerance},
                  {"latency_budget_ms", flags.latency_budget_ms}};
  if (!flags.metric.empty()) request["metric"] = flags.metric;
  KILN_ASSIGN_OR_RETURN(Json response, api->Call("POST", "/api/models/promote", request));
  const bool accepted = response.value("accepted", false);
  if (context.json) {
    PrintJson(response);
  } else {
    Table table({"CHECK", "RESULT", "DETAIL"});
    for (const Json& check : Array(response["promotion"], "checks")) {
      table.AddRow({Str(check, "name"), check.value("passed", false) ? "passed" : "FAILED", Str(check, "detail")});
    }
    std::cout << table.Render();
    const Json& promotion = response["promotion"];
    if (accepted) {
      std::cout << flags.name << "@" << flags.alias << " -> version " << flags.candidate << " (was "
                << Version(promotion["previous_version"]) << ")\n";
    } else {
      std::cout << "promotion refused; " << flags.name << "@" << flags.alias << " stays at version "
                << Version(promotion["previous_version"]) << "\n";
    }
  }
  if (!accepted) return FailedPrecondition(Str(response, "summary"));
  return Status::Ok();
}

Status History(CommandContext& context, const std::string& name, const std::string& alias) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  Json query = {{"name", name}};
  if (!alias.empty()) query["alias"] = alias;
  KILN_ASSIGN_OR_RETURN(Json response, api->Call("GET", "/api/models/alias-history", query));
  if (context.json) {
    PrintJson(response);
    return Status::Ok();
  }
  Table table({"WHEN", "ALIAS", "FROM", "TO", "WHO", "WHY"});
  for (const Json& move : Array(response, "moves")) {
    table.AddRow({FormatTime(Int(move, "timestamp")), Str(move, "alias"), Version(move["from_version"]),
                  Version(move["to_version"]), Str(move, "actor").empty() ? "-" : Str(move, "actor"),
                  Str(move, "reason").empty() ? "-" : Str(move, "reason")});
  }
  std::cout << table.Render();
  return Status::Ok();
}

Status Promotions(CommandContext& context, const std::string& name) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  KILN_ASSIGN_OR_RETURN(Json response, api->Call("GET", "/api/models/promotions", {{"name", name}}));
  if (context.json) {
    PrintJson(response);
    return Status::Ok();
  }
  Table table({"WHEN", "CANDIDATE", "ALIAS", "PREVIOUS", "RESULT", "FAILED CHECKS"});
  for (const Json& promotion : Array(response, "promotions")) {
    std::string failed;
    for (const Json& check : Array(promotion, "checks")) {
      if (!check.value("passed", false)) failed += (failed.empty() ? "" : ", ") + Str(check, "name");
    }
    table.AddRow({FormatTime(Int(promotion, "timestamp")), Str(promotion, "candidate_version"),
                  Str(promotion, "alias"), Version(promotion["previous_version"]),
                  promotion.value("accepted", false) ? "accepted" : "refused", failed.empty() ? "-" : failed});
  }
  std::cout << table.Render();
  return Status::Ok();
}

Status Stats(CommandContext& context, const std::string& project, int weeks, const std::string& alias) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  Json query = {{"weeks", weeks}, {"alias", alias}};
  if (!project.empty()) query["project"] = project;
  KILN_ASSIGN_OR_RETURN(Json stats, api->Call("GET", "/api/stats", query));
  if (context.json) {
    PrintJson(stats);
    return Status::Ok();
  }
  std::cout << "model iterations per week: " << FormatNumber(Number(stats, "iterations_per_week")) << " ("
            << Int(stats, "registered_versions") << " versions registered in " << FormatNumber(Number(stats, "weeks"))
            << " weeks)\n";
  std::cout << "promotions to " << alias << " per week: " << FormatNumber(Number(stats, "promotions_per_week")) << " ("
            << Int(stats, "promoted_versions") << ")\n";
  const Json& registration = stats["registration_lead_time"];
  const Json& promotion = stats["promotion_lead_time"];
  std::cout << "median lead time, run start → registered: " << Hours(registration["median_ms"])
            << " (p90 " << Hours(registration["p90_ms"]) << ")\n";
  std::cout << "median lead time, run start → " << alias << ": " << Hours(promotion["median_ms"]) << " (p90 "
            << Hours(promotion["p90_ms"]) << ")\n";
  Table table({"WEEK", "STARTS", "REGISTERED", "PROMOTED"});
  for (const Json& week : Array(stats, "by_week")) {
    table.AddRow({Str(week, "iso_week"), Str(week, "week_start"), std::to_string(Int(week, "registrations")),
                  std::to_string(Int(week, "promotions"))});
  }
  std::cout << table.Render();
  return Status::Ok();
}

}  // namespace

void AddModelGuardrailCommands(CLI::App* models, CommandContext& context) {
  auto run_id = std::make_shared<std::string>();
  auto register_name = std::make_shared<std::string>();
  CLI::App* reg = models->add_subcommand("register", "Register a run's model as a new version");
  reg->add_option("run", *run_id, "Run id")->required();
  reg->add_option("--name", *register_name, "Registered model name (created when missing)")->required();
  context.AddTargetOptions(reg);
  context.AddJsonOption(reg);
  BindCommand(reg, context, [&context, run_id, register_name] { return Register(context, *run_id, *register_name); });

  auto flags = std::make_shared<PromoteFlags>();
  CLI::App* promote = models->add_subcommand("promote", "Move an alias to a version if every promotion check passes");
  promote->add_option("name", flags->name, "Registered model name")->required();
  promote->add_option("--candidate", flags->candidate, "Version to promote")->required();
  promote->add_option("--alias", flags->alias, "Alias to move")->capture_default_str();
  promote->add_option("--metric", flags->metric, "Validation metric compared (default auc, or rmse)");
  promote->add_option("--tolerance", flags->tolerance, "How much worse than the current holder is accepted")
      ->capture_default_str();
  promote->add_option("--latency-budget-ms", flags->latency_budget_ms, "p99 budget of single-row prediction")
      ->capture_default_str();
  context.AddTargetOptions(promote);
  context.AddJsonOption(promote);
  BindCommand(promote, context, [&context, flags] { return Promote(context, *flags); });

  auto history_name = std::make_shared<std::string>();
  auto history_alias = std::make_shared<std::string>();
  CLI::App* history = models->add_subcommand("history", "Alias moves of a model: who, when, from, to");
  history->add_option("name", *history_name, "Registered model name")->required();
  history->add_option("--alias", *history_alias, "Only this alias");
  context.AddTargetOptions(history);
  context.AddJsonOption(history);
  BindCommand(history, context,
              [&context, history_name, history_alias] { return History(context, *history_name, *history_alias); });

  auto promotions_name = std::make_shared<std::string>();
  CLI::App* promotions = models->add_subcommand("promotions", "Promotion attempts of a model and their checks");
  promotions->add_option("name", *promotions_name, "Registered model name")->required();
  context.AddTargetOptions(promotions);
  context.AddJsonOption(promotions);
  BindCommand(promotions, context, [&context, promotions_name] { return Promotions(context, *promotions_name); });
}

void AddStatsCommand(CLI::App& root, CommandContext& context) {
  auto project = std::make_shared<std::string>();
  auto weeks = std::make_shared<int>(8);
  auto alias = std::make_shared<std::string>("champion");
  CLI::App* stats = root.add_subcommand("stats", "Model iterations per week and lead times (per project)");
  stats->add_option("--project", *project, "Project name or id (default: all)");
  stats->add_option("--weeks", *weeks, "Window in weeks, ending now")->capture_default_str();
  stats->add_option("--alias", *alias, "Alias whose moves count as promotions")->capture_default_str();
  context.AddTargetOptions(stats);
  context.AddJsonOption(stats);
  BindCommand(stats, context, [&context, project, weeks, alias] { return Stats(context, *project, *weeks, *alias); });
}

}  // namespace kiln::cli
