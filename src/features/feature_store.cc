#include "features/feature_store.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <shared_mutex>
#include <unordered_map>

#include "common/hashing.h"
#include "common/json_writer.h"
#include "data/csv.h"
#include "features/expectations.h"
#include "features/materializer.h"
#include "features/online_reader.h"
#include "features/push.h"
#include "features/rocksdb_online_store.h"
#include "storage/artifact_store.h"
#include "tracking/tracking_store.h"

namespace kiln::features {
namespace {

constexpr std::string_view kRunArtifactScheme = "mlflow-artifacts:/";
// MLflow stores dataset digests of at most 36 characters.
constexpr size_t kMaxDatasetDigestLength = 36;

// MLflow's column-spec type names.
std::string_view ColspecType(data::Type type) {
  switch (type) {
    case data::Type::kBool: return "boolean";
    case data::Type::kInt64: return "long";
    case data::Type::kFloat64: return "double";
    case data::Type::kString: return "string";
    case data::Type::kTimestamp: return "datetime";
  }
  return "string";
}

// A temporary file name in `directory` no other call of this process uses.
std::string TempFileName(const std::string& directory, std::string_view stem) {
  static std::atomic<int64_t> counter{0};
  return (std::filesystem::path(directory) /
          (std::string(stem) + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)) + ".csv"))
      .string();
}

Status CopyFile(const std::string& from, const std::string& to) {
  std::error_code error;
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing, error);
  if (error) return Internal("cannot copy " + from + " to " + to + ": " + error.message());
  return Status::Ok();
}

// The feature views (not on-demand views) whose online records `features`
// read: the views of feature-view features and, recursively, of the
// "view.feature" inputs their on-demand features reference. First-use order.
std::vector<std::string> OnlineViewsRead(const Repository& repository,
                                         const std::vector<ResolvedFeature>& features) {
  std::vector<std::string> views;
  std::set<std::string> seen;  // "view.feature"
  auto visit = [&](auto& self, const std::string& view, const std::string& name) -> void {
    if (!seen.insert(view + "." + name).second) return;
    const ResolvedOnDemandView* on_demand = repository.FindOnDemandView(view);
    if (on_demand == nullptr) {
      if (std::find(views.begin(), views.end(), view) == views.end()) views.push_back(view);
      return;
    }
    for (const ResolvedFeature& feature : on_demand->features) {
      if (feature.name != name || !feature.expression) continue;
      for (const std::string& input : feature.expression->referenced_inputs()) {
        const size_t dot = input.find('.');
        if (dot != std::string::npos) self(self, input.substr(0, dot), input.substr(dot + 1));
      }
    }
  };
  for (const ResolvedFeature& feature : features) visit(visit, feature.view, feature.name);
  return views;
}

}  // namespace

std::string_view FeatureStatusName(FeatureStatus status) {
  switch (status) {
    case FeatureStatus::kPresent: return "PRESENT";
    case FeatureStatus::kNullValue: return "NULL_VALUE";
    case FeatureStatus::kNotFound: return "NOT_FOUND";
    case FeatureStatus::kOutsideMaxAge: return "OUTSIDE_MAX_AGE";
  }
  return "NOT_FOUND";
}

Result<PushTarget> ParsePushTarget(std::string_view name) {
  if (name == "online") return PushTarget::kOnline;
  if (name == "offline") return PushTarget::kOffline;
  if (name == "online_and_offline") return PushTarget::kOnlineAndOffline;
  return InvalidArgument("unknown push target '" + std::string(name) +
                         "' (expected online, offline or online_and_offline)");
}

struct FeatureStore::Impl {
  Impl(storage::Database& database_in, storage::ArtifactStore& artifacts_in, tracking::TrackingStore& tracking_in,
       Clock& clock_in, FeatureStoreOptions options_in)
      : database(database_in),
        artifacts(artifacts_in),
        tracking(tracking_in),
        clock(clock_in),
        options(std::move(options_in)),
        registry(database_in, clock_in) {}

  // A project's cached repository and the version it was built from.
  struct Entry {
    std::shared_ptr<const Repository> repository;
    int64_t version = 0;
    int64_t checked_millis = 0;
  };
  // `now` is clock.NowMillis(), passed in by callers that need it too.
  Result<Entry> CurrentEntry(const std::string& project, int64_t now);
  Result<Entry> CurrentEntry(const std::string& project) { return CurrentEntry(project, clock.NowMillis()); }
  Result<std::string> ResolveProject(const std::string& project);

