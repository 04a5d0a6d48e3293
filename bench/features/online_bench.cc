// In-process online lookups and materialization (bench/README.md,
// "Feature-store benchmarks", 2 and 4).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "../latency.h"
#include "bench_repository.h"
#include "data/timestamp.h"
#include "features/materializer.h"
#include "features/rocksdb_online_store.h"
#include "features_workloads.h"

namespace kiln_bench {

namespace {

using Clock = std::chrono::steady_clock;
using kiln::data::Value;
using kiln::features::OnlineRecord;
using kiln::features::OnlineStore;
using kiln::features::ViewKey;

constexpr const char* kProject = "bench";
constexpr const char* kView = "customer_stats";
constexpr const char* kService = "scoring";

double Seconds(Clock::duration duration) { return std::chrono::duration<double>(duration).count(); }

// Small, fast and seeded: picks the entity of each lookup.
struct XorShift {
  uint64_t state;
  uint64_t Next() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  }
};

std::vector<int> ParseThreadCounts(const std::string& text) {
  std::vector<int> counts;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (!item.empty()) counts.push_back(std::max(1, std::stoi(item)));
  }
  return counts;
}

// Runs `lookup(thread, random)` on `threads` threads for `seconds`; each
// call is one lookup. Returns lookups per second over all threads, and the
// latencies of every 16th call (µs; the clock reads cost ~50 ns of each
// sampled call).
struct RateResult {
  double per_second = 0;
  int64_t lookups = 0;
  double seconds = 0;
  LatencySummary sampled_us;
};
template <typename Lookup>
RateResult MeasureRate(int threads, double seconds, const Lookup& lookup) {
  std::atomic<int64_t> total{0};
  std::atomic<bool> stop{false};
  std::vector<std::vector<double>> samples(threads);
  auto worker = [&](int thread) {
    XorShift random{0x9E3779B97F4A7C15ull * static_cast<uint64_t>(thread + 1)};
    int64_t count = 0;
    std::vector<double>& sample = samples[thread];
    while (!stop.load(std::memory_order_relaxed)) {
      for (int i = 0; i < 256; ++i) {
        if ((i & 15) == 0) {
          auto started = Clock::now();
          lookup(thread, random);
          sample.push_back(std::chrono::duration<double, std::micro>(Clock::now() - started).count());
        } else {
          lookup(thread, random);
        }
      }
      count += 256;
    }
    total += count;
  };
  auto started = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker, t);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (std::thread& thread : pool) thread.join();
  RateResult result;
  result.seconds = Seconds(Clock::now() - started);
  result.lookups = total.load();
  result.per_second = static_cast<double>(result.lookups) / result.seconds;
  std::vector<double> all;
  for (const auto& sample : samples) all.insert(all.end(), sample.begin(), sample.end());
  result.sampled_us = Summarize(std::move(all));  // fields named _ms hold µs here
  return result;
}

nlohmann::json RateJson(const RateResult& rate, int threads) {
  return {{"threads", threads},
          {"lookups", rate.lookups},
          {"seconds", rate.seconds},
          {"lookups_per_s", rate.per_second},
          {"p50_us", rate.sampled_us.p50_ms},
          {"p99_us", rate.sampled_us.p99_ms},
          {"mean_us", rate.sampled_us.mean_ms}};
}

std::string EntityKey(int64_t customer) {
  Value value = Value::Int(customer);
  return kiln::features::EncodeEntityKey(std::span<const Value>(&value, 1));
}

// Reads every record of customers 0..entities-1 in batches.
std::vector<OnlineRecord> ReadAll(OnlineStore& store, const ViewKey& view,
                                  std::span<const kiln::data::Type> types, int64_t entities,
                                  std::vector<std::string>* keys) {
  std::vector<OnlineRecord> records;
  keys->clear();
  for (int64_t begin = 0; begin < entities; begin += 10'000) {
    std::vector<std::string> batch;
    for (int64_t c = begin; c < std::min(entities, begin + 10'000); ++c) batch.push_back(EntityKey(c));
    std::vector<std::optional<OnlineRecord>> found;
    CheckOk(store.Read(view, types, batch, &found), "reading back the materialized records");
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!found[i]) {
        std::fprintf(stderr, "kiln_bench_features: customer %lld was not materialized\n",
                     static_cast<long long>(begin + static_cast<int64_t>(i)));
        std::exit(1);
      }
      keys->push_back(batch[i]);
      records.push_back(std::move(*found[i]));
    }
  }
  return records;
}

}  // namespace

