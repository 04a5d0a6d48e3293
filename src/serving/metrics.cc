#include "serving/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace kiln::serving {

namespace {

// Misuse of the registry by the program itself (an invalid metric name, a
// family used as two kinds): report and stop, in every build type.
void CheckOrDie(bool condition, const std::string& message) {
  if (condition) return;
  std::fprintf(stderr, "kiln: metrics registry misuse: %s\n", message.c_str());
  std::abort();
}

bool IsValidName(const std::string& name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

void CheckLabels(const std::string& metric, const MetricLabels& labels, bool histogram) {
  for (size_t i = 0; i < labels.size(); ++i) {
    const std::string& name = labels[i].first;
    CheckOrDie(IsValidName(name, /*allow_colon=*/false) && name.rfind("__", 0) != 0,
               "metric " + metric + ": invalid label name '" + name + "'");
    CheckOrDie(!(histogram && name == "le"), "metric " + metric + ": 'le' is reserved for histogram buckets");
    for (size_t j = 0; j < i; ++j) {
      CheckOrDie(labels[j].first != name, "metric " + metric + ": label '" + name + "' given twice");
    }
  }
}

void AtomicAdd(std::atomic<double>& target, double value) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + value, std::memory_order_relaxed)) {
  }
}

// A sample value as Prometheus' Go clients write it (strconv 'g', shortest
// round-trip: 0.0001, 5e-05, 1e+06), or "+Inf", "-Inf", "NaN". Bucket
// bounds use it too, so le labels match what other exporters write.
void AppendValue(std::string* out, double value) {
  if (std::isnan(value)) {
    *out += "NaN";
  } else if (std::isinf(value)) {
    *out += value > 0 ? "+Inf" : "-Inf";
  } else {
    char buffer[32];
    auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general);
    out->append(buffer, end);
  }
}

void AppendEscaped(std::string* out, const std::string& text, bool escape_quotes) {
  for (char c : text) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '\n') {
      *out += "\\n";
    } else if (c == '"' && escape_quotes) {
      *out += "\\\"";
    } else {
      *out += c;
    }
  }
}

// name{a="x",b="y"[,le="…"]}
void AppendSeriesName(std::string* out, const std::string& name, const MetricLabels& labels,
                      const char* le = nullptr) {
  *out += name;
  if (labels.empty() && le == nullptr) return;
  *out += '{';
  bool first = true;
  for (const auto& [label, value] : labels) {
    if (!first) *out += ',';
    first = false;
    *out += label;
    *out += "=\"";
    AppendEscaped(out, value, /*escape_quotes=*/true);
    *out += '"';
  }
  if (le != nullptr) {
    if (!first) *out += ',';
    *out += "le=\"";
    *out += le;
    *out += '"';
  }
  *out += '}';
}

// Bucket bounds without a trailing +Inf (always implicit). Must ascend.
std::vector<double> NormalizeBounds(std::vector<double> bounds) {
  if (!bounds.empty() && std::isinf(bounds.back()) && bounds.back() > 0) bounds.pop_back();
  for (size_t i = 0; i < bounds.size(); ++i) {
    CheckOrDie(!std::isnan(bounds[i]) && (i == 0 || bounds[i - 1] < bounds[i]),
               "histogram bounds must be strictly ascending numbers");
  }
  return bounds;
}

}  // namespace

void Gauge::Set(double value) { value_.store(value, std::memory_order_relaxed); }
double Gauge::value() const { return value_.load(std::memory_order_relaxed); }

Histogram::Histogram(std::vector<double> bounds) : bounds_(NormalizeBounds(std::move(bounds))) {
  counts_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::Observe(double value) {
  // The first bucket whose upper bound is >= value; NaN lands in +Inf (and
  // makes the sum NaN), as Prometheus' own clients do.
  const size_t bucket = std::isnan(value)
                            ? bounds_.size()
                            : std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, value);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snapshot;
  snapshot.bounds = bounds_;
  snapshot.cumulative.resize(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    snapshot.cumulative[i] = running;
  }
  snapshot.count = running;  // consistent with the +Inf bucket by construction
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

std::vector<double> LatencyBuckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
}

struct MetricsRegistry::Family {
  enum class Kind { kCounter, kGauge, kHistogram };
  Kind kind = Kind::kCounter;
  std::string help;
  std::vector<double> bounds;  // histograms: every series shares them
  std::map<MetricLabels, std::unique_ptr<Counter>> counters;
  std::map<MetricLabels, std::unique_ptr<Gauge>> gauges;
  std::map<MetricLabels, std::unique_ptr<Histogram>> histograms;

