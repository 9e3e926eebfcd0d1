# scheduler layer: the v1 scheduler client.
target_sources(heatblast PRIVATE
  src/scheduler/backoff.cpp
  src/scheduler/calls.cpp
  src/scheduler/client.cpp
  src/scheduler/masters.cpp
  src/scheduler/reconciler.cpp)
