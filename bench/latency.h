#pragma once
// Latency summary of a set of samples: exact percentiles from a sorted copy
// (nearest rank). Header-only; used by both benchmark tools.

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

namespace kiln_bench {

struct LatencySummary {
  int64_t count = 0;
  double mean_ms = 0, p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
};

inline LatencySummary Summarize(std::vector<double> latencies_ms) {
  LatencySummary summary;
  if (latencies_ms.empty()) return summary;
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto at = [&](double quantile) {
    size_t index = static_cast<size_t>(quantile * static_cast<double>(latencies_ms.size() - 1) + 0.5);
    return latencies_ms[std::min(index, latencies_ms.size() - 1)];
  };
  summary.count = static_cast<int64_t>(latencies_ms.size());
  summary.mean_ms = std::accumulate(latencies_ms.begin(), latencies_ms.end(), 0.0) / static_cast<double>(summary.count);
  summary.p50_ms = at(0.50);
  summary.p90_ms = at(0.90);
  summary.p99_ms = at(0.99);
  summary.max_ms = latencies_ms.back();
  return summary;
}

}  // namespace kiln_bench
