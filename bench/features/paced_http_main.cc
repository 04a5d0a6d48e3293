// kiln_bench_features_http: open-loop (paced) or closed-loop HTTP load on one
// thread against a running `kiln server`; prints one JSON object. Exits 1
// when a request failed or an answer was not 2xx (the JSON holds "error").
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "../args.h"
#include "../latency.h"
#include "paced_load.h"

namespace {

constexpr const char* kUsage = R"(usage: kiln_bench_features_http open|closed --port P [options]

  open                   open loop at --rate R requests/s (default 5000): request
                         i is due at i/R s; latency runs from the due time
  closed                 closed loop: every connection sends back to back (the
                         maximum rate); latency runs from the send
  --host 127.0.0.1 --port P --method POST|GET --target /api/features/online
  --body-template FILE   request body; every "{entity}" is replaced by an
                         entity number, one body per number in [0, --entities)
  --entities 10000       (bodies are picked at random per request)
  --connections 32 --seconds 10 --warmup-seconds 1 --seed 1 --label TEXT
)";

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

nlohmann::json Summary(const std::vector<double>& samples) {
  kiln_bench::LatencySummary summary = kiln_bench::Summarize(samples);
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  double p999 = sorted.empty() ? 0 : sorted[std::min(sorted.size() - 1, static_cast<size_t>(0.999 * static_cast<double>(sorted.size() - 1) + 0.5))];
  return {{"mean_ms", summary.mean_ms}, {"p50_ms", summary.p50_ms}, {"p90_ms", summary.p90_ms},
          {"p99_ms", summary.p99_ms},   {"p999_ms", p999},           {"max_ms", summary.max_ms}};
}

}  // namespace

int main(int argc, char** argv) {
  kiln_bench::Args options_args(argc, argv);
  const std::string mode = options_args.command();
  if (mode != "open" && mode != "closed") {
    std::fputs(kUsage, stderr);
    return 2;
  }
  kiln_bench::PacedLoadOptions options;
  options.host = options_args.String("host", "127.0.0.1");
  options.port = static_cast<int>(options_args.Int("port", 0));
  options.method = options_args.String("method", "POST");
  options.target = options_args.String("target", "/api/features/online");
  const std::string body_template_path = options_args.String("body-template", "");
  const int64_t entities = options_args.Int("entities", 10'000);
  options.rate = mode == "open" ? options_args.Double("rate", 5000) : 0;
  options.connections = static_cast<int>(options_args.Int("connections", 32));
  options.seconds = options_args.Double("seconds", 10);
  options.warmup_seconds = options_args.Double("warmup-seconds", 1);
  options.seed = static_cast<uint64_t>(options_args.Int("seed", 1));
  const std::string label = options_args.String("label", "");
  if (std::string error = options_args.Check(); !error.empty() || options.port <= 0) {
    std::fprintf(stderr, "kiln_bench_features_http: %s\n%s", error.empty() ? "--port is required" : error.c_str(), kUsage);
    return 2;
  }
  if (!body_template_path.empty()) {
    std::ifstream file(body_template_path);
    std::stringstream text;
    text << file.rdbuf();
    if (!file) {
      std::fprintf(stderr, "kiln_bench_features_http: cannot read %s\n", body_template_path.c_str());
      return 2;
    }
    options.bodies.clear();
    for (int64_t entity = 0; entity < entities; ++entity) {
      options.bodies.push_back(ReplaceAll(text.str(), "{entity}", std::to_string(entity)));
    }
  }

  kiln_bench::PacedLoadResult result = kiln_bench::RunPacedLoad(options);
  nlohmann::json out = {{"bench", "http-load"},
                        {"label", label},
                        {"mode", options.rate > 0 ? "open" : "closed"},
                        {"method", options.method},
                        {"target", options.target},
                        {"target_rate", options.rate},
                        {"connections", options.connections},
                        {"seconds", result.seconds},
                        {"completed", result.completed},
                        {"rate", static_cast<double>(result.completed) / std::max(result.seconds, 1e-9)},
                        {"non_2xx", result.non_2xx},
                        {"max_queued", result.max_queued},
                        {"late_sends", result.late_sends},
                        {"latency", Summary(result.latency_ms)},
                        {"service", Summary(result.service_ms)}};
  if (!result.first_error.empty()) out["error"] = result.first_error;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  out["client_cpu_s"] = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                        static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  std::cout << out.dump() << std::endl;
  return result.first_error.empty() ? 0 : 1;
}
