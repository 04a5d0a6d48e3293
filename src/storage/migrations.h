#pragma once
// The storage module's schema migrations (src/storage/migrations/*.sql,
// embedded at build time by cmake/EmbedMigrations.cmake).

#include "storage/migration.h"

namespace kiln::storage {

// The artifact store's tables, in order. Pass to Database::Migrate.
const MigrationList& Migrations();

}  // namespace kiln::storage
