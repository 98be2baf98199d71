# lj_network_run: `measure --net`, whole-network training iterations as ground truth for
# predict (LibTorch; builds net.json networks with lj_predict_net).
add_library(lj_network_run STATIC
  ${CMAKE_CURRENT_LIST_DIR}/network_run.cpp
)
target_link_libraries(lj_network_run
  PUBLIC lj_measure lj_predict_input
  PRIVATE torch spdlog::spdlog)
target_link_libraries(measure PRIVATE lj_network_run)
