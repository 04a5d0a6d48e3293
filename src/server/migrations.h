#pragma once
// The server module's schema migrations (src/server/migrations/*.sql,
// embedded at build time by cmake/EmbedMigrations.cmake).

#include "storage/migration.h"

namespace kiln::server {

// The API token table, in order. Pass to storage::Database::Migrate.
const storage::MigrationList& Migrations();

}  // namespace kiln::server
