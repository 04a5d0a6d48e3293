// ReadSource over real files, a real SQLite file, a real metadata store (for
// pushed rows) and, when KILN_TEST_POSTGRES_URI is set (scripts/with-postgres),
// a real PostgreSQL database.

#include "features/features_testing.h"
#include "features/source_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "data/timestamp.h"
#include "features/migrations.h"
#include "features/source_reader_internal.h"
#include "storage/database.h"

namespace kiln::features {
namespace {

using testing_support::T;
using testing_support::Value;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::vector<int64_t> Ints(const data::Frame& frame, std::string_view name) {
  const data::Column* column = frame.Find(name);
  EXPECT_NE(column, nullptr) << name;
  return column ? column->ints() : std::vector<int64_t>{};
}

std::vector<std::string> Texts(const data::Frame& frame, std::string_view name) {
  std::vector<std::string> out;
  const data::Column* column = frame.Find(name);
  EXPECT_NE(column, nullptr) << name;
  if (column == nullptr) return out;
  for (size_t row = 0; row < column->size(); ++row) out.push_back(column->Get(row).ToString());
  return out;
}

class SourceReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "kiln-source-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    repository_.project = "demo";
    repository_.root = root_;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }

  void Write(const std::string& relative, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(root_ / relative).parent_path());
    std::ofstream(root_ / relative) << text;
  }

  SourceDef CsvSource() {
    SourceDef source;
    source.name = "flights";
    source.kind = SourceKind::kCsv;
    source.path = "data/flights.csv";
    source.timestamp_field = "dep_ts";
    source.created_timestamp_field = "created_ts";
    source.columns = {{"origin", data::Type::kString},
                      {"delay", data::Type::kInt64},
                      {"distance", data::Type::kFloat64}};
    return source;
  }

  void WriteFlightsCsv() {
    Write("data/flights.csv",
          "origin,dep_ts,created_ts,delay,distance\n"
          "SFO,2021-01-01T10:00:00Z,2021-01-01T10:05:00Z,5,300\n"
          "LAX,2021-01-01 12:00:00,2021-01-01T12:00:00+01:00,,410.5\n"
          "SFO,2021-01-02T00:00:00-08:00,,12,300\n");
  }

  std::filesystem::path root_;
  RepositoryDef repository_;
};

TEST_F(SourceReaderTest, CsvGetsDeclaredTypesAndUtcTimestampsRelativeToTheRepository) {
  WriteFlightsCsv();
  SourceDef source = CsvSource();
  source.timezone = "+02:00";
  data::Frame frame = Value(ReadSource(repository_, source, {}));
  ASSERT_EQ(frame.num_rows(), 3u);
  EXPECT_EQ(frame.Find("delay")->type(), data::Type::kInt64);
  EXPECT_EQ(frame.Find("distance")->type(), data::Type::kFloat64);
  EXPECT_EQ(frame.Find("dep_ts")->type(), data::Type::kTimestamp);
  // The naive value is read at +02:00; the others carry their own offsets.
  EXPECT_THAT(Ints(frame, "dep_ts"),
              ElementsAre(T("2021-01-01T10:00:00Z"), T("2021-01-01T10:00:00Z"), T("2021-01-02T08:00:00Z")));
  EXPECT_THAT(Texts(frame, "created_ts"),
              ElementsAre("2021-01-01T10:05:00Z", "2021-01-01T11:00:00Z", "null"));
  EXPECT_THAT(Texts(frame, "delay"), ElementsAre("5", "null", "12"));
}

TEST_F(SourceReaderTest, ReadsOnlyTheColumnsAskedForPlusTheTimestampFields) {
  WriteFlightsCsv();
  SourceReadOptions options;
  options.columns = {"delay"};
  data::Frame frame = Value(ReadSource(repository_, CsvSource(), options));
  std::vector<std::string> names = frame.names();
  std::sort(names.begin(), names.end());
  EXPECT_THAT(names, ElementsAre("created_ts", "delay", "dep_ts"));
}

TEST_F(SourceReaderTest, FiltersByEventTimeStartInclusiveEndExclusive) {
  WriteFlightsCsv();
  SourceReadOptions options;
  options.start_micros = T("2021-01-01T10:00:00Z");
  options.end_micros = T("2021-01-02T08:00:00Z");
  data::Frame frame = Value(ReadSource(repository_, CsvSource(), options));
  EXPECT_THAT(Texts(frame, "origin"), ElementsAre("SFO", "LAX"));
  options.start_micros = T("2021-01-01T12:00:00.000001Z");
  options.end_micros.reset();
  frame = Value(ReadSource(repository_, CsvSource(), options));
  EXPECT_THAT(Texts(frame, "origin"), ElementsAre("SFO"));
}

