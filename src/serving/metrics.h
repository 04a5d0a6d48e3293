#pragma once
// Metrics in the Prometheus text exposition format (version 0.0.4):
// counters, gauges and histograms in labelled families, rendered by
// MetricsRegistry::Render for GET /metrics.
//
// The hot path holds a Counter& / Histogram& (looked up once per served
// model version, stable for the registry's life) and updates it with relaxed
// atomics: no locks, no allocation. Gauges can also be computed at scrape
// time by a callback (queue depth, loaded models).
//
// Thread safety: every method is safe from any thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace kiln::serving {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;  // name, value; in order

class Counter {
 public:
  void Increment(uint64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double value);
  double value() const;

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // Upper bounds, ascending; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  // Cumulative counts per bound (+Inf last), sum and count, for rendering/tests.
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // bounds.size() + 1 entries
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

// Seconds buckets for request latency: 50 µs … 10 s.
std::vector<double> LatencyBuckets();

class MetricsRegistry {
 public:
  // Out of line: Family is complete only in metrics.cc.
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Get-or-create. `name` must be a valid Prometheus metric name and the
  // family's kind fixed by its first use (a programming error otherwise:
  // KILN_CHECK). The returned reference lives as long as the registry.
  Counter& GetCounter(const std::string& name, const std::string& help, const MetricLabels& labels = {});
  Gauge& GetGauge(const std::string& name, const std::string& help, const MetricLabels& labels = {});
  Histogram& GetHistogram(const std::string& name, const std::string& help, const MetricLabels& labels,
                          const std::vector<double>& bounds);
  // Called at every Render, before rendering (to Set gauges).
  void AddCollector(std::function<void()> collector);

  // Families sorted by name, series by labels; label values escaped (\\, \", \n);
  // histograms as _bucket{le=…}, _sum, _count.
  std::string Render() const;

 private:
  struct Family;
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Family>> families_;
  std::vector<std::function<void()>> collectors_;
};

}  // namespace kiln::serving
