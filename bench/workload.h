#pragma once
// The benchmark data set, generated deterministically so that the HTTP load
// generator (kiln_bench_http) and the in-process SQLite baseline
// (kiln_bench_sqlite_baseline) write and query the same rows. Header-only,
// no state; safe from any thread.

#include <cstdint>
#include <cstdio>
#include <string>

namespace kiln_bench {

// Seeded runs: params p0..p19 take one of ten values "v0".."v9"; metrics
// m0..m19 (one point each, step 0) are uniform in [0, 1).
constexpr int kSeedParams = 20;
constexpr int kSeedMetrics = 20;
constexpr int kParamValueCount = 10;
// The fixed epoch of every generated timestamp (2024-01-01T00:00:00Z).
constexpr int64_t kBaseTimeMs = 1704067200000;

// SplitMix64: a good, cheap 64-bit mixer.
inline uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

inline uint64_t Draw(uint64_t seed, int64_t run_index, int key, uint64_t salt) {
  return Mix(seed ^ Mix(static_cast<uint64_t>(run_index) * 1000003ull + static_cast<uint64_t>(key) * 7919ull + salt));
}

inline std::string ParamKey(int key) { return "p" + std::to_string(key); }
inline std::string MetricKey(int key) { return "m" + std::to_string(key); }

inline std::string ParamValue(uint64_t seed, int64_t run_index, int key) {
  return "v" + std::to_string(Draw(seed, run_index, key, 1) % kParamValueCount);
}

inline double MetricValue(uint64_t seed, int64_t run_index, int key) {
  return static_cast<double>(Draw(seed, run_index, key, 2) >> 11) * 0x1.0p-53;
}

// Values that print exactly in JSON and SQL: 6 decimals.
inline double Rounded(double value) { return static_cast<double>(static_cast<int64_t>(value * 1e6)) / 1e6; }

// A 32-hex-digit id shaped like the server's run ids (baseline only).
inline std::string RunIdFor(uint64_t seed, int64_t run_index) {
  char text[33];
  std::snprintf(text, sizeof text, "%016llx%016llx", static_cast<unsigned long long>(Draw(seed, run_index, 0, 3)),
                static_cast<unsigned long long>(Draw(seed, run_index, 0, 4)));
  return text;
}

// Query number i of the search benchmark varies both filter constants:
//   metrics.m3 > <threshold> AND params.p1 = '<param value>'   order by metrics.m5 DESC
struct SearchConstants {
  double threshold;  // 0.1 .. 0.9
  std::string param_value;
};

inline SearchConstants SearchConstantsFor(int64_t query_index) {
  return {0.1 * static_cast<double>(1 + query_index % 9),
          "v" + std::to_string((query_index * 7) % kParamValueCount)};
}

inline std::string SearchFilterFor(int64_t query_index) {
  SearchConstants c = SearchConstantsFor(query_index);
  char threshold[16];
  std::snprintf(threshold, sizeof threshold, "%.1f", c.threshold);
  return std::string("metrics.m3 > ") + threshold + " AND params.p1 = '" + c.param_value + "'";
}

constexpr const char* kSearchOrderBy = "metrics.m5 DESC";

}  // namespace kiln_bench
