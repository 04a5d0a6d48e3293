#pragma once
// Helpers shared by the features module's tests (test-only; included by
// *_test.cc files): ISO text to timestamps, and unwrapping Results.

#include <gtest/gtest.h>

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
#include "storage/database.h"

namespace kiln::features::testing_support {

// Microseconds of an ISO 8601 text read as UTC; a parse error fails the test.
inline int64_t T(std::string_view iso) {
  auto micros = data::ParseTimestamp(iso, data::TimeZone::Utc());
  EXPECT_TRUE(micros.ok()) << micros.status().ToString();
  return micros.ok() ? *micros : 0;
}

// The value of an OK result; otherwise fails the test and throws, so the
// test stops at the first unexpected error.
template <typename T>
T Value(Result<T> result) {
  if (!result.ok()) {
    ADD_FAILURE() << "unexpected error: " << result.status().ToString();
    throw std::runtime_error(result.status().ToString());
  }
  return std::move(result).value();
}

// A fresh directory under the system temp dir ("<prefix>-<random hex>").
inline std::filesystem::path MakeTestDirectory(const std::string& prefix) {
  std::filesystem::path directory =
      std::filesystem::temp_directory_path() / (prefix + "-" + IdGenerator().RandomHex(8));
  std::filesystem::create_directories(directory);
  return directory;
}

// A SQLite metadata store in `directory` (commits not fsynced), migrated with
// `migrations`. Failures fail the test and throw.
inline std::unique_ptr<storage::Database> OpenTestDatabase(
    const std::filesystem::path& directory, const std::vector<const storage::MigrationList*>& migrations) {
  storage::DatabaseOptions options;
  options.uri = "sqlite:" + (directory / "kiln.db").string();
  options.durable_commits = false;
  std::unique_ptr<storage::Database> database = Value(storage::Database::Open(options));
  Status migrated = database->Migrate(migrations);
  if (!migrated.ok()) {
    ADD_FAILURE() << "migrations failed: " << migrated.ToString();
    throw std::runtime_error(migrated.ToString());
  }
  return database;
}

}  // namespace kiln::features::testing_support
