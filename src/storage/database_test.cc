// The same behaviour tests against both metadata-store backends: SQLite in a
// temporary directory, and PostgreSQL when KILN_TEST_POSTGRES_URI names a
// server (scripts/with-postgres starts a throw-away one).
#include "storage/database.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <thread>

#include "storage/postgres_database.h"

namespace kiln::storage {
namespace {

enum class Backend { kSqlite, kPostgres };

std::string UniqueSuffix() {
  static std::atomic<int> counter{0};
  return std::to_string(getpid()) + "_" + std::to_string(counter++);
}

std::unique_ptr<Database> OpenOrDie(const std::string& uri, int pool_size) {
  auto database = Database::Open({.uri = uri, .pool_size = pool_size, .durable_commits = false});
  EXPECT_TRUE(database.ok()) << database.status().ToString();
  return database.ok() ? std::move(*database) : nullptr;
}

// Gives each test an empty store: a new SQLite file, or a new PostgreSQL
// schema that every pooled connection uses (via search_path), dropped after.
class DatabaseTest : public testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kSqlite) {
      dir_ = std::filesystem::path(testing::TempDir()) / ("kiln_database_test_" + UniqueSuffix());
      std::filesystem::create_directories(dir_);
      uri_ = "sqlite://" + std::filesystem::absolute(dir_ / "kiln.db").string();
    } else {
      const char* base = std::getenv("KILN_TEST_POSTGRES_URI");
      if (base == nullptr || *base == '\0') {
        GTEST_SKIP() << "KILN_TEST_POSTGRES_URI is not set; run under scripts/with-postgres";
      }
      schema_ = "kiln_test_" + UniqueSuffix();
      admin_ = OpenOrDie(base, 1);
      ASSERT_NE(admin_, nullptr);
      ASSERT_TRUE(admin_->Acquire().value()->ExecuteScript("CREATE SCHEMA " + schema_).ok());
      uri_ = std::string(base) + (std::strchr(base, '?') ? "&" : "?") + "options=-c%20search_path%3D" + schema_;
    }
    database_ = OpenOrDie(uri_, 4);
    ASSERT_NE(database_, nullptr);
  }

  void TearDown() override {
    database_.reset();
    if (admin_ != nullptr) (void)admin_->Acquire().value()->ExecuteScript("DROP SCHEMA " + schema_ + " CASCADE");
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  Rows Query(const std::string& sql, const std::vector<SqlValue>& params = {}) {
    auto rows = database_->Acquire().value()->Query(sql, params);
    EXPECT_TRUE(rows.ok()) << sql << ": " << rows.status().ToString();
    return rows.ok() ? std::move(*rows) : Rows{};
  }
  Status Execute(const std::string& sql, const std::vector<SqlValue>& params = {}) {
    return database_->Acquire().value()->Execute(sql, params).status();
  }
  int64_t Count(const std::string& table) {
    Rows rows = Query("SELECT COUNT(*) FROM " + table);
    return rows.size() == 1 ? rows[0].Int(0) : -1;
  }

  std::string uri_, schema_;
  std::filesystem::path dir_;
  std::unique_ptr<Database> admin_, database_;
};

