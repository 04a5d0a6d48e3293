// Routes of MLflow's artifacts service (mlflow_artifacts.proto: upload,
// download, list, delete under /api/2.0/mlflow-artifacts and
// /ajax-api/2.0/mlflow-artifacts) and the tracking service's
// GET .../mlflow/artifacts/list, over storage::ArtifactStore. Uploads stream
// to a temporary file (stream_body) and downloads stream from the object file.

#include <algorithm>
#include <cctype>

#include "server/api.h"
#include "server/api_error.h"
#include "server/url.h"
#include "storage/artifact_store.h"
#include "tracking/tracking_store.h"

namespace kiln::server {
namespace {

const std::vector<std::string> kArtifactPrefixes = {"/api/2.0/mlflow-artifacts",
                                                    "/ajax-api/2.0/mlflow-artifacts"};

// The part of an artifact URI naming a path in this server's store:
// "mlflow-artifacts:/1/abc/artifacts" and "mlflow-artifacts://host:5000/1/abc/artifacts"
// both give "1/abc/artifacts".
Result<std::string> StorePathOfUri(std::string_view uri) {
  constexpr std::string_view kScheme = "mlflow-artifacts:";
  if (uri.substr(0, kScheme.size()) != kScheme) {
    return FailedPrecondition(
        "the run's artifacts are stored at '" + std::string(uri) +
        "', which this server does not serve; only mlflow-artifacts:/ locations are listed");
  }
  std::string_view rest = uri.substr(kScheme.size());
  if (rest.substr(0, 2) == "//") {
    size_t slash = rest.find('/', 2);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  }
  while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  return std::string(rest);
}

std::string Basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string ContentTypeFor(std::string_view path) {
  std::string name = Basename(path);
  if (name == "MLmodel") return "text/plain";
  size_t dot = name.rfind('.');
  std::string extension = dot == std::string::npos ? std::string() : name.substr(dot + 1);
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (extension == "txt" || extension == "log" || extension == "yaml" || extension == "yml" ||
      extension == "md") {
    return "text/plain";
  }
  if (extension == "json") return "application/json";
  if (extension == "csv") return "text/csv";
  if (extension == "png") return "image/png";
  if (extension == "jpg" || extension == "jpeg") return "image/jpeg";
  return "application/octet-stream";
}

// Always an attachment, so a browser never renders an artifact on this
// origin (as MLflow does).
std::string ContentDisposition(const std::string& name) {
  std::string ascii;
  bool replaced = false;
  for (unsigned char c : name) {
    bool plain = c >= 0x20 && c < 0x7F && c != '"' && c != '\\';
    ascii.push_back(plain ? static_cast<char>(c) : '_');
    replaced = replaced || !plain;
  }
  std::string header = "attachment; filename=\"" + ascii + "\"";
  if (replaced) header += "; filename*=UTF-8''" + PercentEncode(name);
  return header;
}

// The artifact path of a ".../artifacts/{path...}" request. Taken from the
// request path itself, because the router's capture collapses empty segments
// and those must reach the store's path rules.
std::string ArtifactPathOf(const HttpRequest& request, const std::string& prefix) {
  const std::string base = prefix + "/artifacts/";
  if (request.path.rfind(base, 0) == 0) return request.path.substr(base.size());
  auto it = request.path_params.find("path");
  return it == request.path_params.end() ? std::string() : it->second;
}

Json FileInfoJson(const storage::ArtifactInfo& info, const std::string& shown_path) {
  Json file = {{"path", shown_path}, {"is_dir", info.is_dir}};
  if (!info.is_dir) file["file_size"] = info.size_bytes;  // unset for directories, as in MLflow
  return file;
}

HttpResponse Upload(storage::ArtifactStore& store, HttpRequest& request, const std::string& prefix) {
  std::string path = ArtifactPathOf(request, prefix);
  auto stored =
      request.body_file.empty() ? store.PutBytes(path, request.body) : store.PutFile(path, request.body_file);
  if (!stored.ok()) return ErrorResponse(stored.status());
  return HttpResponse::FromJson(Json::object());
}

HttpResponse Download(storage::ArtifactStore& store, HttpRequest& request, const std::string& prefix) {
  std::string path = ArtifactPathOf(request, prefix);
  auto object = store.ObjectPath(path);
  if (!object.ok()) return ErrorResponse(object.status());
  HttpResponse response;
  response.file_path = *object;
  response.content_type = ContentTypeFor(path);
  response.headers.emplace_back("Content-Disposition", ContentDisposition(Basename(path)));
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return response;
}

// Deleting a path that holds nothing succeeds, as in MLflow (whose artifact
// repositories skip what is absent): `mlflow gc` deletes the artifacts of
// every deleted run, also of runs that logged none.
HttpResponse Remove(storage::ArtifactStore& store, HttpRequest& request, const std::string& prefix) {
  Status deleted = store.Delete(ArtifactPathOf(request, prefix));
  if (!deleted.ok() && deleted.code() != StatusCode::kNotFound) return ErrorResponse(deleted);
  return HttpResponse::FromJson(Json::object());
}

// GET .../mlflow-artifacts/artifacts?path=<dir>: children named by basename.
HttpResponse ListArtifacts(storage::ArtifactStore& store, HttpRequest& request) {
  auto listed = store.List(request.QueryParam("path").value_or(""));
  if (!listed.ok()) return ErrorResponse(listed.status());
  Json files = Json::array();
  for (const storage::ArtifactInfo& info : *listed) files.push_back(FileInfoJson(info, Basename(info.path)));
  return HttpResponse::FromJson({{"files", std::move(files)}});
}

// GET .../mlflow/artifacts/list?run_id=..&path=..: the run's artifacts,
// named by their path relative to the run's artifact root.
HttpResponse ListRunArtifacts(storage::ArtifactStore& store, tracking::TrackingStore& tracking,
                              HttpRequest& request) {
  std::optional<std::string> run_id = request.QueryParam("run_id");
  if (!run_id || run_id->empty()) run_id = request.QueryParam("run_uuid");
  if (!run_id || run_id->empty()) return ErrorResponse(MissingParameter("run_id"));
  std::string relative = request.QueryParam("path").value_or("");
  if (relative.size() > 1 && relative.back() == '/') relative.pop_back();
  if (!relative.empty()) {
    Status valid = storage::ValidateArtifactPath(relative);
    if (!valid.ok()) return ErrorResponse(valid);
  }
  auto run = tracking.GetRun(*run_id);
  if (!run.ok()) return ErrorResponse(run.status());
  const std::string& root_uri = run->info.artifact_uri;
  auto root = StorePathOfUri(root_uri);
  if (!root.ok()) return ErrorResponse(root.status());
  std::string directory = *root;
  if (!relative.empty()) {
    if (!directory.empty()) directory += '/';
    directory += relative;
  }
  auto listed = store.List(directory);
  if (!listed.ok()) return ErrorResponse(listed.status());
  Json files = Json::array();
  for (const storage::ArtifactInfo& info : *listed) {
    std::string name = Basename(info.path);
    files.push_back(FileInfoJson(info, relative.empty() ? name : relative + "/" + name));
  }
  return HttpResponse::FromJson({{"root_uri", root_uri}, {"files", std::move(files)}});
}

}  // namespace

void RegisterArtifactRoutes(Router& router, const ApiServices& services) {
  storage::ArtifactStore* store = services.artifacts;
  if (store == nullptr) return;
  for (const std::string& prefix : kArtifactPrefixes) {
    // The listing comes first: ".../artifacts/{path...}" also matches ".../artifacts".
    router.Add({"GET", prefix + "/artifacts", Role::kReader, false,
                [store](HttpRequest& request) { return ListArtifacts(*store, request); }});
    router.Add({"PUT", prefix + "/artifacts/{path...}", Role::kWriter, /*stream_body=*/true,
                [store, prefix](HttpRequest& request) { return Upload(*store, request, prefix); }});
    router.Add({"GET", prefix + "/artifacts/{path...}", Role::kReader, false,
                [store, prefix](HttpRequest& request) { return Download(*store, request, prefix); }});
    router.Add({"DELETE", prefix + "/artifacts/{path...}", Role::kWriter, false,
                [store, prefix](HttpRequest& request) { return Remove(*store, request, prefix); }});
  }
  tracking::TrackingStore* tracking = services.tracking;
  if (tracking == nullptr) return;
  router.AddEach(
      kMlflowPrefixes, "GET", "/artifacts/list", Role::kReader,
      [store, tracking](HttpRequest& request) { return ListRunArtifacts(*store, *tracking, request); });
}

}  // namespace kiln::server
