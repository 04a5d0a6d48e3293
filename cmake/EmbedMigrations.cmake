# Turns DIR/NNNN_name.sql into a C++ source defining
# kiln::storage::MigrationList <MODULE>Migrations(), ordered by number.
file(GLOB files ${DIR}/*.sql)
list(SORT files)
set(body "")
foreach(f ${files})
  get_filename_component(base ${f} NAME_WE)
  string(REGEX MATCH "^[0-9]+" number ${base})
  math(EXPR number "${number}")
  file(READ ${f} sql)
  set(body "${body}  {\"${MODULE}\", ${number}, \"${base}\", R\"kilnsql(${sql})kilnsql\"},\n")
endforeach()
file(WRITE ${OUT}.tmp "// Generated from src/${MODULE}/migrations by cmake/EmbedMigrations.cmake.\n#include \"storage/migration.h\"\n\nnamespace kiln::${MODULE} {\n\nconst storage::MigrationList& Migrations() {\n  static const storage::MigrationList kList = {\n${body}  };\n  return kList;\n}\n\n}  // namespace kiln::${MODULE}\n")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
