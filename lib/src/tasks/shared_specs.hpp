// The parts of task specs that tasks share (private to the library): thousands of tasks of a
// framework differ only in their name, so the manager keeps one copy of the rest per distinct
// content instead of one per task.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "heatblast/tasks.hpp"

namespace heatblast::tasks {

// A TaskSpec without its name (`name` is empty), immutable; `key` is its content as bytes.
struct SharedSpec {
  TaskSpec spec;
  std::string key;
};

// Hands out one SharedSpec per distinct content. An entry lives as long as a task holds it: the
// last release drops it from the table, so the table never grows beyond the shapes in use. Must
// outlive every SharedSpec it returned. Single-threaded, as the manager is.
class SharedSpecs {
 public:
  SharedSpecs() = default;
  SharedSpecs(const SharedSpecs&) = delete;
  SharedSpecs& operator=(const SharedSpecs&) = delete;

  // The shared copy of everything in `spec` but its name.
  std::shared_ptr<const SharedSpec> intern(TaskSpec spec);

  // Distinct contents held (for tests and statistics).
  std::size_t size() const { return table_.size(); }

 private:
  std::unordered_map<std::string, std::weak_ptr<const SharedSpec>> table_;
};

// The content of `spec` but its name, as bytes that differ whenever anything a launch, a restart
// or the store uses differs.
std::string shape_key(const TaskSpec& spec);

}  // namespace heatblast::tasks
