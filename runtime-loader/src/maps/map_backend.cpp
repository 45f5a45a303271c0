#include "polc/maps/map_backend.h"

#include <bpf/bpf.h>

#include <cstring>
#include <vector>

namespace polc::maps {
namespace {

Error mapError(const std::string& name, const std::string& what, int error) {
  return Error{"map " + name + ": " + what + ": " + std::strerror(error)};
}

class KernelMaps final : public MapBackend {
public:
  Expected<MapContents> read(MapHandle fd, const std::string& name, size_t keySize,
                             size_t valueSize) override {
    // Collect the keys first: a lookup between get_next_key calls is fine,
    // but a walk that races a delete restarts.
    std::vector<std::string> keys;
    std::string current(keySize, '\0'), next(keySize, '\0');
    const void* previous = nullptr;
    while (bpf_map_get_next_key(fd, previous, next.data()) == 0) {
      keys.push_back(next);
      current = next;
      previous = current.data();
    }
    if (errno != ENOENT) return mapError(name, "listing keys", errno);
    MapContents contents;
    std::string value(valueSize, '\0');
    for (auto& key : keys) {
      if (bpf_map_lookup_elem(fd, key.data(), value.data()) != 0) continue; // deleted meanwhile
      contents.emplace(std::move(key), value);
    }
    return contents;
  }

  Expected<std::optional<std::string>> lookup(MapHandle fd, const std::string& name,
                                              std::string_view key, size_t valueSize) override {
    std::string value(valueSize, '\0');
    if (bpf_map_lookup_elem(fd, key.data(), value.data()) == 0)
      return std::optional<std::string>(std::move(value));
    if (errno == ENOENT) return std::optional<std::string>();
    return mapError(name, "looking up an entry", errno);
  }

  Status update(MapHandle fd, const std::string& name, std::string_view key,
                std::string_view value) override {
    if (bpf_map_update_elem(fd, key.data(), value.data(), BPF_ANY) != 0)
      return mapError(name, "writing an entry", errno);
    return okStatus();
  }

  Status erase(MapHandle fd, const std::string& name, std::string_view key) override {
    if (bpf_map_delete_elem(fd, key.data()) != 0 && errno != ENOENT)
      return mapError(name, "deleting a stale entry", errno);
    return okStatus();
  }

  Expected<uint32_t> capacity(MapHandle fd, const std::string& name) override {
    bpf_map_info info{};
    uint32_t length = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &length) != 0)
      return mapError(name, "reading its info", errno);
    return info.max_entries;
  }

  Expected<OpenMap> openPinned(const std::filesystem::path& pin) override {
    UniqueFd fd(bpf_obj_get(pin.c_str()));
    if (fd.valid()) return OpenMap(std::move(fd));
    if (errno == ENOENT) return OpenMap();
    return Error{"opening the pinned map " + pin.string() + ": " + std::strerror(errno)};
  }
};

} // namespace

MapBackend& kernelMaps() {
  static KernelMaps backend;
  return backend;
}

// ---- in memory ---------------------------------------------------------------

MapHandle InMemoryMaps::create(std::string name, size_t keySize, size_t valueSize,
                               uint32_t capacity) {
  const MapHandle handle = maps_.empty() ? 1 : maps_.rbegin()->first + 1;
  maps_.emplace(handle, Map{std::move(name), keySize, valueSize, capacity, {}, {}});
  return handle;
}

void InMemoryMaps::pin(const std::filesystem::path& pin, MapHandle handle) {
  pins_[pin] = handle;
}

InMemoryMaps::Map* InMemoryMaps::find(MapHandle handle) {
  auto found = maps_.find(handle);
  return found == maps_.end() ? nullptr : &found->second;
}

const InMemoryMaps::Map* InMemoryMaps::find(MapHandle handle) const {
  auto found = maps_.find(handle);
  return found == maps_.end() ? nullptr : &found->second;
}

MapContents& InMemoryMaps::contents(MapHandle handle) {
  return maps_.at(handle).contents;
}

InMemoryMaps::Counts InMemoryMaps::counts(MapHandle handle) const {
  return maps_.at(handle).counts;
}

void InMemoryMaps::resetCounts() {
  for (auto& [handle, map] : maps_) map.counts = {};
}

void InMemoryMaps::failWritesAfter(size_t writes, int error) {
  writesLeft_ = writes;
  failure_ = error;
}

