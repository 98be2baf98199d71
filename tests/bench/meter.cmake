# rapl_read_bench: cost of one RAPL meter Read(). Without RAPL hardware run it inside the
# emulated tree:  bin/fake_powercap --sockets 2 --dram-w 3,2 -- bin/rapl_read_bench
add_executable(rapl_read_bench ${CMAKE_CURRENT_LIST_DIR}/rapl_read_bench.cpp)
target_link_libraries(rapl_read_bench PRIVATE lj_meter)
lj_module_headers(rapl_read_bench tests)
