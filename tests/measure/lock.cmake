# measure's host-wide lock (lj_measure).
lj_add_gtest(instance_lock_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/instance_lock_test.cpp
  LIBS lj_measure)
