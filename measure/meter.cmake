# lj_meter: energy meters (RAPL through libpowercap) and wraparound correction. No LibTorch.
add_library(lj_meter STATIC
  ${CMAKE_CURRENT_LIST_DIR}/energy_meter.cpp
  ${CMAKE_CURRENT_LIST_DIR}/wraparound.cpp
  ${CMAKE_CURRENT_LIST_DIR}/rapl_meter.cpp
)
target_link_libraries(lj_meter PUBLIC lj_core PRIVATE Powercap::powercap)