nlohmann::json MakeRepository(Args& args) {
  SyntheticRepositoryOptions options;
  const std::string directory = args.String("dir", "");
  options.rows = args.Int("rows", options.rows);
  options.entities = args.Int("entities", options.entities);
  options.features = static_cast<int>(args.Int("features", options.features));
  options.span_seconds = args.Int("span-seconds", options.span_seconds);
  if (std::string error = args.Check(); !error.empty() || directory.empty()) {
    std::fprintf(stderr, "kiln_bench_features make-repository: %s\n",
                 error.empty() ? "--dir is required" : error.c_str());
    std::exit(2);
  }
  int64_t bytes = ValueOrExit(WriteSyntheticRepository(directory, options), "writing the repository");
  return {{"bench", "make-repository"}, {"dir", directory},           {"rows", options.rows},
          {"entities", options.entities}, {"features", options.features}, {"csv_bytes", bytes}};
}

nlohmann::json OnlineLookups(Args& args) {
  const int64_t entities = args.Int("entities", 10'000);
  const int features = static_cast<int>(args.Int("features", 50));
  const double seconds = args.Double("seconds", 5);
  const std::vector<int> thread_counts = ParseThreadCounts(args.String("threads", "1,2"));
  const std::string label = args.String("label", "");
  if (std::string error = args.Check(); !error.empty()) {
    std::fprintf(stderr, "kiln_bench_features online: %s\n", error.c_str());
    std::exit(2);
  }
  TemporaryDirectory temporary("kiln-bench-online");
  const std::string repository_dir = temporary.path() + "/repository";
  SyntheticRepositoryOptions repository_options;
  repository_options.rows = entities;
  repository_options.entities = entities;
  repository_options.features = features;
  ValueOrExit(WriteSyntheticRepository(repository_dir, repository_options), "writing the repository");

  auto harness = ValueOrExit(FeatureStoreHarness::Open(temporary.path() + "/data", "", 2), "opening the store");
  kiln::features::FeatureStore& store = harness->store();
  CheckOk(harness->ApplyDirectory(repository_dir), "applying " + repository_dir);
  kiln::features::MaterializeRequest materialize;
  materialize.project = kProject;
  auto materialized = ValueOrExit(store.Materialize(materialize), "materializing");
  if (materialized.size() != 1 || materialized[0].entities_written != entities) {
    std::fprintf(stderr, "kiln_bench_features online: expected %lld entities materialized\n",
                 static_cast<long long>(entities));
    std::exit(1);
  }

  // One request per thread, reused; only the entity changes.
  auto make_request = [&]() {
    kiln::features::OnlineRequest request;
    request.project = kProject;
    request.service = kService;
    request.with_metadata = false;
    request.rows.resize(1);
    request.rows[0]["customer"] = Value::Int(0);
    return request;
  };
  {  // Sanity: every value PRESENT; and one pass over all entities fills the cache.
    kiln::features::OnlineRequest request = make_request();
    for (int64_t customer = 0; customer < entities; ++customer) {
      request.rows[0]["customer"].i = customer;
      auto response = ValueOrExit(store.GetOnlineFeatures(request), "GetOnlineFeatures");
      if (response.statuses.size() != 1 || response.statuses[0].size() != static_cast<size_t>(features)) {
        std::fprintf(stderr, "kiln_bench_features online: expected 1 row × %d features\n", features);
        std::exit(1);
      }
      for (auto status : response.statuses[0]) {
        if (status != kiln::features::FeatureStatus::kPresent) {
          std::fprintf(stderr, "kiln_bench_features online: customer %lld: status %s, expected PRESENT\n",
                       static_cast<long long>(customer),
                       std::string(kiln::features::FeatureStatusName(status)).c_str());
          std::exit(1);
        }
      }
    }
  }

  nlohmann::json get_online = nlohmann::json::array();
  for (int threads : thread_counts) {
    std::vector<kiln::features::OnlineRequest> requests(threads, make_request());
    std::atomic<int64_t> failures{0};
    RateResult rate = MeasureRate(threads, seconds, [&](int thread, XorShift& random) {
      kiln::features::OnlineRequest& request = requests[thread];
      request.rows[0]["customer"].i = static_cast<int64_t>(random.Next() % static_cast<uint64_t>(entities));
      auto response = store.GetOnlineFeatures(request);
      if (!response.ok()) failures.fetch_add(1, std::memory_order_relaxed);
    });
    if (failures.load() > 0) {
      std::fprintf(stderr, "kiln_bench_features online: %lld lookups failed\n", static_cast<long long>(failures.load()));
      std::exit(1);
    }
    get_online.push_back(RateJson(rate, threads));
  }

  // The same lookups one layer down: the cached store's ReadInto.
  auto repository = ValueOrExit(store.Current(kProject), "current repository");
  const kiln::features::ResolvedView* view = repository->FindView(kView);
  const ViewKey view_key = kiln::features::OnlineViewKey(kProject, *view);
  const std::vector<kiln::data::Type> types = kiln::features::ViewFeatureTypes(*view);
  std::vector<std::string> keys;
  for (int64_t customer = 0; customer < entities; ++customer) keys.push_back(EntityKey(customer));
  OnlineStore* cached = ValueOrExit(store.online(), "online store");
  const std::string cached_description = cached->Describe();
  auto read_rates = [&](OnlineStore& online, bool into) {
    nlohmann::json rows = nlohmann::json::array();
    for (int threads : thread_counts) {
      std::vector<std::vector<std::optional<OnlineRecord>>> outs(threads);
      std::atomic<int64_t> misses{0};
      RateResult rate = MeasureRate(threads, seconds, [&](int thread, XorShift& random) {
        const std::string& key = keys[random.Next() % static_cast<uint64_t>(entities)];
        std::span<const std::string> one(&key, 1);
        auto& out = outs[thread];
        kiln::Status status = into ? online.ReadInto(view_key, types, one, &out) : online.Read(view_key, types, one, &out);
        if (!status.ok() || out.size() != 1 || !out[0]) misses.fetch_add(1, std::memory_order_relaxed);
      });
      if (misses.load() > 0) {
        std::fprintf(stderr, "kiln_bench_features online: %lld reads failed or missed (%s)\n",
                     static_cast<long long>(misses.load()), online.Describe().c_str());
        std::exit(1);
      }
      rows.push_back(RateJson(rate, threads));
    }
    return rows;
  };
  nlohmann::json read_into = read_rates(*cached, true);

  // Baseline: the same records in a second RocksDB store without the cache.
  std::vector<std::string> copied_keys;
  std::vector<OnlineRecord> records = ReadAll(*cached, view_key, types, entities, &copied_keys);
  auto raw = ValueOrExit(kiln::features::RocksDbOnlineStore::Open(temporary.path() + "/raw-rocksdb", {}),
                         "opening the uncached RocksDB store");
  CheckOk(raw->Write(view_key, copied_keys, records), "copying the records");
  nlohmann::json rocksdb_read = read_rates(*raw, false);

  return {{"bench", "online-inprocess"},
          {"label", label},
          {"entities", entities},
          {"features", features},
          {"seconds_each", seconds},
          {"store", cached_description},
          {"get_online_features", get_online},
          {"cached_read_into", read_into},
          {"rocksdb_uncached_read", rocksdb_read}};
}

nlohmann::json Materialize(Args& args) {
  const std::string repository_arg = args.String("repository", "");
  const std::string project = args.String("project", kProject);
  const std::string views_arg = args.String("views", "");
  const std::string end_arg = args.String("end", "");
  const std::string online_uri = args.String("online", "");
  const int threads = static_cast<int>(args.Int("threads", 2));
  const int64_t rows = args.Int("rows", 1'000'000);
  const int64_t entities = args.Int("entities", 100'000);
  const int features = static_cast<int>(args.Int("features", 50));
  const std::string label = args.String("label", "");
  if (std::string error = args.Check(); !error.empty()) {
    std::fprintf(stderr, "kiln_bench_features materialize: %s\n", error.c_str());
    std::exit(2);
  }
  TemporaryDirectory temporary("kiln-bench-materialize");
  const bool synthetic = repository_arg.empty();
  std::string repository_dir = repository_arg;
  int64_t source_bytes = 0;
  if (synthetic) {
    repository_dir = temporary.path() + "/repository";
    SyntheticRepositoryOptions options;
    options.rows = rows;
    options.entities = entities;
    options.features = features;
    options.span_seconds = 86400;
    source_bytes = ValueOrExit(WriteSyntheticRepository(repository_dir, options), "writing the repository");
  }
  auto harness = ValueOrExit(FeatureStoreHarness::Open(temporary.path() + "/data", online_uri, threads),
                             "opening the store");
  kiln::features::FeatureStore& store = harness->store();
  CheckOk(harness->ApplyDirectory(repository_dir), "applying " + repository_dir);
  OnlineStore* online = ValueOrExit(store.online(), "opening the online store " + online_uri);
  const std::string description = online->Describe();

  kiln::features::MaterializeRequest request;
  request.project = project;
  std::stringstream views_stream(views_arg);
  for (std::string view; std::getline(views_stream, view, ',');) {
    if (!view.empty()) request.views.push_back(view);
  }
  if (!end_arg.empty()) {
    request.end_micros = ValueOrExit(kiln::data::ParseTimestamp(end_arg, kiln::data::TimeZone::Utc()), "--end");
  }
  for (const std::string& view : request.views.empty() ? std::vector<std::string>{kView} : request.views) {
    // A shared Redis may hold records of an earlier run.
    CheckOk(online->DeleteView(project + "/" + view), "clearing view " + view);
  }
  auto started = Clock::now();
  auto results = ValueOrExit(store.Materialize(request), "materializing");
  const double seconds = Seconds(Clock::now() - started);
  int64_t rows_read = 0, written = 0, quarantined = 0;
  nlohmann::json per_view = nlohmann::json::array();
  for (const auto& result : results) {
    rows_read += result.rows_read;
    written += result.entities_written;
    quarantined += result.rows_quarantined;
    per_view.push_back({{"view", result.view},
                        {"rows_read", result.rows_read},
                        {"entities_written", result.entities_written},
                        {"rows_quarantined", result.rows_quarantined},
                        {"seconds", result.seconds},
                        {"rows_per_s", static_cast<double>(result.rows_read) / result.seconds},
                        {"entities_per_s", static_cast<double>(result.entities_written) / result.seconds}});
  }
  nlohmann::json out = {{"bench", "materialize"},
                        {"label", label},
                        {"store", description},
                        {"repository", synthetic ? "synthetic" : repository_arg},
                        {"threads", threads},
                        {"views", per_view},
                        {"rows_read", rows_read},
                        {"entities_written", written},
                        {"rows_quarantined", quarantined},
                        {"seconds", seconds},
                        {"rows_per_s", static_cast<double>(rows_read) / seconds},
                        {"entities_per_s", static_cast<double>(written) / seconds}};
  if (!synthetic) return out;
  out["source_bytes"] = source_bytes;
  out["features"] = features;

  // Baseline: the online store's raw Write of the same records, in the
  // materializer's batch size, under another view name (then removed).
  auto repository = ValueOrExit(store.Current(project), "current repository");
  const kiln::features::ResolvedView* view = repository->FindView(kView);
  const ViewKey view_key = kiln::features::OnlineViewKey(project, *view);
  const std::vector<kiln::data::Type> types = kiln::features::ViewFeatureTypes(*view);
  std::vector<std::string> keys;
  std::vector<OnlineRecord> records = ReadAll(*online, view_key, types, entities, &keys);
  const ViewKey copy_key{view_key.view + "_raw_write", view_key.fingerprint};
  CheckOk(online->DeleteView(copy_key.view), "clearing the copy view");
  constexpr size_t kBatch = 10'000;
  auto write_started = Clock::now();
  for (size_t begin = 0; begin < records.size(); begin += kBatch) {
    const size_t size = std::min(kBatch, records.size() - begin);
    CheckOk(online->Write(copy_key, std::span<const std::string>(keys).subspan(begin, size),
                          std::span<const OnlineRecord>(records).subspan(begin, size)),
            "raw write");
  }
  const double write_seconds = Seconds(Clock::now() - write_started);
  CheckOk(online->DeleteView(copy_key.view), "clearing the copy view");
  out["raw_write"] = {{"entities", records.size()},
                      {"seconds", write_seconds},
                      {"entities_per_s", static_cast<double>(records.size()) / write_seconds}};
  return out;
}

}  // namespace kiln_bench
