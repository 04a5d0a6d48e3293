# kiln_module(NAME DEPS ...) builds src/NAME/*.cc (minus *_test.cc) into the
# static library kiln_NAME, embeds src/NAME/migrations/*.sql, and registers
# src/NAME/*_test.cc as one GoogleTest binary kiln_NAME_test.
function(kiln_module name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  set(dir ${CMAKE_SOURCE_DIR}/src/${name})
  file(GLOB sources CONFIGURE_DEPENDS ${dir}/*.cc)
  file(GLOB tests CONFIGURE_DEPENDS ${dir}/*_test.cc)
  if(tests)
    list(REMOVE_ITEM sources ${tests})
  endif()

  file(GLOB migrations CONFIGURE_DEPENDS ${dir}/migrations/*.sql)
  if(migrations)
    set(generated ${CMAKE_BINARY_DIR}/generated/${name}_migrations.cc)
    add_custom_command(
      OUTPUT ${generated}
      COMMAND ${CMAKE_COMMAND} -DMODULE=${name} -DOUT=${generated}
              -DDIR=${dir}/migrations -P ${CMAKE_SOURCE_DIR}/cmake/EmbedMigrations.cmake
      DEPENDS ${migrations} ${CMAKE_SOURCE_DIR}/cmake/EmbedMigrations.cmake
      COMMENT "Embedding ${name} migrations")
    list(APPEND sources ${generated})
  endif()

  add_library(kiln_${name} STATIC ${sources})
  target_include_directories(kiln_${name} PUBLIC ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(kiln_${name} PUBLIC ${ARG_DEPS})

  if(tests)
    add_executable(kiln_${name}_test ${tests})
    target_link_libraries(kiln_${name}_test PRIVATE kiln_${name} GTest::gtest GTest::gtest_main GTest::gmock)
    add_test(NAME ${name} COMMAND kiln_${name}_test)
    set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 600)
  endif()
endfunction()
