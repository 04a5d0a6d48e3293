#pragma once
// Test-only helpers for the serving module (included by *_test.cc): Result
// unwrapping, ISO times, temporary directories, prediction records, and a
// fixture giving a migrated metadata store on each backend — SQLite in a
// temporary directory, and PostgreSQL in a schema of its own when
// KILN_TEST_POSTGRES_URI is set (scripts/with-postgres; skipped otherwise).

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "data/timestamp.h"
#include "serving/migrations.h"
#include "serving/prediction_record.h"
#include "storage/database.h"
#include "storage/postgres_test_schema.h"

namespace kiln::serving::testing_support {

// The value of an OK result; otherwise fails the test and throws, so the
// test stops at the first unexpected error.
template <typename T>
T Must(Result<T> result) {
  if (!result.ok()) {
    ADD_FAILURE() << "unexpected error: " << result.status().ToString();
    throw std::runtime_error(result.status().ToString());
  }
  return std::move(result).value();
}

inline void Must(const Status& status) {
  if (!status.ok()) {
    ADD_FAILURE() << "unexpected error: " << status.ToString();
    throw std::runtime_error(status.ToString());
  }
}

// Microseconds of an ISO 8601 text read as UTC.
inline int64_t T(std::string_view iso) { return Must(data::ParseTimestamp(iso, data::TimeZone::Utc())); }

// A fresh directory under the system temp dir; removed by the destructor.
class TestDirectory {
 public:
  explicit TestDirectory(const std::string& prefix)
      : path_(std::filesystem::temp_directory_path() / (prefix + "-" + IdGenerator().RandomHex(8))) {
    std::filesystem::create_directories(path_);
  }
  ~TestDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TestDirectory(const TestDirectory&) = delete;
  TestDirectory& operator=(const TestDirectory&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string string() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// A record of `model` version `version` at `iso` with two features in
// model order ("z_distance", "a_delay": deliberately not alphabetical).
inline PredictionRecord MakeRecord(const std::string& id, std::string_view iso, const std::string& model = "flights",
                                   int64_t version = 1) {
  static const auto kNames = std::make_shared<const std::vector<std::string>>(
      std::vector<std::string>{"z_distance", "a_delay"});
  PredictionRecord record;
  record.id = id;
  record.timestamp_micros = T(iso);
  record.model = model;
  record.version = version;
  record.alias = "champion";
  record.unit_id = "user-" + id;
  record.entity = Json{{"origin", "ORD"}};
  record.request = Json{{"departure", "2001-04-01T08:00:00Z"}};
  record.feature_names = kNames;
  record.feature_values = {740.0, 12.5};
  record.features_as_of_micros = T("2001-04-01T00:00:00Z");
  record.prediction = 0.25;
  return record;
}

enum class Backend { kSqlite, kPostgres };

inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

// A metadata store with the serving migrations applied, on GetParam()'s backend.
class DatabaseTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    storage::DatabaseOptions options;
    options.durable_commits = false;
    options.pool_size = 4;
    if (GetParam() == Backend::kSqlite) {
      directory_ = std::make_unique<TestDirectory>("kiln-serving-test");
      options.uri = "sqlite://" + (directory_->path() / "kiln.db").string();
    } else {
      const char* uri = std::getenv("KILN_TEST_POSTGRES_URI");
      if (uri == nullptr || *uri == '\0') {
        GTEST_SKIP() << "KILN_TEST_POSTGRES_URI is not set; run under scripts/with-postgres";
      }
      schema_ = std::make_unique<storage::PostgresTestSchema>(uri);
      ASSERT_TRUE(schema_->ok()) << schema_->error();
      options.uri = schema_->uri();
    }
    auto database = storage::Database::Open(options);
    ASSERT_TRUE(database.ok()) << database.status().ToString();
    database_ = std::move(*database);
    if (!migrate_) return;
    Status migrated = database_->Migrate({&Migrations()});
    ASSERT_TRUE(migrated.ok()) << migrated.ToString();
  }

  void TearDown() override {
    database_.reset();
    schema_.reset();
    directory_.reset();
  }

  // Rows of a query on the store (for checking what was stored).
  storage::Rows Query(const std::string& sql, const std::vector<storage::SqlValue>& params = {}) {
    auto connection = Must(database_->Acquire());
    return Must(connection->Query(sql, params));
  }

  bool migrate_ = true;  // set false in a derived constructor to start from an empty store
  std::unique_ptr<TestDirectory> directory_;             // SQLite only
  std::unique_ptr<storage::PostgresTestSchema> schema_;  // PostgreSQL only; outlives database_
  std::unique_ptr<storage::Database> database_;
};

}  // namespace kiln::serving::testing_support
