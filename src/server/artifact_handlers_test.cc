#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "common/hashing.h"
#include "server/api.h"
#include "server/http_server.h"
#include "storage/artifact_store.h"
#include "storage/migrations.h"
#include "tracking/migrations.h"
#include "tracking/tracking_store.h"

namespace kiln::server {
namespace {

namespace fs = std::filesystem;

constexpr const char* kArtifacts = "/api/2.0/mlflow-artifacts/artifacts";

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void WriteWhole(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

int64_t ProcStatusKib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::strtoll(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return -1;
}

// Runs a shell command; returns its standard output and sets `exit_code`.
std::string RunCommand(const std::string& command, int* exit_code) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    *exit_code = -1;
    return output;
  }
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  int status = ::pclose(pipe);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return output;
}

const std::string* FindHeader(const HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return &value;
  }
  return nullptr;
}

class ArtifactHandlersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "kiln-artifact-api-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    storage::DatabaseOptions options;
    options.data_dir = dir_;
    auto database = storage::Database::Open(options);
    ASSERT_TRUE(database.ok()) << database.status().ToString();
    database_ = std::move(*database);
    Status migrated = database_->Migrate({&storage::Migrations(), &tracking::Migrations()});
    ASSERT_TRUE(migrated.ok()) << migrated.ToString();
    artifacts_ = std::make_unique<storage::ArtifactStore>(*database_, dir_ + "/artifacts", clock_);
    tracking_ = std::make_unique<tracking::TrackingStore>(*database_, clock_, ids_);
    services_.database = database_.get();
    services_.artifacts = artifacts_.get();
    services_.tracking = tracking_.get();
    RegisterArtifactRoutes(router_, services_);
    fs::create_directories(dir_ + "/tmp");
  }

  void TearDown() override {
    artifacts_.reset();
    tracking_.reset();
    database_.reset();
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }

  HttpResponse Send(const std::string& method, const std::string& path, Role role = Role::kAdmin) {
    HttpRequest request;
    request.method = method;
    size_t question = path.find('?');
    request.path = path.substr(0, question);
    if (question != std::string::npos) {
      std::string query = path.substr(question + 1);
      size_t equals = query.find('=');
      request.query.emplace(query.substr(0, equals), query.substr(equals + 1));
    }
    request.role = role;
    return router_.Dispatch(request);
  }

  // A PUT as the server hands it over: the body already in a temporary file.
  HttpResponse Upload(const std::string& path, std::string_view content, Role role = Role::kWriter) {
    HttpRequest request;
    request.method = "PUT";
    request.path = std::string(kArtifacts) + "/" + path;
    request.body_file = dir_ + "/tmp/upload-" + std::to_string(++uploads_);
    WriteWhole(request.body_file, content);
    request.role = role;
    HttpResponse response = router_.Dispatch(request);
    last_body_file_ = request.body_file;
    return response;
  }

  std::string dir_;
  FakeClock clock_;
  IdGenerator ids_{7};
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<storage::ArtifactStore> artifacts_;
  std::unique_ptr<tracking::TrackingStore> tracking_;
  ApiServices services_;
  Router router_;
  int uploads_ = 0;
  std::string last_body_file_;
};

TEST_F(ArtifactHandlersTest, UploadThenDownloadStreamsTheFile) {
  HttpResponse put = Upload("1/run/artifacts/model/weights.bin", "weights");
  EXPECT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.body, "{}");
  EXPECT_FALSE(fs::exists(last_body_file_)) << "the upload was moved into the store";

  HttpResponse get =
      Send("GET", std::string(kArtifacts) + "/1/run/artifacts/model/weights.bin", Role::kReader);
  EXPECT_EQ(get.status, 200);
  ASSERT_FALSE(get.file_path.empty()) << "downloads stream from the object file";
  EXPECT_EQ(ReadWhole(get.file_path), "weights");
  EXPECT_EQ(get.content_type, "application/octet-stream");
  ASSERT_NE(FindHeader(get, "Content-Disposition"), nullptr);
  EXPECT_EQ(*FindHeader(get, "Content-Disposition"), "attachment; filename=\"weights.bin\"");
  ASSERT_NE(FindHeader(get, "X-Content-Type-Options"), nullptr);
  EXPECT_EQ(*FindHeader(get, "X-Content-Type-Options"), "nosniff");

  HttpResponse ajax =
      Send("GET", "/ajax-api/2.0/mlflow-artifacts/artifacts/1/run/artifacts/model/weights.bin");
  EXPECT_EQ(ajax.status, 200);
  EXPECT_EQ(ajax.file_path, get.file_path);
}