void InMemoryMaps::allowWrites() {
  writesLeft_.reset();
}

// Whether the next write may happen (the injected fault), as the kernel
// would report it.
Status InMemoryMaps::write(Map* map, const std::string& name, const char* what) {
  if (!map) return mapError(name, what, EBADF);
  if (writesLeft_) {
    if (*writesLeft_ == 0) return mapError(name, what, failure_);
    --*writesLeft_;
  }
  return okStatus();
}

Expected<MapContents> InMemoryMaps::read(MapHandle handle, const std::string& name, size_t keySize,
                                         size_t valueSize) {
  const Map* map = find(handle);
  if (!map) return mapError(name, "listing keys", EBADF);
  if (map->keySize != keySize || map->valueSize != valueSize)
    return mapError(name, "listing keys", EINVAL);
  return map->contents;
}

Expected<std::optional<std::string>> InMemoryMaps::lookup(MapHandle handle, const std::string& name,
                                                          std::string_view key, size_t valueSize) {
  const Map* map = find(handle);
  if (!map || map->valueSize != valueSize) return mapError(name, "looking up an entry", EBADF);
  auto found = map->contents.find(std::string(key.substr(0, map->keySize)));
  if (found == map->contents.end()) return std::optional<std::string>();
  return std::optional<std::string>(found->second);
}

Status InMemoryMaps::update(MapHandle handle, const std::string& name, std::string_view key,
                            std::string_view value) {
  Map* map = find(handle);
  if (auto allowed = write(map, name, "writing an entry"); !allowed) return allowed;
  if (key.size() != map->keySize || value.size() != map->valueSize)
    return mapError(name, "writing an entry", EINVAL);
  auto [entry, inserted] = map->contents.try_emplace(std::string(key));
  if (inserted && map->contents.size() > map->capacity) {
    map->contents.erase(entry);
    return mapError(name, "writing an entry", E2BIG);
  }
  entry->second = value;
  ++map->counts.updates;
  return okStatus();
}

Status InMemoryMaps::erase(MapHandle handle, const std::string& name, std::string_view key) {
  Map* map = find(handle);
  if (auto allowed = write(map, name, "deleting a stale entry"); !allowed) return allowed;
  if (map->contents.erase(std::string(key)) != 0) ++map->counts.deletes;
  return okStatus();
}

Expected<uint32_t> InMemoryMaps::capacity(MapHandle handle, const std::string& name) {
  const Map* map = find(handle);
  if (!map) return mapError(name, "reading its info", EBADF);
  return map->capacity;
}

Expected<OpenMap> InMemoryMaps::openPinned(const std::filesystem::path& pin) {
  auto found = pins_.find(pin);
  if (found == pins_.end()) return OpenMap();
  return OpenMap(found->second);
}

// ---- algorithms --------------------------------------------------------------

Status applyContents(MapBackend& backend, MapHandle map, const std::string& mapName,
                     const MapContents& current, const MapContents& wanted) {
  for (const auto& [key, value] : wanted) {
    auto old = current.find(key);
    if (old != current.end() && old->second == value) continue;
    if (auto written = backend.update(map, mapName, key, value); !written) return written;
  }
  for (const auto& [key, value] : current)
    if (!wanted.contains(key))
      if (auto erased = backend.erase(map, mapName, key); !erased) return erased;
  return okStatus();
}

Expected<size_t> syncMap(MapBackend& backend, MapHandle map, const std::string& mapName,
                         size_t keySize, size_t valueSize, const EntryBytes& entries) {
  auto wanted = toMapContents(mapName, keySize, valueSize, entries);
  if (!wanted) return Error{wanted.error()};
  auto current = backend.read(map, mapName, keySize, valueSize);
  if (!current) return Error{current.error()};
  if (auto applied = applyContents(backend, map, mapName, *current, *wanted); !applied)
    return Error{applied.error()};
  return wanted->size();
}

Expected<MapContents> readIpcache(MapBackend& backend, MapHandle ipcache,
                                  const std::string& mapName) {
  return backend.read(ipcache, mapName, sizeof(polc_ipcache_key), sizeof(polc_ipcache_value));
}

Expected<MapContents> readPolicyMap(MapBackend& backend, MapHandle policy,
                                    const std::string& mapName) {
  return backend.read(policy, mapName, sizeof(polc_policy_key), sizeof(polc_policy_value));
}