TEST_F(SourceReaderTest, JsonLinesSource) {
  Write("events.jsonl",
        "{\"user\": 7, \"ts\": \"2021-03-01T00:00:00Z\", \"amount\": 2.5}\n"
        "\n"
        "{\"user\": 8, \"ts\": \"2021-03-02T00:00:00Z\", \"amount\": null}\n");
  SourceDef source;
  source.name = "payments";
  source.kind = SourceKind::kJsonLines;
  source.path = "events.jsonl";
  source.timestamp_field = "ts";
  source.columns = {{"user", data::Type::kInt64}, {"amount", data::Type::kFloat64}};
  data::Frame frame = Value(ReadSource(repository_, source, {}));
  EXPECT_THAT(Ints(frame, "user"), ElementsAre(7, 8));
  EXPECT_THAT(Texts(frame, "amount"), ElementsAre("2.5", "null"));
  EXPECT_THAT(Ints(frame, "ts"), ElementsAre(T("2021-03-01T00:00:00Z"), T("2021-03-02T00:00:00Z")));
}

TEST_F(SourceReaderTest, FileErrorsNameTheSourceAndTheFile) {
  Write("data/flights.csv",
        "origin,dep_ts,created_ts,delay,distance\n"
        "SFO,2021-01-01T10:00:00Z,,5,300\n"
        "SFO,2021-01-01T11:00:00Z,,late,300\n");
  const std::string path = (root_ / "data/flights.csv").string();
  auto bad_value = ReadSource(repository_, CsvSource(), {});
  ASSERT_FALSE(bad_value.ok());
  EXPECT_THAT(bad_value.status().message(), StartsWith("source 'flights': " + path + ":3:"));
  EXPECT_THAT(bad_value.status().message(), HasSubstr("'late' is not an int64"));

  SourceDef missing = CsvSource();
  missing.path = "nowhere.csv";
  auto no_file = ReadSource(repository_, missing, {});
  ASSERT_FALSE(no_file.ok());
  EXPECT_THAT(no_file.status().message(), StartsWith("source 'flights': " + (root_ / "nowhere.csv").string()));

  Write("no_time.csv", "origin,delay\nSFO,1\n");
  SourceDef no_time = CsvSource();
  no_time.path = "no_time.csv";
  no_time.created_timestamp_field.clear();
  no_time.columns = {{"delay", data::Type::kInt64}};
  auto lacks_time = ReadSource(repository_, no_time, {});
  ASSERT_FALSE(lacks_time.ok());
  EXPECT_EQ(lacks_time.status().message(),
            "source 'flights': " + (root_ / "no_time.csv").string() +
                ": a type is declared for column 'dep_ts', which is not in the file (columns: origin, delay)");

  SourceDef bad_zone = CsvSource();
  bad_zone.timezone = "Mars/Base";
  auto zone = ReadSource(repository_, bad_zone, {});
  ASSERT_FALSE(zone.ok());
  EXPECT_THAT(zone.status().message(), StartsWith("source 'flights': unknown time zone 'Mars/Base'"));
}

// ---- SQLite ----

void Exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
}

class SqliteSourceTest : public SourceReaderTest {
 protected:
  void SetUp() override {
    SourceReaderTest::SetUp();
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((root_ / "warehouse.db").c_str(), &db), SQLITE_OK);
    Exec(db,
         "CREATE TABLE flights (origin TEXT, dep_ts TEXT, dep_epoch INTEGER, delay INTEGER, "
         "distance REAL, cancelled BOOLEAN);"
         "INSERT INTO flights VALUES ('SFO', '2021-01-01T10:00:00Z', 1609495200, 5, 300, 0);"
         "INSERT INTO flights VALUES ('LAX', '2021-01-01 12:00:00', 1609502400, NULL, 410.5, 1);"
         "INSERT INTO flights VALUES ('JFK', '2021-01-02T00:00:00-08:00', 1609574400, 12, NULL, 0);");
    sqlite3_close(db);
  }
  SourceDef Source() {
    SourceDef source;
    source.name = "warehouse_flights";
    source.kind = SourceKind::kSqlite;
    source.path = "warehouse.db";
    source.table = "flights";
    source.timestamp_field = "dep_ts";
    return source;
  }
};

