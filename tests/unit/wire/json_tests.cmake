# unit_json: the JSON mapping. Owned by the JSON codec work.
#
# json_test.proto is a test-only schema with every field type, label and shape (maps, oneofs,
# defaults, required fields, recursion), so the codec is tested independently of the Mesos
# protos; the Mesos messages get their own tests on top.
add_library(heatblast_json_test_proto STATIC)
set_target_properties(heatblast_json_test_proto PROPERTIES POSITION_INDEPENDENT_CODE ON)
target_compile_features(heatblast_json_test_proto PUBLIC cxx_std_20)
set(_hb_json_test_gen "${CMAKE_CURRENT_BINARY_DIR}/json_test_gen")
file(MAKE_DIRECTORY "${_hb_json_test_gen}")
target_sources(heatblast_json_test_proto PRIVATE
  "${CMAKE_CURRENT_SOURCE_DIR}/json_test.proto"
  "${CMAKE_CURRENT_SOURCE_DIR}/json_test_proto3.proto")
protobuf_generate(
  TARGET heatblast_json_test_proto
  LANGUAGE cpp
  IMPORT_DIRS "${CMAKE_CURRENT_SOURCE_DIR}"
  PROTOC_OUT_DIR "${_hb_json_test_gen}")
target_include_directories(heatblast_json_test_proto PUBLIC "${_hb_json_test_gen}")
target_link_libraries(heatblast_json_test_proto PUBLIC protobuf::libprotobuf)

heatblast_add_test(unit_json
  json_decode_test.cpp
  json_encode_test.cpp
  json_roundtrip_test.cpp
  json_mesos_test.cpp
  json_paths_test.cpp)
target_link_libraries(unit_json PRIVATE heatblast_json_test_proto)
target_compile_definitions(unit_json
  PRIVATE HEATBLAST_FUZZ_CORPUS_DIR="${PROJECT_SOURCE_DIR}/tests/fuzz/corpus")
