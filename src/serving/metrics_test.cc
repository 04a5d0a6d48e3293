#include "serving/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <thread>

namespace kiln::serving {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

// The Prometheus text format (0.0.4) read back: what a scraper sees.
struct Sample {
  std::string name;
  MetricLabels labels;
  std::string value;
};
struct Exposition {
  std::vector<std::pair<std::string, std::string>> help;  // name, unescaped text, in order
  std::vector<std::pair<std::string, std::string>> type;
  std::vector<Sample> samples;

  const Sample* Find(const std::string& name, const MetricLabels& labels) const {
    for (const Sample& sample : samples) {
      if (sample.name == name && sample.labels == labels) return &sample;
    }
    return nullptr;
  }
  std::string Value(const std::string& name, const MetricLabels& labels = {}) const {
    const Sample* sample = Find(name, labels);
    return sample == nullptr ? "(absent)" : sample->value;
  }
};

std::string Unescape(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      ++i;
      out += text[i] == 'n' ? '\n' : text[i];
    } else {
      out += text[i];
    }
  }
  return out;
}

Exposition Parse(const std::string& text) {
  Exposition exposition;
  EXPECT_TRUE(text.empty() || text.back() == '\n') << "the exposition ends with a newline";
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      const size_t space = line.find(' ', 7);
      auto& list = line[2] == 'H' ? exposition.help : exposition.type;
      list.emplace_back(line.substr(7, space - 7), Unescape(line.substr(space + 1)));
      continue;
    }
    Sample sample;
    size_t i = line.find_first_of("{ ");
    sample.name = line.substr(0, i);
    if (line[i] == '{') {
      ++i;
      while (line[i] != '}') {
        const size_t equals = line.find('=', i);
        std::string label = line.substr(i, equals - i);
        EXPECT_EQ(line[equals + 1], '"') << line;
        std::string value;
        for (i = equals + 2; line[i] != '"'; ++i) {
          if (line[i] == '\\') value += line[i++];
          value += line[i];
        }
        sample.labels.emplace_back(label, Unescape(value));
        ++i;  // closing quote
        if (line[i] == ',') ++i;
      }
      ++i;  // '}'
    }
    EXPECT_EQ(line[i], ' ') << line;
    sample.value = line.substr(i + 1);
    exposition.samples.push_back(sample);
  }
  return exposition;
}

TEST(MetricsRegistryTest, RendersCountersAndGaugesWithHelpAndType) {
  MetricsRegistry registry;
  Counter& ok =
      registry.GetCounter("kiln_requests_total", "Requests served.", {{"model", "delay"}, {"code", "200"}});
  Counter& failed =
      registry.GetCounter("kiln_requests_total", "Requests served.", {{"model", "delay"}, {"code", "500"}});
  ok.Increment();
  ok.Increment(4);
  failed.Increment();
  EXPECT_EQ(
      &registry.GetCounter("kiln_requests_total", "Requests served.", {{"model", "delay"}, {"code", "200"}}),
      &ok);
  registry.GetGauge("kiln_models_loaded", "Model versions loaded.").Set(3);
  registry.GetGauge("kiln_feature_age_seconds", "Age.").Set(0.25);

  const Exposition exposition = Parse(registry.Render());
  EXPECT_THAT(exposition.type,
              ElementsAre(Pair("kiln_feature_age_seconds", "gauge"), Pair("kiln_models_loaded", "gauge"),
                          Pair("kiln_requests_total", "counter")));
  EXPECT_THAT(exposition.help, ElementsAre(Pair("kiln_feature_age_seconds", "Age."),
                                           Pair("kiln_models_loaded", "Model versions loaded."),
                                           Pair("kiln_requests_total", "Requests served.")));
  EXPECT_EQ(exposition.Value("kiln_requests_total", {{"model", "delay"}, {"code", "200"}}), "5");
  EXPECT_EQ(exposition.Value("kiln_requests_total", {{"model", "delay"}, {"code", "500"}}), "1");
  EXPECT_EQ(exposition.Value("kiln_models_loaded"), "3");
  EXPECT_EQ(exposition.Value("kiln_feature_age_seconds"), "0.25");
}

TEST(MetricsRegistryTest, EscapesLabelValuesAndHelp) {
  MetricsRegistry registry;
  const std::string odd = "a \"quoted\" back\\slash\nnewline";
  registry.GetCounter("odd_total", "Help with \\ and\nnewline \"quotes\".", {{"model", odd}}).Increment();
  const std::string text = registry.Render();
  EXPECT_NE(text.find(R"(odd_total{model="a \"quoted\" back\\slash\nnewline"} 1)"), std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(# HELP odd_total Help with \\ and\nnewline "quotes".)"), std::string::npos) << text;
  const Exposition exposition = Parse(text);
  EXPECT_EQ(exposition.Value("odd_total", {{"model", odd}}), "1");
  EXPECT_THAT(exposition.help, ElementsAre(Pair("odd_total", "Help with \\ and\nnewline \"quotes\".")));
}

