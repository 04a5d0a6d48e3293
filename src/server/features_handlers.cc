// Routes of the feature-store data plane under /api/features: training sets,
// materialization, online reads (Feast's get-online-features shape), push
// (Feast's push shape) and the quarantine. Translation only; the work is in
// features::FeatureStore. Reads need the reader role, writes the writer role;
// reading entity rows from a server-side file needs admin.
#include <algorithm>
#include <functional>
#include <utility>

#include "data/csv.h"
#include "data/timestamp.h"
#include "features/entity_column_types.h"
#include "features/feature_store.h"
#include "features/labels.h"
#include "features/source_reader.h"
#include "server/api.h"
#include "server/api_error.h"
#include "server/json_handler.h"
#include "common/json_writer.h"
#include "server/features_json.h"
#include "storage/artifact_store.h"

namespace kiln::server {
namespace {

using features::FeatureStore;

// Handlers over the feature store.
Handler StoreHandler(FeatureStore* store, JsonBody<FeatureStore> body) {
  return server::JsonHandler<FeatureStore>(store, std::move(body));
}

Result<std::string> Project(const JsonFields& fields) {
  KILN_ASSIGN_OR_RETURN(auto project, fields.OptionalString("project"));
  return project.value_or("");
}

// Types of the columns entity rows may carry: join keys (from the sources)
// and request fields of on-demand views.
Result<std::optional<int64_t>> OptionalTimestamp(const JsonFields& fields, std::string_view name) {
  const Json* value = fields.Get(name);
  if (value == nullptr) return std::optional<int64_t>();
  KILN_ASSIGN_OR_RETURN(data::Value parsed,
                        ValueFromJson(*value, data::Type::kTimestamp, std::string(name)));
  return std::optional<int64_t>(parsed.i);
}

// The service or the feature list of a request ("feature_service" as Feast
// names it; "service" also accepted).
Status ReadFeatureSelection(const JsonFields& fields, std::string* service,
                            std::vector<std::string>* features) {
  KILN_ASSIGN_OR_RETURN(auto named, fields.OptionalString("feature_service"));
  if (!named) {
    KILN_ASSIGN_OR_RETURN(named, fields.OptionalString("service"));
  }
  KILN_ASSIGN_OR_RETURN(*features, fields.OptionalStringArray("features"));
  if (named && !features->empty()) {
    return InvalidArgument("give either 'feature_service' or 'features', not both");
  }
  if (!named && features->empty()) {
    return InvalidArgument("missing 'feature_service' or 'features': name a feature service or list "
                           "features as view.feature");
  }
  *service = named.value_or("");
  return Status::Ok();
}

// Entity rows from a SELECT run against a SQLite or PostgreSQL source's
// database ("entities_query", "entities_source"; the only SQL source when
// there is one).
Result<data::Frame> EntitiesFromQuery(FeatureStore& store, const features::Repository& repository,
                                      const JsonFields& fields, const std::string& timestamp_column) {
  KILN_ASSIGN_OR_RETURN(std::string query, fields.RequiredString("entities_query"));
  KILN_ASSIGN_OR_RETURN(auto source_name, fields.OptionalString("entities_source"));
  const features::SourceDef* database_source = nullptr;
  std::vector<std::string> candidates;
  for (const features::SourceDef& source : repository.def().sources) {
    if (source.kind != features::SourceKind::kSqlite && source.kind != features::SourceKind::kPostgres) continue;
    candidates.push_back(source.name);
    if (source_name ? source.name == *source_name : candidates.size() == 1) database_source = &source;
  }
  if (source_name && database_source == nullptr) {
    return NotFound("'" + *source_name + "' is not a SQLite or PostgreSQL source of project '" +
                    repository.project() + "'");
  }
  if (!source_name && candidates.size() != 1) {
    return InvalidArgument(candidates.empty()
                               ? "an entities query needs a SQLite or PostgreSQL source; project '" +
                                     repository.project() + "' has none (give entity rows or a file)"
                               : "name the source to run the entities query against ('entities_source')");
  }
  features::SourceDef entities = *database_source;
  entities.name = "entities query";
  entities.table.clear();
  entities.query = query;
  entities.timestamp_field = timestamp_column;
  entities.created_timestamp_field.clear();
  entities.columns.clear();
  features::SourceReadOptions options;
  options.project = repository.project();
  return features::ReadSource(repository.def(), entities, options);
}

Result<Json> TrainingSet(FeatureStore& store, const JsonFields& fields, const HttpRequest& request) {
  KILN_ASSIGN_OR_RETURN(std::string project, Project(fields));
  KILN_ASSIGN_OR_RETURN(auto repository, store.Current(project));
  features::TrainingSetJob job;
  job.project = repository->project();
  KILN_RETURN_IF_ERROR(ReadFeatureSelection(fields, &job.request.service, &job.request.features));
  KILN_ASSIGN_OR_RETURN(auto timestamp_column, fields.OptionalString("entity_timestamp"));
  if (timestamp_column) job.request.entity_timestamp = *timestamp_column;

  std::map<std::string, data::Type> types = features::EntityColumnTypes(*repository);
  types[job.request.entity_timestamp] = data::Type::kTimestamp;
  KILN_ASSIGN_OR_RETURN(auto entities_file, fields.OptionalString("entities_file"));
  const Json* inline_entities = fields.Get("entities");
  if ((entities_file ? 1 : 0) + (inline_entities != nullptr ? 1 : 0) + (fields.Has("entities_query") ? 1 : 0) > 1) {
    return InvalidArgument("give one of 'entities', 'entities_file' or 'entities_query'");
  }
  if (entities_file) {
    if (request.role < Role::kAdmin) {
      return PermissionDenied("reading entity rows from a server-side file ('entities_file') needs "
                              "the admin role; send the rows as 'entities' instead");
    }
    data::ReadOptions options;
    options.types = types;
    options.timestamp_columns = {job.request.entity_timestamp};
    bool is_jsonl = entities_file->ends_with(".jsonl") || entities_file->ends_with(".ndjson");
    auto frame = is_jsonl ? data::ReadJsonLines(*entities_file, options)
                          : data::ReadCsv(*entities_file, options);
    if (!frame.ok()) return frame.status();
    job.request.entities = std::move(*frame);
  } else if (fields.Has("entities_query")) {
    KILN_ASSIGN_OR_RETURN(job.request.entities,
                          EntitiesFromQuery(store, *repository, fields, job.request.entity_timestamp));
  } else if (inline_entities != nullptr) {
    KILN_ASSIGN_OR_RETURN(job.request.entities, FrameFromJson(*inline_entities, types, "entities"));
  } else {
    return MissingParameter("entities");
  }

  KILN_ASSIGN_OR_RETURN(auto labels, fields.OptionalStringArray("labels"));
  std::vector<features::DerivedColumn> derived;
  for (const std::string& label : labels) {
    KILN_ASSIGN_OR_RETURN(features::DerivedColumn column, features::ParseDerivedColumn(label));
    job.request.labels.push_back(column.name);
    derived.push_back(std::move(column));
  }
  KILN_RETURN_IF_ERROR(features::AddDerivedColumns(job.request.entities, derived));

  KILN_ASSIGN_OR_RETURN(auto created_rule, fields.OptionalBool("require_created_before_entity"));
  job.request.require_created_before_entity = created_rule.value_or(false);
  KILN_ASSIGN_OR_RETURN(auto run_id, fields.OptionalString("run_id"));
  job.run_id = run_id.value_or("");
  KILN_ASSIGN_OR_RETURN(auto name, fields.OptionalString("name"));
  job.name = name.value_or("");

  KILN_ASSIGN_OR_RETURN(features::TrainingSetInfo info, store.CreateTrainingSet(job));
  Json null_fractions = Json::object();
  size_t first_feature = info.columns.size() - info.null_fractions.size();
  for (size_t i = 0; i < info.null_fractions.size(); ++i) {
    null_fractions[info.columns[first_feature + i]] = info.null_fractions[i];
  }
  Json out = {{"project", job.project},
              {"digest", info.digest},
              {"artifact_path", info.artifact_path},
              {"rows", info.rows},
              {"columns", info.columns},
              {"null_fractions", std::move(null_fractions)},
              {"repository_version", info.repository_version},
              {"service_version", info.service_version},
              {"download_path", "/api/features/training-sets/" + info.digest + "?project=" + job.project}};
  if (!info.artifact_uri.empty()) out["artifact_uri"] = info.artifact_uri;
  return Json{{"training_set", std::move(out)}};
}

Result<Json> Materialize(FeatureStore& store, const JsonFields& fields, const HttpRequest&) {
  features::MaterializeRequest request;
  KILN_ASSIGN_OR_RETURN(request.project, Project(fields));
  KILN_ASSIGN_OR_RETURN(request.views, fields.OptionalStringArray("views"));
  KILN_ASSIGN_OR_RETURN(request.start_micros, OptionalTimestamp(fields, "start"));
  KILN_ASSIGN_OR_RETURN(request.end_micros, OptionalTimestamp(fields, "end"));
  KILN_ASSIGN_OR_RETURN(auto incremental, fields.OptionalBool("incremental"));
  request.incremental = incremental.value_or(false);
  if (request.incremental && request.start_micros) {
    return InvalidArgument("give either 'start' or 'incremental', not both: an incremental run "
                           "starts where the last one ended");
  }
  KILN_ASSIGN_OR_RETURN(auto results, store.Materialize(request));
  Json views = Json::array();
  for (const features::MaterializeViewResult& result : results) {
    views.push_back({{"view", result.view},
                     {"start", result.start_micros == 0 ? Json(nullptr)
                                                        : Json(data::FormatTimestamp(result.start_micros))},
                     {"end", data::FormatTimestamp(result.end_micros)},
                     {"rows_read", result.rows_read},
                     {"entities_written", result.entities_written},
                     {"rows_quarantined", result.rows_quarantined},
                     {"rows_without_key", result.rows_without_key},
                     {"entities", result.entities},
                     {"seconds", result.seconds}});
  }
  return Json{{"views", std::move(views)}};
}

// The JSON of one value, as ValueToJson writes it.
void WriteValue(JsonWriter& writer, const data::Value& value) {
  if (value.null) {
    writer.Null();
    return;
  }
  switch (value.type) {
    case data::Type::kBool: writer.Bool(value.i != 0); return;
    case data::Type::kInt64: writer.Int(value.i); return;
    case data::Type::kFloat64: writer.Double(value.f); return;
    case data::Type::kString: writer.String(value.s); return;
    case data::Type::kTimestamp: writer.String(data::FormatTimestamp(value.i)); return;
  }
  writer.Null();
}

// Answers with text (not a Json tree): the online read is the hot path.
Result<std::string> OnlineFeatures(FeatureStore& store, const JsonFields& fields, const HttpRequest&) {
  features::OnlineRequest request;
  KILN_ASSIGN_OR_RETURN(request.project, Project(fields));
  KILN_ASSIGN_OR_RETURN(auto repository, store.Current(request.project));
  request.project = repository->project();
  KILN_RETURN_IF_ERROR(ReadFeatureSelection(fields, &request.service, &request.features));
  KILN_ASSIGN_OR_RETURN(request.as_of_micros, OptionalTimestamp(fields, "as_of"));
  const Json* entities_json = fields.Get("entities");
  if (entities_json == nullptr) return MissingParameter("entities");
  std::map<std::string, data::Type> types = features::EntityColumnTypes(*repository);
  KILN_ASSIGN_OR_RETURN(data::Frame entities, FrameFromJson(*entities_json, types, "entities"));
  if (const Json* request_data = fields.Get("request_data"); request_data != nullptr) {
    KILN_ASSIGN_OR_RETURN(data::Frame extra, FrameFromJson(*request_data, types, "request_data"));
    if (extra.num_rows() != entities.num_rows() && extra.num_columns() > 0) {
      return InvalidArgument("request_data has " + std::to_string(extra.num_rows()) +
                             " rows but entities has " + std::to_string(entities.num_rows()));
    }
    for (size_t c = 0; c < extra.num_columns(); ++c) {
      KILN_RETURN_IF_ERROR(entities.AddColumn(extra.names()[c], extra.column(c)));
    }
  }
  request.rows.resize(entities.num_rows());
  for (size_t c = 0; c < entities.num_columns(); ++c) {
    for (size_t r = 0; r < entities.num_rows(); ++r) {
      request.rows[r].emplace(entities.names()[c], entities.column(c).Get(r));
    }
  }
  KILN_ASSIGN_OR_RETURN(features::OnlineResponse response, store.GetOnlineFeatures(request));

  // Feast's shape: entity join keys first (in definition order), then one
  // result per feature. Written straight to text: this is the hot path.
  std::vector<std::string> join_keys;
  for (const features::ResolvedView& view : repository->views()) {
    for (const std::string& key : view.join_keys) {
      if (std::find(join_keys.begin(), join_keys.end(), key) == join_keys.end()) join_keys.push_back(key);
    }
  }
  std::vector<const data::Column*> key_columns;
  std::vector<std::string_view> key_names;
  for (const std::string& key : join_keys) {
    if (const data::Column* column = entities.Find(key); column != nullptr) {
      key_columns.push_back(column);
      key_names.push_back(key);
    }
  }
  const std::string epoch = data::FormatTimestamp(0);
  std::string text;
  text.reserve(256 + response.feature_names.size() * (96 + 48 * response.values.size()));
  JsonWriter writer(&text);
  writer.BeginObject();
  writer.Key("metadata");
  writer.BeginObject();
  writer.Key("feature_names");
  writer.BeginArray();
  for (std::string_view name : key_names) writer.String(name);
  for (const std::string& name : response.feature_names) writer.String(name);
  writer.EndArray();
  if (response.service_version > 0) writer.Field("feature_service_version", response.service_version);
  writer.EndObject();
  writer.Key("results");
  writer.BeginArray();
  const size_t rows = entities.num_rows();
  for (const data::Column* column : key_columns) {
    writer.BeginObject();
    writer.Key("values");
    writer.BeginArray();
    for (size_t r = 0; r < rows; ++r) WriteValue(writer, column->Get(r));
    writer.EndArray();
    writer.Key("statuses");
    writer.BeginArray();
    for (size_t r = 0; r < rows; ++r) writer.String("PRESENT");
    writer.EndArray();
    writer.Key("event_timestamps");
    writer.BeginArray();
    for (size_t r = 0; r < rows; ++r) writer.String(epoch);
    writer.EndArray();
    writer.EndObject();
  }
  for (size_t f = 0; f < response.feature_names.size(); ++f) {
    writer.BeginObject();
    writer.Key("values");
    writer.BeginArray();
    for (size_t r = 0; r < response.values.size(); ++r) WriteValue(writer, response.values[r][f]);
    writer.EndArray();
    writer.Key("statuses");
    writer.BeginArray();
    for (size_t r = 0; r < response.values.size(); ++r) {
      writer.String(features::FeatureStatusName(response.statuses[r][f]));
    }
    writer.EndArray();
    writer.Key("event_timestamps");
    writer.BeginArray();
    for (size_t r = 0; r < response.values.size(); ++r) {
      int64_t micros = response.event_micros[r][f];
      if (micros == 0) {
        writer.String(epoch);
      } else {
        writer.String(data::FormatTimestamp(micros));
      }
    }
    writer.EndArray();
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  return text;
}

Result<Json> Push(FeatureStore& store, const JsonFields& fields, const HttpRequest&) {
  features::PushRequest request;
  KILN_ASSIGN_OR_RETURN(request.project, Project(fields));
  KILN_ASSIGN_OR_RETURN(auto repository, store.Current(request.project));
  request.project = repository->project();
  KILN_ASSIGN_OR_RETURN(auto source, fields.OptionalString("push_source_name"));
  if (!source) {
    KILN_ASSIGN_OR_RETURN(source, fields.OptionalString("source"));
  }
  if (!source || source->empty()) return MissingParameter("push_source_name");
  request.source = *source;
  const features::SourceDef* definition = repository->FindSource(request.source);
  if (definition == nullptr) {
    return NotFound("no source '" + request.source + "' in project '" + request.project + "'");
  }
  const Json* rows = fields.Get("df");
  if (rows == nullptr) rows = fields.Get("rows");
  if (rows == nullptr) return MissingParameter("df");
  std::map<std::string, data::Type> types(definition->columns.begin(), definition->columns.end());
  KILN_ASSIGN_OR_RETURN(request.rows, FrameFromJson(*rows, types, "df"));
  KILN_ASSIGN_OR_RETURN(auto target, fields.OptionalString("to"));
  KILN_ASSIGN_OR_RETURN(request.to, features::ParsePushTarget(target.value_or("online")));
  KILN_ASSIGN_OR_RETURN(features::PushResult result, store.Push(request));
  return Json{{"rows_received", result.rows_received},
              {"rows_written_online", result.rows_written_online},
              {"rows_written_offline", result.rows_written_offline},
              {"rows_quarantined", result.rows_quarantined},
              {"quarantine_reasons", result.quarantine_reasons}};
}

Result<Json> Quarantine(FeatureStore& store, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string project, Project(fields));
  KILN_ASSIGN_OR_RETURN(auto limit, fields.OptionalInt64("max_results"));
  int64_t max_results = limit.value_or(100);
  if (max_results < 1 || max_results > 10000) {
    return InvalidArgument("max_results must be between 1 and 10000, got " + std::to_string(max_results));
  }
  KILN_ASSIGN_OR_RETURN(auto repository, store.Current(project));
  KILN_ASSIGN_OR_RETURN(auto rows, store.ListQuarantine(repository->project(), max_results));
  Json list = Json::array();
  for (const features::QuarantinedRow& row : rows) {
    list.push_back({{"id", row.id},
                    {"project", row.project},
                    {"object", row.object},
                    {"origin", row.origin},
                    {"reason", row.reason},
                    {"row", row.row_json},
                    {"created_timestamp", row.created_millis}});
  }
  return Json{{"rows", std::move(list)}};
}

HttpResponse DownloadTrainingSet(FeatureStore& store, storage::ArtifactStore& artifacts,
                                 HttpRequest& request) {
  const std::string& digest = request.path_params["digest"];
  if (digest.size() != 64 || digest.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return ErrorResponse(InvalidArgument("'" + digest + "' is not a training-set digest (64 hex digits)"));
  }
  auto repository = store.Current(request.QueryParam("project").value_or(""));
  if (!repository.ok()) return ErrorResponse(repository.status());
  auto path = artifacts.ObjectPath("feature-sets/" + (*repository)->project() + "/" + digest + ".csv");
  if (!path.ok()) {
    if (path.status().code() == StatusCode::kNotFound) {
      return ErrorResponse(NotFound("no training set with digest " + digest + " in project '" +
                                    (*repository)->project() + "'"));
    }
    return ErrorResponse(path.status());
  }
  HttpResponse response;
  response.content_type = "text/csv; charset=utf-8";
  response.file_path = *path;
  response.headers.emplace_back("Content-Disposition",
                                "attachment; filename=\"training-set-" + digest.substr(0, 12) + ".csv\"");
  return response;
}

}  // namespace

void RegisterFeatureDataRoutes(Router& router, const ApiServices& services) {
  FeatureStore* store = services.features;
  if (store == nullptr) return;
  storage::ArtifactStore* artifacts = services.artifacts;
  const std::string prefix = "/api/features";
  router.Add({"POST", prefix + "/training-set", Role::kWriter, false, StoreHandler(store, TrainingSet)});
  router.Add({"GET", prefix + "/training-sets/{digest}", Role::kReader, false,
              [store, artifacts](HttpRequest& request) {
                return DownloadTrainingSet(*store, *artifacts, request);
              }});
  router.Add({"POST", prefix + "/materialize", Role::kWriter, false, StoreHandler(store, Materialize)});
  Handler online = [store](HttpRequest& request) -> HttpResponse {
    auto message = RequestMessage(request);
    if (!message.ok()) return ErrorResponse(message.status());
    JsonFields fields(*message);
    auto text = OnlineFeatures(*store, fields, request);
    if (!text.ok()) return ErrorResponse(text.status());
    HttpResponse response;
    response.body = std::move(*text);
    return response;
  };
  router.Add({"POST", prefix + "/online", Role::kReader, false, online});
  // Feast's feature-server path, so Feast clients work unchanged.
  router.Add({"POST", "/get-online-features", Role::kReader, false, online});
  router.Add({"POST", prefix + "/push", Role::kWriter, false, StoreHandler(store, Push)});
  router.Add({"POST", "/push", Role::kWriter, false, StoreHandler(store, Push)});
  router.Add({"GET", prefix + "/quarantine", Role::kReader, false, StoreHandler(store, Quarantine)});
}

}  // namespace kiln::server
