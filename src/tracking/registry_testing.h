#pragma once
// Test-only (included by *_test.cc): a ModelRegistry over a fresh metadata
// store on each backend — SQLite in a temporary directory, and PostgreSQL in
// a schema of its own when KILN_TEST_POSTGRES_URI is set (scripts/with-postgres;
// skipped otherwise) — with a FakeClock, plus helpers that stop the test at
// the first unexpected error.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "storage/postgres_test_schema.h"
#include "tracking/migrations.h"
#include "tracking/model_registry.h"
#include "tracking/tracking_store.h"

namespace kiln::tracking::testing_support {

enum class Backend { kSqlite, kPostgres };

inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

// The value of an OK result; otherwise fails the test and throws.
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

class RegistryTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    storage::DatabaseOptions options;
    options.durable_commits = false;
    options.pool_size = 4;
    if (GetParam() == Backend::kSqlite) {
      static std::atomic<int> counter{0};
      dir_ = std::filesystem::path(::testing::TempDir()) /
             ("kiln_registry_records_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
      std::filesystem::create_directories(dir_);
      options.uri = "sqlite://" + std::filesystem::absolute(dir_ / "kiln.db").string();
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
    if (!MigrateInSetUp()) return;
    Status migrated = database_->Migrate({&Migrations()});
    ASSERT_TRUE(migrated.ok()) << migrated.ToString();
    MakeStores();
  }

  // false: the test migrates the store itself, then calls MakeStores().
  virtual bool MigrateInSetUp() const { return true; }
  void MakeStores() {
    tracking_ = std::make_unique<TrackingStore>(*database_, clock_, ids_);
    registry_ = std::make_unique<ModelRegistry>(*database_, *tracking_, clock_);
  }

  void TearDown() override {
    registry_.reset();
    tracking_.reset();
    database_.reset();
    schema_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  ModelRegistry& registry() { return *registry_; }

  // A run in `experiment_id` that started at `start_ms`.
  std::string NewRun(int64_t start_ms, const std::string& experiment_id = "0") {
    CreateRunRequest request;
    request.experiment_id = experiment_id;
    request.start_time = start_ms;
    return Must(tracking_->CreateRun(request)).info.run_id;
  }

  // A version of `model` (created when absent) registered now, from `run_id`
  // when given.
  int64_t NewVersion(const std::string& model, const std::string& run_id = "") {
    if (!registry_->GetRegisteredModel(model).ok()) {
      Must(registry_->CreateRegisteredModel(model, {}, std::nullopt));
    }
    NewModelVersion request;
    request.name = model;
    request.source = run_id.empty() ? "mlflow-artifacts:/0/x/model" : "runs:/" + run_id + "/model";
    return Must(registry_->CreateModelVersion(request)).version;
  }

  FakeClock clock_{1'700'000'000'000};
  IdGenerator ids_{7};
  std::filesystem::path dir_;
  std::unique_ptr<storage::PostgresTestSchema> schema_;  // PostgreSQL only; outlives database_
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<TrackingStore> tracking_;
  std::unique_ptr<ModelRegistry> registry_;
};

}  // namespace kiln::tracking::testing_support
