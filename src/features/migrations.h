#pragma once
// The features module's schema migrations (registry versions, feature
// service versions, materializations, quarantine, pushed rows), embedded at
// build time from src/features/migrations/*.sql by
// cmake/EmbedMigrations.cmake. Pass to storage::Database::Migrate.

#include "storage/migration.h"

namespace kiln::features {

const storage::MigrationList& Migrations();

}  // namespace kiln::features