TEST_F(SqliteSourceTest, TableColumnsTakeTheirDeclaredSqlTypes) {
  data::Frame frame = Value(ReadSource(repository_, Source(), {}));
  ASSERT_EQ(frame.num_rows(), 3u);
  EXPECT_EQ(frame.Find("origin")->type(), data::Type::kString);
  EXPECT_EQ(frame.Find("delay")->type(), data::Type::kInt64);
  EXPECT_EQ(frame.Find("distance")->type(), data::Type::kFloat64);
  EXPECT_EQ(frame.Find("cancelled")->type(), data::Type::kBool);
  EXPECT_EQ(frame.Find("dep_epoch")->type(), data::Type::kInt64);
  EXPECT_THAT(Ints(frame, "dep_ts"),
              ElementsAre(T("2021-01-01T10:00:00Z"), T("2021-01-01T12:00:00Z"), T("2021-01-02T08:00:00Z")));
  EXPECT_THAT(Texts(frame, "delay"), ElementsAre("5", "null", "12"));
  EXPECT_THAT(Texts(frame, "cancelled"), ElementsAre("false", "true", "false"));
}

TEST_F(SqliteSourceTest, EpochSecondsAreTimestampsAndQueriesWork) {
  SourceDef source = Source();
  source.table.clear();
  source.query = "SELECT origin, dep_epoch, delay * 2 AS double_delay FROM flights WHERE origin <> 'JFK';";
  source.timestamp_field = "dep_epoch";
  SourceReadOptions options;
  options.columns = {"origin", "double_delay"};
  options.end_micros = T("2021-01-01T12:00:00Z");
  data::Frame frame = Value(ReadSource(repository_, source, options));
  EXPECT_THAT(Texts(frame, "origin"), ElementsAre("SFO"));
  EXPECT_THAT(Ints(frame, "dep_epoch"), ElementsAre(T("2021-01-01T10:00:00Z")));
  // An expression column has no declared type: its values decide.
  EXPECT_EQ(frame.Find("double_delay")->type(), data::Type::kInt64);
  EXPECT_THAT(Ints(frame, "double_delay"), ElementsAre(10));
}

TEST_F(SqliteSourceTest, DeclaredTypesConvertAndBadValuesNameRowAndColumn) {
  SourceDef source = Source();
  source.columns = {{"delay", data::Type::kFloat64}, {"origin", data::Type::kInt64}};
  auto result = ReadSource(repository_, source, {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(), "source 'warehouse_flights': " + (root_ / "warehouse.db").string() +
                                           ": table 'flights': row 1: column 'origin': 'SFO' is not an int64");
  source.columns.erase("origin");
  data::Frame frame = Value(ReadSource(repository_, source, {}));
  EXPECT_EQ(frame.Find("delay")->type(), data::Type::kFloat64);
  EXPECT_THAT(Texts(frame, "delay"), ElementsAre("5.0", "null", "12.0"));
}

TEST_F(SqliteSourceTest, MissingTablesAndFilesAreErrorsAndNothingIsCreated) {
  SourceDef source = Source();
  source.table = "flight";
  auto no_table = ReadSource(repository_, source, {});
  ASSERT_FALSE(no_table.ok());
  EXPECT_EQ(no_table.status().message(), "source 'warehouse_flights': " + (root_ / "warehouse.db").string() +
                                             ": table 'flight': no such table: flight");
  source = Source();
  source.path = "missing.db";
  auto no_file = ReadSource(repository_, source, {});
  ASSERT_FALSE(no_file.ok());
  EXPECT_THAT(no_file.status().message(),
              StartsWith("source 'warehouse_flights': " + (root_ / "missing.db").string() +
                         ": cannot open SQLite database"));
  EXPECT_FALSE(std::filesystem::exists(root_ / "missing.db"));
  source = Source();
  source.query = "SELECT 1";
  auto both = ReadSource(repository_, source, {});
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.status().message(), "source 'warehouse_flights': has both a table and a query; give one");
  source.table.clear();
  source.query = "SELECT origin, delay FROM flights";
  auto no_time = ReadSource(repository_, source, {});
  ASSERT_FALSE(no_time.ok());
  EXPECT_EQ(no_time.status().message(), "source 'warehouse_flights': has no column 'dep_ts' (its timestamp_field)");
}

