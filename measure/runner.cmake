# lj_runner: the LibTorch layer runner, the measurement protocol and LibTorch runtime info.
# LibTorch is a PRIVATE dependency: no public header includes torch, so users of lj_runner
# compile without torch headers (each TU with <torch/torch.h> costs ~15 s).
add_library(lj_runner STATIC
  ${CMAKE_CURRENT_LIST_DIR}/layer_runner.cpp
  ${CMAKE_CURRENT_LIST_DIR}/pass_measurement.cpp
  ${CMAKE_CURRENT_LIST_DIR}/torch_info.cpp
)
target_link_libraries(lj_runner
  PUBLIC lj_core lj_meter
  PRIVATE torch ${CMAKE_DL_LIBS})
