# tasks layer: wanted tasks matched to offers, tracked, restarted, adopted.
target_sources(heatblast PRIVATE
  src/tasks/framework.cpp
  src/tasks/heap.cpp
  src/tasks/shared_specs.cpp
  src/tasks/task_manager.cpp)
