// kiln features training-set|materialize|online|push|quarantine: the data
// plane of the feature store, through the same JSON API the server serves.
#include <filesystem>
#include <iostream>

#include "cli/command_context.h"
#include "cli/features_command.h"
#include "cli/json_view.h"
#include "cli/table.h"
#include "common/progress.h"
#include "data/csv.h"
#include "server/features_json.h"

namespace kiln::cli {
namespace {

std::string Upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

bool LooksLikeQuery(const std::string& text) {
  std::string head = Upper(text.substr(0, 6));
  return head.rfind("SELECT", 0) == 0 || head.rfind("WITH", 0) == 0;
}

// Rows of a CSV or JSON-lines file as the API's columnar JSON.
Result<Json> FileAsColumns(const std::string& path, const std::string& timestamp_column) {
  data::ReadOptions options;
  if (!timestamp_column.empty()) options.timestamp_columns = {timestamp_column};
  options.progress_label = "read " + std::filesystem::path(path).filename().string();
  options.quiet = false;
  bool is_jsonl = path.ends_with(".jsonl") || path.ends_with(".ndjson");
  auto frame = is_jsonl ? data::ReadJsonLines(path, options) : data::ReadCsv(path, options);
  if (!frame.ok()) return frame.status();
  return server::FrameToJson(*frame);
}

std::string FormatSeconds(double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2fs", seconds);
  return buffer;
}

Status TrainingSet(CommandContext& context, const TrainingSetFlags& flags) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  Json request = {{"entity_timestamp", flags.timestamp_column}};
  if (!flags.project.empty()) request["project"] = flags.project;
  if (!flags.service.empty()) request["feature_service"] = flags.service;
  if (!flags.features.empty()) request["features"] = flags.features;
  if (!flags.labels.empty()) request["labels"] = flags.labels;
  if (!flags.run_id.empty()) request["run_id"] = flags.run_id;
  if (!flags.name.empty()) request["name"] = flags.name;
  if (flags.created_before_entity) request["require_created_before_entity"] = true;
  if (LooksLikeQuery(flags.entities)) {
    request["entities_query"] = flags.entities;
    if (!flags.entities_source.empty()) request["entities_source"] = flags.entities_source;
  } else if (api->is_local()) {
    std::error_code error;
    auto absolute = std::filesystem::absolute(flags.entities, error);
    if (!std::filesystem::exists(absolute, error)) {
      return NotFound(flags.entities + ": no such file (give a CSV/JSON-lines file or a SELECT query)");
    }
    request["entities_file"] = absolute.string();
  } else {
    KILN_ASSIGN_OR_RETURN(request["entities"], FileAsColumns(flags.entities, flags.timestamp_column));
  }
  KILN_ASSIGN_OR_RETURN(Json response, api->Call("POST", "/api/features/training-set", request));
  const Json& set = response["training_set"];
  if (!flags.output.empty()) {
    KILN_RETURN_IF_ERROR(api->Download("/api/features/training-sets/" + Str(set, "digest"),
                                       {{"project", Str(set, "project")}}, flags.output));
  }
  if (context.json) {
    PrintJson(response);
    return Status::Ok();
  }
  std::cout << "training set  " << Str(set, "digest") << "\n"
            << "rows          " << FormatCount(Int(set, "rows")) << "\n"
            << "project       " << Str(set, "project") << " (definitions v" << Int(set, "repository_version");
  if (Int(set, "service_version") > 0) std::cout << ", service v" << Int(set, "service_version");
  std::cout << ")\n"
            << "stored at     " << Str(set, "artifact_path") << "\n";
  if (set.contains("artifact_uri")) std::cout << "run artifact  " << Str(set, "artifact_uri") << "\n";
  if (!flags.output.empty()) std::cout << "written to    " << flags.output << "\n";
  Table table({"FEATURE", "NULL FRACTION"});
  if (set.contains("null_fractions")) {
    for (const auto& [name, fraction] : set["null_fractions"].items()) {
      table.AddRow({name, FormatNumber(fraction.is_number() ? fraction.get<double>() : 0)});
    }
  }
  std::cout << "\n" << table.Render();
  return Status::Ok();
}

Status Materialize(CommandContext& context, const MaterializeFlags& flags) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  Json request = Json::object();
  if (!flags.project.empty()) request["project"] = flags.project;
  if (!flags.views.empty()) request["views"] = flags.views;
  if (!flags.start.empty()) request["start"] = flags.start;
  if (!flags.end.empty()) request["end"] = flags.end;
  if (flags.incremental) request["incremental"] = true;
  KILN_ASSIGN_OR_RETURN(Json response, api->Call("POST", "/api/features/materialize", request));
  if (context.json) {
    PrintJson(response);
    return Status::Ok();
  }
  Table table({"VIEW", "START", "END", "ROWS READ", "ENTITIES WRITTEN", "QUARANTINED", "TIME"});
  for (const Json& view : Array(response, "views")) {
    std::string start = view.contains("start") && view["start"].is_string() ? Str(view, "start") : "-";
    table.AddRow({Str(view, "view"), start, Str(view, "end"), FormatCount(Int(view, "rows_read")),
                  FormatCount(Int(view, "entities_written")), FormatCount(Int(view, "rows_quarantined")),
                  FormatSeconds(Number(view, "seconds"))});
  }
  std::cout << table.Render();
  return Status::Ok();
}

