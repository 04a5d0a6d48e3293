#include "http_workloads.h"

#include <chrono>
#include <cmath>
#include <map>
#include <mutex>

#include "tracking_api.h"
#include "workload.h"

namespace kiln_bench {
namespace {

using nlohmann::json;

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json SummaryJson(const std::vector<double>& latencies_ms) {
  LatencySummary s = Summarize(latencies_ms);
  return {{"count", s.count}, {"mean_ms", s.mean_ms}, {"p50_ms", s.p50_ms},
          {"p90_ms", s.p90_ms}, {"p99_ms", s.p99_ms}, {"max_ms", s.max_ms}};
}

json Failure(const std::string& error) { return {{"error", error}}; }

std::string UniqueName(const std::string& prefix) { return prefix + "-" + std::to_string(NowMillis()); }

// Creates an experiment and `count` runs in it, on one connection.
std::string SetUpRuns(const Common& common, const std::string& experiment_prefix, int count,
                      std::string& experiment_id, std::vector<std::string>& run_ids) {
  HttpClient http(common.load.host, common.load.port);
  std::string error;
  experiment_id = CreateExperiment(http, UniqueName(experiment_prefix), error);
  for (int i = 0; error.empty() && i < count; ++i) run_ids.push_back(CreateRun(http, experiment_id, NowMillis(), error));
  return error;
}

// Sends `body` to `endpoint` and expects HTTP 200.
std::string PostOk(HttpClient& http, const char* endpoint, const std::string& body) {
  HttpResponse response = http.Post(std::string(kApi) + endpoint, body);
  if (response.status == 200) return "";
  return DescribeFailure(std::string("POST ") + endpoint + " " + body.substr(0, 400), response);
}

}  // namespace

Common ReadCommon(Args& args, int default_clients, int64_t default_requests, double default_seconds) {
  Common common;
  common.load.host = args.String("host", "127.0.0.1");
  common.load.port = args.String("port", "");
  common.load.clients = static_cast<int>(args.Int("clients", default_clients));
  common.load.max_operations = args.Int("requests", default_requests);
  common.load.max_seconds = args.Double("seconds", default_seconds);
  common.label = args.String("label", "");
  return common;
}

json Report(const std::string& bench, const Common& common, const LoadResult& result) {
  json out = {{"bench", bench},
              {"label", common.label},
              {"clients", common.load.clients},
              {"operations", result.operations},
              {"seconds", result.seconds},
              {"ops_per_s", result.seconds > 0 ? result.operations / result.seconds : 0.0},
              {"request", SummaryJson(result.request_ms)},
              {"operation", SummaryJson(result.operation_ms)}};
  if (!result.error.empty()) out["error"] = result.error;
  return out;
}

json SeedRuns(Args& args) {
  Common common = ReadCommon(args, 8, args.Int("runs", 100000), 900);
  uint64_t seed = static_cast<uint64_t>(args.Int("seed", 42));
  std::string experiment_name = args.String("experiment-name", "bench-search");
  if (std::string problem = args.Check(); !problem.empty()) return Failure(problem);
  HttpClient setup(common.load.host, common.load.port);
  std::string error;
  std::string experiment_id = CreateExperiment(setup, UniqueName(experiment_name), error);
  if (!error.empty()) return Failure(error);

  LoadResult result = RunLoad(common.load, [&](int, int64_t index, HttpClient& http) -> std::string {
    std::string create_error;
    std::string run_id = CreateRun(http, experiment_id, kBaseTimeMs + index * 1000, create_error);
    if (run_id.empty()) return create_error;
    std::string body = "{\"run_id\":\"" + run_id + "\",\"params\":[";
    body.reserve(2400);
    for (int k = 0; k < kSeedParams; ++k) {
      if (k > 0) body += ',';
      AppendParam(body, ParamKey(k), ParamValue(seed, index, k));
    }
    body += "],\"metrics\":[";
    for (int k = 0; k < kSeedMetrics; ++k) {
      if (k > 0) body += ',';
      AppendMetric(body, MetricKey(k), Rounded(MetricValue(seed, index, k)), kBaseTimeMs + index * 1000, 0);
    }
    body += "]}";
    return PostOk(http, "runs/log-batch", body);
  });
  json out = Report("seed-runs", common, result);
  double runs_per_s = out["ops_per_s"];
  out["experiment_id"] = experiment_id;
  out["runs_per_s"] = runs_per_s;
  out["entities_per_s"] = runs_per_s * (kSeedParams + kSeedMetrics);
  return out;
}

json LogBatch(Args& args) {
  Common common = ReadCommon(args, 4, 1000000000, 20);
  int64_t batch = args.Int("batch", 1000);
  int64_t keys = std::max<int64_t>(1, args.Int("keys", 10));
  bool go_shape = args.Flag("go-shape");  // MLflow-Go's k6: one shared run, metric_i, step 0, timestamp now
  bool shared_run = go_shape || args.Flag("shared-run");
  uint64_t seed = static_cast<uint64_t>(args.Int("seed", 7));
  if (std::string problem = args.Check(); !problem.empty()) return Failure(problem);
  std::string experiment_id;
  std::vector<std::string> run_ids;
  std::string error = SetUpRuns(common, "bench-log-batch", shared_run ? 1 : common.load.clients, experiment_id, run_ids);
  if (!error.empty()) return Failure(error);

  int64_t steps_per_batch = (batch + keys - 1) / keys;
  LoadResult result = RunLoad(common.load, [&](int client, int64_t index, HttpClient& http) -> std::string {
    std::string body = "{\"run_id\":\"" + run_ids[shared_run ? 0 : client] + "\",\"metrics\":[";
    body.reserve(static_cast<size_t>(batch) * 80 + 64);
    int64_t now = NowMillis();
    for (int64_t j = 0; j < batch; ++j) {
      if (j > 0) body += ',';
      double draw = MetricValue(seed, index, static_cast<int>(j));
      if (go_shape) {
        AppendMetric(body, "metric_" + std::to_string(j), Rounded(static_cast<double>(j) * draw), now, 0);
      } else {
        int64_t step = index * steps_per_batch + j / keys;
        AppendMetric(body, "k" + std::to_string(j % keys), Rounded(draw), kBaseTimeMs + step, step);
      }
    }
    body += "]}";
    return PostOk(http, "runs/log-batch", body);
  });
  json out = Report(go_shape ? "log-batch-10-go" : "log-batch", common, result);
  out["batch"] = batch;
  out["keys"] = go_shape ? batch : keys;
  out["shared_run"] = shared_run;
  out["points_per_s"] = out["ops_per_s"].get<double>() * static_cast<double>(batch);
  return out;
}

json LogMetric(Args& args) {
  Common common = ReadCommon(args, 16, 1000000000, 15);
  if (std::string problem = args.Check(); !problem.empty()) return Failure(problem);
  std::string experiment_id;
  std::vector<std::string> run_ids;
  std::string error = SetUpRuns(common, "bench-log-metric", common.load.clients, experiment_id, run_ids);
  if (!error.empty()) return Failure(error);
  LoadResult result = RunLoad(common.load, [&](int client, int64_t index, HttpClient& http) -> std::string {
    std::string body = "{\"run_id\":\"" + run_ids[client] + "\",\"key\":\"loss\",\"value\":";
    AppendNumber(body, Rounded(MetricValue(11, index, 0)));
    body += ",\"timestamp\":" + std::to_string(kBaseTimeMs + index) + ",\"step\":" + std::to_string(index) + "}";
    return PostOk(http, "runs/log-metric", body);
  });
  return Report("log-metric", common, result);
}

json CreateRuns(Args& args) {
  Common common = ReadCommon(args, 20, 23525, 60);
  std::string experiment_name = args.String("experiment-name", "bench-create-run");
  if (std::string problem = args.Check(); !problem.empty()) return Failure(problem);
  HttpClient setup(common.load.host, common.load.port);
  std::string error;
  std::string experiment_id = CreateExperiment(setup, UniqueName(experiment_name), error);
  if (!error.empty()) return Failure(error);
  LoadResult result = RunLoad(common.load, [&](int, int64_t index, HttpClient& http) -> std::string {
    std::string body = CreateRunBody(experiment_id, NowMillis());
    HttpResponse response = http.Post(std::string(kApi) + "runs/create", body);
    if (response.status != 200) return DescribeFailure("POST runs/create " + body, response);
    if (index < 20 && RunIdOf(response.body).empty()) return "runs/create: no run_id in " + response.body.substr(0, 300);
    return "";
  });
  json out = Report("create-run", common, result);
  out["experiment_id"] = experiment_id;
  return out;
}

namespace {

// Checks a Kiln-shaped search answer against its filter and order: every run
// has m3 > threshold and p1 = value, 20 params and 20 metrics, m5 descending.
std::string CheckSearchAnswer(const std::string& body, int64_t index, int64_t max_results) {
  json answer = json::parse(body, nullptr, false);
  if (answer.is_discarded()) return "runs/search: response is not JSON: " + body.substr(0, 300);
  SearchConstants c = SearchConstantsFor(index);
  const json& runs = answer.value("runs", json::array());
  if (runs.empty() || static_cast<int64_t>(runs.size()) > max_results) {
    return "runs/search: expected 1.." + std::to_string(max_results) + " runs, got " + std::to_string(runs.size());
  }
  double previous = INFINITY;
  for (const json& run : runs) {
    const json& data = run.at("data");
    std::map<std::string, double> metrics;
    for (const json& m : data.value("metrics", json::array())) metrics[m.at("key")] = m.at("value").get<double>();
    std::map<std::string, std::string> params;
    for (const json& p : data.value("params", json::array())) params[p.at("key")] = p.at("value");
    if (metrics.size() != kSeedMetrics || params.size() != kSeedParams) {
      return "runs/search: a run has " + std::to_string(metrics.size()) + " metrics and " +
             std::to_string(params.size()) + " params, expected 20 and 20";
    }
    if (!(metrics["m3"] > c.threshold) || params["p1"] != c.param_value || metrics["m5"] > previous) {
      return "runs/search: a run violates filter '" + SearchFilterFor(index) + "' or order 'metrics.m5 DESC'";
    }
    previous = metrics["m5"];
  }
  return "";
}

}  // namespace

json SearchRuns(Args& args) {
  Common common = ReadCommon(args, 1, 50, 180);
  std::string experiment_id = args.String("experiment-id", "");
  int64_t max_results = args.Int("max-results", 100);
  bool go_shape = args.String("shape", "kiln") == "go";
  if (std::string problem = args.Check(); !problem.empty()) return Failure(problem);
  if (experiment_id.empty()) return Failure("--experiment-id is required");
  std::mutex mutex;
  int64_t runs_returned = 0;
  LoadResult result = RunLoad(common.load, [&](int, int64_t index, HttpClient& http) -> std::string {
    json body = {{"experiment_ids", {experiment_id}}, {"max_results", max_results}};
    if (!go_shape) {
      body["filter"] = SearchFilterFor(index);
      body["order_by"] = {kSearchOrderBy};
    }
    HttpResponse response = http.Post(std::string(kApi) + "runs/search", body.dump());
    if (response.status != 200) return DescribeFailure("POST runs/search " + body.dump(), response);
    int64_t runs = CountOf(response.body, "\"run_uuid\"");
    {
      std::lock_guard lock(mutex);
      runs_returned += runs;
    }
    if (!go_shape && index < 5) return CheckSearchAnswer(response.body, index, max_results);
    return runs > 0 ? "" : "runs/search returned no runs for " + body.dump();
  });
  json out = Report(go_shape ? "search-runs-go" : "search-runs", common, result);
  out["max_results"] = max_results;
  out["mean_runs_returned"] = result.operations > 0 ? static_cast<double>(runs_returned) / result.operations : 0.0;
  if (!go_shape) {
    out["filter_example"] = SearchFilterFor(0);
    out["order_by"] = kSearchOrderBy;
  }
  return out;
}

json SeedHistory(Args& args) {
  int64_t steps = args.Int("steps", 100000);
  int64_t batch = args.Int("batch", 1000);
  Common common = ReadCommon(args, 1, (steps + batch - 1) / batch, 300);
  std::string key = args.String("key", "loss");
  if (std::string problem = args.Check(); !problem.empty()) return Failure(problem);
  std::string experiment_id;
  std::vector<std::string> run_ids;
  std::string error = SetUpRuns(common, "bench-history", 1, experiment_id, run_ids);
  if (!error.empty()) return Failure(error);
  LoadResult result = RunLoad(common.load, [&](int, int64_t index, HttpClient& http) -> std::string {
    std::string body = "{\"run_id\":\"" + run_ids[0] + "\",\"metrics\":[";
    for (int64_t step = index * batch; step < std::min(steps, (index + 1) * batch); ++step) {
      if (step > index * batch) body += ',';
      AppendMetric(body, key, Rounded(MetricValue(5, step, 0)), kBaseTimeMs + step, step);
    }
    body += "]}";
    return PostOk(http, "runs/log-batch", body);
  });
  json out = Report("seed-history", common, result);
  out["run_id"] = run_ids[0];
  out["points_per_s"] = result.seconds > 0 ? static_cast<double>(std::min(steps, result.operations * batch)) / result.seconds : 0;
  return out;
}

json GetHistory(Args& args) {
  Common common = ReadCommon(args, 1, 5, 120);
  std::string run_id = args.String("run-id", "");
  std::string key = args.String("key", "loss");
  int64_t expected = args.Int("expected", 100000);
  int64_t page_size = args.Int("page-size", 0);  // 0: no max_results, the server's default
  if (std::string problem = args.Check(); !problem.empty()) return Failure(problem);
  if (run_id.empty()) return Failure("--run-id is required");
  int64_t pages_seen = 0;
  LoadResult result = RunLoad(common.load, [&](int, int64_t, HttpClient& http) -> std::string {
    std::string token;
    int64_t points = 0;
    int64_t pages = 0;
    int64_t max_pages = page_size > 0 ? expected / page_size + 3 : 1000;
    do {
      std::string target = std::string(kApi) + "metrics/get-history?run_id=" + run_id + "&metric_key=" + UrlEncode(key);
      if (page_size > 0) target += "&max_results=" + std::to_string(page_size);
      if (!token.empty()) target += "&page_token=" + UrlEncode(token);
      HttpResponse response = http.Get(target);
      if (response.status != 200) return DescribeFailure("GET " + target, response);
      points += CountOf(response.body, "\"step\"");
      token = StringField(response.body, "next_page_token");
      ++pages;
    } while (!token.empty() && pages < max_pages);
    pages_seen = pages;
    if (points != expected) {
      return "get-history returned " + std::to_string(points) + " points in " + std::to_string(pages) +
             " pages, expected " + std::to_string(expected);
    }
    return "";
  });
  json out = Report("get-history", common, result);
  out["points"] = expected;
  out["pages"] = pages_seen;
  out["page_size"] = page_size;
  double mean_ms = out["operation"]["mean_ms"];
  out["points_per_s"] = mean_ms > 0 ? static_cast<double>(expected) / (mean_ms / 1000) : 0.0;
  return out;
}

}  // namespace kiln_bench
