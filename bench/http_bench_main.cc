// kiln_bench_http: closed-loop HTTP load against a running `kiln server`.
// Prints one JSON object per run on stdout; exits 1 when a request failed
// (the JSON then holds "error" with the request and the server's answer).
#include <sys/resource.h>

#include <cstdio>
#include <iostream>
#include <map>

#include "http_workloads.h"

namespace {

constexpr const char* kUsage = R"(usage: kiln_bench_http WORKLOAD --port PORT [options]

Every workload: --host H (127.0.0.1) --port P --label TEXT
                --clients N --requests N (count bound) --seconds S (time bound)
workloads:
  seed-runs     --runs 100000 --seed 42 --experiment-name NAME
                one runs/create + one runs/log-batch (20 params, 20 metrics) per run
  log-batch     --batch 1000 --keys 10 [--shared-run] [--go-shape]
                metric points per runs/log-batch; --go-shape is MLflow-Go's
                LogMetricBatch10 (one shared run, keys metric_i, step 0)
  log-metric    one point per runs/log-metric, a run per client
  create-run    runs/create with a mlflow.user tag, into a fresh experiment
  search-runs   --experiment-id E --max-results 100 --shape kiln|go
                kiln: filter "metrics.m3 > T AND params.p1 = 'vK'" (T, K vary),
                order_by metrics.m5 DESC; go: no filter, no order (MLflow-Go's k6)
  seed-history  --steps 100000 --batch 1000 --key loss
  get-history   --run-id R --key loss --expected 100000 [--page-size N]
)";

}  // namespace

int main(int argc, char** argv) {
  kiln_bench::Args args(argc, argv);
  using Workload = nlohmann::json (*)(kiln_bench::Args&);
  const std::map<std::string, Workload> workloads = {
      {"seed-runs", kiln_bench::SeedRuns},     {"log-batch", kiln_bench::LogBatch},
      {"log-metric", kiln_bench::LogMetric},   {"create-run", kiln_bench::CreateRuns},
      {"search-runs", kiln_bench::SearchRuns}, {"seed-history", kiln_bench::SeedHistory},
      {"get-history", kiln_bench::GetHistory},
  };
  auto it = workloads.find(args.command());
  if (it == workloads.end()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (args.String("port", "").empty()) {
    std::fprintf(stderr, "kiln_bench_http: --port is required\n%s", kUsage);
    return 2;
  }
  nlohmann::json out = it->second(args);  // checks its options before any request
  // The load generator's own CPU time: it shares the machine with the server.
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  out["client_cpu_s"] = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                        static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  std::cout << out.dump() << std::endl;
  if (out.contains("error")) {
    std::fprintf(stderr, "kiln_bench_http %s FAILED: %s\n", args.command().c_str(),
                 out["error"].get<std::string>().c_str());
    return 1;
  }
  return 0;
}
