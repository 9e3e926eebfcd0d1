#include "tasks/shared_specs.hpp"

#include <bit>
#include <cstdint>
#include <cstring>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

namespace heatblast::tasks {
namespace {

void put_u64(std::string& out, std::uint64_t value) {
  char bytes[sizeof value];
  std::memcpy(bytes, &value, sizeof value);
  out.append(bytes, sizeof value);
}

void put_i64(std::string& out, std::int64_t value) {
  put_u64(out, static_cast<std::uint64_t>(value));
}

void put_double(std::string& out, double value) {
  put_u64(out, std::bit_cast<std::uint64_t>(value));
}

// Length first, so that no two sequences of fields make the same bytes.
void put_bytes(std::string& out, std::string_view bytes) {
  put_u64(out, bytes.size());
  out.append(bytes);
}

// Deterministic: equal messages give equal bytes (map fields in order).
void put_message(std::string& out, const google::protobuf::MessageLite& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializePartialToCodedStream(&coded);
  }
  put_bytes(out, bytes);
}

}  // namespace

std::string shape_key(const TaskSpec& spec) {
  // Every field of TaskSpec but `name`: a field added to TaskSpec must be added here, or tasks
  // that differ in it would share one spec.
  std::string key;
  put_message(key, spec.command);
  put_u64(key, spec.container ? 1 : 0);
  if (spec.container) put_message(key, *spec.container);
  put_u64(key, spec.resources.scalars.size());
  for (const auto& [name, amount] : spec.resources.scalars) {
    put_bytes(key, name);
    put_double(key, amount);
  }
  put_u64(key, spec.resources.port_count);
  put_u64(key, spec.resources.ports.size());
  for (const auto port : spec.resources.ports)
    put_u64(key, port);
  put_bytes(key, spec.resources.role);
  put_u64(key, spec.resources.allow_revocable ? 1 : 0);
  put_message(key, spec.labels);
  const auto& restart = spec.restart;
  put_i64(key, static_cast<std::int64_t>(restart.policy));
  put_i64(key, restart.backoff.initial.count());
  put_i64(key, restart.backoff.max.count());
  put_double(key, restart.backoff.multiplier);
  put_double(key, restart.backoff.jitter);
  put_i64(key, restart.backoff.flat_for.count());
  put_i64(key, restart.stable_after.count());
  put_i64(key, restart.max_restarts);
  put_i64(key, spec.timeout.count());
  put_u64(key, spec.constraints.size());
  for (const auto& [name, value] : spec.constraints) {
    put_bytes(key, name);
    put_bytes(key, value);
  }
  return key;
}

std::shared_ptr<const SharedSpec> SharedSpecs::intern(TaskSpec spec) {
  spec.name.clear();
  std::string key = shape_key(spec);
  auto& slot = table_[key];
  if (auto shared = slot.lock()) return shared;
  // The last task to let go removes the entry (before a new one of this content can be made:
  // the manager is single-threaded).
  std::shared_ptr<const SharedSpec> shared(new SharedSpec{std::move(spec), std::move(key)},
                                           [this](const SharedSpec* gone) {
                                             table_.erase(gone->key);
                                             delete gone;
                                           });
  slot = shared;
  return shared;
}

}  // namespace heatblast::tasks
