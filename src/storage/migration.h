#pragma once
// A numbered schema migration owned by one module. Files live in
// src/<module>/migrations/NNNN_name.sql and are embedded at build time
// (cmake/EmbedMigrations.cmake) as kiln::<module>::Migrations().

#include <string>
#include <vector>

namespace kiln::storage {

struct Migration {
  std::string module;
  int version;
  std::string name;
  std::string sql;
};

using MigrationList = std::vector<Migration>;

}  // namespace kiln::storage
