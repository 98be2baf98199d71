# Benchmarks and experiments of lj_fit (owned by fit; included by tests/bench/CMakeLists.txt).
# Executables print numbers; they are not ctest tests. Output in ${CMAKE_BINARY_DIR}/bin.
# fit_bench: time of fitting 100,000 synthetic conv2d samples (degree 3, 10-fold CV).
add_executable(fit_bench ${CMAKE_CURRENT_LIST_DIR}/fit_bench.cpp)
target_link_libraries(fit_bench PRIVATE lj_fit)
# fit_candidates: the model-kind comparison on the Raptor Lake data (see the file's header).
add_executable(fit_candidates ${CMAKE_CURRENT_LIST_DIR}/fit_candidates.cpp)
target_link_libraries(fit_candidates PRIVATE lj_fit)
lj_module_headers(fit_bench tests)
lj_module_headers(fit_candidates tests)