TEST_F(ArtifactHandlersTest, DownloadContentTypesFollowTheExtension) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"notes.txt", "text/plain"},
      {"train.log", "text/plain"},
      {"metrics.json", "application/json"},
      {"model.pkl", "application/octet-stream"},
      {"NO_EXTENSION", "application/octet-stream"},
      {"UPPER.JSON", "application/json"},
  };
  for (const auto& [name, type] : cases) {
    ASSERT_EQ(Upload(name, "x").status, 200);
    HttpResponse get = Send("GET", std::string(kArtifacts) + "/" + name);
    EXPECT_EQ(get.content_type, type) << name;
  }
}

TEST_F(ArtifactHandlersTest, ListReturnsMlflowFileInfos) {
  ASSERT_EQ(Upload("exp/run/artifacts/metrics.json", "{\"a\": 1}").status, 200);
  ASSERT_EQ(Upload("exp/run/artifacts/model/MLmodel", "flavors: {}").status, 200);

  HttpResponse listed = Send("GET", std::string(kArtifacts) + "?path=exp/run/artifacts", Role::kReader);
  EXPECT_EQ(listed.status, 200);
  EXPECT_EQ(Json::parse(listed.body),
            Json::parse(R"({"files": [{"path": "metrics.json", "is_dir": false, "file_size": 8},
                                      {"path": "model", "is_dir": true}]})"));
  HttpResponse root = Send("GET", "/ajax-api/2.0/mlflow-artifacts/artifacts");
  EXPECT_EQ(Json::parse(root.body), Json::parse(R"({"files": [{"path": "exp", "is_dir": true}]})"));
  HttpResponse missing = Send("GET", std::string(kArtifacts) + "?path=nothing/here");
  EXPECT_EQ(missing.status, 200);
  EXPECT_EQ(Json::parse(missing.body), Json::parse(R"({"files": []})"));
}

TEST_F(ArtifactHandlersTest, ErrorsUseMlflowShapes) {
  HttpResponse missing = Send("GET", std::string(kArtifacts) + "/nope.txt");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(
      Json::parse(missing.body),
      Json::parse(
          R"({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "artifact 'nope.txt' does not exist"})"));

  HttpResponse traversal = Upload("../outside.txt", "x");
  EXPECT_EQ(traversal.status, 400);
  EXPECT_EQ(Json::parse(traversal.body), Json::parse(R"({"error_code": "INVALID_PARAMETER_VALUE",
                            "message": "invalid artifact path '../outside.txt': '.' and '..' segments are not allowed"})"));
  EXPECT_TRUE(fs::exists(last_body_file_)) << "a rejected upload stays for the server to remove";

  HttpResponse empty_segment = Upload("a//b.txt", "x");
  EXPECT_EQ(empty_segment.status, 400);
  EXPECT_EQ(Json::parse(empty_segment.body)["message"],
            "invalid artifact path 'a//b.txt': empty segments ('//' or a trailing '/') are not allowed");

  HttpResponse bad_listing = Send("GET", std::string(kArtifacts) + "?path=../x");
  EXPECT_EQ(bad_listing.status, 400);
  EXPECT_EQ(Json::parse(bad_listing.body)["error_code"], "INVALID_PARAMETER_VALUE");

  ASSERT_EQ(Upload("dir/file.bin", "x").status, 200);
  HttpResponse directory = Send("GET", std::string(kArtifacts) + "/dir");
  EXPECT_EQ(directory.status, 400);
  EXPECT_EQ(Json::parse(directory.body)["message"], "artifact 'dir' is a directory, not a file");
}

