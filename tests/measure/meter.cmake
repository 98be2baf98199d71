# Tests of lj_meter: wraparound, EnergyMeter::Between, the peak memory probe, and the RAPL
# meter against the emulated powercap tree of fake_powercap (tests/support).
include(${PROJECT_SOURCE_DIR}/tests/support/support.cmake)

lj_add_gtest(wraparound_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/wraparound_test.cpp
  LIBS lj_meter)
lj_add_gtest(energy_meter_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/energy_meter_test.cpp
  LIBS lj_meter)
# Minor page faults of the process (measure/page_faults.h).
lj_add_gtest(page_faults_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/page_faults_test.cpp
  LIBS lj_meter)
lj_add_gtest(peak_memory_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/peak_memory_test.cpp
  LIBS lj_meter)
lj_add_gtest(rapl_meter_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/rapl_meter_test.cpp
  LIBS lj_meter lj_test_support)
add_dependencies(rapl_meter_test fake_powercap)
