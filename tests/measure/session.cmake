# The measure session (lj_measure): lock, meter, host, lazily opened store, runs.
lj_add_gtest(session_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/session_test.cpp
  LIBS lj_measure)
# measure --check's pre-flight report and the BLAS kernel check (no LibTorch needed).
lj_add_gtest(preflight_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/preflight_test.cpp
  LIBS lj_measure)
# The first-touch probe of fresh memory (measure/first_touch_probe.h).
lj_add_gtest(first_touch_probe_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/first_touch_probe_test.cpp
  LIBS lj_measure)