TEST_P(DatabaseTest, RoundTripsEveryValueType) {
  constexpr double kInfinity = std::numeric_limits<double>::infinity();
  struct Case {
    int64_t i;
    double d;
    std::string s;
  };
  const std::vector<Case> cases = {
      {std::numeric_limits<int64_t>::max(), 0.1, "plain"},
      {std::numeric_limits<int64_t>::min(), -2.5e-300, "it's \"quoted\" ? $1"},
      {(int64_t{1} << 53) + 1, 1e300, "ünïcødé ✓"},
      {-1, kInfinity, ""},
      {0, -kInfinity, "x"},
      {42, 1.0 / 3, "y"}};
  ASSERT_TRUE(Execute("CREATE TABLE t (id BIGINT PRIMARY KEY, i BIGINT, d DOUBLE PRECISION, s TEXT)").ok());
  auto connection = database_->Acquire().value();
  for (size_t k = 0; k < cases.size(); ++k) {
    auto changed = connection->Execute("INSERT INTO t (id, i, d, s) VALUES (?, ?, ?, ?)",
                                       {static_cast<int64_t>(k), cases[k].i, cases[k].d, cases[k].s});
    ASSERT_TRUE(changed.ok()) << changed.status().ToString();
    EXPECT_EQ(*changed, 1);
  }
  ASSERT_TRUE(connection->Execute("INSERT INTO t (id, i, d, s) VALUES (?, ?, ?, ?)",
                                  {int64_t{99}, SqlNull(), SqlNull(), SqlNull()}).ok());
  Rows rows = connection->Query("SELECT i, d, s FROM t ORDER BY id").value();
  ASSERT_EQ(rows.size(), cases.size() + 1);
  for (size_t k = 0; k < cases.size(); ++k) {
    EXPECT_EQ(rows[k].Value(0), SqlValue(cases[k].i)) << k;
    EXPECT_EQ(rows[k].Value(1), SqlValue(cases[k].d)) << k;
    EXPECT_EQ(rows[k].Value(2), SqlValue(cases[k].s)) << k;
  }
  for (size_t c = 0; c < 3; ++c) EXPECT_TRUE(rows.back().IsNull(c));

  auto changed = connection->Execute("UPDATE t SET s = ? WHERE id < ?", {std::string("z"), int64_t{3}});
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ(*changed, 3);

  // Bare parameters and expressions come back typed, booleans as 0/1.
  Rows bare = connection->Query("SELECT ?, ?, ?, ?, 1 = 1, 1 = 2, COUNT(*) FROM t",
                                {int64_t{-7}, 2.5, std::string("s"), SqlNull()}).value();
  ASSERT_EQ(bare.size(), 1u);
  EXPECT_EQ(bare[0].Value(0), SqlValue(int64_t{-7}));
  EXPECT_EQ(bare[0].Value(1), SqlValue(2.5));
  EXPECT_EQ(bare[0].Value(2), SqlValue(std::string("s")));
  EXPECT_TRUE(bare[0].IsNull(3));
  EXPECT_EQ(bare[0].Value(4), SqlValue(int64_t{1}));
  EXPECT_EQ(bare[0].Value(5), SqlValue(int64_t{0}));
  EXPECT_EQ(bare[0].Value(6), SqlValue(static_cast<int64_t>(cases.size() + 1)));
}

TEST_P(DatabaseTest, NaNSurvivesOnPostgresAndReadsAsNullOnSqlite) {
  ASSERT_TRUE(Execute("CREATE TABLE t (d DOUBLE PRECISION)").ok());
  ASSERT_TRUE(Execute("INSERT INTO t (d) VALUES (?)", {std::nan("")}).ok());
  Rows rows = Query("SELECT d FROM t");
  ASSERT_EQ(rows.size(), 1u);
  if (GetParam() == Backend::kPostgres) {
    ASSERT_TRUE(std::holds_alternative<double>(rows[0].Value(0)));
    EXPECT_TRUE(std::isnan(rows[0].Double(0)));
  } else {
    EXPECT_TRUE(rows[0].IsNull(0));
  }
}

TEST_P(DatabaseTest, LeavesQuestionMarksInQuotesAndCommentsAlone) {
  Rows rows = Query("SELECT '?' AS \"what?\", 'it''s ?', ? /* ? */ -- ?\n", {int64_t{7}});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].String(0), "?");
  EXPECT_EQ(rows[0].String(1), "it's ?");
  EXPECT_EQ(rows[0].Int(2), 7);
}

