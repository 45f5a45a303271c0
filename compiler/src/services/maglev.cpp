#include "polc/services/maglev.h"

#include "polc_hash.h"

#include <stdexcept>
#include <string_view>

namespace polc::services {
namespace {

constexpr uint64_t kFnvPrime = 0x100000001b3ull;
// h1: FNV-1a 64's own offset basis. h2: the same basis xor 2^64 / phi, so
// that a key's offset and skip are two unrelated numbers.
constexpr uint64_t kOffsetBasis = 0xcbf29ce484222325ull;
constexpr uint64_t kSkipBasis = kOffsetBasis ^ 0x9e3779b97f4a7c15ull;

// MurmurHash3's 64-bit finalizer: FNV-1a alone leaves the low bits of
// keys that differ only in their last bytes too much alike.
uint64_t fmix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

uint64_t keyHash(std::string_view key, uint64_t basis) {
  uint64_t h = basis;
  for (const char c : key) {
    h ^= uint64_t(static_cast<unsigned char>(c));
    h *= kFnvPrime;
  }
  return fmix64(h);
}

bool isPrime(uint32_t n) {
  if (n < 2) return false;
  for (uint64_t d = 2; d * d <= n; ++d)
    if (n % d == 0) return false;
  return true;
}

// One backend's walk through its permutation of the slots.
struct Walk {
  uint32_t backend; // index into the input
  int64_t weight;
  int64_t credit = 0; // smooth weighted round-robin's running credit
  uint64_t slot;      // the next slot of its permutation to try
  uint64_t skip;
};

} // namespace

std::vector<uint32_t> buildMaglevTable(std::span<const MaglevBackend> backends, uint32_t size) {
  if (!isPrime(size))
    throw std::invalid_argument("Maglev table size " + std::to_string(size) + " is not prime");

  std::vector<Walk> walks;
  int64_t totalWeight = 0;
  for (size_t i = 0; i < backends.size(); ++i) {
    const auto& backend = backends[i];
    if (backend.weight == 0) continue;
    const uint64_t offset = keyHash(backend.key, kOffsetBasis) % size;
    const uint64_t skip = keyHash(backend.key, kSkipBasis) % (size - 1) + 1;
    walks.push_back(Walk{uint32_t(i), int64_t(backend.weight), 0, offset, skip});
    totalWeight += backend.weight;
  }
  if (walks.empty()) return {};

  constexpr uint32_t kFree = UINT32_MAX;
  std::vector<uint32_t> table(size, kFree);
  for (uint32_t filled = 0; filled < size; ++filled) {
    // Whose turn: every backend earns its weight, the richest (the first
    // of equals) takes the turn and pays the total. In each cycle of
    // totalWeight turns a backend of weight w takes exactly w of them, spread
    // over the cycle, so after any number of turns its count is within one
    // of its exact share.
    Walk* turn = nullptr;
    for (auto& walk : walks) {
      walk.credit += walk.weight;
      if (!turn || walk.credit > turn->credit) turn = &walk;
    }
    turn->credit -= totalWeight;
    // Its next preferred slot that is free. The skip is coprime with the
    // prime size, so the walk visits every slot and finds one while the
    // table is not full.
    while (table[turn->slot] != kFree) turn->slot = (turn->slot + turn->skip) % size;
    table[turn->slot] = turn->backend;
    turn->slot = (turn->slot + turn->skip) % size;
  }
  return table;
}

uint32_t flowHash(const FlowTuple& tuple) {
  return polc_flow_hash(tuple.saddr.data(), tuple.daddr.data(), tuple.sport, tuple.dport,
                        tuple.protocol, tuple.family);
}

} // namespace polc::services