  storage::Database& database;
  storage::ArtifactStore& artifacts;
  tracking::TrackingStore& tracking;
  Clock& clock;
  const FeatureStoreOptions options;
  FeatureRegistry registry;
  OnlineReader reader;

  std::shared_mutex cache_mutex;
  std::unordered_map<std::string, Entry> cache;

  std::mutex online_mutex;
  std::unique_ptr<OnlineStore> online_owner;
  std::atomic<OnlineStore*> online{nullptr};
};

Result<std::string> FeatureStore::Impl::ResolveProject(const std::string& project) {
  if (!project.empty()) return project;
  KILN_ASSIGN_OR_RETURN(std::vector<ProjectSummary> projects, registry.ListProjects());
  if (projects.size() == 1) return projects[0].project;
  if (projects.empty()) return NotFound("no feature repository applied yet (run kiln features apply)");
  std::string names;
  for (const ProjectSummary& summary : projects) names += (names.empty() ? "" : ", ") + summary.project;
  return InvalidArgument("name a project: feature repositories are applied for several (" + names + ")");
}

Result<FeatureStore::Impl::Entry> FeatureStore::Impl::CurrentEntry(const std::string& requested, int64_t now) {
  auto fresh = [&](const Entry& entry) {
    return now >= entry.checked_millis && now - entry.checked_millis < options.repository_refresh_millis;
  };
  {
    std::shared_lock lock(cache_mutex);
    auto it = cache.find(requested);
    if (it != cache.end() && fresh(it->second)) return it->second;
  }
  KILN_ASSIGN_OR_RETURN(std::string project, ResolveProject(requested));
  KILN_ASSIGN_OR_RETURN(RepositoryVersion latest, registry.GetVersionInfo(project));
  Entry entry;
  {
    // Reuse the repository already built for this version, also when it
    // was cached under the other name ("" and the project's own).
    std::shared_lock lock(cache_mutex);
    for (const std::string* key : std::initializer_list<const std::string*>{&requested, &project}) {
      auto it = cache.find(*key);
      if (it != cache.end() && it->second.version == latest.version &&
          it->second.repository->project() == project) {
        entry = it->second;
        break;
      }
    }
  }
  if (!entry.repository) {
    KILN_ASSIGN_OR_RETURN(entry.repository, registry.GetRepository(project, latest.version));
    entry.version = latest.version;
  }
  entry.checked_millis = now;
  std::unique_lock lock(cache_mutex);
  cache[requested] = entry;
  cache[project] = entry;
  return entry;
}

FeatureStore::FeatureStore(storage::Database& database, storage::ArtifactStore& artifacts,
                           tracking::TrackingStore& tracking, Clock& clock, FeatureStoreOptions options)
    : impl_(std::make_unique<Impl>(database, artifacts, tracking, clock, std::move(options))) {}

FeatureStore::~FeatureStore() = default;

FeatureRegistry& FeatureStore::registry() { return impl_->registry; }

Result<ApplyResult> FeatureStore::Apply(const Repository& repository, const ApplyOptions& options) {
  Result<ApplyResult> result = impl_->registry.Apply(repository, options);
  std::unique_lock lock(impl_->cache_mutex);
  impl_->cache.clear();  // also entries cached under "" (the only project)
  return result;
}

Result<std::shared_ptr<const Repository>> FeatureStore::Current(const std::string& project) {
  KILN_ASSIGN_OR_RETURN(Impl::Entry entry, impl_->CurrentEntry(project));
  return entry.repository;
}

Result<OnlineStore*> FeatureStore::online() {
  if (OnlineStore* store = impl_->online.load(std::memory_order_acquire)) return store;
  std::lock_guard lock(impl_->online_mutex);
  if (OnlineStore* store = impl_->online.load(std::memory_order_acquire)) return store;
  const std::string& uri = impl_->options.online_uri;
  std::unique_ptr<OnlineStore> store;
  if (!impl_->options.online_cache && (uri.empty() || uri == "rocksdb" || uri.rfind("rocksdb:", 0) == 0)) {
    // Uncached RocksDB (benchmarks compare the two).
    std::string directory = (std::filesystem::path(impl_->options.data_dir) / "online").string();
    if (uri.rfind("rocksdb:", 0) == 0) directory = uri.substr(8);
    KILN_ASSIGN_OR_RETURN(store, RocksDbOnlineStore::Open(directory, RocksDbOnlineStore::Options()));
  } else {
    KILN_ASSIGN_OR_RETURN(store, OpenOnlineStore(uri, impl_->options.data_dir));
  }
  impl_->online_owner = std::move(store);
  impl_->online.store(impl_->online_owner.get(), std::memory_order_release);
  return impl_->online_owner.get();
}

