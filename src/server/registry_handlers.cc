// Routes of the model registry API: MLflow's ModelRegistryService
// (model_registry.proto) under both MLflow prefixes, translated to
// tracking::ModelRegistry calls. Reads need the reader role, writes the
// writer role, deleting a registered model or a version the admin role.
#include <functional>
#include <utility>

#include "server/api.h"
#include "server/api_error.h"
#include "server/registry_json.h"
#include "tracking/model_registry.h"

namespace kiln::server {
namespace {

using tracking::ModelRegistry;
using tracking::ModelVersion;
using tracking::RegisteredModel;

// A handler body: the request message in, the response JSON out.
using JsonBody = std::function<Result<Json>(ModelRegistry&, const JsonFields&, const HttpRequest&)>;

Handler JsonHandler(ModelRegistry* registry, JsonBody body) {
  return [registry, body = std::move(body)](HttpRequest& request) -> HttpResponse {
    auto message = RequestMessage(request);
    if (!message.ok()) return ErrorResponse(message.status());
    JsonFields fields(*message);
    auto response = body(*registry, fields, request);
    if (!response.ok()) return ErrorResponse(response.status());
    return HttpResponse::FromJson(*response);
  };
}

// A required string field; "" counts as missing, as in MLflow's handlers.
Result<std::string> Required(const JsonFields& fields, std::string_view name) {
  KILN_ASSIGN_OR_RETURN(std::string value, fields.RequiredString(name));
  if (value.empty()) return MissingParameter(name);
  return value;
}

Result<Json> ModelResponse(Result<RegisteredModel> model) {
  if (!model.ok()) return model.status();
  return Json{{"registered_model", RegisteredModelJson(*model)}};
}

Result<Json> VersionResponse(Result<ModelVersion> version) {
  if (!version.ok()) return version.status();
  return Json{{"model_version", ModelVersionJson(*version)}};
}

Result<Json> EmptyResponse(const Status& status) {
  if (!status.ok()) return status;
  return Json::object();
}

Result<Json> VersionsResponse(const std::vector<ModelVersion>& versions, const std::string& next_page_token) {
  Json list = Json::array();
  for (const ModelVersion& version : versions) list.push_back(ModelVersionJson(version));
  Json out = {{"model_versions", std::move(list)}};
  if (!next_page_token.empty()) out["next_page_token"] = next_page_token;
  return out;
}

// --- Registered models ---

Result<Json> CreateRegisteredModel(ModelRegistry& registry, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string name, Required(fields, "name"));
  KILN_ASSIGN_OR_RETURN(auto tags, RegistryTagsField(fields, "tags"));
  KILN_ASSIGN_OR_RETURN(auto description, fields.OptionalString("description"));
  return ModelResponse(registry.CreateRegisteredModel(name, tags, description));
}

Result<Json> GetRegisteredModel(ModelRegistry& registry, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string name, Required(fields, "name"));
  return ModelResponse(registry.GetRegisteredModel(name));
}

Result<Json> RenameRegisteredModel(ModelRegistry& registry, const JsonFields& fields, const HttpRequest& request) {
  KILN_ASSIGN_OR_RETURN(std::string name, Required(fields, "name"));
  KILN_ASSIGN_OR_RETURN(std::string new_name, Required(fields, "new_name"));
  return ModelResponse(registry.RenameRegisteredModel(name, new_name, request.user));
}

Result<Json> UpdateRegisteredModel(ModelRegistry& registry, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string name, Required(fields, "name"));
  KILN_ASSIGN_OR_RETURN(auto description, fields.OptionalString("description"));
  return ModelResponse(registry.UpdateRegisteredModel(name, description));
}

Result<Json> DeleteRegisteredModel(ModelRegistry& registry, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string name, Required(fields, "name"));
  return EmptyResponse(registry.DeleteRegisteredModel(name));
}

Result<Json> SearchRegisteredModels(ModelRegistry& registry, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(auto filter, fields.OptionalString("filter"));
  KILN_ASSIGN_OR_RETURN(auto max_results, fields.OptionalInt64("max_results"));
  KILN_ASSIGN_OR_RETURN(auto order_by, StringListField(fields, "order_by"));
  KILN_ASSIGN_OR_RETURN(auto page_token, fields.OptionalString("page_token"));
  KILN_ASSIGN_OR_RETURN(tracking::RegisteredModelPage page,
                        registry.SearchRegisteredModels(filter.value_or(""), max_results.value_or(0), order_by,
                                                        page_token.value_or("")));
  Json list = Json::array();
  for (const RegisteredModel& model : page.models) list.push_back(RegisteredModelJson(model));
  Json out = {{"registered_models", std::move(list)}};
  if (!page.next_page_token.empty()) out["next_page_token"] = page.next_page_token;
  return out;
}

