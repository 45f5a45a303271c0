// Maglev consistent hashing for service load balancing (issue #20): the
// table a service's flows are spread over, and the flow hash that picks a
// slot of it. The datapath picks a new flow's backend as
// table[polc_flow_hash(tuple) % size]; the compiler builds the table and
// computes the same hash (bpf/lib/polc_hash.h, shared by both).
//
// Maglev (Eisenbud et al., NSDI 2016): every backend has its own
// permutation of the table's slots, derived from its key alone; the
// backends take turns, each claiming its next preferred slot that is still
// free, until the table is full. Shares come out proportional to weight,
// and adding or removing one backend moves few slots besides the ones the
// change itself must move.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace polc::services {

// The default table size, one table per service. Prime (the fill needs
// it: a backend's skip through the slots must be coprime with the size).
// 1021 slots of 4 bytes is ~4 KB a service, ~40 MB for 10,000 services;
// with up to 10 backends, each backend's share of the slots is within ~1%
// of its weight's share of the total weight.
inline constexpr uint32_t kMaglevTableSize = 1021;

// The largest weight: with weights up to this, ~10 backends still get
// shares of the table within ~1% of their weights' (the topology's limit,
// and the loader's check of services.json).
inline constexpr uint32_t kMaxMaglevWeight = 100;

struct MaglevBackend {
  // A stable name of the backend (e.g. "10.0.0.5:5432"). Its permutation
  // depends on the key alone, never on the other backends, which is what
  // keeps a table stable when backends come and go. Keys should differ.
  std::string key;
  // Relative share of the slots; 0 never gets a slot (a drained backend).
  uint32_t weight = 1;
};

// The Maglev table of the backends: `size` entries, each an index into
// `backends`. For one backend of weight w, the offset of its permutation
// is h1(key) % size and its skip h2(key) % (size - 1) + 1, where h1 and h2
// are FNV-1a 64 of the key's bytes from two offset bases, each finished by
// MurmurHash3's fmix64 (fixed, platform-independent: the same table on
// every host). Turns are interleaved by weight (smooth weighted
// round-robin): a backend of weight w takes w turns in each cycle of
// sum-of-weights turns. Deterministic: the same input gives the same table.
// Empty when there is no backend of non-zero weight. Throws
// std::invalid_argument when `size` is not prime.
std::vector<uint32_t> buildMaglevTable(std::span<const MaglevBackend> backends,
                                       uint32_t size = kMaglevTableSize);

// A flow as the datapath sees it: addresses and ports in network byte
// order, exactly the packet's bytes (IPv4 in saddr[0]/daddr[0], the other
// words 0); protocol IPPROTO_*, family POLC_FAMILY_*.
struct FlowTuple {
  std::array<uint32_t, 4> saddr{};
  std::array<uint32_t, 4> daddr{};
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint8_t protocol = 0;
  uint8_t family = 0;
};

// polc_flow_hash of the tuple: the value the datapath computes.
uint32_t flowHash(const FlowTuple&);

// The slot a flow's hash picks in a table of `size` (> 0) entries, as the
// datapath picks it.
inline uint32_t pickBackendSlot(uint32_t hash, uint32_t size) {
  return hash % size;
}

} // namespace polc::services
