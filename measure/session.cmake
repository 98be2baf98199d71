# lj_measure: the measurement run (sampling loop, lock, idle power, meter choice), and the binary.
add_library(lj_measure STATIC
  ${CMAKE_CURRENT_LIST_DIR}/host_info.cpp
  ${CMAKE_CURRENT_LIST_DIR}/idle_power.cpp
  ${CMAKE_CURRENT_LIST_DIR}/instance_lock.cpp
  ${CMAKE_CURRENT_LIST_DIR}/measurement_run.cpp
  ${CMAKE_CURRENT_LIST_DIR}/meter_selection.cpp
  ${CMAKE_CURRENT_LIST_DIR}/openmp_env.cpp
  ${CMAKE_CURRENT_LIST_DIR}/progress.cpp
)
target_link_libraries(lj_measure PUBLIC lj_runner lj_meter lj_db lj_core spdlog::spdlog)

add_executable(measure ${CMAKE_CURRENT_LIST_DIR}/main.cpp)
target_link_libraries(measure PRIVATE lj_measure lj_import CLI11::CLI11)
