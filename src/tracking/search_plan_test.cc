#include "tracking/search_plan.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>

#include "common/base64.h"
#include "storage/database.h"

namespace kiln::tracking {
const storage::MigrationList& Migrations();  // generated from src/tracking/migrations
}

namespace kiln::tracking {
namespace {

using storage::SqlNull;
using storage::SqlValue;
using Ids = std::vector<std::string>;

std::string UniqueName(std::string_view prefix) {
  static std::atomic<int> counter{0};
  return std::string(prefix) + std::to_string(getpid()) + "_" + std::to_string(++counter);
}

// Runs every test against SQLite, and against PostgreSQL when
// KILN_TEST_POSTGRES_URI names a server (each test in a fresh schema).
class SearchPlanTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres") {
      const char* uri = std::getenv("KILN_TEST_POSTGRES_URI");
      if (uri == nullptr || *uri == '\0') GTEST_SKIP() << "KILN_TEST_POSTGRES_URI is not set";
      auto admin = storage::Database::Open({.uri = uri, .pool_size = 1});
      ASSERT_TRUE(admin.ok()) << admin.status().ToString();
      admin_ = std::move(*admin);
      schema_ = UniqueName("kiln_search_");
      Exec(*admin_, "CREATE SCHEMA " + schema_);
      std::string scoped = std::string(uri) +
                           (std::string_view(uri).find('?') == std::string::npos ? "?" : "&") +
                           "options=-csearch_path%3D" + schema_;
      auto db = storage::Database::Open({.uri = scoped, .pool_size = 2});
      ASSERT_TRUE(db.ok()) << db.status().ToString();
      db_ = std::move(*db);
    } else {
      dir_ = std::filesystem::temp_directory_path() / UniqueName("kiln-search-test-");
      auto db = storage::Database::Open(
          {.uri = "", .data_dir = dir_.string(), .pool_size = 2, .durable_commits = false});
      ASSERT_TRUE(db.ok()) << db.status().ToString();
      db_ = std::move(*db);
    }
    Status migrated = db_->Migrate({&Migrations()});
    ASSERT_TRUE(migrated.ok()) << migrated.ToString();
    Seed();
  }

  void TearDown() override {
    db_.reset();
    if (admin_ != nullptr) Exec(*admin_, "DROP SCHEMA " + schema_ + " CASCADE");
    admin_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  static void Exec(storage::Database& db, const std::string& sql, const std::vector<SqlValue>& params = {}) {
    auto connection = db.Acquire();
    ASSERT_TRUE(connection.ok()) << connection.status().ToString();
    auto changed = (*connection)->Execute(sql, params);
    ASSERT_TRUE(changed.ok()) << sql << ": " << changed.status().ToString();
  }
  void Exec(const std::string& sql, const std::vector<SqlValue>& params = {}) { Exec(*db_, sql, params); }

  void AddRun(std::string id, int64_t experiment, std::string name, std::string user, std::string status,
              int64_t start, SqlValue end, std::string stage) {
    Exec(
        "INSERT INTO runs (run_uuid, experiment_id, run_name, user_id, status, start_time, end_time,"
        " lifecycle_stage, artifact_uri) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {id, experiment, name, user, status, start, end, stage, "file:///artifacts/" + id});
    Exec("INSERT INTO tags (run_uuid, key, value) VALUES (?, 'mlflow.runName', ?)", {id, name});
  }
  void AddMetric(std::string run, std::string key, double value, bool is_nan = false) {
    Exec(
        "INSERT INTO latest_metrics (run_uuid, key, step, timestamp_ms, value, is_nan)"
        " VALUES (?, ?, 0, 0, ?, ?)",
        {run, key, is_nan ? 0.0 : value, int64_t{is_nan ? 1 : 0}});
  }
  void AddParam(std::string run, std::string key, std::string value) {
    Exec("INSERT INTO params (run_uuid, key, value) VALUES (?, ?, ?)", {run, key, value});
  }
  void AddTag(std::string run, std::string key, std::string value) {
    Exec("INSERT INTO tags (run_uuid, key, value) VALUES (?, ?, ?)", {run, key, value});
  }
  void AddInput(std::string input, std::string dataset, std::string run, std::string context) {
    Exec(
        "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, destination_id)"
        " VALUES (?, 'DATASET', ?, 'RUN', ?)",
        {input, dataset, run});
    Exec("INSERT INTO input_tags (input_uuid, key, value) VALUES (?, 'mlflow.data.context', ?)",
         {input, context});
  }
  void AddExperiment(int64_t id, std::string name, std::string stage, int64_t created, int64_t updated,
                     std::string team) {
    Exec(
        "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage,"
        " creation_time, last_update_time) VALUES (?, ?, 'file:///a', ?, ?, ?)",
        {id, name, stage, created, updated});
    Exec("INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, 'team', ?)", {id, team});
  }
  void AddModel(std::string name, int64_t created, int64_t updated) {
    Exec("INSERT INTO registered_models (name, creation_time, last_updated_time) VALUES (?, ?, ?)",
         {name, created, updated});
  }
  void AddVersion(std::string name, int64_t version, int64_t created, int64_t updated, std::string run,
                  std::string stage = "None") {
    Exec(
        "INSERT INTO model_versions (name, version, creation_time, last_updated_time, current_stage,"
        " source, run_id, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'READY')",
        {name, version, created, updated, stage, "s3://bucket/" + name + "/" + std::to_string(version), run});
  }

  // Experiment 1 holds ra..rd (active) and re (deleted); experiment 2 holds rf.
  void Seed() {
    AddExperiment(1, "fraud-model", "active", 100, 500, "risk");
    AddExperiment(2, "churn", "active", 200, 300, "growth");
    AddExperiment(3, "old-fraud", "deleted", 50, 600, "risk");
    AddExperiment(4, "ties", "active", 200, 100, "growth");

    AddRun("ra", 1, "alpha", "alice", "FINISHED", 1000, int64_t{2000}, "active");
    AddRun("rb", 1, "beta", "bob", "FAILED", 3000, SqlNull(), "active");
    AddRun("rc", 1, "gamma", "alice", "FINISHED", 2000, int64_t{2500}, "active");
    AddRun("rd", 1, "delta", "carol", "RUNNING", 3000, SqlNull(), "active");
    AddRun("re", 1, "epsilon", "bob", "FINISHED", 500, int64_t{900}, "deleted");
    AddRun("rf", 2, "zeta", "alice", "FINISHED", 4000, int64_t{4100}, "active");

    AddMetric("ra", "acc", 0.9);
    AddMetric("rb", "acc", 0.7);
    AddMetric("rc", "acc", 0, /*is_nan=*/true);
    AddMetric("re", "acc", 0.95);
    AddMetric("rf", "acc", 0.8);
    AddMetric("ra", "loss", 0.1);
    AddMetric("rb", "loss", 0.3);
    AddMetric("rc", "loss", 0.2);
    AddMetric("rd", "loss", 0.3);

    AddParam("ra", "model", "xgb");
    AddParam("rb", "model", "lr");
    AddParam("rc", "model", "rf");
    AddParam("ra", "family", "xgb");
    AddParam("rc", "family", "xgb_large");
    AddParam("rd", "family", "XGB");
    AddParam("ra", "pattern", "a_b");
    AddParam("rb", "pattern", "axb");

    AddTag("ra", "team", "risk");
    AddTag("rb", "team", "Risk");
    AddTag("rc", "team", "pricing");
    AddTag("ra", "data set", "v1");

    Exec(
        "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, source_type, source)"
        " VALUES ('d1', 1, 'train-2024', 'abc', 'local', 'file:///t'),"
        " ('d2', 1, 'eval', 'def', 'local', 'file:///e')");
    AddInput("i1", "d1", "ra", "training");
    AddInput("i2", "d2", "ra", "eval");
    AddInput("i3", "d1", "rb", "training");
    AddInput("i4", "d2", "rc", "eval");

    AddModel("churn", 20, 40);
    AddModel("fraud", 10, 50);
    AddModel("fraudtwo", 40, 45);
    AddModel("promptx", 30, 60);
    Exec(
        "INSERT INTO registered_model_tags (name, key, value) VALUES ('fraud', 'owner', 'risk'),"
        " ('churn', 'owner', 'growth'), ('promptx', 'mlflow.prompt.is_prompt', 'true')");
    AddVersion("churn", 1, 1, 10, "ra");
    AddVersion("churn", 2, 2, 30, "rb");
    AddVersion("fraud", 1, 3, 30, "rc");
    AddVersion("fraud", 2, 4, 20, "ra", "Deleted_Internal");
    AddVersion("promptx", 1, 5, 60, "rd");
    Exec(
        "INSERT INTO model_version_tags (name, version, key, value) VALUES"
        " ('churn', 2, 'validated', 'yes'), ('promptx', 1, 'mlflow.prompt.is_prompt', 'true')");
  }

  // The first column of every row (experiment ids and versions as text; a
  // second column is appended after '/').
  Ids Keys(const Result<SearchQuery>& query) {
    EXPECT_TRUE(query.ok()) << query.status().ToString();
    if (!query.ok()) return {};
    auto connection = db_->Acquire();
    EXPECT_TRUE(connection.ok());
    auto rows = (*connection)->Query(query->sql, query->params);
    EXPECT_TRUE(rows.ok()) << query->sql << ": " << rows.status().ToString();
    Ids keys;
    if (!rows.ok()) return keys;
    for (const storage::Row& row : *rows) {
      std::string key =
          std::holds_alternative<std::string>(row.Value(0)) ? row.String(0) : std::to_string(row.Int(0));
      if (row.size() > 1) key += "/" + std::to_string(row.Int(1));
      keys.push_back(key);
    }
    return keys;
  }

  // Follows page tokens the way a handler does until the last page.
  Ids AllPages(const std::function<Result<SearchQuery>(const std::string&)>& plan, int* pages) {
    Ids all;
    std::string token;
    *pages = 0;
    while (*pages < 100) {
      Result<SearchQuery> query = plan(token);
      Ids keys = Keys(query);
      if (!query.ok()) break;
      ++*pages;
      bool more = static_cast<int64_t>(keys.size()) > query->page_size;
      if (more) keys.resize(query->page_size);
      all.insert(all.end(), keys.begin(), keys.end());
      if (!more) break;
      token = EncodePageToken(query->offset + query->page_size);
    }
    return all;
  }

  Ids Runs(std::string_view filter, const std::vector<std::string>& order_by = {},
           ViewType view = ViewType::kActiveOnly, std::vector<int64_t> experiments = {1}) {
    return Keys(PlanRunSearch(experiments, filter, view, 0, order_by, ""));
  }

  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<storage::Database> admin_;
  std::string schema_;
  std::filesystem::path dir_;
};

TEST_P(SearchPlanTest, RunsDefaultToNewestFirstWithIdTieBreak) {
  EXPECT_EQ(Runs(""), (Ids{"rb", "rd", "rc", "ra"}));
  EXPECT_EQ(Runs("", {}, ViewType::kAll, {1, 2}), (Ids{"rf", "rb", "rd", "rc", "ra", "re"}));
  EXPECT_EQ(Runs("", {}, ViewType::kDeletedOnly), (Ids{"re"}));
}

TEST_P(SearchPlanTest, MetricFiltersCompareLatestValuesAndSkipNaN) {
  EXPECT_EQ(Runs("metrics.acc > 0.75"), (Ids{"ra"}));
  EXPECT_EQ(Runs("metrics.acc >= 0.7"), (Ids{"rb", "ra"}));
  EXPECT_EQ(Runs("metrics.acc < 1"), (Ids{"rb", "ra"}));
  EXPECT_EQ(Runs("metrics.acc <= 0.7"), (Ids{"rb"}));
  EXPECT_EQ(Runs("metrics.acc = 0.9"), (Ids{"ra"}));
  EXPECT_EQ(Runs("metrics.acc = 0"), Ids{});                 // NaN is stored as 0 but never equals it
  EXPECT_EQ(Runs("metrics.acc != 0.9"), (Ids{"rb", "rc"}));  // NaN differs; rd has no acc
  EXPECT_EQ(Runs("metrics.loss > 0.15 AND metrics.acc > 0.5"), (Ids{"rb"}));
}

TEST_P(SearchPlanTest, ParamAndTagFiltersMatchCaseAsAsked) {
  EXPECT_EQ(Runs("params.model = 'xgb'"), (Ids{"ra"}));
  EXPECT_EQ(Runs("params.model != 'xgb'"), (Ids{"rb", "rc"}));  // rd has no model param
  EXPECT_EQ(Runs("params.family LIKE 'xgb%'"), (Ids{"rc", "ra"}));
  EXPECT_EQ(Runs("params.family ILIKE 'xgb%'"), (Ids{"rd", "rc", "ra"}));
  EXPECT_EQ(Runs("params.pattern LIKE 'a_b'"), (Ids{"rb", "ra"}));
  EXPECT_EQ(Runs("params.pattern LIKE 'a\\_b'"), (Ids{"ra"}));
  EXPECT_EQ(Runs("tags.team = 'risk'"), (Ids{"ra"}));
  EXPECT_EQ(Runs("tags.team ILIKE 'RISK'"), (Ids{"rb", "ra"}));
  EXPECT_EQ(Runs("tags.`data set` = 'v1'"), (Ids{"ra"}));
  EXPECT_EQ(Runs("tags.mlflow.runName = 'gamma'"), (Ids{"rc"}));
  EXPECT_EQ(Runs("params.model = 'xgb' AND tags.team = 'risk' AND metrics.acc > 0.5"), (Ids{"ra"}));
}

TEST_P(SearchPlanTest, AttributeFilters) {
  EXPECT_EQ(Runs("attributes.status = 'FAILED'"), (Ids{"rb"}));
  EXPECT_EQ(Runs("run_name = 'gamma'"), (Ids{"rc"}));
  EXPECT_EQ(Runs("attributes.`Run name` ILIKE 'ALPHA'"), (Ids{"ra"}));
  EXPECT_EQ(Runs("user_id = 'alice'"), (Ids{"rc", "ra"}));
  EXPECT_EQ(Runs("start_time >= 2000"), (Ids{"rb", "rd", "rc"}));
  EXPECT_EQ(Runs("created < 2000"), (Ids{"ra"}));
  EXPECT_EQ(Runs("end_time > 2000"), (Ids{"rc"}));  // unfinished runs have no end_time
  EXPECT_EQ(Runs("artifact_uri LIKE '%/rd'"), (Ids{"rd"}));
  EXPECT_EQ(Runs("run_id IN ('ra', 'rc', 'rf')"), (Ids{"rc", "ra"}));
  EXPECT_EQ(Runs("attributes.run_id NOT IN ('ra', 'rc')"), (Ids{"rb", "rd"}));
}

TEST_P(SearchPlanTest, DatasetFiltersGoThroughInputs) {
  EXPECT_EQ(Runs("datasets.name = 'train-2024'"), (Ids{"rb", "ra"}));
  EXPECT_EQ(Runs("datasets.digest IN ('def')"), (Ids{"rc", "ra"}));
  EXPECT_EQ(Runs("datasets.context = 'eval'"), (Ids{"rc", "ra"}));
  EXPECT_EQ(Runs("datasets.name != 'eval'"), (Ids{"rb", "ra"}));
  EXPECT_EQ(Runs("datasets.name NOT IN ('train-2024')"), (Ids{"rc", "ra"}));
  EXPECT_EQ(Runs("datasets.context ILIKE 'TRAIN%' AND datasets.name = 'eval'"), (Ids{"ra"}));
}

TEST_P(SearchPlanTest, OrderByMetricPutsNaNThenMissingLastBothWays) {
  EXPECT_EQ(Runs("", {"metrics.acc DESC"}), (Ids{"ra", "rb", "rc", "rd"}));
  EXPECT_EQ(Runs("", {"metrics.acc ASC"}), (Ids{"rb", "ra", "rc", "rd"}));
  EXPECT_EQ(Runs("", {"metrics.acc"}, ViewType::kAll, {1, 2}), (Ids{"rb", "rf", "ra", "re", "rc", "rd"}));
  // Ties (rb and rd both 0.3) fall back to start_time DESC, then run id.
  EXPECT_EQ(Runs("", {"metrics.loss DESC"}), (Ids{"rb", "rd", "rc", "ra"}));
  EXPECT_EQ(Runs("", {"metrics.loss"}), (Ids{"ra", "rc", "rb", "rd"}));
  EXPECT_EQ(Runs("metrics.loss > 0.15", {"metrics.acc DESC"}), (Ids{"rb", "rc", "rd"}));
}

TEST_P(SearchPlanTest, OrderByParamTagAndAttribute) {
  EXPECT_EQ(Runs("", {"params.model"}), (Ids{"rb", "rc", "ra", "rd"}));
  EXPECT_EQ(Runs("", {"params.model DESC"}), (Ids{"ra", "rc", "rb", "rd"}));
  EXPECT_EQ(Runs("", {"tags.mlflow.runName DESC"}), (Ids{"rc", "rd", "rb", "ra"}));
  // A second key orders the first key's ties (rb and rd share loss 0.3).
  EXPECT_EQ(Runs("", {"metrics.loss DESC", "user_id DESC"}), (Ids{"rd", "rb", "rc", "ra"}));
  EXPECT_EQ(Runs("", {"attributes.end_time DESC"}), (Ids{"rc", "ra", "rb", "rd"}));
  EXPECT_EQ(Runs("", {"end_time"}), (Ids{"ra", "rc", "rb", "rd"}));
  EXPECT_EQ(Runs("", {"start_time ASC"}), (Ids{"ra", "rc", "rb", "rd"}));
  EXPECT_EQ(Runs("", {"created"}), (Ids{"ra", "rc", "rb", "rd"}));
  EXPECT_EQ(Runs("", {"run_name DESC"}), (Ids{"rc", "rd", "rb", "ra"}));
}

TEST_P(SearchPlanTest, PagingWalksEveryRunOnce) {
  for (int64_t page_size : {1, 2, 4, 5}) {
    int pages = 0;
    Ids all = AllPages(
        [&](const std::string& token) {
          return PlanRunSearch({1, 2}, "", ViewType::kAll, page_size, {"metrics.acc DESC"}, token);
        },
        &pages);
    EXPECT_EQ(all, (Ids{"re", "ra", "rf", "rb", "rc", "rd"})) << "page size " << page_size;
    // A token comes back iff a page was full and more rows exist: no empty last page.
    EXPECT_EQ(pages, (6 + page_size - 1) / page_size) << "page size " << page_size;
  }
}

// Enough runs that a single-key order reads only the best `budget` index
// entries on early pages and sorts everything on later ones; every page must
// match MLflow's order computed here in memory.
TEST_P(SearchPlanTest, KeyedOrderOverManyRunsMatchesFullSort) {
  struct Run {
    std::string id;
    int64_t start;
    int group;  // 0 has a score, 1 NaN score, 2 no score
    double score;
    std::string bucket;
  };
  std::vector<Run> runs;
  Exec(
      "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage,"
      " creation_time, last_update_time) VALUES (5, 'many', 'file:///m', 'active', 0, 0)");
  Status inserted = db_->InTransaction([&](storage::Connection& connection) -> Status {
    for (int i = 0; i < 1500; ++i) {
      char id[16];
      std::snprintf(id, sizeof(id), "m%04d", (i * 7919) % 1500);  // ids not in start order
      Run run{id, i % 11,
              i % 53 == 0    ? 2
              : i % 101 == 0 ? 1
                             : 0,
              (i % 37) / 10.0, "b" + std::to_string(i % 7)};
      runs.push_back(run);
      KILN_RETURN_IF_ERROR(
          connection
              .Execute(
                  "INSERT INTO runs (run_uuid, experiment_id, run_name, user_id, status, start_time,"
                  " lifecycle_stage, artifact_uri) VALUES (?, 5, 'n', 'u', 'FINISHED', ?, 'active', 'a')",
                  {run.id, run.start})
              .status());
      KILN_RETURN_IF_ERROR(connection
                               .Execute("INSERT INTO params (run_uuid, key, value) VALUES (?, 'bucket', ?)",
                                        {run.id, run.bucket})
                               .status());
      if (run.group == 2) continue;
      KILN_RETURN_IF_ERROR(
          connection
              .Execute("INSERT INTO latest_metrics (run_uuid, key, step, timestamp_ms, value, is_nan)"
                       " VALUES (?, 'score', 0, 0, ?, ?)",
                       {run.id, run.group == 1 ? 0.0 : run.score, int64_t{run.group == 1 ? 1 : 0}})
              .status());
    }
    return Status::Ok();
  });
  ASSERT_TRUE(inserted.ok()) << inserted.ToString();
  // Planner statistics, as PostgreSQL's autovacuum would gather them; without
  // any it guesses tiny tables and picks nested loops that make this test slow.
  Exec("ANALYZE");

  // Every page of every search must match MLflow's order, computed here.
  using Match = std::function<bool(const Run&)>;
  auto check = [&](const std::string& filter, const Match& match, const std::string& order_by,
                   const std::function<bool(const Run&, const Run&)>& before) {
    std::vector<Run> expected;
    for (const Run& run : runs) {
      if (match(run)) expected.push_back(run);
    }
    std::sort(expected.begin(), expected.end(), before);
    Ids expected_ids;
    for (const Run& run : expected) expected_ids.push_back(run.id);
    for (int64_t page_size : {100, 333}) {
      int pages = 0;
      Ids all = AllPages(
          [&](const std::string& token) {
            std::vector<std::string> order;
            if (!order_by.empty()) order.push_back(order_by);
            return PlanRunSearch({5}, filter, ViewType::kActiveOnly, page_size, order, token);
          },
          &pages);
      EXPECT_EQ(all, expected_ids) << filter << " / " << order_by << " / page size " << page_size;
    }
  };
  auto by_start = [](bool ascending) {
    return [ascending](const Run& a, const Run& b) {
      if (a.start != b.start) return ascending ? a.start < b.start : a.start > b.start;
      return a.id < b.id;
    };
  };
  auto by_score = [](bool ascending) {
    return [ascending](const Run& a, const Run& b) {
      if (a.group != b.group) return a.group < b.group;
      if (a.group == 0 && a.score != b.score) return ascending ? a.score < b.score : a.score > b.score;
      if (a.start != b.start) return a.start > b.start;
      return a.id < b.id;
    };
  };
  std::vector<std::pair<std::string, Match>> filters = {
      {"", [](const Run&) { return true; }},
      {"params.bucket != 'b3'", [](const Run& run) { return run.bucket != "b3"; }},
      {"params.bucket = 'b3'", [](const Run& run) { return run.bucket == "b3"; }},
      // An equality term (joined) with a range term (probed) when sorting every match.
      {"params.bucket = 'b3' AND metrics.score > 1.5",
       [](const Run& run) { return run.bucket == "b3" && run.group == 0 && run.score > 1.5; }},
  };
  for (const auto& [filter, match] : filters) {
    check(filter, match, "metrics.score DESC", by_score(false));
    check(filter, match, "metrics.score ASC", by_score(true));
    check(filter, match, "", by_start(false));
    check(filter, match, "attributes.start_time ASC", by_start(true));
  }

  // A param key takes the same path: 1500 runs over 7 buckets, ties by start_time, id.
  Result<SearchQuery> by_bucket =
      PlanRunSearch({5}, "", ViewType::kActiveOnly, 5, {"params.bucket DESC"}, "");
  Ids top = Keys(by_bucket);
  std::vector<Run> b6;
  for (const Run& run : runs) {
    if (run.bucket == "b6") b6.push_back(run);
  }
  std::sort(b6.begin(), b6.end(),
            [](const Run& a, const Run& b) { return a.start != b.start ? a.start > b.start : a.id < b.id; });
  ASSERT_EQ(top.size(), 6u);
  for (size_t i = 0; i < top.size(); ++i) EXPECT_EQ(top[i], b6[i].id) << i;
}

TEST_P(SearchPlanTest, RunSearchRejectsBadArguments) {
  auto error = [](const Result<SearchQuery>& query) {
    EXPECT_FALSE(query.ok());
    EXPECT_EQ(query.status().code(), StatusCode::kInvalidArgument);
    return query.status().message();
  };
  EXPECT_EQ(error(PlanRunSearch({1}, "", ViewType::kAll, 50001, {}, "")),
            "Invalid value for request parameter max_results. It must be at most 50000, but got "
            "value 50001");
  EXPECT_EQ(error(PlanRunSearch({1}, "", ViewType::kAll, -5, {}, "")),
            "Invalid value for request parameter max_results. It must be a positive integer, but "
            "got -5");
  EXPECT_EQ(error(PlanRunSearch({1}, "", ViewType::kAll, 10, {"metrics.a", "metric.a DESC"}, "")),
            "`order_by` contains duplicate fields: ['metrics.a', 'metric.a DESC']");
  EXPECT_EQ(error(PlanRunSearch({1}, "", ViewType::kAll, 10, {}, "%%%")),
            "Invalid page token, could not base64-decode");
  EXPECT_EQ(error(PlanRunSearch({}, "", ViewType::kAll, 10, {}, "")),
            "searching runs needs at least one experiment id");
  EXPECT_EQ(error(PlanRunSearch({1}, "metrics.a >", ViewType::kAll, 10, {}, "")),
            "Invalid filter 'metrics.a >' at position 11: expected a value after '>'");
  Result<SearchQuery> defaulted = PlanRunSearch({1}, "", ViewType::kAll, 0, {}, "");
  ASSERT_TRUE(defaulted.ok());
  EXPECT_EQ(defaulted->page_size, 1000);
}

TEST_P(SearchPlanTest, Experiments) {
  auto search = [&](std::string_view filter, ViewType view, const std::vector<std::string>& order_by = {}) {
    return Keys(PlanExperimentSearch(filter, view, 0, order_by, ""));
  };
  // Default: creation_time DESC, experiment_id ASC.
  EXPECT_EQ(search("", ViewType::kActiveOnly), (Ids{"2", "4", "1", "0"}));
  // A user order without experiment_id breaks ties by experiment_id DESC.
  EXPECT_EQ(search("", ViewType::kActiveOnly, {"creation_time DESC"}), (Ids{"4", "2", "1", "0"}));
  EXPECT_EQ(search("", ViewType::kAll, {"last_update_time DESC"}), (Ids{"3", "1", "2", "4", "0"}));
  EXPECT_EQ(search("", ViewType::kDeletedOnly), (Ids{"3"}));
  EXPECT_EQ(search("name LIKE '%fraud%'", ViewType::kAll), (Ids{"1", "3"}));
  EXPECT_EQ(search("attributes.name ILIKE 'FRAUD%'", ViewType::kActiveOnly), (Ids{"1"}));
  EXPECT_EQ(search("tags.team = 'risk'", ViewType::kAll), (Ids{"1", "3"}));
  EXPECT_EQ(search("creation_time >= 100 AND tags.team != 'risk'", ViewType::kAll), (Ids{"2", "4"}));
  EXPECT_EQ(search("last_update_time < 400", ViewType::kActiveOnly, {"experiment_id"}), (Ids{"0", "2", "4"}));

  int pages = 0;
  Ids all = AllPages(
      [](const std::string& token) { return PlanExperimentSearch("", ViewType::kAll, 2, {}, token); },
      &pages);
  EXPECT_EQ(all, (Ids{"2", "4", "1", "3", "0"}));
  EXPECT_EQ(pages, 3);

  Result<SearchQuery> too_many = PlanExperimentSearch("", ViewType::kAll, 50001, {}, "");
  EXPECT_EQ(too_many.status().message(),
            "Invalid value for max_results. It must be at most 50000, but got 50001");
  Result<SearchQuery> negative = PlanExperimentSearch("", ViewType::kAll, -1, {}, "");
  EXPECT_EQ(negative.status().message(),
            "Invalid value for max_results. It must be a positive integer, but got -1");
}

TEST_P(SearchPlanTest, RegisteredModelsHidePromptsUnlessAsked) {
  auto search = [&](std::string_view filter, const std::vector<std::string>& order_by = {}) {
    return Keys(PlanRegisteredModelSearch(filter, 0, order_by, ""));
  };
  EXPECT_EQ(search(""), (Ids{"churn", "fraud", "fraudtwo"}));
  EXPECT_EQ(search("name ILIKE 'FRAUD%'"), (Ids{"fraud", "fraudtwo"}));
  EXPECT_EQ(search("name LIKE 'FRAUD%'"), Ids{});
  EXPECT_EQ(search("name != 'fraud'"), (Ids{"churn", "fraudtwo"}));
  EXPECT_EQ(search("tags.owner = 'risk'"), (Ids{"fraud"}));
  EXPECT_EQ(search("tags.`mlflow.prompt.is_prompt` = 'true'"), (Ids{"promptx"}));
  EXPECT_EQ(search("tags.`mlflow.prompt.is_prompt` = 'false'"), (Ids{"churn", "fraud", "fraudtwo"}));
  EXPECT_EQ(search("", {"timestamp DESC"}), (Ids{"fraud", "fraudtwo", "churn"}));
  EXPECT_EQ(search("", {"creation_timestamp"}), (Ids{"fraud", "churn", "fraudtwo"}));

  Result<SearchQuery> duplicate =
      PlanRegisteredModelSearch("", 10, {"timestamp", "last_updated_timestamp DESC"}, "");
  EXPECT_EQ(duplicate.status().message(),
            "`order_by` contains duplicate fields: ['timestamp', 'last_updated_timestamp DESC']");
  Result<SearchQuery> too_many = PlanRegisteredModelSearch("", 1001, {}, "");
  EXPECT_EQ(too_many.status().message(),
            "Invalid value for request parameter max_results. It must be at most 1000, but got "
            "value 1001");
  Result<SearchQuery> defaulted = PlanRegisteredModelSearch("", 0, {}, "");
  ASSERT_TRUE(defaulted.ok());
  EXPECT_EQ(defaulted->page_size, 100);

  int pages = 0;
  Ids all =
      AllPages([](const std::string& token) { return PlanRegisteredModelSearch("", 1, {}, token); }, &pages);
  EXPECT_EQ(all, (Ids{"churn", "fraud", "fraudtwo"}));
  EXPECT_EQ(pages, 3);
}

TEST_P(SearchPlanTest, ModelVersions) {
  auto search = [&](std::string_view filter, const std::vector<std::string>& order_by = {}) {
    return Keys(PlanModelVersionSearch(filter, 0, order_by, ""));
  };
  // Default: last_updated DESC, name ASC, version DESC; internal deletions and prompts hidden.
  EXPECT_EQ(search(""), (Ids{"churn/2", "fraud/1", "churn/1"}));
  EXPECT_EQ(search("run_id IN ('ra', 'rc')"), (Ids{"fraud/1", "churn/1"}));
  EXPECT_EQ(search("run_id = 'rb'"), (Ids{"churn/2"}));
  EXPECT_EQ(search("version_number > 1"), (Ids{"churn/2"}));
  EXPECT_EQ(search("name = 'churn' AND tags.validated = 'yes'"), (Ids{"churn/2"}));
  EXPECT_EQ(search("source_path LIKE 's3://bucket/churn/%'"), (Ids{"churn/2", "churn/1"}));
  EXPECT_EQ(search("", {"version_number ASC"}), (Ids{"churn/1", "fraud/1", "churn/2"}));
  EXPECT_EQ(search("", {"name DESC"}), (Ids{"fraud/1", "churn/2", "churn/1"}));
  EXPECT_EQ(search("tags.`mlflow.prompt.is_prompt` = 'true'"), (Ids{"promptx/1"}));

  Result<SearchQuery> too_many = PlanModelVersionSearch("", 200001, {}, "");
  EXPECT_EQ(too_many.status().message(),
            "Invalid value for request parameter max_results. It must be at most 200000, but got "
            "value 200001");
  Result<SearchQuery> defaulted = PlanModelVersionSearch("", 0, {}, "");
  ASSERT_TRUE(defaulted.ok());
  EXPECT_EQ(defaulted->page_size, 10000);
}

INSTANTIATE_TEST_SUITE_P(Backends, SearchPlanTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// ---------------------------------------------------------------------------
// Pure functions: no database needed.

TEST(PageTokenTest, RoundTripsAndMatchesMlflowBytes) {
  EXPECT_EQ(EncodePageToken(1000), Base64Encode("{\"offset\": 1000}"));
  for (int64_t offset : {int64_t{0}, int64_t{1}, int64_t{999}, int64_t{1} << 40}) {
    Result<int64_t> decoded = DecodePageToken(EncodePageToken(offset));
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(*decoded, offset);
  }
  EXPECT_EQ(*DecodePageToken(""), 0);
  EXPECT_EQ(*DecodePageToken(Base64UrlEncode("{\"offset\": \"25\"}")), 25);
}

TEST(PageTokenTest, RejectsBadTokens) {
  EXPECT_EQ(DecodePageToken("!!").status().message(), "Invalid page token, could not base64-decode");
  EXPECT_EQ(DecodePageToken(Base64Encode("not json")).status().message(),
            "Invalid page token, decoded value=not json");
  EXPECT_EQ(DecodePageToken(Base64Encode("{\"page\": 3}")).status().message(),
            "Invalid page token, parsed value={\"page\":3}");
  EXPECT_EQ(DecodePageToken(Base64Encode("{\"offset\": -3}")).status().message(),
            "Invalid page token, parsed value={\"offset\":-3}");
  EXPECT_EQ(DecodePageToken(Base64Encode("{\"offset\": \"3x\"}")).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ViewTypeTest, ParsesNamesAndNumbers) {
  EXPECT_EQ(*ParseViewType(""), ViewType::kActiveOnly);
  EXPECT_EQ(*ParseViewType("ACTIVE_ONLY"), ViewType::kActiveOnly);
  EXPECT_EQ(*ParseViewType("deleted_only"), ViewType::kDeletedOnly);
  EXPECT_EQ(*ParseViewType("2"), ViewType::kDeletedOnly);
  EXPECT_EQ(*ParseViewType("ALL"), ViewType::kAll);
  EXPECT_EQ(*ParseViewType("3"), ViewType::kAll);
  EXPECT_EQ(ParseViewType("SOME").status().message(),
            "Invalid view type 'SOME': expected ACTIVE_ONLY, DELETED_ONLY or ALL");
}

TEST(Base64Test, EncodesAndDecodesBothAlphabets) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(*Base64Decode("Zm9vYg=="), "foob");
  EXPECT_EQ(*Base64Decode("Zm9vYg"), "foob");
  EXPECT_EQ(*Base64Decode("-_8"), "\xfb\xff");
  EXPECT_EQ(*Base64Decode("+/8="), "\xfb\xff");
  EXPECT_EQ(Base64Decode("Zm9v!").status().message(), "invalid base64: unexpected character at offset 4");
  EXPECT_EQ(Base64Decode("Zm9vY").status().message(), "invalid base64: truncated final group");
  EXPECT_EQ(Base64Decode("Zm8==").status().message(), "invalid base64: wrong amount of padding");
}

}  // namespace
}  // namespace kiln::tracking
