target_sources(heatblast PRIVATE
  src/resources/resources.cpp)
