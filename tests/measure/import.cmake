lj_add_gtest(legacy_import_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/legacy_import_test.cpp
  LIBS lj_import)
# Fallback for $LJ_SOURCE_DIR when the test runs outside ctest's environment.
target_compile_definitions(legacy_import_test PRIVATE LJ_SOURCE_DIR_FALLBACK="${PROJECT_SOURCE_DIR}")
