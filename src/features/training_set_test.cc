// BuildTrainingSet over small repositories built in code, with CSV sources
// written to a temporary folder and read by the real readers. Expected values
// are worked out by hand in the comments.

#include "features/features_testing.h"
#include "features/training_set.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>

#include "data/timestamp.h"
#include "features/source_schema.h"

namespace kiln::features {
namespace {

using testing_support::T;
using testing_support::Value;

using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

data::Column Ints(std::vector<std::optional<int64_t>> values, data::Type type = data::Type::kInt64) {
  data::Column column(type);
  for (const auto& value : values) value ? column.AppendInt(*value) : column.AppendNull();
  return column;
}
data::Column Floats(std::vector<double> values) {
  data::Column column(data::Type::kFloat64);
  for (double value : values) column.AppendFloat(value);
  return column;
}
data::Column Strings(std::vector<std::string> values) {
  data::Column column(data::Type::kString);
  for (const std::string& value : values) column.AppendString(value);
  return column;
}
data::Column Times(std::vector<std::string> isos) {
  data::Column column(data::Type::kTimestamp);
  for (const std::string& iso : isos) column.AppendInt(T(iso));
  return column;
}

// A column's values as text ("null" for nulls), for compact assertions.
std::vector<std::string> Texts(const data::Frame& frame, std::string_view name) {
  std::vector<std::string> out;
  const data::Column* column = frame.Find(name);
  EXPECT_NE(column, nullptr) << "no column " << name;
  if (column == nullptr) return out;
  for (size_t row = 0; row < column->size(); ++row) out.push_back(column->Get(row).ToString());
  return out;
}

FeatureDef RowFeature(std::string name, std::string expression) {
  FeatureDef feature;
  feature.name = std::move(name);
  feature.expression = std::move(expression);
  return feature;
}

FeatureDef Aggregate(std::string name, std::string function, std::string column, int64_t window_seconds) {
  FeatureDef feature;
  feature.name = std::move(name);
  feature.aggregation = AggregationDef{std::move(function), std::move(column), window_seconds};
  return feature;
}

class TrainingSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "kiln-training-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    def_.project = "demo";
    def_.root = root_.string();
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }

  void Write(const std::string& name, const std::string& text) { std::ofstream(root_ / name) << text; }

  std::shared_ptr<const Repository> Build() {
    return Value(Repository::Build(def_, DefaultSchemaResolver(root_.string())));
  }

  // Drivers: trips with a created timestamp; view driver_stats with a 6 h TTL.
  void DefineDrivers() {
    Write("trips.csv",
          "driver_id,event_ts,created_ts,rating\n"
          "1,2021-01-01T10:00:00Z,2021-01-01T10:00:00Z,4.0\n"
          "1,2021-01-01T12:00:00Z,2021-01-01T12:00:00Z,4.5\n"
          "1,2021-01-01T12:00:00Z,2021-01-01T12:30:00Z,4.8\n"  // same event time, created later: wins
          "2,2021-01-01T08:00:00Z,2021-01-01T08:00:00Z,3.0\n"
          "1,2021-01-01T14:00:00Z,2021-01-02T00:00:00Z,2.0\n");  // a late-arriving row
    SourceDef trips;
    trips.name = "trips";
    trips.path = "trips.csv";
    trips.timestamp_field = "event_ts";
    trips.created_timestamp_field = "created_ts";
    trips.columns = {{"rating", data::Type::kFloat64}};
    def_.sources.push_back(trips);
    def_.entities.push_back(EntityDef{"driver", {"driver_id"}, "", {}});
    FeatureViewDef view;
    view.name = "driver_stats";
    view.entities = {"driver"};
    view.source = "trips";
    view.ttl_seconds = 6 * 3600;
    view.features = {RowFeature("rating", "rating"), RowFeature("rating_x2", "rating * 2")};
    def_.feature_views.push_back(view);
    def_.feature_services.push_back(
        FeatureServiceDef{"driver_service", {{"driver_stats", "rating"}, {"driver_stats", "rating_x2"}}, "", {}});
  }