TEST(SourceCellTest, ConversionRules) {
  using source_internal::Cell;
  using source_internal::ConvertCell;
  const data::TimeZone& utc = data::TimeZone::Utc();
  auto text = [](std::string_view s) { return Cell{Cell::Kind::kText, 0, 0, s}; };
  EXPECT_EQ(Value(ConvertCell(text(" 42 "), data::Type::kInt64, utc)).i, 42);
  EXPECT_EQ(Value(ConvertCell(Cell{Cell::Kind::kFloat, 0, 3.0, {}}, data::Type::kInt64, utc)).i, 3);
  EXPECT_EQ(ConvertCell(Cell{Cell::Kind::kFloat, 0, 2.5, {}}, data::Type::kInt64, utc).status().message(),
            "'2.5' is not an int64");
  EXPECT_TRUE(std::isnan(Value(ConvertCell(text("NaN"), data::Type::kFloat64, utc)).f));
  EXPECT_EQ(Value(ConvertCell(text("-1e3"), data::Type::kFloat64, utc)).f, -1000.0);
  EXPECT_EQ(ConvertCell(text("1.5x"), data::Type::kFloat64, utc).status().message(),
            "'1.5x' is not a float64");
  EXPECT_EQ(Value(ConvertCell(text("t"), data::Type::kBool, utc)).i, 1);
  EXPECT_EQ(ConvertCell(Cell{Cell::Kind::kInt, 2, 0, {}}, data::Type::kBool, utc).status().message(),
            "'2' is not a bool");
  EXPECT_EQ(Value(ConvertCell(Cell{Cell::Kind::kInt, 86400, 0, {}}, data::Type::kTimestamp, utc)).i,
            T("1970-01-02T00:00:00Z"));
  EXPECT_EQ(Value(ConvertCell(Cell{Cell::Kind::kFloat, 0, 1.5, {}}, data::Type::kTimestamp, utc)).i, 1'500'000);
  EXPECT_EQ(Value(ConvertCell(Cell{Cell::Kind::kBool, 1, 0, {}}, data::Type::kString, utc)).s, "true");
  EXPECT_TRUE(Value(ConvertCell(Cell{}, data::Type::kString, utc)).null);
  EXPECT_EQ(source_internal::TypeFromSqlName("bigint"), data::Type::kInt64);
  EXPECT_EQ(source_internal::TypeFromSqlName("DOUBLE PRECISION"), data::Type::kFloat64);
  EXPECT_EQ(source_internal::TypeFromSqlName("datetime"), data::Type::kTimestamp);
  EXPECT_EQ(source_internal::TypeFromSqlName("varchar(20)"), data::Type::kString);
  EXPECT_EQ(source_internal::QuoteQualifiedName("main.fl\"ights"), "\"main\".\"fl\"\"ights\"");
}

// ---- Push sources ----

class PushSourceTest : public SourceReaderTest {
 protected:
  void SetUp() override {
    SourceReaderTest::SetUp();
    storage::DatabaseOptions options;
    options.uri = "sqlite://" + (root_ / "kiln.db").string();
    database_ = Value(storage::Database::Open(options));
    ASSERT_TRUE(database_->Migrate({&Migrations()}).ok());
    WriteFlightsCsv();
    SourceDef batch = CsvSource();
    repository_.sources.push_back(batch);
    push_.name = "flights_push";
    push_.kind = SourceKind::kPush;
    push_.batch_source = "flights";
    push_.timestamp_field = "dep_ts";
    push_.created_timestamp_field = "created_ts";
    push_.columns = {{"origin", data::Type::kString},
                     {"delay", data::Type::kInt64},
                     {"distance", data::Type::kFloat64},
                     {"dep_ts", data::Type::kTimestamp},
                     {"created_ts", data::Type::kTimestamp}};
    repository_.sources.push_back(push_);
  }

  void Push(int64_t id, const std::string& project, const std::string& source, int64_t event,
            std::optional<int64_t> created, const std::string& json) {
    auto connection = Value(database_->Acquire());
    auto changed = connection->Execute(
        "INSERT INTO feature_pushed_rows (id, project, source, event_micros, created_micros, row_json, "
        "pushed_at) VALUES (?, ?, ?, ?, ?, ?, 0)",
        {id, project, source, event, created ? storage::SqlValue(*created) : storage::SqlNull(), json});
    ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  }

