// Point-in-time join and CSV ingest on the flights data; the pandas peer is
// bench/features/pit_join_pandas.py, which writes the same views and
// compares its values with the ones written here.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "bench_repository.h"
#include "data/csv.h"
#include "data/timestamp.h"
#include "features/point_in_time_join.h"
#include "features_workloads.h"

namespace kiln_bench {

namespace {

using Clock = std::chrono::steady_clock;
using kiln::data::Column;
using kiln::data::Frame;
using kiln::data::Type;

// The views pit_join_pandas.py prepares (keep the two lists in step).
struct ViewSpec {
  const char* name;  // <views-dir>/<name>.csv
  std::vector<std::string> join_keys;
};
const std::vector<ViewSpec>& AllViews() {
  static const std::vector<ViewSpec> kViews = {
      {"origin_hourly", {"origin"}},
      {"route_daily", {"origin", "destination"}},
      {"destination_hourly", {"destination"}},
  };
  return kViews;
}
const std::vector<std::string> kFeatureColumns = {"delay_mean", "flights"};

double Seconds(Clock::duration duration) { return std::chrono::duration<double>(duration).count(); }

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n == 0 ? 0 : (n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2);
}

int64_t FileBytes(const std::string& path) {
  std::error_code error;
  auto size = std::filesystem::file_size(path, error);
  return error ? 0 : static_cast<int64_t>(size);
}

// Appends a column's values as doubles, NaN for null.
void AppendAsDoubles(const Column& column, std::vector<double>* out) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (size_t row = 0; row < column.size(); ++row) {
    if (column.IsNull(row)) {
      out->push_back(nan);
    } else if (column.type() == Type::kFloat64) {
      out->push_back(column.floats()[row]);
    } else {
      out->push_back(static_cast<double>(column.ints()[row]));
    }
  }
}

}  // namespace

