# heatblast_test_zookeeper: the real-ZooKeeper fixture (support/zookeeper_fixture.hpp). Tests
# that link it need Debian's `zookeeper` package (a Java server) at run time.
add_library(heatblast_test_zookeeper STATIC ${CMAKE_CURRENT_LIST_DIR}/zookeeper_fixture.cpp)
target_include_directories(heatblast_test_zookeeper PUBLIC ${PROJECT_SOURCE_DIR}/tests)
target_compile_features(heatblast_test_zookeeper PUBLIC cxx_std_20)
heatblast_warnings(heatblast_test_zookeeper)
