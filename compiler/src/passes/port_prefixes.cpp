#include "polc/passes/tables.h"

namespace polc::passes {

std::vector<PortPrefix> portRangeToPrefixes(uint16_t first, uint16_t last) {
  std::vector<PortPrefix> prefixes;
  uint32_t start = first;
  const uint32_t end = last;
  while (start <= end) {
    // The largest aligned block that starts at `start` and stays within the range.
    uint32_t size = start == 0 ? (1u << 16) : (start & -start);
    while (start + size - 1 > end) size >>= 1;
    uint8_t bits = 16;
    for (uint32_t s = size; s > 1; s >>= 1) --bits;
    prefixes.push_back({uint16_t(start), bits});
    start += size;
  }
  return prefixes;
}

} // namespace polc::passes