TEST_P(DatabaseTest, InTransactionCommitsOnOkAndRollsBackOnError) {
  ASSERT_TRUE(Execute("CREATE TABLE t (k TEXT PRIMARY KEY)").ok());
  Status committed = database_->InTransaction([](Connection& c) {
    KILN_RETURN_IF_ERROR(c.Execute("INSERT INTO t (k) VALUES (?)", {std::string("a")}).status());
    return c.Execute("INSERT INTO t (k) VALUES (?)", {std::string("b")}).status();
  });
  EXPECT_TRUE(committed.ok()) << committed.ToString();
  const std::string first_seen = "INSERT INTO t (k) VALUES (?) -- first prepared in a rolled-back transaction";
  Status rolled_back = database_->InTransaction([&](Connection& c) {
    KILN_RETURN_IF_ERROR(c.Execute(first_seen, {std::string("c")}).status());
    return FailedPrecondition("changed my mind");
  });
  EXPECT_EQ(rolled_back.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(rolled_back.message(), "changed my mind");
  EXPECT_EQ(Count("t"), 2);
  Status reused = Execute(first_seen, {std::string("d")});  // the cached statement outlives the rollback
  EXPECT_TRUE(reused.ok()) << reused.ToString();
  EXPECT_EQ(Count("t"), 3);
}

TEST_P(DatabaseTest, ConstraintViolationIsAlreadyExists) {
  ASSERT_TRUE(Execute("CREATE TABLE t (k TEXT PRIMARY KEY)").ok());
  ASSERT_TRUE(Execute("INSERT INTO t (k) VALUES (?)", {std::string("a")}).ok());
  Status duplicate = Execute("INSERT INTO t (k) VALUES (?)", {std::string("a")});
  EXPECT_EQ(duplicate.code(), StatusCode::kAlreadyExists) << duplicate.ToString();
  EXPECT_NE(duplicate.message().find("constraint"), std::string::npos) << duplicate.message();
  Status in_transaction = database_->InTransaction([](Connection& c) {
    KILN_RETURN_IF_ERROR(c.Execute("INSERT INTO t (k) VALUES (?)", {std::string("b")}).status());
    return c.Execute("INSERT INTO t (k) VALUES (?)", {std::string("a")}).status();
  });
  EXPECT_EQ(in_transaction.code(), StatusCode::kAlreadyExists) << in_transaction.ToString();
  EXPECT_EQ(Count("t"), 1);
}

// A dialect difference callers must respect: on PostgreSQL a failed statement
// aborts the whole transaction, so ignoring its error cannot save the rest.
TEST_P(DatabaseTest, SwallowedErrorAbortsTheTransactionOnPostgresOnly) {
  ASSERT_TRUE(Execute("CREATE TABLE t (k TEXT PRIMARY KEY)").ok());
  ASSERT_TRUE(Execute("INSERT INTO t (k) VALUES ('a')").ok());
  Status status = database_->InTransaction([](Connection& c) {
    KILN_RETURN_IF_ERROR(c.Execute("INSERT INTO t (k) VALUES ('b')").status());
    (void)c.Execute("INSERT INTO t (k) VALUES ('a')");  // kAlreadyExists, ignored
    return Status::Ok();
  });
  if (GetParam() == Backend::kPostgres) {
    EXPECT_EQ(status.code(), StatusCode::kInternal);
    EXPECT_NE(status.message().find("rolled back"), std::string::npos) << status.message();
    EXPECT_EQ(Count("t"), 1);
  } else {
    EXPECT_TRUE(status.ok()) << status.ToString();
    EXPECT_EQ(Count("t"), 2);
  }
}

TEST_P(DatabaseTest, ManyDistinctStatementsOutgrowTheStatementCache) {
  auto connection = database_->Acquire().value();
  for (int64_t k = 0; k < 600; ++k) {
    auto rows = connection->Query("SELECT ? + " + std::to_string(k), {int64_t{1}});
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    ASSERT_EQ((*rows)[0].Int(0), k + 1);
  }
  if (GetParam() == Backend::kPostgres) {  // the server holds at most the cache's bound
    EXPECT_LE(connection->Query("SELECT COUNT(*) FROM pg_prepared_statements").value()[0].Int(0), 257);
  }
}

const MigrationList kTwoMigrations = {
    {"widgets", 1, "0001_create", "CREATE TABLE widgets (id BIGINT PRIMARY KEY, name TEXT NOT NULL);"},
    {"widgets", 2, "0002_seed", "INSERT INTO widgets (id, name) VALUES (1, 'first'); -- a comment?\n"
                                "CREATE INDEX widgets_by_name ON widgets (name);"}};

TEST_P(DatabaseTest, MigrateAppliesEachMigrationOnce) {
  ASSERT_TRUE(database_->Migrate({&kTwoMigrations}).ok());
  Status again = database_->Migrate({&kTwoMigrations});
  EXPECT_TRUE(again.ok()) << again.ToString();
  EXPECT_EQ(Count("widgets"), 1);
  Rows versions = Query("SELECT version, name FROM kiln_schema WHERE module = ? ORDER BY version",
                        {std::string("widgets")});
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[1].Int(0), 2);
  EXPECT_EQ(versions[1].String(1), "0002_seed");
}