  // Entity rows for the drivers, deliberately out of time order.
  TrainingSetRequest DriverRequest() {
    TrainingSetRequest request;
    request.service = "driver_service";
    request.labels = {"tip"};
    data::Frame& entities = request.entities;
    EXPECT_TRUE(entities.AddColumn("driver_id", Ints({1, 2, 1, 2, 3, 1})).ok());
    EXPECT_TRUE(entities
                    .AddColumn("event_timestamp",
                               Times({"2021-01-01T13:00:00Z", "2021-01-01T09:00:00Z", "2021-01-01T11:00:00Z",
                                      "2021-01-02T09:00:00Z", "2021-01-01T12:00:00Z", "2021-01-01T15:00:00Z"}))
                    .ok());
    EXPECT_TRUE(entities.AddColumn("note", Strings({"a", "b", "c", "d", "e", "f"})).ok());
    EXPECT_TRUE(entities.AddColumn("tip", Floats({1, 2, 3, 4, 5, 6})).ok());
    return request;
  }

  // Flights: delays per origin; view origin_delays with a 1 h TTL, a row
  // feature and aggregations over 1 h and 1 d windows; on-demand features.
  void DefineFlights() {
    Write("flights.csv",
          "origin,dep_ts,delay\n"
          "SFO,2021-01-01T10:00:00Z,10\n"
          "SFO,2021-01-01T10:30:00Z,20\n"
          "SFO,2021-01-01T11:00:00Z,\n"
          "SFO,2021-01-01T11:30:00Z,40\n"
          "LAX,2021-01-01T09:00:00Z,5\n");
    SourceDef flights;
    flights.name = "flights";
    flights.path = "flights.csv";
    flights.timestamp_field = "dep_ts";
    flights.columns = {{"delay", data::Type::kFloat64}};
    def_.sources.push_back(flights);
    def_.entities.push_back(EntityDef{"airport", {"origin"}, "", {}});
    FeatureViewDef view;
    view.name = "origin_delays";
    view.entities = {"airport"};
    view.source = "flights";
    view.ttl_seconds = 3600;
    view.features = {RowFeature("last_delay", "delay"),
                     Aggregate("count_1h", "count", "", 3600),
                     Aggregate("mean_1h", "mean", "delay", 3600),
                     Aggregate("max_1d", "max", "delay", 86400),
                     Aggregate("sum_1d", "sum", "delay", 86400),
                     Aggregate("std_1d", "stddev", "delay", 86400),
                     Aggregate("sum_x2_1d", "sum", "delay * 2", 86400)};
    def_.feature_views.push_back(view);
    OnDemandViewDef derived;
    derived.name = "derived";
    derived.request = {{"departure_ts", data::Type::kTimestamp}};
    derived.features = {RowFeature("ratio", "origin_delays.sum_1d / origin_delays.count_1h"),
                        RowFeature("hour_of_day", "hour(departure_ts)")};
    def_.on_demand_views.push_back(derived);
    def_.feature_services.push_back(
        FeatureServiceDef{"delay_model", {{"derived", "ratio"}, {"derived", "hour_of_day"}}, "", {}});
  }

  TrainingSetRequest FlightRequest() {
    TrainingSetRequest request;
    data::Frame& entities = request.entities;
    EXPECT_TRUE(entities.AddColumn("origin", Strings({"SFO", "SFO", "SFO", "LAX", "JFK"})).ok());
    EXPECT_TRUE(entities
                    .AddColumn("event_timestamp",
                               Times({"2021-01-01T11:00:00Z", "2021-01-01T11:30:00Z", "2021-01-01T09:59:00Z",
                                      "2021-01-01T10:00:00Z", "2021-01-01T10:00:00Z"}))
                    .ok());
    EXPECT_TRUE(entities
                    .AddColumn("departure_ts",
                               Times({"2021-01-01T11:05:00Z", "2021-01-01T23:59:00Z", "2021-01-02T00:10:00Z",
                                      "2021-01-01T10:15:00Z", "2021-01-01T10:15:00Z"}))
                    .ok());
    return request;
  }

