target_sources(heatblast PRIVATE
  src/resources/values.cpp
  src/resources/resources.cpp
  src/resources/text.cpp
  src/resources/allocate.cpp)
