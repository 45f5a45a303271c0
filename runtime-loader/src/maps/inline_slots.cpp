#include "polc/maps/inline_slots.h"

#include "polc/artifacts/manifest.h"
#include "polc/maps/libbpf.h"
#include "polc/maps/map_encoding.h"

#include <algorithm>
#include <span>
#include <string>

namespace polc::maps {
namespace {

const char* slotsVariable(artifacts::Direction direction) {
  return direction == artifacts::Direction::Ingress ? artifacts::kConfigInlineIngress
                                                    : artifacts::kConfigInlineEgress;
}

// The entry's policy map key, with the masks the datapath applies to the
// packet instead of probing per prefix length.
polc_inline_entry inlineEntryOf(const artifacts::PolicyEntry& entry) {
  const uint32_t prefixLength = entry.keyPrefixLength();
  const polc_policy_key key = policyKey(entry.identity, entry.protocol, prefixLength, entry.port);
  polc_inline_entry slot{};
  slot.identity = key.identity;
  slot.protocol = key.protocol;
  slot.protocol_mask = prefixLength > POLC_POLICY_PREFIX_IDENTITY ? 0xff : 0;
  slot.dport = key.dport;
  slot.port_mask = policyPortMask(prefixLength);
  slot.verdict = static_cast<__u8>(entry.verdict);
  slot.rule_id = entry.ruleId;
  return slot;
}

} // namespace

Expected<std::vector<polc_inline_entry>>
toInlineEntries(const std::vector<artifacts::PolicyEntry>& entries, size_t slots) {
  if (entries.size() > slots)
    return Error{"the table has " + std::to_string(entries.size()) +
                 " entries but the program has " + std::to_string(slots) + " inline slots"};
  std::vector<const artifacts::PolicyEntry*> ordered;
  for (const auto& entry : entries) ordered.push_back(&entry);
  // Within one prefix length at most one entry of a peer can match (they
  // would have the same key), so longest first makes the first match the
  // longest-prefix match.
  std::stable_sort(ordered.begin(), ordered.end(), [](const auto* a, const auto* b) {
    return a->keyPrefixLength() > b->keyPrefixLength();
  });
  std::vector<polc_inline_entry> result(slots); // verdict 0: unused
  for (size_t i = 0; i < ordered.size(); ++i) result[i] = inlineEntryOf(*ordered[i]);
  return result;
}

size_t inlineSlots(bpf_object* object, artifacts::Direction direction) {
  auto size = readOnlyVariableSize(object, slotsVariable(direction));
  return size ? *size / sizeof(polc_inline_entry) : 0;
}

Status setInlineTable(bpf_object* object, artifacts::Direction direction,
                      const std::vector<artifacts::PolicyEntry>& entries) {
  size_t slots = inlineSlots(object, direction);
  if (slots == 0) return okStatus();
  auto filled = toInlineEntries(entries, slots);
  if (!filled) return Error{std::string(toString(direction)) + " table: " + filled.error()};
  auto bytes = std::as_bytes(std::span(*filled));
  auto set =
      setReadOnlyBytes(object, slotsVariable(direction),
                       std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  if (!set) return Error{set.error()};
  return okStatus();
}

Status fillInlineSlotsForVerification(bpf_object* object) {
  for (auto direction : {artifacts::Direction::Ingress, artifacts::Direction::Egress}) {
    std::vector<artifacts::PolicyEntry> entries;
    for (size_t i = 0; i < inlineSlots(object, direction); ++i)
      entries.push_back(artifacts::PolicyEntry{
          .identity = i % 2 ? POLC_IDENTITY_ANY : POLC_IDENTITY_FIRST_ENDPOINT + uint32_t(i),
          .protocol = 6,
          .port = static_cast<uint16_t>(1000 + i),
          .portPrefixBits = 16,
          .verdict = (i / 2) % 2 ? artifacts::Verdict::Deny : artifacts::Verdict::Allow,
          .ruleId = uint32_t(i)});
    if (auto set = setInlineTable(object, direction, entries); !set) return set;
  }
  return okStatus();
}

} // namespace polc::maps