  std::filesystem::path root_;
  RepositoryDef def_;
};

TEST_F(TrainingSetTest, PointInTimeJoinWithTtlTiesAndEntityOrder) {
  DefineDrivers();
  auto repository = Build();
  TrainingSet set = Value(BuildTrainingSet(*repository, DriverRequest(), {}));
  EXPECT_EQ(set.rows, 6);
  // Entity columns in the entity frame's order ("note" is neither key,
  // timestamp, request field nor label), then "view.feature" columns.
  EXPECT_THAT(set.frame.names(), ElementsAre("driver_id", "event_timestamp", "tip", "driver_stats.rating",
                                             "driver_stats.rating_x2"));
  EXPECT_THAT(Texts(set.frame, "driver_id"), ElementsAre("1", "2", "1", "2", "3", "1"));
  EXPECT_THAT(Texts(set.frame, "tip"), ElementsAre("1.0", "2.0", "3.0", "4.0", "5.0", "6.0"));
  // 13:00 → the 12:00 tie, the later-created 4.8; 09:00 → 08:00; 11:00 →
  // 10:00; next day 09:00 → 08:00 is beyond the 6 h TTL; driver 3 unknown;
  // 15:00 → the 14:00 row.
  EXPECT_THAT(Texts(set.frame, "driver_stats.rating"), ElementsAre("4.8", "3.0", "4.0", "null", "null", "2.0"));
  EXPECT_THAT(Texts(set.frame, "driver_stats.rating_x2"), ElementsAre("9.6", "6.0", "8.0", "null", "null", "4.0"));
  ASSERT_EQ(set.features.size(), 2u);
  EXPECT_EQ(set.features[0].FullName(), "driver_stats.rating");
  EXPECT_THAT(set.null_fractions, ElementsAre(DoubleNear(2.0 / 6, 1e-12), DoubleNear(2.0 / 6, 1e-12)));
}

TEST_F(TrainingSetTest, RequireCreatedBeforeEntityIgnoresLateRows) {
  DefineDrivers();
  auto repository = Build();
  TrainingSetRequest request = DriverRequest();
  request.require_created_before_entity = true;
  TrainingSet set = Value(BuildTrainingSet(*repository, request, {}));
  // At 15:00 the 14:00 row was not yet created (next day): the 12:00 row
  // created at 12:30 is the latest known. At 13:00 both 12:00 rows exist.
  EXPECT_THAT(Texts(set.frame, "driver_stats.rating"), ElementsAre("4.8", "3.0", "4.0", "null", "null", "4.8"));
}

TEST_F(TrainingSetTest, EntityTimestampsAsIsoTextAndFeatureLists) {
  DefineDrivers();
  auto repository = Build();
  TrainingSetRequest request;
  request.features = {"driver_stats.rating"};
  request.entity_timestamp = "ts";
  ASSERT_TRUE(request.entities.AddColumn("ts", Strings({"2021-01-01T13:00:00+01:00", "2021-01-01 09:00"})).ok());
  ASSERT_TRUE(request.entities.AddColumn("driver_id", Ints({1, 2})).ok());
  TrainingSet set = Value(BuildTrainingSet(*repository, request, {}));
  EXPECT_THAT(set.frame.names(), ElementsAre("ts", "driver_id", "driver_stats.rating"));
  EXPECT_EQ(set.frame.Find("ts")->type(), data::Type::kTimestamp);
  EXPECT_THAT(Texts(set.frame, "ts"), ElementsAre("2021-01-01T12:00:00Z", "2021-01-01T09:00:00Z"));
  // 12:00 UTC → the later-created 12:00 row.
  EXPECT_THAT(Texts(set.frame, "driver_stats.rating"), ElementsAre("4.8", "3.0"));
}