TEST_F(ArtifactHandlersTest, DeleteRemovesFilesAndDirectoriesAndIgnoresAbsentPaths) {
  ASSERT_EQ(Upload("run/a.txt", "a").status, 200);
  ASSERT_EQ(Upload("run/model/b.bin", "b").status, 200);

  HttpResponse deleted = Send("DELETE", std::string(kArtifacts) + "/run/model", Role::kWriter);
  EXPECT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(deleted.body, "{}");
  EXPECT_EQ(Send("GET", std::string(kArtifacts) + "/run/model/b.bin").status, 404);
  EXPECT_EQ(Send("GET", std::string(kArtifacts) + "/run/a.txt").status, 200);
  // Deleting what is not there succeeds, as in MLflow (mlflow gc relies on it).
  HttpResponse again = Send("DELETE", std::string(kArtifacts) + "/run/model", Role::kWriter);
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.body, "{}");
  HttpResponse bad = Send("DELETE", std::string(kArtifacts) + "/run/../x", Role::kWriter);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Json::parse(bad.body)["error_code"], "INVALID_PARAMETER_VALUE");
}

TEST_F(ArtifactHandlersTest, RoutesRequireTheirRoles) {
  HttpResponse reader_put = Upload("x.txt", "x", Role::kReader);
  EXPECT_EQ(reader_put.status, 403);
  EXPECT_EQ(Json::parse(reader_put.body)["message"],
            "PUT /api/2.0/mlflow-artifacts/artifacts/x.txt needs the writer role; this token has reader");
  EXPECT_EQ(Send("DELETE", std::string(kArtifacts) + "/x.txt", Role::kReader).status, 403);
  EXPECT_EQ(Send("GET", std::string(kArtifacts) + "/x.txt", Role::kNone).status, 401);
  EXPECT_EQ(Send("GET", kArtifacts, Role::kNone).status, 401);
}