Result<OnlineResponse> FeatureStore::GetOnlineFeatures(const OnlineRequest& request) {
  const int64_t now = impl_->clock.NowMillis();
  KILN_ASSIGN_OR_RETURN(Impl::Entry entry, impl_->CurrentEntry(request.project, now));
  KILN_ASSIGN_OR_RETURN(OnlineStore * store, online());
  const Repository& repository = *entry.repository;
  auto service_version = [&](const std::string& service) -> Result<int64_t> {
    KILN_ASSIGN_OR_RETURN(ServiceVersion version, impl_->registry.GetService(repository.project(), service));
    return version.version;
  };
  const int64_t judged_at = request.as_of_micros ? *request.as_of_micros / 1000 : now;
  return impl_->reader.Read(entry.repository, request, *store, service_version, judged_at);
}

Result<std::vector<MaterializeViewResult>> FeatureStore::Materialize(const MaterializeRequest& request) {
  KILN_ASSIGN_OR_RETURN(Impl::Entry entry, impl_->CurrentEntry(request.project));
  const Repository& repository = *entry.repository;
  std::vector<const ResolvedView*> views;
  if (request.views.empty()) {
    for (const ResolvedView& view : repository.views()) {
      if (view.def->online) views.push_back(&view);
    }
  } else {
    for (const std::string& name : request.views) {
      const ResolvedView* view = repository.FindView(name);
      if (view == nullptr) {
        return NotFound("project '" + repository.project() + "' has no feature view '" + name + "'");
      }
      if (!view->def->online) {
        return InvalidArgument("feature view '" + name + "' is not served online (online: false)");
      }
      views.push_back(view);
    }
  }
  const int64_t end = request.end_micros ? *request.end_micros : impl_->clock.NowMillis() * 1000;
  KILN_ASSIGN_OR_RETURN(OnlineStore * store, online());
  Materializer materializer(impl_->database, *store, impl_->clock);
  MaterializeOptions options;
  options.threads = impl_->options.threads;
  options.quiet = request.quiet;

  std::vector<MaterializeViewResult> results;
  for (const ResolvedView* view : views) {
    std::optional<int64_t> start = request.start_micros;
    if (request.incremental) {
      KILN_ASSIGN_OR_RETURN(std::optional<int64_t> last, materializer.LastEnd(repository.project(), view->def->name));
      if (last) start = last;
    }
    if (start && *start >= end) {  // already materialized up to `end`
      MaterializeViewResult result;
      result.view = view->def->name;
      result.start_micros = *start;
      result.end_micros = *start;
      results.push_back(result);
      continue;
    }
    KILN_ASSIGN_OR_RETURN(MaterializeViewResult result, materializer.Run(repository, *view, start, end, options));
    results.push_back(std::move(result));
  }
  return results;
}

Result<PushResult> FeatureStore::Push(const PushRequest& request) {
  KILN_ASSIGN_OR_RETURN(Impl::Entry entry, impl_->CurrentEntry(request.project));
  OnlineStore* store = nullptr;
  if (request.to != PushTarget::kOffline) {
    KILN_ASSIGN_OR_RETURN(store, online());
  }
  Pusher pusher(impl_->database, impl_->clock);
  return pusher.Run(*entry.repository, request, store, impl_->options.threads);
}

Result<OnlineReadiness> FeatureStore::CheckOnlineReadiness(const std::string& project, const std::string& service,
                                                           int64_t service_version) {
  KILN_ASSIGN_OR_RETURN(std::string resolved, impl_->ResolveProject(project));
  KILN_ASSIGN_OR_RETURN(RepositoryVersion latest, impl_->registry.GetVersionInfo(resolved));
  KILN_ASSIGN_OR_RETURN(Impl::Entry entry, impl_->CurrentEntry(resolved));
  std::shared_ptr<const Repository> repository = entry.repository;
  if (entry.version != latest.version) {  // the cache has not caught up yet
    KILN_ASSIGN_OR_RETURN(repository, impl_->registry.GetRepository(resolved, latest.version));
  }
  KILN_ASSIGN_OR_RETURN(OnlineStore * store, online());
  OnlineReadinessChecker checker(impl_->database, impl_->registry);
  return checker.Check(*repository, latest.version, store->Describe(), service, service_version);
}