Result<Json> GetLatestVersions(ModelRegistry& registry, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string name, Required(fields, "name"));
  KILN_ASSIGN_OR_RETURN(auto stages, StringListField(fields, "stages"));
  KILN_ASSIGN_OR_RETURN(auto versions, registry.GetLatestVersions(name, stages));
  return VersionsResponse(versions, "");
}

Result<Json> SetRegisteredModelTag(ModelRegistry& registry, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string name, Required(fields, "name"));
  KILN_ASSIGN_OR_RETURN(std::string key, Required(fields, "key"));
  KILN_ASSIGN_OR_RETURN(auto value, fields.OptionalString("value"));
  return EmptyResponse(registry.SetRegisteredModelTag(name, key, value.value_or("")));
}

Result<Json> DeleteRegisteredModelTag(ModelRegistry& registry, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string name, Required(fields, "name"));
  KILN_ASSIGN_OR_RETURN(std::string key, Required(fields, "key"));
  return EmptyResponse(registry.DeleteRegisteredModelTag(name, key));
}

// --- Model versions ---

Result<Json> CreateModelVersion(ModelRegistry& registry, const JsonFields& fields, const HttpRequest& request) {
  tracking::NewModelVersion version;
  KILN_ASSIGN_OR_RETURN(version.name, Required(fields, "name"));
  KILN_ASSIGN_OR_RETURN(version.source, Required(fields, "source"));
  KILN_ASSIGN_OR_RETURN(auto run_id, fields.OptionalString("run_id"));
  KILN_ASSIGN_OR_RETURN(version.tags, RegistryTagsField(fields, "tags"));
  KILN_ASSIGN_OR_RETURN(auto run_link, fields.OptionalString("run_link"));
  KILN_ASSIGN_OR_RETURN(version.description, fields.OptionalString("description"));
  version.run_id = run_id.value_or("");
  version.run_link = run_link.value_or("");
  version.user_id = request.user;
  return VersionResponse(registry.CreateModelVersion(version));
}

Result<Json> GetModelVersion(ModelRegistry& registry, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string name, Required(fields, "name"));
  KILN_ASSIGN_OR_RETURN(int64_t version, VersionField(fields, "version"));
  return VersionResponse(registry.GetModelVersion(name, version));
}

Result<Json> UpdateModelVersion(ModelRegistry& registry, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string name, Required(fields, "name"));
  KILN_ASSIGN_OR_RETURN(int64_t version, VersionField(fields, "version"));
  KILN_ASSIGN_OR_RETURN(auto description, fields.OptionalString("description"));
  return VersionResponse(registry.UpdateModelVersion(name, version, description));
}

Result<Json> TransitionStage(ModelRegistry& registry, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string name, Required(fields, "name"));
  KILN_ASSIGN_OR_RETURN(int64_t version, VersionField(fields, "version"));
  KILN_ASSIGN_OR_RETURN(std::string stage, Required(fields, "stage"));
  KILN_ASSIGN_OR_RETURN(auto archive, fields.OptionalBool("archive_existing_versions"));
  return VersionResponse(registry.TransitionModelVersionStage(name, version, stage, archive.value_or(false)));
}

Result<Json> DeleteModelVersion(ModelRegistry& registry, const JsonFields& fields, const HttpRequest& request) {
  KILN_ASSIGN_OR_RETURN(std::string name, Required(fields, "name"));
  KILN_ASSIGN_OR_RETURN(int64_t version, VersionField(fields, "version"));
  return EmptyResponse(registry.DeleteModelVersion(name, version, request.user));
}

Result<Json> SearchModelVersions(ModelRegistry& registry, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(auto filter, fields.OptionalString("filter"));
  KILN_ASSIGN_OR_RETURN(auto max_results, fields.OptionalInt64("max_results"));
  KILN_ASSIGN_OR_RETURN(auto order_by, StringListField(fields, "order_by"));
  KILN_ASSIGN_OR_RETURN(auto page_token, fields.OptionalString("page_token"));
  KILN_ASSIGN_OR_RETURN(tracking::ModelVersionPage page,
                        registry.SearchModelVersions(filter.value_or(""), max_results.value_or(0), order_by,
                                                     page_token.value_or("")));
  return VersionsResponse(page.versions, page.next_page_token);
}

Result<Json> GetDownloadUri(ModelRegistry& registry, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string name, Required(fields, "name"));
  KILN_ASSIGN_OR_RETURN(int64_t version, VersionField(fields, "version"));
  KILN_ASSIGN_OR_RETURN(std::string uri, registry.GetModelVersionDownloadUri(name, version));
  return Json{{"artifact_uri", uri}};
}

