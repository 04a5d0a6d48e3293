#include "training/reproduction.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "training/dependency_snapshot.h"
#include "training/run_snapshot.h"
#include "training/training_service_internal.h"

namespace kiln::training {
namespace {

// Inputs and logs are not outputs: they are compared through the snapshot.
bool IsOutput(const std::string& path) {
  for (const char* prefix : {"logs/", "snapshot/", "training_set/", "data/"}) {
    if (path.rfind(prefix, 0) == 0) return false;
  }
  return true;
}

Status ListFiles(storage::ArtifactStore& artifacts, const std::string& root, const std::string& directory,
                 std::map<std::string, std::string>& files) {
  const std::string full = directory.empty() ? root : root + "/" + directory;
  Result<std::vector<storage::ArtifactInfo>> listing = artifacts.List(full);
  if (!listing.ok()) return listing.status().code() == StatusCode::kNotFound ? Status::Ok() : listing.status();
  for (const storage::ArtifactInfo& info : *listing) {
    std::string relative = info.path.substr(info.path.rfind('/') + 1);
    if (!directory.empty()) relative = directory + "/" + relative;
    if (info.is_dir) {
      KILN_RETURN_IF_ERROR(ListFiles(artifacts, root, relative, files));
    } else if (IsOutput(relative)) {
      files[relative] = info.digest;
    }
  }
  return Status::Ok();
}

std::string Short(const std::string& digest) { return digest.empty() ? "none" : digest.substr(0, 12) + "…"; }

std::string FormatValue(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.10g", value);
  return buffer;
}

std::string TagOf(const tracking::Run& run, const std::string& key) {
  for (const tracking::RunTag& tag : run.data.tags) {
    if (tag.key == key) return tag.value;
  }
  return "";
}

}  // namespace

Result<ReproductionReport> CompareReproduction(tracking::TrackingStore& tracking, storage::ArtifactStore& artifacts,
                                               const std::string& run_id) {
  KILN_ASSIGN_OR_RETURN(tracking::Run run, tracking.GetRun(run_id));
  const std::string original_id = TagOf(run, "kiln.reproduces");
  if (original_id.empty()) return InvalidArgument("run " + run_id + " is not a reproduction (no kiln.reproduces tag)");
  KILN_ASSIGN_OR_RETURN(tracking::Run original, tracking.GetRun(original_id));
  ReproductionReport report;
  report.original_run_id = original_id;
  report.run_id = run_id;
  report.status = std::string(tracking::RunStatusName(run.info.status));

  KILN_ASSIGN_OR_RETURN(std::string original_root, RunArtifactRoot(original.info));
  KILN_ASSIGN_OR_RETURN(std::string root, RunArtifactRoot(run.info));
  std::map<std::string, std::string> before, after;
  KILN_RETURN_IF_ERROR(ListFiles(artifacts, original_root, "", before));
  KILN_RETURN_IF_ERROR(ListFiles(artifacts, root, "", after));
  std::set<std::string> paths;
  for (const auto& [path, digest] : before) paths.insert(path);
  for (const auto& [path, digest] : after) paths.insert(path);
  bool any_model = false;
  report.model_identical = true;
  for (const std::string& path : paths) {
    FileComparison file{path, before.count(path) ? before[path] : "", after.count(path) ? after[path] : ""};
    if (path.rfind("model/", 0) == 0) {
      any_model = true;
      if (!file.identical()) report.model_identical = false;
    }
    if (!file.identical()) {
      report.differences.push_back(path + " differs (sha256 " + Short(file.original_sha256) + " → " +
                                   Short(file.reproduction_sha256) + ")");
    }
    report.files.push_back(std::move(file));
  }
  if (!any_model) {
    report.model_identical = false;
    report.differences.push_back("neither run has a model/ folder to compare");
  }

  // Why they might differ: environment, data, metrics.
  Result<Json> old_dependencies = LoadRunJson(artifacts, original, "snapshot/dependencies.json");
  Result<Json> new_dependencies = LoadRunJson(artifacts, run, "snapshot/dependencies.json");
  if (old_dependencies.ok() && new_dependencies.ok()) {
    Result<DependencySnapshot> a = DependencySnapshotFromJson(*old_dependencies);
    Result<DependencySnapshot> b = DependencySnapshotFromJson(*new_dependencies);
    if (a.ok() && b.ok()) {
      for (std::string& difference : CompareDependencies(*a, *b)) report.differences.push_back(std::move(difference));
    }
  }
  if (TagOf(original, "kiln.data.digest") != TagOf(run, "kiln.data.digest")) {
    report.differences.push_back("training data differs (sha256 " + Short(TagOf(original, "kiln.data.digest")) +
                                 " → " + Short(TagOf(run, "kiln.data.digest")) + ")");
  }
  std::map<std::string, double> old_metrics;
  for (const tracking::Metric& metric : original.data.metrics) old_metrics[metric.key] = metric.value;
  for (const tracking::Metric& metric : run.data.metrics) {
    auto found = old_metrics.find(metric.key);
    if (found == old_metrics.end()) continue;
    const bool same = found->second == metric.value || (std::isnan(found->second) && std::isnan(metric.value));
    if (!same) {
      report.differences.push_back("metric " + metric.key + " " + FormatValue(found->second) + " → " +
                                   FormatValue(metric.value));
    }
  }
  return report;
}

Json ReproductionReportToJson(const ReproductionReport& report) {
  Json files = Json::array();
  for (const FileComparison& file : report.files) {
    files.push_back({{"path", file.path},
                     {"original_sha256", file.original_sha256},
                     {"reproduction_sha256", file.reproduction_sha256},
                     {"identical", file.identical()}});
  }
  return {{"original_run_id", report.original_run_id}, {"run_id", report.run_id},
          {"status", report.status},                   {"model_identical", report.model_identical},
          {"files", std::move(files)},                 {"differences", report.differences}};
}

}  // namespace kiln::training