TEST_P(DatabaseTest, MigrateRefusesSchemaNewerThanTheBinary) {
  ASSERT_TRUE(database_->Migrate({&kTwoMigrations}).ok());
  const MigrationList older = {kTwoMigrations[0]};
  Status refused = database_->Migrate({&older});
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("newer than this kiln binary knows"), std::string::npos) << refused.message();
}

TEST_P(DatabaseTest, FailedMigrationLeavesNoTrace) {
  const MigrationList broken = {
      {"broken", 1, "0001_half", "CREATE TABLE half (id BIGINT); INSERT INTO no_such_table VALUES (1);"}};
  Status failed = database_->Migrate({&broken});
  EXPECT_EQ(failed.code(), StatusCode::kInternal);
  EXPECT_NE(failed.message().find("broken/0001_half"), std::string::npos) << failed.message();
  EXPECT_EQ(Query("SELECT version FROM kiln_schema WHERE module = ?", {std::string("broken")}).size(), 0u);
  EXPECT_FALSE(database_->Acquire().value()->Query("SELECT id FROM half").ok());
}

TEST_P(DatabaseTest, EightThreadsShareThePool) {
  ASSERT_TRUE(Execute("CREATE TABLE t (thread BIGINT, item BIGINT, PRIMARY KEY (thread, item))").ok());
  constexpr int kThreads = 8, kItems = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kItems; ++i) {
        std::vector<SqlValue> row = {int64_t{t}, int64_t{i}};
        Status status = i % 2 == 0 ? database_->Acquire().value()->Execute("INSERT INTO t VALUES (?, ?)", row).status()
                                   : database_->InTransaction([&](Connection& c) {
                                       return c.Execute("INSERT INTO t VALUES (?, ?)", row).status();
                                     });
        if (!status.ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Count("t"), kThreads * kItems);
}

TEST_P(DatabaseTest, PostgresRecoversFromALostConnection) {
  if (GetParam() != Backend::kPostgres) GTEST_SKIP() << "SQLite has no server connection to lose";
  auto single = OpenOrDie(uri_, 1);
  ASSERT_NE(single, nullptr);
  int64_t pid = single->Acquire().value()->Query("SELECT pg_backend_pid()").value()[0].Int(0);
  ASSERT_TRUE(admin_->Acquire().value()->Query("SELECT pg_terminate_backend(CAST(? AS INTEGER))", {pid}).ok());
  auto lost = single->Acquire().value()->Query("SELECT 1");
  EXPECT_EQ(lost.status().code(), StatusCode::kUnavailable) << lost.status().ToString();
  auto again = single->Acquire().value()->Query("SELECT 1");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)[0].Int(0), 1);
}

TEST_P(DatabaseTest, PostgresRollsBackATransactionLeftOpen) {
  if (GetParam() != Backend::kPostgres) GTEST_SKIP() << "checked on PostgreSQL only";
  ASSERT_TRUE(Execute("CREATE TABLE t (k TEXT)").ok());
  {
    auto connection = database_->Acquire().value();
    ASSERT_TRUE(connection->Begin().ok());
    ASSERT_TRUE(connection->Execute("INSERT INTO t (k) VALUES ('x')").ok());
  }  // released without Commit
  EXPECT_EQ(Count("t"), 0);
}

