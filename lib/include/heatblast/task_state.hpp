// Facts about Mesos task states that every scheduler needs, kept in one place.
#pragma once

#include <mesos/v1/mesos.pb.h>

namespace heatblast {

// True for the states after which a task never runs again: FINISHED, FAILED, KILLED, ERROR,
// LOST, DROPPED, GONE, GONE_BY_OPERATOR. UNREACHABLE and UNKNOWN are not terminal (the task may
// come back), as in Mesos's protobuf_utils isTerminalState.
constexpr bool is_terminal(mesos::v1::TaskState state) noexcept {
  switch (state) {
    case mesos::v1::TASK_FINISHED:
    case mesos::v1::TASK_FAILED:
    case mesos::v1::TASK_KILLED:
    case mesos::v1::TASK_ERROR:
    case mesos::v1::TASK_LOST:
    case mesos::v1::TASK_DROPPED:
    case mesos::v1::TASK_GONE:
    case mesos::v1::TASK_GONE_BY_OPERATOR:
      return true;
    default:
      return false;
  }
}

}  // namespace heatblast
