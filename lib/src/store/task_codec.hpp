// TaskSpec/TaskRecord <-> the StoredTask protobuf kept in SQLite.
#pragma once

#include "store.pb.h"  // generated from proto/heatblast/store.proto

#include <string_view>

#include "heatblast/tasks.hpp"

namespace heatblast::store {

// `name` is the task's (spec.name is not read: a spec shared between tasks has none).
StoredTask to_stored(std::string_view name, const tasks::TaskSpec& spec,
                     const tasks::TaskRecord& record);
std::pair<tasks::TaskSpec, tasks::TaskRecord> from_stored(const StoredTask& stored);

}  // namespace heatblast::store
