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
# dropout, cross_entropy, sgd/adam; lj_net for the activations' functions).
lj_add_gtest(layer_ops_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/layer_ops_test.cpp
  LIBS lj_runner lj_net torch)
# Per-layer tensor memory against predict's accounting (links lj_predict for the accounting).
lj_add_gtest(layer_memory_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/layer_memory_test.cpp
  LIBS lj_runner lj_net lj_predict torch)
# Measurement conditions per sample: contention share, package temperature, re-measurement.
lj_add_gtest(sample_conditions_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/sample_conditions_test.cpp
  LIBS lj_runner)