  SourceReadOptions Options() {
    SourceReadOptions options;
    options.metadata = database_.get();
    options.project = "demo";
    return options;
  }

  std::unique_ptr<storage::Database> database_;
  SourceDef push_;
};

TEST_F(PushSourceTest, BatchRowsThenPushedRowsInPushOrder) {
  Push(2, "demo", "flights_push", T("2021-01-03T00:00:00Z"), std::nullopt,
       R"({"origin": "BOS", "delay": 3, "distance": 200, "dep_ts": "ignored"})");
  Push(1, "demo", "flights_push", T("2021-01-02T12:00:00Z"), T("2021-01-02T12:00:01Z"),
       R"({"origin": "SEA", "delay": null, "distance": 7})");
  Push(3, "other", "flights_push", T("2021-01-02T12:00:00Z"), std::nullopt, R"({"origin": "XXX"})");
  Push(4, "demo", "another", T("2021-01-02T12:00:00Z"), std::nullopt, R"({"origin": "YYY"})");
  data::Frame frame = Value(ReadSource(repository_, push_, Options()));
  EXPECT_THAT(Texts(frame, "origin"), ElementsAre("SFO", "LAX", "SFO", "SEA", "BOS"));
  EXPECT_THAT(Texts(frame, "delay"), ElementsAre("5", "null", "12", "null", "3"));
  EXPECT_THAT(Texts(frame, "distance"), ElementsAre("300.0", "410.5", "300.0", "7.0", "200.0"));
  EXPECT_THAT(Ints(frame, "dep_ts").back(), T("2021-01-03T00:00:00Z"));
  EXPECT_THAT(Texts(frame, "created_ts"),
              ElementsAre("2021-01-01T10:05:00Z", "2021-01-01T11:00:00Z", "null", "2021-01-02T12:00:01Z", "null"));

  SourceReadOptions window = Options();
  window.start_micros = T("2021-01-02T00:00:00Z");
  window.end_micros = T("2021-01-03T00:00:00Z");
  window.columns = {"origin"};
  frame = Value(ReadSource(repository_, push_, window));
  EXPECT_THAT(Texts(frame, "origin"), ElementsAre("SFO", "SEA"));
}

TEST_F(PushSourceTest, ErrorsNameTheSourceAndTheRow) {
  Push(1, "demo", "flights_push", T("2021-01-03T00:00:00Z"), std::nullopt, R"({"delay": "soon"})");
  auto bad = ReadSource(repository_, push_, Options());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "source 'flights_push': pushed row 1: column 'delay': 'soon' is not an int64");

  auto no_store = ReadSource(repository_, push_, {});
  ASSERT_FALSE(no_store.ok());
  EXPECT_EQ(no_store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(no_store.status().message(),
            "source 'flights_push': a push source's rows are in the metadata store, and none was given");

  SourceReadOptions unknown = Options();
  unknown.columns = {"gate"};
  auto no_column = ReadSource(repository_, push_, unknown);
  ASSERT_FALSE(no_column.ok());
  EXPECT_EQ(no_column.status().message(),
            "source 'flights_push': no column 'gate' (declared columns: created_ts, delay, dep_ts, distance, "
            "origin)");
}

// ---- PostgreSQL ----

