// Reading and writing polc's maps through a MapBackend: the kernel's
// (bpf(2) on map fds and pins) for the loader, the datapath tests and every
// reader of pinned maps, or one in memory, so that what sits above the maps
// (the load transaction's updates and undo, a reader's decoding) is tested
// without a kernel. The algorithms below work on either.
#pragma once

#include "polc/maps/map_encoding.h"
#include "polc/support/expected.h"
#include "polc/support/unique_fd.h"

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace polc::maps {

// A map as its backend knows it: a kernel map's fd, or an in-memory map's
// number. Does not own the map.
using MapHandle = int;

// A map opened from a pin: owns the fd of a kernel map.
class OpenMap {
public:
  OpenMap() = default;
  explicit OpenMap(UniqueFd fd) : handle_(fd.get()), fd_(std::move(fd)) {}
  explicit OpenMap(MapHandle inMemory) : handle_(inMemory) {}
  OpenMap(OpenMap&& other) noexcept
      : handle_(std::exchange(other.handle_, -1)), fd_(std::move(other.fd_)) {}
  OpenMap& operator=(OpenMap&& other) noexcept {
    handle_ = std::exchange(other.handle_, -1);
    fd_ = std::move(other.fd_);
    return *this;
  }
  bool valid() const { return handle_ >= 0; }
  MapHandle handle() const { return handle_; }

private:
  MapHandle handle_ = -1;
  UniqueFd fd_;
};

class MapBackend {
public:
  virtual ~MapBackend() = default;
  // Every entry. `name` is for errors ("map <name>: ...").
  virtual Expected<MapContents> read(MapHandle, const std::string& name, size_t keySize,
                                     size_t valueSize) = 0;
  // One key's value, or nullopt when the key is absent.
  virtual Expected<std::optional<std::string>> lookup(MapHandle, const std::string& name,
                                                      std::string_view key, size_t valueSize) = 0;
  // Inserts or overwrites.
  virtual Status update(MapHandle, const std::string& name, std::string_view key,
                        std::string_view value) = 0;
  // Deleting a key that is absent is no error.
  virtual Status erase(MapHandle, const std::string& name, std::string_view key) = 0;
  // max_entries.
  virtual Expected<uint32_t> capacity(MapHandle, const std::string& name) = 0;
  // The map pinned at `pin`; an invalid OpenMap when nothing is pinned there.
  virtual Expected<OpenMap> openPinned(const std::filesystem::path& pin) = 0;
};

// bpf(2): handles are map fds.
MapBackend& kernelMaps();

// Maps in memory, with the kernel's rules that matter above it: a full map
// refuses a new key (E2BIG), and writes can be made to fail (a test's
// injected fault) to exercise every undo path.
class InMemoryMaps final : public MapBackend {
public:
  MapHandle create(std::string name, size_t keySize, size_t valueSize, uint32_t capacity);
  void pin(const std::filesystem::path& pin, MapHandle);
  MapContents& contents(MapHandle);

  // What the map saw since it was created: writes and deletes that took
  // effect (a load of a table-only change touches only the entries that differ).
  struct Counts {
    size_t updates = 0;
    size_t deletes = 0;
  };
  Counts counts(MapHandle) const;
  void resetCounts();

  // After `writes` more successful updates or deletes (on any map), every
  // further one fails with `error` until allowWrites().
  void failWritesAfter(size_t writes, int error = ENOMEM);
  void allowWrites();

  Expected<MapContents> read(MapHandle, const std::string& name, size_t keySize,
                             size_t valueSize) override;
  Expected<std::optional<std::string>> lookup(MapHandle, const std::string& name,
                                              std::string_view key, size_t valueSize) override;
  Status update(MapHandle, const std::string& name, std::string_view key,
                std::string_view value) override;
  Status erase(MapHandle, const std::string& name, std::string_view key) override;
  Expected<uint32_t> capacity(MapHandle, const std::string& name) override;
  Expected<OpenMap> openPinned(const std::filesystem::path& pin) override;

private:
  struct Map {
    std::string name;
    size_t keySize = 0, valueSize = 0;
    uint32_t capacity = 0;
    MapContents contents;
    Counts counts;
  };
  Map* find(MapHandle);
  const Map* find(MapHandle) const;
  Status write(Map*, const std::string& name, const char* what);

  std::map<MapHandle, Map> maps_;
  std::map<std::filesystem::path, MapHandle> pins_;
  std::optional<size_t> writesLeft_;
  int failure_ = 0;
};

// ---- algorithms over a backend ---------------------------------------------

// Makes a map that holds `current` hold `wanted`, writing only what differs:
// new and changed values first, then deletes, so that a prefix that only
// changes shape stays covered throughout.
Status applyContents(MapBackend&, MapHandle, const std::string& mapName, const MapContents& current,
                     const MapContents& wanted);

// Reads the map, then applyContents. Returns how many entries it holds.
Expected<size_t> syncMap(MapBackend&, MapHandle, const std::string& mapName, size_t keySize,
                         size_t valueSize, const EntryBytes& entries);

template <typename Key, typename Value>
Expected<size_t> syncMap(MapBackend& backend, MapHandle map, const std::string& mapName,
                         const std::vector<std::pair<Key, Value>>& entries) {
  return syncMap(backend, map, mapName, sizeof(Key), sizeof(Value), toEntryBytes(entries));
}

Expected<MapContents> readIpcache(MapBackend&, MapHandle ipcache, const std::string& mapName);
Expected<MapContents> readPolicyMap(MapBackend&, MapHandle policy, const std::string& mapName);

// Makes the ipcache that holds `current` hold `wanted`, keeping the
// lengths map a superset of the lengths present: the union of old and new
// lengths first, then the entries (applyContents), then the new lengths.
Status applyIpcache(MapBackend&, MapHandle ipcache, MapHandle lengths, const std::string& mapName,
                    const MapContents& current, const MapContents& wanted);
// The same with the lengths given: those listed while both contents' keys
// may be present, then those of `wanted` alone (for contents that hold only
// the entries that differ, whose own lengths are not the table's).
Status applyIpcache(MapBackend&, MapHandle ipcache, MapHandle lengths, const std::string& mapName,
                    const MapContents& current, const MapContents& wanted,
                    const polc_ipcache_lengths& during, const polc_ipcache_lengths& after);

// Reads the ipcache, then applyIpcache. Returns how many entries it holds.
Expected<size_t> syncIpcache(MapBackend&, MapHandle ipcache, MapHandle lengths,
                             const std::vector<IpcacheMapEntry>&);

// The identity the datapath finds for an address (the same probes, from
// userspace): the longest prefix present, else POLC_IDENTITY_WORLD.
Expected<uint32_t> lookupIpcache(MapBackend&, MapHandle ipcache, MapHandle lengths, uint8_t family,
                                 const void* address);

// Bumps the node's policy epoch (the polc_epoch map, bpf/lib/polc_conntrack.h)
// so that every flow is judged by policy again on its next packet: after a
// load has changed tables or programs, and after a rollback has changed
// them back. Wraps around; an absent element counts as 0.
Status bumpPolicyEpoch(MapBackend&, MapHandle epoch, const std::string& mapName);
// The node's policy epoch as it is (0 when absent): a load changed the node
// when it moved.
Expected<uint32_t> readPolicyEpoch(MapBackend&, MapHandle epoch, const std::string& mapName);

} // namespace polc::maps
