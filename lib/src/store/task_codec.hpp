// TaskSpec/TaskRecord <-> the StoredTask protobuf kept in SQLite.
#pragma once

#include "store.pb.h"  // generated from proto/heatblast/store.proto

#include "heatblast/tasks.hpp"

namespace heatblast::store {

StoredTask to_stored(const tasks::TaskSpec& spec, const tasks::TaskRecord& record);
std::pair<tasks::TaskSpec, tasks::TaskRecord> from_stored(const StoredTask& stored);

}  // namespace heatblast::store
