#include "bench_repository.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "data/timestamp.h"
#include "features/definition_loader.h"
#include "features/feature_registry.h"
#include "features/migrations.h"
#include "features/repository.h"
#include "features/source_schema.h"
#include "storage/artifact_store.h"
#include "storage/database.h"
#include "storage/migrations.h"
#include "tracking/migrations.h"
#include "tracking/tracking_store.h"

namespace kiln_bench {

namespace fs = std::filesystem;
using kiln::Result;
using kiln::Status;

namespace {

constexpr int kValueColumns = 10;

// f07 = v7, f17 = v7 + 1.0, …: every feature reads a source column, so
// materialization evaluates `features` expressions per row.
std::string FeatureExpression(int feature) {
  std::string column = "v" + std::to_string(feature % kValueColumns);
  int offset = feature / kValueColumns;
  return offset == 0 ? column : column + " + " + std::to_string(offset) + ".0";
}

std::string RepositoryYaml(int features) {
  std::string yaml =
      "# Written by kiln_bench_features (bench/features/bench_repository.cc).\n"
      "project: bench\n"
      "sources:\n"
      "  - name: activity\n"
      "    kind: csv\n"
      "    path: activity.csv\n"
      "    timestamp_field: event_time\n"
      "    timezone: UTC\n"
      "    columns: {customer: int64";
  for (int v = 0; v < kValueColumns; ++v) yaml += ", v" + std::to_string(v) + ": float64";
  yaml +=
      "}\n"
      "entities:\n"
      "  - name: customer\n"
      "    join_keys: [customer]\n"
      "feature_views:\n"
      "  - name: customer_stats\n"
      "    entities: [customer]\n"
      "    source: activity\n"
      "    ttl: 30d\n"
      "    features:\n";
  char name[16];
  for (int f = 0; f < features; ++f) {
    std::snprintf(name, sizeof name, "f%02d", f);
    yaml += "      - name: " + std::string(name) + "\n        expression: \"" + FeatureExpression(f) +
            "\"\n        type: float64\n";
  }
  yaml +=
      "feature_services:\n"
      "  - name: scoring\n"
      "    features: [customer_stats.*]\n";
  return yaml;
}

}  // namespace

Result<int64_t> WriteSyntheticRepository(const std::string& directory,
                                         const SyntheticRepositoryOptions& options) {
  std::error_code error;
  fs::create_directories(directory, error);
  if (error) return kiln::Unavailable("cannot create " + directory + ": " + error.message());
  {
    std::ofstream yaml(fs::path(directory) / "repository.yaml");
    yaml << RepositoryYaml(options.features);
    if (!yaml) return kiln::Unavailable("cannot write " + directory + "/repository.yaml");
  }
  int64_t end = options.end_micros;
  if (end == 0) end = kiln::SystemClock::Instance().NowMillis() * 1000;
  const int64_t last = end - 60 * kiln::data::kMicrosPerSecond;
  const int64_t first = last - options.span_seconds * kiln::data::kMicrosPerSecond;

  const std::string path = (fs::path(directory) / "activity.csv").string();
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) return kiln::Unavailable("cannot write " + path);
  std::fputs("customer,event_time", file);
  for (int v = 0; v < kValueColumns; ++v) std::fprintf(file, ",v%d", v);
  std::fputc('\n', file);
  std::mt19937_64 random(options.seed);
  std::uniform_real_distribution<double> value(-100.0, 100.0);
  const int64_t rows = std::max<int64_t>(options.rows, 1);
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t time = rows == 1 ? last : first + (last - first) / (rows - 1) * row;
    std::fprintf(file, "%lld,%s", static_cast<long long>(row % options.entities),
                 kiln::data::FormatTimestamp(time).c_str());
    for (int v = 0; v < kValueColumns; ++v) std::fprintf(file, ",%.4f", value(random));
    std::fputc('\n', file);
  }
  const bool failed = std::ferror(file) != 0;
  const long bytes = std::ftell(file);
  if (std::fclose(file) != 0 || failed) return kiln::Unavailable("cannot write " + path);
  return static_cast<int64_t>(bytes);
}

Result<std::unique_ptr<FeatureStoreHarness>> FeatureStoreHarness::Open(const std::string& data_dir,
                                                                       const std::string& online_uri,
                                                                       int threads) {
  std::unique_ptr<FeatureStoreHarness> harness(new FeatureStoreHarness());
  std::error_code error;
  fs::create_directories(data_dir, error);
  if (error) return kiln::Unavailable("cannot create " + data_dir + ": " + error.message());
  kiln::storage::DatabaseOptions database_options;
  database_options.data_dir = data_dir;
  database_options.durable_commits = false;
  KILN_ASSIGN_OR_RETURN(harness->database_, kiln::storage::Database::Open(database_options));
  KILN_RETURN_IF_ERROR(harness->database_->Migrate(
      {&kiln::storage::Migrations(), &kiln::tracking::Migrations(), &kiln::features::Migrations()}));
  kiln::Clock& clock = kiln::SystemClock::Instance();
  harness->artifacts_ = std::make_unique<kiln::storage::ArtifactStore>(
      *harness->database_, (fs::path(data_dir) / "artifacts").string(), clock);
  harness->tracking_ = std::make_unique<kiln::tracking::TrackingStore>(*harness->database_, clock, harness->ids_);
  kiln::features::FeatureStoreOptions options;
  options.data_dir = data_dir;
  options.online_uri = online_uri;
  options.threads = threads;
  harness->store_ = std::make_unique<kiln::features::FeatureStore>(
      *harness->database_, *harness->artifacts_, *harness->tracking_, clock, options);
  return harness;
}

FeatureStoreHarness::~FeatureStoreHarness() {
  store_.reset();
  tracking_.reset();
  artifacts_.reset();
  database_.reset();
}

Status FeatureStoreHarness::ApplyDirectory(const std::string& repository_dir) {
  KILN_ASSIGN_OR_RETURN(kiln::features::RepositoryDef def, kiln::features::LoadRepositoryDir(repository_dir));
  const std::string root = def.root;
  KILN_ASSIGN_OR_RETURN(auto repository,
                        kiln::features::Repository::Build(std::move(def), kiln::features::DefaultSchemaResolver(root)));
  KILN_ASSIGN_OR_RETURN(auto applied, store_->Apply(*repository, kiln::features::ApplyOptions()));
  (void)applied;
  return Status::Ok();
}

TemporaryDirectory::TemporaryDirectory(const std::string& prefix) {
  std::string pattern = (fs::temp_directory_path() / (prefix + ".XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    std::fprintf(stderr, "kiln_bench_features: cannot create a directory like %s\n", pattern.c_str());
    std::exit(1);
  }
  path_ = pattern;
}

TemporaryDirectory::~TemporaryDirectory() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

void CheckOk(const Status& status, const std::string& what) {
  if (status.ok()) return;
  std::fprintf(stderr, "kiln_bench_features: %s: %s\n", what.c_str(), status.ToString().c_str());
  std::exit(1);
}

}  // namespace kiln_bench