// Concurrent writers share commits (group commit); each body's outcome is
// its own: failing bodies leave nothing, their neighbours all commit.
TEST_P(DatabaseTest, ConcurrentTransactionsKeepTheirOwnOutcome) {
  ASSERT_TRUE(Execute("CREATE TABLE grouped (id BIGINT PRIMARY KEY, worker BIGINT NOT NULL)").ok());
  constexpr int kThreads = 8, kPerThread = 60;
  std::atomic<int> failures_seen{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        int64_t id = t * 1000 + i;
        bool should_fail = i % 5 == 0;
        Status status = database_->InTransaction([&](Connection& connection) -> Status {
          KILN_RETURN_IF_ERROR(connection.Execute("INSERT INTO grouped (id, worker) VALUES (?, ?)",
                                                  {id, static_cast<int64_t>(t)}).status());
          if (!should_fail) return Status::Ok();
          // A failing statement (duplicate key) after a successful one: on
          // PostgreSQL this aborts the transaction until rolled back.
          return connection.Execute("INSERT INTO grouped (id, worker) VALUES (?, ?)", {id, int64_t{0}}).status();
        });
        if (should_fail) {
          EXPECT_EQ(status.code(), StatusCode::kAlreadyExists) << status.ToString();
          ++failures_seen;
        } else {
          EXPECT_TRUE(status.ok()) << status.ToString();
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures_seen.load(), kThreads * kPerThread / 5);
  EXPECT_EQ(Count("grouped"), kThreads * kPerThread * 4 / 5);
  Rows failed = Query("SELECT COUNT(*) FROM grouped WHERE MOD(id, 1000) IN (0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55)");
  EXPECT_EQ(failed[0].Int(0), 0);
}

TEST_P(DatabaseTest, BodyThatThrowsBecomesInternalAndWritesNothing) {
  ASSERT_TRUE(Execute("CREATE TABLE thrown (id BIGINT PRIMARY KEY)").ok());
  Status status = database_->InTransaction([&](Connection& connection) -> Status {
    (void)connection.Execute("INSERT INTO thrown (id) VALUES (1)");
    throw std::runtime_error("boom");
  });
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_NE(status.message().find("boom"), std::string::npos);
  EXPECT_EQ(Count("thrown"), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, DatabaseTest, testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const testing::TestParamInfo<Backend>& info) {
                           return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
                         });

TEST(PostgresDatabaseTest, RewritesPlaceholdersOutsideQuotesAndComments) {
  int count = 0;
  EXPECT_EQ(RewritePlaceholders("SELECT ?, '?', 'it''s?', \"a?\" -- ?\n/* ? */ FROM t WHERE a = ?", &count),
            "SELECT $1, '?', 'it''s?', \"a?\" -- ?\n/* ? */ FROM t WHERE a = $2");
  EXPECT_EQ(count, 2);
}

TEST(PostgresDatabaseTest, RedactsPasswords) {
  EXPECT_EQ(RedactPassword("postgresql://kiln:s3cret@db:5432/kiln?sslmode=require&password=other"),
            "postgresql://kiln@db:5432/kiln?sslmode=require");
  EXPECT_EQ(RedactPassword("postgresql://db:5432/kiln?password=a&password=b&x=1"), "postgresql://db:5432/kiln?x=1");
  EXPECT_EQ(RedactPassword("postgresql://db:5432/kiln"), "postgresql://db:5432/kiln");
}

TEST(PostgresDatabaseTest, MalformedUriIsInvalidArgumentWithoutPassword) {
  auto database = Database::Open({.uri = "postgresql://kiln:s3%zzcret@127.0.0.1:1/kiln"});
  ASSERT_FALSE(database.ok());
  EXPECT_EQ(database.status().code(), StatusCode::kInvalidArgument) << database.status().ToString();
  EXPECT_EQ(database.status().message().find("s3"), std::string::npos) << database.status().message();
}

TEST(PostgresDatabaseTest, UnreachableServerIsUnavailableAndNamesHostNotPassword) {
  auto database = Database::Open({.uri = "postgresql://kiln:s3cret@127.0.0.1:1/kiln"});
  ASSERT_FALSE(database.ok());
  EXPECT_EQ(database.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(database.status().message().find("127.0.0.1:1/kiln"), std::string::npos) << database.status().message();
  EXPECT_EQ(database.status().message().find("s3cret"), std::string::npos) << database.status().message();
}

}  // namespace
}  // namespace kiln::storage
