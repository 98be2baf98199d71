# The measure session (lj_measure): lock, meter, host, lazily opened store, runs.
lj_add_gtest(session_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/session_test.cpp
  LIBS lj_measure)