Result<Json> SetModelVersionTag(ModelRegistry& registry, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string name, Required(fields, "name"));
  KILN_ASSIGN_OR_RETURN(int64_t version, VersionField(fields, "version"));
  KILN_ASSIGN_OR_RETURN(std::string key, Required(fields, "key"));
  KILN_ASSIGN_OR_RETURN(auto value, fields.OptionalString("value"));
  return EmptyResponse(registry.SetModelVersionTag(name, version, key, value.value_or("")));
}

Result<Json> DeleteModelVersionTag(ModelRegistry& registry, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string name, Required(fields, "name"));
  KILN_ASSIGN_OR_RETURN(int64_t version, VersionField(fields, "version"));
  KILN_ASSIGN_OR_RETURN(std::string key, Required(fields, "key"));
  return EmptyResponse(registry.DeleteModelVersionTag(name, version, key));
}

// --- Aliases ---

Result<Json> SetAlias(ModelRegistry& registry, const JsonFields& fields, const HttpRequest& request) {
  KILN_ASSIGN_OR_RETURN(std::string name, Required(fields, "name"));
  KILN_ASSIGN_OR_RETURN(std::string alias, Required(fields, "alias"));
  KILN_ASSIGN_OR_RETURN(int64_t version, VersionField(fields, "version"));
  return EmptyResponse(registry.SetRegisteredModelAlias(name, alias, version, request.user, "mlflow api"));
}

Result<Json> DeleteAlias(ModelRegistry& registry, const JsonFields& fields, const HttpRequest& request) {
  KILN_ASSIGN_OR_RETURN(std::string name, Required(fields, "name"));
  KILN_ASSIGN_OR_RETURN(std::string alias, Required(fields, "alias"));
  return EmptyResponse(registry.DeleteRegisteredModelAlias(name, alias, request.user, "mlflow api"));
}

Result<Json> GetVersionByAlias(ModelRegistry& registry, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string name, Required(fields, "name"));
  KILN_ASSIGN_OR_RETURN(std::string alias, Required(fields, "alias"));
  return VersionResponse(registry.GetModelVersionByAlias(name, alias));
}

}  // namespace

void RegisterRegistryRoutes(Router& router, const ApiServices& services) {
  ModelRegistry* registry = services.registry;
  if (registry == nullptr) return;
  auto add = [&](const char* method, const char* path, Role role, JsonBody body) {
    router.AddEach(kMlflowPrefixes, method, path, role, JsonHandler(registry, std::move(body)));
  };
  add("POST", "/registered-models/create", Role::kWriter, CreateRegisteredModel);
  add("GET", "/registered-models/get", Role::kReader, GetRegisteredModel);
  add("POST", "/registered-models/rename", Role::kWriter, RenameRegisteredModel);
  add("PATCH", "/registered-models/update", Role::kWriter, UpdateRegisteredModel);
  add("DELETE", "/registered-models/delete", Role::kAdmin, DeleteRegisteredModel);
  add("GET", "/registered-models/search", Role::kReader, SearchRegisteredModels);
  add("POST", "/registered-models/get-latest-versions", Role::kReader, GetLatestVersions);
  add("GET", "/registered-models/get-latest-versions", Role::kReader, GetLatestVersions);
  add("POST", "/registered-models/set-tag", Role::kWriter, SetRegisteredModelTag);
  add("DELETE", "/registered-models/delete-tag", Role::kWriter, DeleteRegisteredModelTag);
  add("POST", "/registered-models/alias", Role::kWriter, SetAlias);
  add("DELETE", "/registered-models/alias", Role::kWriter, DeleteAlias);
  add("GET", "/registered-models/alias", Role::kReader, GetVersionByAlias);

  add("POST", "/model-versions/create", Role::kWriter, CreateModelVersion);
  add("GET", "/model-versions/get", Role::kReader, GetModelVersion);
  add("PATCH", "/model-versions/update", Role::kWriter, UpdateModelVersion);
  add("POST", "/model-versions/transition-stage", Role::kWriter, TransitionStage);
  add("DELETE", "/model-versions/delete", Role::kAdmin, DeleteModelVersion);
  add("GET", "/model-versions/search", Role::kReader, SearchModelVersions);
  add("GET", "/model-versions/get-download-uri", Role::kReader, GetDownloadUri);
  add("POST", "/model-versions/set-tag", Role::kWriter, SetModelVersionTag);
  add("DELETE", "/model-versions/delete-tag", Role::kWriter, DeleteModelVersionTag);
}

}  // namespace kiln::server