  static const char* KindName(Kind kind) {
    switch (kind) {
      case Kind::kCounter:
        return "counter";
      case Kind::kGauge:
        return "gauge";
      case Kind::kHistogram:
        return "histogram";
    }
    return "?";
  }

  // The family `name`, created as `kind` on first use. REQUIRES: the registry's mutex held.
  static Family& Lookup(std::map<std::string, std::unique_ptr<Family>>& families, const std::string& name,
                        const std::string& help, Kind kind, const MetricLabels& labels) {
    CheckOrDie(IsValidName(name, /*allow_colon=*/true), "invalid metric name '" + name + "'");
    CheckLabels(name, labels, kind == Kind::kHistogram);
    std::unique_ptr<Family>& slot = families[name];
    if (slot == nullptr) {
      slot = std::make_unique<Family>();
      slot->kind = kind;
      slot->help = help;
    }
    CheckOrDie(slot->kind == kind,
               "metric " + name + " is a " + KindName(slot->kind) + ", used as a " + KindName(kind));
    return *slot;
  }

  void Render(const std::string& name, std::string* out) const {
    *out += "# HELP ";
    *out += name;
    *out += ' ';
    AppendEscaped(out, help, /*escape_quotes=*/false);
    *out += "\n# TYPE ";
    *out += name;
    *out += ' ';
    *out += KindName(kind);
    *out += '\n';
    for (const auto& [labels, counter] : counters) {
      AppendSeriesName(out, name, labels);
      *out += ' ';
      *out += std::to_string(counter->value());
      *out += '\n';
    }
    for (const auto& [labels, gauge] : gauges) {
      AppendSeriesName(out, name, labels);
      *out += ' ';
      AppendValue(out, gauge->value());
      *out += '\n';
    }
    for (const auto& [labels, histogram] : histograms) {
      const Histogram::Snapshot snapshot = histogram->snapshot();
      for (size_t i = 0; i <= snapshot.bounds.size(); ++i) {
        std::string le;
        if (i < snapshot.bounds.size()) {
          AppendValue(&le, snapshot.bounds[i]);
        } else {
          le = "+Inf";
        }
        AppendSeriesName(out, name + "_bucket", labels, le.c_str());
        *out += ' ';
        *out += std::to_string(snapshot.cumulative[i]);
        *out += '\n';
      }
      AppendSeriesName(out, name + "_sum", labels);
      *out += ' ';
      AppendValue(out, snapshot.sum);
      *out += '\n';
      AppendSeriesName(out, name + "_count", labels);
      *out += ' ';
      *out += std::to_string(snapshot.count);
      *out += '\n';
    }
  }
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

Counter& MetricsRegistry::GetCounter(const std::string& name, const std::string& help,
                                     const MetricLabels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  Family& family = Family::Lookup(families_, name, help, Family::Kind::kCounter, labels);
  std::unique_ptr<Counter>& counter = family.counters[labels];
  if (counter == nullptr) counter = std::make_unique<Counter>();
  return *counter;
}

Gauge& MetricsRegistry::GetGauge(const std::string& name, const std::string& help,
                                 const MetricLabels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  Family& family = Family::Lookup(families_, name, help, Family::Kind::kGauge, labels);
  std::unique_ptr<Gauge>& gauge = family.gauges[labels];
  if (gauge == nullptr) gauge = std::make_unique<Gauge>();
  return *gauge;
}

Histogram& MetricsRegistry::GetHistogram(const std::string& name, const std::string& help,
                                         const MetricLabels& labels, const std::vector<double>& bounds) {
  std::lock_guard<std::mutex> lock(mutex_);
  Family& family = Family::Lookup(families_, name, help, Family::Kind::kHistogram, labels);
  std::vector<double> normalized = NormalizeBounds(bounds);
  if (family.histograms.empty()) family.bounds = normalized;
  CheckOrDie(normalized == family.bounds, "histogram " + name + " used with different bucket bounds");
  std::unique_ptr<Histogram>& histogram = family.histograms[labels];
  if (histogram == nullptr) histogram = std::make_unique<Histogram>(std::move(normalized));
  return *histogram;
}

void MetricsRegistry::AddCollector(std::function<void()> collector) {
  std::lock_guard<std::mutex> lock(mutex_);
  collectors_.push_back(std::move(collector));
}

std::string MetricsRegistry::Render() const {
  // Collectors set gauges through GetGauge, which takes the lock: run them
  // before taking it.
  std::vector<std::function<void()>> collectors;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    collectors = collectors_;
  }
  for (const std::function<void()>& collector : collectors) collector();

  std::string out;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [name, family] : families_) family->Render(name, &out);
  return out;
}

}  // namespace kiln::serving
