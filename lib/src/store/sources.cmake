# store layer: SQLite.
find_package(SQLite3 REQUIRED)
target_link_libraries(heatblast PRIVATE SQLite::SQLite3)
target_sources(heatblast PRIVATE
  src/store/sqlite_store.cpp
  src/store/task_codec.cpp)
