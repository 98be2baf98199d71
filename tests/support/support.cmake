# Test support: the fake_powercap emulator (an executable in ${CMAKE_BINARY_DIR}/bin) and
# lj_test_support, helpers to run code inside it. Included by tests/measure/meter.cmake; other
# test folders may include it too.
include_guard(GLOBAL)

add_executable(fake_powercap ${CMAKE_CURRENT_LIST_DIR}/fake_powercap.cpp)

add_library(lj_test_support STATIC ${CMAKE_CURRENT_LIST_DIR}/fake_powercap_client.cpp)
target_link_libraries(lj_test_support PUBLIC lj_meter)
add_dependencies(lj_test_support fake_powercap)
lj_module_headers(fake_powercap tests)
lj_module_headers(lj_test_support tests)
