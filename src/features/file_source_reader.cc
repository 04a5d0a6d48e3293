// CSV and JSON-lines sources: the data module's readers with the source's
// declared types, its timestamp fields parsed in its time zone, and its path
// resolved against the repository folder.

#include <algorithm>

#include "data/csv.h"
#include "features/source_reader_internal.h"

namespace kiln::features::source_internal {

Result<data::Frame> ReadFileSource(const RepositoryDef& repository, const SourceDef& source,
                                   const SourceReadOptions& options) {
  if (source.path.empty()) return SourceError(source, "has no path");
  const std::string path = ResolvePath(repository, source.path);

  data::ReadOptions read;
  read.columns = ColumnsToRead(source, options);
  for (const auto& [name, type] : source.columns) {
    bool selected = read.columns.empty() ||
                    std::find(read.columns.begin(), read.columns.end(), name) != read.columns.end();
    if (selected) read.types[name] = type;
  }
  for (const std::string* field : {&source.timestamp_field, &source.created_timestamp_field}) {
    if (field->empty()) continue;
    read.types[*field] = data::Type::kTimestamp;
    read.timestamp_columns.push_back(*field);
  }
  KILN_ASSIGN_OR_RETURN(read.timezone, SourceZone(source));
  read.source_name = path;
  read.progress_label = "read " + source.name;
  read.quiet = options.quiet;

  Result<data::Frame> frame = source.kind == SourceKind::kJsonLines
                                  ? data::ReadJsonLines(path, read)
                                  : data::ReadCsv(path, read);
  if (!frame.ok()) return WithSource(source, frame.status());
  return frame;
}

}  // namespace kiln::features::source_internal
