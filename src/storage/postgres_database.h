#pragma once
// PostgreSQL backend over libpq: a pool of connections; '?' placeholders are
// rewritten to $1..$n; doubles travel as text so NaN and +-Infinity survive.

#include <memory>
#include <string>

#include "storage/database.h"

namespace kiln::storage {

// `uri` is a libpq connection URI (postgresql://user:password@host:port/db).
Result<std::unique_ptr<Database>> OpenPostgres(const std::string& uri, int pool_size);

}  // namespace kiln::storage
