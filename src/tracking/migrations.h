#pragma once
// The tracking module's schema migrations (tracking and model registry
// tables), embedded at build time from src/tracking/migrations/*.sql by
// cmake/EmbedMigrations.cmake. Pass to storage::Database::Migrate.

#include "storage/migration.h"

namespace kiln::tracking {

const storage::MigrationList& Migrations();

}  // namespace kiln::tracking