// "origin=ORD,SFO" → origin: ["ORD", "SFO"]; numbers stay numbers.
Status AddColumnArgument(const std::string& argument, Json* columns) {
  size_t equals = argument.find('=');
  if (equals == std::string::npos || equals == 0) {
    return InvalidArgument("'" + argument + "': expected NAME=VALUE[,VALUE…]");
  }
  std::string name = argument.substr(0, equals);
  Json values = Json::array();
  std::string rest = argument.substr(equals + 1);
  size_t start = 0;
  while (true) {
    size_t comma = rest.find(',', start);
    std::string item = rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    Json parsed = Json::parse(item, nullptr, false);
    values.push_back(!parsed.is_discarded() && parsed.is_number() ? parsed : Json(item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  (*columns)[name] = std::move(values);
  return Status::Ok();
}

Status Online(CommandContext& context, const OnlineFlags& flags) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  Json request = Json::object();
  if (!flags.project.empty()) request["project"] = flags.project;
  if (!flags.service.empty()) request["feature_service"] = flags.service;
  if (!flags.features.empty()) request["features"] = flags.features;
  Json entities = Json::object();
  if (!flags.entities_json.empty()) {
    auto parsed = ParseJsonObject(flags.entities_json);
    if (!parsed.ok()) return InvalidArgument("--entities-json: " + parsed.status().message());
    entities = *parsed;
  }
  for (const std::string& argument : flags.entities) KILN_RETURN_IF_ERROR(AddColumnArgument(argument, &entities));
  for (const std::string& argument : flags.request) KILN_RETURN_IF_ERROR(AddColumnArgument(argument, &entities));
  request["entities"] = std::move(entities);
  if (!flags.as_of.empty()) request["as_of"] = flags.as_of;
  KILN_ASSIGN_OR_RETURN(Json response, api->Call("POST", "/api/features/online", request));
  if (context.json) {
    PrintJson(response);
    return Status::Ok();
  }
  const Json& names = response["metadata"]["feature_names"];
  const Json& results = response["results"];
  size_t rows = results.empty() ? 0 : results[0]["values"].size();
  for (size_t row = 0; row < rows; ++row) {
    if (rows > 1) std::cout << (row > 0 ? "\n" : "") << "row " << row << "\n";
    Table table({"FEATURE", "VALUE", "STATUS", "EVENT TIME"});
    for (size_t f = 0; f < names.size(); ++f) {
      const Json& value = results[f]["values"][row];
      table.AddRow({names[f].get<std::string>(),
                    value.is_null() ? "null" : value.is_string() ? value.get<std::string>() : value.dump(),
                    results[f]["statuses"][row].get<std::string>(),
                    results[f]["event_timestamps"][row].get<std::string>()});
    }
    std::cout << table.Render();
  }
  return Status::Ok();
}

Status Push(CommandContext& context, const PushFlags& flags) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  Json request = {{"push_source_name", flags.source}, {"to", flags.to}};
  if (!flags.project.empty()) request["project"] = flags.project;
  KILN_ASSIGN_OR_RETURN(request["df"], FileAsColumns(flags.file, ""));
  KILN_ASSIGN_OR_RETURN(Json response, api->Call("POST", "/api/features/push", request));
  if (context.json) {
    PrintJson(response);
    return Status::Ok();
  }
  std::cout << "received     " << FormatCount(Int(response, "rows_received")) << " rows\n"
            << "online       " << FormatCount(Int(response, "rows_written_online")) << " records written\n"
            << "offline      " << FormatCount(Int(response, "rows_written_offline")) << " rows written\n"
            << "quarantined  " << FormatCount(Int(response, "rows_quarantined")) << " rows\n";
  for (const Json& reason : Array(response, "quarantine_reasons")) {
    std::cout << "  " << reason.get<std::string>() << "\n";
  }
  return Status::Ok();
}

Status Quarantine(CommandContext& context, const std::string& project, int64_t max_results) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  Json request = {{"max_results", max_results}};
  if (!project.empty()) request["project"] = project;
  KILN_ASSIGN_OR_RETURN(Json response, api->Call("GET", "/api/features/quarantine", request));
  if (context.json) {
    PrintJson(response);
    return Status::Ok();
  }
  Table table({"ID", "WHEN", "ORIGIN", "OBJECT", "REASON", "ROW"});
  for (const Json& row : Array(response, "rows")) {
    std::string text = Str(row, "row");
    if (text.size() > 60) text = text.substr(0, 57) + "...";
    table.AddRow({std::to_string(Int(row, "id")), FormatTime(Int(row, "created_timestamp")), Str(row, "origin"),
                  Str(row, "object"), Str(row, "reason"), text});
  }
  std::cout << table.Render();
  return Status::Ok();
}

}  // namespace

