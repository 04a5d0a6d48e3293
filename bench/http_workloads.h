#pragma once
// The workloads of kiln_bench_http, one function each. Every workload reads
// its options from `args`, drives a running `kiln server`, and returns one
// JSON object: the figures, or {"error": "..."} naming the failing request
// and the server's response.

#include <nlohmann/json.hpp>

#include "args.h"
#include "http_load.h"

namespace kiln_bench {

// Options every workload takes: --host, --port, --label, --clients,
// --requests (count bound), --seconds (time bound).
struct Common {
  LoadOptions load;
  std::string label;
};
Common ReadCommon(Args& args, int default_clients, int64_t default_requests, double default_seconds);

// The figures of a finished load: counts, rate, request and operation latency.
nlohmann::json Report(const std::string& bench, const Common& common, const LoadResult& result);

nlohmann::json SeedRuns(Args& args);       // create-run + log-batch(20 params, 20 metrics) per run
nlohmann::json LogBatch(Args& args);       // log-batch of N metrics per request
nlohmann::json LogMetric(Args& args);      // single log-metric requests
nlohmann::json CreateRuns(Args& args);     // runs/create as MLflow-Go's k6 script
nlohmann::json SearchRuns(Args& args);     // runs/search, Kiln's filtered shape or MLflow-Go's
nlohmann::json SeedHistory(Args& args);    // one metric with N steps, via log-batch
nlohmann::json GetHistory(Args& args);     // full metric history, following page tokens

}  // namespace kiln_bench