nlohmann::json PitJoin(Args& args) {
  const std::string entities_path = args.String("entities", "data/flights-3m.csv");
  const std::string views_dir = args.String("views", "bench/out/features");
  const std::string set = args.String("set", "single");
  const int threads = static_cast<int>(args.Int("threads", 2));
  const int repeats = static_cast<int>(args.Int("repeats", 3));
  const int64_t ttl_seconds = args.Int("ttl-seconds", 7 * 86400);
  const std::string out_path = args.String("out", "");
  const std::string label = args.String("label", "");
  if (std::string error = args.Check(); !error.empty()) {
    std::fprintf(stderr, "kiln_bench_features pit-join: %s\n", error.c_str());
    std::exit(2);
  }
  if (set != "single" && set != "multi") {
    std::fprintf(stderr, "kiln_bench_features pit-join: --set is single or multi, not '%s'\n", set.c_str());
    std::exit(2);
  }
  std::vector<ViewSpec> views = AllViews();
  if (set == "single") views.resize(1);

  // Untimed: reading the CSV files (the pandas side excludes it too).
  kiln::data::ReadOptions entity_options;
  entity_options.columns = {"departure", "origin"};
  if (set == "multi") entity_options.columns.push_back("destination");
  entity_options.timestamp_columns = {"departure"};
  for (const std::string& column : entity_options.columns) {
    if (column != "departure") entity_options.types[column] = Type::kString;
  }
  auto read_started = Clock::now();
  Frame entities = ValueOrExit(kiln::data::ReadCsv(entities_path, entity_options), "reading " + entities_path);
  std::vector<Frame> frames;
  for (const ViewSpec& view : views) {
    kiln::data::ReadOptions options;
    options.timestamp_columns = {"event_timestamp"};
    options.types = {{"delay_mean", Type::kFloat64}, {"flights", Type::kInt64}};
    for (const std::string& key : view.join_keys) options.types[key] = Type::kString;
    const std::string path = views_dir + "/" + view.name + ".csv";
    frames.push_back(ValueOrExit(kiln::data::ReadCsv(path, options), "reading " + path));
  }
  const double read_seconds = Seconds(Clock::now() - read_started);

  // Timed: match, then gather every feature column, per view.
  std::vector<double> match_seconds, total_seconds;
  std::vector<Column> gathered;
  for (int repeat = 0; repeat < repeats; ++repeat) {
    gathered.clear();
    double matching = 0;
    auto started = Clock::now();
    for (size_t v = 0; v < views.size(); ++v) {
      kiln::features::PointInTimeOptions options;
      options.join_keys = views[v].join_keys;
      options.entity_timestamp = "departure";
      options.event_timestamp = "event_timestamp";
      options.ttl_seconds = ttl_seconds;
      options.threads = threads;
      auto match_started = Clock::now();
      std::vector<int64_t> rows = ValueOrExit(kiln::features::PointInTimeMatch(entities, frames[v], options),
                                              std::string("matching ") + views[v].name);
      matching += Seconds(Clock::now() - match_started);
      for (const std::string& feature : kFeatureColumns) {
        const Column* column = ValueOrExit(frames[v].Get(feature), std::string(views[v].name));
        gathered.push_back(column->Take(rows));
      }
    }
    total_seconds.push_back(Seconds(Clock::now() - started));
    match_seconds.push_back(matching);
  }

  int64_t matched = 0;  // entity rows with a value from the first view
  for (size_t row = 0; row < gathered[0].size(); ++row) matched += gathered[0].IsNull(row) ? 0 : 1;
  if (!out_path.empty()) {
    std::vector<double> values;
    values.reserve(gathered.size() * entities.num_rows());
    for (const Column& column : gathered) AppendAsDoubles(column, &values);
    std::FILE* file = std::fopen(out_path.c_str(), "wb");
    if (file == nullptr || std::fwrite(values.data(), sizeof(double), values.size(), file) != values.size() ||
        std::fclose(file) != 0) {
      std::fprintf(stderr, "kiln_bench_features pit-join: cannot write %s\n", out_path.c_str());
      std::exit(1);
    }
  }
  nlohmann::json view_rows = nlohmann::json::array();
  for (size_t v = 0; v < views.size(); ++v) {
    view_rows.push_back({{"view", views[v].name}, {"rows", frames[v].num_rows()}});
  }
  return {{"bench", "pit-join"},
          {"label", label},
          {"set", set},
          {"views", view_rows},
          {"entity_rows", entities.num_rows()},
          {"matched_rows_first_view", matched},
          {"threads", threads},
          {"ttl_seconds", ttl_seconds},
          {"repeats", repeats},
          {"seconds", Median(total_seconds)},
          {"seconds_min", *std::min_element(total_seconds.begin(), total_seconds.end())},
          {"seconds_all", total_seconds},
          {"match_seconds", Median(match_seconds)},
          {"read_seconds_untimed", read_seconds},
          {"out", out_path}};
}

nlohmann::json CsvIngest(Args& args) {
  const std::string path = args.String("path", "data/flights-3m.csv");
  const std::string timestamp_column = args.String("timestamp", "departure");
  const int repeats = static_cast<int>(args.Int("repeats", 3));
  const std::string label = args.String("label", "");
  if (std::string error = args.Check(); !error.empty()) {
    std::fprintf(stderr, "kiln_bench_features csv-ingest: %s\n", error.c_str());
    std::exit(2);
  }
  kiln::data::ReadOptions options;
  if (!timestamp_column.empty()) options.timestamp_columns = {timestamp_column};
  std::vector<double> seconds;
  size_t rows = 0, columns = 0;
  for (int repeat = 0; repeat < repeats; ++repeat) {
    auto started = Clock::now();
    Frame frame = ValueOrExit(kiln::data::ReadCsv(path, options), "reading " + path);
    seconds.push_back(Seconds(Clock::now() - started));
    rows = frame.num_rows();
    columns = frame.num_columns();
  }
  const double median = Median(seconds);
  const int64_t bytes = FileBytes(path);
  return {{"bench", "csv-ingest"},
          {"label", label},
          {"path", path},
          {"rows", rows},
          {"columns", columns},
          {"bytes", bytes},
          {"repeats", repeats},
          {"seconds", median},
          {"seconds_all", seconds},
          {"rows_per_s", static_cast<double>(rows) / median},
          {"mb_per_s", static_cast<double>(bytes) / 1e6 / median}};
}

}  // namespace kiln_bench
