# lj_import: import of the Python prototype's CSV measurements (no LibTorch, no libpowercap).
add_library(lj_import STATIC
  ${CMAKE_CURRENT_LIST_DIR}/legacy_import.cpp
)
target_link_libraries(lj_import PUBLIC lj_db lj_core)