class PostgresSourceTest : public SourceReaderTest {
 protected:
  void SetUp() override {
    SourceReaderTest::SetUp();
    const char* uri = std::getenv("KILN_TEST_POSTGRES_URI");
    if (uri == nullptr || *uri == '\0') GTEST_SKIP() << "KILN_TEST_POSTGRES_URI is not set";
    uri_ = uri;
    Run("DROP TABLE IF EXISTS source_flights; DROP SEQUENCE IF EXISTS source_counter;"
        "CREATE SEQUENCE source_counter;"
        "CREATE TABLE source_flights (origin TEXT, dep_ts TIMESTAMPTZ, local_ts TIMESTAMP, "
        "dep_epoch BIGINT, delay INTEGER, distance DOUBLE PRECISION, cancelled BOOLEAN);"
        "INSERT INTO source_flights VALUES"
        " ('SFO', '2021-01-01T10:00:00Z', '2021-01-01 12:00:00', 1609495200, 5, 300, false),"
        " ('LAX', '2021-01-01T12:00:00Z', '2021-01-01 14:00:00', 1609502400, NULL, 410.5, true),"
        " ('JFK', '2021-01-02T08:00:00Z', '2021-01-02 10:00:00', 1609574400, 12, NULL, false);");
  }
  void TearDown() override {
    if (!uri_.empty()) Run("DROP TABLE IF EXISTS source_flights; DROP SEQUENCE IF EXISTS source_counter");
    SourceReaderTest::TearDown();
  }
  void Run(const std::string& sql) {
    PGconn* conn = PQconnectdb(uri_.c_str());
    ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
    PGresult* result = PQexec(conn, ("SET client_min_messages = warning; " + sql).c_str());
    EXPECT_EQ(PQresultStatus(result), PGRES_COMMAND_OK) << PQresultErrorMessage(result);
    PQclear(result);
    PQfinish(conn);
  }
  SourceDef Source(const std::string& timestamp_field) {
    SourceDef source;
    source.name = "pg_flights";
    source.kind = SourceKind::kPostgres;
    source.uri = uri_;
    source.table = "source_flights";
    source.timestamp_field = timestamp_field;
    return source;
  }
  std::string uri_;
};

TEST_F(PostgresSourceTest, TypesFromTheDatabase) {
  data::Frame frame = Value(ReadSource(repository_, Source("dep_ts"), {}));
  EXPECT_EQ(frame.Find("delay")->type(), data::Type::kInt64);
  EXPECT_EQ(frame.Find("distance")->type(), data::Type::kFloat64);
  EXPECT_EQ(frame.Find("cancelled")->type(), data::Type::kBool);
  EXPECT_EQ(frame.Find("local_ts")->type(), data::Type::kTimestamp);
  EXPECT_THAT(Texts(frame, "delay"), ElementsAre("5", "null", "12"));
  EXPECT_THAT(Texts(frame, "distance"), ElementsAre("300.0", "410.5", "null"));
  EXPECT_THAT(Ints(frame, "dep_ts"),
              ElementsAre(T("2021-01-01T10:00:00Z"), T("2021-01-01T12:00:00Z"), T("2021-01-02T08:00:00Z")));
}

TEST_F(PostgresSourceTest, TimeBoundsOnEveryKindOfTimestampColumn) {
  SourceReadOptions options;
  options.start_micros = T("2021-01-01T12:00:00Z");
  options.end_micros = T("2021-01-02T08:00:00Z");
  for (const char* field : {"dep_ts", "dep_epoch"}) {
    data::Frame frame = Value(ReadSource(repository_, Source(field), options));
    EXPECT_THAT(Texts(frame, "origin"), ElementsAre("LAX")) << field;
  }
  // Naive local times at +02:00 are the same instants.
  SourceDef local = Source("local_ts");
  local.timezone = "+02:00";
  data::Frame frame = Value(ReadSource(repository_, local, options));
  EXPECT_THAT(Texts(frame, "origin"), ElementsAre("LAX"));

  SourceDef query = Source("dep_ts");
  query.table.clear();
  query.query = "SELECT origin, dep_ts, delay FROM source_flights WHERE delay IS NOT NULL";
  options.end_micros = T("2021-01-02T08:00:00.000001Z");
  options.columns = {"origin"};
  frame = Value(ReadSource(repository_, query, options));
  EXPECT_THAT(frame.num_columns(), 2u);
  EXPECT_THAT(Texts(frame, "origin"), ElementsAre("JFK"));
}

TEST_F(PostgresSourceTest, ErrorsNameTheSourceAndTheTable) {
  SourceDef source = Source("dep_ts");
  source.table = "no_such_table";
  auto result = ReadSource(repository_, source, {});
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), StartsWith("source 'pg_flights': postgresql://"));
  EXPECT_THAT(result.status().message(), HasSubstr("table 'no_such_table': "));
  EXPECT_THAT(result.status().message(), HasSubstr("does not exist"));

  source = Source("dep_ts");
  source.columns = {{"origin", data::Type::kInt64}};
  result = ReadSource(repository_, source, {});
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("table 'source_flights': row 1: column 'origin': 'SFO' is not an int64"));

  // A source query cannot write.
  source = Source("dep_ts");
  source.table.clear();
  source.query = "SELECT origin, dep_ts, nextval('source_counter') AS n FROM source_flights";
  result = ReadSource(repository_, source, {});
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("read-only transaction"));
}

}  // namespace
}  // namespace kiln::features
