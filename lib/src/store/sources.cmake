# store layer: SQLite, in the heatblast_store target. Its record format (heatblast/store.proto)
# is generated here, privately, as store.pb.h (APPEND_PATH: protoc runs with the .proto's own
# directory first, so the output lands where FindProtobuf expects it).
find_package(SQLite3 REQUIRED)
target_link_libraries(heatblast_store PRIVATE SQLite::SQLite3)
target_sources(heatblast_store PRIVATE
  src/store/sqlite.cpp
  src/store/sqlite_store.cpp
  src/store/task_codec.cpp
  src/store/zookeeper_store.cpp
  ${PROJECT_SOURCE_DIR}/proto/heatblast/store.proto)
set(_hb_store_gen "${CMAKE_CURRENT_BINARY_DIR}/store_gen")
file(MAKE_DIRECTORY "${_hb_store_gen}")
protobuf_generate(
  TARGET heatblast_store
  LANGUAGE cpp
  APPEND_PATH
  PROTOS ${PROJECT_SOURCE_DIR}/proto/heatblast/store.proto
  IMPORT_DIRS "${PROJECT_SOURCE_DIR}/proto"
  PROTOC_OUT_DIR "${_hb_store_gen}")
target_include_directories(heatblast_store PRIVATE "${_hb_store_gen}")
