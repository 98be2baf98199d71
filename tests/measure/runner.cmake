# Tests of lj_runner (LibTorch layer runner and measurement protocol).
lj_add_gtest(layer_runner_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/layer_runner_test.cpp
  LIBS lj_runner)
lj_add_gtest(pass_measurement_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/pass_measurement_test.cpp
  LIBS lj_runner)
lj_add_gtest(torch_info_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/torch_info_test.cpp
  LIBS lj_runner)
# The layer types beyond conv2d, maxpool2d and linear (batch norm, activations, pools, add, mul,
# dropout, cross_entropy, sgd/adam).
lj_add_gtest(layer_ops_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/layer_ops_test.cpp
  LIBS lj_runner)
