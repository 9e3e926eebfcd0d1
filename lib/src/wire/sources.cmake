target_sources(heatblast PRIVATE
  src/wire/recordio.cpp
  src/wire/codec.cpp
  src/wire/event_stream.cpp)
