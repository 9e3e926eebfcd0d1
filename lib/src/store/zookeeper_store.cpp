#include "heatblast/zookeeper_store.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "task_codec.hpp"

namespace heatblast::store {
namespace {

using zookeeper::Code;

bool plain(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

Error zk_error(std::string_view what, Code code) {
  return Error{make_error_code(errc::zookeeper_error),
               fmt::format("{}: {}", what, zookeeper::to_string(code))};
}

}  // namespace

std::string encode_node_name(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (plain(c)) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  // "." and ".." (and the empty name) are no node names.
  if (out.empty() || out == "." || out == "..") {
    std::string dotted;
    for (char c : out)
      dotted += c == '.' ? "%2E" : std::string(1, c);
    return dotted.empty() ? "%" : dotted;
  }
  return out;
}

std::optional<std::string> decode_node_name(std::string_view name) {
  if (name == "%") return std::string();
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] != '%') {
      out += name[i];
      continue;
    }
    if (i + 2 >= name.size()) return std::nullopt;
    const int high = hex_value(name[i + 1]);
    const int low = hex_value(name[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

ZooKeeperStore::ZooKeeperStore(zookeeper::Session& session, std::string root)
    : session_(session), root_(std::move(root)) {}

Result<std::unique_ptr<ZooKeeperStore>> ZooKeeperStore::open(zookeeper::Session& session,
                                                             std::string root) {
  while (root.size() > 1 && root.back() == '/')
    root.pop_back();
  if (root.empty() || root.front() != '/' || root == "/") {
    return fail(errc::invalid_argument,
                fmt::format("ZooKeeper store root '{}' must be an absolute path below /", root));
  }
  // Each ancestor, then the two folders; one that exists already is fine.
  std::vector<std::string> paths;
  for (std::size_t i = 1; i <= root.size(); ++i) {
    if (i == root.size() || root[i] == '/') paths.push_back(root.substr(0, i));
  }
  paths.push_back(root + "/tasks");
  paths.push_back(root + "/records");
  for (const auto& path : paths) {
    const Code code = session.create_now(path, {});
    if (code != Code::ok && code != Code::node_exists) {
      return tl::unexpected(zk_error(fmt::format("cannot create ZooKeeper node '{}'", path), code));
    }
  }
  return std::unique_ptr<ZooKeeperStore>(new ZooKeeperStore(session, std::move(root)));
}

Result<void> ZooKeeperStore::write(const std::string& path, std::string_view data,
                                   std::string_view what) {
  if (data.size() > zookeeper::kMaxNodeData) {
    return fail(errc::invalid_argument,
                fmt::format("{}: {} bytes, above ZooKeeper's node limit of {} bytes", what,
                            data.size(), zookeeper::kMaxNodeData));
  }
  // Usually the node exists (a task saved again); else create it. Another writer creating it
  // in between (node_exists) is answered by setting it after all.
  for (int attempt = 0; attempt < 3; ++attempt) {
    Code code = session_.set_now(path, data);
    if (code == Code::ok) return {};
    if (code != Code::no_node) return tl::unexpected(zk_error(what, code));
    code = session_.create_now(path, data);
    if (code == Code::ok) return {};
    if (code != Code::node_exists) return tl::unexpected(zk_error(what, code));
  }
  return tl::unexpected(zk_error(what, Code::other));
}

Result<std::optional<std::string>> ZooKeeperStore::read(const std::string& path,
                                                        std::string_view what) {
  std::string data;
  const Code code = session_.get_now(path, data);
  if (code == Code::no_node) return std::optional<std::string>();
  if (code != Code::ok) return tl::unexpected(zk_error(what, code));
  return std::optional<std::string>(std::move(data));
}

Result<void> ZooKeeperStore::erase_node(const std::string& path, std::string_view what) {
  const Code code = session_.remove_now(path);
  if (code == Code::ok || code == Code::no_node) return {};
  return tl::unexpected(zk_error(what, code));
}

Result<std::optional<std::string>> ZooKeeperStore::framework_id() {
  return read(root_ + "/framework_id", "cannot read the framework id");
}

Result<void> ZooKeeperStore::set_framework_id(std::string_view id) {
  return write(root_ + "/framework_id", id, "cannot store the framework id");
}

Result<void> ZooKeeperStore::put(std::string_view key, std::string_view value) {
  return write(fmt::format("{}/records/{}", root_, encode_node_name(key)), value,
               fmt::format("cannot store record '{}'", key));
}

Result<std::optional<std::string>> ZooKeeperStore::get(std::string_view key) {
  return read(fmt::format("{}/records/{}", root_, encode_node_name(key)),
              fmt::format("cannot read record '{}'", key));
}

Result<void> ZooKeeperStore::erase(std::string_view key) {
  return erase_node(fmt::format("{}/records/{}", root_, encode_node_name(key)),
                    fmt::format("cannot remove record '{}'", key));
}

Result<std::vector<std::pair<std::string, std::string>>> ZooKeeperStore::scan(
    std::string_view prefix) {
  std::vector<std::string> children;
  const std::string folder = root_ + "/records";
  if (const Code code = session_.children_now(folder, children); code != Code::ok) {
    return tl::unexpected(zk_error(fmt::format("cannot list '{}'", folder), code));
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& child : children) {
    auto key = decode_node_name(child);
    if (!key || !key->starts_with(prefix)) continue;
    auto value = read(folder + "/" + child, fmt::format("cannot read record '{}'", *key));
    if (!value) return tl::unexpected(value.error());
    if (!*value) continue;  // removed since the listing
    out.emplace_back(std::move(*key), std::move(**value));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<void> ZooKeeperStore::save_task(const tasks::TaskSpec& spec,
                                       const tasks::TaskRecord& record) {
  // Partial, as SqliteStore: Mesos judges the TaskInfo when it is launched.
  const std::string bytes = to_stored(spec.name, spec, record).SerializePartialAsString();
  return write(fmt::format("{}/tasks/{}", root_, encode_node_name(spec.name)), bytes,
               fmt::format("cannot save task '{}'", spec.name));
}

Result<void> ZooKeeperStore::remove_task(const std::string& name) {
  return erase_node(fmt::format("{}/tasks/{}", root_, encode_node_name(name)),
                    fmt::format("cannot remove task '{}'", name));
}

Result<std::vector<std::pair<tasks::TaskSpec, tasks::TaskRecord>>> ZooKeeperStore::load_tasks() {
  std::vector<std::string> children;
  const std::string folder = root_ + "/tasks";
  if (const Code code = session_.children_now(folder, children); code != Code::ok) {
    return tl::unexpected(zk_error(fmt::format("cannot list '{}'", folder), code));
  }
  std::sort(children.begin(), children.end());
  std::vector<std::pair<tasks::TaskSpec, tasks::TaskRecord>> out;
  for (const auto& child : children) {
    auto bytes = read(folder + "/" + child, fmt::format("cannot load task node '{}'", child));
    if (!bytes) return tl::unexpected(bytes.error());
    if (!*bytes) continue;
    StoredTask stored;
    if (!stored.ParsePartialFromString(**bytes)) {
      return fail(
          errc::io_error,
          fmt::format("ZooKeeper store '{}': task node '{}' has a corrupt record", root_, child));
    }
    out.push_back(from_stored(stored));
  }
  // By task name, as SqliteStore loads them.
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.first.name < b.first.name; });
  return out;
}

}  // namespace heatblast::store
