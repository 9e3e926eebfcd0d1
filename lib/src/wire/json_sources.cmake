# The JSON mapping (RapidJSON <-> protobuf descriptors). RapidJSON stays private to these files.
target_sources(heatblast PRIVATE
  src/wire/json_decode.cpp
  src/wire/json_encode.cpp
  src/wire/json_tables.cpp)