Result<std::optional<int64_t>> FeatureStore::MaterializedUntil(const std::string& project,
                                                               const std::string& service) {
  KILN_ASSIGN_OR_RETURN(Impl::Entry entry, impl_->CurrentEntry(project));
  const Repository& repository = *entry.repository;
  KILN_ASSIGN_OR_RETURN(std::vector<ResolvedFeature> features, repository.ResolveService(service));
  const std::vector<std::string> views = OnlineViewsRead(repository, features);
  if (views.empty()) return std::optional<int64_t>();  // only request-time features: nothing materialized
  KILN_ASSIGN_OR_RETURN(OnlineStore * store, online());
  std::string sql =
      "SELECT view, MAX(end_micros) FROM feature_materializations WHERE project = ? AND online_store = ? "
      "AND view IN (";
  std::vector<storage::SqlValue> params = {repository.project(), store->Describe()};
  for (size_t i = 0; i < views.size(); ++i) {
    sql += i == 0 ? "?" : ", ?";
    params.emplace_back(views[i]);
  }
  sql += ") GROUP BY view";
  KILN_ASSIGN_OR_RETURN(auto connection, impl_->database.Acquire());
  KILN_ASSIGN_OR_RETURN(storage::Rows rows, connection->Query(sql, params));
  std::optional<int64_t> until;
  size_t materialized = 0;
  for (const storage::Row& row : rows) {
    if (row.IsNull(1)) continue;
    ++materialized;
    until = until ? std::min(*until, row.Int(1)) : row.Int(1);
  }
  if (materialized < views.size()) return std::optional<int64_t>();  // a view was never materialized here
  return until;
}

Result<TrainingSet> FeatureStore::BuildTrainingFrame(const Repository& repository, TrainingSetRequest request) {
  if (request.threads == 0) request.threads = impl_->options.threads;
  SourceReadOptions source_options;
  source_options.metadata = &impl_->database;
  source_options.project = repository.project();
  source_options.quiet = request.quiet;
  return BuildTrainingSet(repository, request, source_options);
}

Result<std::vector<QuarantinedRow>> FeatureStore::ListQuarantine(const std::string& project, int64_t limit) {
  if (limit <= 0) limit = 100;
  KILN_ASSIGN_OR_RETURN(auto connection, impl_->database.Acquire());
  std::string sql =
      "SELECT id, project, view_or_source, origin, reason, row_json, created_at FROM feature_quarantine";
  std::vector<storage::SqlValue> params;
  if (!project.empty()) {
    sql += " WHERE project = ?";
    params.emplace_back(project);
  }
  sql += " ORDER BY id DESC LIMIT ?";
  params.emplace_back(limit);
  KILN_ASSIGN_OR_RETURN(storage::Rows rows, connection->Query(sql, params));
  std::vector<QuarantinedRow> out;
  out.reserve(rows.size());
  for (const storage::Row& row : rows) {
    out.push_back(QuarantinedRow{row.Int(0), row.String(1), row.String(2), row.String(3), row.String(4),
                                 row.String(5), row.Int(6)});
  }
  return out;
}