TEST_F(TrainingSetTest, AggregationsAtEachEntityTimeFollowTheirWindowNotTheTtl) {
  DefineFlights();
  auto repository = Build();
  TrainingSetRequest request = FlightRequest();
  request.features = {"origin_delays.*"};
  TrainingSet set = Value(BuildTrainingSet(*repository, request, {}));
  // Rows: SFO 11:00, SFO 11:30, SFO 09:59, LAX 10:00, JFK 10:00.
  // Windows are (t − w, t]; count counts events (nulls too), the others skip
  // null delays.
  EXPECT_THAT(Texts(set.frame, "origin_delays.count_1h"), ElementsAre("2", "2", "0", "0", "0"));
  EXPECT_THAT(Texts(set.frame, "origin_delays.mean_1h"), ElementsAre("20.0", "40.0", "null", "null", "null"));
  // The 1 d windows reach events older than the 1 h TTL.
  EXPECT_THAT(Texts(set.frame, "origin_delays.max_1d"), ElementsAre("20.0", "40.0", "null", "5.0", "null"));
  EXPECT_THAT(Texts(set.frame, "origin_delays.sum_1d"), ElementsAre("30.0", "70.0", "null", "5.0", "null"));
  EXPECT_THAT(Texts(set.frame, "origin_delays.sum_x2_1d"), ElementsAre("60.0", "140.0", "null", "10.0", "null"));
  const data::Column& stddev = *set.frame.Find("origin_delays.std_1d");
  EXPECT_NEAR(stddev.floats()[0], std::sqrt(50.0), 1e-12);           // {10, 20}
  EXPECT_NEAR(stddev.floats()[1], std::sqrt(700.0 / 3.0), 1e-12);    // {10, 20, 40}
  EXPECT_TRUE(stddev.IsNull(2));
  // The row feature keeps the TTL: 11:00's row has a null delay; LAX's
  // 09:00 row is exactly 1 h old.
  EXPECT_THAT(Texts(set.frame, "origin_delays.last_delay"), ElementsAre("null", "40.0", "null", "5.0", "null"));
  EXPECT_EQ(set.frame.Find("origin_delays.count_1h")->type(), data::Type::kInt64);
}

TEST_F(TrainingSetTest, OnDemandFeaturesMatchTheOnlineRowPath) {
  DefineFlights();
  auto repository = Build();
  TrainingSetRequest request = FlightRequest();
  request.service = "delay_model";
  TrainingSet set = Value(BuildTrainingSet(*repository, request, {}));
  // The features read by derived.ratio are computed but not output.
  EXPECT_THAT(set.frame.names(),
              ElementsAre("origin", "event_timestamp", "departure_ts", "derived.ratio", "derived.hour_of_day"));
  EXPECT_THAT(Texts(set.frame, "derived.hour_of_day"), ElementsAre("11", "23", "0", "10", "10"));
  // 30 / 2, 70 / 2, and null where sum_1d is null (LAX: 5 / 0 is null too).
  EXPECT_THAT(Texts(set.frame, "derived.ratio"), ElementsAre("15.0", "35.0", "null", "null", "null"));

  // Row by row through the same compiled expression, as serving does.
  TrainingSetRequest inputs_request = FlightRequest();
  inputs_request.features = {"origin_delays.sum_1d", "origin_delays.count_1h"};
  TrainingSet inputs = Value(BuildTrainingSet(*repository, inputs_request, {}));
  const ResolvedOnDemandView* derived = repository->FindOnDemandView("derived");
  ASSERT_NE(derived, nullptr);
  for (const ResolvedFeature& feature : derived->features) {
    const data::Column& batch = *set.frame.Find(feature.FullName());
    for (size_t row = 0; row < set.frame.num_rows(); ++row) {
      std::vector<data::Value> values;
      for (const data::Field& field : derived->inputs) {
        const data::Column* column = inputs.frame.Find(field.name);
        if (column == nullptr) column = request.entities.Find(field.name);
        ASSERT_NE(column, nullptr) << field.name;
        values.push_back(column->Get(row));
      }
      data::Value online = feature.expression->EvaluateRow(values);
      EXPECT_TRUE(online.BitwiseEquals(batch.Get(row)))
          << feature.FullName() << " row " << row << ": " << online.ToString() << " vs " << batch.Get(row).ToString();
    }
  }
}

