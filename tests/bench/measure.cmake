# measure_run_bench: resident memory over a long run and time outside the timed loops.
add_executable(measure_run_bench ${CMAKE_CURRENT_LIST_DIR}/measure_run_bench.cpp
  ${PROJECT_SOURCE_DIR}/tests/integration/process_util.cpp)
lj_module_headers(measure_run_bench tests)
target_link_libraries(measure_run_bench PRIVATE SQLite::SQLite3 lj_test_files)
add_dependencies(measure_run_bench measure)