namespace {

constexpr uint32_t kLengthsKey = 0;

Status writeIpcacheLengths(MapBackend& backend, MapHandle lengths, const std::string& mapName,
                           const polc_ipcache_lengths& value) {
  // (its errors name it: "map <ipcache> prefix lengths: writing an entry: ...")
  return backend.update(lengths, mapName + " prefix lengths", toBytes(kLengthsKey), toBytes(value));
}

} // namespace

Status applyIpcache(MapBackend& backend, MapHandle ipcache, MapHandle lengths,
                    const std::string& mapName, const MapContents& current,
                    const MapContents& wanted) {
  return applyIpcache(backend, ipcache, lengths, mapName, current, wanted,
                      ipcacheLengths({&current, &wanted}), ipcacheLengths({&wanted}));
}

Status applyIpcache(MapBackend& backend, MapHandle ipcache, MapHandle lengths,
                    const std::string& mapName, const MapContents& current,
                    const MapContents& wanted, const polc_ipcache_lengths& during,
                    const polc_ipcache_lengths& after) {
  if (auto written = writeIpcacheLengths(backend, lengths, mapName, during); !written)
    return written;
  if (auto applied = applyContents(backend, ipcache, mapName, current, wanted); !applied)
    return applied;
  return writeIpcacheLengths(backend, lengths, mapName, after);
}

Expected<size_t> syncIpcache(MapBackend& backend, MapHandle ipcache, MapHandle lengths,
                             const std::vector<IpcacheMapEntry>& entries) {
  const std::string mapName = "polc_ipcache";
  auto wanted = toMapContents(mapName, entries);
  if (!wanted) return Error{wanted.error()};
  auto current = readIpcache(backend, ipcache, mapName);
  if (!current) return Error{current.error()};
  if (auto applied = applyIpcache(backend, ipcache, lengths, mapName, *current, *wanted); !applied)
    return Error{applied.error()};
  return wanted->size();
}

Expected<uint32_t> lookupIpcache(MapBackend& backend, MapHandle ipcache, MapHandle lengths,
                                 uint8_t family, const void* address) {
  auto lengthsValue = backend.lookup(lengths, "polc_ipcache_lengths", toBytes(kLengthsKey),
                                     sizeof(polc_ipcache_lengths));
  if (!lengthsValue) return Error{lengthsValue.error()};
  if (!*lengthsValue) return POLC_IDENTITY_WORLD;
  polc_ipcache_lengths known{};
  std::memcpy(&known, (*lengthsValue)->data(), sizeof known);
  const bool ipv6 = family == POLC_FAMILY_IPV6;
  const int count = ipv6 ? known.v6_count : known.v4_count;
  for (int i = 0; i < count; ++i) {
    const auto key = ipcacheKey(family, address, ipv6 ? known.v6[i] : known.v4[i]);
    auto value = backend.lookup(ipcache, "polc_ipcache", toBytes(key), sizeof(polc_ipcache_value));
    if (!value) return Error{value.error()};
    if (*value) {
      polc_ipcache_value found{};
      std::memcpy(&found, (*value)->data(), sizeof found);
      return found.identity;
    }
  }
  return POLC_IDENTITY_WORLD;
}

Expected<uint32_t> readPolicyEpoch(MapBackend& backend, MapHandle epoch,
                                   const std::string& mapName) {
  auto current = backend.lookup(epoch, mapName, toBytes(uint32_t{0}), sizeof(polc_epoch_value));
  if (!current) return Error{current.error()};
  polc_epoch_value value{};
  if (*current && (*current)->size() == sizeof value)
    std::memcpy(&value, (*current)->data(), sizeof value);
  return value.epoch;
}

Status bumpPolicyEpoch(MapBackend& backend, MapHandle epoch, const std::string& mapName) {
  auto current = readPolicyEpoch(backend, epoch, mapName);
  if (!current) return Error{current.error()};
  polc_epoch_value value{};
  // Within POLC_CT_EPOCH_MASK: conntrack entries keep flags beside it.
  value.epoch = (*current + 1) & POLC_CT_EPOCH_MASK;
  return backend.update(epoch, mapName, toBytes(uint32_t{0}), toBytes(value));
}

} // namespace polc::maps