TEST_F(TrainingSetTest, MultiKeyEntities) {
  Write("routes.csv",
        "origin,destination,dep_ts,delay\n"
        "SFO,LAX,2021-01-01T10:00:00Z,5\n"
        "SFO,JFK,2021-01-01T10:30:00Z,50\n"
        "LAX,SFO,2021-01-01T10:45:00Z,7\n");
  SourceDef routes;
  routes.name = "routes";
  routes.path = "routes.csv";
  routes.timestamp_field = "dep_ts";
  def_.sources.push_back(routes);
  def_.entities.push_back(EntityDef{"route", {"origin", "destination"}, "", {}});
  FeatureViewDef view;
  view.name = "route_delays";
  view.entities = {"route"};
  view.source = "routes";
  view.features = {RowFeature("last_delay", "delay")};
  def_.feature_views.push_back(view);
  auto repository = Build();

  TrainingSetRequest request;
  request.features = {"route_delays.last_delay"};
  ASSERT_TRUE(request.entities.AddColumn("destination", Strings({"LAX", "JFK", "SFO", "JFK"})).ok());
  ASSERT_TRUE(request.entities.AddColumn("origin", Strings({"SFO", "SFO", "LAX", "LAX"})).ok());
  ASSERT_TRUE(request.entities
                  .AddColumn("event_timestamp", Times({"2021-01-01T11:00:00Z", "2021-01-01T11:00:00Z",
                                                       "2021-01-01T10:40:00Z", "2021-01-01T11:00:00Z"}))
                  .ok());
  TrainingSet set = Value(BuildTrainingSet(*repository, request, {}));
  EXPECT_THAT(set.frame.names(), ElementsAre("destination", "origin", "event_timestamp", "route_delays.last_delay"));
  EXPECT_THAT(Texts(set.frame, "route_delays.last_delay"), ElementsAre("5", "50", "null", "null"));
}

TEST_F(TrainingSetTest, EmptyEntityFrameGivesTypedEmptyColumns) {
  DefineFlights();
  auto repository = Build();
  TrainingSetRequest request;
  request.service = "delay_model";
  ASSERT_TRUE(request.entities.AddColumn("origin", data::Column(data::Type::kString)).ok());
  ASSERT_TRUE(request.entities.AddColumn("event_timestamp", data::Column(data::Type::kTimestamp)).ok());
  ASSERT_TRUE(request.entities.AddColumn("departure_ts", data::Column(data::Type::kTimestamp)).ok());
  TrainingSet set = Value(BuildTrainingSet(*repository, request, {}));
  EXPECT_EQ(set.rows, 0);
  EXPECT_EQ(set.frame.Find("derived.ratio")->type(), data::Type::kFloat64);
  EXPECT_THAT(set.null_fractions, ElementsAre(0.0, 0.0));
}

// ---- Errors ----

class TrainingSetErrorTest : public TrainingSetTest {
 protected:
  void SetUp() override {
    TrainingSetTest::SetUp();
    DefineDrivers();
    DefineFlights();
    repository_ = Build();
  }
  std::string Error(const TrainingSetRequest& request) {
    auto result = BuildTrainingSet(*repository_, request, {});
    EXPECT_FALSE(result.ok());
    return result.ok() ? "" : result.status().message();
  }
  std::shared_ptr<const Repository> repository_;
};

