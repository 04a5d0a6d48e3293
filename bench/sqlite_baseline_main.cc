// kiln_bench_sqlite_baseline: the storage ceiling for each HTTP benchmark —
// the same rows written and read through SQLite's C API in this process, one
// thread (SQLite serializes writers anyway), each workload in a fresh
// database file under --dir. Prints one JSON object per figure on stdout.
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>

#include <nlohmann/json.hpp>

#include "args.h"
#include "baseline_store.h"
#include "latency.h"
#include "workload.h"

namespace kiln_bench {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage = R"(usage: kiln_bench_sqlite_baseline WORKLOAD --dir DIR [options]

Every workload: --dir DIR (fresh files are created in it) --sync full|normal
                --migrations DIR (Kiln's src/tracking/migrations) --label TEXT
workloads:
  ingest        --batch 1000 --keys 10 [--go-shape] --requests N --seconds S
                one transaction per batch, as runs/log-batch (--batch 1: log-metric)
  create-run    --requests N --seconds S: one transaction per run, as runs/create
  seed-runs     --runs 5000: per run, runs/create's and runs/log-batch's transactions
  search-runs   --runs 100000 --queries 50 --max-results 100,1000
  search-runs-go --runs 23525 --queries 50 --max-results 1000
  history       --steps 100000 --repeats 5
)";

struct Options {
  std::string dir, migrations, label;
  bool full_sync = true;
};

// Exits 2 on an unknown or malformed option. REQUIRES: every option read.
void CheckOptions(const Args& args) {
  if (std::string problem = args.Check(); !problem.empty()) {
    std::fprintf(stderr, "kiln_bench_sqlite_baseline: %s\n", problem.c_str());
    std::exit(2);
  }
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

json SummaryJson(const std::vector<double>& samples) {
  LatencySummary s = Summarize(samples);
  return {{"count", s.count}, {"mean_ms", s.mean_ms}, {"p50_ms", s.p50_ms},
          {"p90_ms", s.p90_ms}, {"p99_ms", s.p99_ms}, {"max_ms", s.max_ms}};
}

std::unique_ptr<BaselineStore> OpenFresh(const Options& options, const std::string& name) {
  std::string path = options.dir + "/" + name + ".sqlite";
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  auto store = std::make_unique<BaselineStore>(path, options.full_sync, options.migrations);
  store->Begin();
  store->CreateExperiment(1, "baseline");
  store->Commit();
  return store;
}

// Runs `step` (one transaction) until `requests` or `seconds`; returns the figures.
json TimedLoop(const std::string& bench, const Options& options, int64_t requests, double seconds,
               const std::function<void(int64_t)>& step) {
  std::vector<double> samples;
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  for (int64_t i = 0; i < requests && Clock::now() < deadline; ++i) {
    auto began = Clock::now();
    step(i);
    samples.push_back(Ms(Clock::now() - began));
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  return {{"bench", bench}, {"label", options.label}, {"clients", 1},
          {"operations", samples.size()}, {"seconds", elapsed},
          {"ops_per_s", samples.size() / elapsed}, {"operation", SummaryJson(samples)}};
}

void Ingest(Args& args, const Options& options) {
  int64_t batch = args.Int("batch", 1000);
  int64_t keys = std::max<int64_t>(1, args.Int("keys", 10));
  bool go_shape = args.Flag("go-shape");
  int64_t requests = args.Int("requests", 1000000000);
  double seconds = args.Double("seconds", 20);
  CheckOptions(args);
  auto store = OpenFresh(options, "ingest");
  std::string run_id = RunIdFor(1, 0);
  store->Begin();
  store->CreateRun(run_id, 1, kBaseTimeMs, "ingest");
  store->Commit();
  int64_t steps_per_batch = (batch + keys - 1) / keys;
  std::vector<Point> points(static_cast<size_t>(batch));
  json out = TimedLoop(go_shape ? "log-batch-10-go" : batch == 1 ? "log-metric" : "log-batch", options, requests,
                       seconds, [&](int64_t index) {
    int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
    for (int64_t j = 0; j < batch; ++j) {
      double draw = MetricValue(7, index, static_cast<int>(j));
      Point& p = points[static_cast<size_t>(j)];
      if (go_shape) {
        p = {"metric_" + std::to_string(j), Rounded(static_cast<double>(j) * draw), now, 0};
      } else {
        int64_t step = index * steps_per_batch + j / keys;
        p = {"k" + std::to_string(j % keys), Rounded(draw), kBaseTimeMs + step, step};
      }
    }
    store->Begin();
    store->LogBatch(run_id, {}, points);
    store->Commit();
  });
  out["batch"] = batch;
  out["points_per_s"] = out["ops_per_s"].get<double>() * static_cast<double>(batch);
  std::cout << out.dump() << std::endl;
}

void CreateRuns(Args& args, const Options& options) {
  int64_t requests = args.Int("requests", 23525);
  double seconds = args.Double("seconds", 60);
  CheckOptions(args);
  auto store = OpenFresh(options, "create_run");
  json out = TimedLoop("create-run", options, requests, seconds, [&](int64_t index) {
    store->Begin();
    store->CreateRun(RunIdFor(2, index), 1, kBaseTimeMs + index, "run-" + std::to_string(index));
    store->Commit();
  });
  std::cout << out.dump() << std::endl;
}

// Run `index` of the search data set: create-run and one log-batch of 20 params and 20 metrics.
void WriteSeedRun(BaselineStore& store, uint64_t seed, int64_t index, bool commit_each) {
  std::string run_id = RunIdFor(seed, index);
  int64_t time = kBaseTimeMs + index * 1000;
  if (commit_each) store.Begin();
  store.CreateRun(run_id, 1, time, "run-" + std::to_string(index));
  if (commit_each) store.Commit();
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<Point> points;
  for (int k = 0; k < kSeedParams; ++k) params.emplace_back(ParamKey(k), ParamValue(seed, index, k));
  for (int k = 0; k < kSeedMetrics; ++k) points.push_back({MetricKey(k), Rounded(MetricValue(seed, index, k)), time, 0});
  if (commit_each) store.Begin();
  store.LogBatch(run_id, params, points);
  if (commit_each) store.Commit();
}

void SeedRuns(Args& args, const Options& options) {
  int64_t runs = args.Int("runs", 5000);
  uint64_t seed = static_cast<uint64_t>(args.Int("seed", 42));
  CheckOptions(args);
  auto store = OpenFresh(options, "seed_runs");
  json out = TimedLoop("seed-runs", options, runs, 900, [&](int64_t index) { WriteSeedRun(*store, seed, index, true); });
  out["runs_per_s"] = out["ops_per_s"];
  out["entities_per_s"] = out["ops_per_s"].get<double>() * (kSeedParams + kSeedMetrics);
  std::cout << out.dump() << std::endl;
}

std::vector<int64_t> IntList(const std::string& text) {
  std::vector<int64_t> values;
  size_t at = 0;
  while (at <= text.size()) {
    size_t comma = text.find(',', at);
    if (comma == std::string::npos) comma = text.size();
    if (comma > at) values.push_back(std::stoll(text.substr(at, comma - at)));
    at = comma + 1;
  }
  return values;
}

// Seeds `runs` runs in bulk (1000 per transaction; not a reported figure).
std::unique_ptr<BaselineStore> SeedInBulk(const Options& options, const std::string& name, int64_t runs,
                                          bool with_data, json& seed_figures) {
  auto store = OpenFresh(options, name);
  auto start = Clock::now();
  for (int64_t index = 0; index < runs; ++index) {
    if (index % 1000 == 0) store->Begin();
    if (with_data) {
      WriteSeedRun(*store, 42, index, false);
    } else {
      store->CreateRun(RunIdFor(3, index), 1, kBaseTimeMs + index, "run-" + std::to_string(index));
    }
    if (index % 1000 == 999 || index == runs - 1) store->Commit();
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  seed_figures = {{"runs", runs}, {"seconds", elapsed}, {"runs_per_s", runs / elapsed}};
  return store;
}

void Search(Args& args, const Options& options, bool go_shape) {
  int64_t runs = args.Int("runs", go_shape ? 23525 : 100000);
  int64_t queries = args.Int("queries", 50);
  std::vector<int64_t> limits = IntList(args.String("max-results", go_shape ? "1000" : "100,1000"));
  CheckOptions(args);
  json seed_figures;
  auto store = SeedInBulk(options, go_shape ? "search_go" : "search", runs, !go_shape, seed_figures);
  // First under the server's conditions (no planner statistics), then after ANALYZE.
  for (const char* variant : {"plain", "analyzed"}) {
    if (std::string(variant) == "analyzed") store->Analyze();
    for (int64_t limit : limits) {
      std::vector<double> query_ms, total_ms;
      int64_t returned = 0;
      for (int64_t i = 0; i < queries; ++i) {
        auto start = Clock::now();
        SearchConstants c = SearchConstantsFor(i);
        std::vector<std::string> ids = go_shape ? store->SearchAll(1, limit + 1)
                                                : store->SearchFiltered(1, c.threshold, c.param_value, limit + 1);
        if (static_cast<int64_t>(ids.size()) > limit) ids.resize(static_cast<size_t>(limit));  // +1: "more pages"
        auto queried = Clock::now();
        std::vector<RunRecord> records = store->LoadRuns(ids);
        auto loaded = Clock::now();
        returned += static_cast<int64_t>(records.size());
        query_ms.push_back(Ms(queried - start));
        total_ms.push_back(Ms(loaded - start));
      }
      json out = {{"bench", go_shape ? "search-runs-go" : "search-runs"}, {"label", options.label},
                  {"variant", variant}, {"clients", 1}, {"runs", runs}, {"max_results", limit},
                  {"operations", queries}, {"operation", SummaryJson(total_ms)}, {"query_only", SummaryJson(query_ms)},
                  {"mean_runs_returned", static_cast<double>(returned) / static_cast<double>(queries)},
                  {"bulk_seed", seed_figures}};
      std::cout << out.dump() << std::endl;
    }
  }
}

void History(Args& args, const Options& options) {
  int64_t steps = args.Int("steps", 100000);
  int64_t repeats = args.Int("repeats", 5);
  CheckOptions(args);
  auto store = OpenFresh(options, "history");
  std::string run_id = RunIdFor(4, 0);
  store->Begin();
  store->CreateRun(run_id, 1, kBaseTimeMs, "history");
  store->Commit();
  auto start = Clock::now();
  for (int64_t first = 0; first < steps; first += 1000) {
    std::vector<Point> points;
    for (int64_t step = first; step < std::min(steps, first + 1000); ++step) {
      points.push_back({"loss", Rounded(MetricValue(5, step, 0)), kBaseTimeMs + step, step});
    }
    store->Begin();
    store->LogBatch(run_id, {}, points);
    store->Commit();
  }
  double seed_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  json out = TimedLoop("get-history", options, repeats, 120, [&](int64_t) {
    std::vector<Point> points = store->History(run_id, "loss");
    if (static_cast<int64_t>(points.size()) != steps) throw SqliteError("history returned a wrong count");
  });
  out["points"] = steps;
  out["points_per_s"] = static_cast<double>(steps) / (out["operation"]["mean_ms"].get<double>() / 1000);
  out["seed_points_per_s"] = static_cast<double>(steps) / seed_seconds;
  std::cout << out.dump() << std::endl;
}

}  // namespace
}  // namespace kiln_bench

int main(int argc, char** argv) {
  using namespace kiln_bench;
  Args args(argc, argv);
  Options options;
  options.dir = args.String("dir", "");
  options.migrations = args.String("migrations", KILN_TRACKING_MIGRATIONS_DIR);
  options.label = args.String("label", "");
  std::string sync = args.String("sync", "full");
  options.full_sync = sync != "normal";
  const std::map<std::string, std::function<void()>> workloads = {
      {"ingest", [&] { Ingest(args, options); }},
      {"create-run", [&] { CreateRuns(args, options); }},
      {"seed-runs", [&] { SeedRuns(args, options); }},
      {"search-runs", [&] { Search(args, options, false); }},
      {"search-runs-go", [&] { Search(args, options, true); }},
      {"history", [&] { History(args, options); }},
  };
  auto it = workloads.find(args.command());
  if (it == workloads.end() || options.dir.empty() || (sync != "full" && sync != "normal")) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  try {
    it->second();
  } catch (const std::exception& error) {
    std::cout << json{{"bench", args.command()}, {"label", options.label}, {"error", error.what()}}.dump() << std::endl;
    return 1;
  }
  return 0;
}