Result<TrainingSetInfo> FeatureStore::CreateTrainingSet(const TrainingSetJob& job) {
  Impl& impl = *impl_;
  KILN_ASSIGN_OR_RETURN(Impl::Entry entry, impl.CurrentEntry(job.project));
  const Repository& repository = *entry.repository;
  const std::string& project = repository.project();
  const std::string name = !job.name.empty() ? job.name : !job.request.service.empty() ? job.request.service : "features";
  if (name.find('/') != std::string::npos) {
    return InvalidArgument("training set name '" + name + "' must not contain '/'");
  }

  TrainingSetInfo info;
  info.repository_version = entry.version;
  if (!job.request.service.empty()) {
    KILN_ASSIGN_OR_RETURN(ServiceVersion service, impl.registry.GetService(project, job.request.service));
    info.service_version = service.version;
  }
  TrainingSetRequest request = job.request;
  if (request.threads == 0) request.threads = impl.options.threads;
  SourceReadOptions source_options;
  source_options.metadata = &impl.database;
  source_options.project = project;
  source_options.quiet = request.quiet;
  KILN_ASSIGN_OR_RETURN(TrainingSet set, BuildTrainingSet(repository, request, source_options));
  info.rows = set.rows;
  info.columns = set.frame.names();
  info.null_fractions = set.null_fractions;

  // CSV → digest → artifact store (content-addressed: the same bytes are
  // stored once however often they are built).
  const std::string temp_directory = impl.artifacts.temp_directory();
  std::error_code error;
  std::filesystem::create_directories(temp_directory, error);
  if (error) return Internal("cannot create " + temp_directory + ": " + error.message());
  const std::string temp = TempFileName(temp_directory, "training-set");
  Status written = data::WriteCsvFile(set.frame, temp);
  if (!written.ok()) {
    std::filesystem::remove(temp, error);
    return written;
  }
  Result<std::string> digest = Sha256File(temp);
  if (!digest.ok()) {
    std::filesystem::remove(temp, error);
    return digest.status();
  }
  info.digest = *digest;
  info.artifact_path = "feature-sets/" + project + "/" + info.digest + ".csv";
  Result<storage::ArtifactInfo> stored = impl.artifacts.PutFile(info.artifact_path, temp);
  if (!stored.ok()) {
    std::filesystem::remove(temp, error);
    return stored.status();
  }

  std::string columns_json;
  {
    JsonWriter writer(&columns_json);
    writer.BeginArray();
    for (size_t c = 0; c < set.frame.num_columns(); ++c) {
      writer.BeginObject();
      writer.Field("name", set.frame.names()[c]);
      writer.Field("type", data::TypeName(set.frame.column(c).type()));
      writer.EndObject();
    }
    writer.EndArray();
  }
  const int64_t now_millis = impl.clock.NowMillis();
  KILN_RETURN_IF_ERROR(impl.database.InTransaction([&](storage::Connection& connection) -> Status {
    KILN_ASSIGN_OR_RETURN(
        int64_t changed,
        connection.Execute("INSERT INTO feature_training_sets (digest, project, name, service, service_version, "
                           "repository_version, row_count, columns_json, created_at) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (project, digest, name) DO NOTHING",
                           {info.digest, project, name, job.request.service, info.service_version,
                            info.repository_version, info.rows, columns_json, now_millis}));
    (void)changed;
    return Status::Ok();
  }));

  if (job.run_id.empty()) return info;

  // The run's copy and its dataset input.
  KILN_ASSIGN_OR_RETURN(tracking::Run run, impl.tracking.GetRun(job.run_id));
  const std::string& run_uri = run.info.artifact_uri;
  if (run_uri.rfind(kRunArtifactScheme, 0) != 0) {
    return FailedPrecondition("run '" + job.run_id + "' keeps its artifacts at '" + run_uri +
                              "', outside Kiln's artifact store; cannot attach the training set");
  }
  std::string run_root = run_uri.substr(kRunArtifactScheme.size());
  while (!run_root.empty() && run_root.front() == '/') run_root.erase(0, 1);
  const std::string run_path = run_root + "/training_set/" + name + ".csv";
  KILN_ASSIGN_OR_RETURN(std::string object, impl.artifacts.ObjectPath(info.artifact_path));
  const std::string copy = TempFileName(temp_directory, "training-set");
  KILN_RETURN_IF_ERROR(CopyFile(object, copy));
  Result<storage::ArtifactInfo> run_stored = impl.artifacts.PutFile(run_path, copy);
  if (!run_stored.ok()) {
    std::filesystem::remove(copy, error);
    return run_stored.status();
  }
  info.artifact_uri = run_uri + "/training_set/" + name + ".csv";

  std::string source;
  {
    JsonWriter writer(&source);
    writer.BeginObject();
    writer.Field("project", project);
    writer.Field("service", job.request.service);
    writer.Field("service_version", info.service_version);
    writer.Field("repository_version", info.repository_version);
    writer.Field("digest", info.digest);
    writer.Field("artifact_path", info.artifact_path);
    writer.EndObject();
  }
  std::string schema;
  {
    JsonWriter writer(&schema);
    writer.BeginObject();
    writer.Key("mlflow_colspec");
    writer.BeginArray();
    for (size_t c = 0; c < set.frame.num_columns(); ++c) {
      writer.BeginObject();
      writer.Field("name", set.frame.names()[c]);
      writer.Field("type", ColspecType(set.frame.column(c).type()));
      writer.EndObject();
    }
    writer.EndArray();
    writer.EndObject();
  }
  tracking::DatasetInput input;
  input.tags.push_back({"mlflow.data.context", "training"});
  input.dataset.name = name;
  input.dataset.digest = info.digest.substr(0, kMaxDatasetDigestLength);
  input.dataset.source_type = "kiln-feature-service";
  input.dataset.source = source;
  input.dataset.schema = schema;
  input.dataset.profile = "{\"num_rows\":" + std::to_string(info.rows) + "}";
  KILN_RETURN_IF_ERROR(impl.tracking.LogInputs(job.run_id, {input}));
  return info;
}

}  // namespace kiln::features
