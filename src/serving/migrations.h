#pragma once
// The serving module's schema migrations (the SQL prediction log, labels and
// business events), embedded at build time from src/serving/migrations/*.sql
// by cmake/EmbedMigrations.cmake. Pass to storage::Database::Migrate.

#include "storage/migration.h"

namespace kiln::serving {

const storage::MigrationList& Migrations();

}  // namespace kiln::serving
