#include "storage/postgres_database.h"

namespace kiln::storage {

// Placeholder until the libpq backend lands (in progress this session).
Result<std::unique_ptr<Database>> OpenPostgres(const std::string& uri, int pool_size) {
  return Unavailable("PostgreSQL backend is not built yet");
}

}  // namespace kiln::storage
