#pragma once
// PostgresTestSchema (tests only): a schema of its own on the shared test
// database named by KILN_TEST_POSTGRES_URI (scripts/with-postgres), reached
// through search_path, dropped with everything in it on destruction. Suites
// that run at the same time (ctest -j2) never see or drop each other's
// tables, as they would sharing `public`.

#include <memory>
#include <string>

#include "common/clock.h"
#include "storage/database.h"

namespace kiln::storage {

class PostgresTestSchema {
 public:
  // REQUIRES: base_uri is a postgresql:// URI. ok() tells whether the
  // schema was created (error() says why not).
  explicit PostgresTestSchema(const std::string& base_uri)
      : name_("kiln_test_" + IdGenerator().RandomHex(8)) {
    DatabaseOptions options;
    options.uri = base_uri;
    options.pool_size = 1;
    auto admin = Database::Open(options);
    if (!admin.ok()) {
      error_ = admin.status().ToString();
      return;
    }
    admin_ = std::move(*admin);
    auto connection = admin_->Acquire();
    Status created = connection.ok() ? (*connection)->ExecuteScript("CREATE SCHEMA " + name_) : connection.status();
    if (!created.ok()) {
      error_ = created.ToString();
      return;
    }
    uri_ = base_uri + (base_uri.find('?') != std::string::npos ? "&" : "?") + "options=-c%20search_path%3D" + name_;
  }
  ~PostgresTestSchema() {
    if (admin_ == nullptr || uri_.empty()) return;
    auto connection = admin_->Acquire();
    if (connection.ok()) (void)(*connection)->ExecuteScript("DROP SCHEMA " + name_ + " CASCADE");
  }
  PostgresTestSchema(const PostgresTestSchema&) = delete;
  PostgresTestSchema& operator=(const PostgresTestSchema&) = delete;

  bool ok() const { return !uri_.empty(); }
  const std::string& error() const { return error_; }
  // The base URI with search_path set to this schema.
  const std::string& uri() const { return uri_; }

 private:
  std::string name_;
  std::string uri_;
  std::string error_;
  std::unique_ptr<Database> admin_;
};

}  // namespace kiln::storage
