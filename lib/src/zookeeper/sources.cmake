# ZooKeeper: zk:// URLs, an executor-bound session on the C client (libzookeeper-mt), and the
# leading-master detector the scheduler client uses for zk:// masters. The C client stays
# private: no zookeeper.h in public headers.
find_package(ZooKeeper REQUIRED)
target_sources(heatblast PRIVATE
  src/zookeeper/leader_election.cpp
  src/zookeeper/master_detector.cpp
  src/zookeeper/session.cpp
  src/zookeeper/session_keeper.cpp
  src/zookeeper/url.cpp)
target_link_libraries(heatblast PRIVATE ZooKeeper::zookeeper_mt)
