// heatblast::store::ZooKeeperStore: a scheduler's durable state in ZooKeeper, so that several
// instances share it and the one that leads after a failover finds the framework id, its tasks
// and its records where the last leader left them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "heatblast/store.hpp"
#include "heatblast/zookeeper.hpp"

namespace heatblast::store {

// Under its root path:
//   <root>/framework_id      the framework id (text)
//   <root>/tasks/<name>      one node per task: the StoredTask protobuf SqliteStore keeps
//   <root>/records/<key>     one node per record of the program's own
// Names and keys are percent-encoded into node names ('/' and anything outside
// [A-Za-z0-9._-]). Every write is a synchronous ZooKeeper request on the given session,
// answered by the ensemble before the call returns, as SqliteStore commits before it returns.
// A write on a session that expired fails, so an instance that lost its leadership cannot
// overwrite its successor's state with it. A value above kMaxNodeData (ZooKeeper's 1 MB node
// limit) is refused with errc::invalid_argument; other failures are errc::zookeeper_error.
// Use it on the session's executor; the session must outlive the store.
class ZooKeeperStore final : public StateStore {
 public:
  // Creates the root and its two folders when missing (the session must be connected).
  static Result<std::unique_ptr<ZooKeeperStore>> open(zookeeper::Session& session,
                                                      std::string root);

  ZooKeeperStore(const ZooKeeperStore&) = delete;
  ZooKeeperStore& operator=(const ZooKeeperStore&) = delete;

  const std::string& root() const noexcept { return root_; }

  // StateStore
  Result<std::optional<std::string>> framework_id() override;
  Result<void> set_framework_id(std::string_view id) override;
  Result<void> put(std::string_view key, std::string_view value) override;
  Result<std::optional<std::string>> get(std::string_view key) override;
  Result<void> erase(std::string_view key) override;
  Result<std::vector<std::pair<std::string, std::string>>> scan(std::string_view prefix) override;

  // tasks::TaskStore
  Result<void> save_task(const tasks::TaskSpec& spec, const tasks::TaskRecord& record) override;
  Result<void> remove_task(const std::string& name) override;
  Result<std::vector<std::pair<tasks::TaskSpec, tasks::TaskRecord>>> load_tasks() override;

 private:
  ZooKeeperStore(zookeeper::Session& session, std::string root);
  Result<void> write(const std::string& path, std::string_view data, std::string_view what);
  Result<std::optional<std::string>> read(const std::string& path, std::string_view what);
  Result<void> erase_node(const std::string& path, std::string_view what);

  zookeeper::Session& session_;
  std::string root_;
};

// The node name a key is stored under, and back (nullopt: not a name encode_node_name made).
std::string encode_node_name(std::string_view key);
std::optional<std::string> decode_node_name(std::string_view name);

}  // namespace heatblast::store
