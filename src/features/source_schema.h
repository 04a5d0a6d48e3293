#pragma once
// Schema resolvers for Repository::Build: where a source's column names and
// types come from.
//   csv, jsonl  the header / keys, types inferred from the first 1000 rows
//               (declared `columns` win; timestamp fields parsed as ISO 8601
//               in the source's time zone, so a bad value is an error here)
//   sqlite      the file opened read-only: declared SQL types of the table
//               or query columns (INTEGER → int64, REAL/DOUBLE/FLOAT/NUMERIC
//               → float64, TEXT → string, BOOLEAN → bool,
//               TIMESTAMP/DATETIME/DATE → timestamp); a column without one
//               takes the storage class of its first non-null sampled value
//   postgres    the column types of the table or query (a temporary view is
//               described; no row is read)
//   push        its declared columns
// Timestamp fields always come out as timestamp. Resolvers are stateless
// and thread-safe.

#include <string>

#include "common/status.h"
#include "data/frame.h"
#include "features/definitions.h"
#include "features/repository.h"

namespace kiln::features {

// Reads the sources themselves; relative paths resolve against `root`.
SchemaResolver DefaultSchemaResolver(std::string root);

// The columns stored in each SourceDef (a stored definition is
// self-contained), in name order; touches no file or database. Error when a
// source has none.
SchemaResolver StoredSchemaResolver();

// What DefaultSchemaResolver(root) does for one source.
Result<data::Schema> ResolveSourceSchema(const SourceDef& source, const std::string& root);

}  // namespace kiln::features