void AddFeatureDataCommands(CLI::App* features, CommandContext& context) {
  auto training = std::make_shared<TrainingSetFlags>();
  CLI::App* set = features->add_subcommand(
      "training-set", "Join entity rows point-in-time with a feature service into a training set");
  set->add_option("--project", training->project, "Feature project (default: the only one)");
  set->add_option("--service", training->service, "Feature service");
  set->add_option("--features", training->features, "Features as view.feature or view.* (instead of --service)")
      ->delimiter(',');
  set->add_option("--entities", training->entities,
                  "Entity rows: a CSV/JSON-lines file, or a SELECT query run against --entities-source")
      ->required();
  set->add_option("--entities-source", training->entities_source, "SQLite/PostgreSQL source to run a query against");
  set->add_option("--timestamp-column", training->timestamp_column, "Entity timestamp column")
      ->capture_default_str();
  set->add_option("--label", training->labels, "Label column, or NAME=EXPRESSION (e.g. \"delayed = delay > 15\")");
  set->add_option("--run", training->run_id, "Record the training set as a dataset input of this run");
  set->add_option("--name", training->name, "Dataset name (default: the service name)");
  set->add_option("--output,-o", training->output, "Also write the training set's CSV here");
  set->add_flag("--created-before-entity", training->created_before_entity,
                "Only use feature rows created at or before each entity timestamp (no late corrections)");
  context.AddTargetOptions(set);
  context.AddJsonOption(set);
  BindCommand(set, context, [&context, training] {
    if (training->service.empty() == training->features.empty()) {
      return InvalidArgument("give either --service or --features");
    }
    return TrainingSet(context, *training);
  });

  auto materialize = std::make_shared<MaterializeFlags>();
  CLI::App* mat = features->add_subcommand(
      "materialize", "Write the latest feature values per entity to the online store");
  mat->add_option("--project", materialize->project, "Feature project (default: the only one)");
  mat->add_option("--views", materialize->views, "Feature views (default: every online view)")->delimiter(',');
  mat->add_option("--start", materialize->start, "Start of the interval (ISO 8601, inclusive)");
  mat->add_option("--end", materialize->end, "End of the interval (ISO 8601, exclusive; default now)");
  mat->add_flag("--incremental", materialize->incremental, "Start where the last materialization ended");
  context.AddTargetOptions(mat);
  context.AddJsonOption(mat);
  BindCommand(mat, context, [&context, materialize] { return Materialize(context, *materialize); });

  auto online = std::make_shared<OnlineFlags>();
  CLI::App* get = features->add_subcommand("online", "Read online features for entities");
  get->add_option("--project", online->project, "Feature project (default: the only one)");
  get->add_option("--service", online->service, "Feature service");
  get->add_option("--features", online->features, "Features as view.feature (instead of --service)")->delimiter(',');
  get->add_option("--entity,-e", online->entities, "Join key values: KEY=V1[,V2…] (repeatable)");
  get->add_option("--request,-r", online->request, "Request data: FIELD=V1[,V2…] (repeatable)");
  get->add_option("--entities-json", online->entities_json, "Entities as JSON columns: {\"origin\": [\"ORD\"]}");
  get->add_option("--as-of", online->as_of,
                  "Judge TTLs as of this time (ISO 8601) instead of now: replays and backtests");
  context.AddTargetOptions(get);
  context.AddJsonOption(get);
  BindCommand(get, context, [&context, online] {
    if (online->service.empty() == online->features.empty()) {
      return InvalidArgument("give either --service or --features");
    }
    return Online(context, *online);
  });

  auto push = std::make_shared<PushFlags>();
  CLI::App* send = features->add_subcommand("push", "Push rows of a push source to the online and/or offline store");
  send->add_option("--project", push->project, "Feature project (default: the only one)");
  send->add_option("--source", push->source, "Push source")->required();
  send->add_option("--file", push->file, "Rows: a CSV or JSON-lines file")->required();
  send->add_option("--to", push->to, "online, offline or online_and_offline")
      ->check(CLI::IsMember({"online", "offline", "online_and_offline"}))
      ->capture_default_str();
  context.AddTargetOptions(send);
  context.AddJsonOption(send);
  BindCommand(send, context, [&context, push] { return Push(context, *push); });

  auto project = std::make_shared<std::string>();
  auto max_results = std::make_shared<int64_t>(100);
  CLI::App* quarantine = features->add_subcommand("quarantine", "Rows refused by expectations, with the reason");
  quarantine->add_option("--project", *project, "Feature project (default: the only one)");
  quarantine->add_option("--max-results", *max_results, "How many, newest first")->capture_default_str();
  context.AddTargetOptions(quarantine);
  context.AddJsonOption(quarantine);
  BindCommand(quarantine, context, [&context, project, max_results] {
    return Quarantine(context, *project, *max_results);
  });
}

}  // namespace kiln::cli