TEST(MetricsRegistryTest, RendersHistogramBucketsSumAndCount) {
  MetricsRegistry registry;
  Histogram& latency =
      registry.GetHistogram("kiln_latency_seconds", "Latency.", {{"model", "m"}}, {0.001, 0.01, 0.1});
  for (double value : {0.0005, 0.001, 0.005, 0.05, 3.0}) latency.Observe(value);  // 0.001 is in le="0.001"

  const Exposition exposition = Parse(registry.Render());
  EXPECT_THAT(exposition.type, ElementsAre(Pair("kiln_latency_seconds", "histogram")));
  EXPECT_EQ(exposition.Value("kiln_latency_seconds_bucket", {{"model", "m"}, {"le", "0.001"}}), "2");
  EXPECT_EQ(exposition.Value("kiln_latency_seconds_bucket", {{"model", "m"}, {"le", "0.01"}}), "3");
  EXPECT_EQ(exposition.Value("kiln_latency_seconds_bucket", {{"model", "m"}, {"le", "0.1"}}), "4");
  EXPECT_EQ(exposition.Value("kiln_latency_seconds_bucket", {{"model", "m"}, {"le", "+Inf"}}), "5");
  EXPECT_EQ(exposition.Value("kiln_latency_seconds_count", {{"model", "m"}}), "5");
  EXPECT_DOUBLE_EQ(std::stod(exposition.Value("kiln_latency_seconds_sum", {{"model", "m"}})), 3.0565);

  const Histogram::Snapshot snapshot = latency.snapshot();
  EXPECT_THAT(snapshot.cumulative, ElementsAre(2, 3, 4, 5));
  EXPECT_EQ(snapshot.count, 5u);
}

TEST(MetricsRegistryTest, LatencyBucketsSpan50MicrosecondsTo10Seconds) {
  const std::vector<double> buckets = LatencyBuckets();
  ASSERT_FALSE(buckets.empty());
  EXPECT_EQ(buckets.front(), 0.00005);
  EXPECT_EQ(buckets.back(), 10);
  EXPECT_TRUE(std::is_sorted(buckets.begin(), buckets.end()));
  MetricsRegistry registry;
  registry.GetHistogram("h_seconds", "h", {}, buckets).Observe(0.00005);
  EXPECT_EQ(Parse(registry.Render()).Value("h_seconds_bucket", {{"le", "5e-05"}}), "1");
  EXPECT_EQ(Parse(registry.Render()).Value("h_seconds_bucket", {{"le", "0.0001"}}), "1");
}

TEST(MetricsRegistryTest, CollectorsRunAtEveryRenderAndMaySetGauges) {
  MetricsRegistry registry;
  int depth = 0;
  registry.AddCollector([&] { registry.GetGauge("kiln_queue_depth", "Queue depth.").Set(++depth * 10); });
  EXPECT_EQ(Parse(registry.Render()).Value("kiln_queue_depth"), "10");
  EXPECT_EQ(Parse(registry.Render()).Value("kiln_queue_depth"), "20");
}

TEST(MetricsRegistryTest, ConcurrentUpdatesAreNotLost) {
  MetricsRegistry registry;
  Counter& counter = registry.GetCounter("c_total", "c");
  Histogram& histogram = registry.GetHistogram("h", "h", {}, {0.5, 1.5});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        counter.Increment();
        histogram.Observe(1.0);
      }
    });
  }
  std::thread scraper([&] {
    for (int i = 0; i < 20; ++i) (void)registry.Render();
  });
  for (std::thread& thread : threads) thread.join();
  scraper.join();
  EXPECT_EQ(counter.value(), uint64_t{kThreads * kPerThread});
  const Histogram::Snapshot snapshot = histogram.snapshot();
  EXPECT_EQ(snapshot.count, uint64_t{kThreads * kPerThread});
  EXPECT_THAT(snapshot.cumulative, ElementsAre(0, kThreads * kPerThread, kThreads * kPerThread));
  EXPECT_EQ(snapshot.sum, kThreads * kPerThread);  // integers: the CAS loop adds exactly
}

TEST(MetricsRegistryTest, GaugeValuesAndNonFiniteRendering) {
  MetricsRegistry registry;
  registry.GetGauge("g", "g", {{"k", "nan"}}).Set(std::nan(""));
  registry.GetGauge("g", "g", {{"k", "inf"}}).Set(INFINITY);
  registry.GetGauge("g", "g", {{"k", "neg"}}).Set(-1.5e-7);
  const Exposition exposition = Parse(registry.Render());
  EXPECT_EQ(exposition.Value("g", {{"k", "nan"}}), "NaN");
  EXPECT_EQ(exposition.Value("g", {{"k", "inf"}}), "+Inf");
  EXPECT_EQ(exposition.Value("g", {{"k", "neg"}}), "-1.5e-07");
}

TEST(MetricsRegistryDeathTest, MisuseIsAProgrammingError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // other tests of this binary start threads
  EXPECT_DEATH(
      {
        MetricsRegistry registry;
        registry.GetCounter("x_total", "x");
        registry.GetGauge("x_total", "x");
      },
      "metric x_total is a counter, used as a gauge");
  EXPECT_DEATH(
      {
        MetricsRegistry registry;
        registry.GetCounter("bad name", "x");
      },
      "invalid metric name 'bad name'");
  EXPECT_DEATH(
      {
        MetricsRegistry registry;
        registry.GetHistogram("h", "h", {{"le", "1"}}, {1});
      },
      "'le' is reserved");
}

}  // namespace
}  // namespace kiln::serving