TEST_F(TrainingSetErrorTest, ServiceOrFeatures) {
  TrainingSetRequest request = DriverRequest();
  request.service.clear();
  EXPECT_EQ(Error(request), "a training set needs a feature service or a list of features");
  request.service = "driver_service";
  request.features = {"driver_stats.rating"};
  EXPECT_EQ(Error(request), "give a feature service or a list of features, not both");
  request.features.clear();
  request.service = "no_such_service";
  EXPECT_THAT(Error(request), HasSubstr("no_such_service"));
  request.service.clear();
  request.features = {"driver_stats.no_such_feature"};
  EXPECT_THAT(Error(request), HasSubstr("no_such_feature"));
}

TEST_F(TrainingSetErrorTest, TimestampColumn) {
  TrainingSetRequest request = DriverRequest();
  request.entity_timestamp = "when";
  EXPECT_EQ(Error(request),
            "entity rows lack the timestamp column 'when' (columns: driver_id, event_timestamp, note, tip)");
  request = DriverRequest();
  ASSERT_TRUE(request.entities.SetColumn("event_timestamp", Ints({1, 2, 3, 4, 5, 6})).ok());
  EXPECT_EQ(Error(request),
            "entity rows: timestamp column 'event_timestamp' is int64; expected a timestamp or ISO 8601 text");
  request = DriverRequest();
  ASSERT_TRUE(request.entities
                  .SetColumn("event_timestamp", Strings({"2021-01-01", "yesterday", "", "", "", ""}))
                  .ok());
  EXPECT_THAT(Error(request), StartsWith("entity rows: row 2: column 'event_timestamp': 'yesterday'"));
}

TEST_F(TrainingSetErrorTest, JoinKeys) {
  TrainingSetRequest request = DriverRequest();
  ASSERT_TRUE(request.entities.RemoveColumn("driver_id").ok());
  EXPECT_EQ(Error(request), "entity rows lack column 'driver_id' needed by feature view 'driver_stats'");
  request = DriverRequest();
  ASSERT_TRUE(request.entities.SetColumn("driver_id", Strings({"1", "2", "1", "2", "3", "1"})).ok());
  EXPECT_EQ(Error(request),
            "entity rows: column 'driver_id' is string but feature view 'driver_stats' joins on it as int64");
  // A view needed only by an on-demand feature needs its keys too.
  request = FlightRequest();
  request.service = "delay_model";
  ASSERT_TRUE(request.entities.RemoveColumn("origin").ok());
  EXPECT_EQ(Error(request), "entity rows lack column 'origin' needed by feature view 'origin_delays'");
}

TEST_F(TrainingSetErrorTest, RequestFieldsAndLabels) {
  TrainingSetRequest request = FlightRequest();
  request.service = "delay_model";
  ASSERT_TRUE(request.entities.RemoveColumn("departure_ts").ok());
  EXPECT_EQ(Error(request), "entity rows lack request field 'departure_ts' needed by on-demand view 'derived'");
  request = FlightRequest();
  request.service = "delay_model";
  ASSERT_TRUE(request.entities.SetColumn("departure_ts", Ints({1, 0, 1, 0, 1}, data::Type::kBool)).ok());
  EXPECT_EQ(Error(request),
            "entity rows: request field 'departure_ts' is bool but on-demand view 'derived' declares it timestamp");

  request = DriverRequest();
  request.labels = {"tip", "rating_given"};
  EXPECT_EQ(Error(request),
            "entity rows lack label column 'rating_given' (columns: driver_id, event_timestamp, note, tip)");
  request = DriverRequest();
  ASSERT_TRUE(request.entities.AddColumn("driver_stats.rating", Floats({1, 1, 1, 1, 1, 1})).ok());
  request.labels = {"driver_stats.rating"};
  EXPECT_EQ(Error(request), "entity rows have a column named 'driver_stats.rating', the name of a feature");
}

TEST_F(TrainingSetErrorTest, SourceErrorsNameTheSource) {
  std::filesystem::remove(root_ / "trips.csv");
  EXPECT_THAT(Error(DriverRequest()), StartsWith("source 'trips': " + (root_ / "trips.csv").string()));
}

}  // namespace
}  // namespace kiln::features