TEST_F(ArtifactHandlersTest, TrackingListResolvesTheRunsArtifactRoot) {
  auto run = tracking_->CreateRun(tracking::CreateRunRequest{});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  const std::string& uri = run->info.artifact_uri;
  const std::string prefix = "mlflow-artifacts:/";
  ASSERT_EQ(uri.rfind(prefix, 0), 0u) << uri;
  const std::string root = uri.substr(prefix.size());
  ASSERT_EQ(Upload(root + "/model/MLmodel", "flavors: {}").status, 200);
  ASSERT_EQ(Upload(root + "/model/data/model.xgb", "trees").status, 200);
  ASSERT_EQ(Upload(root + "/roc.png", "png").status, 200);

  const std::string run_id = run->info.run_id;
  HttpResponse top = Send("GET", "/api/2.0/mlflow/artifacts/list?run_id=" + run_id, Role::kReader);
  EXPECT_EQ(top.status, 200) << top.body;
  Json expected_top = {{"root_uri", uri}, {"files", Json::parse(R"([{"path": "model", "is_dir": true},
                                                  {"path": "roc.png", "is_dir": false, "file_size": 3}])")}};
  EXPECT_EQ(Json::parse(top.body), expected_top);

  HttpRequest request;
  request.method = "GET";
  request.path = "/ajax-api/2.0/mlflow/artifacts/list";
  request.query = {{"run_id", run_id}, {"path", "model"}};
  request.role = Role::kReader;
  HttpResponse model = router_.Dispatch(request);
  EXPECT_EQ(model.status, 200) << model.body;
  Json expected_model = {
      {"root_uri", uri},
      {"files", Json::parse(R"([{"path": "model/MLmodel", "is_dir": false, "file_size": 11},
                                                    {"path": "model/data", "is_dir": true}])")}};
  EXPECT_EQ(Json::parse(model.body), expected_model);

  HttpResponse unknown =
      Send("GET", "/api/2.0/mlflow/artifacts/list?run_id=0123456789abcdef0123456789abcdef");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(Json::parse(unknown.body)["error_code"], "RESOURCE_DOES_NOT_EXIST");
  HttpResponse no_run = Send("GET", "/api/2.0/mlflow/artifacts/list");
  EXPECT_EQ(no_run.status, 400);
  EXPECT_EQ(
      Json::parse(no_run.body)["message"],
      "Missing value for required parameter 'run_id'. See the API docs for more information about request "
      "parameters.");
}

// End to end over a real socket: a 100 MiB upload with Expect: 100-continue
// streams to disk and back without the server holding it in memory.
TEST_F(ArtifactHandlersTest, RealHttpStreamsA100MiBArtifactBothWays) {
  AllowAllAuthenticator authenticator(Role::kWriter);
  HttpServerOptions options;
  options.port = 0;
  options.temp_dir = dir_ + "/tmp";
  options.threads = 2;
  options.handle_signals = false;
  HttpServer server(router_, authenticator, options);
  ASSERT_TRUE(server.Start().ok());
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port()) + kArtifacts;

  const std::string upload = dir_ + "/big.bin";
  constexpr size_t kSize = 100 << 20;
  std::string digest;
  {
    std::mt19937_64 random(99);
    std::vector<uint64_t> chunk((1 << 20) / sizeof(uint64_t));
    std::ofstream out(upload, std::ios::binary);
    Sha256 hasher;
    for (size_t written = 0; written < kSize; written += 1 << 20) {
      for (uint64_t& word : chunk) word = random();
      out.write(reinterpret_cast<const char*>(chunk.data()), 1 << 20);
      hasher.Update(chunk.data(), 1 << 20);
    }
    digest = hasher.FinishHex();
  }
  { std::ofstream("/proc/self/clear_refs") << "5"; }
  int64_t before_kib = ProcStatusKib("VmRSS");

  int exit_code = 0;
  std::string trace = dir_ + "/curl-put.trace";
  std::string code = RunCommand("curl -sS -v -T '" + upload +
                                    "' -H 'Expect: 100-continue' -o /dev/null -w '%{http_code}' '" + base +
                                    "/big/blob.bin' 2>'" + trace + "'",
                                &exit_code);
  EXPECT_EQ(exit_code, 0) << ReadWhole(trace);
  EXPECT_EQ(code, "200");
  EXPECT_NE(ReadWhole(trace).find("HTTP/1.1 100 Continue"), std::string::npos)
      << "the server answers Expect: 100-continue before the body";

  std::string downloaded = dir_ + "/download.bin";
  std::string headers = dir_ + "/download.headers";
  code = RunCommand(
      "curl -sS -D '" + headers + "' -o '" + downloaded + "' -w '%{http_code}' '" + base + "/big/blob.bin'",
      &exit_code);
  EXPECT_EQ(exit_code, 0);
  EXPECT_EQ(code, "200");
  auto downloaded_digest = Sha256File(downloaded);
  ASSERT_TRUE(downloaded_digest.ok());
  EXPECT_EQ(*downloaded_digest, digest);
  EXPECT_NE(ReadWhole(headers).find("Content-Length: " + std::to_string(kSize)), std::string::npos);

  int64_t peak_growth_kib = ProcStatusKib("VmHWM") - before_kib;
  EXPECT_LT(peak_growth_kib, 40 * 1024)
      << "peak RSS grew by " << peak_growth_kib << " KiB for 100 MiB each way";
  EXPECT_TRUE(fs::is_empty(dir_ + "/tmp")) << "no upload file is left behind";
  server.Stop();
  server.Wait();
}

}  // namespace
}  // namespace kiln::server
